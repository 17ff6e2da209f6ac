"""inline payloads: small message bytes stored in the database with their metadata

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payloads',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_payloads'))
    )


def downgrade() -> None:
    bind = op.get_bind()
    stored = bind.execute(sa.text("SELECT count(*) FROM payloads")).scalar()
    if stored:
        # Dropping the table would destroy archived messages: the older code only reads files.
        raise RuntimeError(f"{stored} payloads are stored in the database, not as files; "
                           "downgrading would lose them")
    op.drop_table('payloads')
