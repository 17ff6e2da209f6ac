"""The sealer task: every axis process chains queued audit entries and numbers registers, often."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from axis.appkeys import CONTEXT, METRICS
from axis.archive.sealing import seal_now
from axis.context import AxisContext
from axis.faults import FaultStreak
from axis.metrics import Metrics

log = logging.getLogger("axis.jobs.sealer")


async def run_sealer(ctx: AxisContext, metrics: Metrics | None = None) -> None:
    """Seal what waits, then sleep; never dies on a database hiccup (told once per outage, not per round)."""
    interval = ctx.settings.seal_interval_seconds
    streak = FaultStreak(log, "sealing", metrics)
    while True:
        try:
            # Without waiting: when another process holds the lock it is sealing for us.
            await seal_now(ctx.sessions, wait=False)
            streak.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - retried next round; the queue keeps everything
            streak.failed(exc)
        await asyncio.sleep(interval)


async def sealer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the sealer for the application's lifetime, and once more on the way out."""
    ctx = app[CONTEXT]
    task = asyncio.create_task(run_sealer(ctx, app[METRICS]), name="sealer")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with contextlib.suppress(Exception):
        await seal_now(ctx.sessions)
