"""A refused or revoked document reads the same everywhere: operator pages, the clerk's boxes, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from envelope.codes import StatusCode
from storage.models import Delivery

AXIS = Path(sys.executable).with_name("axis")


def _search(world: Any, *args: str) -> list[dict[str, Any]]:
    settings = world.axis.ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env.update(AXIS_HOME=str(settings.home), AXIS_DATABASE_URL=settings.resolved_database_url)
    done = subprocess.run([str(AXIS), "messages", "search", "--json", *args], env=env, capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    items: list[dict[str, Any]] = json.loads(done.stdout)["items"]
    return items


async def test_a_refused_delivery_is_refused_on_every_page_and_in_the_cli(world: Any, browser_for: Any) -> None:
    _, signed = world.a.document([world.b], subject="Công văn bị từ chối")
    async with world.a.client() as client:
        sent = await client.submit(signed)
    async with world.b.client() as client:
        await client.fetch(sent["id"])
        await client.post_status(world.b.status(signed, StatusCode.REFUSED, "Không đúng thẩm quyền"))
    ctx = world.axis.ctx
    async with ctx.sessions() as session, session.begin():
        # Long past the stuck threshold: only its outcome keeps it off the stuck list.
        await session.execute(update(Delivery).where(Delivery.message_id == sent["id"])
                              .values(created_at=ctx.clock() - timedelta(days=2)))
    async with ctx.sessions() as session:
        state = (await session.execute(select(Delivery.state).where(Delivery.message_id == sent["id"]))).scalar_one()
    assert state == "refused"
    await world.add_user("vanhanh", ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    _, html, _ = await operator.get("/admin/deliveries")
    assert sent["id"] not in html
    _, html, _ = await operator.get("/admin")
    assert re.search(r'id="on-the-way"><div class="tile-value">0<', html)
    assert re.search(r'id="stuck-count"><div class="tile-value">0<', html)
    assert '<tr data-state="refused">' in html
    _, html, _ = await operator.get(f"/admin/messages/{sent['id']}")
    assert 'data-state="refused"' in html and f"/admin/messages/{sent['id']}/resend" not in html
    _, html, _ = await operator.get("/admin/messages?state=refused")
    assert f'data-id="{sent["id"]}"' in html
    hits = await asyncio.to_thread(_search, world, "--message-id", sent["id"])
    assert [r["state"] for r in hits[0]["recipients"]] == ["refused"]
    async with world.a.client() as client:
        traced = await client.trace(sent["id"])
    assert [(r["state"], r["outcome"]) for r in traced["recipients"]] == [("refused", "refused")]
    clerk = await browser_for("vanthu.g22")
    _, html, _ = await clerk.get("/outbox")
    assert "state-refused" in html


async def test_a_revoked_document_reads_revoked_on_the_operators_search(world: Any, browser_for: Any) -> None:
    _, signed = world.a.document([world.b, world.c], subject="Công văn thu hồi")
    async with world.a.client() as client:
        sent = await client.submit(signed)
    for agent in (world.b, world.c):
        async with agent.client() as client:
            await client.post_status(agent.status(signed, StatusCode.ARRIVED, "Đã nhận"))
    async with world.a.client() as client:
        await client.post_status(world.a.status(signed, StatusCode.TAKEN_BACK, "Thu hồi"))
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    _, html, _ = await operator.get(f"/admin/messages?message_id={sent['id']}")
    row = html.split(f'data-id="{sent["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "state-revoked" in row and "state-delivered" not in row
    _, html, _ = await operator.get("/admin/messages?state=revoked&kind=edoc")
    assert f'data-id="{sent["id"]}"' in html
    hits = await asyncio.to_thread(_search, world, "--message-id", sent["id"])
    assert [r["state"] for r in hits[0]["recipients"]] == ["revoked", "revoked"]
    async with world.a.client() as client:
        traced = await client.trace(sent["id"])
    assert [r["outcome"] for r in traced["recipients"]] == ["revoked", "revoked"]


async def test_the_migration_marks_deliveries_refused_before_it_as_refused(world: Any) -> None:
    import importlib

    from sqlalchemy import text

    revision = importlib.import_module("migrations.versions.0014_refused_deliveries")
    _, refused = world.a.document([world.b], subject="Từ chối trước khi có trạng thái refused")
    _, kept = world.a.document([world.b], subject="Đã nhận")
    async with world.a.client() as client:
        refused_id = (await client.submit(refused))["id"]
        kept_id = (await client.submit(kept))["id"]
    async with world.b.client() as client:
        await client.post_status(world.b.status(refused, StatusCode.REFUSED, "Sai thẩm quyền"))
        await client.post_status(world.b.status(kept, StatusCode.ARRIVED, "Đã đến"))
    ctx = world.axis.ctx
    async with ctx.sessions() as session, session.begin():
        # As a database upgraded from before the refused state holds it.
        await session.execute(update(Delivery).where(Delivery.message_id == refused_id).values(state="retrieved"))
    async with ctx.sessions() as session, session.begin():
        await session.execute(text(revision._REFUSED))
    async with ctx.sessions() as session:
        states = dict((await session.execute(select(Delivery.message_id, Delivery.state))).tuples().all())
    assert states[refused_id] == "refused" and states[kept_id] == "delivered"
