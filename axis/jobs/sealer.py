"""The sealer task: every axis process chains queued audit entries and numbers registers, often."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from axis.appkeys import CONTEXT
from axis.archive.sealing import seal_now
from axis.context import AxisContext

log = logging.getLogger("axis.jobs.sealer")


async def run_sealer(ctx: AxisContext) -> None:
    """Seal what waits, then sleep; never dies on a database hiccup."""
    interval = ctx.settings.seal_interval_seconds
    while True:
        try:
            # Without waiting: when another process holds the lock it is sealing for us.
            await seal_now(ctx.sessions, wait=False)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - retried next round; the queue keeps everything
            log.exception("sealing failed; retrying in %.1f s", interval)
        await asyncio.sleep(interval)


async def sealer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the sealer for the application's lifetime, and once more on the way out."""
    ctx = app[CONTEXT]
    task = asyncio.create_task(run_sealer(ctx), name="sealer")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    with contextlib.suppress(Exception):
        await seal_now(ctx.sessions)
