"""Two `axis serve` processes on one PostgreSQL database deliver 500 documents, none lost, none twice.

A (pull) sends every document to B (pull) and C (push). Submissions alternate
between the nodes; B pulls from both nodes alternately and answers 01; C is a
reference push receiver in this process. Both nodes' push workers compete for
the same deliveries, which must be claimed by exactly one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from axis.agency.client import AxisClient
from axis.agency.receiver import PATH, PushReceiver
from axis.bench.server import ServerProcess
from axis.identity import KeyFiles
from envelope.codes import StatusCode
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity, load_certificate
from signing.receipt import verify_submission_receipt
from storage.db import create_engine, session_factory
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message, MessageKind
from tests.databases import ENV, fresh_database, postgres_server
from tests.harness import Agent, register_in_database

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
DOCUMENTS = 500
CONCURRENCY = 8
AXIS = Path(sys.executable).with_name("axis")

pytestmark = pytest.mark.timeout(180)


#: Settings of both nodes: fast retries, and a generous push timeout (a timed-out push would be retried).
NODE_ENV = {"AXIS_RETRY_BASE_SECONDS": "0.2", "AXIS_RETRY_MAX_SECONDS": "2", "AXIS_PUSH_TIMEOUT_SECONDS": "60"}


async def push_attempts(http: aiohttp.ClientSession, node: ServerProcess) -> dict[str, float]:
    """axis_push_attempts_total by outcome, from a node's /metrics."""
    async with http.get(f"{node.url}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "axis_push_attempts_total":
                out[sample.labels["outcome"]] = sample.value
    return out


async def edoc_delivery_states(sessions) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    """(recipient code, state) -> count, over deliveries of documents (not statuses)."""
    async with sessions() as session:
        rows = (await session.execute(
            select(Agency.code, Delivery.state, func.count())
            .join(Agency, Agency.id == Delivery.recipient_id)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == MessageKind.EDOC.value)
            .group_by(Agency.code, Delivery.state)
        )).all()
    return {(code, state): n for code, state, n in rows}


async def test_two_axis_processes_share_the_work_and_deliver_every_document_once(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    server = await postgres_server()
    monkeypatch.setenv(ENV, server)
    home = tmp_path / "home"  # one data directory for both nodes: same axis key, same blob store

    async with fresh_database(tmp_path) as db_url:
        await asyncio.to_thread(upgrade, db_url)
        # The axis key is created once, before either node starts, so both sign with it.
        init = await asyncio.to_thread(
            subprocess.run, [str(AXIS), "keys", "init"], env={**os.environ, "AXIS_HOME": str(home)},
            capture_output=True, text=True, timeout=60,
        )
        assert init.returncode == 0, init.stderr
        axis_cert = load_certificate(KeyFiles(home / "keys").axis_cert.read_bytes())

        engine = create_engine(db_url)
        sessions = session_factory(engine)
        receiver = PushReceiver(organization=None, identity=None)  # type: ignore[arg-type]
        endpoint = TestServer(receiver.app(), host="127.0.0.1")
        await endpoint.start_server()
        nodes: list[ServerProcess] = []
        try:
            a = await register_in_database(sessions, test_ca, identities, A)
            b = await register_in_database(sessions, test_ca, identities, B)
            c = await register_in_database(sessions, test_ca, identities, C, endpoint=str(endpoint.make_url(PATH)))
            receiver.organization, receiver.identity = c.organization, c.identity
            receiver.axis_certificate, receiver.senders = axis_cert, {A: a.identity.certificate}

            for i in (1, 2):
                node = ServerProcess(home, db_url, tmp_path / f"node{i}.log", extra_env=NODE_ENV, name=f"node{i}")
                nodes.append(node)
                node.start()
            # Sign the documents while the nodes start.
            signed_docs = await asyncio.to_thread(
                lambda: [a.document([b, c], subject=f"Văn bản số {i} gửi qua hai nút trục")[1]
                         for i in range(DOCUMENTS)]
            )
            async with aiohttp.ClientSession() as http:
                for node in nodes:
                    await asyncio.to_thread(node.wait_ready, 30.0)
                setup_done = time.monotonic()
                try:
                    await _exchange(nodes, a, b, signed_docs, receiver, sessions, axis_cert, http)
                except BaseException:
                    for node in nodes:
                        print(f"--- {node.name} log tail ---\n{node.log_tail()}", file=sys.stderr)
                    raise
                exchange_done = time.monotonic()

                # Both nodes pushed, and together they pushed each document exactly once.
                attempts = [await push_attempts(http, node) for node in nodes]
                assert all(at.get("delivered", 0) > 0 for at in attempts), attempts
                assert sum(at.get("delivered", 0) for at in attempts) == DOCUMENTS, attempts
                assert sum(at.get("error", 0) for at in attempts) == 0, attempts
                for node in nodes:
                    assert node.alive(), f"{node.name} died:\n{node.log_tail()}"
            print(f"two nodes: setup {setup_done - started:.1f}s, "
                  f"{DOCUMENTS} documents exchanged in {exchange_done - setup_done:.1f}s; push attempts {attempts}")
        finally:
            for node in nodes:
                node.stop()
            await endpoint.close()
            await engine.dispose()


async def _exchange(nodes: list[ServerProcess], a: Agent, b: Agent, signed_docs: list[bytes], receiver: PushReceiver,
                    sessions, axis_cert, http: aiohttp.ClientSession) -> None:  # type: ignore[no-untyped-def]
    submitted: dict[str, bytes] = {}
    answered: Counter[str] = Counter()
    all_submitted = asyncio.Event()

    async with contextlib.AsyncExitStack() as stack:
        a_clients = [await stack.enter_async_context(AxisClient(n.url, a.token, session=http)) for n in nodes]
        b_clients = [await stack.enter_async_context(AxisClient(n.url, b.token, session=http)) for n in nodes]

        async def submit_all() -> None:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(i: int, signed: bytes) -> None:
                async with gate:
                    client = a_clients[i % 2]
                    reply = await client.submit(signed)
                assert [r["organ_id"] for r in reply["recipients"]] == [B, C]
                if i < 2:  # each node signs receipts with the one shared axis key
                    receipt = verify_submission_receipt(reply["receipt"].encode(), axis_cert)
                    assert receipt.message_id == reply["id"]
                submitted[reply["id"]] = signed

            await asyncio.gather(*(one(i, s) for i, s in enumerate(signed_docs)))
            all_submitted.set()

        async def b_pulls() -> None:
            gate = asyncio.Semaphore(CONCURRENCY)
            turn = 0

            async def take(client: AxisClient, item: dict) -> None:  # type: ignore[type-arg]
                async with gate:
                    raw = await client.fetch(item["id"])
                    status = await asyncio.to_thread(b.status, raw, StatusCode.ARRIVED, "Đã nhận")
                    await client.post_status(status)
                # Pulled bytes are the submitted bytes (the submit reply may still be in flight).
                answered[item["id"]] += 1
                assert item["kind"] == "edoc" and item["from"] == A
                pulled[item["id"]] = raw

            pulled: dict[str, bytes] = {}
            while True:
                done = all_submitted.is_set()
                client = b_clients[turn % 2]
                turn += 1
                items = (await client.inbox(kind="edoc", limit=50))["items"]
                if not items:
                    if done and len(answered) >= len(submitted):
                        break
                    await asyncio.sleep(0.05)
                    continue
                await asyncio.gather(*(take(client, item) for item in items))
            assert pulled == submitted

        async with asyncio.TaskGroup() as tasks:  # one failing cancels the other
            tasks.create_task(submit_all())
            tasks.create_task(b_pulls())

    assert len(submitted) == DOCUMENTS
    assert set(answered) == set(submitted) and set(answered.values()) == {1}

    # Every document delivered to B (pulled, 01) and to C (pushed, 01): nothing lost, nothing failed.
    deadline = time.monotonic() + 90
    want = {(B, DeliveryState.DELIVERED.value): DOCUMENTS, (C, DeliveryState.DELIVERED.value): DOCUMENTS}
    while (states := await edoc_delivery_states(sessions)) != want:
        assert not any(state == DeliveryState.FAILED.value for _, state in states), states
        assert time.monotonic() < deadline, f"not all delivered: {states}"
        await asyncio.sleep(0.2)

    async with sessions() as session:
        deliveries = (await session.execute(
            select(Delivery).join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == MessageKind.EDOC.value)
        )).scalars().all()
    assert len(deliveries) == 2 * DOCUMENTS
    assert all(d.receipt_message_id and d.delivered_at and d.claimed_by is None for d in deliveries)
    pushed = [d for d in deliveries if d.mode == DeliveryMode.PUSH.value]
    assert len(pushed) == DOCUMENTS and all(d.attempts == 1 for d in pushed)

    # C was pushed every document exactly once, byte for byte.
    assert set(receiver.posts) == set(submitted)
    assert set(receiver.posts.values()) == {1}
    assert receiver.received == submitted
