"""national SDK protocol: system ids, secrets, replay guard, signature policy

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite): the registry-version triggers on agencies stay.
    op.add_column('agencies', sa.Column('vxp_system_id', sa.String(length=64), nullable=True))
    op.add_column('agencies', sa.Column('vxp_secret', sa.LargeBinary(), nullable=True))
    op.add_column('agencies', sa.Column('signature_policy', sa.String(length=16), nullable=False,
                                        server_default='required'))
    op.create_index('uq_agencies_vxp_system_id', 'agencies', ['vxp_system_id'], unique=True)
    op.add_column('messages', sa.Column('authenticated_by', sa.String(length=16), nullable=False,
                                        server_default='signature'))
    op.add_column('monthly_stats', sa.Column('unsigned', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('deliveries', sa.Column('sdk_status', sa.String(length=16), nullable=True))
    op.create_table('vxp_replays',
    sa.Column('hash_header', sa.String(length=128), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash_header', name=op.f('pk_vxp_replays'))
    )
    op.create_index('ix_vxp_replays_seen_at', 'vxp_replays', ['seen_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vxp_replays_seen_at', table_name='vxp_replays')
    op.drop_table('vxp_replays')
    op.drop_column('deliveries', 'sdk_status')
    op.drop_column('monthly_stats', 'unsigned')
    op.drop_column('messages', 'authenticated_by')
    op.drop_index('uq_agencies_vxp_system_id', table_name='agencies')
    op.drop_column('agencies', 'signature_policy')
    op.drop_column('agencies', 'vxp_secret')
    op.drop_column('agencies', 'vxp_system_id')
