"""What an agency reads: its inbox, its messages, acknowledgements, document traces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from axis.context import AxisContext
from axis.problems import ConflictProblem, NotFoundProblem, ValidationProblem
from envelope.codes import STATUS_LABELS, StatusCode
from storage.archive.retention import check_payload_kept
from storage.audit import append_event
from storage.ids import is_id
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message, MessageKind, StatusEvent

#: Deliveries a pulling agency still has to take.
WAITING = (DeliveryState.QUEUED.value, DeliveryState.RETRIEVED.value)
MAX_PAGE = 500


@dataclass(frozen=True)
class InboxPage:
    """One page of inbox items and the cursor of the next page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


async def inbox(
    ctx: AxisContext, caller: Agency, *, kind: str | None = None, limit: int = 100, cursor: str | None = None
) -> InboxPage:
    """Items waiting for ``caller``, oldest first, paged by message id."""
    if kind not in (None, MessageKind.EDOC.value, MessageKind.STATUS.value):
        raise ValidationProblem("kind must be edoc or status", field="kind")
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationProblem(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if cursor is not None and not is_id(cursor):
        raise ValidationProblem("cursor is not a value this API returned", field="cursor")
    sender = aliased(Agency)
    query = (
        select(Message, sender.code)
        .join(Delivery, Delivery.message_id == Message.id)
        .join(sender, sender.id == Message.sender_id)
        .where(
            Delivery.recipient_id == caller.id,
            Delivery.mode == DeliveryMode.PULL.value,
            Delivery.state.in_(WAITING),
        )
        # Ordered and paged on the delivery's own column so ix_deliveries_waiting serves
        # the page directly instead of sorting every waiting item.
        .order_by(Delivery.message_id)
        .limit(limit + 1)
    )
    if kind:
        query = query.where(Message.kind == kind)
    if cursor:
        query = query.where(Delivery.message_id > cursor)
    async with ctx.sessions() as session:
        rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_item(m, code) for m, code in rows]
    return InboxPage(items, rows[-1][0].id if more and rows else None)


def _item(m: Message, sender_code: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": m.id,
        "kind": m.kind,
        "document_id": m.document_id,
        "from": sender_code,
        "subject": m.subject,
        "priority": m.priority,
        "received_at": m.received_at.isoformat(),
        "sha256": m.sha256,
        "size": m.size,
    }
    if m.status_code:
        item["status_code"] = m.status_code
    if m.response_for_id:
        item["response_for"] = m.response_for_id
    return item


async def _readable(session: AsyncSession, caller: Agency, message_id: str) -> tuple[Message, Delivery | None]:
    """The message if ``caller`` sent or received it (else 404), and the caller's delivery."""
    if not is_id(message_id):
        raise NotFoundProblem(f"no message {message_id}")
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFoundProblem(f"no message {message_id}")
    delivery = (
        await session.execute(
            select(Delivery).where(Delivery.message_id == message_id, Delivery.recipient_id == caller.id)
        )
    ).scalar_one_or_none()
    if delivery is None and message.sender_id != caller.id:
        # Same answer as a missing id: another agency's ids reveal nothing.
        raise NotFoundProblem(f"no message {message_id}")
    return message, delivery


async def fetch(ctx: AxisContext, caller: Agency, message_id: str) -> Message:
    """The message row for a download; a recipient's first fetch marks it retrieved."""
    async with ctx.sessions() as session, session.begin():
        message, delivery = await _readable(session, caller, message_id)
        await check_payload_kept(session, message)
        if delivery is not None and delivery.state == DeliveryState.QUEUED.value and delivery.mode == "pull":
            now = ctx.clock()
            delivery.state = DeliveryState.RETRIEVED.value
            delivery.retrieved_at = now
            await append_event(session, actor=caller.code, action="delivery.retrieved",
                               subject=message.id, details={"delivery": delivery.id}, at=now)
    return message


async def ack(ctx: AxisContext, caller: Agency, message_id: str) -> dict[str, Any]:
    """Take a status item off the caller's inbox."""
    async with ctx.sessions() as session, session.begin():
        message, delivery = await _readable(session, caller, message_id)
        if delivery is None:
            raise NotFoundProblem(f"message {message_id} is not in your inbox")
        if message.kind != MessageKind.STATUS.value:
            raise ConflictProblem("documents leave the inbox when you post their signed status 01")
        if delivery.state != DeliveryState.DELIVERED.value:
            now = ctx.clock()
            delivery.state = DeliveryState.DELIVERED.value
            delivery.delivered_at = now
            await append_event(session, actor=caller.code, action="delivery.acknowledged",
                               subject=message.id, details={"delivery": delivery.id}, at=now)
        return {"id": message_id, "state": delivery.state}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def trace(ctx: AxisContext, caller: Agency, message_id: str) -> dict[str, Any]:
    """Per-recipient state and the status timeline of a document."""
    async with ctx.sessions() as session:
        message, _ = await _readable(session, caller, message_id)
        if message.kind != MessageKind.EDOC.value:
            raise NotFoundProblem(f"{message_id} is a status message, not a document")
        sender_code = (await session.execute(select(Agency.code).where(Agency.id == message.sender_id))).scalar_one()
        deliveries = (
            await session.execute(
                select(Delivery, Agency.code)
                .join(Agency, Agency.id == Delivery.recipient_id)
                .where(Delivery.message_id == message.id)
                .order_by(Delivery.id)
            )
        ).all()
        related = (
            await session.execute(select(Message.id).where(Message.response_for_id == message.id))
        ).scalars().all()
        events = (
            await session.execute(
                select(StatusEvent, Agency.code)
                .join(Agency, Agency.id == StatusEvent.agency_id)
                # The document and the revokes/updates answering it: a short id list, so
                # each lookup uses ix_statuses_document instead of scanning every status.
                .where(StatusEvent.document_message_id.in_([message.id, *related]))
                .order_by(StatusEvent.id)
            )
        ).all()
    return {
        "id": message.id,
        "document_id": message.document_id,
        "from": sender_code,
        "subject": message.subject,
        "business_type": message.business_type,
        "received_at": message.received_at.isoformat(),
        "revoked_at": _iso(message.revoked_at),
        "recipients": [
            {
                "organ_id": code,
                "mode": d.mode,
                "state": d.state,
                "attempts": d.attempts,
                "retrieved_at": _iso(d.retrieved_at),
                "delivered_at": _iso(d.delivered_at),
                "receipt_id": d.receipt_message_id,
                "revoked_at": _iso(d.revoked_at),
                "last_error": d.last_error,
            }
            for d, code in deliveries
        ],
        "timeline": [
            {
                "status_code": e.status_code,
                "label": STATUS_LABELS[StatusCode(e.status_code)][1],
                "from": code,
                "description": e.description,
                "stated_at": _iso(e.stated_at),
                "received_at": e.received_at.isoformat(),
                "message_id": e.status_message_id,
                "document_message_id": e.document_message_id,
            }
            for e, code in events
        ],
    }
