"""Archive endpoints of the agency API: the monthly throughput report and the statutory registers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from axis.api.auth import authenticate
from axis.api.problems import NotFoundProblem, ValidationProblem
from axis.appkeys import CONTEXT
from axis.archive.calendar import parse_month
from axis.archive.csv_export import csv_text
from axis.archive.registers import DIRECTIONS, register_columns, register_rows
from axis.archive.reports import COLUMNS, monthly_report
from axis.archive.sealing import seal_now

routes = web.RouteTableDef()

FORMATS = ("json", "csv")


def _format(request: web.Request) -> str:
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise ValidationProblem("format must be json or csv", field="format")
    return fmt


def _answer(fmt: str, body: dict[str, Any], columns: Sequence[str], filename: str) -> web.Response:
    if fmt == "csv":
        return web.Response(body=csv_text(columns, body["items"]).encode(), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode(), content_type="application/json")


@routes.get("/api/v1/reports/monthly")
async def get_monthly_report(request: web.Request) -> web.Response:
    """Throughput of the calling agency in one month."""
    caller = await authenticate(request)
    fmt = _format(request)
    month = request.query.get("month", "")
    try:
        parse_month(month)
    except ValueError:
        raise ValidationProblem("month must be YYYY-MM", field="month") from None
    # A month never computed is computed now and kept: hence a writing transaction.
    async with request.app[CONTEXT].sessions() as session, session.begin():
        rows = await monthly_report(session, month, agency_code=caller.code)
    return _answer(fmt, {"month": month, "items": rows}, COLUMNS, f"axis-report-{caller.code}-{month}")


@routes.get("/api/v1/registers/{direction}")
async def get_register(request: web.Request) -> web.Response:
    """The calling agency's register of incoming or outgoing documents for one year."""
    caller = await authenticate(request)
    direction = request.match_info["direction"]
    if direction not in DIRECTIONS:
        raise NotFoundProblem(f"no register {direction!r}: incoming or outgoing")
    fmt = _format(request)
    raw_year = request.query.get("year", "")
    if not (raw_year.isascii() and raw_year.isdigit() and len(raw_year) == 4):
        raise ValidationProblem("year must be YYYY", field="year")
    year = int(raw_year)
    await seal_now(request.app[CONTEXT].sessions)  # the last moments' entries get their numbers first
    async with request.app[CONTEXT].sessions() as session:
        rows = await register_rows(session, caller.code, direction, year)
    body = {"agency": caller.code, "direction": direction, "year": year, "items": rows}
    return _answer(fmt, body, register_columns(direction), f"so-{direction}-{caller.code}-{year}")
