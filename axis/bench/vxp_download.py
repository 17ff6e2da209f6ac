"""Measure /vxp getEdoc and downloadEdoc of one large document: server memory and /healthz latency.

A real `axis serve` on a fresh database (SQLite, or PostgreSQL with ``--database``; payloads in
files or, with ``--blob-backend database``, in database rows); one signed document with a large
attachment sent through /vxp/sendEdoc; then rounds of N parallel getEdoc (or downloadEdoc) calls
while a separate process polls /healthz every 10 ms and samples the server's resident memory (so
the client's own work does not inflate the latencies). Run from the repository root:

    .venv/bin/python -m axis.bench.vxp_download --mb 75 --parallel 8
    .venv/bin/python -m axis.bench.vxp_download --mb 75 --parallel 8 \
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/postgres --blob-backend database

One JSON line per operation: the document's size, /healthz p50/p99/max in ms, the server's RSS
before and at its peak and the growth, and whether both bounds hold (growth under the document's
size, /healthz max under 50 ms).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from axis.agency.sdk import SdkClient
from axis.bench.load import _init_signer, sign_large
from axis.bench.run import _identities, _register
from axis.bench.server import ProcessStats, ServerProcess, drop_database, provision_database

SENDER, RECIPIENT = "sender", "large_to"


async def _secrets(url: str, codes: list[str], key: str) -> dict[str, tuple[str, str]]:
    from cryptography.fernet import Fernet

    from storage.db import create_engine, session_factory
    from storage.registry.vxp import issue_vxp_secret

    engine = create_engine(url)
    out = {}
    try:
        async with session_factory(engine)() as session, session.begin():
            for code in codes:
                out[code] = await issue_vxp_secret(session, code, Fernet(key.encode()), actor="bench")
    finally:
        await engine.dispose()
    return out


#: The bounds the measurement checks: /healthz answers within this while the downloads run.
HEALTHZ_BOUND_MS = 50.0


def _poll(base: str, pid: int, stop: Any, out: Any) -> None:
    """In its own process: GET /healthz every 10 ms on one kept-alive connection, sampling the server's RSS."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(base)
    stats = ProcessStats(pid)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=30)
    health: list[tuple[float, float]] = []
    rss: list[tuple[float, float]] = []
    while not stop.is_set():
        at, started = time.time(), time.perf_counter()
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        answer.read()
        health.append((at, time.perf_counter() - started))
        if answer.status != 200:
            raise RuntimeError(f"/healthz: HTTP {answer.status}")
        rss.append((at, stats.sample().rss_mb))
        time.sleep(0.01)
    conn.close()
    out.put((health, rss))


#: Run in the server with --slow-callback-ms: asyncio's debug mode logs every callback that held the
#: event loop longer than the threshold ("Executing ... took 0.031 seconds").
_SLOW_CALLBACKS = """import asyncio.base_events, os
_init = asyncio.base_events.BaseEventLoop.__init__
def _with_threshold(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.slow_callback_duration = float(os.environ["AXIS_BENCH_SLOW_CALLBACK"])
asyncio.base_events.BaseEventLoop.__init__ = _with_threshold
"""
_TOOK = re.compile(rb" took (\d+\.\d+) seconds")


def _slow_callbacks(log: Path, start: int) -> list[float]:
    """Seconds of each slow callback the server logged after byte ``start`` of its log."""
    with log.open("rb") as fh:
        fh.seek(start)
        return [float(m.group(1)) for m in _TOOK.finditer(fh.read())]


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _measure(base: str, pid: int, client: SdkClient, sender_code: str, receiver: SdkClient,
                   document: bytes, parallel: int, rounds: int, seconds: float, operation: str,
                   log: Path, watched: bool) -> dict[str, Any]:
    stats = ProcessStats(pid)
    sent = (await client.send_edoc(document, {"from": sender_code})).json()
    assert sent["status"] == "OK", sent
    doc_id = sent["DocId"]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
        # Settle: the send's own memory is not the download's.
        await asyncio.sleep(1.0)
        idle = stats.sample().rss_mb
        calls = 0

        async def one() -> int:
            nonlocal calls
            calls += 1
            # A distinct filePath per call (the SDK signs it): calls in one millisecond are no replays.
            headers = dict(receiver.headers({"docId": doc_id, "filePath": f"/tmp/edoc-{calls}"}, "application/json"))
            got = 0
            async with http.post(f"{base}/vxp/{operation}", data=b"{}", headers=headers) as r:
                async for chunk in r.content.iter_chunked(1 << 20):
                    got += len(chunk)
                if r.status != 200:
                    raise RuntimeError(f"{operation}: HTTP {r.status}")
            return got

        context = multiprocessing.get_context("spawn")
        stop, out = context.Event(), context.Queue()
        poller = context.Process(target=_poll, args=(base, pid, stop, out), daemon=True)
        poller.start()
        # The poller's interpreter starts, then two seconds of /healthz with the server idle: the floor
        # the machine's other work sets, for comparison.
        await asyncio.sleep(2.5)
        begun, started = time.time(), time.perf_counter()
        log_start, load_start = log.stat().st_size, os.getloadavg()[0]
        sizes: list[int] = []
        done = 0
        # At least ``rounds``, and rounds until ``seconds`` have passed: enough /healthz samples for a p99.
        while done < rounds or time.perf_counter() - started < seconds:
            sizes += await asyncio.gather(*(one() for _ in range(parallel)))
            done += 1
        elapsed = time.perf_counter() - started
        stop.set()
        slow = _slow_callbacks(log, log_start)
        health_at, rss_at = await asyncio.to_thread(out.get, True, 60)
        await asyncio.to_thread(poller.join, 10)
    before = sorted(seconds for at, seconds in health_at if at < begun)
    ordered = sorted(seconds for at, seconds in health_at if at >= begun)
    peak = max((mb for at, mb in rss_at if at >= begun), default=idle)
    document_mb = len(document) / 2**20
    max_ms = ordered[-1] * 1000 if ordered else float("nan")
    return {"operation": operation, "parallel": parallel, "rounds": done, "document_mb": round(document_mb, 1),
            "answer_mb_each": round(min(sizes) / 2**20, 1), "seconds": round(elapsed, 2),
            "healthz_ms_p50_idle": round(_percentile(before, 0.5) * 1000, 1) if before else None,
            "healthz_ms_max_idle": round(before[-1] * 1000, 1) if before else None,
            "healthz_samples": len(ordered),
            "healthz_ms_p50": round(_percentile(ordered, 0.5) * 1000, 1) if ordered else None,
            "healthz_ms_p99": round(_percentile(ordered, 0.99) * 1000, 1) if ordered else None,
            "healthz_ms_max": round(max_ms, 1),
            "rss_idle_mb": round(idle, 1), "rss_peak_mb": round(peak, 1), "rss_growth_mb": round(peak - idle, 1),
            "growth_under_document": peak - idle < document_mb, "healthz_under_50ms": max_ms < HEALTHZ_BOUND_MS,
            # The machine's other work shows here (2 cores shared: a load of 4 leaves the server half a core).
            "machine_load_1m": [round(load_start, 2), round(os.getloadavg()[0], 2)],
            # Counted only with --slow-callback-ms (asyncio's debug mode logs them).
            **({"slow_callbacks": len(slow), "slowest_callback_ms": round(max(slow, default=0.0) * 1000, 1)}
               if watched else {})}


def main() -> None:
    """Run the measurement and print one JSON line per operation."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mb", type=float, default=75.0,
                        help="attachment size in MiB (the document is ~4/3 of it: 75 gives a 100 MiB document)")
    parser.add_argument("--parallel", type=int, default=8, help="calls at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of parallel calls per operation")
    parser.add_argument("--seconds", type=float, default=5.0, help="and more rounds until this long has passed")
    parser.add_argument("--operations", default="getEdoc,downloadEdoc", help="comma-separated")
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a fresh database is created on its server and dropped); "
                             "default: a SQLite file")
    parser.add_argument("--slow-callback-ms", type=float, default=None,
                        help="run the server in asyncio's debug mode and count the callbacks that held its event "
                             "loop longer than this (debug mode slows it: a diagnosis, not a figure)")
    parser.add_argument("--blob-backend", choices=("filesystem", "database"), default="filesystem",
                        help="where the server keeps large payloads")
    options = parser.parse_args()
    from cryptography.fernet import Fernet

    from migrations.upgrade import upgrade

    work = Path(tempfile.mkdtemp(prefix="axis-vxp-bench-"))
    db = asyncio.run(provision_database(options.database, work))
    try:
        upgrade(db.url)
        parties = _identities(work / "agents")
        asyncio.run(_register(db.url, parties, 9))
        key = Fernet.generate_key().decode()
        creds = asyncio.run(_secrets(db.url, [parties[SENDER]["code"], parties[RECIPIENT]["code"]], key))
        _init_signer(parties)
        path = work / "large.edxml"
        sign_large(str(path), int(options.mb * 2**20), SENDER, RECIPIENT, "large_push_to")
        document = path.read_bytes()
        (work / "home").mkdir()
        env = {"AXIS_VXP_SECRET_KEY": key, "AXIS_BLOB_BACKEND": options.blob_backend}
        if options.slow_callback_ms is not None:
            (work / "diagnosis").mkdir()
            (work / "diagnosis" / "sitecustomize.py").write_text(_SLOW_CALLBACKS)
            env |= {"PYTHONASYNCIODEBUG": "1", "AXIS_BENCH_SLOW_CALLBACK": str(options.slow_callback_ms / 1000),
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(work / "diagnosis"),
                                                                os.environ.get("PYTHONPATH")]))}
        server = ServerProcess(work / "home", db.url, work / "server.log", extra_env=env)
        server.start()
        try:
            server.wait_ready()
            # To profile the server while it serves (py-spy record --pid ...).
            print(f"server pid {server.pid}, log {work / 'server.log'}", file=sys.stderr, flush=True)
            sender = SdkClient(f"{server.url}/vxp", *creds[parties[SENDER]["code"]])
            receiver = SdkClient(f"{server.url}/vxp", *creds[parties[RECIPIENT]["code"]])
            for operation in options.operations.split(","):
                figures = asyncio.run(_measure(server.url, server.pid, sender, parties[SENDER]["code"], receiver,
                                               document, options.parallel, options.rounds, options.seconds,
                                               operation, work / "server.log",
                                               options.slow_callback_ms is not None))
                print(json.dumps({"database": db.backend, "blob_backend": options.blob_backend, **figures}),
                      flush=True)
        finally:
            server.stop()
    finally:
        asyncio.run(drop_database(db))


if __name__ == "__main__":
    main()
