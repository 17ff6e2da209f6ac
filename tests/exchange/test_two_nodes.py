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
from typing import IO

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from axis.bench.server import free_port
from axis.client import AxisClient
from axis.identity import KeyFiles
from axis.receiver import PATH, PushReceiver
from envelope.codes import StatusCode
from signing.keys import DevelopmentCA, IssuedIdentity, certificate_pem, load_certificate
from signing.receipt import verify_submission_receipt
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message, MessageKind
from storage.registry import register_agency
from tests.databases import ENV, fresh_database
from tests.harness import NAMES, Agent

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DOCUMENTS = 500
CONCURRENCY = 8
AXIS = Path(sys.executable).with_name("axis")

pytestmark = pytest.mark.timeout(180)


async def postgres_server() -> str:
    """The PostgreSQL server to create the test database on, or skip."""
    configured = os.environ.get(ENV)
    if configured:
        if make_url(configured).get_backend_name() != "postgresql":
            pytest.skip(f"two axis processes need PostgreSQL; {ENV} is not a PostgreSQL URL")
        return configured
    dsn = make_url(DEFAULT_POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
        pytest.skip(f"two axis processes need PostgreSQL: {ENV} is unset and {DEFAULT_POSTGRES} "
                    f"is not reachable ({type(exc).__name__}: {exc})")
    await conn.close()
    return DEFAULT_POSTGRES


class Node:
    """One `axis serve` subprocess."""

    def __init__(self, name: str, home: Path, database_url: str, log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        env = {
            **os.environ,
            "AXIS_HOME": str(home),
            "AXIS_DATABASE_URL": database_url,
            "AXIS_RETRY_BASE_SECONDS": "0.2",
            "AXIS_RETRY_MAX_SECONDS": "2",
            "AXIS_PUSH_TIMEOUT_SECONDS": "60",  # generous: a timed-out push would be retried
        }
        self.process = subprocess.Popen(
            [str(AXIS), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    async def push_attempts(self, http: aiohttp.ClientSession) -> dict[str, float]:
        """axis_push_attempts_total by outcome, from /metrics."""
        async with http.get(f"{self.url}/metrics") as r:
            assert r.status == 200
            text = await r.text()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "axis_push_attempts_total":
                    out[sample.labels["outcome"]] = sample.value
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


async def register(sessions, ca: DevelopmentCA, identities: dict[str, IssuedIdentity],  # type: ignore[no-untyped-def]
                   code: str, endpoint: str | None = None) -> Agent:
    """Register an agency straight in the shared database; the Agent only builds and signs."""
    if code not in identities:
        identities[code] = await asyncio.to_thread(ca.issue, NAMES[code], organ_id=code, kind="rsa")
    ident = identities[code]
    async with sessions() as session, session.begin():
        reg = await register_agency(session, code, NAMES[code], certificate=certificate_pem(ident.certificate),
                                    endpoint_url=endpoint, actor="test")
    # No in-process Harness here: clients are made per node with AxisClient(node.url, agent.token).
    return Agent(code, NAMES[code], reg.token, ident, harness=None)  # type: ignore[arg-type]


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
        nodes: list[Node] = []
        try:
            a = await register(sessions, test_ca, identities, A)
            b = await register(sessions, test_ca, identities, B)
            c = await register(sessions, test_ca, identities, C, endpoint=str(endpoint.make_url(PATH)))
            receiver.organization, receiver.identity = c.organization, c.identity

            for i in (1, 2):
                nodes.append(Node(f"node{i}", home, db_url, tmp_path))
            # Sign the documents while the nodes start.
            signed_docs = await asyncio.to_thread(
                lambda: [a.document([b, c], subject=f"Văn bản số {i} gửi qua hai nút trục")[1]
                         for i in range(DOCUMENTS)]
            )
            async with aiohttp.ClientSession() as http:
                for node in nodes:
                    await node.wait_ready(http)
                setup_done = time.monotonic()
                try:
                    await _exchange(nodes, a, b, signed_docs, receiver, sessions, axis_cert, http)
                except BaseException:
                    for node in nodes:
                        print(f"--- {node.name} log tail ---\n{node.log_tail()}", file=sys.stderr)
                    raise
                exchange_done = time.monotonic()

                # Both nodes pushed, and together they pushed each document exactly once.
                attempts = [await node.push_attempts(http) for node in nodes]
                assert all(at.get("delivered", 0) > 0 for at in attempts), attempts
                assert sum(at.get("delivered", 0) for at in attempts) == DOCUMENTS, attempts
                assert sum(at.get("error", 0) for at in attempts) == 0, attempts
                for node in nodes:
                    assert node.process.poll() is None, f"{node.name} died:\n{node.log_tail()}"
            print(f"two nodes: setup {setup_done - started:.1f}s, "
                  f"{DOCUMENTS} documents exchanged in {exchange_done - setup_done:.1f}s; push attempts {attempts}")
        finally:
            for node in nodes:
                node.stop()
            await endpoint.close()
            await engine.dispose()


async def _exchange(nodes: list[Node], a: Agent, b: Agent, signed_docs: list[bytes], receiver: PushReceiver,
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
