"""The reports page: monthly throughput (table, CSV, a 12-month chart) from ``axis.archive.reports``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.archive.calendar import month_of, parse_month
from axis.archive.csv_export import csv_text
from axis.archive.reports import COLUMNS, COUNTS, compute_month, computed_at, monthly_report, report_series
from axis.web.audit import audit_person
from axis.web.auth import WebUser, checked_form, language_of, require_user
from axis.web.charts import throughput_chart
from axis.web.i18n import Translator
from axis.web.rendering import download, render
from storage.models import Agency

routes = web.RouteTableDef()

#: Figures summed in the total row (receipt-time percentiles cannot be added up).
SUMMED = (*COUNTS, "bytes_in", "storage_growth_bytes", "disposed", "unsigned")


@dataclass(frozen=True)
class ReportQuery:
    """Which month and which agency (None: all of them) a person asked for, and what was wrong with it."""

    month: str
    agency: str | None
    bad_month: bool = False
    unknown_agency: str = ""
    #: What was typed when it was no month, kept in the field beside the warning.
    typed: str = ""


_TYPED_MONTH = re.compile(r"(\d{1,2})/(\d{4})")


def month_field(raw: str) -> str:
    """The ``YYYY-MM`` month of what was typed: 11/2026 (the Vietnamese way) or 2026-11; ValueError otherwise."""
    text = raw.strip()
    typed = _TYPED_MONTH.fullmatch(text)
    if typed:
        text = f"{typed.group(2)}-{int(typed.group(1)):02d}"
    elif re.fullmatch(r"\d{4}-\d", text):
        text = f"{text[:5]}0{text[5]}"
    parse_month(text)
    return text


async def _query(request: web.Request, user: WebUser) -> tuple[ReportQuery, list[tuple[str, str]]]:
    """Read ``month`` and ``agency``; clerks only ever get their own agency."""
    ctx = request.app[CONTEXT]
    raw = request.query.get("month", "").strip()
    try:
        month, bad = month_field(raw), False
    except ValueError:
        month, bad = month_of(ctx.clock()), bool(raw)
    typed = raw[:20] if bad else ""
    if not user.sees_archive:
        return ReportQuery(month, user.agency.code, bad, typed=typed), []
    async with ctx.sessions() as session:
        agencies = [(code, name) for code, name in
                    (await session.execute(select(Agency.code, Agency.name).order_by(Agency.code))).all()]
    wanted = request.query.get("agency", "").strip()[:13]
    if wanted and wanted not in {code for code, _ in agencies}:
        return ReportQuery(month, None, bad, unknown_agency=wanted, typed=typed), agencies
    return ReportQuery(month, wanted or None, bad, typed=typed), agencies


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: sum(int(r[name] or 0) for r in rows) for name in SUMMED}


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    """Monthly throughput of the user's agency (archivists and operators: any or all agencies), with a chart."""
    user = require_user(request)
    query, agencies = await _query(request, user)
    ctx = request.app[CONTEXT]
    # A month never asked for is computed now and kept: hence a writing transaction.
    async with ctx.sessions() as session, session.begin():
        rows = await monthly_report(session, query.month, agency_code=query.agency)
        series = await report_series(session, query.agency, until=query.month, months=12)
        stamp = await computed_at(session, query.month)
    return render(request, "reports.html", {
        "computed_at": stamp,
        "every_minutes": f"{ctx.settings.report_interval_seconds / 60:g}",
        "can_recompute": user.sees_archive,
        "query": query,
        "agencies": agencies,
        "names": dict(agencies) if agencies else {user.agency.code: user.agency.name},
        "rows": rows,
        "total": _total(rows) if len(rows) > 1 else None,
        "series": series,
        "chart": throughput_chart(series, Translator(language_of(request))),
        "csv_query": f"month={query.month}" + (f"&agency={query.agency}" if query.agency and user.sees_archive
                                                else ""),
    }, active="reports")


@routes.post("/reports/recompute")
async def reports_recompute(request: web.Request) -> web.Response:
    """Recompute a month's figures now (archivists and operators), then show them again."""
    user = require_user(request)
    if not user.sees_archive:
        raise web.HTTPForbidden()
    form = await checked_form(request)
    month = form.get("month", "").strip()
    try:
        parse_month(month)
    except ValueError:
        raise web.HTTPBadRequest() from None
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session, session.begin():
        await compute_month(session, month, now=ctx.clock())
    await audit_person(ctx, user, "report.recomputed", month, report="monthly")
    agency = form.get("agency", "").strip()
    raise web.HTTPSeeOther(f"/reports?month={month}" + (f"&agency={agency}" if agency else ""))


@routes.get("/reports.csv")
async def reports_csv(request: web.Request) -> web.Response:
    """The month's report as CSV, the same bytes as ``axis report monthly --format csv`` (audited)."""
    user = require_user(request)
    query, _ = await _query(request, user)
    if query.bad_month or query.unknown_agency:
        raise web.HTTPBadRequest()
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session, session.begin():
        rows = await monthly_report(session, query.month, agency_code=query.agency)
    await audit_person(ctx, user, "report.downloaded", query.month, report="monthly",
                       scope=query.agency or "all")
    name = f"axis-report-{query.agency or 'all'}-{query.month}.csv"
    return download(csv_text(COLUMNS, rows).encode(), name, "text/csv", charset="utf-8")
