"""people: set-password links, changes a second operator confirms

Accounts made or reset on the web carry no usable password until their owner follows a one-time
link (only its SHA-256 is stored, with an expiry). Adding a person, resetting a password and
raising a role wait in people_requests until another operator confirms them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('must_set_password', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('password_link_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('password_link_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint('uq_users_password_link_hash', ['password_link_hash'])
    op.create_table('people_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('agency_code', sa.String(length=13), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people_requests'))
    )
    op.create_index('ix_people_requests_login', 'people_requests', ['login'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_people_requests_login', table_name='people_requests')
    op.drop_table('people_requests')
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint('uq_users_password_link_hash', type_='unique')
        batch.drop_column('password_link_expires_at')
        batch.drop_column('password_link_hash')
        batch.drop_column('must_set_password')
