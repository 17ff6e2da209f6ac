"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

import asyncio

from aiohttp import web

from axis.context import AxisContext
from axis.exchange.endpoint_gate import EndpointGate
from axis.gauges import GaugeRefresher
from axis.metrics import Metrics
from axis.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CONTEXT = web.AppKey("context", AxisContext)
METRICS = web.AppKey("metrics", Metrics)
#: Set when new push work is committed, so the delivery worker wakes at once.
PUSH_WAKEUP = web.AppKey("push_wakeup", asyncio.Event)
#: This process's push shares and circuits per endpoint, shown on /admin.
PUSH_ENDPOINTS = web.AppKey("push_endpoints", EndpointGate)
#: Refreshes the /metrics gauges read from the database, at most every metrics_refresh_seconds.
GAUGES = web.AppKey("gauges", GaugeRefresher)
