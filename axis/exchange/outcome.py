"""What became of a delivery and of a document: the one reading every page, the CLI and the API share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.models import DeliveryState

#: Outcomes after which nothing more happens to a delivery: resending cannot help.
FINAL = frozenset({DeliveryState.DELIVERED.value, DeliveryState.REFUSED.value, "revoked"})
#: States in which a delivery is still on its way.
ON_ITS_WAY = frozenset({
    DeliveryState.QUEUED.value, DeliveryState.PUSHING.value, DeliveryState.RETRY_WAIT.value,
    DeliveryState.RETRIEVED.value,
})


def delivery_outcome(state: str, delivery_revoked_at: datetime | None, message_revoked_at: datetime | None) -> str:
    """A delivery's state as people read it: revoked wins over whatever the delivery got to."""
    # A document its sender took back (13), or a copy its recipient gave back (15), is revoked for good.
    if delivery_revoked_at is not None or message_revoked_at is not None:
        return "revoked"
    return state


def message_outcome(outcomes: Sequence[str], message_revoked_at: datetime | None) -> str:
    """A document's state from its deliveries' outcomes (each already read by ``delivery_outcome``)."""
    if message_revoked_at is not None or (outcomes and all(o == "revoked" for o in outcomes)):
        return "revoked"
    if DeliveryState.FAILED.value in outcomes:
        return DeliveryState.FAILED.value
    if outcomes and all(o == DeliveryState.REFUSED.value for o in outcomes):
        return DeliveryState.REFUSED.value
    if outcomes and all(o == DeliveryState.DELIVERED.value for o in outcomes):
        return DeliveryState.DELIVERED.value
    if len(outcomes) == 1:
        return outcomes[0]  # one recipient: its own delivery's outcome, as the document page names it
    if outcomes and all(o in FINAL for o in outcomes):
        return "settled"  # every recipient answered, not alike: the document page tells who did what
    return "pending"


def can_resend(state: str, delivery_revoked_at: datetime | None, message_revoked_at: datetime | None) -> bool:
    """Whether sending a delivery again could change anything."""
    return delivery_outcome(state, delivery_revoked_at, message_revoked_at) not in FINAL
