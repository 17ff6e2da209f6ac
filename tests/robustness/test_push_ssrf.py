"""Hostile push endpoints: redirects into the axis's network, plain http, endless answers, leaked hosts.

Real HTTP on loopback: the axis pushes to listeners started here. An agency's endpoint is run by
that agency, so whatever it answers must not make the axis POST a document somewhere else, read
without bound, or tell the sender about hosts inside the recipient's (or the axis's) network.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from axis.exchange import push_errors
from axis.exchange.push_errors import PushFailure, public_error
from axis.exchange.redelivery import troubled_deliveries
from axis.jobs.push import http_transport
from envelope.parser import parse_status
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Delivery, DeliveryState
from storage.registry.agencies import InvalidEndpoint, check_endpoint_url, register_agency
from tests.databases import DatabaseTemplate
from tests.harness import Agent, Harness, server_settings, start_server
from tests.web.conftest import Browser, start_world

A, C = "000.00.00.G22", "000.00.00.H41"
MiB = 1024 * 1024


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll until ``predicate`` holds (no timing is asserted, only that it happens)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Listener:
    """A loopback HTTP server answering every request with ``answer``; counts what it got."""

    def __init__(self, answer: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        self.answer = answer
        self.hits: collections.Counter[str] = collections.Counter()
        self.server: TestServer | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        await request.read()
        return await self.answer(request)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


@pytest.fixture
async def listeners() -> AsyncIterator[Callable[..., Awaitable[tuple[Listener, str]]]]:
    """Start listeners on loopback; all closed at the end."""
    started: list[Listener] = []

    async def start(answer: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> tuple[Listener, str]:
        listener = Listener(answer)
        started.append(listener)
        return listener, await listener.start()

    yield start
    for listener in started:
        await listener.close()


@pytest.fixture
async def strict_axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                      identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis that gives a delivery up after its first failed attempt (so the sender gets a 02 at once)."""
    async with db_template.clone(tmp_path) as url:
        harness, server = await start_server(server_settings(tmp_path / "home", url, delivery_deadline_seconds=0.0),
                                             test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


async def _delivery(axis: Harness, message_id: str) -> Delivery:
    async with axis.ctx.sessions() as session:
        return (await session.execute(select(Delivery).where(Delivery.message_id == message_id))).scalar_one()


async def _send_and_wait_for_failure(axis: Harness, a: Agent, c: Agent, *, failed: bool) -> Delivery:
    _, signed = a.document([c], subject="Văn bản gửi tới một địa chỉ nhận không đáng tin")
    async with a.client() as client:
        mid = (await client.submit(signed))["id"]

    async def attempted() -> bool:
        d = await _delivery(axis, mid)
        if failed:
            return d.state == DeliveryState.FAILED.value
        return d.attempts >= 1 and d.last_error is not None

    await wait_for(attempted, what="a failed push attempt")
    return await _delivery(axis, mid)


async def _sender_view(a: Agent, message_id: str) -> tuple[str, list[bytes]]:
    """The sender's trace (as JSON text) and every status in its inbox (the axis's 02 among them)."""
    async with a.client() as client:
        trace = await client.trace(message_id)
        items = (await client.inbox(kind="status"))["items"]
        statuses = [await client.fetch(item["id"]) for item in items]
    return json.dumps(trace, ensure_ascii=False), statuses


async def test_redirect_to_an_internal_listener_is_not_followed_and_its_host_stays_hidden_from_the_sender(
        strict_axis: Harness, listeners: Any) -> None:
    internal, internal_url = await listeners(lambda r: _text(200, "metadata: secret-role-credentials"))
    target = f"{internal_url}/latest/meta-data/iam"
    hostile, hostile_url = await listeners(
        lambda r: asyncio.sleep(0, web.Response(status=307, headers={"Location": target})))
    a = await strict_axis.register(A)
    c = await strict_axis.register(C, endpoint=f"{hostile_url}/edxml")

    d = await _send_and_wait_for_failure(strict_axis, a, c, failed=True)

    assert sum(hostile.hits.values()) == 1
    assert sum(internal.hits.values()) == 0, "the axis followed the redirect"
    # The operator sees what happened, with the hosts (the /admin list reads this row).
    assert d.last_error is not None and d.last_error.startswith(push_errors.REDIRECTED)
    assert "307" in d.last_error and target in d.last_error
    async with strict_axis.ctx.sessions() as session:
        admin = await troubled_deliveries(session, strict_axis.ctx.clock(), timedelta(minutes=60))
    assert any(t.delivery_id == d.id and target in (t.last_error or "") for t in admin)
    # The sender sees fixed words: in the trace, and in the axis's signed status 02.
    trace, statuses = await _sender_view(a, d.message_id)
    assert json.loads(trace)["recipients"][0]["last_error"] == push_errors.REDIRECTED
    notices = [parse_status(raw) for raw in statuses]
    assert any(n.status_code == "02" and push_errors.REDIRECTED in n.description for n in notices)
    for shown in (trace, *(raw.decode() for raw in statuses)):
        assert "127.0.0.1" not in shown and internal_url not in shown and hostile_url not in shown


async def test_unreachable_endpoint_names_no_host_to_the_sender(axis: Harness) -> None:
    a = await axis.register(A)
    c = await axis.register(C, endpoint="http://127.0.0.1:9/edxml")  # nobody listens on the discard port
    d = await _send_and_wait_for_failure(axis, a, c, failed=False)
    assert d.last_error is not None and d.last_error.startswith(push_errors.UNREACHABLE)
    assert "127.0.0.1:9" in d.last_error  # the operator's detail
    trace, _ = await _sender_view(a, d.message_id)
    assert json.loads(trace)["recipients"][0]["last_error"] == push_errors.UNREACHABLE
    assert "127.0.0.1" not in trace


async def _stream(request: web.Request, total: int, *, declared: bool) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/xml"})
    if declared:
        response.content_length = total
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    chunk = b"<" * (64 * 1024)
    sent = 0
    try:
        while sent < total:
            await response.write(chunk)
            sent += len(chunk)
    except (ConnectionError, RuntimeError):
        pass  # the axis hung up: exactly what it should do
    return response


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content_length"])
async def test_a_5_mib_answer_is_a_failed_attempt(axis: Harness, listeners: Any, declared: bool) -> None:
    _, url = await listeners(lambda r: _stream(r, 5 * MiB, declared=declared))
    a = await axis.register(A)
    c = await axis.register(C, endpoint=f"{url}/edxml")
    d = await _send_and_wait_for_failure(axis, a, c, failed=False)
    assert d.state != DeliveryState.DELIVERED.value
    assert d.last_error is not None and d.last_error.startswith(push_errors.ANSWER_TOO_LARGE), d.last_error
    assert public_error(d.last_error) == push_errors.ANSWER_TOO_LARGE


async def test_the_transport_stops_reading_an_endless_answer_at_the_cap(listeners: Any) -> None:
    _, url = await listeners(lambda r: _stream(r, 64 * MiB, declared=False))
    async with aiohttp.ClientSession() as http:
        post = http_transport(http)
        tracemalloc.start()
        try:
            with pytest.raises(PushFailure) as refused:
                await post(url + "/edxml", b"<doc/>", {}, timeout=30, max_answer=MiB)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert refused.value.public == push_errors.ANSWER_TOO_LARGE
    # Held: at most the 1 MiB cap and a chunk, never the 64 MiB (both ends run in this process).
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while reading a capped answer"


def test_endpoint_urls_must_be_https_unless_http_is_allowed() -> None:
    assert check_endpoint_url("https://dms.nghean.gov.vn/edxml", allow_http=False)
    assert check_endpoint_url("http://127.0.0.1:8000/edxml", allow_http=True)
    for bad in ("http://dms.nghean.gov.vn/edxml", "ftp://dms.nghean.gov.vn/edxml", "file:///etc/passwd",
                "gopher://127.0.0.1:6379/_FLUSHALL", "https://", "dms.nghean.gov.vn/edxml",
                "https://user:secret@dms.nghean.gov.vn/edxml", "https://dms.nghean.gov.vn:port/edxml",
                "https://dms.nghean.gov.vn/ed xml"):
        with pytest.raises(InvalidEndpoint):
            check_endpoint_url(bad, allow_http=False)
    for bad in ("ftp://dms.nghean.gov.vn/edxml", "javascript:alert(1)"):
        with pytest.raises(InvalidEndpoint):
            check_endpoint_url(bad, allow_http=True)


async def test_registering_an_http_endpoint_is_refused_when_http_is_not_allowed(session: Any) -> None:
    with pytest.raises(InvalidEndpoint, match="https://"):
        await register_agency(session, C, "UBND tỉnh Nghệ An", endpoint_url="http://dms.nghean.gov.vn/edxml")
    reg = await register_agency(session, C, "UBND tỉnh Nghệ An", endpoint_url="https://dms.nghean.gov.vn/edxml")
    assert reg.agency.endpoint_url == "https://dms.nghean.gov.vn/edxml"


async def test_cli_refuses_an_http_endpoint_with_a_clear_error(tmp_path: Path, db_template: DatabaseTemplate) -> None:
    async with db_template.clone(tmp_path) as url:
        env = {**os.environ, "AXIS_HOME": str(tmp_path / "home"), "AXIS_DATABASE_URL": url}
        env.pop("AXIS_PUSH_ALLOW_HTTP", None)
        axis = Path(sys.executable).with_name("axis")
        proc = await asyncio.to_thread(
            subprocess.run, [str(axis), "agency", "add", C, "--name", "UBND tỉnh Nghệ An",
                             "--endpoint", "http://dms.nghean.gov.vn/edxml"],
            env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode != 0
    assert "https://" in proc.stderr and "push_allow_http" in proc.stderr, proc.stderr
    assert "token" not in proc.stdout


async def test_web_registration_refuses_an_http_endpoint(tmp_path: Path, db_template: DatabaseTemplate,
                                                       test_ca: DevelopmentCA,
                                                       identities: dict[str, IssuedIdentity]) -> None:
    async for world in start_world(tmp_path, db_template, test_ca, identities, push_allow_http=False):
        await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
        operator = Browser(world.url)
        try:
            assert (await operator.login("vanhanh"))[0] == 303
            token = await operator.csrf("/admin/agencies")
            status, html, _ = await operator.post("/admin/agencies", {
                "csrf_token": token, "code": "000.00.00.G14", "name": "Bộ Tài chính",
                "endpoint": "http://dms.mof.gov.vn/edxml", "certificate": "",
            })
            assert status == 400 and "https://" in html
            _, listing, _ = await operator.get("/admin/agencies")
            assert "000.00.00.G14" not in listing
        finally:
            await operator.close()


async def test_stored_http_endpoint_is_not_pushed_to_when_http_is_not_allowed(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity], listeners: Any) -> None:
    receiver, url = await listeners(lambda r: _text(503, "should never be called"))
    async with db_template.clone(tmp_path) as db_url:
        harness, server = await start_server(server_settings(tmp_path / "home", db_url, push_allow_http=False),
                                             test_ca, identities)
        try:
            a = await harness.register(A)
            # Registered while http was allowed (the harness allows it); the axis now refuses to use it.
            c = await harness.register(C, endpoint=f"{url}/edxml")
            d = await _send_and_wait_for_failure(harness, a, c, failed=False)
        finally:
            await server.close()
    assert sum(receiver.hits.values()) == 0
    assert d.last_error is not None and d.last_error.startswith(push_errors.NOT_ALLOWED), d.last_error
    assert public_error(d.last_error) == push_errors.NOT_ALLOWED


def test_public_error_shows_only_fixed_words() -> None:
    assert public_error(None) is None
    assert public_error(PushFailure(push_errors.UNREACHABLE, "ClientConnectorError: 10.1.2.3:443").stored) \
        == push_errors.UNREACHABLE
    assert public_error(push_errors.answered(503, "from https://10.1.2.3/x").stored) \
        == "recipient endpoint answered HTTP 503"
    # Anything else (an older row, an axis-side failure) is shown as the generic words, not as itself.
    for other in ("ClientConnectorError: Cannot connect to host 10.1.2.3:443", "HTTP 503",
                  "recipient endpoint unreachable because of 10.1.2.3", ""):
        assert public_error(other) == push_errors.GENERIC


async def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
