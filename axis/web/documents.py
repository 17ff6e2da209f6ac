"""One document as a clerk sees it: metadata, attachments, signature, deliveries, timeline, receipt."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Any

from aiohttp import web
from lxml import etree
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.archive.disposal import check_payload_kept, disposal_of_message
from axis.archive.errors import PayloadDisposed, RetentionConfigError, UnknownRecord
from axis.archive.schedules import RetentionInfo, load_schedules, retention_of
from axis.context import AxisContext
from axis.exchange import mailbox
from axis.exchange.errors import NotFound
from axis.exchange.signature_check import SignatureCheck, check_of, load_check
from axis.web.archive_records import archived_document
from axis.web.audit import audit_person
from axis.web.auth import WebUser, require_user
from axis.web.rendering import download, render
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, ParsedAttachment
from envelope.parser import document_from_tree, parse_document
from envelope.xml import parse_xml
from signing.errors import SignatureError
from signing.keys import load_certificates
from signing.receipt import SubmissionReceipt, verify_submission_receipt
from signing.verifier import VerifyPolicy, verify_envelope
from signing.xmldsig import SIGNATURE_TAG
from storage.models import Agency, AuditEvent, AuditQueueEntry, Message
from storage.payloads.backends import PayloadBody

routes = web.RouteTableDef()


def check_document(raw: bytes, certificate_pem: str | None, policy: VerifyPolicy, at: datetime,
                   max_size: int) -> tuple[SignatureCheck, DocumentMessage | None]:
    """Verify the stored bytes against the sender's registered certificate; parse what is signed.

    Only for documents stored before the check at acceptance was kept (``messages.signature_check``).
    """
    # The sender's current certificate and, during a rotation, its next one (concatenated PEM).
    pinned = load_certificates(certificate_pem.encode()) if certificate_pem else []
    try:
        verified = verify_envelope(raw, pinned=pinned, policy=policy, at=at, max_size=max_size)
    except (SignatureError, EnvelopeError) as exc:
        try:
            doc: DocumentMessage | None = parse_document(raw, max_size=max_size)
        except EnvelopeError:
            doc = None
        return SignatureCheck(False, reason=f"{type(exc).__name__}: {exc}"), doc
    # Fields are read only from what the signature covers.
    return check_of(verified), document_from_tree(verified.root)


def read_accepted(raw: bytes, sha256: str, check: SignatureCheck,
                  max_size: int) -> tuple[SignatureCheck, DocumentMessage | None]:
    """A document as verified at acceptance: its bytes must still be the ones verified (same SHA-256).

    No signature is checked again: the stored check says what was found when the axis accepted
    these very bytes. The fields are read from the signed content exactly as the verifier reduced it
    (signature and the comments canonicalisation drops removed, their tail text kept).
    """
    if hashlib.sha256(raw).hexdigest() != sha256:
        return SignatureCheck(False, reason="the stored bytes no longer match the digest taken at acceptance"), None
    try:
        root = parse_xml(raw, max_size=max_size)
        etree.strip_elements(root, SIGNATURE_TAG, etree.Comment, with_tail=False)
        return check, document_from_tree(root)
    except EnvelopeError as exc:
        return SignatureCheck(False, reason=f"{type(exc).__name__}: {exc}"), None


async def _readable_message(ctx: AxisContext, user: WebUser, message_id: str) -> tuple[Message, Agency, dict[str, Any]]:
    """The document, its sender and its trace if the user's agency sent or received it; else 404."""
    # trace() applies the API's rule (same answer as for a missing id) and refuses status messages.
    trace = await mailbox.trace(ctx, user.agency, message_id)
    async with ctx.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        sender = await session.get(Agency, message.sender_id)
        assert sender is not None
    return message, sender, trace


def _receipt(raw: bytes | None, ctx: AxisContext) -> tuple[SubmissionReceipt | None, bool]:
    if not raw:
        return None, False
    try:
        return verify_submission_receipt(raw, ctx.axis_certificate), True
    except Exception:  # noqa: BLE001 - any failure is shown as "could not be verified"
        return None, False


def _with_times(entry: dict[str, Any]) -> dict[str, Any]:
    """A trace entry with its ``*_at`` ISO strings turned back into datetimes for display."""
    return {k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v
            for k, v in entry.items()}


async def _retention(ctx: AxisContext, message: Message) -> tuple[RetentionInfo | None,
                                                                  tuple[datetime, int | None] | None]:
    """The document's schedule, due date and holds (None if it has none yet), and its disposal if any."""
    async with ctx.sessions() as session:
        disposed = await disposal_of_message(session, message)
        try:
            info = await retention_of(session, message.id, load_schedules(ctx.settings.retention_path))
        except (UnknownRecord, RetentionConfigError):
            info = None
    return info, disposed


async def _stored_check(ctx: AxisContext, message: Message) -> SignatureCheck | None:
    """The signature check kept at acceptance (None for documents stored before it was kept)."""
    async with ctx.sessions() as session:
        stored = (await session.execute(
            select(Message.signature_check).where(Message.id == message.id))).scalar_one_or_none()
    return None if stored is None else load_check(stored, message.received_at)


def notes_in(details: str) -> list[str]:
    """The notes of an arrival's audit details: how the message differs from QCVN 102:2016's letter."""
    try:
        found = json.loads(details or "{}").get("notes", [])
    except (ValueError, AttributeError):
        return []
    return [str(n) for n in found] if isinstance(found, list) else []


async def arrival_notes(ctx: AxisContext, message: Message) -> list[str]:
    """What the axis noted when it accepted the message in a deployed shape (empty: the standard's own)."""
    action = f"{message.kind}.received"
    async with ctx.sessions() as session:
        # Sealed into the chain, or still queued for the sealer.
        for model in (AuditEvent, AuditQueueEntry):
            details = (await session.execute(select(model.details).where(
                model.subject == message.id, model.action == action).limit(1))).scalar_one_or_none()
            if details is not None:
                return notes_in(details)
    return []


async def _payload(ctx: AxisContext, message: Message) -> bytes:
    """The stored signed bytes; 410 Gone once a disposal destroyed them."""
    async with ctx.sessions() as session:
        try:
            await check_payload_kept(session, message)
        except PayloadDisposed:
            raise web.HTTPGone() from None
    return await ctx.payloads.read(message.sha256)


async def _payload_body(ctx: AxisContext, message: Message) -> PayloadBody:
    """The stored signed bytes for a download, streamed when large; 410 Gone once a disposal destroyed them."""
    async with ctx.sessions() as session:
        try:
            await check_payload_kept(session, message)
        except PayloadDisposed:
            raise web.HTTPGone() from None
    return await ctx.payloads.open(message.sha256)


@routes.get("/documents/{id}")
async def document_page(request: web.Request) -> web.Response:
    """Everything about one document the user's agency sent or received (each view is audited)."""
    user = require_user(request)
    ctx = request.app[CONTEXT]
    message_id = request.match_info["id"]
    try:
        message, sender, trace = await _readable_message(ctx, user, message_id)
    except NotFound:
        # The hub's archivists and operators reach every archived document's record (not its content).
        if user.sees_archive and await archived_document(request, message_id) is not None:
            raise web.HTTPSeeOther(f"/archive/documents/{message_id}") from None
        raise
    kept, disposed = await _retention(ctx, message)
    check: SignatureCheck | None = None
    doc: DocumentMessage | None = None
    if disposed is None:
        # Only the residual metadata of a disposed document is left to show.
        raw = await ctx.payloads.read(message.sha256)
        stored = await _stored_check(ctx, message)
        if stored is not None:
            check, doc = await asyncio.to_thread(read_accepted, raw, message.sha256, stored,
                                                 ctx.settings.max_message_bytes)
        else:
            check, doc = await asyncio.to_thread(
                check_document, raw, (sender.certificate_pem or "") + (sender.next_certificate_pem or ""), ctx.policy,
                message.received_at,
                ctx.settings.max_message_bytes
            )
    receipt, receipt_ok = _receipt(message.receipt_xml, ctx)
    async with ctx.sessions() as session:
        names: dict[str, str] = {c: n for c, n in (await session.execute(select(Agency.code, Agency.name))).all()}
        related = None
        if message.response_for_id:
            related = await session.get(Message, message.response_for_id)
    await audit_person(ctx, user, "document.viewed", message.id)
    recipients = [_with_times(r) for r in trace["recipients"]]
    own_copy = next((r for r in recipients if r["organ_id"] == user.agency.code), None)
    return render(request, "document.html", {
        "message": message,
        "sender": sender,
        "doc": doc,
        "check": check,
        "recipients": recipients,
        "timeline": [_with_times(e) for e in trace["timeline"]],
        "names": names,
        "receipt": receipt,
        "receipt_ok": receipt_ok,
        "related": related,
        "outgoing": message.sender_id == user.agency.id,
        "retention": kept,
        "disposed": disposed,
        # Revoked for everyone by its sender, or this recipient's copy frozen by a recall.
        "revoked_at": message.revoked_at or (own_copy["revoked_at"] if own_copy else None),
        "shape_notes": await arrival_notes(ctx, message),
    }, active="outbox" if message.sender_id == user.agency.id else "inbox")


@routes.get("/documents/{id}/attachments/{n:\\d+}")
async def attachment_download(request: web.Request) -> web.Response:
    """One attachment, byte for byte as the sender attached it (audited)."""
    user = require_user(request)
    ctx = request.app[CONTEXT]
    message, _, _ = await _readable_message(ctx, user, request.match_info["id"])
    raw = await _payload(ctx, message)
    doc = await asyncio.to_thread(parse_document, raw, max_size=ctx.settings.max_message_bytes)
    index = int(request.match_info["n"])
    if not 1 <= index <= len(doc.attachments):
        raise web.HTTPNotFound()
    attachment = doc.attachments[index - 1]
    data = await asyncio.to_thread(attachment.data) if isinstance(attachment, ParsedAttachment) else attachment.data
    await audit_person(ctx, user, "document.attachment_downloaded", message.id, attachment=attachment.name,
                 sha256=attachment.sha256)
    return download(data, attachment.safe_name, attachment.content_type)


@routes.get("/documents/{id}/edxml")
async def edxml_download(request: web.Request) -> web.Response:
    """The signed edXML message exactly as received (audited)."""
    user = require_user(request)
    ctx = request.app[CONTEXT]
    message, _, _ = await _readable_message(ctx, user, request.match_info["id"])
    raw = await _payload_body(ctx, message)
    await audit_person(ctx, user, "document.downloaded", message.id, sha256=message.sha256)
    return download(raw, f"{message.id}.edxml.xml", "application/xml")


@routes.get("/documents/{id}/receipt")
async def receipt_download(request: web.Request) -> web.Response:
    """The axis-signed submission receipt of the document (audited, like every download)."""
    user = require_user(request)
    ctx = request.app[CONTEXT]
    message, _, _ = await _readable_message(ctx, user, request.match_info["id"])
    if not message.receipt_xml:
        raise web.HTTPNotFound()
    await audit_person(ctx, user, "document.receipt_downloaded", message.id)
    return download(message.receipt_xml, f"{message.id}.receipt.xml", "application/xml")
