"""/metrics: restricted by a bearer token when the operator sets one, and cheap to scrape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event

from axis.appkeys import GAUGES
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, B = "000.00.00.G22", "000.00.00.H29"
TOKEN = "metrics-9f2c1e7a4b"


@pytest.fixture
async def quiet_axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                     identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis without push worker and scheduler (only scrapes touch the database), /metrics behind TOKEN."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, metrics_token=TOKEN, metrics_refresh_seconds=3600.0)
        harness, server = await start_server(settings, test_ca, identities, workers=False)
        try:
            yield harness
        finally:
            await server.close()


async def _scrape(axis: Harness, authorization: str | None) -> tuple[int, str]:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/metrics", headers=headers) as r:
        return r.status, await r.text()


@pytest.mark.parametrize("authorization", [None, "", "Bearer", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer wrong"])
async def test_metrics_without_the_right_token_are_refused(quiet_axis: Harness, authorization: str | None) -> None:
    status, body = await _scrape(quiet_axis, authorization)
    assert status == 401 and "axis_" not in body


async def test_metrics_with_the_right_token_are_served(quiet_axis: Harness) -> None:
    status, body = await _scrape(quiet_axis, f"Bearer {TOKEN}")
    assert status == 200 and "axis_request_seconds" in body


async def test_an_agency_token_does_not_open_metrics(quiet_axis: Harness) -> None:
    a = await quiet_axis.register(A)
    assert (await _scrape(quiet_axis, f"Bearer {a.token}"))[0] == 401


async def test_scrapes_do_not_query_deliveries_each_time(quiet_axis: Harness) -> None:
    a, b = await quiet_axis.register(A), await quiet_axis.register(B)
    _, signed = a.document([b])
    async with a.client() as client:
        await client.submit(signed)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "deliveries" in statement.lower():  # not the submit's INSERT
            statements.append(statement)

    engine = quiet_axis.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        bodies = [(await _scrape(quiet_axis, f"Bearer {TOKEN}"))[1] for _ in range(20)]
        assert len(statements) == 1, statements  # the first scrape refreshes the gauges, the next 19 do not
        assert all('axis_deliveries{state="queued"} 1.0' in body for body in bodies)

        # Once the interval has passed, the next scrape reads the new values (the clock is moved, not waited).
        _, signed = a.document([b])
        async with a.client() as client:
            await client.submit(signed)
        refresher = quiet_axis.app[GAUGES]
        started = refresher.clock()
        refresher.clock = lambda: started + refresher.interval + 1
        _, body = await _scrape(quiet_axis, f"Bearer {TOKEN}")
        _, again = await _scrape(quiet_axis, f"Bearer {TOKEN}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 2
    assert 'axis_deliveries{state="queued"} 2.0' in body and 'axis_deliveries{state="queued"} 2.0' in again
