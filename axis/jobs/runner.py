"""A periodic job and one run of it: each run takes a database lease, so one node runs it at a time."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from axis.context import AxisContext
from axis.settings import Settings
from storage.jobs import finish_run, release_lease, start_run, try_lease

log = logging.getLogger("axis.jobs")

JobFunc = Callable[[AxisContext], Awaitable[str]]


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: its name, how often, and what it does (returns a one-line summary)."""

    name: str
    interval_seconds: float
    run: JobFunc
    description: str = ""
    #: A Settings attribute that overrides ``interval_seconds`` (so operators configure it).
    interval_setting: str = ""

    def interval_for(self, settings: Settings) -> float:
        """Seconds between runs under these settings."""
        if self.interval_setting:
            return float(getattr(settings, self.interval_setting))
        return self.interval_seconds


def node_name() -> str:
    """This process, as it appears in job runs and leases."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_job(ctx: AxisContext, spec: JobSpec, *, node: str | None = None) -> str | None:
    """Run a job once if this node gets its lease; return its summary, or None when skipped."""
    node = node or node_name()
    now = ctx.clock()
    # The lease outlives any sane run; a node that dies mid-run frees it when it lapses.
    ttl = timedelta(seconds=max(300.0, spec.interval_for(ctx.settings) * 2))
    if not await try_lease(ctx.sessions, spec.name, node, now, ttl):
        return None
    run_id = await start_run(ctx.sessions, spec.name, node, now)
    try:
        summary = await spec.run(ctx)
    except Exception as exc:
        log.exception("job %s failed", spec.name)
        await finish_run(ctx.sessions, run_id, "error", f"{type(exc).__name__}: {exc}", ctx.clock())
        raise
    finally:
        await release_lease(ctx.sessions, spec.name, node)
    await finish_run(ctx.sessions, run_id, "ok", summary, ctx.clock())
    return summary
