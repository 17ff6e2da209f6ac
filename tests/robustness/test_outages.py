"""Outages: a push recipient that is gone, a database that goes away, a disk that fills up.

The axis reports what it cannot do (``/healthz`` 503, ``AXIS.Unavailable`` 503), acknowledges
nothing it has not stored, and recovers by itself once the outage ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.engine import make_url

from axis.agency.receiver import PATH, PushReceiver
from envelope.codes import StatusCode
from storage.models import Delivery, DeliveryState, Message
from storage.payloads import files as blob_module
from tests.databases import backend
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Harness

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
DOCUMENTS, STATUSES = "/api/v1/documents", "/api/v1/statuses"


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll an async predicate until it holds."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        await asyncio.sleep(0.05)


async def healthy(axis: Harness) -> bool:
    reply = await call(axis, "GET", "/healthz")
    return reply.status == 200 and reply.json()["status"] == "ok"


# --- a failing blob write: disk full, I/O error ---------------------------------------------------------------


def _payloads_as_files(axis: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the database payload backend too: what fails here is a file write (rows failing is a database outage)."""
    monkeypatch.setattr(axis.ctx.payloads, "backend", axis.ctx.payloads.file_backend)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO, errno.EROFS], ids=errno.errorcode.get)
async def test_failing_blob_write_answers_503_and_stores_nothing(
    axis: Harness, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    doc, first = a.document([b])
    _, signed = a.document([b])
    accepted = await call(axis, "POST", DOCUMENTS, token=a, data=first)
    assert accepted.status == 202
    status = b.status(doc, StatusCode.ARRIVED, "Đã nhận")
    before = await snapshot(axis)

    def disk_full(fd: int) -> None:
        raise OSError(error, os.strerror(error))

    # The temp file is written, then fsync fails, as on a full or broken disk. Small payloads are
    # kept in the database, not written as files: here every payload is a file.
    monkeypatch.setattr(blob_module.os, "fsync", disk_full)
    monkeypatch.setattr(axis.ctx.payloads, "inline_max_bytes", 0)
    _payloads_as_files(axis, monkeypatch)
    for path, agent, body in ((DOCUMENTS, a, signed), (STATUSES, b, status)):
        reply = await call(axis, "POST", path, token=agent, data=body)
        problem = assert_problem(reply, 503, "AXIS.Unavailable")
        assert "Traceback" not in problem["detail"]
    await assert_nothing_stored(axis, before)  # not even a temp file is left behind
    assert await healthy(axis)  # the database is fine; reading still works
    inbox = await call(axis, "GET", "/api/v1/inbox", token=b)
    assert inbox.status == 200 and len(inbox.json()["items"]) == 1

    monkeypatch.undo()
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body
    fetched = await call(axis, "GET", f"/api/v1/messages/{reply.json()['id']}", token=b)
    assert fetched.body == signed


async def test_blob_directory_replaced_by_a_file_answers_503_then_recovers(
    axis: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permission bits, so "unwritable" is simulated by a file where a directory must be.
    monkeypatch.setattr(axis.ctx.payloads, "inline_max_bytes", 0)  # every payload a file, none in the database
    _payloads_as_files(axis, monkeypatch)
    a, b = await axis.register(A), await axis.register(B)
    _, signed = a.document([b])
    tmp_dir = axis.ctx.blobs.root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp_dir)
    tmp_dir.write_bytes(b"not a directory")
    before = await snapshot(axis)
    try:
        assert_problem(await call(axis, "POST", DOCUMENTS, token=a, data=signed), 503, "AXIS.Unavailable")
        await assert_nothing_stored(axis, before)
    finally:
        tmp_dir.unlink()
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202


# --- the database goes away -----------------------------------------------------------------------------------


class DatabaseOutage:
    """Make the test server's database unreachable, and bring it back."""

    def __init__(self, axis: Harness) -> None:
        self.axis = axis
        self.url = make_url(axis.ctx.settings.resolved_database_url)

    async def begin(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            # Close every pooled connection, then put a directory where the file was:
            # new connections fail with "unable to open database file".
            await self.axis.ctx.engine.dispose()
            db = Path(self.url.database or "")
            self.aside = db.with_name(db.name + ".aside")
            db.rename(self.aside)
            for suffix in ("-wal", "-shm"):
                extra = db.with_name(db.name + suffix)
                if extra.exists():
                    extra.rename(self.aside.with_name(self.aside.name + suffix))
            db.mkdir()
        else:
            # Refuse new connections to the database and cut the existing ones.
            async with self._admin() as conn:
                await conn.execute(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS false')
                await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = $1 AND pid <> pg_backend_pid()", self.url.database)

    async def end(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            db = Path(self.url.database or "")
            db.rmdir()
            for suffix in ("-wal", "-shm"):
                extra = self.aside.with_name(self.aside.name + suffix)
                if extra.exists():
                    extra.rename(db.with_name(db.name + suffix))
            self.aside.rename(db)
        else:
            async with self._admin() as conn:
                await conn.execute(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS true')

    @contextlib.asynccontextmanager
    async def _admin(self) -> AsyncIterator[asyncpg.Connection]:
        dsn = self.url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()


async def test_database_outage_reports_unhealthy_refuses_work_with_503_and_recovers_by_itself(
    axis: Harness,
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    first_doc, first = a.document([b])
    accepted = await call(axis, "POST", DOCUMENTS, token=a, data=first)
    assert accepted.status == 202
    _, during = a.document([b], subject="Gửi trong lúc cơ sở dữ liệu gián đoạn")
    blobs_before = {p.name for p in axis.ctx.blobs.root.rglob("*") if p.is_file()}

    outage = DatabaseOutage(axis)
    await outage.begin()
    try:
        health = await call(axis, "GET", "/healthz")
        assert health.status == 503 and health.json()["status"] == "unhealthy", health.body
        for method, path, token, body in (
            ("POST", DOCUMENTS, a, during),
            ("POST", STATUSES, b, b.status(first_doc, StatusCode.ARRIVED)),
            ("GET", "/api/v1/inbox", b, None),
            ("GET", f"/api/v1/messages/{accepted.json()['id']}", b, None),
        ):
            reply = await call(axis, method, path, token=token, data=body)
            assert_problem(reply, 503, "AXIS.Unavailable")
        # Nothing half-written while the database was away: not even the blob.
        assert {p.name for p in axis.ctx.blobs.root.rglob("*") if p.is_file()} == blobs_before
    finally:
        await outage.end()

    # No restart, no operator: the next requests simply work.
    await wait_for(lambda: healthy(axis), what="healthy again")
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=during)
    assert reply.status == 202, reply.body
    async with axis.ctx.sessions() as session:
        assert len((await session.execute(select(Message))).scalars().all()) == 2


def _pg_restart_possible() -> bool:
    return backend() == "postgresql" and shutil.which("pg_ctlcluster") is not None and os.geteuid() == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_postgresql_restarted_under_load_is_survived_without_losing_an_acknowledged_document(
    axis: Harness,
) -> None:
    """Restart the whole PostgreSQL cluster while documents are being submitted (slow, PostgreSQL only)."""
    if not _pg_restart_possible():
        pytest.skip("needs AXIS_TEST_DATABASE_URL on the local cluster, pg_ctlcluster and root")
    version = sorted(os.listdir("/etc/postgresql"))[0]
    a, b = await axis.register(A), await axis.register(B)
    signed = [a.document([b], subject=f"Văn bản {i} trong lúc khởi động lại")[1] for i in range(200)]
    answers: dict[int, list[int]] = {i: [] for i in range(len(signed))}
    saw_unhealthy = asyncio.Event()

    async def submit(i: int) -> str:
        while True:
            reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed[i])
            answers[i].append(reply.status)
            if reply.status in (200, 202):
                return reply.json()["id"]
            assert_problem(reply, 503, "AXIS.Unavailable")
            await asyncio.sleep(0.2)

    async def watch_health() -> None:
        while not saw_unhealthy.is_set():
            if (await call(axis, "GET", "/healthz")).status == 503:
                saw_unhealthy.set()
            await asyncio.sleep(0.05)

    async def restart() -> None:
        await asyncio.sleep(0.5)
        done = await asyncio.to_thread(subprocess.run, ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                                                        "restart", "-m", "fast"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    gate = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with gate:
            return await submit(i)

    watcher = asyncio.create_task(watch_health())
    restarter = asyncio.create_task(restart())
    ids = await asyncio.gather(*(one(i) for i in range(len(signed))))
    await restarter
    await asyncio.wait_for(saw_unhealthy.wait(), 30)
    watcher.cancel()
    await wait_for(lambda: healthy(axis), what="healthy again")

    refused = sum(1 for statuses in answers.values() if 503 in statuses)
    print(f"PostgreSQL restart under load: {len(signed)} documents, {refused} saw a 503 first, all stored")
    async with axis.ctx.sessions() as session:
        stored = {m.id: m for m in (await session.execute(select(Message))).scalars().all()}
        deliveries = (await session.execute(select(Delivery))).scalars().all()
    assert set(ids) == set(stored) and len(stored) == len(signed)
    assert len(deliveries) == len(signed)
    for mid in ids:
        assert (await axis.ctx.payloads.rehash([stored[mid].sha256]))[stored[mid].sha256] == stored[mid].sha256


# --- a push recipient that is gone for a while ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def vanishing_endpoint(axis: Harness) -> AsyncIterator[tuple[PushReceiver, str, Callable[[], Awaitable[None]],
                                                                  Callable[[], Awaitable[None]]]]:
    """C's push receiver on a fixed port, with stop() and start() to take it off the network and back."""
    receiver = PushReceiver(organization=None, identity=axis.identity_for(C))  # type: ignore[arg-type]
    port = _free_port()
    servers: list[TestServer] = []

    async def start() -> None:
        server = TestServer(receiver.app(), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)

    async def stop() -> None:
        while servers:
            await servers.pop().close()

    try:
        yield receiver, f"http://127.0.0.1:{port}{PATH}", stop, start
    finally:
        await stop()


async def test_push_recipient_down_for_several_retry_intervals_then_back_gets_the_document_once(
    axis: Harness, vanishing_endpoint: tuple[PushReceiver, str, Callable[[], Awaitable[None]],
                                             Callable[[], Awaitable[None]]],
) -> None:
    receiver, url, stop, start = vanishing_endpoint
    a = await axis.register(A)
    c = await axis.register(C, endpoint=url)
    receiver.organization = c.organization
    receiver.axis_certificate, receiver.senders = axis.ctx.axis_certificate, {A: a.identity.certificate}
    # The endpoint is not listening at all: connection refused, not a polite 503.
    _, signed = a.document([c], subject="Gửi khi hệ thống nhận mất kết nối")
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202
    mid = reply.json()["id"]

    async def delivery() -> Delivery:
        async with axis.ctx.sessions() as session:
            return (await session.execute(select(Delivery).where(Delivery.message_id == mid))).scalar_one()

    async def retried(n: int) -> bool:
        d = await delivery()
        return d.attempts >= n and d.state == DeliveryState.RETRY_WAIT.value

    await wait_for(lambda: retried(5), what="five failed attempts")
    down = await delivery()
    assert down.last_error and "Connect" in down.last_error, down.last_error
    assert receiver.posts[mid] == 0

    await start()

    async def delivered() -> bool:
        return (await delivery()).state == DeliveryState.DELIVERED.value

    await wait_for(delivered, what="delivery after the endpoint is back")
    await asyncio.sleep(1.0)  # a stray retry would show up within retry_max_seconds (0.5 s)
    d = await delivery()
    assert d.state == DeliveryState.DELIVERED.value and d.attempts >= 6
    assert receiver.posts[mid] == 1 and receiver.received == {mid: signed}
