"""Request bodies in flight have a budget: stalled and trickling uploads cannot take the server's memory or disk.

A real `axis serve` is given 200 authenticated uploads that send part of their body and stall: half
chunked (3.9 MB, under the spool threshold: memory if the budget allows), half declaring 8 MB and
sending 6 MB (spooled). Its RSS (/proc/<pid>/status) and its temp files are measured meanwhile, with
/healthz and a small signed submission timed beside them; then the stalls are cut with 408 and every
temp file goes.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from axis.bench.server import ProcessStats, ServerProcess
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.db import create_engine, session_factory
from tests.databases import DatabaseTemplate
from tests.harness import Agent, register_in_database

A, B = "000.00.00.G22", "000.00.00.H29"
MIB = 1024 * 1024
#: The budget the server under test is given (the defaults are a share of RAM and a few GiB of disk).
MEMORY_BUDGET = 64 * MIB
SPOOL_CEILING = 256 * MIB
#: A body must keep arriving at this rate, averaged over each window (a stall is cut after one window).
WINDOW_SECONDS = 12
pytestmark = pytest.mark.timeout(240)


@dataclass
class Figures:
    """What one stalled-uploads run measured."""

    rss_before_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_after_mb: float = 0.0
    temp_peak_mb: float = 0.0
    temp_after_files: int = 0
    healthz_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, object]] = field(default_factory=list)
    retry_after: int = 0

    def summary(self) -> str:
        """One line of figures for the test log and the notes."""
        return (f"RSS {self.rss_before_mb:.0f} -> peak {self.rss_peak_mb:.0f} -> after {self.rss_after_mb:.0f} MB; "
                f"temp peak {self.temp_peak_mb:.0f} MB, {self.temp_after_files} files after; "
                f"healthz p50 {statistics.median(self.healthz_ms):.1f} max {max(self.healthz_ms):.1f} ms; "
                f"submit p50 {statistics.median(self.submit_ms):.1f} max {max(self.submit_ms):.1f} ms; "
                f"statuses {self.statuses}")


def _temp_bytes(home: Path) -> tuple[int, int]:
    tmp = home / "blobs" / "tmp"
    files = [p for p in tmp.iterdir()] if tmp.is_dir() else []
    total = 0
    for p in files:
        try:
            total += p.stat().st_size
        except FileNotFoundError:
            pass
    return len(files), total


class StalledUpload:
    """A client that sends the headers and part of a body, then sends nothing more."""

    def __init__(self, url: str, token: str, *, send: int, declared: int | None) -> None:
        self.url, self.token, self.send, self.declared = url, token, send, declared
        self.answer: bytes = b""
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        """Connect, send the headers and ``send`` bytes of body (chunked when nothing is declared)."""
        host, port = self.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        self.writer = writer
        self.reading = asyncio.create_task(self._read(reader))
        length = f"Content-Length: {self.declared}" if self.declared else "Transfer-Encoding: chunked"
        writer.write((f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {self.token}\r\n"
                      f"Content-Type: application/xml\r\n{length}\r\n\r\n").encode())
        piece = b"<" + b"x" * (256 * 1024 - 1)
        sent = 0
        try:
            while sent < self.send:
                part = piece[: self.send - sent]
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n" if not self.declared else part)
                sent += len(part)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # refused and closed mid-way: the answer says why

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            self.answer = await reader.read(65536)
        except (ConnectionError, OSError):
            pass

    def status(self) -> str:
        """The status the server answered with, or "none"."""
        if not self.answer:
            return "none"
        return self.answer.split(b" ", 2)[1].decode()

    def problem(self) -> dict[str, object]:
        """The problem+json body of the answer (empty if none)."""
        head, _, body = self.answer.partition(b"\r\n\r\n")
        try:
            doc: dict[str, object] = json.loads(body)
        except ValueError:
            return {}
        doc["_retry_after"] = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                                    if line.lower().startswith(b"retry-after:")), None)
        return doc

    def close(self) -> None:
        """Hang up."""
        if self.writer is not None:
            self.writer.close()
        self.reading.cancel()


async def _timed(coro: object) -> float:
    started = time.perf_counter()
    await coro  # type: ignore[misc]
    return (time.perf_counter() - started) * 1000


async def stalled_uploads(server: ServerProcess, a: Agent, b: Agent, *, clients: int = 200) -> Figures:
    """Run the scenario against ``server``; return what it measured."""
    figures = Figures()
    stats = ProcessStats(server.pid)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {a.token}"}) as http:

        async def healthz() -> None:
            async with http.get(server.url + "/healthz") as r:
                assert r.status == 200, await r.text()

        async def small() -> None:
            signed = await asyncio.to_thread(lambda: a.document([b])[1])
            started = time.perf_counter()
            async with http.post(server.url + "/api/v1/documents", data=signed,
                                 headers={"Content-Type": "application/xml"}) as r:
                assert r.status == 202, await r.text()
            figures.submit_ms.append((time.perf_counter() - started) * 1000)

        for _ in range(5):  # warm: the first requests load what every later one reuses
            await small()
            await healthz()
        figures.rss_before_mb = stats.sample().rss_mb

        uploads = [StalledUpload(server.url, a.token, send=int(3.9 * 10**6), declared=None) if i % 2 == 0
                   else StalledUpload(server.url, a.token, send=6 * 10**6, declared=8 * 10**6)
                   for i in range(clients)]
        await asyncio.gather(*(u.start() for u in uploads))
        # Stalled now: measure for a few seconds, serving others meanwhile.
        for _ in range(6):
            figures.rss_peak_mb = max(figures.rss_peak_mb, stats.sample().rss_mb)
            figures.temp_peak_mb = max(figures.temp_peak_mb, _temp_bytes(server.home)[1] / MIB)
            figures.healthz_ms.append(await _timed(healthz()))
            await small()
            await asyncio.sleep(0.5)
        figures.rss_peak_mb = max(figures.rss_peak_mb, stats.sample().rss_mb)
        # The server cuts the stalls after its read window (the clients never hang up themselves).
        deadline = time.monotonic() + WINDOW_SECONDS * 3
        while time.monotonic() < deadline and any(not u.answer for u in uploads):
            await asyncio.sleep(0.5)
        for u in uploads:
            figures.statuses[u.status()] = figures.statuses.get(u.status(), 0) + 1
            if u.answer:
                figures.problems.append(u.problem())
            u.close()
        await asyncio.sleep(2)
        figures.temp_after_files = _temp_bytes(server.home)[0]
        figures.rss_after_mb = stats.sample().rss_mb
        await healthz()
    return figures


@pytest.fixture
async def served(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                 identities: dict[str, IssuedIdentity]) -> object:
    """A real `axis serve` on a clone of the migrated database, with two registered agencies."""
    async with db_template.clone(tmp_path) as url:
        engine = create_engine(url)
        try:
            a = await register_in_database(session_factory(engine), test_ca, identities, A)
            b = await register_in_database(session_factory(engine), test_ca, identities, B)
        finally:
            await engine.dispose()
        home = tmp_path / "home"
        home.mkdir()
        env = {"AXIS_BODY_MEMORY_BYTES": str(MEMORY_BUDGET), "AXIS_SPOOL_MAX_BYTES": str(SPOOL_CEILING),
               "AXIS_UPLOADS_PER_AGENCY": "1000", "AXIS_BODY_READ_WINDOW_SECONDS": str(WINDOW_SECONDS),
               "AXIS_BLOB_BACKEND": "filesystem"}
        server = ServerProcess(home, url, tmp_path / "serve.log", extra_env=env)
        server.start()
        try:
            await asyncio.to_thread(server.wait_ready, 60.0)
            yield server, a, b
        finally:
            server.stop()


async def test_stalled_uploads_stay_within_the_memory_and_disk_budget(served: object) -> None:
    server, a, b = served  # type: ignore[misc]
    figures = await stalled_uploads(server, a, b)
    print("stalled uploads:", figures.summary())
    assert figures.rss_peak_mb - figures.rss_before_mb < 256, figures.summary()
    assert figures.temp_peak_mb <= SPOOL_CEILING / MIB, figures.summary()
    assert statistics.median(figures.healthz_ms) < 100, figures.summary()
    assert statistics.median(figures.submit_ms) < 100, figures.summary()
    # Each stalled upload was answered: cut for its stall, or refused at once for want of room.
    assert set(figures.statuses) <= {"408", "503"} and figures.statuses.get("408", 0) > 0, figures.summary()
    codes = {str(p.get("code")) for p in figures.problems}
    assert codes <= {"AXIS.BodyTimeout", "AXIS.Busy"}, codes
    assert all(p["_retry_after"] for p in figures.problems if p.get("code") == "AXIS.Busy")
    assert figures.temp_after_files == 0, figures.summary()
