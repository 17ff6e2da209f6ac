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
from storage.db import reading
from storage.models import Delivery, DeliveryState

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


#: Every gauge read from the database.
SOURCES: tuple[GaugeSource, ...] = (delivery_states,)


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
