"""The push worker's lifetime and its HTTP client: one pooled aiohttp session per process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import aiohttp
from aiohttp import web

from axis.appkeys import CONTEXT, METRICS, PUSH_ENDPOINTS, PUSH_WAKEUP
from axis.exchange import push_errors
from axis.exchange.delivery import PushAnswer, PushTransport, PushWorker
from axis.exchange.push_addresses import AddressPolicy
from axis.exchange.push_errors import PushFailure
from axis.jobs.push_connector import checked_connector, refused_address
from storage.payloads.backends import PayloadBody

#: Bytes read from an answer at a time.
_CHUNK = 64 * 1024
#: Seconds an attempt past its deadline is still given before it is cancelled: enough for the event loop to
#: read what already sits in the socket buffers (a process resumed after a pause finds its timers all due at
#: once, and the answer that arrived meanwhile must count, not the timeout).
ANSWER_GRACE_SECONDS = 1.0

T = TypeVar("T")


async def finish_within(work: Awaitable[T], seconds: float, grace: float = ANSWER_GRACE_SECONDS) -> T:
    """``work``'s result, or ``TimeoutError`` once ``seconds`` and then ``grace`` have passed without one.

    The deadline is measured on the monotonic clock and checked by waiting, not by cancelling: when it
    passes, ``work`` is given ``grace`` more to finish with what has already arrived, and only then cancelled.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait([task], timeout=seconds)
        if not done:
            done, _ = await asyncio.wait([task], timeout=grace)
        if not done:
            raise TimeoutError(f"no complete answer in {seconds:g} s")
        return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _read_capped(resp: aiohttp.ClientResponse, url: str, max_answer: int) -> bytes:
    """The answer's body, or ``PushFailure`` as soon as it is longer than ``max_answer`` (never held whole)."""
    too_large = PushFailure(push_errors.ANSWER_TOO_LARGE, f"answer from {url} is longer than {max_answer} bytes")
    if resp.content_length is not None and resp.content_length > max_answer:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_answer:
            raise too_large  # leaving the request closes the connection: the rest is never read
        parts.append(chunk)
    return b"".join(parts)


def http_transport(http: aiohttp.ClientSession) -> PushTransport:
    """A push transport over ``http``: no redirects followed, answers capped, failures as ``PushFailure``."""

    async def post(url: str, body: PayloadBody, headers: dict[str, str], *, timeout: float,
                   max_answer: int, connect_timeout: float | None = None,
                   first_byte_timeout: float | None = None) -> PushAnswer:
        # Every deadline here is ours, checked by waiting (``finish_within``), none is an aiohttp timer: a process
        # resumed after a pause (SIGSTOP, a VM freeze) sees its poll interrupted with no events and runs its due
        # timers before reading its sockets, so aiohttp's sock_read and total timers would fail a POST whose
        # answer is already in the socket buffer, and the document would be sent again. The first byte (the
        # answer's head) must come within ``first_byte_timeout``: a silent endpoint fails in seconds; ``timeout``
        # bounds the whole attempt, one that trickles too.
        limits = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=None)

        async def exchange() -> PushAnswer:
            sending = http.post(url, data=body, headers=headers, allow_redirects=False, timeout=limits)
            resp = await finish_within(sending, first_byte_timeout if first_byte_timeout is not None else timeout)
            async with resp:
                if 300 <= resp.status < 400:
                    return PushAnswer(resp.status, b"", resp.headers.get("Location"))
                return PushAnswer(resp.status, await _read_capped(resp, url, max_answer))

        try:
            return await finish_within(exchange(), timeout)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            refused = refused_address(exc)
            if refused is not None:
                raise PushFailure(push_errors.ADDRESS_REFUSED, f"{refused} ({url})") from None
            raise PushFailure(push_errors.UNREACHABLE, f"{type(exc).__name__}: {exc} ({url})") from None

    return post


def push_client(policy: AddressPolicy) -> aiohttp.ClientSession:
    """The push worker's HTTP client: connections to each endpoint kept alive and reused between pushes.

    No proxy from the environment and no cookies kept between recipients; only addresses ``policy`` lets
    through (checked for every new connection, by the connector). How many connections one endpoint may
    have open is bounded by its share of the push slots (``EndpointGate``), not by the connector.
    """
    return aiohttp.ClientSession(connector=checked_connector(policy), trust_env=False,
                                 cookie_jar=aiohttp.DummyCookieJar())


async def delivery_worker_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the push worker for the application's lifetime."""
    # Only addresses the operator's push_allowed_networks lets through when a host is not public
    # (axis.exchange.push_addresses).
    async with push_client(AddressPolicy.of(app[CONTEXT].settings.push_allowed_networks)) as http:
        worker = PushWorker(app[CONTEXT], app[METRICS], app[PUSH_WAKEUP], http_transport(http),
                            gate=app[PUSH_ENDPOINTS])
        task = asyncio.create_task(worker.run(), name="push-worker")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
