"""Push endpoints whose names lead into the axis's own network: refused unless the operator lists them.

An agency picks its endpoint's host name and so what it resolves to. Real HTTP on loopback: the
listeners here play the "internal" services (127.0.0.1 stands for any address inside the axis's
network); a scripted resolver plays an agency's DNS, including one that answers differently each
time it is asked (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from axis.exchange import push_errors
from axis.exchange.push_addresses import AddressPolicy, AddressRefused
from axis.exchange.push_errors import PushFailure, public_error
from axis.exchange.redelivery import troubled_deliveries
from axis.jobs.push import http_transport
from axis.jobs.push_connector import CheckedResolver, checked_connector
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Delivery, DeliveryAttempt
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, C = "000.00.00.G22", "000.00.00.H41"
HOST = "dms.agency.test"


class ScriptedResolver(AbstractResolver):
    """An agency's DNS: each lookup of any name answers the next list of addresses (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.lookups.append(host)
        addresses = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return [ResolveResult(hostname=host, host=a, port=port,
                              family=socket.AF_INET6 if ":" in a else socket.AF_INET, proto=0, flags=0)
                for a in addresses]

    async def close(self) -> None:
        pass


class Listener:
    """A loopback HTTP server answering 200 to everything; counts requests."""

    def __init__(self, host: str, port: int | None = None) -> None:
        self.host, self.port = host, port
        self.hits = 0
        self.server: TestServer | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        await request.read()
        # Each push opens a new connection, so each one goes through the resolver again.
        return web.Response(text="ok", headers={"Connection": "close"})

    async def start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host=self.host, port=self.port)
        await self.server.start_server()
        assert self.server.port is not None
        self.port = self.server.port
        return self.port

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


@pytest.fixture
async def listen() -> AsyncIterator[Callable[..., Awaitable[Listener]]]:
    """Start loopback listeners; all closed at the end."""
    started: list[Listener] = []

    async def start(host: str = "127.0.0.1", port: int | None = None) -> Listener:
        listener = Listener(host, port)
        await listener.start()
        started.append(listener)
        return listener

    yield start
    for listener in started:
        await listener.close()


async def _post(url: str, policy: AddressPolicy, resolver: AbstractResolver | None = None) -> int:
    """POST through the push worker's transport and connector; the HTTP status, or ``PushFailure``."""
    async with aiohttp.ClientSession(connector=checked_connector(policy, resolver=resolver)) as http:
        answer = await http_transport(http)(url, b"<edXMLEnvelope/>", {}, timeout=10, max_answer=1024,
                                            connect_timeout=2)
    return answer.status


def test_non_public_addresses_are_refused_and_listed_ones_allowed() -> None:
    default = AddressPolicy.of([])
    refused = {
        "127.0.0.1": "loopback", "127.8.9.10": "loopback", "::1": "loopback",
        "10.1.2.3": "private", "172.16.0.1": "private", "192.168.1.1": "private",
        "169.254.169.254": "link-local", "fe80::1%eth0": "link-local",
        "fc00::7": "unique-local", "fd12:3456::1": "unique-local", "fec0::1": "site-local",
        "0.0.0.0": "unspecified", "::": "unspecified", "224.0.0.1": "multicast", "ff02::1": "multicast",
        "100.64.0.1": "shared (carrier-grade NAT)", "240.0.0.1": "private", "255.255.255.255": "private",
        # IPv6 spellings of internal IPv4 addresses: mapped, NAT64, 6to4.
        "::ffff:127.0.0.1": "loopback, as 127.0.0.1", "64:ff9b::a00:1": "private, as 10.0.0.1",
        "2002:a00:1::1": "private, as 10.0.0.1",
    }
    for address, why in refused.items():
        assert default.refusal(address) == why, address
    for public in ("8.8.8.8", "203.162.4.190", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"):
        assert default.refusal(public) is None, public

    listed = AddressPolicy.of(["10.20.0.0/16", "169.254.169.254", "fc00::/7", "::1"])
    for address in ("10.20.3.4", "169.254.169.254", "fc00::7", "::1", "::ffff:10.20.0.1"):
        assert listed.refusal(address) is None, address
    # Only what is listed: the rest of 10/8, other link-local addresses and IPv4 loopback stay refused.
    for address in ("10.21.0.1", "169.254.0.1", "127.0.0.1"):
        assert listed.refusal(address) is not None, address
    # An IPv4 range never matches an IPv6 address by its low bits.
    assert AddressPolicy.of(["0.0.0.0/0"]).refusal("::1") == "loopback"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "fc00::7"])
async def test_a_name_resolving_to_an_internal_address_is_refused_by_default_and_allowed_when_listed(
        address: str) -> None:
    resolver = ScriptedResolver([address])
    with pytest.raises(PushFailure) as refused:
        await _post(f"https://{HOST}/edxml", AddressPolicy.of([]), resolver)
    assert refused.value.public == push_errors.ADDRESS_REFUSED
    assert HOST in refused.value.detail and address in refused.value.detail
    assert public_error(refused.value.stored) == push_errors.ADDRESS_REFUSED
    assert resolver.lookups == [HOST]

    # Listed by the operator: the connector is handed exactly that address.
    listed = CheckedResolver(AddressPolicy.of([address]), ScriptedResolver([address]))
    assert [r["host"] for r in await listed.resolve(HOST, 443, socket.AF_UNSPEC)] == [address]


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_a_listed_loopback_address_is_really_pushed_to_and_an_unlisted_one_never_is(
        listen: Any, address: str) -> None:
    receiver = await listen(address)
    url = f"http://{HOST}:{receiver.port}/edxml"
    with pytest.raises(PushFailure) as refused:
        await _post(url, AddressPolicy.of([]), ScriptedResolver([address]))
    assert refused.value.public == push_errors.ADDRESS_REFUSED
    assert receiver.hits == 0

    assert await _post(url, AddressPolicy.of([address]), ScriptedResolver([address])) == 200
    assert receiver.hits == 1


async def test_an_ip_literal_url_is_checked_although_no_resolver_is_asked(listen: Any) -> None:
    receiver = await listen("127.0.0.1")
    url = f"http://127.0.0.1:{receiver.port}/edxml"
    resolver = ScriptedResolver(["203.0.113.9"])
    with pytest.raises(PushFailure) as refused:
        await _post(url, AddressPolicy.of([]), resolver)
    assert refused.value.public == push_errors.ADDRESS_REFUSED and "loopback" in refused.value.detail
    assert receiver.hits == 0 and resolver.lookups == []
    assert await _post(url, AddressPolicy.of(["127.0.0.0/8"]), resolver) == 200
    assert receiver.hits == 1


async def test_mixed_answers_connect_only_to_the_allowed_addresses(listen: Any) -> None:
    allowed = await listen("127.0.0.2")
    port = allowed.port
    internal = await listen("127.0.0.1", port)
    # The internal address comes first: a client trying addresses in order would reach it.
    resolver = ScriptedResolver(["127.0.0.1", "127.0.0.2"])
    for _ in range(3):
        assert await _post(f"http://{HOST}:{port}/edxml", AddressPolicy.of(["127.0.0.2"]), resolver) == 200
    assert (allowed.hits, internal.hits) == (3, 0)


async def test_dns_rebinding_never_reaches_the_address_that_was_not_checked(listen: Any) -> None:
    checked = await listen("127.0.0.2")
    port = checked.port
    internal = await listen("127.0.0.1", port)
    # The first lookup answers an allowed address, every later one the internal address.
    resolver = ScriptedResolver(["127.0.0.2"], ["127.0.0.1"])
    policy = AddressPolicy.of(["127.0.0.2"])
    url = f"http://{HOST}:{port}/edxml"
    async with aiohttp.ClientSession(connector=checked_connector(policy, resolver=resolver)) as http:
        post = http_transport(http)
        first = await post(url, b"<edXMLEnvelope/>", {}, timeout=10, max_answer=1024)
        # One lookup for the check and the connection together: there is no second look-up to rebind.
        assert (first.status, resolver.lookups, checked.hits) == (200, [HOST], 1)
        assert isinstance(http.connector, aiohttp.TCPConnector)
        http.connector.clear_dns_cache()
        with pytest.raises(PushFailure) as refused:
            await post(url, b"<edXMLEnvelope/>", {}, timeout=10, max_answer=1024)
    assert refused.value.public == push_errors.ADDRESS_REFUSED and "127.0.0.1 (loopback)" in refused.value.detail
    assert resolver.lookups == [HOST, HOST]
    assert internal.hits == 0


def test_the_refusal_is_an_os_error_so_the_client_treats_it_as_a_failed_connection() -> None:
    error = AddressRefused(HOST, [("10.0.0.7", "private")])
    assert isinstance(error, OSError)
    assert str(error) == (f"{HOST} resolves to 10.0.0.7 (private); only addresses in push_allowed_networks "
                          f"may be non-public")


async def _wait_for_failed_attempt(axis: Harness, message_id: str) -> Delivery:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        async with axis.ctx.sessions() as session:
            d = (await session.execute(select(Delivery).where(Delivery.message_id == message_id))).scalar_one()
        if d.last_error is not None:
            return d
        assert loop.time() < deadline, "no failed attempt"
        await asyncio.sleep(0.05)


async def test_the_axis_refuses_to_push_to_localhost_by_default_and_the_operator_sees_why(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity], listen: Any) -> None:
    receiver = await listen("127.0.0.1")
    async with db_template.clone(tmp_path) as url:
        # The production default (nothing non-public listed); the first failed attempt gives the delivery up.
        settings = server_settings(tmp_path / "home", url, push_allowed_networks=(), delivery_deadline_seconds=0.0)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            a = await harness.register(A)
            # "localhost" goes through the system's resolver like any agency's host name would.
            c = await harness.register(C, endpoint=f"http://localhost:{receiver.port}/edxml")
            _, signed = a.document([c], subject="Văn bản gửi tới một địa chỉ trong mạng nội bộ")
            async with a.client() as client:
                mid = (await client.submit(signed))["id"]
            d = await _wait_for_failed_attempt(harness, mid)
            async with harness.ctx.sessions() as session:
                attempts = (await session.execute(
                    select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id))).scalars().all()
                admin = await troubled_deliveries(session, harness.ctx.clock(), timedelta(minutes=60))
            async with a.client() as client:
                trace = json.dumps(await client.trace(mid), ensure_ascii=False)
        finally:
            await server.close()
    assert receiver.hits == 0
    assert d.last_error is not None and d.last_error.startswith(push_errors.ADDRESS_REFUSED), d.last_error
    assert "localhost resolves to 127.0.0.1 (loopback)" in d.last_error
    assert attempts and attempts[0].error is not None and attempts[0].error.startswith(push_errors.ADDRESS_REFUSED)
    # The operator's list (/admin) carries the detail; the sender sees the fixed words only.
    assert any(t.delivery_id == d.id and "127.0.0.1 (loopback)" in (t.last_error or "") for t in admin)
    assert json.loads(trace)["recipients"][0]["last_error"] == push_errors.ADDRESS_REFUSED
    assert "127.0.0.1" not in trace and "localhost" not in trace


async def test_the_axis_pushes_to_a_listed_network(tmp_path: Path, db_template: DatabaseTemplate,
                                                   test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
                                                   listen: Any) -> None:
    receiver = await listen("127.0.0.1")
    async with db_template.clone(tmp_path) as url:
        harness, server = await start_server(
            server_settings(tmp_path / "home", url, push_allowed_networks=("127.0.0.0/8",)), test_ca, identities)
        try:
            a = await harness.register(A)
            c = await harness.register(C, endpoint=f"http://localhost:{receiver.port}/edxml")
            _, signed = a.document([c], subject="Văn bản gửi tới mạng được phép")
            async with a.client() as client:
                mid = (await client.submit(signed))["id"]
            d = await _wait_for_failed_attempt(harness, mid)
        finally:
            await server.close()
    # Reached: the listener's "ok" is not a signed 01, which is the only reason the attempt failed.
    assert receiver.hits >= 1
    assert d.last_error is not None and d.last_error.startswith(push_errors.BAD_RECEIPT), d.last_error
