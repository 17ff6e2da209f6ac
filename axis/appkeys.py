"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from axis.context import AxisContext
from axis.exchange.arrivals import Arrivals
from axis.exchange.body_budget import BodyBudget
from axis.exchange.endpoint_gate import EndpointGate
from axis.gauges import GaugeRefresher
from axis.metrics import Metrics
from axis.settings import Settings


class NextRuns(dict[str, "datetime | None"]):
    """When this process's scheduler runs each job next (filled while the scheduler runs)."""

SETTINGS = web.AppKey("settings", Settings)
CONTEXT = web.AppKey("context", AxisContext)
METRICS = web.AppKey("metrics", Metrics)
#: Set when new push work is committed, so the delivery worker wakes at once.
PUSH_WAKEUP = web.AppKey("push_wakeup", asyncio.Event)
#: Inbox reads waiting (long-polling) in this process, woken when a message for their agency is accepted here.
INBOX_ARRIVALS = web.AppKey("inbox_arrivals", Arrivals)
#: This process's push shares and circuits per endpoint, shown on /admin.
PUSH_ENDPOINTS = web.AppKey("push_endpoints", EndpointGate)
#: Refreshes the /metrics gauges read from the database, at most every metrics_refresh_seconds.
GAUGES = web.AppKey("gauges", GaugeRefresher)
#: Every scheduled job's name and the seconds between its runs under these settings (the health page's list).
JOB_INTERVALS: web.AppKey[dict[str, float]] = web.AppKey("job_intervals", dict)
#: The scheduler's next run of each job, for the health page ("never run" alone says nothing of when).
NEXT_RUNS = web.AppKey("next_runs", NextRuns)
#: This process's ceiling on request bodies in flight (memory, spool files, uploads per agency).
BODY_BUDGET = web.AppKey("body_budget", BodyBudget)
