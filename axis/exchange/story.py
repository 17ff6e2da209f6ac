"""A message's whole story for an operator: every delivery with its attempts, the statuses, the audit
entries about it and the edXML TraceHeaderList, across all the agencies involved."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import defer

from axis.archive.disposal import disposal_of_message
from axis.context import AxisContext
from axis.exchange.errors import NotFound
from axis.exchange.outcome import can_resend, delivery_outcome
from envelope.errors import EnvelopeError
from envelope.model import TraceHeader
from envelope.namespaces import q
from envelope.parser import trace_headers_of
from envelope.streaming import FirstElementReader
from storage.errors import BlobError
from storage.ids import is_id
from storage.models import (
    Agency,
    AuditEvent,
    AuditQueueEntry,
    Delivery,
    DeliveryAttempt,
    DeliveryMode,
    DeliveryState,
    Message,
    StatusEvent,
)
from storage.payloads.backends import PayloadBody, PayloadStream

#: Audit entries shown on one message's page (its busiest documents have a few dozen).
MAX_AUDIT = 500


@dataclass(frozen=True)
class Attempt:
    """One push attempt: its number, when, what came of it and why."""

    attempt: int
    at: datetime | None
    outcome: str  # retry | failed | delivered
    error: str


@dataclass(frozen=True)
class DeliveryStory:
    """One recipient's delivery of the message, with its attempts."""

    id: int
    recipient_code: str
    recipient_name: str
    mode: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    retrieved_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None
    revoked_at: datetime | None
    receipt_message_id: str | None
    tries: list[Attempt] = field(default_factory=list)
    message_revoked_at: datetime | None = None

    @property
    def outcome(self) -> str:
        """The delivery's state as every page names it (revoked wins)."""
        return delivery_outcome(self.state, self.revoked_at, self.message_revoked_at)

    @property
    def resendable(self) -> bool:
        """An operator may queue it again: not delivered, refused nor withdrawn."""
        return can_resend(self.state, self.revoked_at, self.message_revoked_at)


@dataclass(frozen=True)
class StatusStory:
    """A status on the document's timeline."""

    status_code: str
    agency_code: str
    description: str
    stated_at: datetime | None
    received_at: datetime
    message_id: str


@dataclass(frozen=True)
class AuditLine:
    """An audit entry about the message (chained, or queued and not chained yet)."""

    at: datetime
    actor: str
    action: str
    subject: str
    details: str
    chained: bool


@dataclass(frozen=True)
class Story:
    """Everything an operator sees about one message."""

    message: Message
    sender: Agency
    answers: Message | None  # the document a status (or a revoke, update) refers to
    deliveries: list[DeliveryStory]
    statuses: list[StatusStory]
    audit: list[AuditLine]
    trace: list[TraceHeader] | None  # None when the payload is gone or unreadable
    trace_note: str = ""
    disposed_at: datetime | None = None


#: Bytes of a payload file read per step while looking for its header.
_READ_STEP = 1 << 20


async def _pieces(body: PayloadBody) -> AsyncGenerator[bytes, None]:
    if isinstance(body, bytes):
        yield body
    elif isinstance(body, PayloadStream):
        async for chunk in body:
            yield chunk
    else:
        while chunk := await asyncio.to_thread(body.read, _READ_STEP):
            yield chunk


async def _trace(ctx: AxisContext, message: Message) -> tuple[list[TraceHeader] | None, str]:
    """The TraceHeaderList, read from the payload's first bytes only: the edXMLHeader comes before the
    attachments, so a large document is read to the end of its header and no further."""
    try:
        body = await ctx.payloads.open(message.sha256)
    except BlobError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    reader = FirstElementReader(q("edXMLHeader"), max_size=ctx.settings.max_message_bytes)
    pieces = _pieces(body)
    try:
        async for piece in pieces:
            if await asyncio.to_thread(reader.feed, piece):
                break
        header = await asyncio.to_thread(reader.element)
        if header is None:
            return None, "InvalidEnvelope: the message has no edXMLHeader"
        return list(trace_headers_of(header)), ""
    except (EnvelopeError, BlobError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        await pieces.aclose()
        if isinstance(body, PayloadStream):
            await body.aclose()
        elif not isinstance(body, bytes):
            body.close()


async def message_story(ctx: AxisContext, message_id: str) -> Story:
    """The story of any message on the axis (operators only: no agency check here); NotFound if none."""
    message_id = message_id.strip().upper()
    if not is_id(message_id):
        raise NotFound(f"no message {message_id[:40]}")
    async with ctx.sessions() as session:
        message = (await session.execute(
            select(Message).where(Message.id == message_id).options(defer(Message.receipt_xml))
        )).scalar_one_or_none()
        if message is None:
            raise NotFound(f"no message {message_id}")
        sender = await session.get(Agency, message.sender_id)
        assert sender is not None
        answers = await session.get(Message, message.response_for_id) if message.response_for_id else None
        rows = (await session.execute(
            select(Delivery, Agency.code, Agency.name)
            .join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id == message.id)
            .order_by(Delivery.id)
        )).all()
        tries: dict[int, list[Attempt]] = {d.id: [] for d, _, _ in rows}
        if tries:
            for a in (await session.execute(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(list(tries)))
                .order_by(DeliveryAttempt.id)
            )).scalars():
                tries[a.delivery_id].append(Attempt(a.attempt, a.at, a.outcome, a.error))
        statuses = [
            StatusStory(s.status_code, code, s.description, s.stated_at, s.received_at, s.status_message_id)
            for s, code in (await session.execute(
                select(StatusEvent, Agency.code).join(Agency, Agency.id == StatusEvent.agency_id)
                .where(StatusEvent.document_message_id == message.id).order_by(StatusEvent.id)
            )).all()
        ]
        # Entries about the message and about its statuses (received, delivered, acknowledged).
        subjects = [message.id, *(s.message_id for s in statuses)]
        chained = select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.subject,
                         AuditEvent.details, AuditEvent.id.label("n")).where(AuditEvent.subject.in_(subjects))
        queued = select(AuditQueueEntry.at, AuditQueueEntry.actor, AuditQueueEntry.action, AuditQueueEntry.subject,
                        AuditQueueEntry.details, AuditQueueEntry.id.label("n")).where(
            AuditQueueEntry.subject.in_(subjects))
        audit_rows = (await session.execute(
            select(union_all(chained.add_columns(literal(True).label("chained")),
                             queued.add_columns(literal(False).label("chained"))).subquery())
        )).all()
        disposed = await disposal_of_message(session, message)
    audit = sorted((AuditLine(r[0], r[1], r[2], r[3], r[4], bool(r[6])) for r in audit_rows),
                   key=lambda a: (a.at, not a.chained))[:MAX_AUDIT]
    deliveries = []
    for d, code, name in rows:
        attempts = list(tries[d.id])
        if d.state == DeliveryState.DELIVERED.value and d.mode == DeliveryMode.PUSH.value and d.attempts:
            attempts.append(Attempt(d.attempts, d.delivered_at, "delivered", ""))
        deliveries.append(DeliveryStory(
            id=d.id, recipient_code=code, recipient_name=name, mode=d.mode, state=d.state, attempts=d.attempts,
            created_at=d.created_at, next_attempt_at=d.next_attempt_at, retrieved_at=d.retrieved_at,
            delivered_at=d.delivered_at, last_error=d.last_error, revoked_at=d.revoked_at,
            receipt_message_id=d.receipt_message_id, tries=attempts, message_revoked_at=message.revoked_at,
        ))
    if disposed is not None:
        trace, note = None, "disposed"
    else:
        trace, note = await _trace(ctx, message)
    return Story(message, sender, answers, deliveries, statuses, audit, trace, note,
                 disposed[0] if disposed else None)
