"""The agency's inbox and outbox: paged, filtered tables of documents, newest first."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.exchange.listings import (
    STATE_CHOICES,
    inbox_listing,
    outbox_listing,
    parse_filters,
)
from axis.web.auth import require_user
from axis.web.rendering import render
from envelope.codes import DOCUMENT_TYPES, Priority
from storage.models import Agency

routes = web.RouteTableDef()

async def _show(request: web.Request, box: str) -> web.Response:
    user = require_user(request)
    f = parse_filters(request.query)
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        listing = await (inbox_listing if box == "inbox" else outbox_listing)(session, user.agency, f)
        agencies = (
            await session.execute(
                select(Agency.code, Agency.name)
                .where(Agency.code != user.agency.code, Agency.code != ctx.settings.axis_code)
                .order_by(Agency.code)
            )
        ).all()
    return render(request, "mailbox.html", {
        "box": box,
        "listing": listing,
        "filters": f,
        "agencies": agencies,
        "document_types": [t.name_vi for t in DOCUMENT_TYPES],
        "priorities": [p.value for p in Priority],
        "states": STATE_CHOICES,
    }, active=box)


@routes.get("/inbox")
async def inbox_page(request: web.Request) -> web.Response:
    """Documents that came in to the user's agency."""
    return await _show(request, "inbox")


@routes.get("/outbox")
async def outbox_page(request: web.Request) -> web.Response:
    """Documents the user's agency sent, and whether they arrived."""
    return await _show(request, "outbox")
