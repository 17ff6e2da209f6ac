"""Accepting signed statuses: who may say what about which document, and what each status changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.registers import incoming_entry
from axis.context import AxisContext
from axis.exchange.body import Body, SpooledBody
from axis.exchange.errors import NotFound, NotPermitted
from axis.exchange.submission import (
    Accepted,
    Party,
    accept,
    marked_audit,
    repeat_of,
    verify_message,
)
from envelope.codes import StatusCode
from envelope.model import StatusMessage
from storage.audit import queue_event, queue_row
from storage.committer import Delivering
from storage.db import read_session, reading, rowcount
from storage.models import Delivery, DeliveryState, Message, MessageKind
from storage.registry.cache import RegisteredAgency

# Statuses a recipient may send about a document it received, and the one its sender may send.
RECIPIENT_STATUSES = frozenset(StatusCode) - {StatusCode.TAKEN_BACK}
SENDER_STATUSES = frozenset({StatusCode.TAKEN_BACK})


async def submit_status(ctx: AxisContext, caller: RegisteredAgency, raw: Body) -> Accepted:
    """Check a signed edXML status from ``caller`` about a document it sent or received."""
    st: StatusMessage
    signed = await verify_message(ctx, caller, raw, StatusMessage)  # no page shows a status's check
    st, sha256, authenticated_by = signed.message, signed.sha256, signed.authenticated_by
    if isinstance(raw, SpooledBody):
        # A large body would leave its blob behind if the commit refused a repeat: look first.
        async with read_session(ctx.engine) as session:
            if (repeat := await repeat_of(session, caller, sha256)) is not None:
                return repeat
    # Otherwise a repeat is found by the unique constraint when the group commit inserts it.
    doc, counterparts, own_delivery = await _status_target(ctx, caller, st)

    def event(message_id: str, now: datetime) -> dict[str, Any]:
        return {
            "document_message_id": doc.id,
            "status_message_id": message_id,
            "agency_id": caller.id,
            "status_code": str(st.status_code),
            "description": st.description,
            "stated_at": st.timestamp,
            "received_at": now,
        }

    def deliver(message_id: str, now: datetime) -> Delivering:
        assert own_delivery is not None
        return _delivering(doc, own_delivery, message_id, now)

    async def apply(session: AsyncSession, message_id: str, now: datetime) -> None:
        await _apply_status(session, st.status_code, doc, own_delivery, message_id, now)

    # A 01 (the busy one) is applied with the group commit's others; the rarer changes one by one.
    delivers = st.status_code == StatusCode.ARRIVED and own_delivery is not None
    return await accept(
        ctx, caller, raw, sha256, counterparts,
        fields={
            "kind": MessageKind.STATUS.value,
            "document_id": doc.document_id,
            "business_type": 0,
            "subject": st.description[:500],
            "status_code": str(st.status_code),
            "response_for_id": doc.id,
            "authenticated_by": authenticated_by,
        },
        audit=marked_audit({"document_message_id": doc.id, "status_code": str(st.status_code),
                            "to": [a.code for a in counterparts]}, authenticated_by),
        status_event=event,
        deliver=deliver if delivers else None,
        apply=apply if _changes(st.status_code, doc, own_delivery) else None,
    )


@dataclass(frozen=True)
class _Target:
    """The document a status answers."""

    id: str
    document_id: str
    sender_id: int
    response_for_id: str | None


@dataclass(frozen=True)
class _Own:
    """The caller's own delivery of that document, when the caller is a recipient."""

    id: int
    recipient_id: int


@cache
def _target_statement() -> Select[Any]:
    # Built once: the document a status answers, and the caller's own delivery of it if any.
    return (
        select(Message.id, Message.document_id, Message.sender_id, Message.response_for_id,
               Delivery.id.label("own_id"), Delivery.recipient_id)
        .outerjoin(Delivery, and_(Delivery.message_id == Message.id, Delivery.recipient_id == bindparam("caller")))
        .where(
            Message.kind == MessageKind.EDOC.value,
            Message.document_id == bindparam("document_id"),
            Message.sender_id == bindparam("sender"),
        )
        .order_by(Message.received_at.desc())
        .limit(1)
    )


async def _status_target(
    ctx: AxisContext, caller: RegisteredAgency, st: StatusMessage
) -> tuple[_Target, list[Party], _Own | None]:
    """The document a status answers, who gets the status, and the caller's own delivery (one query)."""
    not_found = NotFound(
        f"no document {st.response_for.document_id} that {caller.code} sent or received",
        field="MessageHeader/ResponseFor/DocumentId",
    )
    sender = await ctx.registry.agency_by_code(st.response_for.organ_id)
    if sender is None:
        raise not_found
    async with reading(ctx.engine) as conn:
        row = (await conn.execute(_target_statement(), {
            "caller": caller.id, "document_id": st.response_for.document_id, "sender": sender.id,
        })).first()
        if row is None:
            raise not_found
        doc = _Target(row.id, row.document_id, row.sender_id, row.response_for_id)
        if row.own_id is not None:
            if st.status_code not in RECIPIENT_STATUSES:
                raise NotPermitted(f"a recipient cannot send status {st.status_code}", field="StatusCode")
            return doc, [Party(sender.id, sender.code, sender.delivery_mode)], _Own(row.own_id, row.recipient_id)
        if doc.sender_id != caller.id:
            raise not_found
        if st.status_code not in SENDER_STATUSES:
            raise NotPermitted(f"the sender cannot send status {st.status_code}", field="StatusCode")
        recipient_ids = (
            await conn.execute(
                select(Delivery.recipient_id).where(Delivery.message_id == doc.id).order_by(Delivery.id)
            )
        ).scalars().all()
    parties = [await ctx.registry.agency_by_id(i) for i in recipient_ids]
    return doc, [Party(a.id, a.code, a.delivery_mode) for a in parties], None


def _delivering(doc: _Target, own: _Own, status_message_id: str, now: datetime) -> Delivering:
    """A recipient's 01: its delivery is delivered, entered in its register of incoming documents, audited."""
    return Delivering(
        delivery_id=own.id, receipt_message_id=status_message_id, at=now,
        register=incoming_entry(own.recipient_id, doc.id, now),
        audit=queue_row(actor="axis", action="delivery.delivered", subject=doc.id,
                        details={"delivery": own.id, "receipt": status_message_id}, at=now),
    )


def _changes(code: StatusCode, doc: _Target, own: _Own | None) -> bool:
    """Whether :func:`_apply_status` changes anything for this status (else the commit need not run it)."""
    if own is not None:
        return code == StatusCode.REFUSED or (code == StatusCode.REVOKE_AGREED and bool(doc.response_for_id))
    return code == StatusCode.TAKEN_BACK


async def _apply_status(
    session: AsyncSession,
    code: StatusCode,
    doc: _Target,
    own: _Own | None,
    status_message_id: str,
    now: datetime,
) -> None:
    """What a status other than a recipient's 01 changes besides the timeline (a 01: :func:`_delivering`)."""
    if code == StatusCode.REFUSED and own is not None:
        # A refusal ends the delivery, even one that arrived first: it is no longer on its way nor resendable.
        changed = await session.execute(
            update(Delivery.__table__)
            .where(Delivery.id == own.id, Delivery.state != DeliveryState.REFUSED.value)
            .values(state=DeliveryState.REFUSED.value, claimed_by=None, claimed_until=None, next_attempt_at=None)
        )
        if rowcount(changed):
            await queue_event(session, actor="axis", action="delivery.refused", subject=doc.id,
                              details={"delivery": own.id, "status": status_message_id}, at=now)
    elif code == StatusCode.REVOKE_AGREED and own is not None and doc.response_for_id:
        # The recipient agreed to revoke: its copy of the original is frozen.
        await session.execute(
            update(Delivery.__table__)
            .where(Delivery.message_id == doc.response_for_id, Delivery.recipient_id == own.recipient_id,
                   Delivery.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    elif code == StatusCode.TAKEN_BACK:
        fresh_doc = await session.get(Message, doc.id)
        if fresh_doc is not None and fresh_doc.revoked_at is None:
            fresh_doc.revoked_at = now
