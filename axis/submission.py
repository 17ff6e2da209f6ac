"""Accepting signed documents and statuses: check, route, store, receipt."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from axis.context import AxisContext
from axis.problems import (
    DuplicateProblem,
    ForbiddenProblem,
    NotFoundProblem,
    SenderMismatchProblem,
    UnknownRecipientProblem,
    ValidationProblem,
)
from envelope.codes import BusinessType, StatusCode, document_type_by_abbreviation
from envelope.model import DocumentMessage, StatusMessage
from envelope.parser import document_from_tree, message_from_tree, status_from_tree
from envelope.xml import parse_xml
from signing.keys import load_certificate
from signing.receipt import SubmissionReceipt, build_submission_receipt
from signing.verifier import VerifiedEnvelope, verify_envelope
from storage.archive.intake import record_arrival
from storage.archive.registers import register_incoming
from storage.audit import append_event
from storage.blobs import BlobStore
from storage.ids import new_id
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message, MessageKind, StatusEvent
from storage.registry import agency_by_code

# Statuses a recipient may send about a document it received, and the one its sender may send.
RECIPIENT_STATUSES = frozenset(StatusCode) - {StatusCode.TAKEN_BACK}
SENDER_STATUSES = frozenset({StatusCode.TAKEN_BACK})


@dataclass(frozen=True)
class Submission:
    """The answer to a submission: 202 when new, 200 when the same bytes came again."""

    created: bool
    body: dict[str, Any]


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


async def _verify(ctx: AxisContext, caller: Agency, from_code: str, root: etree._Element) -> VerifiedEnvelope:
    """Check the signature against the certificate registered for ``from_code``."""
    if from_code == caller.code:
        author: Agency | None = caller  # the usual case: no second lookup
    else:
        async with ctx.sessions() as session:
            author = await agency_by_code(session, from_code)
    pinned = []
    if author is not None and author.certificate_pem:
        pinned.append(load_certificate(author.certificate_pem.encode()))
    # Verification is CPU work on untrusted input; keep the event loop free.
    return await asyncio.to_thread(verify_envelope, root, pinned=pinned, policy=ctx.policy, at=ctx.clock())


async def _store_blob(blobs: BlobStore, raw: bytes) -> str:
    return await asyncio.to_thread(blobs.put, raw)


def _receipt(ctx: AxisContext, message_id: str, document_id: str, sender: str, recipients: Sequence[str],
             sha256: str, received_at: datetime) -> bytes:
    return build_submission_receipt(
        SubmissionReceipt(
            message_id=message_id,
            document_id=document_id,
            sender=sender,
            recipients=tuple(recipients),
            sha256=sha256,
            received_at=received_at,
        ),
        ctx.identity.key,
        ctx.identity.certificate,
    )


async def reply_for(session: AsyncSession, message: Message) -> dict[str, Any]:
    """The 202 body of a stored message, rebuilt identically for a re-sent copy."""
    codes = (
        await session.execute(
            select(Agency.code)
            .join(Delivery, Delivery.recipient_id == Agency.id)
            .where(Delivery.message_id == message.id)
            .order_by(Delivery.id)
        )
    ).scalars().all()
    return reply_body(message, codes)


def reply_body(message: Message, recipient_codes: Sequence[str]) -> dict[str, Any]:
    """The 202 body: what was stored, for whom (all queued at acceptance), and the receipt."""
    codes = recipient_codes
    body: dict[str, Any] = {
        "id": message.id,
        "kind": message.kind,
        "document_id": message.document_id,
        "sha256": message.sha256,
        "received_at": message.received_at.isoformat(),
        "recipients": [{"organ_id": c, "state": DeliveryState.QUEUED.value} for c in codes],
        "receipt": (message.receipt_xml or b"").decode(),
    }
    if message.status_code:
        body["status_code"] = message.status_code
    return body


async def _same_bytes(session: AsyncSession, caller: Agency, sha256: str) -> Message | None:
    return (
        await session.execute(select(Message).where(Message.sender_id == caller.id, Message.sha256 == sha256))
    ).scalar_one_or_none()


async def _recipients(session: AsyncSession, codes: Sequence[str]) -> list[Agency]:
    rows = (await session.execute(select(Agency).where(Agency.code.in_(codes)))).scalars().all()
    by_code = {a.code: a for a in rows}
    bad = [c for c in codes if c not in by_code or not by_code[c].active]
    if bad:
        raise UnknownRecipientProblem(
            f"not registered or not active: {', '.join(bad)}", recipients=bad
        )
    return [by_code[c] for c in codes]


def _deliveries(message_id: str, recipients: Sequence[Agency], now: datetime) -> list[Delivery]:
    return [
        Delivery(
            message_id=message_id,
            recipient_id=r.id,
            mode=r.delivery_mode,
            state=DeliveryState.QUEUED.value,
            next_attempt_at=now if r.delivery_mode == DeliveryMode.PUSH.value else None,
            created_at=now,
        )
        for r in recipients
    ]


async def _signed_message(ctx: AxisContext, caller: Agency, raw: bytes,
                          kind: type[DocumentMessage] | type[StatusMessage]) -> tuple[Any, str]:
    """Parse, verify and read the signed message ``caller`` posted; return it and the body's SHA-256."""
    root = parse_xml(raw, max_size=ctx.settings.max_message_bytes)
    unverified = message_from_tree(root)  # structure first: a broken envelope is a Validation error
    if not isinstance(unverified, kind):
        if kind is DocumentMessage:
            raise ValidationProblem("this is a status message: post it to /api/v1/statuses", field="StatusCode")
        raise ValidationProblem("this is a document: post it to /api/v1/documents", field="StatusCode")
    verified = await _verify(ctx, caller, unverified.from_.organ_id, root)
    # From here on only what the signature covers.
    msg = document_from_tree(verified.root) if kind is DocumentMessage else status_from_tree(verified.root)
    if msg.from_.organ_id != caller.code:
        raise SenderMismatchProblem(
            f"From is {msg.from_.organ_id} but the token belongs to {caller.code}", field="MessageHeader/From/OrganId"
        )
    return msg, _sha256(raw)


async def submit_document(ctx: AxisContext, caller: Agency, raw: bytes) -> Submission:
    """Check a signed edXML document from ``caller``, store it, route it to every recipient."""
    doc: DocumentMessage
    doc, sha256 = await _signed_message(ctx, caller, raw, DocumentMessage)
    codes = list(dict.fromkeys(doc.recipient_codes))

    async with ctx.sessions() as session:
        # A repeat first: its answer stands even if a recipient was disabled since.
        if (existing := await _same_bytes(session, caller, sha256)) is not None:
            return Submission(False, await reply_for(session, existing))
        recipients = await _recipients(session, codes)
        original = await _check_document_id(session, caller, doc)

    now = ctx.clock()
    message_id = new_id()
    receipt = _receipt(ctx, message_id, doc.document_id, caller.code, codes, sha256, now)
    await _store_blob(ctx.blobs, raw)
    message = Message(
        id=message_id,
        kind=MessageKind.EDOC.value,
        document_id=doc.document_id,
        sender_id=caller.id,
        business_type=int(doc.business_type),
        sha256=sha256,
        size=len(raw),
        received_at=now,
        subject=doc.subject,
        code_number=doc.code.code_number,
        code_notation=doc.code.code_notation,
        type_name=doc.document_type.type_name,
        type_abbreviation=_type_abbreviation(doc),
        priority=int(doc.priority),
        promulgation_date=doc.promulgation.promulgation_date.isoformat(),
        attachment_count=len(doc.attachments),
        response_for_id=original.id if original else None,
        receipt_xml=receipt,
    )
    return await _commit(
        ctx, caller, message, _deliveries(message_id, recipients, now), None, recipient_codes=codes,
        audit={"document_id": doc.document_id, "sha256": sha256, "recipients": codes,
               "business_type": int(doc.business_type)},
    )


def _type_abbreviation(doc: DocumentMessage) -> str:
    notation = doc.code.code_notation
    # "QĐ-UBND": the part before the first dash is the type; Công văn has none.
    head = notation.split("-", 1)[0] if "-" in notation else ""
    try:
        return document_type_by_abbreviation(head).abbreviation if head else ""
    except KeyError:
        return ""


async def _check_document_id(session: AsyncSession, caller: Agency, doc: DocumentMessage) -> Message | None:
    """Refuse a second new document under one DocumentId; find what a revoke/update refers to."""
    if doc.business_type == BusinessType.NEW:
        clash = (
            await session.execute(
                select(Message.id).where(
                    Message.sender_id == caller.id,
                    Message.document_id == doc.document_id,
                    Message.kind == MessageKind.EDOC.value,
                    Message.business_type == 0,
                )
            )
        ).scalar_one_or_none()
        if clash is not None:
            raise DuplicateProblem(
                f"{doc.document_id} was already sent as message {clash} with different bytes", message_id=clash
            )
        return None
    if not doc.response_for:
        raise ValidationProblem("a revoke, update or replace needs ResponseFor", field="MessageHeader/ResponseFor")
    target = doc.response_for[0].document_id
    original = (
        await session.execute(
            select(Message).where(
                Message.sender_id == caller.id,
                Message.document_id == target,
                Message.kind == MessageKind.EDOC.value,
            ).order_by(Message.received_at)
        )
    ).scalars().first()
    if original is None:
        raise NotFoundProblem(f"no document {target} sent by {caller.code} to revoke, update or replace",
                              field="MessageHeader/ResponseFor/DocumentId")
    return original


async def _commit(
    ctx: AxisContext,
    caller: Agency,
    message: Message,
    deliveries: list[Delivery],
    status: StatusEvent | None,
    *,
    audit: dict[str, Any],
    recipient_codes: Sequence[str],
    apply: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> Submission:
    """Write the message, its deliveries and audit entries in one transaction."""
    async with ctx.sessions() as session:
        try:
            async with session.begin():
                session.add(message)
                await session.flush()
                session.add_all(deliveries)
                if status is not None:
                    session.add(status)
                if apply is not None:
                    await apply(session)
                await record_arrival(session, message, ctx.settings.retention_path)
                await session.flush()
                await append_event(session, actor=caller.code, action=f"{message.kind}.received",
                                   subject=message.id, details=audit, at=message.received_at)
        except IntegrityError:
            # A concurrent request stored the same bytes or DocumentId first.
            async with ctx.sessions() as again:
                existing = await _same_bytes(again, caller, message.sha256)
                if existing is not None:
                    return Submission(False, await reply_for(again, existing))
            raise DuplicateProblem(f"{message.document_id} was already sent with different bytes") from None
    # Deliveries were added in recipient order, so this is what reply_for would read back.
    return Submission(True, reply_body(message, recipient_codes))


async def submit_status(ctx: AxisContext, caller: Agency, raw: bytes) -> Submission:
    """Check a signed edXML status from ``caller`` about a document it sent or received."""
    st: StatusMessage
    st, sha256 = await _signed_message(ctx, caller, raw, StatusMessage)
    async with ctx.sessions() as session:
        if (existing := await _same_bytes(session, caller, sha256)) is not None:
            return Submission(False, await reply_for(session, existing))
        doc, counterparts, own_delivery = await _status_target(session, caller, st)

    now = ctx.clock()
    message_id = new_id()
    codes = [a.code for a in counterparts]
    receipt = _receipt(ctx, message_id, doc.document_id, caller.code, codes, sha256, now)
    await _store_blob(ctx.blobs, raw)
    message = Message(
        id=message_id,
        kind=MessageKind.STATUS.value,
        document_id=doc.document_id,
        sender_id=caller.id,
        business_type=0,
        sha256=sha256,
        size=len(raw),
        received_at=now,
        subject=st.description[:500],
        status_code=str(st.status_code),
        response_for_id=doc.id,
        receipt_xml=receipt,
    )
    event = StatusEvent(
        document_message_id=doc.id,
        status_message_id=message_id,
        agency_id=caller.id,
        status_code=str(st.status_code),
        description=st.description,
        stated_at=st.timestamp,
        received_at=now,
    )

    async def apply(session: AsyncSession) -> None:
        await _apply_status(session, st.status_code, doc, own_delivery, message_id, now)

    return await _commit(
        ctx, caller, message, _deliveries(message_id, counterparts, now), event, recipient_codes=codes,
        apply=apply,
        audit={"document_message_id": doc.id, "status_code": str(st.status_code), "to": codes},
    )


async def _status_target(
    session: AsyncSession, caller: Agency, st: StatusMessage
) -> tuple[Message, list[Agency], Delivery | None]:
    """The document a status answers, who gets the status, and the caller's own delivery."""
    doc = (
        await session.execute(
            select(Message)
            .join(Agency, Agency.id == Message.sender_id)
            .where(
                Message.kind == MessageKind.EDOC.value,
                Message.document_id == st.response_for.document_id,
                Agency.code == st.response_for.organ_id,
            )
            .order_by(Message.received_at.desc())
        )
    ).scalars().first()
    not_found = NotFoundProblem(
        f"no document {st.response_for.document_id} that {caller.code} sent or received",
        field="MessageHeader/ResponseFor/DocumentId",
    )
    if doc is None:
        raise not_found
    own = (
        await session.execute(
            select(Delivery).where(Delivery.message_id == doc.id, Delivery.recipient_id == caller.id)
        )
    ).scalar_one_or_none()
    if own is not None:
        if st.status_code not in RECIPIENT_STATUSES:
            raise ForbiddenProblem(f"a recipient cannot send status {st.status_code}", field="StatusCode")
        sender = (await session.execute(select(Agency).where(Agency.id == doc.sender_id))).scalar_one()
        return doc, [sender], own
    if doc.sender_id == caller.id:
        if st.status_code not in SENDER_STATUSES:
            raise ForbiddenProblem(f"the sender cannot send status {st.status_code}", field="StatusCode")
        recipients = (
            await session.execute(
                select(Agency).join(Delivery, Delivery.recipient_id == Agency.id)
                .where(Delivery.message_id == doc.id).order_by(Delivery.id)
            )
        ).scalars().all()
        return doc, list(recipients), None
    raise not_found


async def _apply_status(
    session: AsyncSession,
    code: StatusCode,
    doc: Message,
    own: Delivery | None,
    status_message_id: str,
    now: datetime,
) -> None:
    """What a status changes besides the timeline."""
    if code == StatusCode.ARRIVED and own is not None:
        fresh = await session.get(Delivery, own.id, with_for_update=True)
        assert fresh is not None
        if fresh.state != DeliveryState.DELIVERED.value:
            fresh.state = DeliveryState.DELIVERED.value
            fresh.delivered_at = now
            fresh.receipt_message_id = status_message_id
            fresh.claimed_by = None
            fresh.claimed_until = None
            await register_incoming(session, fresh, now=now)
            await append_event(session, actor="axis", action="delivery.delivered", subject=doc.id,
                               details={"delivery": fresh.id, "receipt": status_message_id}, at=now)
    elif code == StatusCode.REVOKE_AGREED and own is not None and doc.response_for_id:
        # The recipient agreed to revoke: its copy of the original is frozen.
        original = (
            await session.execute(
                select(Delivery).where(
                    Delivery.message_id == doc.response_for_id, Delivery.recipient_id == own.recipient_id
                )
            )
        ).scalar_one_or_none()
        if original is not None and original.revoked_at is None:
            original.revoked_at = now
    elif code == StatusCode.TAKEN_BACK:
        fresh_doc = await session.get(Message, doc.id)
        if fresh_doc is not None and fresh_doc.revoked_at is None:
            fresh_doc.revoked_at = now
