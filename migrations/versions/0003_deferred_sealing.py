"""deferred sealing: audit queue, register entries numbered by the sealer

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_queue',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_queue'))
    )
    with op.batch_alter_table('register_entries') as batch:
        batch.alter_column('number', existing_type=sa.Integer(), nullable=True)
    op.create_index('ix_register_entries_pending', 'register_entries', ['registered_at', 'id'], unique=False,
                    postgresql_where=sa.text('number IS NULL'), sqlite_where=sa.text('number IS NULL'))


def downgrade() -> None:
    bind = op.get_bind()
    waiting = bind.execute(sa.text(
        "SELECT (SELECT count(*) FROM audit_queue) + (SELECT count(*) FROM register_entries WHERE number IS NULL)"
    )).scalar()
    if waiting:
        # Dropping them would lose audit entries or register lines: let a running axis seal them first.
        raise RuntimeError(f"{waiting} audit or register entries are not sealed yet; start the axis once, then retry")
    op.drop_index('ix_register_entries_pending', table_name='register_entries',
                  postgresql_where=sa.text('number IS NULL'), sqlite_where=sa.text('number IS NULL'))
    with op.batch_alter_table('register_entries') as batch:
        batch.alter_column('number', existing_type=sa.Integer(), nullable=False)
    op.drop_table('audit_queue')
