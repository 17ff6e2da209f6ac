"""A worker paused past its lease sends nothing; the delivery goes out once, from whoever holds it then."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select, text, update

from axis.agency.receiver import PATH, PushReceiver
from axis.appkeys import METRICS
from axis.exchange.delivery import PushAnswer, PushWorker
from axis.jobs.push import http_transport
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Delivery, DeliveryState
from storage.payloads.backends import PayloadBody
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, C = "000.00.00.G22", "000.00.00.H41"


async def _age_claims(axis: Harness, seconds: float) -> None:
    """Move every claim's expiry back: on PostgreSQL leases run on the database's clock, not the test's."""
    async with axis.ctx.sessions() as session, session.begin():
        claims = (await session.execute(select(Delivery.id, Delivery.claimed_until)
                                        .where(Delivery.claimed_until.is_not(None)))).all()
        for delivery_id, until in claims:
            await session.execute(update(Delivery).where(Delivery.id == delivery_id)
                                  .values(claimed_until=until - timedelta(seconds=seconds)))


async def test_lapsed_lease_is_not_pushed_and_the_next_holder_pushes_once(
    tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
) -> None:
    now = [datetime.now(UTC)]
    receiver = PushReceiver(organization=None, identity=None)  # type: ignore[arg-type]
    endpoint = TestServer(receiver.app(), host="127.0.0.1")
    await endpoint.start_server()
    try:
        async with db_template.clone(tmp_path) as db_url, aiohttp.ClientSession() as http:
            settings = server_settings(tmp_path / "home", db_url, claim_lease_seconds=20.0)
            axis, server = await start_server(settings, test_ca, identities, workers=False, clock=lambda: now[0])
            try:
                a = await axis.register(A)
                c = await axis.register(C, endpoint=str(endpoint.make_url(PATH)))
                receiver.organization, receiver.identity = c.organization, c.identity
                receiver.axis_certificate, receiver.senders = axis.ctx.axis_certificate, {A: a.identity.certificate}
                async with a.client() as ac:
                    mid = (await ac.submit(a.document([c], subject="Gửi trong lúc nút bị treo")[1]))["id"]

                real = http_transport(http)
                sent: dict[str, list[str]] = {"frozen": [], "healthy": []}

                def recording(name: str) -> object:
                    async def post(url: str, body: PayloadBody, headers: dict[str, str], **kw: object) -> PushAnswer:
                        sent[name].append(headers["X-Axis-Message-Id"])
                        return await real(url, body, headers, **kw)  # type: ignore[arg-type]
                    return post

                metrics = axis.app[METRICS]
                frozen = PushWorker(axis.ctx, metrics, asyncio.Event(), recording("frozen"))  # type: ignore[arg-type]
                healthy = PushWorker(axis.ctx, metrics, asyncio.Event(), recording("healthy"))  # type: ignore[arg-type]

                jobs = await frozen._claim(4)
                assert [j.message_id for j in jobs] == [mid]
                await _age_claims(axis, 25)  # frozen past its 20 s lease (SIGSTOP, a VM pause)
                taken = await healthy._claim(4)  # the lease lapsed: the other worker may take it
                assert [j.message_id for j in taken] == [mid]
                await frozen._attempt(jobs[0])  # resumes: must not send
                assert sent["frozen"] == []
                await healthy._attempt(taken[0])
                assert sent["healthy"] == [mid] and receiver.posts[mid] == 1
                async with axis.ctx.sessions() as session:
                    d = (await session.execute(select(Delivery).where(Delivery.message_id == mid))).scalar_one()
                    assert d.state == DeliveryState.DELIVERED.value and d.last_error is None
                    if session.bind.dialect.name == "postgresql":
                        # A frozen node's claim transaction cannot hold its row locks for long.
                        shown = (await session.execute(text("SHOW idle_in_transaction_session_timeout"))).scalar()
                        assert shown == "1min"
                        assert (await session.execute(text("SHOW tcp_keepalives_idle"))).scalar() == "30"
                assert metrics.push_attempts.labels("delivered")._value.get() == 1
                assert metrics.push_attempts.labels("error")._value.get() == 0

                # Lapsed while nobody else took it yet: still not sent (another node may be claiming it now).
                async with a.client() as ac:
                    second = (await ac.submit(a.document([c], subject="Văn bản thứ hai")[1]))["id"]
                jobs = await frozen._claim(4)
                assert [j.message_id for j in jobs] == [second]
                await _age_claims(axis, 21)
                await frozen._attempt(jobs[0])
                assert second not in sent["frozen"] and second not in receiver.posts
                retaken = await healthy._claim(4)
                assert [j.message_id for j in retaken] == [second]
                await healthy._attempt(retaken[0])
                assert receiver.posts[second] == 1
            finally:
                await server.close()
    finally:
        await endpoint.close()
