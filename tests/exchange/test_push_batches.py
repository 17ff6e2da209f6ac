"""Pushes are claimed in batches within each endpoint's share, with their bytes, and renewed together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from axis.agency.receiver import PATH, PushReceiver
from axis.appkeys import METRICS
from axis.exchange.delivery import PushAnswer, PushTransport, PushWorker
from axis.exchange.endpoint_gate import EndpointGate
from axis.exchange.push_addresses import AddressPolicy
from axis.jobs.push import http_transport, push_client
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import AuditEvent, AuditQueueEntry, Delivery, DeliveryAttempt, DeliveryState
from storage.payloads.backends import PayloadBody
from tests.databases import DatabaseTemplate
from tests.harness import Agent, Harness, server_settings, start_server

A, C = "000.00.00.G22", "000.00.00.H41"


def answered_together(transport: PushTransport, count: int) -> PushTransport:
    """``transport`` whose answers are handed back ``count`` at a time, together: outcomes at one moment."""
    groups = [asyncio.Event()]
    answered = 0

    async def post(url: str, body: PayloadBody, headers: dict[str, str], **kw: Any) -> PushAnswer:
        nonlocal answered
        answer = await transport(url, body, headers, **kw)
        group = groups[-1]
        answered += 1
        if answered % count == 0:
            group.set()
            groups.append(asyncio.Event())
        await group.wait()
        return answer

    return post


@contextlib.contextmanager
def sql_sent(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent on ``engine`` while the block runs."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)


def updates_of_deliveries(statements: list[str], marker: str) -> list[str]:
    """The ``UPDATE deliveries`` statements among ``statements`` that contain ``marker``."""
    return [s for s in statements if s.lstrip().upper().startswith("UPDATE DELIVERIES") and marker in s]


@contextlib.asynccontextmanager
async def axis_pushing_to(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                          identities: dict[str, IssuedIdentity], receivers: dict[str, PushReceiver],
                          ) -> AsyncIterator[tuple[Harness, dict[str, Agent]]]:
    """An axis (no background workers) with A and C registered, each code in ``receivers`` pushed to its own."""
    endpoints = {code: TestServer(r.app(), host="127.0.0.1") for code, r in receivers.items()}
    for endpoint in endpoints.values():
        await endpoint.start_server()
    try:
        async with db_template.clone(tmp_path) as db_url:
            axis, server = await start_server(server_settings(tmp_path / "home", db_url), test_ca, identities,
                                              workers=False)
            try:
                agents = {code: await axis.register(code, endpoint=str(endpoints[code].make_url(PATH))
                                                    if code in endpoints else None) for code in (A, C)}
                for code, receiver in receivers.items():
                    receiver.organization, receiver.identity = agents[code].organization, agents[code].identity
                    receiver.axis_certificate = axis.ctx.axis_certificate
                    receiver.senders = {other: agents[other].identity.certificate for other in (A, C)}
                yield axis, agents
            finally:
                await server.close()
    finally:
        for endpoint in endpoints.values():
            await endpoint.close()


def worker_for(axis: Harness, transport: PushTransport) -> PushWorker:
    """A push worker of ``axis`` whose endpoint share is two."""
    gate = EndpointGate(concurrency=2, circuit_failures=5, circuit_open_seconds=30.0)
    return PushWorker(axis.ctx, axis.app[METRICS], asyncio.Event(), transport, gate=gate)


async def submitted(a: Agent, c: Agent, count: int) -> list[str]:
    """The ids of ``count`` documents A sends to C."""
    async with a.client() as ac:
        return [(await ac.submit(a.document([c], subject=f"Văn bản {i}")[1]))["id"] for i in range(count)]


async def test_a_claim_takes_the_endpoint_share_with_the_bytes_and_renews_the_batch_at_once(
    tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
) -> None:
    receiver = PushReceiver(organization=None, identity=None)  # type: ignore[arg-type]
    async with axis_pushing_to(tmp_path, db_template, test_ca, identities, {C: receiver}) as (axis, agents):
        mids = await submitted(agents[A], agents[C], 3)
        async with push_client(AddressPolicy.of(("127.0.0.1/32",))) as http:
            worker = worker_for(axis, http_transport(http))
            jobs = await worker._claim(8)
            # The endpoint's share, oldest first; the third is left due as it was, not claimed and handed back.
            assert [j.message_id for j in jobs] == mids[:2]
            async with axis.ctx.sessions() as session:
                third = (await session.execute(select(Delivery).where(Delivery.message_id == mids[2]))).scalar_one()
            assert (third.state, third.attempts, third.claimed_by) == (DeliveryState.QUEUED.value, 0, None)
            for job in jobs:  # small payloads come with the claim: no read per push
                assert job.inline is not None and job.inline == await axis.ctx.payloads.read(job.sha256)

            with sql_sent(axis.ctx.engine) as statements:
                await asyncio.gather(*(worker._attempt(job) for job in jobs))
            renewals = updates_of_deliveries(statements, "claimed_until >")
            assert len(renewals) == 1, renewals
            assert all(receiver.posts[m] == 1 for m in mids[:2])

            rest = await worker._claim(8)
            assert [j.message_id for j in rest] == [mids[2]] and rest[0].attempts == 1
            await worker._attempt(rest[0])
        async with axis.ctx.sessions() as session:
            states = (await session.execute(select(Delivery.state).where(Delivery.message_id.in_(mids)))
                      ).scalars().all()
        assert states == [DeliveryState.DELIVERED.value] * 3


async def test_statuses_pushed_together_are_marked_delivered_together(
    tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
) -> None:
    receivers = {code: PushReceiver(organization=None, identity=None) for code in (A, C)}  # type: ignore[arg-type]
    async with axis_pushing_to(tmp_path, db_template, test_ca, identities, receivers) as (axis, agents):
        mids = await submitted(agents[A], agents[C], 2)
        async with push_client(AddressPolicy.of(("127.0.0.1/32",))) as http:
            worker = worker_for(axis, answered_together(http_transport(http), 2))
            documents = await worker._claim(8)
            assert sorted(j.message_id for j in documents) == sorted(mids)
            await asyncio.gather(*(worker._attempt(job) for job in documents))
            receipts = await worker._claim(8)  # C's two 01s, pushed to A
            assert [j.kind for j in receipts] == ["status", "status"]
            with sql_sent(axis.ctx.engine) as statements:
                await asyncio.gather(*(worker._attempt(job) for job in receipts))
        marks = updates_of_deliveries(statements, "delivered_at")
        assert len(marks) == 1, marks
        assert sorted(receivers[A].received) == sorted(j.message_id for j in receipts)
        async with axis.ctx.sessions() as session:
            states = (await session.execute(select(Delivery.state).where(
                Delivery.message_id.in_([j.message_id for j in receipts])))).scalars().all()
            queued = (await session.execute(select(AuditQueueEntry.subject).where(
                AuditQueueEntry.action == "delivery.delivered"))).scalars().all()
            chained = (await session.execute(select(AuditEvent.subject).where(
                AuditEvent.action == "delivery.delivered"))).scalars().all()
        assert states == [DeliveryState.DELIVERED.value] * 2
        for job in receipts:
            assert job.message_id in [*queued, *chained]


async def test_failures_of_one_batch_are_recorded_together(
    tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity],
) -> None:
    receiver = PushReceiver(organization=None, identity=None, fail_next=2)  # type: ignore[arg-type]
    async with axis_pushing_to(tmp_path, db_template, test_ca, identities, {C: receiver}) as (axis, agents):
        mids = await submitted(agents[A], agents[C], 2)
        async with push_client(AddressPolicy.of(("127.0.0.1/32",))) as http:
            worker = worker_for(axis, answered_together(http_transport(http), 2))
            jobs = await worker._claim(8)
            assert len(jobs) == 2
            with sql_sent(axis.ctx.engine) as statements:
                await asyncio.gather(*(worker._attempt(job) for job in jobs))
        failing = updates_of_deliveries(statements, "last_error")
        assert len(failing) == 1, failing  # sent once for both rows
        async with axis.ctx.sessions() as session:
            rows = (await session.execute(select(Delivery.state, Delivery.last_error, Delivery.claimed_by)
                                          .where(Delivery.message_id.in_(mids)))).all()
            attempts = (await session.execute(select(DeliveryAttempt.attempt, DeliveryAttempt.outcome))).all()
        assert [(state, by) for state, _, by in rows] == [(DeliveryState.RETRY_WAIT.value, None)] * 2
        assert all(error and "503" in error for _, error, _ in rows)
        assert sorted(attempts) == [(1, "retry"), (1, "retry")]


async def test_pushes_to_one_endpoint_reuse_their_connection() -> None:
    peers: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername")[1] if request.transport else 0)
        await request.read()
        return web.Response(body=b"<ok/>", content_type="application/xml")

    app = web.Application()
    app.router.add_post("/edxml", handle)
    endpoint = TestServer(app, host="127.0.0.1")
    await endpoint.start_server()
    try:
        async with push_client(AddressPolicy.of(("127.0.0.1/32",))) as http:
            post = http_transport(http)
            for _ in range(5):
                answer = await post(str(endpoint.make_url("/edxml")), b"<edXML/>" * 1000, {}, timeout=5.0,
                                    max_answer=1024)
                assert answer.status == 200
    finally:
        await endpoint.close()
    assert len(peers) == 5 and len(set(peers)) == 1, peers
