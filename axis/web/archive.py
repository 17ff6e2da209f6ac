"""Archivists' pages: what is due, disposal lists with two-person approval and execution, certificates.

Archivists act; operators may look. Every action goes through ``axis.archive.disposal`` or ``axis.archive.holds``,
which check the person is an active archivist and write the audit entry themselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable
from datetime import date

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.archive.archivists import archivist
from axis.archive.calendar import vn_date
from axis.archive.destruction_certificates import verify_certificate
from axis.archive.disposal import (
    OPEN,
    approve_disposal,
    certificate_of,
    disposal_view,
    due_items,
    execute_disposal,
    list_disposals,
    propose_disposal,
)
from axis.archive.errors import ArchiveError, DisposalRefused, NotAnArchivist, UnknownRecord
from axis.archive.holds import holds_on
from axis.archive.schedules import Schedules, load_schedules
from axis.exchange.listings import parse_day
from axis.web.audit import audit_person
from axis.web.auth import WebUser, checked_form, language_of, require_user
from axis.web.i18n import Translator
from axis.web.rendering import download, render
from storage.models import Message
from storage.people.accounts import Role

routes = web.RouteTableDef()

ARCHIVIST = Role.ARCHIVIST
#: Who may look at the archive pages.
READERS = (Role.ARCHIVIST, Role.OPERATOR)
PAGE_SIZE = 100


def _page(request: web.Request, total: int) -> tuple[int, int]:
    """(page, pages) for ``total`` rows, from the ``page`` query parameter."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    return max(1, min(page, pages)), pages


def record_id(request: web.Request) -> int:
    """The numeric ``{id}`` of a disposal list or hold in the path (404 when it is not one)."""
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


def _schedules(request: web.Request) -> Schedules:
    return load_schedules(request.app[CONTEXT].settings.retention_path)


def refusal_status(exc: ArchiveError, status: int, *shown: type[ArchiveError]) -> int:
    """``status`` for a refusal of a ``shown`` kind, to show the page again with its reason.

    Any other unknown record is a 404 and any other non-archivist a 403; any other error is raised again.
    """
    if isinstance(exc, shown):
        return status
    if isinstance(exc, UnknownRecord):
        raise web.HTTPNotFound() from None
    if isinstance(exc, NotAnArchivist):
        raise web.HTTPForbidden() from None
    raise exc


# --- disposal lists ------------------------------------------------------------------------------


@routes.get("/archive/disposals")
async def disposals_page(request: web.Request) -> web.Response:
    """Every disposal list, newest first: state, documents, approvals."""
    require_user(request, *READERS)
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        lists = await list_disposals(session)
    return render(request, "archive_disposals.html", {"lists": lists}, active="archive")


async def _disposal_page(request: web.Request, user: WebUser, disposal_id: int, *, status: int = 200,
                         error: str | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    schedules = _schedules(request)
    async with ctx.sessions() as session:
        try:
            view = await disposal_view(session, disposal_id)
        except UnknownRecord:
            raise web.HTTPNotFound() from None
        page, pages = _page(request, len(view.items))
        shown = view.items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        ids = [item[0] for item in shown]
        details = {row.id: row for row in (await session.execute(
            select(Message.id, Message.sha256, Message.size, Message.subject, Message.code_number,
                   Message.code_notation).where(Message.id.in_(ids))
        )).all()} if ids else {}
        holds = await holds_on(session, ids) if view.state == OPEN else {}
    outcomes = [item[5] for item in view.items]
    approvers = {a.login for a in view.approvals}
    return render(request, "archive_disposal.html", {
        "view": view,
        "items": shown,
        "details": details,
        "holds": holds,
        "page": page,
        "pages": pages,
        "schedules": [schedules.by_code[c] for c in sorted({item[3] for item in view.items})
                      if c in schedules.by_code],
        "is_open": view.state == OPEN,
        "i_approved": user.login in approvers,
        "can_approve": user.is_archivist and view.state == OPEN and user.login not in approvers,
        "can_execute": user.is_archivist and view.state == OPEN and len(approvers) >= 2,
        "destroyed": sum(1 for o in outcomes if o == "destroyed"),
        "kept": sum(1 for o in outcomes if o is not None and o != "destroyed"),
        "done": request.query.get("done", ""),
        "error": error,
    }, status=status, active="archive")


@routes.get("/archive/disposals/{id}")
async def disposal_page(request: web.Request) -> web.Response:
    """One disposal list: approvals (who and when), items with digests, schedules, due dates, holds, outcomes."""
    user = require_user(request, *READERS)
    return await _disposal_page(request, user, record_id(request))


async def _disposal_action(request: web.Request, act: Callable[[WebUser, int], Awaitable[object]],
                           done: str) -> web.Response:
    """An archivist's action on one list, then the list; a refusal shows the list again with its reason (409)."""
    user = require_user(request, ARCHIVIST)
    await checked_form(request)
    disposal_id = record_id(request)
    try:
        await act(user, disposal_id)
    except ArchiveError as exc:
        status = refusal_status(exc, 409, DisposalRefused, NotAnArchivist)
        return await _disposal_page(request, user, disposal_id, status=status,
                                    error=Translator(language_of(request)).error(exc))
    raise web.HTTPSeeOther(f"/archive/disposals/{disposal_id}?done={done}")


@routes.post("/archive/disposals/{id}/approve")
async def disposal_approve(request: web.Request) -> web.Response:
    """Record this archivist's approval (a second, different archivist is needed)."""
    ctx = request.app[CONTEXT]

    async def approve(user: WebUser, disposal_id: int) -> None:
        async with ctx.sessions() as session, session.begin():
            await approve_disposal(session, disposal_id, by=user.login, now=ctx.clock())

    return await _disposal_action(request, approve, "approved")


@routes.post("/archive/disposals/{id}/execute")
async def disposal_execute(request: web.Request) -> web.Response:
    """Execute a list two archivists approved: holds re-checked, payloads deleted, certificate signed."""
    ctx = request.app[CONTEXT]

    async def execute(user: WebUser, disposal_id: int) -> None:
        schedules = _schedules(request)
        async with ctx.sessions() as session:
            await archivist(session, user.login)
        await execute_disposal(ctx.sessions, ctx.payloads, disposal_id, schedules, key=ctx.identity.key,
                               certificate=ctx.identity.certificate, now=ctx.clock(), actor=user.login)

    return await _disposal_action(request, execute, "executed")


@routes.get("/archive/disposals/{id}/certificate")
async def certificate_download(request: web.Request) -> web.Response:
    """The signed destruction certificate, byte for byte as stored, if it still verifies (audited)."""
    user = require_user(request, *READERS)
    disposal_id = record_id(request)
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        try:
            data = await certificate_of(session, ctx.payloads, disposal_id)
        except UnknownRecord:
            raise web.HTTPNotFound() from None
    # Hand out only what verifies with the axis certificate (a failure is logged as a 500).
    await asyncio.to_thread(verify_certificate, data, ctx.axis_certificate)
    await audit_person(ctx, user, "disposal.certificate_downloaded", str(disposal_id),
                       sha256=hashlib.sha256(data).hexdigest())
    return download(data, f"chung-nhan-huy-{disposal_id}.xml", "application/xml")


# --- what is due, and proposing a list -----------------------------------------------------------


def _as_of(raw: str, today: date) -> tuple[date, str]:
    """The day asked for (dd/mm/yyyy or ISO), else today and what was typed, to show beside the error."""
    if not raw:
        return today, ""
    try:
        return parse_day(raw), ""
    except ValueError:
        return today, raw[:40]


@routes.get("/archive/due")
async def due_page(request: web.Request) -> web.Response:
    """The dry run: what is due as of a day, held or already on a list; archivists propose a list from here."""
    require_user(request, *READERS)
    ctx = request.app[CONTEXT]
    schedules = _schedules(request)
    today = vn_date(ctx.clock())
    as_of, bad_date = _as_of(request.query.get("as_of", "").strip(), today)
    async with ctx.sessions() as session:
        items = await due_items(session, schedules, today=as_of)
        due_today = items if as_of == today else await due_items(session, schedules, today=today)
    page, pages = _page(request, len(items))
    destroy = [i for i in items if i.action == "destroy"]
    return render(request, "archive_due.html", {
        "items": items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
        "count": len(items),
        "as_of": as_of,
        "today": today,
        "bad_date": bad_date,
        "destroy": len(destroy),
        "held": sum(1 for i in destroy if i.holds),
        "other": len(items) - len(destroy),
        "candidates": sum(1 for i in due_today if i.action == "destroy" and not i.holds and i.disposal_id is None),
        "nothing": request.query.get("nothing") == "1",
        "page": page,
        "pages": pages,
    }, active="archive")


@routes.post("/archive/disposals")
async def disposal_propose(request: web.Request) -> web.Response:
    """Put every due, unheld document under a destroy schedule on a new list (audited by the archive)."""
    user = require_user(request, ARCHIVIST)
    await checked_form(request)
    ctx = request.app[CONTEXT]
    schedules = _schedules(request)
    now = ctx.clock()
    try:
        async with ctx.sessions() as session, session.begin():
            proposed = await propose_disposal(session, schedules, by=user.login, today=vn_date(now), now=now)
    except NotAnArchivist:
        raise web.HTTPForbidden() from None
    if proposed is None:
        raise web.HTTPSeeOther("/archive/due?nothing=1")
    raise web.HTTPSeeOther(f"/archive/disposals/{proposed.id}?done=proposed")
