"""Measurement: per-call latency of /vxp next to /api/v1 on one axis over loopback (SQLite).

Not a test (no ``test_`` prefix). It starts an axis on a fresh SQLite database, then alternates
submitting a signed document through ``POST /api/v1/documents`` and ``POST /vxp/sendEdoc``, and
reading the recipient's waiting items through ``GET /api/v1/inbox`` and
``POST /vxp/getReceivedEdocList``, over kept-alive connections, and prints median and p95 of each.
Run from the repository root:

    .venv/bin/python tests/vxp/measure_vxp.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA  # noqa: E402
from tests.harness import server_settings, start_server  # noqa: E402
from tests.vxp.conftest import sdk_for  # noqa: E402
from tests.vxp.sdk_client import SdkClient, SdkReply  # noqa: E402


def _figures(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{name:32s} median {statistics.median(ordered) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms  (n={len(ordered)})"


async def main(calls: int) -> None:
    """Run the measurement and print one line per call kind."""
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp / 'axis.db'}"
    await asyncio.to_thread(upgrade, url)
    axis, server = await start_server(server_settings(tmp / "home", url), DevelopmentCA.create(common_name="CA"), {})
    http = aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Content-Type"))

    async def kept_alive(self: SdkClient, method: str, operation: str, headers: list[tuple[str, str]],
                         body: bytes | None) -> SdkReply:
        async with http.request(method, f"{self.endpoint}/{operation}", data=body,
                                headers=aiohttp.typedefs.CIMultiDict(headers)) as r:
            return SdkReply(r.status, r.headers, await r.read())

    SdkClient.send = kept_alive  # type: ignore[method-assign]  # like AxisClient's one session
    try:
        a, b = await axis.register("000.00.00.G22"), await axis.register("000.00.00.H29")
        sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
        warm = calls // 10
        docs = [a.document([b], number=str(i))[1] for i in range(1, 2 * (calls + warm) + 1)]
        times: dict[str, list[float]] = {k: [] for k in ("api", "vxp", "inbox", "list")}
        async with a.client() as ac, b.client() as bc:
            for i in range(calls + warm):
                started = time.perf_counter()
                await ac.submit(docs[2 * i])
                times["api"].append(time.perf_counter() - started)
                started = time.perf_counter()
                sent = await sa.send_edoc(docs[2 * i + 1], {"from": a.code})
                times["vxp"].append(time.perf_counter() - started)
                assert sent.json()["status"] == "OK", sent.json()
                started = time.perf_counter()
                await bc.inbox(limit=500)
                times["inbox"].append(time.perf_counter() - started)
                started = time.perf_counter()
                listed = await sb.call("getReceivedEdocList")
                times["list"].append(time.perf_counter() - started)
                assert listed.json()["status"] == "OK"
        for key, name in (("api", "POST /api/v1/documents"), ("vxp", "POST /vxp/sendEdoc"),
                          ("inbox", "GET /api/v1/inbox"), ("list", "POST /vxp/getReceivedEdocList")):
            print(_figures(name, times[key][warm:]))
    finally:
        await http.close()
        await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    asyncio.run(main(parser.parse_args().calls))
