"""A node frozen (SIGSTOP) past its lease while it holds push claims sends nothing twice.

Two `axis serve` nodes on PostgreSQL push 300 documents to one receiver (in this process, which
counts the POSTs it is sent and answers each after 0.2 s, so pushes are in flight). While node 2
holds claims, it is stopped for the lease plus 10 s, then continued. Every document must reach the
receiver in exactly one POST: the claims node 2 had not yet sent lapse and go to node 1; the POSTs
it had in flight keep their (longer) lease, and their answers, already in its socket buffers when
it resumes, are read before any timeout counts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from axis.agency.client import AxisClient
from axis.agency.receiver import PATH, PushReceiver
from axis.bench.server import ServerProcess
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity, load_certificate
from storage.db import create_engine, session_factory
from storage.models import Delivery, DeliveryState
from tests.databases import ENV, fresh_database, postgres_server
from tests.harness import register_in_database

A, C = "000.00.00.G22", "000.00.00.H41"
DOCUMENTS = 300
LEASE = 20
AXIS = Path(sys.executable).with_name("axis")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


@dataclass
class SlowReceiver(PushReceiver):
    """The reference receiver, answering each push after a moment (pushes are in flight when the node stops)."""

    #: Message ids whose POST is being handled now.
    pending: set[str] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        """Wait, then answer as the reference receiver does."""
        message_id = request.headers.get("X-Axis-Message-Id", "")
        self.pending.add(message_id)
        try:
            await asyncio.sleep(0.2)
            return await super().handle(request)
        finally:
            self.pending.discard(message_id)


async def _claimed_by(sessions: Any, node: ServerProcess) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.claimed_by.like(f"%:{node.pid}:%"), Delivery.state == DeliveryState.PUSHING.value))).scalar_one())


async def _posting(sessions: Any, node: ServerProcess, message_ids: set[str]) -> bool:
    """True when ``node`` holds a delivery whose POST the receiver is handling now (its answer not yet sent)."""
    if not message_ids:
        return False
    async with sessions() as session:
        return bool((await session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.claimed_by.like(f"%:{node.pid}:%"), Delivery.message_id.in_(message_ids)))).scalar_one())


async def _delivered(sessions: Any) -> int:
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.state == DeliveryState.DELIVERED.value))).scalar_one())


async def test_a_node_stopped_past_its_lease_sends_each_document_once(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, await postgres_server())
    secrets = tmp_path / "secrets"
    key_file, cert_file = secrets / "axis.key.pem", secrets / "axis.cert.pem"
    async with fresh_database(tmp_path) as db_url:
        await asyncio.to_thread(upgrade, db_url)
        base = {**os.environ, "AXIS_DATABASE_URL": db_url, "AXIS_HOME": str(tmp_path / "operator")}
        init = await asyncio.to_thread(subprocess.run, [str(AXIS), "keys", "init", "--key-file", str(key_file),
                                                        "--certificate-file", str(cert_file)],
                                       env=base, capture_output=True, text=True, timeout=120)
        assert init.returncode == 0, init.stderr
        engine = create_engine(db_url)
        sessions = session_factory(engine)
        receiver = SlowReceiver(organization=None, identity=None)  # type: ignore[arg-type]
        endpoint = TestServer(receiver.app(), host="127.0.0.1")
        await endpoint.start_server()
        nodes: list[ServerProcess] = []
        stopped = False
        try:
            a = await register_in_database(sessions, test_ca, identities, A)
            c = await register_in_database(sessions, test_ca, identities, C, endpoint=str(endpoint.make_url(PATH)))
            receiver.organization, receiver.identity = c.organization, c.identity
            receiver.axis_certificate = load_certificate(cert_file.read_bytes())
            receiver.senders = {A: a.identity.certificate}
            env = {"AXIS_AXIS_KEY_FILE": str(key_file), "AXIS_AXIS_CERTIFICATE_FILE": str(cert_file),
                   "AXIS_CLAIM_LEASE_SECONDS": str(LEASE), "AXIS_DATABASE_IDLE_IN_TRANSACTION_SECONDS": "10",
                   "AXIS_PUSH_CONCURRENCY": "8", "AXIS_PUSH_ENDPOINT_CONCURRENCY": "8",
                   "AXIS_PUSH_TIMEOUT_SECONDS": "30", "AXIS_RETRY_BASE_SECONDS": "0.2", "AXIS_RETRY_MAX_SECONDS": "1"}
            for i in (1, 2):
                home = tmp_path / f"node{i}"
                home.mkdir()
                nodes.append(ServerProcess(home, db_url, tmp_path / f"node{i}.log", extra_env=env, name=f"node{i}"))
                nodes[-1].start()
            documents = await asyncio.to_thread(
                lambda: [a.document([c], subject=f"Văn bản {i} trong lúc một nút bị dừng")[1]
                         for i in range(DOCUMENTS)])
            for node in nodes:
                await asyncio.to_thread(node.wait_ready, 60.0)
            started = time.monotonic()

            async with aiohttp.ClientSession() as http, AxisClient(nodes[0].url, a.token, session=http) as client:
                queue = list(documents)

                async def submitter() -> None:
                    while queue:
                        await client.submit(queue.pop())

                sending = asyncio.gather(*(submitter() for _ in range(8)))
                deadline = time.monotonic() + 60
                # Stopped with a POST out and its answer (0.2 s later) not yet sent: it arrives while node 2 sleeps.
                while not await _posting(sessions, nodes[1], set(receiver.pending)):
                    assert time.monotonic() < deadline, "node 2 never pushed"
                    await asyncio.sleep(0.01)
                os.kill(nodes[1].pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
                stopped = True
                held = await _claimed_by(sessions, nodes[1])
                in_flight = sum(receiver.posts.values())
                await sending
                await asyncio.sleep(stopped_at + LEASE + 10 - time.monotonic())
                os.kill(nodes[1].pid, signal.SIGCONT)
                stopped = False

            deadline = time.monotonic() + 120
            while await _delivered(sessions) < DOCUMENTS:
                assert time.monotonic() < deadline, f"delivered {await _delivered(sessions)} of {DOCUMENTS}"
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)  # anything sent twice would arrive by now
            twice = {mid: n for mid, n in receiver.posts.items() if n > 1}
            print(f"pause test: node 2 held {held} claims when stopped ({in_flight} POSTs seen by then), "
                  f"{len(receiver.posts)} documents received, {sum(receiver.posts.values())} POSTs, "
                  f"{len(twice)} sent twice; {time.monotonic() - started:.0f} s")
            assert len(receiver.posts) == DOCUMENTS
            if twice:
                for node in nodes:
                    lines = [line for line in node.log_path.read_text(errors="replace").splitlines()
                             if any(mid in line for mid in twice) or "lease" in line or "Error" in line]
                    print(f"--- {node.name} ---", *lines[:40], sep="\n", file=sys.stderr)
            assert twice == {}, twice
            for node in nodes:
                assert node.alive(), node.log_tail()
        finally:
            if stopped:
                os.kill(nodes[1].pid, signal.SIGCONT)
            await asyncio.gather(*(asyncio.to_thread(node.stop) for node in nodes))
            await endpoint.close()
            await engine.dispose()
