"""The soak's load process: signs as it goes, sends at a steady rate, and measures each minute.

`python -m axis.bench.soak` runs it as ``python -m axis.bench.soak_load SPEC.json RESULT.json``, so the
load generator never shares an interpreter (or a GIL) with the server it measures. Every minute it
reads the server's RSS and CPU from /proc and the server's own request timings from its access log.
"""

from __future__ import annotations

import asyncio
import collections
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from axis.bench import load
from axis.bench.report import latency_summary
from axis.bench.scenarios import Driver, Party, Prepared, StatusWatcher
from axis.bench.server import ProcessStats, own_cpu_seconds
from signing.keys import load_certificate

#: Documents per signing task; the signer keeps this many seconds of sending ready ahead of the clock.
SIGN_BATCH = 25
AHEAD_SECONDS = 20.0
#: The access-log route whose server-side time is "submit latency".
SUBMIT_ROUTE = ("POST", "/api/v1/documents")
#: A send this late against its schedule (the signer fell behind) counts as the load generator lagging.
LATE_SECONDS = 1.0
#: Seconds the end of the soak waits for the last documents' receipts 01.
DRAIN_SECONDS = 60.0


def log(message: str) -> None:
    """One progress line on standard error."""
    print(f"[soak] {message}", file=sys.stderr, flush=True)


class Signer:
    """Signed documents (each with its recipient's signed 01) made in another process as they are needed.

    The recipients take turns, a batch each, and ``take`` deals the documents out one recipient at a time.
    """

    def __init__(self, parties: dict[str, dict[str, str]], recipients: list[str], doc_kb: float) -> None:
        self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=load._init_signer, initargs=(parties,))
        self.attachment_bytes = int(doc_kb * 1024)
        self.recipients = recipients
        self.queues: dict[str, collections.deque[Prepared]] = {r: collections.deque() for r in recipients}
        self.turn = 0
        self.changed = asyncio.Event()
        self.next_number = 1

    @property
    def ready(self) -> int:
        """Signed documents not yet taken."""
        return sum(len(q) for q in self.queues.values())

    async def keep_ahead(self, wanted: int) -> None:
        """Sign batches until ``ready`` holds ``wanted``, forever (cancel to stop)."""
        loop = asyncio.get_running_loop()
        while True:
            if self.ready >= wanted:
                self.changed.clear()
                await self.changed.wait()
                continue
            recipient = min(self.recipients, key=lambda r: len(self.queues[r]))
            numbers = list(range(self.next_number, self.next_number + SIGN_BATCH))
            self.next_number += SIGN_BATCH
            batch = await loop.run_in_executor(self.pool, load.sign_batch, "sender", recipient, "SOAK",
                                               numbers, self.attachment_bytes, True)
            self.queues[recipient].extend(Prepared(raw, doc_id, sha, status) for raw, doc_id, sha, status in batch)
            self.changed.set()

    async def take(self) -> Prepared:
        """The next signed document, to the next recipient that has one (waits if the signer is behind)."""
        while not self.ready:
            self.changed.clear()
            await self.changed.wait()
        for _ in self.recipients:
            queue = self.queues[self.recipients[self.turn % len(self.recipients)]]
            self.turn += 1
            if queue:
                doc = queue.popleft()
                break
        self.changed.set()
        return doc

    def close(self) -> None:
        """Stop the signing process."""
        self.pool.shutdown(cancel_futures=True)


class Endpoint:
    """The recipient's push endpoint: answers each expected document with its signed 01, then forgets it."""

    def __init__(self) -> None:
        self.expected: dict[str, Prepared] = {}
        self.posts = 0
        self.refused = 0

    async def handle(self, request: web.Request) -> web.Response:
        """POST /edxml from the axis."""
        self.posts += 1
        body = await request.read()
        doc = self.expected.pop(request.headers.get("X-Axis-Document-Id", ""), None)
        if doc is None or doc.status is None or len(body) != len(doc.raw):
            self.refused += 1
            return web.Response(status=400, text="not a document this endpoint expects")
        return web.Response(body=doc.status, content_type="application/xml")


@dataclass
class Minute:
    """What the client saw during one interval."""

    submit_s: list[float] = field(default_factory=list)
    end_to_end_s: list[float] = field(default_factory=list)
    sent: int = 0
    late: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(what[:300])


class AccessLog:
    """The server's access lines appended since the last read: per-route server-side request times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def read(self) -> tuple[list[float], int]:
        """Milliseconds of each submit the server logged since the last call, and how many requests in all."""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next read
        self.offset += end
        submits: list[float] = []
        requests = 0
        for line in data[:end].splitlines():
            if b'"event": "request"' not in line and b'"event":"request"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            requests += 1
            if (entry.get("method"), entry.get("path")) == SUBMIT_ROUTE and entry.get("status") == 202:
                submits.append(float(entry["ms"]))
        return submits, requests


class Soak:
    """One soak run: the steady phase minute by minute, then the optional burst and idle."""

    def __init__(self, spec: dict[str, Any], driver: Driver, signer: Signer, endpoint: Endpoint,
                 watcher: StatusWatcher, sender: Party) -> None:
        self.spec = spec
        self.driver = driver
        self.signer = signer
        self.endpoint = endpoint
        self.watcher = watcher
        self.sender = sender
        self.stats = ProcessStats(spec["server_pid"])
        self.access = AccessLog(Path(spec["server_log"]))
        self.minute = Minute()
        self.delivered = 0
        self.in_flight: set[asyncio.Task[None]] = set()
        self.statements = StatementStats(spec["database_dsn"]) if spec.get("pg_stat_statements") else None

    async def send(self, doc: Prepared, due: float) -> None:
        """Submit one document and await the sender's sight of its 01 (latency from ``due``)."""
        self.endpoint.expected[doc.document_id] = doc
        seen = self.watcher.expect(doc.document_id)
        try:
            status, body = await self.driver.post_xml("/api/v1/documents", self.sender, doc.raw)
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.minute.error(f"submit: {type(exc).__name__}: {exc}")
            self.watcher.waiters.pop(doc.document_id, None)
            return
        if status != 202:
            self.minute.error(f"submit: HTTP {status}: {body[:200]!r}")
            self.watcher.waiters.pop(doc.document_id, None)
            return
        self.minute.submit_s.append(time.perf_counter() - due)
        try:
            when = await asyncio.wait_for(seen, self.spec["message_timeout"])
        except TimeoutError:
            self.minute.error(f"{doc.document_id}: the sender saw no 01 within {self.spec['message_timeout']:.0f} s")
            return
        finally:
            self.watcher.waiters.pop(doc.document_id, None)
        self.minute.end_to_end_s.append(when - due)
        self.delivered += 1

    def start(self, doc: Prepared, due: float) -> None:
        """Send ``doc`` in its own task."""
        task = asyncio.create_task(self.send(doc, due))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    def sample(self, index: int, started: float, cpu_before: float, load_before: float) -> dict[str, Any]:
        """Close the current interval: its figures, and a fresh interval."""
        minute, self.minute = self.minute, Minute()
        server_ms, requests = self.access.read()
        sample = self.stats.sample()
        client = latency_summary(minute.submit_s)
        end_to_end = latency_summary(minute.end_to_end_s)
        server = latency_summary([ms / 1000 for ms in server_ms])
        elapsed = time.perf_counter() - started
        delivered, self.delivered = self.delivered, 0
        return {
            "minute": index, "seconds": round(elapsed, 1), "sent": minute.sent, "submits_logged": len(server_ms),
            "requests_logged": requests,
            "server_p50_ms": server["p50_ms"], "server_p99_ms": server["p99_ms"], "server_max_ms": server["max_ms"],
            "client_p50_ms": client["p50_ms"], "client_p99_ms": client["p99_ms"],
            "end_to_end_p50_ms": end_to_end["p50_ms"], "end_to_end_p99_ms": end_to_end["p99_ms"],
            "delivered": delivered, "errors": minute.errors, "error_samples": minute.error_samples,
            "late_sends": minute.late,
            "rss_mb": round(sample.rss_mb, 1), "rss_mb_each": self._rss_each(sample.pids),
            "server_cpu_s": round(sample.cpu_seconds - cpu_before, 2),
            # Steadier than latency on a shared machine: CPU the server spent per document sent (its push,
            # the 01 and the sender's reads and acknowledgements included).
            "server_cpu_ms_per_doc": round((sample.cpu_seconds - cpu_before) * 1000 / minute.sent, 2)
            if minute.sent else None,
            "load_cpu_s": round(own_cpu_seconds() - load_before, 2),
            "in_flight": len(self.in_flight),
        }

    @staticmethod
    def _rss_each(pids: tuple[int, ...]) -> list[float]:
        out = []
        for pid in pids:
            try:
                out.append(round(_rss_kb(pid) / 1024, 1))
            except OSError:
                out.append(0.0)
        return out

    async def steady(self) -> list[dict[str, Any]]:
        """Send at ``rate`` per second (open loop) for ``minutes`` intervals; one figure set per interval."""
        rate, interval, minutes = self.spec["rate"], self.spec["interval_seconds"], self.spec["minutes"]
        out: list[dict[str, Any]] = []
        start = time.perf_counter() + 0.05
        i = 0
        for index in range(1, minutes + 1):
            end = start + index * interval
            cpu_before, load_before = self.stats.sample().cpu_seconds, own_cpu_seconds()
            opened = time.perf_counter()
            while (due := start + i / rate) < end:
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                doc = await self.signer.take()
                if time.perf_counter() - due > LATE_SECONDS:
                    self.minute.late += 1
                self.minute.sent += 1
                self.start(doc, due)
                i += 1
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
            figures = self.sample(index, opened, cpu_before, load_before)
            if self.statements is not None:
                await self.statements.record()
            out.append(figures)
            log(f"minute {index}: server p50 {figures['server_p50_ms']} p99 {figures['server_p99_ms']} ms, "
                f"client p99 {figures['client_p99_ms']} ms, RSS {figures['rss_mb']} MB, "
                f"delivered {figures['delivered']}, errors {figures['errors']}, late {figures['late_sends']}")
        return out

    async def drain(self, seconds: float) -> None:
        """Wait (up to ``seconds``) for every document sent so far to be answered and its 01 seen."""
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=seconds)

    async def burst(self, count: int, idle_seconds: float) -> dict[str, Any]:
        """RSS before, right after ``count`` documents at the maximum rate (all delivered), and after an idle."""
        await self.drain(DRAIN_SECONDS)
        await asyncio.sleep(min(5.0, idle_seconds))
        baseline = self.stats.sample().rss_mb
        log(f"burst: waiting for {count} signed documents")
        while self.signer.ready < count:
            self.signer.changed.clear()
            await self.signer.changed.wait()
        self.minute = Minute()
        self.delivered = 0
        self.access.read()  # the burst's own server timings only
        started = time.perf_counter()
        semaphore = asyncio.Semaphore(self.spec["burst_concurrency"])

        async def one(doc: Prepared) -> None:
            async with semaphore:
                await self.send(doc, time.perf_counter())

        docs = [await self.signer.take() for _ in range(count)]
        await asyncio.gather(*(one(d) for d in docs))
        seconds = time.perf_counter() - started
        after_burst = self.stats.sample()
        server_ms, _ = self.access.read()
        log(f"burst: {self.delivered} of {count} delivered in {seconds:.1f} s; idle {idle_seconds:.0f} s")
        await asyncio.sleep(idle_seconds)
        after_idle = self.stats.sample().rss_mb
        return {
            "count": count, "delivered": self.delivered, "errors": self.minute.errors,
            "error_samples": self.minute.error_samples, "seconds": round(seconds, 1),
            "per_s": round(count / seconds, 1) if seconds > 0 else None,
            "server_p99_ms": latency_summary([ms / 1000 for ms in server_ms])["p99_ms"],
            "baseline_rss_mb": round(baseline, 1), "after_burst_rss_mb": round(after_burst.rss_mb, 1),
            "peak_rss_mb": round(after_burst.peak_rss_mb, 1),
            "idle_seconds": idle_seconds, "after_idle_rss_mb": round(after_idle, 1),
        }


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class StatementStats:
    """pg_stat_statements of the soak's database, read each interval: which statements grow in time or calls."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.snapshots: list[dict[str, tuple[str, int, float]]] = []

    async def record(self) -> None:
        """One snapshot of (query, calls, total ms) per statement of this database."""
        import asyncpg

        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch(
                "SELECT queryid::text AS id, query, calls, total_exec_time FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")
        finally:
            await conn.close()
        self.snapshots.append({r["id"]: (r["query"], int(r["calls"]), float(r["total_exec_time"])) for r in rows})

    def growth(self, top: int = 15) -> list[dict[str, Any]]:
        """Statements by how much their mean time per call grew from the first interval to the last."""
        if len(self.snapshots) < 3:
            return []
        first = _interval(self.snapshots[0], self.snapshots[1])
        last = _interval(self.snapshots[-2], self.snapshots[-1])
        out: list[dict[str, Any]] = []
        for key, (query, calls, total) in last.items():
            calls0, total0 = first.get(key, (query, 0, 0.0))[1:]
            mean0 = total0 / calls0 if calls0 else None
            mean = total / calls if calls else None
            out.append({"query": " ".join(query.split())[:200], "calls_first": calls0, "calls_last": calls,
                        "mean_ms_first": None if mean0 is None else round(mean0, 3),
                        "mean_ms_last": None if mean is None else round(mean, 3),
                        "growth_ms": round((mean or 0.0) - (mean0 or 0.0), 3)})
        out.sort(key=lambda s: -(s["growth_ms"] * max(1, s["calls_last"])))
        return out[:top]


def _interval(before: dict[str, tuple[str, int, float]],
              after: dict[str, tuple[str, int, float]]) -> dict[str, tuple[str, int, float]]:
    out = {}
    for key, (query, calls, total) in after.items():
        calls0, total0 = before.get(key, (query, 0, 0.0))[1:]
        if calls > calls0:
            out[key] = (query, calls - calls0, total - total0)
    return out


def _party(p: dict[str, str]) -> Party:
    return Party(p["code"], p["token"], load_certificate(Path(p["cert"]).read_bytes()))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """The whole soak; its figures."""
    parties = {role: _party(p) for role, p in spec["parties"].items()}
    endpoint = Endpoint()
    receiver = web.Application(client_max_size=1 << 26)
    receiver.router.add_post("/edxml", endpoint.handle)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    for port in spec["receiver_ports"].values():
        await web.TCPSite(runner, "127.0.0.1", port).start()
    signer = Signer(spec["parties"], list(spec["receiver_ports"]), spec["doc_kb"])
    ahead = max(int(spec["rate"] * AHEAD_SECONDS), spec.get("burst") or 0)
    producing = asyncio.create_task(signer.keep_ahead(ahead))
    stats = ProcessStats(spec["server_pid"])
    connector = aiohttp.TCPConnector(limit=0)
    result: dict[str, Any] = {}
    stop = asyncio.Event()
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as http:
            driver = Driver(spec["server_url"], http, stats, concurrency=16, database=None, verify=False,
                            max_seconds=0)
            watcher = StatusWatcher(driver, parties["sender"], ack_workers=2)
            watching = asyncio.create_task(watcher.run(stop))
            soak = Soak(spec, driver, signer, endpoint, watcher, parties["sender"])
            warm = int(spec["rate"] * min(AHEAD_SECONDS, 5.0))
            log(f"signing the first {warm} documents")
            while signer.ready < warm:
                signer.changed.clear()
                await signer.changed.wait()
            if soak.statements is not None:
                await soak.statements.record()
            log(f"sending {spec['rate']}/s for {spec['minutes']} × {spec['interval_seconds']:g} s")
            result["minutes"] = await soak.steady()
            await soak.drain(DRAIN_SECONDS)
            # The 01s of the last interval's documents that came after it ended.
            result["delivered_after_intervals"], soak.delivered = soak.delivered, 0
            if spec.get("burst"):
                result["burst"] = await soak.burst(spec["burst"], spec["idle_seconds"])
            await soak.drain(DRAIN_SECONDS)
            result["undelivered_at_end"] = len(soak.in_flight)
            result["endpoint"] = {"posts": endpoint.posts, "refused": endpoint.refused}
            result["watcher_errors"] = {"count": watcher.errors.count, "samples": watcher.errors.samples}
            if soak.statements is not None:
                result["statements"] = soak.statements.growth()
            stop.set()
            await watching
    finally:
        stop.set()
        producing.cancel()
        signer.close()
        await runner.cleanup()
    return result


def main(argv: list[str]) -> int:
    """Entry point: ``python -m axis.bench.soak_load SPEC.json RESULT.json``."""
    spec = json.loads(Path(argv[0]).read_text())
    result = asyncio.run(run(spec))
    Path(argv[1]).write_text(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
