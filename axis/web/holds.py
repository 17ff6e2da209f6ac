"""Legal holds: list them, place one on documents or on a saved search, release one (archivists act)."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from axis.appkeys import CONTEXT
from axis.web.archive import ARCHIVIST, READERS
from axis.web.auth import checked_form, require_user
from axis.web.rendering import render
from storage.archive import retention
from storage.archive.errors import DisposalRefused, NotAnArchivist, RetentionConfigError, UnknownRecord

routes = web.RouteTableDef()

#: Form field of each saved-search key, with the catalogue key of its label.
SEARCH_FIELDS = {key: f"holds.s_{key}" for key in retention.SEARCH_KEYS}
_IDS_RE = re.compile(r"[\s,;]+")
_MAX_IDS = 10_000
# The columns' sizes (legal_holds.name and .authority are VARCHAR(255)); reasons are kept reasonable.
_MAX_NAME, _MAX_REASON = 255, 4000


def _hold_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


async def _holds_page(request: web.Request, *, status: int = 200, error: str | None = None,
                      form: dict[str, str] | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    include_released = request.query.get("all") == "1"
    async with ctx.sessions() as session:
        holds = await retention.list_holds(session, include_released=include_released)
    return render(request, "archive_holds.html", {
        "holds": [(h, n, json.loads(h.query) if h.query else {}) for h, n in holds],
        "include_released": include_released,
        "search_fields": SEARCH_FIELDS,
        "form": form or {},
        "error": error,
        "placed": request.query.get("placed", "")[:9],
        "released": request.query.get("released", "")[:9],
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
    too_long = [k for k in ("name", "authority") if len(fields[k]) > _MAX_NAME]
    if too_long or len(fields["reason"]) > _MAX_REASON:
        return await _holds_page(request, status=400, error=f"{', '.join(too_long) or 'reason'}: too long",
                                 form=fields)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            hold = await retention.place_hold(session, name=fields["name"], authority=fields["authority"],
                                              reason=fields["reason"], by=user.login, now=ctx.clock(),
                                              message_ids=ids, search=search or None)
    except NotAnArchivist:
        raise web.HTTPForbidden() from None
    except (RetentionConfigError, UnknownRecord) as exc:
        return await _holds_page(request, status=400, error=str(exc), form=fields)
    raise web.HTTPSeeOther(f"/archive/holds?placed={hold.id}")


@routes.post("/archive/holds/{id}/release")
async def hold_release(request: web.Request) -> web.Response:
    """Release a hold; its documents may be disposed of again when due (audited by the archive)."""
    user = require_user(request, ARCHIVIST)
    await checked_form(request)
    hold_id = _hold_id(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            await retention.release_hold(session, hold_id, by=user.login, now=ctx.clock())
    except UnknownRecord:
        raise web.HTTPNotFound() from None
    except NotAnArchivist:
        raise web.HTTPForbidden() from None
    except DisposalRefused as exc:
        return await _holds_page(request, status=409, error=str(exc))
    raise web.HTTPSeeOther(f"/archive/holds?released={hold_id}")
