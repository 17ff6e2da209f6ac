"""kill -9 under load: every acknowledged document is delivered to every recipient exactly once.

Real ``axis serve`` processes are driven over HTTP while they are killed with SIGKILL at random
moments and started again. A sends every document to B (pulls from its inbox and answers 01)
and C (a push endpoint in this process). Clients behave like a DMS: a submission that got no
answer is sent again with the same bytes, except that one in three of those cut in flight by a
kill are abandoned (their DMS died too), to check that a submission without a 202 is stored
whole or not at all.

At the end: every document that got a 202 is stored once and delivered once to B and once to C,
byte-identical; every stored payload (a database row or a blob file) exists and re-hashes to its
name (``axis fixity check``); the audit chain verifies (``axis audit verify``); no message lacks its
deliveries or its audit entry; the only blob files without a message are those of abandoned
submissions, and no payload row is without its message.

The fast variant (100 documents, 2 kills) runs in CI; the long ones (1,000 documents, 5 kills;
two nodes on PostgreSQL with one of them killed 5 times) run with ``make test-slow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from axis.agency.receiver import PATH, PushReceiver
from axis.archive.sealing import seal_now
from axis.bench.server import ServerProcess
from axis.identity import KeyFiles
from envelope.codes import StatusCode
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity, load_certificate
from storage.db import create_engine, session_factory
from storage.models import Agency, AuditEvent, Delivery, DeliveryState, Message, MessageKind, Payload, PayloadChunk
from tests.databases import ENV, fresh_database, postgres_server
from tests.harness import Agent, register_in_database

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
AXIS = Path(sys.executable).with_name("axis")
TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)
#: One submission in this many is abandoned when an attempt dies in flight (its DMS died too).
ABANDON_EVERY = 3


#: Settings of every node: fast retries, and a killed worker's claims lapse after 4 s (a push to loopback
#: takes milliseconds).
NODE_ENV = {
    "AXIS_RETRY_BASE_SECONDS": "0.2",
    "AXIS_RETRY_MAX_SECONDS": "1",
    "AXIS_CLAIM_LEASE_SECONDS": "4",
    "AXIS_PUSH_TIMEOUT_SECONDS": "3",
}


@dataclass
class Figures:
    """What happened, for the assertion messages and the printed summary."""

    documents: int = 0
    acknowledged: int = 0  # got a 202 (or a 200 for the same bytes sent again)
    first_answer_202: int = 0
    resubmissions: int = 0
    abandoned: int = 0
    abandoned_stored: int = 0
    kills: int = 0
    transient_errors: int = 0
    in_flight_at_kill: int = 0  # submissions whose request was cut by a kill
    unavailable_503: int = 0
    repushes: int = 0  # pushes of a message id the receiver already had (deduplicated by it)
    refetches: int = 0
    orphan_blobs: int = 0
    temp_files: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: list[str] = field(default_factory=list)

    def line(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if k != "unexpected"})


class Exchange:
    """The workload: A submits, B pulls and answers, C is pushed to, a killer kills."""

    def __init__(self, nodes: list[ServerProcess], killable: list[ServerProcess], a: Agent, b: Agent,
                 signed: list[bytes], receiver: PushReceiver, kills: int, seed: int) -> None:
        self.nodes = nodes
        self.killable = killable
        self.a, self.b = a, b
        self.signed = signed
        self.by_sha = {hashlib.sha256(s).hexdigest(): i for i, s in enumerate(signed)}
        self.receiver = receiver
        self.kills = kills
        self.rng = random.Random(seed)
        self.figures = Figures(documents=len(signed))
        self.acked: dict[int, str] = {}  # document index -> message id
        self.abandoned: set[int] = set()
        self.finished = asyncio.Event()
        self.pulled: dict[str, bytes] = {}
        self.pulls: Counter[str] = Counter()
        self.answers: dict[str, bytes] = {}
        self._turn = 0

    def node(self) -> ServerProcess:
        """The next node, round robin (a load balancer)."""
        self._turn += 1
        return self.nodes[self._turn % len(self.nodes)]

    async def request(self, http: aiohttp.ClientSession, method: str, path: str, token: str,
                      body: bytes | None = None) -> tuple[int, bytes]:
        node = self.node()
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/xml"
        async with http.request(method, node.url + path, data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=30)) as r:
            return r.status, await r.read()

    def _unexpected(self, what: str, status: int, body: bytes) -> None:
        self.figures.unexpected.append(f"{what}: {status} {body[:300]!r}")

    # --- A ------------------------------------------------------------------------------------------------

    async def submit_all(self, http: aiohttp.ClientSession) -> None:
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with gate:
                await self.submit(http, i)

        await asyncio.gather(*(one(i) for i in range(len(self.signed))))
        self.finished.set()

    async def submit(self, http: aiohttp.ClientSession, i: int) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                status, body = await self.request(http, "POST", "/api/v1/documents", self.a.token, self.signed[i])
            except aiohttp.ClientConnectorError:
                # Refused: the server is down and the request never reached it. Send it again.
                self.figures.transient_errors += 1
                await asyncio.sleep(0.1)
                continue
            except TRANSIENT:
                # In flight when the server died: stored or not, the client cannot know.
                self.figures.transient_errors += 1
                self.figures.in_flight_at_kill += 1
                if i % ABANDON_EVERY == 0:
                    self.abandoned.add(i)
                    self.figures.abandoned += 1
                    return
                await asyncio.sleep(0.1)
                continue
            if status == 503:
                self.figures.unavailable_503 += 1
                await asyncio.sleep(0.1)
                continue
            if status not in (200, 202):
                self._unexpected(f"submit {i}", status, body)
                return
            if attempt > 1:
                self.figures.resubmissions += 1
            if status == 202 and attempt == 1:
                self.figures.first_answer_202 += 1
            reply = json.loads(body)
            assert reply["sha256"] == hashlib.sha256(self.signed[i]).hexdigest()
            self.acked[i] = reply["id"]
            return

    # --- B ------------------------------------------------------------------------------------------------

    async def pull_all(self, http: aiohttp.ClientSession) -> None:
        gate = asyncio.Semaphore(8)
        empty_after_finish = 0
        while True:
            finished = self.finished.is_set()
            try:
                status, body = await self.request(http, "GET", "/api/v1/inbox?kind=edoc&limit=50", self.b.token)
            except TRANSIENT:
                await asyncio.sleep(0.1)
                continue
            if status == 503:
                await asyncio.sleep(0.1)
                continue
            if status != 200:
                self._unexpected("inbox", status, body)
                await asyncio.sleep(0.1)
                continue
            items = json.loads(body)["items"]
            if not items:
                empty_after_finish = empty_after_finish + 1 if finished else 0
                if empty_after_finish >= 3:
                    return
                await asyncio.sleep(0.1)
                continue

            async def take(item: dict[str, Any]) -> None:
                async with gate:
                    await self.take(http, item)

            await asyncio.gather(*(take(item) for item in items))

    async def take(self, http: aiohttp.ClientSession, item: dict[str, Any]) -> None:
        mid = item["id"]
        while True:  # fetch
            try:
                status, raw = await self.request(http, "GET", f"/api/v1/messages/{mid}", self.b.token)
            except TRANSIENT:
                await asyncio.sleep(0.1)
                continue
            if status == 503:
                await asyncio.sleep(0.1)
                continue
            if status != 200:
                self._unexpected(f"fetch {mid}", status, raw)
                return
            break
        assert hashlib.sha256(raw).hexdigest() == item["sha256"]
        assert hashlib.sha256(raw).hexdigest() in self.by_sha, "B got bytes nobody submitted"
        self.pulls[mid] += 1
        if mid in self.pulled:
            self.figures.refetches += 1
        self.pulled[mid] = raw
        if mid not in self.answers:  # the same signed 01 every time: a retry is a repeat, not a second receipt
            self.answers[mid] = await asyncio.to_thread(self.b.status, raw, StatusCode.ARRIVED, "Đã nhận")
        while True:  # answer
            try:
                status, body = await self.request(http, "POST", "/api/v1/statuses", self.b.token, self.answers[mid])
            except TRANSIENT:
                await asyncio.sleep(0.1)
                continue
            if status == 503:
                await asyncio.sleep(0.1)
                continue
            if status not in (200, 202):
                self._unexpected(f"status for {mid}", status, body)
            return

    # --- the killer ---------------------------------------------------------------------------------------

    async def kill_at_random_moments(self) -> None:
        n = len(self.signed)
        # Kill points spread over the run by progress, each at a random moment within its stretch.
        points = sorted(self.rng.uniform(0.1, 0.85) * n for _ in range(self.kills))
        for point in points:
            while len(self.acked) + len(self.abandoned) < point:
                await asyncio.sleep(0.01)
            await asyncio.sleep(self.rng.uniform(0.0, 0.3))
            victim = self.rng.choice(self.killable)
            victim.kill()
            self.figures.kills += 1
            await asyncio.sleep(self.rng.uniform(0.0, 0.5))
            victim.start()
            await asyncio.to_thread(victim.wait_ready)


def _axis_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AXIS), *args], env=env, capture_output=True, text=True, timeout=300)


async def run_crash_scenario(tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity], *,
                             documents: int, kills: int, nodes: int = 1, seed: int = 20261120,
                             database_url: str | None = None, settle: float = 60.0) -> Figures:
    """Run the whole scenario on a fresh database; return the figures (asserting every invariant)."""
    home = tmp_path / "home"
    async with contextlib.AsyncExitStack() as stack:
        if database_url is None:
            database_url = await stack.enter_async_context(fresh_database(tmp_path))
        await asyncio.to_thread(upgrade, database_url)
        env = {**os.environ, "AXIS_HOME": str(home), "AXIS_DATABASE_URL": database_url}
        init = await asyncio.to_thread(_axis_command, env, "keys", "init")
        assert init.returncode == 0, init.stderr

        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        receiver = PushReceiver(organization=None, identity=None)  # type: ignore[arg-type]
        endpoint = TestServer(receiver.app(), host="127.0.0.1")
        await endpoint.start_server()
        stack.push_async_callback(endpoint.close)

        a = await register_in_database(sessions, test_ca, identities, A)
        b = await register_in_database(sessions, test_ca, identities, B)
        c = await register_in_database(sessions, test_ca, identities, C, endpoint=str(endpoint.make_url(PATH)))
        receiver.organization, receiver.identity = c.organization, c.identity
        receiver.axis_certificate = load_certificate(KeyFiles(home / "keys").axis_cert.read_bytes())
        receiver.senders = {A: a.identity.certificate}

        procs = [ServerProcess(home, database_url, tmp_path / f"node{i + 1}.log", extra_env=NODE_ENV,
                               name=f"node{i + 1}") for i in range(nodes)]
        for p in procs:
            stack.callback(p.stop)
            p.start()
        signed = await asyncio.to_thread(
            lambda: [a.document([b, c], subject=f"Văn bản số {i} gửi trong lúc trục bị tắt đột ngột")[1]
                     for i in range(documents)])
        http = await stack.enter_async_context(aiohttp.ClientSession())
        for p in procs:
            await asyncio.to_thread(p.wait_ready)

        # With two nodes, one is killed and the other keeps serving; with one, it is killed.
        exchange = Exchange(procs, procs[:1], a, b, signed, receiver, kills, seed)
        started = time.monotonic()
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(exchange.submit_all(http))
                tasks.create_task(exchange.pull_all(http))
                tasks.create_task(exchange.kill_at_random_moments())
            # The load is over; what is still queued or claimed must get delivered within ``settle`` seconds.
            await _wait_until_delivered(sessions, time.monotonic() + settle)
        except BaseException:
            for p in procs:
                print(f"--- {p.name} log tail ---\n{p.log_tail()}", file=sys.stderr)
            raise
        elapsed = time.monotonic() - started
        for p in procs:
            assert p.process is not None and p.process.poll() is None, f"{p.name} died:\n{p.log_tail()}"
            p.stop()

        figures = await _verify(sessions, exchange, home / "blobs", env)
        print(f"\ncrash scenario ({nodes} node(s), {make_url(database_url).get_backend_name()}): "
              f"{elapsed:.1f}s: {figures.line()}")
        return figures


async def _edoc_state(sessions) -> tuple[int, Counter[str]]:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        messages = (await session.execute(
            select(func.count()).select_from(Message).where(Message.kind == MessageKind.EDOC.value))).scalar_one()
        states = Counter(dict((await session.execute(
            select(Delivery.state, func.count()).join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == MessageKind.EDOC.value).group_by(Delivery.state))).all()))
    return messages, states


async def _wait_until_delivered(sessions, deadline: float) -> None:  # type: ignore[no-untyped-def]
    """Until every stored document is delivered to both recipients (B already pulled everything)."""
    while True:
        messages, states = await _edoc_state(sessions)
        assert not states.get(DeliveryState.FAILED.value), states
        if messages and states == Counter({DeliveryState.DELIVERED.value: 2 * messages}):
            return
        if time.monotonic() > deadline:
            async with sessions() as session:
                pending = (await session.execute(
                    select(Delivery).where(Delivery.state != DeliveryState.DELIVERED.value))).scalars().all()
            detail = [(d.id, d.message_id, d.state, d.attempts, d.claimed_by, str(d.claimed_until), d.last_error)
                      for d in pending[:20]]
            pytest.fail(f"not all delivered in time: {messages} documents, {dict(states)}; "
                        f"now {dt.datetime.now(dt.UTC)}; pending {detail}")
        await asyncio.sleep(0.2)


async def _verify(sessions, exchange: Exchange, blob_root: Path, env: dict[str, str]) -> Figures:  # type: ignore[no-untyped-def]
    f = exchange.figures
    assert not f.unexpected, "\n".join(f.unexpected[:20])
    await seal_now(sessions)  # a killed server may leave entries queued; they must all be there
    async with sessions() as session:
        messages = (await session.execute(select(Message))).scalars().all()
        deliveries = (await session.execute(select(Delivery))).scalars().all()
        codes = dict((await session.execute(select(Agency.id, Agency.code))).all())
        received_events = Counter(dict((await session.execute(
            select(AuditEvent.subject, func.count()).where(AuditEvent.action.in_(("edoc.received", "status.received")))
            .group_by(AuditEvent.subject))).all()))
    by_id = {m.id: m for m in messages}
    edocs = {m.id: m for m in messages if m.kind == MessageKind.EDOC.value}
    deliveries_of: dict[str, list[Delivery]] = {}
    for d in deliveries:
        deliveries_of.setdefault(d.message_id, []).append(d)

    # 1. Every acknowledged document is stored exactly once, under the id its 202 named.
    stored_index = Counter(exchange.by_sha[m.sha256] for m in edocs.values())
    f.duplicated = sum(n - 1 for n in stored_index.values() if n > 1)
    f.lost = sum(1 for i, mid in exchange.acked.items() if mid not in edocs or stored_index[i] != 1)
    assert f.duplicated == 0 and f.lost == 0, (f.duplicated, f.lost)
    f.acknowledged = len(exchange.acked)
    # Abandoned submissions: stored whole (and then delivered like the others) or not at all.
    never_acked = set(range(len(exchange.signed))) - set(exchange.acked)
    assert never_acked == exchange.abandoned
    f.abandoned_stored = sum(1 for i in exchange.abandoned if stored_index[i])
    assert set(stored_index) == set(exchange.acked) | {i for i in exchange.abandoned if stored_index[i]}

    # 2. Each document has exactly its two deliveries, both delivered, each with one receipt 01 from
    #    that recipient; no message lacks its deliveries or its audit entry.
    status_count = Counter((m.response_for_id, m.sender_id, m.status_code) for m in messages
                           if m.kind == MessageKind.STATUS.value)
    for mid in edocs:
        ds = deliveries_of.get(mid, [])
        assert sorted(codes[d.recipient_id] for d in ds) == [B, C], (mid, [codes[d.recipient_id] for d in ds])
        for d in ds:
            assert d.state == DeliveryState.DELIVERED.value and d.receipt_message_id in by_id, (mid, d.state)
            receipt = by_id[d.receipt_message_id]
            assert receipt.status_code == "01" and receipt.sender_id == d.recipient_id
            assert status_count[(mid, d.recipient_id, "01")] == 1, "a second receipt for one delivery"
    for m in messages:
        if m.sender_id in codes and codes[m.sender_id] in (A, B, C):
            assert received_events[m.id] == 1, f"message {m.id} has {received_events[m.id]} received audit entries"
        if m.kind == MessageKind.STATUS.value:
            assert len(deliveries_of.get(m.id, [])) == 1, f"status {m.id} without its delivery"

    # 3. Byte-identical at both recipients; each pushed and pulled once as far as they are concerned.
    for mid, m in edocs.items():
        original = exchange.signed[exchange.by_sha[m.sha256]]
        assert exchange.pulled.get(mid) == original, f"B's copy of {mid} differs or is missing"
        assert exchange.receiver.received.get(mid) == original, f"C's copy of {mid} differs or is missing"
    assert set(exchange.pulled) == set(edocs) and set(exchange.receiver.received) == set(edocs)
    f.repushes = sum(n - 1 for n in exchange.receiver.posts.values() if n > 1)

    # 4. Payloads and database agree: every message's payload is there (a row of the payloads table,
    #    or a blob file) and hashes to its name; a row is never without its message (they commit
    #    together); blob files that no message names are only those of abandoned submissions that
    #    were never stored.
    files = {p.name: p for p in blob_root.rglob("*") if p.is_file() and p.parent.name != "tmp"}
    f.temp_files = sum(1 for p in (blob_root / "tmp").glob("*")) if (blob_root / "tmp").exists() else 0
    async with sessions() as session:
        rows = {sha: data for sha, data in (await session.execute(select(Payload.sha256, Payload.data))).all()}
        # On the database payload backend, large payloads are chunk rows (written before their message, like files).
        chunked: dict[str, bytes] = {}
        for sha, data in (await session.execute(select(PayloadChunk.sha256, PayloadChunk.data)
                                                .order_by(PayloadChunk.sha256, PayloadChunk.seq))).all():
            chunked[sha] = chunked.get(sha, b"") + data
    assert set(rows) <= {m.sha256 for m in messages}, "a payload row without its message"
    for m in messages:
        if m.sha256 in rows:
            data = rows[m.sha256]
        elif m.sha256 in chunked:
            data = chunked[m.sha256]
        else:
            assert m.sha256 in files, f"payload of {m.id} is missing"
            data = files[m.sha256].read_bytes()
        assert hashlib.sha256(data).hexdigest() == m.sha256
    orphans = (set(files) | set(chunked)) - {m.sha256 for m in messages}
    f.orphan_blobs = len(orphans)
    abandoned_unstored = {hashlib.sha256(exchange.signed[i]).hexdigest() for i in exchange.abandoned
                          if not stored_index[i]}
    assert orphans <= abandoned_unstored, f"blobs nobody can explain: {sorted(orphans - abandoned_unstored)[:5]}"

    # 5. The operator's own checks agree.
    fixity = await asyncio.to_thread(_axis_command, env, "fixity", "check", "--json")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr
    report = json.loads(fixity.stdout)
    assert report["failed"] == 0 and report["checked"] >= len({m.sha256 for m in messages}), report
    audit = await asyncio.to_thread(_axis_command, env, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    return f


# --- the tests -----------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
async def test_kill9_twice_while_100_documents_flow_loses_nothing_and_delivers_once(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]
) -> None:
    figures = await run_crash_scenario(tmp_path, test_ca, identities, documents=100, kills=2)
    assert figures.kills == 2 and figures.lost == 0 and figures.duplicated == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_kill9_five_times_while_1000_documents_flow_loses_nothing_and_delivers_once(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]
) -> None:
    figures = await run_crash_scenario(tmp_path, test_ca, identities, documents=1000, kills=5, seed=7)
    assert figures.kills == 5 and figures.lost == 0 and figures.duplicated == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_two_nodes_on_postgresql_one_killed_five_times_lose_nothing_and_deliver_once(
    tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, await postgres_server())
    figures = await run_crash_scenario(tmp_path, test_ca, identities, documents=1000, kills=5, nodes=2, seed=11)
    assert figures.kills == 5 and figures.lost == 0 and figures.duplicated == 0
