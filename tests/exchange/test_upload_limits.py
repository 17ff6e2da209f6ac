"""Limits on uploads in flight: a trickle is cut with 408, an agency gets its share, a full budget says 503.

And ``receive_body`` on its own: once it spools, it keeps only what it has not yet written.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from axis.appkeys import BODY_BUDGET, METRICS
from axis.exchange.body import PacedChunks, SpooledBody, receive_body
from axis.exchange.body_budget import BodyBudget
from axis.exchange.errors import BodiesBusy, BodyTooSlow
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.payloads.files import BlobStore
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_problem, call
from tests.harness import Harness, server_settings, start_server

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
MIB = 1024 * 1024


@pytest.fixture
async def axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
               identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis with a 2 s body read window (1 KiB/s), two uploads per agency, 1 MiB of memory for bodies."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, body_read_window_seconds=2.0,
                                   body_min_bytes_per_second=1024, uploads_per_agency=2,
                                   body_memory_bytes=MIB, spool_max_bytes=3 * MIB, spool_threshold_bytes=512 * 1024)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


class RawUpload:
    """A POST written by hand, so that the test decides when each byte goes."""

    def __init__(self, url: str, token: str, declared: int | None = None) -> None:
        self.url, self.token, self.declared = url, token, declared

    async def open(self) -> None:
        """Connect and send the headers."""
        host, port = self.url.removeprefix("http://").split(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        length = f"Content-Length: {self.declared}" if self.declared else "Transfer-Encoding: chunked"
        self.writer.write((f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.token}"
                           f"\r\nContent-Type: application/xml\r\n{length}\r\n\r\n").encode())
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        """Write part of the body."""
        self.writer.write(data if self.declared else f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await self.writer.drain()

    async def answer(self, timeout: float) -> tuple[int, dict[str, str], dict[str, object], bool]:
        """Status, headers, problem body, and whether the server says it closes the connection."""
        raw = await asyncio.wait_for(self.reader.read(65536), timeout)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        return int(lines[0].split()[1]), headers, json.loads(body), headers.get("connection") == "close"

    def close(self) -> None:
        """Hang up."""
        self.writer.close()


async def test_a_trickling_authenticated_upload_is_cut_with_408(axis: Harness) -> None:
    a = await axis.register(A)
    up = RawUpload(axis.url, a.token, declared=10_000)
    await up.open()
    started = time.monotonic()

    async def trickle() -> None:
        for _ in range(40):  # one byte every half second: 4 bytes per 2 s window, far under 1 KiB/s
            await up.send(b"<")
            await asyncio.sleep(0.5)

    sender = asyncio.create_task(trickle())
    try:
        status, headers, problem, closed = await up.answer(timeout=10)
    finally:
        sender.cancel()
        up.close()
    assert status == 408 and problem["code"] == "AXIS.BodyTimeout", problem
    assert closed, "a cut upload's connection is closed"
    assert 1.5 < time.monotonic() - started < 6
    counted = axis.app[METRICS].submissions.labels("edoc", "AXIS.BodyTimeout")._value.get()
    assert counted == 1
    assert axis.app[BODY_BUDGET].uploads == {}  # its share came back


async def test_a_stalled_spooled_upload_is_cut_and_its_temp_file_removed(axis: Harness) -> None:
    a = await axis.register(A)
    up = RawUpload(axis.url, a.token, declared=900_000)  # over the 512 KiB threshold: spooled from the start
    await up.open()
    await up.send(b"<" * 600_000)
    await asyncio.sleep(0.5)
    tmp = axis.ctx.blobs.root / "tmp"
    assert len(list(tmp.iterdir())) == 1  # being spooled
    budget = axis.app[BODY_BUDGET]
    assert budget.spool_in_use == 900_000
    try:
        status, _, problem, _ = await up.answer(timeout=10)
    finally:
        up.close()
    assert status == 408 and problem["code"] == "AXIS.BodyTimeout"
    assert list(tmp.iterdir()) == []
    assert budget.spool_in_use == 0 and budget.memory_in_use == 0


async def test_an_agency_over_its_share_of_uploads_gets_429_and_others_are_served(axis: Harness) -> None:
    a, b, c = await axis.register(A), await axis.register(B), await axis.register(C)
    stalled = [RawUpload(axis.url, a.token, declared=5000) for _ in range(2)]
    for up in stalled:
        await up.open()
        await up.send(b"<")
    await asyncio.sleep(0.3)
    try:
        reply = await call(axis, "POST", "/api/v1/documents", token=a, data=a.document([b])[1])
        problem = assert_problem(reply, 429, "AXIS.TooManyUploads")
        assert reply.headers["Retry-After"] == "1", problem
        # Another agency is not held back by A's share.
        assert (await call(axis, "POST", "/api/v1/documents", token=c, data=c.document([b])[1])).status == 202
    finally:
        for up in stalled:
            up.close()
    await asyncio.sleep(0.3)
    assert (await call(axis, "POST", "/api/v1/documents", token=a, data=a.document([b])[1])).status == 202


async def test_a_body_finding_no_room_in_memory_or_spool_gets_503_busy(axis: Harness) -> None:
    a, b, c = await axis.register(A), await axis.register(B), await axis.register(C)
    # Three declared 1 MiB bodies fill the 3 MiB of spool; a fourth (declared) finds no room.
    held = [RawUpload(axis.url, agent.token, declared=MIB) for agent in (a, a, b)]
    for up in held:
        await up.open()
        await up.send(b"<" * 1000)
    await asyncio.sleep(0.3)
    late = RawUpload(axis.url, c.token, declared=MIB)
    await late.open()
    try:
        status, headers, problem, closed = await late.answer(timeout=5)
        assert status == 503 and problem["code"] == "AXIS.Busy" and headers["retry-after"] == "5", problem
        assert closed
        # A small body still fits in memory and is accepted meanwhile.
        assert (await call(axis, "POST", "/api/v1/documents", token=c, data=c.document([b])[1])).status == 202
    finally:
        for up in (*held, late):
            up.close()


# --- receive_body and the budget on their own ----------------------------------------------------------------


async def _stalling(data: bytes, piece: int, stalled: asyncio.Event, go_on: asyncio.Event) -> AsyncIterator[bytes]:
    for i in range(0, len(data), piece):
        yield data[i:i + piece]
    stalled.set()
    await go_on.wait()


async def test_a_spooling_body_keeps_no_head_in_memory_while_it_waits(tmp_path: Path) -> None:
    data = b"<" + b"x" * (6 * MIB)
    stalled, go_on = asyncio.Event(), asyncio.Event()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        reading = asyncio.create_task(receive_body(_stalling(data, 64 * 1024, stalled, go_on), limit=20 * MIB,
                                                   spool_above=4 * MIB, blobs=BlobStore(tmp_path)))
        await stalled.wait()
        await asyncio.sleep(0.2)  # the last write off the loop is done
        held = tracemalloc.get_traced_memory()[0] - before
        go_on.set()
        body = await reading
    finally:
        tracemalloc.stop()
    assert isinstance(body, SpooledBody) and body.size == len(data)
    body.discard()
    # 4 MiB of head were spooled: what stays is at most the unwritten gathering buffer (1 MiB) and change.
    assert held < 1.5 * MIB, held


async def test_the_memory_budget_sends_a_small_body_to_the_spool_and_refuses_when_both_are_full(
        tmp_path: Path) -> None:
    budget = BodyBudget(memory_bytes=100_000, spool_bytes=250_000, uploads_per_agency=5)

    async def pieces(n: int) -> AsyncIterator[bytes]:
        for _ in range(n // 10_000):
            yield b"x" * 10_000

    first, second, third = budget.hold("A"), budget.hold("A"), budget.hold("B")
    in_memory = await receive_body(pieces(90_000), limit=MIB, spool_above=MIB, blobs=BlobStore(tmp_path), hold=first)
    assert isinstance(in_memory, bytes) and budget.memory_in_use == 90_000
    spooled = await receive_body(pieces(200_000), limit=MIB, spool_above=MIB, blobs=BlobStore(tmp_path), hold=second)
    assert isinstance(spooled, SpooledBody) and spooled.size == 200_000
    assert budget.memory_in_use == 90_000 and budget.spool_in_use == 200_000
    with pytest.raises(BodiesBusy):
        await receive_body(pieces(200_000), limit=MIB, spool_above=MIB, blobs=BlobStore(tmp_path), hold=third)
    assert len(list((tmp_path / "tmp").iterdir())) == 1  # the refused one left no file
    for hold in (first, second, third):
        hold.release()
        hold.release()
    spooled.discard()
    assert (budget.memory_in_use, budget.spool_in_use, budget.uploads) == (0, 0, {})


async def test_paced_chunks_cut_a_trickle_but_not_a_steady_body() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        while True:
            yield b"x"
            await asyncio.sleep(0.05)

    with pytest.raises(BodyTooSlow):
        async for _ in PacedChunks(trickle(), window=0.3, min_bytes=100):
            pass

    async def steady() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 50
            await asyncio.sleep(0.05)

    got = [c async for c in PacedChunks(steady(), window=0.3, min_bytes=100)]
    assert sum(map(len, got)) == 1000
