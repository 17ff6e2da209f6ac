"""legal hold release by two archivists, signature check stored at acceptance

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00

- ``legal_holds.release_requested_by/_at``: the first archivist's request to release a hold; a
  second, different archivist lifts it (like a disposal list's two approvals).
- ``messages.signature_check``: the signature verification done at acceptance (signer certificate
  facts, algorithms, trust path) as JSON, so the web document page shows it instead of verifying the
  whole stored message again on every view. Rows stored before this revision have none (the page then
  verifies as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('legal_holds', sa.Column('release_requested_by', sa.String(length=64), nullable=True))
    op.add_column('legal_holds', sa.Column('release_requested_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('messages', sa.Column('signature_check', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('signature_check')
    with op.batch_alter_table('legal_holds') as batch:
        batch.drop_column('release_requested_at')
        batch.drop_column('release_requested_by')
