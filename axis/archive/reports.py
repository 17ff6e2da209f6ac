"""Monthly throughput per agency, kept as aggregates in ``monthly_stats`` so reading a report scans nothing.

A month is a calendar month in Vietnam time (UTC+7). Figures of one agency A in month M:

- ``sent``: documents A submitted in M (new documents and revokes/updates/replaces alike);
- ``received``: deliveries to A of documents submitted in M;
- ``delivered``: deliveries of A's documents submitted in M that have the recipient's signed
  status 01, one per recipient;
- ``refused``: deliveries of A's documents submitted in M that the recipient refused with a
  status 02 (the axis's own "delivery failed" notices are counted as ``failed`` instead);
- ``failed``: deliveries of A's documents submitted in M that the axis gave up on;
- ``median_receipt_s`` / ``p95_receipt_s``: seconds from submission to the signed 01 over the
  ``delivered`` deliveries (median of the middle two for an even count; p95 by nearest rank);
  null without deliveries;
- ``bytes_in``: bytes of every message (documents and statuses) A submitted in M;
- ``storage_growth_bytes``: ``bytes_in`` minus the payload bytes of A's documents disposed of in M
  (can be negative);
- ``disposed``: A's documents whose payload was disposed of in M;
- ``unsigned``: documents A submitted in M that the axis accepted without a valid XML signature
  (A's signature policy was legacy-transport).

The figures of a month are recomputed by a scheduled job for the current and previous month
(late receipts still change the previous month), and on demand for a month never computed.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.calendar import month_bounds, month_of, parse_month, shift_month
from storage.archive_models import Disposal, DisposalItem, MonthlyStat
from storage.models import Agency, Delivery, DeliveryState, Message, MessageKind, StatusEvent, utcnow
from storage.upsert import upsert

COUNTS = ("sent", "received", "delivered", "refused", "failed")
FIGURES = (*COUNTS, "median_receipt_s", "p95_receipt_s", "bytes_in", "storage_growth_bytes", "disposed",
           "unsigned")
#: The keys of a report row, in order (also the CSV header).
COLUMNS = ("agency", "month", *FIGURES)
REFUSED = "02"
#: Delivered documents read per slice when the month's receipt latencies are computed.
LATENCY_SLICE = 5000


def median(values: Sequence[float]) -> float | None:
    """The median (mean of the middle two for an even count); None when empty."""
    return round(float(statistics.median(values)), 3) if values else None


def p95(values: Sequence[float]) -> float | None:
    """The 95th percentile by nearest rank; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(float(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]), 3)


def _counts(rows: Sequence[Any]) -> dict[int, int]:
    return {int(agency_id): int(n or 0) for agency_id, n in rows}


async def compute_month(session: AsyncSession, month: str, *, now: datetime | None = None) -> int:
    """Recompute and store every agency's figures for one month; return how many rows were written."""
    start, end = month_bounds(month)
    in_month = and_(Message.received_at >= start, Message.received_at < end)
    edoc = Message.kind == MessageKind.EDOC.value

    async def grouped(query: Any) -> dict[int, int]:
        return _counts((await session.execute(query)).all())

    sent = await grouped(select(Message.sender_id, func.count()).where(edoc, in_month).group_by(Message.sender_id))
    sent_deliveries = (select(Message.sender_id, func.count()).join(Delivery, Delivery.message_id == Message.id)
                       .where(edoc, in_month).group_by(Message.sender_id))
    received = await grouped(
        select(Delivery.recipient_id, func.count()).join(Message, Message.id == Delivery.message_id)
        .where(edoc, in_month).group_by(Delivery.recipient_id))
    refused = await grouped(sent_deliveries.where(exists().where(
        StatusEvent.document_message_id == Delivery.message_id, StatusEvent.agency_id == Delivery.recipient_id,
        StatusEvent.status_code == REFUSED)))
    failed = await grouped(sent_deliveries.where(Delivery.state == DeliveryState.FAILED.value))
    unsigned = await grouped(select(Message.sender_id, func.count())
                             .where(edoc, in_month, Message.authenticated_by == "transport")
                             .group_by(Message.sender_id))
    bytes_in = await grouped(select(Message.sender_id, func.sum(Message.size)).where(in_month)
                             .group_by(Message.sender_id))
    # Driven by the few disposal lists executed in the month, not by a scan of every assignment.
    disposed_rows = (await session.execute(
        select(Message.sender_id, func.count(), func.sum(Message.size))
        .select_from(Disposal)
        .join(DisposalItem, DisposalItem.disposal_id == Disposal.id)
        .join(Message, Message.id == DisposalItem.message_id)
        .where(Disposal.executed_at >= start, Disposal.executed_at < end, DisposalItem.outcome == "destroyed")
        .group_by(Message.sender_id)
    )).all()
    disposed = {int(a): int(n) for a, n, _ in disposed_rows}
    disposed_bytes = {int(a): int(b or 0) for a, _, b in disposed_rows}
    # A month holds up to the whole month's deliveries (550,000 on the national axis): read in slices and
    # kept as packed doubles, 8 bytes each, not as rows of two datetimes held all at once (a heap high-water
    # mark that stayed in the process after every run, 15 minutes apart).
    latencies: dict[int, array[float]] = defaultdict(lambda: array("d"))
    delivered = await session.stream(
        select(Message.sender_id, Message.received_at, Delivery.delivered_at)
        .join(Delivery, Delivery.message_id == Message.id)
        .where(edoc, in_month, Delivery.receipt_message_id.is_not(None), Delivery.delivered_at.is_not(None))
        .execution_options(yield_per=LATENCY_SLICE))
    async for part in delivered.partitions():
        for sender_id, received_at, delivered_at in part:
            latencies[int(sender_id)].append((delivered_at - received_at).total_seconds())

    agencies = (await session.execute(select(Agency.id, Agency.active))).all()
    stamp = now or utcnow()
    rows: list[dict[str, Any]] = []
    for agency_id, active in agencies:
        lat: Sequence[float] = latencies.get(agency_id, ())
        row = {
            "agency_id": agency_id, "month": month,
            "sent": sent.get(agency_id, 0), "received": received.get(agency_id, 0), "delivered": len(lat),
            "refused": refused.get(agency_id, 0), "failed": failed.get(agency_id, 0),
            "median_receipt_s": median(lat), "p95_receipt_s": p95(lat),
            "bytes_in": bytes_in.get(agency_id, 0),
            "storage_growth_bytes": bytes_in.get(agency_id, 0) - disposed_bytes.get(agency_id, 0),
            "disposed": disposed.get(agency_id, 0), "unsigned": unsigned.get(agency_id, 0), "computed_at": stamp,
        }
        # Disabled agencies (the axis itself among them) get a row only when something happened.
        if active or any(row[f] for f in ("sent", "received", "delivered", "refused", "failed", "bytes_in",
                                           "storage_growth_bytes", "disposed")):
            rows.append(row)
    kept = [r["agency_id"] for r in rows]
    await session.execute(delete(MonthlyStat).where(MonthlyStat.month == month, MonthlyStat.agency_id.not_in(kept)))
    # Upsert, not delete-and-insert: two nodes recomputing the same month must not collide.
    await upsert(session, MonthlyStat, rows, keys=["agency_id", "month"],
                 update=[*FIGURES, "computed_at"])
    return len(rows)


def _row(code: str | None, month: str, stat: MonthlyStat | None) -> dict[str, Any]:
    row: dict[str, Any] = {"agency": code, "month": month}
    for name in FIGURES:
        value = getattr(stat, name) if stat is not None else None
        row[name] = value if value is not None or name in ("median_receipt_s", "p95_receipt_s") else 0
    return row


async def monthly_report(session: AsyncSession, month: str, *, agency_code: str | None = None) -> list[dict[str, Any]]:
    """One row per agency (or just ``agency_code``'s) for a ``YYYY-MM`` month, computing it if never computed."""
    parse_month(month)
    # A transaction we open ourselves is ours to commit: a month computed on demand is then kept
    # even when the caller only reads. Inside the caller's transaction, its commit keeps it.
    owned = not session.in_transaction()
    computed = (await session.execute(
        select(func.count()).select_from(MonthlyStat).where(MonthlyStat.month == month))).scalar_one()
    if not computed:
        await compute_month(session, month)
    query = (select(Agency.code, MonthlyStat).join(MonthlyStat, MonthlyStat.agency_id == Agency.id)
             .where(MonthlyStat.month == month).order_by(Agency.code))
    if agency_code is not None:
        query = query.where(Agency.code == agency_code)
    rows = [_row(code, month, stat) for code, stat in (await session.execute(query)).all()]
    if agency_code is not None and not rows:
        known = (await session.execute(select(Agency.id).where(Agency.code == agency_code))).scalar()
        if known is not None:
            rows = [_row(agency_code, month, None)]  # a disabled agency with nothing that month
    if owned:
        # Also ends the read: on SQLite every transaction holds the database write lock.
        await session.commit()
    return rows


async def computed_at(session: AsyncSession, month: str) -> datetime | None:
    """When the month's figures were last computed (None if never): documents since then are not in them yet."""
    stamp: datetime | None = (await session.execute(
        select(func.min(MonthlyStat.computed_at)).where(MonthlyStat.month == month))).scalar()
    return stamp


async def report_series(
    session: AsyncSession, agency_code: str | None, *, until: str, months: int = 12
) -> list[dict[str, Any]]:
    """``months`` monthly rows ending with ``until``, oldest first: one agency's, or totals of all agencies.

    Totals have ``agency`` None and no latency percentiles (they cannot be added up).
    """
    out: list[dict[str, Any]] = []
    for back in range(months - 1, -1, -1):
        month = shift_month(until, -back)
        rows = await monthly_report(session, month, agency_code=agency_code)
        if agency_code is not None:
            out.append(rows[0] if rows else _row(agency_code, month, None))
            continue
        total = _row(None, month, None)
        for row in rows:
            for name in FIGURES:
                if name not in ("median_receipt_s", "p95_receipt_s"):
                    total[name] += row[name]
        out.append(total)
    return out


async def refresh_recent(session: AsyncSession, *, now: datetime) -> list[str]:
    """Recompute the current and the previous month (Vietnam time); return them."""
    current = month_of(now)
    months = [shift_month(current, -1), current]
    for month in months:
        await compute_month(session, month, now=now)
    return months
