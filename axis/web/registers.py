"""The statutory registers of incoming and outgoing documents (Decree 30/2020, Appendix IV) of the user's agency.

The hub's archivists and operators may open any agency's registers (``?agency=CODE``), as
``axis register --agency`` does; clerks only ever see their own agency's.
"""

from __future__ import annotations

import math

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.archive.calendar import vn_date
from axis.archive.csv_export import csv_text
from axis.archive.registers import DIRECTIONS, register_columns, register_rows
from axis.archive.sealing import seal_now
from axis.web.audit import audit_person
from axis.web.auth import WebUser, require_user
from axis.web.rendering import download, render
from storage.archive_models import RegisterEntry
from storage.models import Agency

routes = web.RouteTableDef()

PAGE_SIZE = 50
_DIRECTION = "{direction:incoming|outgoing}"


def _year(raw: str, default: int) -> tuple[int, bool]:
    """The asked-for year, or ``default`` and True when it was malformed."""
    if not raw:
        return default, False
    if raw.isascii() and raw.isdigit() and len(raw) == 4 and int(raw) >= 1:
        return int(raw), False
    return default, True


def _page(raw: str) -> int:
    try:
        return max(1, min(int(raw), 1_000_000))
    except ValueError:
        return 1


async def _agency(request: web.Request, user: WebUser) -> tuple[Agency, list[tuple[str, str]]]:
    """Whose register: the user's agency, or (archivists and operators) the one asked for; and the choices."""
    if not user.sees_archive:
        return user.agency, []
    async with request.app[CONTEXT].sessions() as session:
        agencies = list((await session.execute(select(Agency).order_by(Agency.code))).scalars())
    wanted = request.query.get("agency", "").strip()[:13] or user.agency.code
    chosen = next((a for a in agencies if a.code == wanted), None)
    if chosen is None:
        raise web.HTTPNotFound()
    return chosen, [(a.code, a.name) for a in agencies]


@routes.get(f"/registers/{_DIRECTION}")
async def register_page(request: web.Request) -> web.Response:
    """One year of the user's agency's register, paged, with the decree's columns."""
    user = require_user(request)
    agency, agencies = await _agency(request, user)
    direction = request.match_info["direction"]
    ctx = request.app[CONTEXT]
    this_year = vn_date(ctx.clock()).year
    year, bad_year = _year(request.query.get("year", "").strip(), this_year)
    await seal_now(ctx.sessions)  # the last moments' entries get their numbers first
    async with ctx.sessions() as session:
        rows = await register_rows(session, agency.code, direction, year)
        years = set((await session.execute(
            select(RegisterEntry.year).where(RegisterEntry.agency_id == agency.id,
                                             RegisterEntry.direction == DIRECTIONS[direction]).distinct()
        )).scalars())
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(_page(request.query.get("page", "1")), pages)
    return render(request, "register.html", {
        "direction": direction,
        "agency": agency,
        "agencies": agencies,
        "year": year,
        "years": sorted(years | {this_year, year}, reverse=True),
        "bad_year": bad_year,
        "rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE],
        "total": len(rows),
        "page": page,
        "pages": pages,
    }, active="registers")


@routes.get(f"/registers/{_DIRECTION}.csv")
async def register_csv(request: web.Request) -> web.Response:
    """The year's register as CSV, the same bytes as ``axis register DIRECTION --format csv`` (audited)."""
    user = require_user(request)
    agency, _ = await _agency(request, user)
    direction = request.match_info["direction"]
    ctx = request.app[CONTEXT]
    year, bad_year = _year(request.query.get("year", "").strip(), vn_date(ctx.clock()).year)
    if bad_year:
        raise web.HTTPBadRequest()
    await seal_now(ctx.sessions)  # the last moments' entries get their numbers first
    async with ctx.sessions() as session:
        rows = await register_rows(session, agency.code, direction, year)
    await audit_person(ctx, user, "register.downloaded", agency.code, register=direction, year=year,
                       entries=len(rows))
    body = csv_text(register_columns(direction), rows).encode()
    return download(body, f"so-{direction}-{agency.code}-{year}.csv", "text/csv", charset="utf-8")
