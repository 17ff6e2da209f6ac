"""payloads of any size in the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payload_chunks',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'seq', name=op.f('pk_payload_chunks'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # Out of line but not compressed: base64 attachments barely shrink, and pglz would cost CPU per MiB.
        op.execute("ALTER TABLE payload_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    bind = op.get_bind()
    stored = bind.execute(sa.text("SELECT count(*) FROM payload_chunks")).scalar()
    if stored:
        # Dropping the table would destroy archived messages: run `axis blobs migrate --to filesystem` first.
        raise RuntimeError(f"{stored} payload chunks are stored in the database; "
                           "run `axis blobs migrate --to filesystem` before downgrading")
    op.drop_table('payload_chunks')
