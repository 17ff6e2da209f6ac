"""login throttling and audit anchoring

One row per throttled key (account, client address, account+address) replaces the list of
failed attempts; audit heads keep the certificate that signed them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.create_index('ix_login_throttle_updated', 'login_throttle', ['updated_at'], unique=False)
    op.drop_index('ix_login_attempts_login', table_name='login_attempts')
    op.drop_index('ix_login_attempts_address', table_name='login_attempts')
    op.drop_table('login_attempts')
    with op.batch_alter_table('audit_heads') as batch:
        batch.add_column(sa.Column('certificate', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_heads') as batch:
        batch.drop_column('certificate')
    op.create_table('login_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    op.create_index('ix_login_attempts_address', 'login_attempts', ['address', 'at'], unique=False)
    op.create_index('ix_login_attempts_login', 'login_attempts', ['login', 'at'], unique=False)
    op.drop_index('ix_login_throttle_updated', table_name='login_throttle')
    op.drop_table('login_throttle')
