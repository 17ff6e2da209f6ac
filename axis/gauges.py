"""Gauges read from the database for /metrics, refreshed at most every ``metrics_refresh_seconds``.

Counters and histograms live in memory and cost nothing to scrape. A gauge whose value is in
the database (how many deliveries wait, …) is read by a *source* here, and the sources run
together at most once per interval, on the first scrape after it: scraping every second, or
from several Prometheus servers, costs the database one round per interval, not one per scrape.
A new gauge is a metric in ``axis.metrics.Metrics``, a source function here, and a line in ``SOURCES``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import func, select

from axis.context import AxisContext
from axis.metrics import Metrics
from storage.archive_models import AuditHead
from storage.db import reading
from storage.models import AuditEvent, AuditQueueEntry, Delivery, DeliveryState

log = logging.getLogger("axis.metrics")

#: Reads some gauges' current values and sets them on ``Metrics``.
GaugeSource = Callable[[AxisContext, Metrics], Awaitable[None]]

#: Delivery states the ``axis_deliveries`` gauge counts: the ones an operator watches. Delivered rows
#: grow without bound (counting them scans the table); ``axis_push_attempts_total`` counts those pushes.
WATCHED_STATES = (DeliveryState.QUEUED, DeliveryState.PUSHING, DeliveryState.RETRY_WAIT,
                  DeliveryState.RETRIEVED, DeliveryState.FAILED, DeliveryState.REFUSED)

# A range of ix_deliveries_due (state first) per watched state, not a scan of every delivery.
_DELIVERY_STATES = (
    select(Delivery.state, func.count())
    .where(Delivery.state.in_([s.value for s in WATCHED_STATES]))
    .group_by(Delivery.state)
)


async def delivery_states(ctx: AxisContext, metrics: Metrics) -> None:
    """``axis_deliveries{state}`` for the watched states (0 when none)."""
    async with reading(ctx.engine) as conn:
        counts = dict((await conn.execute(_DELIVERY_STATES)).tuples().all())
    for state in WATCHED_STATES:
        metrics.deliveries.labels(state.value).set(counts.get(state.value, 0))


# Each an index probe (primary keys), not a scan: the newest head, the newest and the first chained
# entry; the queue holds well under a second of entries while the sealer runs.
_NEWEST_HEAD = select(AuditHead.event_id, AuditHead.signed_at).order_by(AuditHead.id.desc()).limit(1)
_NEWEST_ENTRY = select(func.max(AuditEvent.id))
_FIRST_ENTRY_AT = select(AuditEvent.at).order_by(AuditEvent.id).limit(1)
_QUEUED = select(func.count()).select_from(AuditQueueEntry)


async def audit_head(ctx: AxisContext, metrics: Metrics) -> None:
    """``axis_audit_head_age_seconds`` and ``axis_audit_entries_unsigned`` from the heads and the chain."""
    async with reading(ctx.engine) as conn:
        head = (await conn.execute(_NEWEST_HEAD)).first()
        newest = (await conn.execute(_NEWEST_ENTRY)).scalar() or 0
        queued = int((await conn.execute(_QUEUED)).scalar() or 0)
        since = head.signed_at if head is not None else (await conn.execute(_FIRST_ENTRY_AT)).scalar()
    # Entry ids are handed out one after another by the sealer, so the difference counts the entries.
    unsigned = newest - (head.event_id if head is not None else 0) + queued
    metrics.audit_unsigned.set(max(0, unsigned))
    metrics.audit_head_age.set(max(0.0, (ctx.clock() - since).total_seconds()) if since is not None else 0.0)


#: Every gauge read from the database.
SOURCES: tuple[GaugeSource, ...] = (delivery_states, audit_head)


class GaugeRefresher:
    """Runs the gauge sources at most once per interval (the first scrape after it waits for them)."""

    def __init__(self, ctx: AxisContext, metrics: Metrics, interval: float,
                 sources: Sequence[GaugeSource] = SOURCES, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.metrics = metrics
        self.interval = interval
        self.sources = tuple(sources)
        self.clock = clock
        self.refreshed_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh_if_due(self) -> bool:
        """Run the sources unless they ran less than ``interval`` seconds ago; True when they ran."""
        async with self._lock:  # concurrent scrapes wait for one refresh instead of each running one
            now = self.clock()
            if self.refreshed_at is not None and now - self.refreshed_at < self.interval:
                return False
            # Stamped first: a failing source (database down) is retried after the interval, not per scrape.
            self.refreshed_at = now
            for source in self.sources:
                try:
                    await source(self.ctx, self.metrics)
                except Exception:  # noqa: BLE001 - a scrape still serves the counters and the last values
                    log.warning("gauge source %s failed", getattr(source, "__name__", source), exc_info=True)
            return True
