"""The reports page: the monthly throughput report, when the archive's report module is installed."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from aiohttp import web

from axis.appkeys import CONTEXT
from axis.web.auth import require_user
from axis.web.rendering import render
from envelope.codes import VN_TZ

routes = web.RouteTableDef()
log = logging.getLogger("axis.web")

REPORTS_MODULE = "storage.archive.reports"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


def _as_row(item: Any) -> dict[str, Any]:
    """A report object as column → value, whatever shape the report module returns."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    if isinstance(item, Mapping):
        return dict(item)
    if hasattr(item, "_asdict"):
        return dict(item._asdict())
    return {"value": item}


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "—" if value is None else str(value)


def table(items: Any) -> tuple[list[str], list[list[str]]]:
    """Columns and rows for a report or a series of reports."""
    if items is None:
        return [], []
    rows = [_as_row(i) for i in (items if isinstance(items, (list, tuple)) else [items])]
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    return columns, [[_cell(row.get(c)) for c in columns] for row in rows]


def _month_argument(fn: Callable[..., Any], name: str, month: date) -> Any:
    """Pass the month the way the report function declares it: a date, else ``YYYY-MM``."""
    try:
        annotation = str(inspect.signature(fn).parameters[name].annotation)
    except (KeyError, TypeError, ValueError):
        annotation = ""
    return month if "date" in annotation else f"{month.year:04d}-{month.month:02d}"


@routes.get("/reports")
async def reports_page(request: web.Request) -> web.Response:
    """Monthly throughput of the user's agency (operators: all agencies)."""
    user = require_user(request)
    ctx = request.app[CONTEXT]
    today = ctx.clock().astimezone(VN_TZ).date()
    raw = request.query.get("month", "")
    m = _MONTH_RE.fullmatch(raw)
    bad_month = bool(raw) and (m is None or not 1 <= int(m[2]) <= 12)
    month = date(int(m[1]), int(m[2]), 1) if m and not bad_month else date(today.year, today.month, 1)
    context: dict[str, Any] = {"month": f"{month.year:04d}-{month.month:02d}", "bad_month": bad_month,
                               "available": False, "monthly": ([], []), "series": ([], [])}
    try:
        reports = importlib.import_module(REPORTS_MODULE)
        monthly_report = reports.monthly_report
        report_series = reports.report_series
    except (ImportError, AttributeError):
        return render(request, "reports.html", context, active="reports")
    agency_code = None if user.is_operator else user.agency.code
    try:
        async with ctx.sessions() as session:
            monthly = await monthly_report(session, _month_argument(monthly_report, "month", month),
                                           agency_code=agency_code)
            series = await report_series(session, agency_code, until=_month_argument(report_series, "until", month),
                                         months=12)
    except (TypeError, ValueError, AttributeError):
        # The archive module is being completed separately; a mismatch must not break the UI.
        log.exception("report module did not answer as expected")
        return render(request, "reports.html", context, active="reports")
    context.update(available=True, monthly=table(monthly), series=table(series))
    return render(request, "reports.html", context, active="reports")
