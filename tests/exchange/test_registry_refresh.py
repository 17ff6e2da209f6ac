"""Each node holds the agency registry in memory: a change made anywhere reaches every node within the refresh.

Two axis nodes share one database (SQLite file or PostgreSQL, as the suite runs); the change is
made the way an operator's tool makes it (``storage.registry.agencies`` in its own transaction, no call to
either node), and the other node is asked until it answers accordingly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.keys import DevelopmentCA, IssuedIdentity, certificate_pem
from storage.registry.agencies import replace_certificate, rotate_token, set_agency_active
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import call
from tests.harness import Harness, server_settings, start_server

A, B = "000.00.00.G22", "000.00.00.H29"
REFRESH = 0.5
DOCUMENTS = "/api/v1/documents"


@dataclass
class Nodes:
    first: Harness
    second: Harness


@pytest.fixture
async def nodes(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[Nodes]:
    async with db_template.clone(tmp_path) as url:
        first, s1 = await start_server(server_settings(tmp_path / "one", url, registry_refresh_seconds=REFRESH),
                                       test_ca, identities)
        second, s2 = await start_server(server_settings(tmp_path / "two", url, registry_refresh_seconds=REFRESH),
                                        test_ca, identities, workers=False)
        try:
            yield Nodes(first, second)
        finally:
            await s2.close()
            await s1.close()


async def _within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    """Ask until ``check`` holds; return how long it took, failing past ``seconds``."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not seen within {seconds} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_new_agency_and_its_token_work_on_the_other_node_at_once(nodes: Nodes) -> None:
    a, b = await nodes.first.register(A), await nodes.first.register(B)
    # The second node has never seen either: an unknown token makes it look at the version again.
    assert (await call(nodes.second, "GET", "/api/v1/inbox", token=a)).status == 200
    _, signed = a.document([b])
    assert (await call(nodes.second, "POST", DOCUMENTS, token=a, data=signed)).status == 202


async def test_disabling_an_agency_reaches_the_other_node_within_the_refresh(nodes: Nodes) -> None:
    a, b = await nodes.first.register(A), await nodes.first.register(B)
    assert (await call(nodes.second, "GET", "/api/v1/inbox", token=a)).status == 200
    async with nodes.first.ctx.sessions() as session, session.begin():
        await set_agency_active(session, A, False, actor="test")

    async def refused() -> bool:
        return (await call(nodes.second, "GET", "/api/v1/inbox", token=a)).status == 403

    took = await _within(REFRESH + 1.0, refused)
    assert took <= REFRESH + 0.5
    # ...and a disabled recipient is refused as one too.
    _, signed = b.document([a])
    assert (await call(nodes.second, "POST", DOCUMENTS, token=b, data=signed)).status == 422


async def test_a_rotated_token_stops_working_on_the_other_node_within_the_refresh(nodes: Nodes) -> None:
    a = await nodes.first.register(A)
    assert (await call(nodes.second, "GET", "/api/v1/inbox", token=a)).status == 200
    async with nodes.first.ctx.sessions() as session, session.begin():
        new_token = await rotate_token(session, A, actor="test")

    async def new_accepted() -> bool:
        return (await call(nodes.second, "GET", "/api/v1/inbox", token=new_token)).status == 200

    # An unknown token makes the node look again at once: well before the refresh.
    assert await _within(REFRESH, new_accepted) < REFRESH

    async def old_refused() -> bool:
        return (await call(nodes.second, "GET", "/api/v1/inbox", token=a)).status == 401

    assert await _within(REFRESH + 1.0, old_refused) <= REFRESH + 0.5


async def test_a_new_certificate_is_trusted_on_the_other_node_within_the_refresh(
    nodes: Nodes, test_ca: DevelopmentCA
) -> None:
    a, b = await nodes.first.register(A), await nodes.first.register(B)
    _, old_signed = a.document([b])
    assert (await call(nodes.second, "POST", DOCUMENTS, token=a, data=old_signed)).status == 202
    renewed = test_ca.issue("Văn phòng Chính phủ (gia hạn)", organ_id=A, kind="ec")
    async with nodes.first.ctx.sessions() as session, session.begin():
        await replace_certificate(session, A, certificate_pem(renewed.certificate), actor="test")
    a.identity = renewed

    async def new_key_accepted() -> bool:
        _, signed = a.document([b])
        return (await call(nodes.second, "POST", DOCUMENTS, token=a, data=signed)).status == 202

    assert await _within(REFRESH + 1.0, new_key_accepted) <= REFRESH + 0.5
    # The old certificate is no longer the one pinned for A.
    a.identity = nodes.first.identity_for(A)
    _, stale = a.document([b])
    reply = await call(nodes.second, "POST", DOCUMENTS, token=a, data=stale)
    assert reply.status == 422 and b"AXIS.Signature" in reply.body


async def test_any_change_to_agencies_moves_the_registry_version_even_plain_sql(nodes: Nodes) -> None:
    from sqlalchemy import text

    await nodes.first.register(A)

    async def version() -> int:
        async with nodes.first.ctx.engine.connect() as conn:
            return int((await conn.execute(text("SELECT version FROM registry_version WHERE id = 1"))).scalar_one())

    before = await version()
    async with nodes.first.ctx.engine.begin() as conn:
        await conn.execute(text("UPDATE agencies SET endpoint_url = 'https://dms.example.vn/axis' WHERE code = :c"),
                           {"c": A})
    assert await version() > before
    snapshot = await nodes.second.ctx.registry.after_miss()
    assert snapshot.by_code[A].endpoint_url == "https://dms.example.vn/axis"
