"""national SDK: the zone each agency's SDK clock was last read in

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vxp_clocks',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('offset_minutes', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_vxp_clocks_agency_id_agencies'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_vxp_clocks'))
    )


def downgrade() -> None:
    op.drop_table('vxp_clocks')
