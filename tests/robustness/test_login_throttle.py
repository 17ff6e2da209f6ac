"""Hostile sign-ins over HTTP: parallel guessing, floods behind the load balancer, forged X-Forwarded-For.

The server's clock is frozen for each test, so every wait the throttle imposes lasts the whole
test: what gets through is exactly what the schedules allow at one instant, however the
requests interleave.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import axis.web.account
import storage.people.accounts
from axis.web.client_address import client_address, trusted_networks
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import LoginThrottle
from storage.people.throttle import ACCOUNT, ADDRESS, PAIR, UNKNOWN
from tests.archive.conftest import TestClock
from tests.databases import DatabaseTemplate
from tests.web.conftest import PASSWORD, Browser, World, start_world

WRONG = "khong-phai-mat-khau"
PROXY = "127.0.0.1"  # the test server's peer for every request: it plays the load balancer


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scrypt check the server runs, by the stored hash's owner-independent password tried."""
    checks: list[str] = []
    real = storage.people.accounts.verify_password

    def counting(password: str, stored: str) -> bool:
        checks.append(password)
        return real(password, stored)

    monkeypatch.setattr(storage.people.accounts, "verify_password", counting)
    return checks


async def _world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                 identities: dict[str, IssuedIdentity], **overrides: Any) -> AsyncIterator[World]:
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async for w in start_world(tmp_path, db_template, test_ca, identities, clock=clock, **overrides):
        yield w


@pytest.fixture
async def direct(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                 identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    """An axis reached directly: no trusted proxies (the default)."""
    async for w in _world(tmp_path, db_template, test_ca, identities):
        yield w


@pytest.fixture
async def proxied(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                  identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    """An axis behind a load balancer on loopback, configured as trusted."""
    async for w in _world(tmp_path, db_template, test_ca, identities, trusted_proxies=(f"{PROXY}/32",)):
        yield w


@pytest.fixture
async def browsers(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[World], Any]]:
    """Make cookie-keeping HTTP clients that already hold the login form's CSRF token."""
    made: list[Browser] = []

    async def make(world: World) -> Browser:
        b = Browser(world.url)
        made.append(b)
        b.token = await b.csrf("/login")  # type: ignore[attr-defined]
        return b

    yield make
    for b in made:
        await b.close()


async def _login(b: Browser, login: str, password: str, client: str | None = None) -> int:
    headers = {"X-Forwarded-For": client} if client else {}
    status, _, r = await b.post("/login", {"csrf_token": b.token, "login": login,  # type: ignore[attr-defined]
                                           "password": password}, headers=headers)
    b.retry_after = int(r.headers.get("Retry-After", "0"))  # type: ignore[attr-defined]
    return status


async def test_fifty_parallel_wrong_logins_get_only_the_tries_the_throttle_allows(
        direct: World, browsers: Any, password_checks: list[str]) -> None:
    clients = [await browsers(direct) for _ in range(50)]
    statuses = await asyncio.gather(*(_login(b, "vanthu.h29", WRONG) for b in clients))
    # One address, one account: the pair's burst, however the 50 requests interleave.
    assert len(password_checks) == PAIR.burst, password_checks
    assert sorted(statuses) == [401] * PAIR.burst + [429] * (50 - PAIR.burst)
    assert len(await direct.audit("web.login_failed")) == PAIR.burst
    # The right password from the same place waits too: a guess that happened to be right would have.
    assert await _login(clients[0], "vanthu.h29", PASSWORD) == 429


async def test_fifty_parallel_wrong_logins_from_fifty_addresses_get_at_most_the_account_burst(
        proxied: World, browsers: Any, password_checks: list[str]) -> None:
    clients = [await browsers(proxied) for _ in range(50)]
    statuses = await asyncio.gather(*(_login(b, "vanthu.h29", WRONG, f"198.51.100.{n + 1}")
                                      for n, b in enumerate(clients)))
    assert len(password_checks) == ACCOUNT.burst, password_checks
    assert sorted(statuses) == [401] * ACCOUNT.burst + [429] * (50 - ACCOUNT.burst)


async def test_a_flood_from_one_address_does_not_lock_out_another_addresss_correct_login(
        proxied: World, browsers: Any, password_checks: list[str]) -> None:
    attacker = await browsers(proxied)
    # Wrong passwords for many names, and for the victim's own, all from one client behind the proxy.
    statuses = [await _login(attacker, name, WRONG, "203.0.113.7")
                for name in [f"khach-{n}" for n in range(30)] + ["vanthu.g22"] * 20]
    # The victim, and everybody else, still sign in from their own addresses...
    victim, colleague = await browsers(proxied), await browsers(proxied)
    assert await _login(victim, "vanthu.g22", PASSWORD, "198.51.100.20") == 303
    assert await _login(colleague, "vanthu.h29", PASSWORD, "198.51.100.21") == 303
    # ...while the flooding address got its burst, and now waits even with a right password.
    assert statuses.count(401) == ADDRESS.burst and statuses[-1] == 429
    assert await _login(attacker, "vanthu.g22", PASSWORD, "203.0.113.7") == 429
    logins = await proxied.audit("web.login")
    assert [e.details for e in logins] == ['{"address":"198.51.100.20"}', '{"address":"198.51.100.21"}']


async def test_a_stranger_guessing_someones_password_for_hours_cannot_lock_its_owner_out(
        proxied: World, browsers: Any, password_checks: list[str]) -> None:
    clock = proxied.axis.ctx.clock
    assert isinstance(clock, TestClock)
    start = clock()
    stranger = await browsers(proxied)
    # Every time the throttle lets them, for three hours: the waits grow to the pair's cap.
    for _ in range(500):
        if clock() - start >= timedelta(hours=3):
            break
        status = await _login(stranger, "vanthu.g22", WRONG, "203.0.113.7")
        if status == 429:
            assert stranger.retry_after >= 1  # type: ignore[attr-defined]
            clock.advance(seconds=stranger.retry_after)  # type: ignore[attr-defined]
    assert clock() - start >= timedelta(hours=3)
    waits = [PAIR.wait(n) for n in range(1, len(password_checks))]
    assert sum(waits, timedelta(0)) <= timedelta(hours=3) < sum(waits + [PAIR.cap, PAIR.cap], timedelta(0))
    assert len(password_checks) < 25
    # The owner, from their own address, signs in at once, whenever they come.
    clock.advance(seconds=ACCOUNT.cap.total_seconds())
    owner = await browsers(proxied)
    assert await _login(owner, "vanthu.g22", PASSWORD, "198.51.100.20") == 303


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
        direct: World, browsers: Any, password_checks: list[str]) -> None:
    # A client forging a new X-Forwarded-For on every guess gains no fresh pair key from it.
    guesser = await browsers(direct)
    statuses = [await _login(guesser, "vanthu.h29", WRONG, f"192.0.2.{n + 1}") for n in range(20)]
    assert statuses.count(401) == PAIR.burst
    assert len(password_checks) == PAIR.burst
    failed = await direct.audit("web.login_failed")
    assert {e.details for e in failed} == {'{"address":"127.0.0.1"}'}


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("10.0.0.5", ["203.0.113.7"], "10.0.0.5"),                          # peer not a trusted proxy
    ("10.0.1.1", ["203.0.113.7"], "203.0.113.7"),                       # the load balancer names the client
    ("10.0.1.1", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),              # the client's own forged hop is ignored
    ("10.0.1.1", ["203.0.113.7, 10.0.1.2"], "203.0.113.7"),             # two trusted hops
    ("10.0.1.1", ["203.0.113.7", "10.0.1.2"], "203.0.113.7"),           # the same in two header lines
    ("10.0.1.1", ["not-an-ip"], "10.0.1.1"),                            # garbage: the proxy is the client
    ("10.0.1.1", [], "10.0.1.1"),                                       # no header
    ("10.0.1.1", ["2001:db8::7"], "2001:db8::7"),
    ("::ffff:10.0.1.1", ["203.0.113.7"], "203.0.113.7"),                 # an IPv4 proxy seen on a dual-stack socket
])
def test_client_address_reads_x_forwarded_for_only_through_trusted_proxies(
        peer: str, forwarded: list[str], client: str) -> None:
    assert client_address(peer, forwarded, trusted_networks(("10.0.1.0/24",))) == client


def test_a_bad_trusted_proxy_setting_is_refused_at_load() -> None:
    from axis.settings import load_settings

    with pytest.raises(ValueError, match="trusted_proxies"):
        load_settings(environ={"AXIS_TRUSTED_PROXIES": "10.0.0.0/24,proxy.example"})
    assert load_settings(environ={"AXIS_TRUSTED_PROXIES": "10.0.0.0/24, ::1"}).trusted_proxies == ("10.0.0.0/24", "::1")


async def test_new_ipv6_addresses_in_one_64_share_one_pair_and_address_key(
        proxied: World, browsers: Any, password_checks: list[str]) -> None:
    guesser = await browsers(proxied)
    # One host owns a whole /64: a fresh address per guess is still the same client.
    statuses = [await _login(guesser, "vanthu.h29", WRONG, f"2001:db8:1:2::{n + 1:x}") for n in range(20)]
    assert statuses.count(401) == PAIR.burst and len(password_checks) == PAIR.burst, statuses
    async with proxied.axis.ctx.sessions() as session:
        keys = set((await session.execute(select(LoginThrottle.key))).scalars())
    assert keys == {"pair:vanthu.h29|2001:db8:1:2::/64", "address:2001:db8:1:2::/64", "account:vanthu.h29"}
    # The next /64 is another client, and the account's owner elsewhere is not locked out.
    assert await _login(guesser, "vanthu.h29", WRONG, "2001:db8:1:3::1") == 401
    assert await _login(await browsers(proxied), "vanthu.h29", PASSWORD, "2001:db8:9:9::1") == 303


async def test_failed_logins_to_unknown_accounts_share_one_budget(
        proxied: World, browsers: Any, password_checks: list[str]) -> None:
    n = UNKNOWN.burst + 20
    clients = [await browsers(proxied) for _ in range(n)]
    # A crowd of addresses, each trying a name that does not exist.
    statuses = await asyncio.gather(*(_login(b, f"khong-co-{i}", WRONG, f"198.51.100.{i + 1}")
                                      for i, b in enumerate(clients)))
    # Every one reads as a wrong password (none tells who exists), but only the budget costs a hash.
    assert statuses == [401] * n
    assert len(password_checks) == UNKNOWN.burst, len(password_checks)
    assert len(await proxied.audit("web.login_failed")) == n
    # People who exist are not held back by it.
    assert await _login(await browsers(proxied), "vanthu.g22", PASSWORD, "198.51.100.250") == 303


async def test_a_failed_login_is_queued_for_the_sealer_not_chained_on_the_spot(
        direct: World, browsers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chained: list[str] = []
    real = axis.web.account.append_event

    async def recording(session: Any, **kw: Any) -> Any:
        chained.append(kw["action"])
        return await real(session, **kw)

    monkeypatch.setattr(axis.web.account, "append_event", recording)
    b = await browsers(direct)
    assert [await _login(b, "vanthu.h29", WRONG) for _ in range(3)] == [401] * 3
    assert chained == []  # no chain lock taken per failure
    assert len(await direct.audit("web.login_failed")) == 3
    assert await _login(await browsers(direct), "vanthu.g22", PASSWORD) == 303
    assert chained == ["web.login"]
