"""Accepting signed documents: check, route, store, receipt (and the pipeline statuses share)."""

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

from axis.archive.intake import arrival_rows
from axis.context import AxisContext
from axis.exchange.body import Body, SpooledBody, body_size
from axis.exchange.certificate_owner import explain_untrusted_signer
from axis.exchange.errors import (
    DuplicateDocument,
    InvalidRequest,
    NotFound,
    SenderMismatch,
    UnknownRecipient,
    WrongMessageKind,
)
from axis.exchange.signature_check import stored_check
from axis.exchange.signature_policy import (
    BY_SIGNATURE,
    BY_TRANSPORT,
    accepted_on_transport,
    needs_own_key_check,
    refuse_foreign_signer,
)
from envelope.codes import BusinessType, document_type_by_abbreviation
from envelope.limits import check_field_lengths
from envelope.model import DocumentMessage, StatusMessage
from envelope.parser import document_from_tree, message_from_tree, status_from_tree
from envelope.validation import document_notes
from envelope.xml import parse_xml
from signing.errors import CertificateUntrusted, SignatureError
from signing.receipt import SubmissionReceipt, build_submission_receipt
from signing.streaming import StreamedEnvelope, read_signed_stream
from signing.verifier import VerifiedEnvelope, verify_envelope, verify_own_certificate
from storage.audit import audit_details
from storage.committer import Delivering, Rows
from storage.db import read_session
from storage.ids import new_id
from storage.models import (
    Agency,
    Delivery,
    DeliveryMode,
    DeliveryState,
    Message,
    MessageKind,
    MessageRow,
)
from storage.payloads.store import PayloadStore
from storage.registry.cache import RegisteredAgency, RegistrySnapshot


@dataclass(frozen=True)
class Accepted:
    """A stored message as its sender is told of it: new (202), or the same bytes again (200)."""

    created: bool
    id: str
    kind: str
    document_id: str
    sha256: str
    received_at: datetime
    #: The recipients' codes, in the order their deliveries were stored (all queued at acceptance).
    recipients: tuple[str, ...]
    #: The axis's signed submission receipt.
    receipt: bytes
    status_code: str | None = None
    authenticated_by: str = BY_SIGNATURE
    #: A recipient gets it pushed (the push worker has something to claim).
    pushes: bool = False

    @property
    def unsigned(self) -> bool:
        """Accepted without a valid XML-DSig under the sender's legacy-transport policy."""
        return self.authenticated_by != BY_SIGNATURE


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


async def _verify(ctx: AxisContext, caller: RegisteredAgency, from_code: str,
                  root: etree._Element | StreamedEnvelope) -> VerifiedEnvelope:
    """Check the signature against the certificate registered for ``from_code`` (parsed once, in memory)."""
    author = caller if from_code == caller.code else await ctx.registry.agency_by_code(from_code)
    pinned = author.certificates if author is not None else ()
    try:
        if isinstance(root, StreamedEnvelope):
            # The streamed pass of a large body already ran in a thread; its SignedInfo check is small
            # but signxml's, which is slow enough to keep off the event loop.
            return await asyncio.to_thread(verify_envelope, root, pinned=pinned, policy=ctx.policy, at=ctx.clock(),
                                           sender=from_code)
        # A body held in memory verifies in well under a millisecond (libxmlsec1, in place): no thread hop.
        # ``sender``: the signer must be the From agency (signing/binding.py), not just anyone trusted.
        return verify_envelope(root, pinned=pinned, policy=ctx.policy, at=ctx.clock(), sender=from_code)
    except CertificateUntrusted as exc:
        raise explain_untrusted_signer(exc, from_code, await ctx.registry.snapshot()) from None


async def _store_blob(payloads: PayloadStore, raw: Body, sha256: str) -> dict[str, Any] | None:
    """Write a large body to the blob store now; return a small one's payload row, committed with its message."""
    if isinstance(raw, SpooledBody):
        # The spooled file becomes the blob: renamed into place, never read back.
        await payloads.adopt(raw.path, raw.sha256)
        return None
    return await payloads.stage(raw, sha256)


def _receipt(ctx: AxisContext, message_id: str, document_id: str, sender: str, recipients: Sequence[str],
             sha256: str, received_at: datetime, authentication: str = BY_SIGNATURE) -> bytes:
    return build_submission_receipt(
        SubmissionReceipt(
            message_id=message_id,
            document_id=document_id,
            sender=sender,
            recipients=tuple(recipients),
            sha256=sha256,
            received_at=received_at,
            authentication=authentication,
        ),
        ctx.identity.key,
        ctx.identity.certificate,
    )


async def accepted_again(session: AsyncSession, message: Message) -> Accepted:
    """The answer for a stored message, rebuilt identically for a re-sent copy."""
    codes = (
        await session.execute(
            select(Agency.code)
            .join(Delivery, Delivery.recipient_id == Agency.id)
            .where(Delivery.message_id == message.id)
            .order_by(Delivery.id)
        )
    ).scalars().all()
    return _accepted(message, codes, created=False)


def _accepted(message: Message | MessageRow, recipient_codes: Sequence[str], *, created: bool,
              pushes: bool = False) -> Accepted:
    return Accepted(
        created=created,
        id=message.id,
        kind=message.kind,
        document_id=message.document_id,
        sha256=message.sha256,
        received_at=message.received_at,
        recipients=tuple(recipient_codes),
        receipt=message.receipt_xml or b"",
        status_code=message.status_code or None,
        authenticated_by=message.authenticated_by,
        pushes=pushes,
    )


async def same_bytes(session: AsyncSession, caller: RegisteredAgency, sha256: str) -> Message | None:
    return (
        await session.execute(select(Message).where(Message.sender_id == caller.id, Message.sha256 == sha256))
    ).scalar_one_or_none()


async def repeat_of(session: AsyncSession, caller: RegisteredAgency, sha256: str) -> Accepted | None:
    """The 200 answer when ``caller`` already sent these exact bytes, else None."""
    existing = await same_bytes(session, caller, sha256)
    return None if existing is None else await accepted_again(session, existing)


def _duplicate(document_id: str, clash: str | None) -> DuplicateDocument:
    if clash is None:
        return DuplicateDocument(f"{document_id} was already sent with different bytes")
    return DuplicateDocument(f"{document_id} was already sent as message {clash} with different bytes",
                             message_id=clash)


@dataclass(frozen=True)
class Party:
    """The registry facts routing needs about one agency."""

    id: int
    code: str
    delivery_mode: str


def recipients_by_code(registry: RegistrySnapshot, codes: Sequence[str]) -> list[Party]:
    """The registry facts of each recipient, in order; refused when one is unknown or inactive."""
    found = [registry.by_code.get(c) for c in codes]
    bad = [c for c, a in zip(codes, found, strict=True) if a is None or not a.active]
    if bad:
        raise UnknownRecipient(f"not registered or not active: {', '.join(bad)}", recipients=bad)
    return [Party(a.id, a.code, a.delivery_mode) for a in found if a is not None]


def _deliveries(message_id: str, recipients: Sequence[Party], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "message_id": message_id,
            "recipient_id": r.id,
            "mode": r.delivery_mode,
            "state": DeliveryState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now if r.delivery_mode == DeliveryMode.PUSH.value else None,
            "created_at": now,
        }
        for r in recipients
    ]


@dataclass(frozen=True)
class SignedMessage:
    """A message whose sender is authenticated, with what the document page and the registers keep of it."""

    message: Any  # DocumentMessage or StatusMessage, as asked for
    sha256: str
    #: The signature check as stored for the document page (None when the transport vouched instead).
    check: str | None
    #: ``BY_SIGNATURE`` or ``BY_TRANSPORT`` (axis.exchange.signature_policy).
    authenticated_by: str


async def verify_message(ctx: AxisContext, caller: RegisteredAgency, raw: Body,
                          kind: type[DocumentMessage] | type[StatusMessage]) -> SignedMessage:
    """Parse, verify and read the signed message ``caller`` posted (``BY_TRANSPORT`` when the caller's
    signature policy let an unverifiable signature pass)."""
    signed: etree._Element | StreamedEnvelope
    if isinstance(raw, SpooledBody):
        # Too large to hold: a streamed pass gives a small tree, each attachment measured, and the digest.
        # Only a few such passes at once: each reads and canonicalises up to max_message_bytes.
        async with ctx.large_bodies:
            signed = await asyncio.to_thread(read_signed_stream, raw.path, max_size=ctx.settings.max_message_bytes)
        root, measured = signed.root, signed.base64
    else:
        signed = root = parse_xml(raw, max_size=ctx.settings.max_message_bytes)
        measured = None
    check_field_lengths(root)  # every free-text field within its limit (envelope.limits), before anything costly
    unverified = message_from_tree(root, measured=measured)  # structure first: a broken envelope is a Validation error
    if not isinstance(unverified, kind):
        raise WrongMessageKind("status" if kind is DocumentMessage else "edoc")
    try:
        verified: VerifiedEnvelope | None = await _verify(ctx, caller, unverified.from_.organ_id, signed)
    except SignatureError as exc:
        if not accepted_on_transport(caller, exc):
            raise
        if needs_own_key_check(exc):
            # Untrusted, yet present: unchanged since signed, and not another agency's signature.
            certificate = verify_own_certificate(signed, policy=ctx.policy, at=ctx.clock())
            refuse_foreign_signer(caller, certificate, await ctx.registry.snapshot())
        verified = None  # the policy's one branch: no signature to read from, the transport vouches
    # From here on only what the signature covers. Checked in place, the tree read above is the one
    # the signature was verified over (comments, which it does not cover, never reach a field: text
    # is read around them), so the message read from it stands; otherwise read the signed copy.
    if verified is None or verified.in_place:
        msg = unverified
    else:
        msg = (document_from_tree(verified.root, measured=measured) if kind is DocumentMessage
               else status_from_tree(verified.root))
    if msg.from_.organ_id != caller.code:
        raise SenderMismatch(
            f"From is {msg.from_.organ_id} but the token belongs to {caller.code}", field="MessageHeader/From/OrganId"
        )
    return SignedMessage(msg, raw.sha256 if isinstance(raw, SpooledBody) else _sha256(raw),
                         stored_check(verified) if verified is not None else None,
                         BY_SIGNATURE if verified is not None else BY_TRANSPORT)


async def submit_document(ctx: AxisContext, caller: RegisteredAgency, raw: Body) -> Accepted:
    """Check a signed edXML document from ``caller``, store it, route it to every recipient."""
    doc: DocumentMessage
    signed = await verify_message(ctx, caller, raw, DocumentMessage)
    doc, sha256, authenticated_by = signed.message, signed.sha256, signed.authenticated_by
    codes = list(dict.fromkeys(doc.recipient_codes))

    # No database round trip before the commit for a new document: recipients come from the
    # registry in memory, and a repeat or a second document under one DocumentId is found by the
    # unique constraints when the group commit inserts it (accept() then answers as before).
    try:
        try:
            recipients = recipients_by_code(await ctx.registry.snapshot(), codes)
        except UnknownRecipient:
            # Maybe registered a moment ago: look at the registry version once more.
            recipients = recipients_by_code(await ctx.registry.after_miss(), codes)
    except UnknownRecipient:
        # A repeat's answer stands even if a recipient was disabled since.
        async with read_session(ctx.engine) as session:
            if (repeat := await repeat_of(session, caller, sha256)) is not None:
                return repeat
        raise
    original_id = None
    if doc.business_type != BusinessType.NEW or isinstance(raw, SpooledBody):
        # Rare and costly anyway: a revoke, update or replace needs the document it names; a large
        # body would leave its blob behind if the commit refused it, so it is checked first.
        async with read_session(ctx.engine) as session:
            if (repeat := await repeat_of(session, caller, sha256)) is not None:
                return repeat
            if doc.business_type != BusinessType.NEW:
                original_id = await _original_of(session, caller, doc)
            elif (clash := await _clash(session, caller, doc.document_id)) is not None:
                raise _duplicate(doc.document_id, clash)

    return await accept(
        ctx, caller, raw, sha256, recipients,
        fields={
            "kind": MessageKind.EDOC.value,
            "document_id": doc.document_id,
            "business_type": int(doc.business_type),
            "subject": doc.subject,
            "code_number": doc.code.code_number,
            "code_notation": doc.code.code_notation,
            "type_name": doc.document_type.type_name,
            "type_abbreviation": _type_abbreviation(doc),
            "priority": int(doc.priority),
            "promulgation_date": doc.promulgation.promulgation_date.isoformat(),
            "attachment_count": len(doc.attachments),
            "response_for_id": original_id,
            "signature_check": signed.check,
            "authenticated_by": authenticated_by,
        },
        audit=marked_audit({"document_id": doc.document_id, "sha256": sha256, "recipients": codes,
                       "business_type": int(doc.business_type)}, authenticated_by,
                       document_notes(doc) + _unlinked(doc, original_id)),
    )


def marked_audit(audit: dict[str, Any], authenticated_by: str, notes: Sequence[str] = ()) -> dict[str, Any]:
    """Audit details with what sets this message apart: unsigned acceptance, recorded header mismatches."""
    if authenticated_by != BY_SIGNATURE:
        audit["authenticated_by"] = authenticated_by
    if notes:
        audit["notes"] = list(notes)
    return audit


def _type_abbreviation(doc: DocumentMessage) -> str:
    notation = doc.code.code_notation
    # "QĐ-UBND": the part before the first dash is the type; Công văn has none.
    head = notation.split("-", 1)[0] if "-" in notation else ""
    try:
        return document_type_by_abbreviation(head).abbreviation if head else ""
    except KeyError:
        return ""


def _unlinked(doc: DocumentMessage, original_id: str | None) -> list[str]:
    """A note when a revoke, update or replace names an original that is not on this axis."""
    if doc.business_type != BusinessType.NEW and original_id is None:
        return [f"the original {doc.bussiness.document_id[:80]!r} is not on this axis; not linked"]
    return []


async def _original_of(session: AsyncSession, caller: RegisteredAgency, doc: DocumentMessage) -> str | None:
    """The id of the document a revoke, update or replace refers to (sent by the caller).

    Named in ResponseFor, it must be on this axis. Named only in Bussiness/DocumentId (deployed
    software, often about documents exchanged before this axis), it is linked when found, else None.
    """
    if not doc.response_for and not doc.bussiness.document_id.strip():
        raise InvalidRequest("a revoke, update or replace needs ResponseFor", field="MessageHeader/ResponseFor")
    target = doc.response_for[0].document_id if doc.response_for else doc.bussiness.document_id.strip()
    original = (
        await session.execute(
            select(Message.id).where(
                Message.sender_id == caller.id,
                Message.document_id == target,
                Message.kind == MessageKind.EDOC.value,
            ).order_by(Message.received_at).limit(1)
        )
    ).scalar()
    if original is None and not doc.response_for:
        return None
    if original is None:
        raise NotFound(f"no document {target} sent by {caller.code} to revoke, update or replace",
                       field="MessageHeader/ResponseFor/DocumentId")
    return str(original)


async def _clash(session: AsyncSession, caller: RegisteredAgency, document_id: str) -> str | None:
    """The caller's new document already stored under ``document_id``, if any."""
    found = (
        await session.execute(
            select(Message.id).where(
                Message.sender_id == caller.id, Message.document_id == document_id,
                Message.kind == MessageKind.EDOC.value, Message.business_type == 0,
            ).limit(1)
        )
    ).scalar()
    return None if found is None else str(found)


#: The timeline row a status adds, given the new message's id and arrival time.
StatusEventFor = Callable[[str, datetime], dict[str, Any]]
#: What a status changes besides the timeline, run in the storing transaction.
ApplyFor = Callable[[AsyncSession, str, datetime], Awaitable[None]]
#: A status 01's effect on its delivery, given the new message's id and arrival time.
DeliveringFor = Callable[[str, datetime], Delivering]


async def accept(
    ctx: AxisContext,
    caller: RegisteredAgency,
    raw: Body,
    sha256: str,
    recipients: Sequence[Party],
    *,
    fields: dict[str, Any],
    audit: dict[str, Any],
    status_event: StatusEventFor | None = None,
    apply: ApplyFor | None = None,
    deliver: DeliveringFor | None = None,
    action: str | None = None,
) -> Accepted:
    """Receipt, payload, message, deliveries, archive records and audit entry: stored together (group commit).

    Plain INSERTs and no lock: the audit chain and register numbers are sealed just after
    (axis.archive.sealing), so concurrent submissions commit side by side. The messages the axis
    issues itself (failure notices) come this way too, with their own audit ``action``.
    """
    now = ctx.clock()
    message_id = new_id()
    codes = [r.code for r in recipients]
    authenticated_by = fields.get("authenticated_by", BY_SIGNATURE)
    receipt = _receipt(ctx, message_id, fields["document_id"], caller.code, codes, sha256, now, authenticated_by)
    payload = await _store_blob(ctx.payloads, raw, sha256)
    message = MessageRow(id=message_id, sender_id=caller.id, sha256=sha256, size=body_size(raw), received_at=now,
                         receipt_xml=receipt, **fields)
    rows = Rows(
        message=message.values(),
        deliveries=_deliveries(message_id, recipients, now),
        arrival=arrival_rows(message, ctx.settings.retention_path),
        audit={"at": now, "actor": caller.code, "action": action or f"{message.kind}.received",
               "subject": message_id, "details": audit_details(audit)},
        status=status_event(message_id, now) if status_event else None,
        payload=payload,
        apply=(lambda session: apply(session, message_id, now)) if apply else None,
        deliver=deliver(message_id, now) if deliver else None,
    )
    try:
        await ctx.committer.commit(rows)
    except IntegrityError:
        # A concurrent request stored the same bytes or DocumentId first.
        async with read_session(ctx.engine) as again:
            if (repeat := await repeat_of(again, caller, sha256)) is not None:
                return repeat
            clash = await _clash(again, caller, message.document_id) if message.kind == MessageKind.EDOC else None
        raise _duplicate(message.document_id, clash) from None
    # Deliveries were added in recipient order, so this is what accepted_again would read back.
    return _accepted(message, codes, created=True,
                     pushes=any(r.delivery_mode == DeliveryMode.PUSH.value for r in recipients))
