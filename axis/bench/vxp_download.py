"""Measure /vxp getEdoc and downloadEdoc of one large document: server memory and /healthz latency.

A real `axis serve` on a fresh SQLite database; one signed document with a large attachment sent
through /vxp/sendEdoc; then N parallel getEdoc (or downloadEdoc) calls while /healthz is polled
and the server's resident memory sampled. Run from the repository root:

    .venv/bin/python -m axis.bench.vxp_download --mb 42 --parallel 8
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from axis.agency.sdk import sdk_timestamp, unpadded_sha256_hex
from axis.bench.load import _init_signer, sign_large
from axis.bench.run import _identities, _register
from axis.bench.server import ProcessStats, ServerProcess

SENDER, RECIPIENT = "sender", "large_to"


def _headers(system_id: str, secret: str, params: dict[str, str], content_type: str) -> dict[str, str]:
    """The SDK's signed headers for one call (a fresh timestamp; every call's hash-header differs)."""
    values = {"timestamp": sdk_timestamp(datetime.now(UTC)), "systemid": system_id, **params}
    signed = {f"XroadVnpt-{k}": v for k, v in values.items()}
    sign_header = json.dumps(signed, separators=(",", ":"))
    return {**signed, "Content-Type": content_type, "XroadVnpt-sign-header": sign_header,
            "XroadVnpt-hash-header": hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()}


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


async def _measure(base: str, pid: int, creds: dict[str, tuple[str, str]], sender: str, recipient: str,
                   document: bytes, parallel: int, operation: str) -> dict[str, Any]:
    stats = ProcessStats(pid)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        sid, secret = creds[sender]
        h = _headers(sid, secret, {"from": sender, "hash-file": unpadded_sha256_hex(document)},
                     "application/octet-stream")
        async with http.post(f"{base}/vxp/sendEdoc", data=document + b"\r\n", headers=h) as r:
            sent = await r.json()
        assert sent["status"] == "OK", sent
        doc_id = sent["DocId"]
        rid, rsecret = creds[recipient]
        idle = stats.sample().rss_mb
        rss: list[float] = []
        health: list[float] = []
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                started = time.perf_counter()
                async with http.get(f"{base}/healthz") as r:
                    await r.read()
                health.append(time.perf_counter() - started)
                rss.append(stats.sample().rss_mb)
                await asyncio.sleep(0.05)

        async def one(n: int) -> int:
            # A distinct filePath per call (the SDK signs it): calls in one millisecond are no replays.
            h = _headers(rid, rsecret, {"docId": doc_id, "filePath": f"/tmp/edoc-{n}"}, "application/json")
            got = 0
            async with http.post(f"{base}/vxp/{operation}", data=b"{}", headers=h) as r:
                async for chunk in r.content.iter_chunked(1 << 20):
                    got += len(chunk)
                if r.status != 200:
                    raise RuntimeError(f"{operation}: HTTP {r.status}")
            return got

        poller = asyncio.create_task(poll())
        started = time.perf_counter()
        sizes = await asyncio.gather(*(one(n) for n in range(parallel)))
        elapsed = time.perf_counter() - started
        done.set()
        await poller
    ordered = sorted(health)
    return {"operation": operation, "parallel": parallel, "document_mb": round(len(document) / 2**20, 1),
            "answer_mb_each": round(min(sizes) / 2**20, 1), "seconds": round(elapsed, 2),
            "rss_idle_mb": round(idle, 1), "rss_peak_mb": round(max(rss, default=idle), 1),
            "healthz_ms_median": round(ordered[len(ordered) // 2] * 1000, 1) if ordered else None,
            "healthz_ms_max": round(ordered[-1] * 1000, 1) if ordered else None, "healthz_samples": len(ordered)}


def main() -> None:
    """Run the measurement and print one JSON line per operation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=42.0, help="attachment size (the document is ~4/3 of it)")
    parser.add_argument("--parallel", type=int, default=8)
    options = parser.parse_args()
    from cryptography.fernet import Fernet

    from migrations.upgrade import upgrade

    work = Path(tempfile.mkdtemp(prefix="axis-vxp-bench-"))
    url = f"sqlite+aiosqlite:///{work / 'axis.db'}"
    upgrade(url)
    parties = _identities(work / "agents")
    asyncio.run(_register(url, parties, 9))
    key = Fernet.generate_key().decode()
    creds = asyncio.run(_secrets(url, [parties[SENDER]["code"], parties[RECIPIENT]["code"]], key))
    _init_signer(parties)
    path = work / "large.edxml"
    sign_large(str(path), int(options.mb * 2**20), SENDER, RECIPIENT, "large_push_to")
    document = path.read_bytes()
    (work / "home").mkdir()
    server = ServerProcess(work / "home", url, work / "server.log", extra_env={"AXIS_VXP_SECRET_KEY": key})
    server.start()
    try:
        server.wait_ready()
        for operation in ("getEdoc", "downloadEdoc"):
            print(json.dumps(asyncio.run(_measure(server.url, server.pid, creds, parties[SENDER]["code"],
                                                  parties[RECIPIENT]["code"], document, options.parallel,
                                                  operation))), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
