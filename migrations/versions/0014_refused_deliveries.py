"""deliveries refused by their recipient (status 02) take the state "refused"

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 15:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A delivery its recipient answered with a signed 02 stayed "retrieved" (or "delivered"): listed as stuck,
# offered for resending, counted on its way. The status messages already recorded say which ones.
_REFUSED = """
UPDATE deliveries SET state = 'refused', claimed_by = NULL, claimed_until = NULL, next_attempt_at = NULL
WHERE state <> 'refused' AND EXISTS (
    SELECT 1 FROM messages s
    WHERE s.kind = 'status' AND s.status_code = '02'
      AND s.response_for_id = deliveries.message_id AND s.sender_id = deliveries.recipient_id
)
"""


def upgrade() -> None:
    op.execute(_REFUSED)


def downgrade() -> None:
    # Before this revision a refused delivery kept the state its retrieval or receipt had given it.
    op.execute("UPDATE deliveries SET state = CASE WHEN delivered_at IS NOT NULL THEN 'delivered' "
               "ELSE 'retrieved' END WHERE state = 'refused'")
