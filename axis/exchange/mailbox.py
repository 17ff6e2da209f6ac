"""What an agency reads: its inbox, its messages, acknowledgements, document traces.

A DMS polls its inbox and fetches and acknowledges every item, so these are the axis's busiest
reads. Each is a few Core statements naming only the columns it returns (no ORM entities to
build, no submission receipt bytes to carry), one statement where two would do, and reads
outside any transaction (:func:`storage.db.reading`); a session is opened only to write.

The statements are built once, with bound parameters, rather than per request: building a
select and computing its cache key cost more server CPU than running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    exists,
    select,
    update,
)
from sqlalchemy.orm import aliased

from axis.archive.errors import PayloadDisposed
from axis.context import AxisContext
from axis.exchange.errors import InvalidRequest, NotFound, StateConflict
from axis.exchange.outcome import delivery_outcome
from axis.exchange.push_errors import public_error
from envelope.codes import STATUS_LABELS, StatusCode
from storage.archive_models import Blob, RetentionAssignment
from storage.audit import queue_event
from storage.db import reading
from storage.ids import is_id
from storage.models import (
    Agency,
    Delivery,
    DeliveryMode,
    DeliveryState,
    Message,
    MessageKind,
    Payload,
    StatusEvent,
)
from storage.registry.cache import AgencyRef

#: Deliveries a pulling agency still has to take.
WAITING = (DeliveryState.QUEUED.value, DeliveryState.RETRIEVED.value)
MAX_PAGE = 500


@dataclass(frozen=True)
class InboxPage:
    """One page of inbox items and the cursor of the next page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class StoredMessage:
    """What a download needs of a message: its id, and the digest and size of its blob."""

    id: str
    kind: str
    sha256: str
    size: int
    #: The bytes themselves when the payload is kept in the database (read in the same statement).
    inline: bytes | None = None


_sender = aliased(Agency, name="sender")
_recipient = aliased(Agency, name="recipient")
# Not named after columns: an UPDATE reserves those names for its SET clause.
_MESSAGE_ID = bindparam("the_message", type_=String)
_CALLER = bindparam("the_caller", type_=Integer)
_NOW = bindparam("now", type_=Delivery.__table__.c.retrieved_at.type)


@cache
def _inbox_statement(by_kind: bool, after_cursor: bool) -> Select[Any]:
    """The inbox query, with or without the kind and cursor conditions (built once each)."""
    query = (
        select(
            Delivery.message_id, Message.kind, Message.document_id, _sender.code, Message.subject,
            Message.priority, Message.received_at, Message.sha256, Message.size, Message.status_code,
            Message.response_for_id,
        )
        .join(Message, Message.id == Delivery.message_id)
        .join(_sender, _sender.id == Message.sender_id)
        .where(
            Delivery.recipient_id == _CALLER,
            Delivery.mode == DeliveryMode.PULL.value,
            Delivery.state.in_(WAITING),
        )
        # Ordered and paged on the delivery's own column so ix_deliveries_waiting serves
        # the page directly instead of sorting every waiting item.
        .order_by(Delivery.message_id)
        .limit(bindparam("limit", type_=Integer))
    )
    if by_kind:
        query = query.where(Message.kind == bindparam("kind", type_=String))
    if after_cursor:
        query = query.where(Delivery.message_id > bindparam("cursor", type_=String))
    return query


async def inbox(
    ctx: AxisContext, caller: AgencyRef, *, kind: str | None = None, limit: int = 100, cursor: str | None = None
) -> InboxPage:
    """Items waiting for ``caller``, oldest first, paged by message id."""
    if kind not in (None, MessageKind.EDOC.value, MessageKind.STATUS.value):
        raise InvalidRequest("kind must be edoc or status", field="kind")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if cursor is not None and not is_id(cursor):
        raise InvalidRequest("cursor is not a value this API returned", field="cursor")
    params: dict[str, Any] = {"the_caller": caller.id, "limit": limit + 1}
    if kind:
        params["kind"] = kind
    if cursor:
        params["cursor"] = cursor
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_inbox_statement(bool(kind), bool(cursor)), params)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return InboxPage([_item(r) for r in rows], rows[-1][0] if more and rows else None)


def _item(row: Row[Any]) -> dict[str, Any]:
    (message_id, kind, document_id, sender_code, subject, priority, received_at, sha256, size, status_code,
     response_for) = row
    item: dict[str, Any] = {
        "id": message_id,
        "kind": kind,
        "document_id": document_id,
        "from": sender_code,
        "subject": subject,
        "priority": priority,
        "received_at": received_at.isoformat(),
        "sha256": sha256,
        "size": size,
    }
    if status_code:
        item["status_code"] = status_code
    if response_for:
        item["response_for"] = response_for
    return item


def _not_found(message_id: str) -> NotFound:
    # The same answer for a missing id and for another agency's message: ids reveal nothing.
    return NotFound(f"no message {message_id}")


# The message, the caller's delivery, and whether a disposal destroyed the payload (the rule of
# axis.archive.disposal.disposal_of_message: the assignment's disposal first, else the
# blob ledger's) and an inline payload's bytes, in one statement.
_FETCH = (
    select(
        Message.kind, Message.sha256, Message.size, Message.sender_id, Delivery.id, Delivery.state,
        Delivery.mode, RetentionAssignment.disposed_at, RetentionAssignment.disposal_id, Blob.disposed_at,
        Payload.data,
    )
    .select_from(Message)
    .outerjoin(Delivery, and_(Delivery.message_id == Message.id, Delivery.recipient_id == _CALLER))
    .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
    .outerjoin(Blob, Blob.sha256 == Message.sha256)
    .outerjoin(Payload, Payload.sha256 == Message.sha256)
    .where(Message.id == _MESSAGE_ID)
)
# Guarded on the state: of two first fetches at once, one records the retrieval.
_RETRIEVED = (
    update(Delivery.__table__)
    .where(Delivery.id == bindparam("delivery", type_=Integer), Delivery.state == DeliveryState.QUEUED.value)
    .values(state=DeliveryState.RETRIEVED.value, retrieved_at=_NOW)
)


async def fetch(ctx: AxisContext, caller: AgencyRef, message_id: str) -> StoredMessage:
    """The message for a download if ``caller`` sent or received it; a recipient's first fetch marks it retrieved."""
    if not is_id(message_id):
        raise _not_found(message_id)
    async with reading(ctx.engine) as conn:
        row = (await conn.execute(_FETCH, {"the_message": message_id, "the_caller": caller.id})).first()
    if row is None:
        raise _not_found(message_id)
    kind, sha256, size, sender_id, delivery_id, state, mode, assignment_disposed, disposal_id, blob_disposed, data = row
    if delivery_id is None and sender_id != caller.id:
        raise _not_found(message_id)
    if assignment_disposed is not None:
        raise PayloadDisposed(message_id, assignment_disposed, disposal_id)
    if blob_disposed is not None:
        raise PayloadDisposed(message_id, blob_disposed, None)
    if delivery_id is not None and state == DeliveryState.QUEUED.value and mode == DeliveryMode.PULL.value:
        now = ctx.clock()
        async with ctx.sessions() as session, session.begin():
            conn = await session.connection()
            taken = await conn.execute(_RETRIEVED, {"delivery": delivery_id, "now": now})
            if taken.rowcount == 1:
                await queue_event(session, actor=caller.code, action="delivery.retrieved",
                                  subject=message_id, details={"delivery": delivery_id}, at=now)
    return StoredMessage(message_id, kind, sha256, size, data)


# The usual acknowledgement in one statement: a status item of the caller's not yet taken off.
_ACK = (
    update(Delivery.__table__)
    .where(
        Delivery.message_id == _MESSAGE_ID,
        Delivery.recipient_id == _CALLER,
        Delivery.state != DeliveryState.DELIVERED.value,
        exists().where(Message.id == _MESSAGE_ID, Message.kind == MessageKind.STATUS.value),
    )
    .values(state=DeliveryState.DELIVERED.value, delivered_at=_NOW)
    .returning(Delivery.id)
)
# Why an acknowledgement changed nothing.
_ACK_REFUSED = (
    select(Message.kind, Message.sender_id, Delivery.state)
    .select_from(Message)
    .outerjoin(Delivery, and_(Delivery.message_id == Message.id, Delivery.recipient_id == _CALLER))
    .where(Message.id == _MESSAGE_ID)
)


async def ack(ctx: AxisContext, caller: AgencyRef, message_id: str) -> dict[str, Any]:
    """Take a status item off the caller's inbox."""
    if not is_id(message_id):
        raise _not_found(message_id)
    now = ctx.clock()
    params = {"the_message": message_id, "the_caller": caller.id}
    async with ctx.sessions() as session, session.begin():
        conn = await session.connection()
        acked = (await conn.execute(_ACK, {**params, "now": now})).scalar_one_or_none()
        if acked is not None:
            await queue_event(session, actor=caller.code, action="delivery.acknowledged",
                              subject=message_id, details={"delivery": acked}, at=now)
    if acked is not None:
        return {"id": message_id, "state": DeliveryState.DELIVERED.value}
    async with reading(ctx.engine) as conn:
        row = (await conn.execute(_ACK_REFUSED, params)).first()
    if row is None or (row.state is None and row.sender_id != caller.id):
        raise _not_found(message_id)
    if row.state is None:
        raise NotFound(f"message {message_id} is not in your inbox")
    if row.kind != MessageKind.STATUS.value:
        raise StateConflict("documents leave the inbox when you post their signed status 01")
    return {"id": message_id, "state": row.state}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# The document with every delivery in one statement: the caller's own delivery, which decides
# whether it may read the trace, is among them.
_TRACE_HEAD = (
    select(
        Message.kind, Message.document_id, Message.subject, Message.business_type, Message.received_at,
        Message.revoked_at, Message.sender_id, _sender.code.label("sender_code"), Message.authenticated_by,
        Delivery.recipient_id, _recipient.code.label("recipient_code"), Delivery.mode, Delivery.state,
        Delivery.attempts, Delivery.retrieved_at, Delivery.delivered_at, Delivery.receipt_message_id,
        Delivery.revoked_at.label("delivery_revoked_at"), Delivery.last_error,
    )
    .select_from(Message)
    .join(_sender, _sender.id == Message.sender_id)
    .outerjoin(Delivery, Delivery.message_id == Message.id)
    .outerjoin(_recipient, _recipient.id == Delivery.recipient_id)
    .where(Message.id == _MESSAGE_ID)
    .order_by(Delivery.id)
)


def _timeline_statement() -> Select[Any]:
    """The timeline of a document and of the revokes/updates answering it.

    Two index lookups joined by UNION ALL (ix_statuses_document; ix_messages_response_for
    then ix_statuses_document): an OR of the two makes PostgreSQL scan every status instead.
    """
    columns = (
        StatusEvent.id.label("event_id"), StatusEvent.status_code, Agency.code, StatusEvent.description,
        StatusEvent.stated_at, StatusEvent.received_at, StatusEvent.status_message_id,
        StatusEvent.document_message_id,
    )
    answering = aliased(Message, name="answering")
    own = (
        select(*columns)
        .join(Agency, Agency.id == StatusEvent.agency_id)
        .where(StatusEvent.document_message_id == _MESSAGE_ID)
    )
    related = (
        select(*columns)
        .join(answering, answering.id == StatusEvent.document_message_id)
        .join(Agency, Agency.id == StatusEvent.agency_id)
        .where(answering.response_for_id == _MESSAGE_ID)
    )
    both = own.union_all(related)
    # A UNION ALL runs like a Select here; SQLAlchemy types it as a CompoundSelect.
    return both.order_by(both.selected_columns.event_id)  # type: ignore[return-value]


_TIMELINE = _timeline_statement()


async def trace(ctx: AxisContext, caller: AgencyRef, message_id: str) -> dict[str, Any]:
    """Per-recipient state and the status timeline of a document."""
    if not is_id(message_id):
        raise _not_found(message_id)
    params = {"the_message": message_id}
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_TRACE_HEAD, params)).all()
        if not rows:
            raise _not_found(message_id)
        first = rows[0]
        if first.sender_id != caller.id and all(r.recipient_id != caller.id for r in rows):
            raise _not_found(message_id)
        if first.kind != MessageKind.EDOC.value:
            raise NotFound(f"{message_id} is a status message, not a document")
        events = (await conn.execute(_TIMELINE, params)).all()
    return {
        "id": message_id,
        "document_id": first.document_id,
        "from": first.sender_code,
        "subject": first.subject,
        "business_type": first.business_type,
        "received_at": first.received_at.isoformat(),
        "revoked_at": _iso(first.revoked_at),
        # "transport": accepted without a valid XML signature under the sender's legacy-transport policy.
        "authenticated_by": first.authenticated_by,
        "recipients": [
            {
                "organ_id": r.recipient_code,
                "mode": r.mode,
                "state": r.state,
                # What people read: revoked wins over the state the delivery got to (the pages say the same).
                "outcome": delivery_outcome(r.state, r.delivery_revoked_at, first.revoked_at),
                "attempts": r.attempts,
                "retrieved_at": _iso(r.retrieved_at),
                "delivered_at": _iso(r.delivered_at),
                "receipt_id": r.receipt_message_id,
                "revoked_at": _iso(r.delivery_revoked_at),
                # Fixed words only: the stored detail may name the recipient's internal hosts.
                "last_error": public_error(r.last_error),
            }
            for r in rows
            if r.recipient_id is not None
        ],
        "timeline": [
            {
                "status_code": e.status_code,
                "label": STATUS_LABELS[StatusCode(e.status_code)][1],
                "from": e.code,
                "description": e.description,
                "stated_at": _iso(e.stated_at),
                "received_at": e.received_at.isoformat(),
                "message_id": e.status_message_id,
                "document_message_id": e.document_message_id,
            }
            for e in events
        ],
    }
