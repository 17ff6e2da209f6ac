"""Three `axis serve` nodes share nothing but PostgreSQL: own AXIS_HOME each, payloads in the database.

A (pull) sends small documents and one over the inline limit (about 20 MB) to node 1, for B (pull)
and C (push, a reference receiver in this process). B fetches every document from node 2 and
answers 01 there; C is pushed each one by whichever node claims it. Node 3 is killed with SIGKILL
while pushes are in flight and started again. Each node is given the same axis key and certificate
files by its "deployment" (settings pointing outside its AXIS_HOME).

At the end: every document stored once, delivered once to B and once to C, byte-identical; the
large one kept as 1 MiB rows, not as a file; no node wrote a payload or a key into its own
directory; `axis fixity check` passes when run with each node's settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
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
from envelope.codes import StatusCode
from envelope.model import Attachment
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity, load_certificate
from signing.receipt import verify_submission_receipt
from storage.archive_models import Blob
from storage.db import create_engine, session_factory
from storage.models import Agency, Delivery, DeliveryState, Message, MessageKind, Payload, PayloadChunk
from tests.databases import ENV, fresh_database, postgres_server
from tests.harness import Agent, register_in_database

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
SMALL = 40
#: The attachment of the large document: its base64 makes the signed message about 20 MB.
LARGE_ATTACHMENT = 15 * 2**20
AXIS = Path(sys.executable).with_name("axis")

pytestmark = pytest.mark.timeout(240)


class SlowReceiver(PushReceiver):
    """A push endpoint that takes a moment per document, so that pushes are in flight when a node is killed."""

    async def handle(self, request: web.Request) -> web.Response:
        """Wait, then answer as the reference receiver does."""
        await asyncio.sleep(0.3)
        return await super().handle(request)


def _run_axis(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AXIS), *args], env=env, capture_output=True, text=True, timeout=180)


async def test_three_nodes_with_their_own_homes_share_only_postgresql(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    server = await postgres_server()
    monkeypatch.setenv(ENV, server)
    # What a deployment hands every node: the same key and certificate files, outside any AXIS_HOME.
    secrets = tmp_path / "deployment-secrets"
    key_file, cert_file = secrets / "axis.key.pem", secrets / "axis.cert.pem"
    homes = [tmp_path / f"node{i}" for i in (1, 2, 3)]

    async with fresh_database(tmp_path) as db_url:
        await asyncio.to_thread(upgrade, db_url)
        base = {**os.environ, "AXIS_DATABASE_URL": db_url, "AXIS_BLOB_BACKEND": "database",
                "AXIS_AXIS_KEY_FILE": str(key_file), "AXIS_AXIS_CERTIFICATE_FILE": str(cert_file)}
        init = await asyncio.to_thread(
            _run_axis, ["keys", "init", "--key-file", str(key_file), "--certificate-file", str(cert_file)],
            {**base, "AXIS_HOME": str(tmp_path / "operator")})
        assert init.returncode == 0, init.stderr
        axis_cert = load_certificate(cert_file.read_bytes())
        node_env = {"AXIS_BLOB_BACKEND": "database", "AXIS_AXIS_KEY_FILE": str(key_file),
                    "AXIS_AXIS_CERTIFICATE_FILE": str(cert_file), "AXIS_RETRY_BASE_SECONDS": "0.2",
                    "AXIS_RETRY_MAX_SECONDS": "1", "AXIS_CLAIM_LEASE_SECONDS": "4",
                    "AXIS_PUSH_TIMEOUT_SECONDS": "20"}

        engine = create_engine(db_url)
        sessions = session_factory(engine)
        receiver = SlowReceiver(organization=None, identity=None)  # type: ignore[arg-type]
        endpoint = TestServer(receiver.app(), host="127.0.0.1")
        await endpoint.start_server()
        nodes: list[ServerProcess] = []
        try:
            a = await register_in_database(sessions, test_ca, identities, A)
            b = await register_in_database(sessions, test_ca, identities, B)
            c = await register_in_database(sessions, test_ca, identities, C, endpoint=str(endpoint.make_url(PATH)))
            receiver.organization, receiver.identity = c.organization, c.identity
            receiver.axis_certificate, receiver.senders = axis_cert, {A: a.identity.certificate}
            for i, home in enumerate(homes, 1):
                home.mkdir()
                # Nodes 1 and 2 push one at a time, so that a backlog builds up and node 3 takes its share.
                env = {**node_env, "AXIS_PUSH_CONCURRENCY": "8" if i == 3 else "1"}
                node = ServerProcess(home, db_url, tmp_path / f"node{i}.log", extra_env=env, name=f"node{i}")
                nodes.append(node)
                node.start()
            documents = await asyncio.to_thread(_sign_documents, a, b, c)
            for node in nodes:
                await asyncio.to_thread(node.wait_ready, 60.0)
            ready = time.monotonic()
            try:
                submitted = await _exchange(nodes, a, b, documents, sessions, axis_cert)
                await _everything_delivered_once(sessions, submitted, receiver)
            except BaseException:
                for node in nodes:
                    print(f"--- {node.name} log tail ---\n{node.log_tail()}", file=sys.stderr)
                raise
            exchanged = time.monotonic()
            assert nodes[2].kills == 1 and nodes[2].starts == 2
            for node in nodes:
                assert node.alive(), f"{node.name} died:\n{node.log_tail()}"
        finally:
            await asyncio.gather(*(asyncio.to_thread(node.stop) for node in nodes))
            await endpoint.close()

        try:
            # The large document is kept as 1 MiB rows in PostgreSQL; the small ones inline.
            large_sha = next(sha for sha, raw in ((s, r) for s, r in submitted.values()) if len(raw) > 2**20)
            async with sessions() as session:
                chunks = (await session.execute(
                    select(func.count()).select_from(PayloadChunk).where(PayloadChunk.sha256 == large_sha))).scalar()
                inline = (await session.execute(select(func.count()).select_from(Payload))).scalar_one()
                blobs = (await session.execute(select(func.count()).select_from(Blob))).scalar_one()
            large_size = len(next(raw for sha, raw in submitted.values() if sha == large_sha))
            assert chunks == -(-large_size // 2**20)
            assert inline >= SMALL
            # Nothing but spool space under any node's home: no payload file, no key, no temp file left.
            for home in homes:
                leftovers = [p.relative_to(home) for p in home.rglob("*") if p.is_file() and p.suffix != ".log"]
                assert leftovers == [], f"{home.name} keeps files of its own: {leftovers}"

            # Fixity re-hashes every payload from the database, with each node's settings.
            checks = await asyncio.gather(*(asyncio.to_thread(_run_axis, ["fixity", "check", "--json"],
                                                              {**base, "AXIS_HOME": str(home)}) for home in homes))
            for check in checks:
                assert check.returncode == 0, check.stdout + check.stderr
                report = json.loads(check.stdout)
                assert report["checked"] == blobs and report["failed"] == 0, report
        finally:
            await engine.dispose()
        print(f"three nodes: ready after {ready - started:.1f}s, {SMALL} small + 1 large "
              f"({large_size / 2**20:.1f} MB) exchanged in {exchanged - ready:.1f}s, "
              f"total {time.monotonic() - started:.1f}s; push posts {sum(receiver.posts.values())}")


def _sign_documents(a: Agent, b: Agent, c: Agent) -> list[bytes]:
    docs = [a.document([b, c], subject=f"Văn bản số {i} qua ba nút trục")[1] for i in range(SMALL)]
    big = Attachment("cid:1", "ho-so-quy-hoach.zip", "application/zip", os.urandom(LARGE_ATTACHMENT))
    # The large one in the middle: it is being pushed when node 3 is killed.
    docs.insert(SMALL // 2, a.document([b, c], subject="Hồ sơ quy hoạch (dung lượng lớn)", attachments=[big])[1])
    return docs


async def _claimed_by(sessions: Any, node: ServerProcess) -> int:
    """How many deliveries ``node``'s push worker holds right now (its worker id carries its pid)."""
    async with sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Delivery).where(
            Delivery.claimed_by.like(f"%:{node.pid}:%"), Delivery.state == DeliveryState.PUSHING.value))).scalar_one())


async def _exchange(nodes: list[ServerProcess], a: Agent, b: Agent, documents: list[bytes], sessions: Any,
                    axis_cert: Any) -> dict[str, tuple[str, bytes]]:
    """Submit to node 1, kill and restart node 3 mid-run, B pulls from node 2; return id -> (sha256, bytes)."""
    submitted: dict[str, tuple[str, bytes]] = {}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with AxisClient(nodes[0].url, a.token, session=http) as to_node1:
            for i, signed in enumerate(documents):
                reply = await to_node1.submit(signed)
                assert [r["organ_id"] for r in reply["recipients"]] == [B, C]
                assert verify_submission_receipt(reply["receipt"].encode(), axis_cert).message_id == reply["id"]
                submitted[reply["id"]] = (reply["sha256"], signed)
                if i == SMALL // 2 + 3:
                    # Node 3 dies while it is pushing (its claims lapse and another node pushes again).
                    deadline = time.monotonic() + 60
                    while not await _claimed_by(sessions, nodes[2]):
                        assert time.monotonic() < deadline, "node 3 never claimed a push"
                        await asyncio.sleep(0.02)
                    nodes[2].kill()
        nodes[2].start()  # back while B fetches

        fetched: Counter[str] = Counter()
        async with AxisClient(nodes[1].url, b.token, session=http) as from_node2:
            deadline = time.monotonic() + 120
            while len(fetched) < len(submitted):
                assert time.monotonic() < deadline, f"B fetched {len(fetched)} of {len(submitted)}"
                items = (await from_node2.inbox(kind="edoc", limit=50))["items"]
                for item in items:
                    raw = await from_node2.fetch(item["id"])
                    assert raw == submitted[item["id"]][1], f"{item['id']} not byte-identical from node 2"
                    await from_node2.post_status(await asyncio.to_thread(b.status, raw, StatusCode.ARRIVED, "Đã nhận"))
                    fetched[item["id"]] += 1
                if not items:
                    await asyncio.sleep(0.1)
        assert set(fetched.values()) == {1}
        await asyncio.to_thread(nodes[2].wait_ready, 60.0)
    return submitted


async def _everything_delivered_once(sessions: Any, submitted: dict[str, tuple[str, bytes]],
                                     receiver: PushReceiver) -> None:
    """Every document stored once and delivered once to B and to C, byte for byte."""
    deadline = time.monotonic() + 90
    want = {(B, DeliveryState.DELIVERED.value): len(submitted), (C, DeliveryState.DELIVERED.value): len(submitted)}
    while True:
        async with sessions() as session:
            states = {(code, state): n for code, state, n in (await session.execute(
                select(Agency.code, Delivery.state, func.count())
                .join(Agency, Agency.id == Delivery.recipient_id)
                .join(Message, Message.id == Delivery.message_id)
                .where(Message.kind == MessageKind.EDOC.value)
                .group_by(Agency.code, Delivery.state)
            )).all()}
        if states == want:
            break
        assert not any(state == DeliveryState.FAILED.value for _, state in states), states
        assert time.monotonic() < deadline, f"not all delivered: {states}"
        await asyncio.sleep(0.2)
    async with sessions() as session:
        stored = Counter((await session.execute(
            select(Message.sha256).where(Message.kind == MessageKind.EDOC.value))).scalars())
        receipts = (await session.execute(
            select(func.count()).select_from(Delivery).join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == MessageKind.EDOC.value, Delivery.receipt_message_id.is_not(None)))).scalar_one()
    assert stored == Counter(sha for sha, _ in submitted.values())  # 0 lost, 0 stored twice
    assert receipts == 2 * len(submitted)
    # C holds each document once, byte-identical (a push cut by the kill is repeated; C drops the repeat).
    assert receiver.received == {mid: raw for mid, (_, raw) in submitted.items()}
    assert set(receiver.posts) == set(submitted)
