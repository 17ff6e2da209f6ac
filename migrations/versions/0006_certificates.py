"""signer identity and certificate lifecycle

An agency may have a next certificate registered ahead of its current one's expiry: both verify
until the current one expires or the operator retires it. The registry version triggers on
``agencies`` (revision 0004) already fire for these columns.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: a batch rebuild on SQLite would drop the registry triggers.
    op.add_column('agencies', sa.Column('next_certificate_pem', sa.Text(), nullable=True))
    op.add_column('agencies', sa.Column('next_certificate_fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    pending = bind.execute(sa.text("SELECT count(*) FROM agencies WHERE next_certificate_pem IS NOT NULL")).scalar()
    if pending:
        # The older code knows one certificate per agency: a next one would silently stop verifying.
        raise RuntimeError(f"{pending} agencies have a next certificate registered; retire or promote it first")
    # DROP COLUMN in place (SQLite 3.35+ and PostgreSQL), keeping the registry triggers.
    op.execute("ALTER TABLE agencies DROP COLUMN next_certificate_fingerprint")
    op.execute("ALTER TABLE agencies DROP COLUMN next_certificate_pem")
