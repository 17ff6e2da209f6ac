"""Legal holds: list them, place one on documents or on a saved search, release one (archivists act)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.appkeys import CONTEXT
from axis.archive.errors import ArchiveError, DisposalRefused, RetentionConfigError, UnknownRecord
from axis.archive.holds import SEARCH_KEYS, list_holds, place_hold, release_hold
from axis.exchange.listings import parse_day
from axis.web.archive import ARCHIVIST, READERS, record_id, refusal_status
from axis.web.auth import checked_form, language_of, require_user
from axis.web.i18n import Translator
from axis.web.rendering import render
from storage.models import Message, MessageKind

routes = web.RouteTableDef()

#: Form field of each saved-search key, with the catalogue key of its label.
SEARCH_FIELDS = {key: f"holds.s_{key}" for key in SEARCH_KEYS}
_IDS_RE = re.compile(r"[\s,;]+")
#: A line of message ids (ULIDs, Crockford base32), as the axis prints them.
_ID_LINE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}(?:[\s,;]+[0-9A-HJKMNP-TV-Z]{26})*", re.IGNORECASE)
_MAX_IDS = 10_000
# The columns' sizes (legal_holds.name and .authority are VARCHAR(255)); reasons are kept reasonable.
_MAX_NAME, _MAX_REASON = 255, 4000


async def _holds_page(request: web.Request, *, status: int = 200, error: str | None = None,
                      form: dict[str, str] | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    include_released = request.query.get("all") == "1"
    async with ctx.sessions() as session:
        holds = await list_holds(session, include_released=include_released)
    return render(request, "archive_holds.html", {
        "holds": [(h, n, json.loads(h.query) if h.query else {}) for h, n in holds],
        "include_released": include_released,
        "search_fields": SEARCH_FIELDS,
        # A row's hold action on the due list opens this page with its document filled in.
        "form": form or {"documents": request.query.get("documents", "")[:2000]},
        "error": error,
        "placed": request.query.get("placed", "")[:9],
        "released": request.query.get("released", "")[:9],
        "requested": request.query.get("requested", "")[:9],
    }, status=status, active="archive")


@routes.get("/archive/holds")
async def holds_page(request: web.Request) -> web.Response:
    """Active legal holds (all with ``?all=1``), and the form to place one."""
    require_user(request, *READERS)
    return await _holds_page(request)


@routes.post("/archive/holds")
async def hold_place(request: web.Request) -> web.Response:
    """Place a hold on the listed documents and/or the saved search (audited by the archive)."""
    user = require_user(request, ARCHIVIST)
    form = await checked_form(request)
    fields = {k: form.get(k, "").strip() for k in ("name", "authority", "reason", "documents", *SEARCH_FIELDS)}
    search: dict[str, Any] = {k: fields[k] for k in SEARCH_FIELDS if fields[k]}
    t = Translator(language_of(request))
    for key in ("date_from", "date_to"):
        if key in search:
            # Typed as dd/mm/yyyy (or ISO), never the browser's month-first order; kept as ISO in the search.
            try:
                search[key] = parse_day(search[key]).isoformat()
            except ValueError:
                return await _holds_page(request, status=400, form=fields, error=t(
                    "err.bad_date", field=t(SEARCH_FIELDS[key]), value=search[key][:40]))
    too_long = [k for k in ("name", "authority") if len(fields[k]) > _MAX_NAME]
    if too_long or len(fields["reason"]) > _MAX_REASON:
        return await _holds_page(request, status=400, error=f"{', '.join(too_long) or 'reason'}: too long",
                                 form=fields)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            ids = (await documents_named(session, fields["documents"]))[:_MAX_IDS]
            hold = await place_hold(session, name=fields["name"], authority=fields["authority"],
                                    reason=fields["reason"], by=user.login, now=ctx.clock(),
                                    message_ids=ids, search=search or None)
    except ArchiveError as exc:
        status = refusal_status(exc, 400, RetentionConfigError, UnknownRecord)
        return await _holds_page(request, status=status, error=Translator(language_of(request)).error(exc), form=fields)
    raise web.HTTPSeeOther(f"/archive/holds?placed={hold.id}")


async def documents_named(session: AsyncSession, text: str) -> list[str]:
    """Message ids for what an archivist typed, one document per line: message ids or DocumentIds.

    A DocumentId (``OrganId,yyyy/MM/dd,Number/Notation``, as the due list and the document page show it)
    names every document message carrying it; one that names none is kept as typed, so the refusal names it.
    """
    ids: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if _ID_LINE_RE.fullmatch(line):
            ids.extend(i.upper() for i in _IDS_RE.split(line) if i)
            continue
        found = (await session.execute(select(Message.id).where(
            Message.document_id == line, Message.kind == MessageKind.EDOC.value).order_by(Message.id))).scalars()
        ids.extend(list(found) or [line])
    return list(dict.fromkeys(ids))


@routes.post("/archive/holds/{id}/release")
async def hold_release(request: web.Request) -> web.Response:
    """Ask for a hold's release, or confirm another archivist's request and lift it (audited by the archive)."""
    user = require_user(request, ARCHIVIST)
    await checked_form(request)
    hold_id = record_id(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            step = await release_hold(session, hold_id, by=user.login, now=ctx.clock())
    except ArchiveError as exc:
        return await _holds_page(request, status=refusal_status(exc, 409, DisposalRefused),
                                 error=Translator(language_of(request)).error(exc))
    raise web.HTTPSeeOther(f"/archive/holds?{'released' if step.released else 'requested'}={hold_id}")
