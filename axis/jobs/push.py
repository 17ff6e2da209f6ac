"""The push worker's lifetime and its HTTP client: one pooled aiohttp session per process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from axis.appkeys import CONTEXT, METRICS, PUSH_WAKEUP
from axis.exchange.delivery import PushAnswer, PushTransport, PushWorker
from storage.payload_backends import PayloadBody


def http_transport(http: aiohttp.ClientSession) -> PushTransport:
    """A push transport over ``http``."""

    async def post(url: str, body: PayloadBody, headers: dict[str, str], *, timeout: float,
                   max_answer: int) -> PushAnswer:
        async with http.post(url, data=body, headers=headers,
                             timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return PushAnswer(resp.status, await resp.content.read(max_answer))

    return post


async def delivery_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the push worker for the application's lifetime."""
    async with aiohttp.ClientSession() as http:
        worker = PushWorker(app[CONTEXT], app[METRICS], app[PUSH_WAKEUP], http_transport(http))
        task = asyncio.create_task(worker.run(), name="push-worker")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
