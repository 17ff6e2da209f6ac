"""the blob ledger holds every message's bytes, the axis's own failure notices included

Notices used to be stored outside the common path and entered into the ledger later, by the
fixity job; they now arrive like every message. This enters the ones stored before, once.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO blobs (sha256, size, stored_at) "
        "SELECT m.sha256, MAX(m.size), MIN(m.received_at) FROM messages m "
        "WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = m.sha256) "
        "GROUP BY m.sha256"
    )


def downgrade() -> None:
    pass  # the ledger rows describe bytes that are still stored: nothing to undo
