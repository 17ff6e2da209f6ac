"""`axis demo`: idempotent registration, sample traffic through a running axis, token recovery."""

from __future__ import annotations

import asyncio
import json
import stat
import time

from axis.agency.client import AxisApiError, AxisClient
from axis.agency.demo import AGENCIES, ENDPOINTS, G14, G22, H41Q, H47
from tests.cli.conftest import Axis, free_port


async def test_demo_registers_then_sends_traffic_twice_and_recovers_lost_tokens(axis_server: Axis) -> None:
    axis = axis_server
    tokens_file = axis.home / "demo" / "tokens.json"
    nobody = {"AXIS_PORT": str(free_port())}  # the default server the demo probes: nothing listens there

    first = axis.run("demo", env=nobody).stdout
    assert "registered only" in first
    assert all(f"{code}  registered" in first for code, _ in AGENCIES)
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    tokens = json.loads(tokens_file.read_text())
    assert set(tokens) >= {code for code, _ in AGENCIES}

    second = axis.run("demo", "--server", axis.url).stdout
    assert "sent 8 documents" in second and f"{G22}  existing" in second

    # Lost tokens: the demo issues new ones (the old ones stop working); the traffic is there already.
    tokens_file.unlink()
    third = axis.run("demo", "--server", axis.url).stdout
    assert "\nsent " not in third and "sample traffic already sent (8 documents" in third
    assert all(f"{code}  token rotated" in third for code, _ in AGENCIES)
    fresh = json.loads(tokens_file.read_text())
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600

    async with AxisClient(axis.url, tokens[G14]) as old, AxisClient(axis.url, fresh[G14]) as g14:
        # The CLI changed the registry beside the server: the server sees it within its refresh interval
        # (registry_refresh_seconds, 1 s; SECURITY.md), not necessarily at the next request.
        deadline = time.monotonic() + 3.0
        while True:
            try:
                await old.inbox()
            except AxisApiError as refused:
                assert refused.code == "AXIS.Unauthorized"
                break
            assert time.monotonic() < deadline, "the old token still works 3 s after the rotation"
            await asyncio.sleep(0.1)
        items = (await g14.inbox(limit=500))["items"]
    documents = [i for i in items if i["kind"] == "edoc"]
    # One stays in the Ministry of Finance's inbox, unanswered: the one it refused (02) has its outcome and
    # left the inbox, as a delivered one (01) does; the third run sent nothing more.
    assert len(documents) == 1
    assert {d["from"] for d in documents} == {H47}
    assert any(i["kind"] == "status" and i["status_code"] == "15" for i in items)


async def test_demo_leaves_every_page_of_the_suggested_agency_showing_something(axis_server: Axis) -> None:
    import re

    import aiohttp
    import lxml.html

    axis = axis_server
    out = axis.run("demo", "--server", axis.url).stdout
    assert "1 document" not in out.replace("1 documents", "")  # plural forms: never "1 documents"
    assert not re.search(r"\b1 (documents|statuses)\b", out) and "statuses" not in re.sub(r"\d+ statuses", "", out)
    people = json.loads((axis.home / "demo" / "people.json").read_text())
    assert stat.S_IMODE((axis.home / "demo" / "people.json").stat().st_mode) == 0o600
    assert f"{axis.url}/login" in out and "vanthu.g14" in out

    async def pages(login: str, paths: list[str]) -> dict[str, str]:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(axis.url, cookie_jar=jar) as http:
            async with http.get("/login") as r:
                token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)  # type: ignore[union-attr]
            async with http.post("/login", data={"csrf_token": token, "login": login, "password": people[login]},
                                 allow_redirects=False) as r:
                assert r.status == 303, login
            got = {}
            for path in paths:
                async with http.get(path) as r:
                    assert r.status == 200, path
                    got[path] = await r.text()
            return got

    clerk = await pages("vanthu.g14", ["/inbox", "/outbox", "/registers/incoming", "/registers/outgoing", "/reports"])
    for path, html in clerk.items():
        assert 'id="empty"' not in html, path
    states = set(re.findall(r'data-state="(\w+)"', clerk["/outbox"] + clerk["/inbox"]))
    assert {"revoked", "delivered", "queued"} <= states, states
    archivist = await pages("luutru.g14", ["/archive/holds", "/archive/due", "/archive/disposals"])
    assert 'id="empty"' not in archivist["/archive/holds"]
    for path in ("/archive/due", "/archive/disposals"):  # nothing can be due yet: the page says why
        empty = lxml.html.fromstring(archivist[path]).xpath("//*[@id='empty']")
        assert empty and "năm" in empty[0].text_content(), path
    admin = (await pages("vanhanh", ["/admin"]))["/admin"]
    page = lxml.html.fromstring(admin)
    waiting = page.xpath("//*[@id='waiting-pull']//*[@class='tile-value']")[0].text_content()
    stuck = page.xpath("//*[@id='stuck-count']//*[@class='tile-value']")[0].text_content().strip()
    assert int(waiting) > 0 and stuck == "0"


async def test_demo_run_again_adds_nothing_and_leaves_one_failing_delivery_to_resend(axis_server: Axis) -> None:
    import asyncio

    from sqlalchemy import func, select

    from storage.db import create_engine
    from storage.models import Agency, Delivery, Message

    axis = axis_server
    axis.run("demo", "--server", axis.url)
    again = axis.run("demo", "--server", axis.url).stdout
    assert "sample traffic already sent (8 documents" in again and "sent 8" not in again
    assert f"{H41Q} is pushed to {ENDPOINTS[H41Q]}" in again and "/admin/deliveries" in again

    engine = create_engine(axis.database_url)
    try:
        async def counts() -> tuple[int, list[tuple[str, str | None]]]:
            async with engine.connect() as conn:
                documents = (await conn.execute(select(func.count()).select_from(Message)
                                                .where(Message.kind == "edoc"))).scalar_one()
                pushed = (await conn.execute(
                    select(Delivery.state, Delivery.last_error).join(Agency, Agency.id == Delivery.recipient_id)
                    .where(Agency.code == H41Q))).all()
            return documents, [(state, error) for state, error in pushed]

        for _ in range(100):
            documents, pushed = await counts()
            if pushed and pushed[0][1]:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    assert documents == 8  # one run's worth, not two
    assert len(pushed) == 1 and pushed[0][0] in {"retry_wait", "failed", "queued"}
    # Unreachable, or refused as a non-public address where the axis keeps to public ones.
    assert (pushed[0][1] or "").startswith(("recipient endpoint unreachable",
                                            "recipient endpoint's address is not allowed"))
