"""The timed scenarios, run by the load process against a running axis over loopback HTTP.

Every message was signed before the clock starts (signing is the agencies' cost, not
the axis's). Each scenario returns a dict of figures: count, messages per second,
latency percentiles, the server's CPU seconds per message and its peak RSS.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from axis.bench.report import latency_summary
from axis.bench.server import (
    DatabaseCpu,
    ProcessStats,
    machine_busy_seconds,
    own_cpu_seconds,
)
from signing.keys import Certificate
from signing.verifier import verify_envelope

#: Seconds a single message may take end to end before it counts as an error.
MESSAGE_TIMEOUT = 120.0
#: Pause of an inbox poller that found nothing new.
IDLE_POLL = 0.025
#: Seconds a batched-pull inbox read waits for an arrival (long-poll) before it answers empty.
LONG_POLL = 2.0
#: Items in one batched inbox page, acknowledgement or status post at most.
PULL_BATCH = 100
MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Prepared:
    """A signed document, and the recipient's signed status 01 answering it."""

    raw: bytes
    document_id: str
    sha256: str
    status: bytes | None = None


@dataclass(frozen=True)
class Party:
    """An agency as the load generator sees it."""

    code: str
    token: str
    certificate: Certificate

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Meter:
    """Server CPU, server peak RSS (and its PostgreSQL backends' CPU) over one timed phase.

    The server is its whole process tree (`axis serve --workers N`): CPU is summed over it, and
    the peak RSS is the sum of each process's own peak, an upper bound.
    """

    def __init__(self, stats: ProcessStats, database: str | None) -> None:
        self.stats = stats
        self.postgres = database is not None
        self.database_cpu = DatabaseCpu(database)

    def __enter__(self) -> Meter:
        self.peak_reset = self.stats.reset_peak()
        self.before = self.stats.sample()
        self.database_cpu.start()
        self.machine_before = machine_busy_seconds()
        self.load_before = own_cpu_seconds()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.started
        try:
            self.after = self.stats.sample()
            self.server_died = False
        except OSError:
            # The server is gone (crashed, or killed for memory): report what was measured.
            self.after = self.before
            self.server_died = True
        self.db_seconds = self.database_cpu.stop()
        self.machine_after = machine_busy_seconds()
        self.load_after = own_cpu_seconds()

    def figures(self, count: int, elapsed: float | None = None) -> dict[str, Any]:
        """Throughput and server costs for ``count`` messages."""
        seconds = self.elapsed if elapsed is None else elapsed
        cpu = self.after.cpu_seconds - self.before.cpu_seconds
        out: dict[str, Any] = {
            "count": count,
            "seconds": round(seconds, 3),
            "per_s": round(count / seconds, 1) if count and seconds > 0 else None,
            "server_cpu_s": round(cpu, 3),
            "server_cpu_s_per_msg": round(cpu / count, 5) if count else None,
            "peak_rss_mb": round(self.after.peak_rss_mb, 1),
            "baseline_rss_mb": round(self.before.rss_mb, 1),
            "peak_rss_reset": self.peak_reset,
            "server_processes": len(self.after.pids),
        }
        if self.server_died:
            out["server_died"] = True
        db = self.db_seconds
        if self.postgres:
            out["db_cpu_s_per_msg"] = round(db / count, 5) if count else None
        # Cores busy on average: the server, the database, this load generator, and everything else
        # on the machine (other work skews the figures; the report says how much there was).
        wall = self.elapsed if self.elapsed > 0 else 1.0
        machine = self.machine_after - self.machine_before
        load = self.load_after - self.load_before
        out["load_cpu_s_per_msg"] = round(load / count, 5) if count else None
        out["cores_busy"] = {
            "server": round(cpu / wall, 2),
            "database": round(db / wall, 2) if self.postgres else None,
            "load_generator": round(load / wall, 2),
            "other": round(max(0.0, machine - cpu - db - load) / wall, 2),
            "machine": round(machine / wall, 2),
        }
        return out


@dataclass
class Errors:
    """Failed messages and a few examples of why."""

    count: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, what: str) -> None:
        self.count += 1
        if len(self.samples) < MAX_ERROR_SAMPLES:
            self.samples.append(what[:300])

    def into(self, figures: dict[str, Any]) -> dict[str, Any]:
        figures["errors"] = self.count
        if self.samples:
            figures["error_samples"] = self.samples
        return figures


class Driver:
    """HTTP calls to the axis, and the meters, shared by the scenarios."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession, stats: ProcessStats, *, concurrency: int,
                 database: str | None, verify: bool, max_seconds: float, batched_pull: bool = True) -> None:
        self.base = base_url.rstrip("/")
        #: DMSes pull as the batched protocol lets them (pages with bytes, long-poll, acks and statuses
        #: several per request); False: one request per step per document.
        self.batched_pull = batched_pull
        self.http = http
        self.stats = stats
        self.concurrency = concurrency
        #: The PostgreSQL database name whose backends' CPU is measured (None on SQLite).
        self.database = database
        self.verify = verify
        #: A scenario stops starting new messages after this long (the run stays bounded on a slow server).
        self.max_seconds = max_seconds

    def deadline(self) -> float:
        """The perf_counter time after which a scenario starts no new message."""
        return time.perf_counter() + self.max_seconds

    def meter(self) -> Meter:
        return Meter(self.stats, self.database)

    async def post_xml(self, path: str, party: Party, body: bytes) -> tuple[int, bytes]:
        headers = {**party.auth, "Content-Type": "application/xml"}
        async with self.http.post(self.base + path, data=body, headers=headers) as r:
            return r.status, await r.read()

    async def get_json(self, path: str, party: Party, params: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.http.get(self.base + path, headers=party.auth, params=params) as r:
            body = await r.read()
            return r.status, (json.loads(body) if r.status == 200 else body[:300])

    async def post_json(self, path: str, party: Party, body: Any) -> tuple[int, Any]:
        async with self.http.post(self.base + path, json=body, headers=party.auth) as r:
            raw = await r.read()
            return r.status, (json.loads(raw) if r.status == 200 else raw[:300])

    async def inbox_until(self, party: Party, params: dict[str, str], stop: asyncio.Event) -> tuple[int, Any] | None:
        """One inbox read (a long-poll when ``params`` has ``wait``), given up when ``stop`` is set first."""
        read = asyncio.ensure_future(self.get_json("/api/v1/inbox", party, params))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not read.done():
            read.cancel()
            return None
        return read.result()

    async def fetch(self, party: Party, message_id: str) -> tuple[int, bytes, str]:
        async with self.http.get(f"{self.base}/api/v1/messages/{message_id}", headers=party.auth) as r:
            return r.status, await r.read(), r.headers.get("ETag", "").strip('"')


# --- submit --------------------------------------------------------------------------------


async def submit_closed_loop(driver: Driver, sender: Party, docs: Sequence[Prepared]) -> dict[str, Any]:
    """POST every document with ``concurrency`` requests in flight; figures for the batch."""
    latencies: list[float] = []
    errors = Errors()
    pending = iter(docs)
    deadline = driver.deadline()

    async def worker() -> None:
        for doc in pending:
            started = time.perf_counter()
            if started > deadline:
                return
            try:
                status, body = await driver.post_xml("/api/v1/documents", sender, doc.raw)
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"{type(exc).__name__}: {exc}")
                continue
            if status == 202:
                latencies.append(time.perf_counter() - started)
            else:
                errors.add(f"HTTP {status}: {body[:200]!r}")

    with driver.meter() as meter:
        await asyncio.gather(*(worker() for _ in range(driver.concurrency)))
    figures = meter.figures(len(latencies))
    figures.update(latency_summary(latencies))
    figures["message_bytes"] = round(sum(len(d.raw) for d in docs) / max(1, len(docs)))
    figures["stopped_by_time_limit"] = len(latencies) + errors.count < len(docs)
    return errors.into(figures)


async def submit_open_loop(driver: Driver, sender: Party, docs: Sequence[Prepared], rate: float) -> dict[str, Any]:
    """POST documents on a fixed schedule of ``rate`` per second, whatever the answers take.

    Latency runs from the scheduled send time, so a slow answer that delays later
    requests is counted against them too (no coordinated omission).
    """
    latencies: list[float] = []
    errors = Errors()

    async def one(doc: Prepared, due: float) -> None:
        try:
            status, body = await driver.post_xml("/api/v1/documents", sender, doc.raw)
        except (TimeoutError, aiohttp.ClientError) as exc:
            errors.add(f"{type(exc).__name__}: {exc}")
            return
        if status == 202:
            latencies.append(time.perf_counter() - due)
        else:
            errors.add(f"HTTP {status}: {body[:200]!r}")

    tasks: list[asyncio.Task[None]] = []
    with driver.meter() as meter:
        start = time.perf_counter() + 0.01
        for i, doc in enumerate(docs):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(doc, due)))
        await asyncio.gather(*tasks)
    figures = meter.figures(len(latencies))
    figures.update(latency_summary(latencies))
    figures["target_per_s"] = round(rate, 1)
    return errors.into(figures)


# --- waiting for the sender to see status 01 -----------------------------------------------


class StatusWatcher:
    """The sender's DMS: polls its inbox for status messages, resolves waiters, acks each item."""

    def __init__(self, driver: Driver, sender: Party, ack_workers: int) -> None:
        self.driver = driver
        self.sender = sender
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.seen: set[str] = set()
        self.acks: asyncio.Queue[str | None] = asyncio.Queue()
        self.ack_workers = ack_workers
        self.errors = Errors()

    def expect(self, document_id: str) -> asyncio.Future[float]:
        """A future resolved with the time the sender sees a status for ``document_id``."""
        future = asyncio.get_running_loop().create_future()
        self.waiters[document_id] = future
        return future

    async def _poll(self, stop: asyncio.Event) -> None:
        params = {"kind": "status", "limit": "500"}
        if self.driver.batched_pull:
            params["wait"] = f"{LONG_POLL:g}"
        while not stop.is_set():
            try:
                answer = await self.driver.inbox_until(self.sender, params, stop)
                if answer is None:
                    return
                status, page = answer
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.errors.add(f"sender inbox: {type(exc).__name__}: {exc}")
                await asyncio.sleep(IDLE_POLL)
                continue
            if status != 200:
                self.errors.add(f"sender inbox: HTTP {status}: {page!r}")
                await asyncio.sleep(IDLE_POLL)
                continue
            now = time.perf_counter()
            new = 0
            for item in page["items"]:
                if item["id"] in self.seen:
                    continue
                self.seen.add(item["id"])
                new += 1
                future = self.waiters.get(item["document_id"])
                if future is not None and not future.done() and item.get("status_code") == "01":
                    future.set_result(now)
                self.acks.put_nowait(item["id"])
            if not new and not self.driver.batched_pull:
                await asyncio.sleep(IDLE_POLL)

    async def _ack(self) -> None:
        if self.driver.batched_pull:
            await self._ack_batches()
            return
        while (message_id := await self.acks.get()) is not None:
            try:
                async with self.driver.http.post(f"{self.driver.base}/api/v1/inbox/{message_id}/ack",
                                                 headers=self.sender.auth) as r:
                    if r.status != 200:
                        self.errors.add(f"ack: HTTP {r.status}")
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.errors.add(f"ack: {type(exc).__name__}: {exc}")

    async def _ack_batches(self) -> None:
        """Acknowledge whatever is queued, up to PULL_BATCH ids per request."""
        done = False
        while not done:
            ids: list[str] = []
            first = await self.acks.get()
            if first is None:
                return
            ids.append(first)
            while len(ids) < PULL_BATCH and not self.acks.empty():
                more = self.acks.get_nowait()
                if more is None:
                    done = True
                    break
                ids.append(more)
            try:
                status, reply = await self.driver.post_json("/api/v1/inbox/ack", self.sender, {"ids": ids})
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.errors.add(f"ack: {type(exc).__name__}: {exc}")
                continue
            if status != 200:
                self.errors.add(f"ack: HTTP {status}: {reply!r}")
                continue
            for result in reply["results"]:
                if "problem" in result:
                    self.errors.add(f"ack: {result['problem'].get('code')}: {result['problem'].get('detail')}")

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and ack until ``stop`` is set and every ack queued so far is done."""
        ackers = [asyncio.create_task(self._ack()) for _ in range(self.ack_workers)]
        await self._poll(stop)
        for _ in ackers:
            self.acks.put_nowait(None)
        await asyncio.gather(*ackers)


Helper = Callable[[asyncio.Event], Awaitable[None]]


async def _end_to_end(
    driver: Driver, sender: Party, docs: Sequence[Prepared], helpers: Sequence[Helper], watcher: StatusWatcher,
    arrivals: dict[str, float] | None = None,
) -> dict[str, Any]:
    """``concurrency`` agencies each submit a document and wait until its sender sees the 01."""
    latencies: list[float] = []
    submit_latencies: list[float] = []
    arrival_latencies: list[float] = []
    errors = Errors()
    pending = iter(docs)
    deadline = driver.deadline()

    async def worker() -> None:
        for doc in pending:
            if time.perf_counter() > deadline:
                return
            done = watcher.expect(doc.document_id)
            started = time.perf_counter()
            try:
                status, body = await driver.post_xml("/api/v1/documents", sender, doc.raw)
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"submit: {type(exc).__name__}: {exc}")
                continue
            if status != 202:
                errors.add(f"submit: HTTP {status}: {body[:200]!r}")
                continue
            submit_latencies.append(time.perf_counter() - started)
            try:
                seen = await asyncio.wait_for(done, MESSAGE_TIMEOUT)
            except TimeoutError:
                errors.add(f"{doc.document_id}: sender saw no status 01 within {MESSAGE_TIMEOUT:.0f} s")
                continue
            latencies.append(seen - started)
            if arrivals is not None and doc.document_id in arrivals:
                arrival_latencies.append(arrivals[doc.document_id] - started)

    stop = asyncio.Event()
    with driver.meter() as meter:
        background = [asyncio.ensure_future(watcher.run(stop))] + [asyncio.ensure_future(h(stop)) for h in helpers]
        try:
            await asyncio.gather(*(worker() for _ in range(driver.concurrency)))
            elapsed = time.perf_counter() - meter.started
        finally:
            stop.set()
            await asyncio.gather(*background)
    figures = meter.figures(len(latencies), elapsed)
    figures.update(latency_summary(latencies))
    figures["submit_p50_ms"] = latency_summary(submit_latencies)["p50_ms"]
    if arrivals is not None:
        figures["arrival_p50_ms"] = latency_summary(arrival_latencies)["p50_ms"]
    figures["stopped_by_time_limit"] = len(latencies) + errors.count < len(docs)
    errors.count += watcher.errors.count
    errors.samples += watcher.errors.samples[:MAX_ERROR_SAMPLES]
    return errors.into(figures)


# --- round trip: the recipient pulls --------------------------------------------------------


async def round_trip(driver: Driver, sender: Party, recipient: Party, docs: Sequence[Prepared]) -> dict[str, Any]:
    """Submit → recipient lists its inbox, fetches, verifies, posts its signed 01 → sender sees it."""
    by_document = {d.document_id: d for d in docs}
    watcher = StatusWatcher(driver, sender, ack_workers=max(1, driver.concurrency // 8))
    batched_recipient_dms = await _batched_recipient(driver, sender, recipient, docs, watcher.errors)
    taken: set[str] = set()
    work: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    errors = watcher.errors

    async def poll(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                status, page = await driver.get_json("/api/v1/inbox", recipient, {"kind": "edoc", "limit": "500"})
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"recipient inbox: {type(exc).__name__}: {exc}")
                await asyncio.sleep(IDLE_POLL)
                continue
            new = 0
            for item in page["items"] if status == 200 else ():
                if item["id"] not in taken:
                    taken.add(item["id"])
                    work.put_nowait(item)
                    new += 1
            if not new:
                await asyncio.sleep(IDLE_POLL)

    async def answer() -> None:
        while (item := await work.get()) is not None:
            try:
                status, raw, etag = await driver.fetch(recipient, item["id"])
                if status != 200:
                    errors.add(f"fetch: HTTP {status}")
                    continue
                doc = by_document.get(item["document_id"])
                if doc is None or doc.status is None:
                    errors.add(f"fetch: unexpected document {item['document_id']}")
                    continue
                if not await _intact(driver, raw, etag, doc, sender.certificate):
                    errors.add(f"fetch: {item['id']} is not the bytes the sender signed")
                    continue
                status, body = await driver.post_xml("/api/v1/statuses", recipient, doc.status)
                if status != 202:
                    errors.add(f"status 01: HTTP {status}: {body[:200]!r}")
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"recipient: {type(exc).__name__}: {exc}")

    async def recipient_dms(stop: asyncio.Event) -> None:
        answerers = [asyncio.create_task(answer()) for _ in range(max(1, driver.concurrency // 4))]
        await poll(stop)
        for _ in answerers:
            work.put_nowait(None)
        await asyncio.gather(*answerers)

    return await _end_to_end(driver, sender, docs, [batched_recipient_dms if driver.batched_pull else recipient_dms],
                             watcher)


async def _batched_recipient(driver: Driver, sender: Party, recipient: Party, docs: Sequence[Prepared],
                             errors: Errors) -> Helper:
    """The recipient's DMS on the batched pull: long-polled pages with the bytes, statuses posted in batches."""
    by_document = {d.document_id: d for d in docs}
    taken: set[str] = set()
    work: asyncio.Queue[tuple[dict[str, Any], bytes] | None] = asyncio.Queue()
    params = {"kind": "edoc", "limit": str(PULL_BATCH), "include": "bodies", "wait": f"{LONG_POLL:g}"}

    async def poll(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                answer = await driver.inbox_until(recipient, params, stop)
                if answer is None:
                    return
                status, page = answer
                if status != 200:
                    errors.add(f"recipient inbox: HTTP {status}: {page!r}")
                    await asyncio.sleep(IDLE_POLL)
                    continue
                for item in page["items"]:
                    if item["id"] in taken:
                        continue
                    taken.add(item["id"])
                    if "body" in item:
                        raw = base64.b64decode(item["body"])
                    else:  # too large for the page: its own streamed fetch
                        status, raw, _ = await driver.fetch(recipient, item["id"])
                        if status != 200:
                            errors.add(f"fetch: HTTP {status}")
                            continue
                    work.put_nowait((item, raw))
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"recipient inbox: {type(exc).__name__}: {exc}")
                await asyncio.sleep(IDLE_POLL)

    async def one(item: dict[str, Any], raw: bytes) -> bytes | None:
        doc = by_document.get(item["document_id"])
        if doc is None or doc.status is None:
            errors.add(f"fetch: unexpected document {item['document_id']}")
            return None
        if not await _intact(driver, raw, item["sha256"], doc, sender.certificate):
            errors.add(f"fetch: {item['id']} is not the bytes the sender signed")
            return None
        return doc.status

    async def answer() -> None:
        done = False
        while not done:
            first = await work.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < PULL_BATCH and not work.empty():
                more = work.get_nowait()
                if more is None:
                    done = True
                    break
                batch.append(more)
            statuses = [s for s in await asyncio.gather(*(one(i, r) for i, r in batch)) if s is not None]
            if not statuses:
                continue
            try:
                status, reply = await driver.post_json(
                    "/api/v1/statuses/batch", recipient,
                    {"statuses": [base64.b64encode(s).decode() for s in statuses]})
            except (TimeoutError, aiohttp.ClientError) as exc:
                errors.add(f"recipient: {type(exc).__name__}: {exc}")
                continue
            if status != 200:
                errors.add(f"statuses: HTTP {status}: {reply!r}")
                continue
            for result in reply["results"]:
                if result["status"] != 202:
                    errors.add(f"status 01: {result.get('problem', {}).get('code')}: "
                               f"{result.get('problem', {}).get('detail')}")

    async def recipient_dms(stop: asyncio.Event) -> None:
        answerers = [asyncio.create_task(answer()) for _ in range(max(1, driver.concurrency // 8))]
        await poll(stop)
        for _ in answerers:
            work.put_nowait(None)
        await asyncio.gather(*answerers)

    return recipient_dms


async def _intact(driver: Driver, raw: bytes, etag: str, doc: Prepared, certificate: Certificate) -> bool:
    """The recipient's check of what it fetched: digest always, XML signature when asked to."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != doc.sha256 or etag != digest:
        return False
    if driver.verify:
        await asyncio.to_thread(verify_envelope, raw, pinned=[certificate])
    return True


# --- push: the axis delivers to an endpoint -------------------------------------------------


class ReceiptEndpoint:
    """A push endpoint answering each document with its recipient's pre-signed status 01."""

    def __init__(self, docs: Sequence[Prepared], sender_certificate: Certificate, verify: bool) -> None:
        self.by_document = {d.document_id: d for d in docs}
        self.sender_certificate = sender_certificate
        self.verify = verify
        self.arrivals: dict[str, float] = {}
        self.posts = 0
        self.refused = 0

    async def handle(self, request: web.Request) -> web.Response:
        """POST /edxml from the axis."""
        self.posts += 1
        body = await request.read()
        doc = self.by_document.get(request.headers.get("X-Axis-Document-Id", ""))
        if doc is None or doc.status is None or hashlib.sha256(body).hexdigest() != doc.sha256:
            self.refused += 1
            return web.Response(status=400, text="not a document this endpoint expects")
        if self.verify:
            await asyncio.to_thread(verify_envelope, body, pinned=[self.sender_certificate])
        self.arrivals.setdefault(doc.document_id, time.perf_counter())
        return web.Response(body=doc.status, content_type="application/xml")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post("/edxml", self.handle)
        return app


async def push(driver: Driver, sender: Party, endpoint: ReceiptEndpoint, docs: Sequence[Prepared]) -> dict[str, Any]:
    """Submit → the axis pushes to the endpoint, which answers 01 → sender sees it."""
    watcher = StatusWatcher(driver, sender, ack_workers=max(1, driver.concurrency // 8))
    figures = await _end_to_end(driver, sender, docs, [], watcher, arrivals=endpoint.arrivals)
    figures["endpoint_posts"] = endpoint.posts
    figures["endpoint_refused"] = endpoint.refused
    return figures


# --- large ----------------------------------------------------------------------------------


class LargeEndpoint:
    """The push endpoint of the large document: hashes the body as it streams in, answers its pre-signed 01."""

    PATH = "/large"

    def __init__(self) -> None:
        self.sha256 = ""
        self.status = b""
        self.pushed = asyncio.Event()
        self.posts = 0

    async def handle(self, request: web.Request) -> web.Response:
        """POST /large from the axis."""
        self.posts += 1
        digest = hashlib.sha256()
        async for chunk in request.content.iter_chunked(1 << 20):
            digest.update(chunk)
        if not self.sha256 or digest.hexdigest() != self.sha256:
            return web.Response(status=400, text="not the large document")
        self.pushed.set()
        return web.Response(body=self.status, content_type="application/xml")

    def add_to(self, app: web.Application) -> None:
        """Serve POST /large on ``app``."""
        app.router.add_post(self.PATH, self.handle)



async def large(driver: Driver, sender: Party, recipient: Party, path: Path, sha256: str, status: bytes,
                attachment_mb: float, pushed_to: LargeEndpoint | None = None) -> dict[str, Any]:
    """One document with a big attachment: accepted, stored, fetched by one recipient, pushed to the other."""
    size = path.stat().st_size
    out: dict[str, Any] = {"attachment_mb": attachment_mb, "message_mb": round(size / 2**20, 1),
                           "accepted": False, "delivered": False}
    timeout = aiohttp.ClientTimeout(total=1800)
    with driver.meter() as meter:
        try:
            started = time.perf_counter()
            with path.open("rb") as fh:
                headers = {**sender.auth, "Content-Type": "application/xml"}
                async with driver.http.post(f"{driver.base}/api/v1/documents", data=fh, headers=headers,
                                            timeout=timeout) as r:
                    body = await r.read()
                    code = r.status
            out["submit_s"] = round(time.perf_counter() - started, 2)
            if code != 202:
                out["error"] = f"submit answered HTTP {code}: {body[:300]!r}"
            else:
                out["accepted"] = True
                message_id = json.loads(body)["id"]
                started = time.perf_counter()
                digest = hashlib.sha256()
                async with driver.http.get(f"{driver.base}/api/v1/messages/{message_id}", headers=recipient.auth,
                                           timeout=timeout) as r:
                    async for chunk in r.content.iter_chunked(1 << 20):
                        digest.update(chunk)
                    code = r.status
                out["fetch_s"] = round(time.perf_counter() - started, 2)
                if code != 200 or digest.hexdigest() != sha256:
                    out["error"] = f"fetch answered HTTP {code}, bytes identical: {digest.hexdigest() == sha256}"
                else:
                    code, body = await driver.post_xml("/api/v1/statuses", recipient, status)
                    out["delivered"] = code == 202
                    if code != 202:
                        out["error"] = f"status 01 answered HTTP {code}: {body[:300]!r}"
                if pushed_to is not None and out["delivered"]:
                    # The push started at acceptance; it counts once the endpoint had every byte.
                    await asyncio.wait_for(pushed_to.pushed.wait(), timeout=1800)
                    out["push_s"] = round(time.perf_counter() - started, 2)
                    out["pushed"] = True
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
    figures = meter.figures(1)
    out.update(peak_rss_mb=figures["peak_rss_mb"], baseline_rss_mb=figures["baseline_rss_mb"],
               peak_rss_reset=figures["peak_rss_reset"], server_cpu_s=figures["server_cpu_s"],
               server_died=figures.get("server_died", False),
               seconds=figures["seconds"], count=1, per_s=None, cores_busy=figures["cores_busy"],
               peak_rss_ratio=round(figures["peak_rss_mb"] / attachment_mb, 2) if attachment_mb else None,
               errors=0 if out["delivered"] else 1)
    return out
