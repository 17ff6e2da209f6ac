"""Legal holds: list them, place one on documents or on a saved search, release one (archivists act)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from axis.appkeys import CONTEXT
from axis.archive.errors import ArchiveError, DisposalRefused, RetentionConfigError, UnknownRecord
from axis.archive.holds import SEARCH_KEYS, list_holds, place_hold, release_hold
from axis.exchange.listings import parse_day
from axis.web.archive import ARCHIVIST, READERS, record_id, refusal_status
from axis.web.auth import checked_form, language_of, require_user
from axis.web.i18n import Translator
from axis.web.rendering import render

routes = web.RouteTableDef()

#: Form field of each saved-search key, with the catalogue key of its label.
SEARCH_FIELDS = {key: f"holds.s_{key}" for key in SEARCH_KEYS}
_IDS_RE = re.compile(r"[\s,;]+")
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
        "form": form or {},
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
    ids = [i for i in _IDS_RE.split(fields["documents"]) if i][:_MAX_IDS]
    search: dict[str, Any] = {k: fields[k] for k in SEARCH_FIELDS if fields[k]}
    for key in ("date_from", "date_to"):
        if key in search:
            # Typed as dd/mm/yyyy (or ISO), never the browser's month-first order; kept as ISO in the search.
            try:
                search[key] = parse_day(search[key]).isoformat()
            except ValueError as exc:
                return await _holds_page(request, status=400, error=f"{key}: {exc}", form=fields)
    too_long = [k for k in ("name", "authority") if len(fields[k]) > _MAX_NAME]
    if too_long or len(fields["reason"]) > _MAX_REASON:
        return await _holds_page(request, status=400, error=f"{', '.join(too_long) or 'reason'}: too long",
                                 form=fields)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            hold = await place_hold(session, name=fields["name"], authority=fields["authority"],
                                    reason=fields["reason"], by=user.login, now=ctx.clock(),
                                    message_ids=ids, search=search or None)
    except ArchiveError as exc:
        status = refusal_status(exc, 400, RetentionConfigError, UnknownRecord)
        return await _holds_page(request, status=status, error=Translator(language_of(request)).error(exc), form=fields)
    raise web.HTTPSeeOther(f"/archive/holds?placed={hold.id}")


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
