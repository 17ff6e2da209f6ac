"""An archived document's record, for archivists and operators of the hub: any agency's document, no payload.

Archivists are the hub's staff: retention, holds and disposal cover every agency's documents (one
disposal list, approved by two archivists, may hold documents of many agencies), so every archive
page and command reaches every archived document. What they see of a document is its archive
record — parties, digests, schedule, holds, disposal, fixity — not its content: the signed bytes and
attachments stay with its sender and recipients (``axis.web.documents``). Each view is audited.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.archive.disposal import disposal_of_message
from axis.archive.errors import RetentionConfigError, UnknownRecord
from axis.archive.schedules import load_schedules, retention_of
from axis.web.archive import READERS
from axis.web.audit import audit_person
from axis.web.auth import require_user
from axis.web.rendering import render
from storage.archive_models import Blob
from storage.ids import is_id
from storage.models import Agency, Delivery, Message, MessageKind

routes = web.RouteTableDef()


async def archived_document(request: web.Request, message_id: str) -> Message | None:
    """The archived document (not a status) with this id, if there is one."""
    if not is_id(message_id):
        return None
    async with request.app[CONTEXT].sessions() as session:
        message = await session.get(Message, message_id)
    return message if message is not None and message.kind == MessageKind.EDOC.value else None


@routes.get("/archive/documents/{id}")
async def record_page(request: web.Request) -> web.Response:
    """One archived document's record, whichever agencies sent and received it (audited)."""
    user = require_user(request, *READERS)
    ctx = request.app[CONTEXT]
    message = await archived_document(request, request.match_info["id"])
    if message is None:
        raise web.HTTPNotFound()
    async with ctx.sessions() as session:
        sender = await session.get(Agency, message.sender_id)
        recipients = (await session.execute(
            select(Agency.code, Agency.name, Delivery.state, Delivery.delivered_at, Delivery.revoked_at)
            .join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id == message.id).order_by(Delivery.id)
        )).all()
        try:
            retention = await retention_of(session, message.id, load_schedules(ctx.settings.retention_path))
        except (UnknownRecord, RetentionConfigError):
            retention = None
        disposed = await disposal_of_message(session, message)
        blob = await session.get(Blob, message.sha256)
    await audit_person(ctx, user, "archive.record_viewed", message.id)
    return render(request, "archive_record.html", {
        "message": message,
        "sender": sender,
        "recipients": recipients,
        "retention": retention,
        "disposed": disposed,
        "blob": blob,
        # Its own agency sent or received it: the full document page is open to this person too.
        "party": user.agency.id == message.sender_id or any(r.code == user.agency.code for r in recipients),
    }, active="archive")
