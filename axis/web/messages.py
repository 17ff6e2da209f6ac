"""Operator pages: the hub-wide message search and one message's whole story, with resend."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT, PUSH_WAKEUP
from axis.exchange.errors import NotFound
from axis.exchange.redelivery import MAX_REASON, ResendError, resend_deliveries
from axis.exchange.search import KINDS, STATES, SearchPage, SearchQuery, SearchRefused, parse_query, search_messages
from axis.exchange.story import message_story
from axis.web.audit import audit_person
from axis.web.auth import checked_form, require_user
from axis.web.documents import notes_in
from axis.web.rendering import render
from storage.models import Delivery
from storage.people.accounts import Role

routes = web.RouteTableDef()
OPERATOR = Role.OPERATOR


@routes.get("/admin/messages")
async def search_page(request: web.Request) -> web.Response:
    """Search every agency's messages; each search is an audit entry."""
    user = require_user(request, OPERATOR)
    ctx = request.app[CONTEXT]
    error: SearchRefused | None = None
    try:
        query = parse_query(request.query)
    except SearchRefused as exc:
        error, query = exc, SearchQuery()
    page = SearchPage([], None)
    if error is None:
        async with ctx.sessions() as session:
            page = await search_messages(session, query)
    codes = sorted((await ctx.registry.snapshot()).by_code)  # the codes offered in the sender/recipient fields
    if error is None:
        await audit_person(ctx, user, "messages.searched", "messages", filters=query.filters(),
                           page_after=query.after or None, found=len(page.hits))
    return render(request, "admin_messages.html", {
        "query": query, "page": page, "error": error, "codes": codes, "kinds": KINDS, "states": STATES,
        "form": {k: request.query.get(k, "")[:255] for k in
                 ("document_id", "message_id", "sender", "recipient", "from", "to", "kind", "state", "sha256",
                  "text")},
        "next_link": f"/admin/messages?{query.query_string(page.next)}" if page.next else None,
        "first_link": f"/admin/messages?{query.query_string()}" if query.after else None,
    }, status=400 if error else 200, active="admin")


async def _story_page(request: web.Request, *, status: int = 200, error_key: str | None = None) -> web.Response:
    user = require_user(request, OPERATOR)
    ctx = request.app[CONTEXT]
    try:
        story = await message_story(ctx, request.match_info["id"])
    except NotFound:
        raise web.HTTPNotFound() from None
    await audit_person(ctx, user, "message.viewed", story.message.id, role=user.role)
    try:
        resent = int(request.query.get("resent", ""))
    except ValueError:
        resent = None
    arrival = f"{story.message.kind}.received"
    notes = next((notes_in(a.details) for a in story.audit if a.action == arrival and a.subject == story.message.id),
                 [])
    return render(request, "admin_message.html", {
        "story": story, "m": story.message, "resent": resent, "error_key": error_key, "max_reason": MAX_REASON,
        "shape_notes": notes,
    }, status=status, active="admin")


@routes.get("/admin/messages/{id}")
async def story_page(request: web.Request) -> web.Response:
    """One message across agencies: deliveries with attempts, statuses, audit entries, TraceHeaderList."""
    return await _story_page(request)


@routes.post("/admin/messages/{id}/resend")
async def story_resend(request: web.Request) -> web.Response:
    """Queue one delivery of this message again; the reason is audited."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    ctx = request.app[CONTEXT]
    message_id = request.match_info["id"]
    try:
        delivery_id = int(form.get("delivery", ""))
    except ValueError:
        return await _story_page(request, status=400, error_key="failed.need_selection")
    async with ctx.sessions() as session:
        owner = (await session.execute(
            select(Delivery.message_id).where(Delivery.id == delivery_id))).scalar_one_or_none()
    if owner != message_id:
        # A delivery of another message (or none): nothing to do from this page.
        return await _story_page(request, status=400, error_key="failed.need_selection")
    try:
        async with ctx.sessions() as session, session.begin():
            resent = await resend_deliveries(session, [delivery_id], reason=form.get("reason", ""),
                                             actor=user.actor, now=ctx.clock())
    except ResendError:
        return await _story_page(request, status=400, error_key="failed.need_reason")
    if resent:
        request.app[PUSH_WAKEUP].set()
    raise web.HTTPSeeOther(f"/admin/messages/{message_id}?resent={len(resent)}")
