"""Measurement: per-call latency of /vxp next to /api/v1 on one axis over loopback.

It starts a real `axis serve` on a fresh database (SQLite, or PostgreSQL with ``--database-url``),
then alternates submitting a signed document through ``POST /api/v1/documents`` and
``POST /vxp/sendEdoc``, and reading the recipient's waiting items through ``GET /api/v1/inbox``
and ``POST /vxp/getReceivedEdocList``, over kept-alive connections, and prints median and p95 of
each. Run from the repository root::

    .venv/bin/python -m axis.bench.vxp [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from axis.agency.client import AxisClient, compose_document, sign_message
from axis.agency.sdk import SdkClient, sdk_session
from axis.bench.server import AXIS_COMMAND, ServerProcess, drop_database, provision_database
from envelope.model import Attachment, Organization
from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity, certificate_pem
from storage.db import create_engine, session_factory
from storage.registry.agencies import register_agency

SENDER = Organization("000.00.00.G22", "Văn phòng Chính phủ")
RECIPIENT = Organization("000.00.00.H29", "UBND Thành phố Hồ Chí Minh")
#: Call kinds in the order printed, with the request each one times.
CALLS = {"api": "POST /api/v1/documents", "vxp": "POST /vxp/sendEdoc", "inbox": "GET /api/v1/inbox",
         "list": "POST /vxp/getReceivedEdocList"}


@dataclass(frozen=True)
class Latency:
    """One call kind's figures, milliseconds."""

    name: str
    median_ms: float
    p95_ms: float
    count: int


def latency(name: str, seconds: Sequence[float]) -> Latency:
    """Median and p95 of ``seconds``, in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return Latency(name, statistics.median(ordered) * 1000, p95 * 1000, len(ordered))


async def _register(url: str, identities: dict[str, IssuedIdentity]) -> dict[str, str]:
    """Register the agencies with their certificates; their API tokens by code."""
    engine = create_engine(url)
    tokens = {}
    try:
        async with session_factory(engine)() as session, session.begin():
            for org in (SENDER, RECIPIENT):
                pem = certificate_pem(identities[org.organ_id].certificate)
                reg = await register_agency(session, org.organ_id, org.organ_name, certificate=pem, actor="bench")
                tokens[org.organ_id] = reg.token
    finally:
        await engine.dispose()
    return tokens


def _vxp_secret(server: ServerProcess, code: str) -> tuple[str, str]:
    """Issue an agency's SDK system id and secret as an operator does (`axis agency vxp-secret`)."""
    out = subprocess.run([*AXIS_COMMAND, "agency", "vxp-secret", code], env=server.env, cwd=server.home,
                         capture_output=True, text=True, check=True, timeout=60)
    issued = json.loads(out.stdout)
    return str(issued["system_id"]), str(issued["secret"])


def _documents(identity: IssuedIdentity, count: int) -> list[bytes]:
    """``count`` signed documents from the sender to the recipient."""
    return [sign_message(compose_document(
        sender=SENDER, recipients=[RECIPIENT], subject=f"Về việc đo độ trễ liên thông, văn bản số {n}",
        number=str(n), notation="VPCP-TTĐT", promulgation_date=date.today(),
        attachments=[Attachment("cid:1", f"cong-van-{n}.pdf", "application/pdf", b"%PDF-1.4 bench\n" * 200)],
    ), identity.key, identity.certificate) for n in range(1, count + 1)]


async def _drive(server: ServerProcess, tokens: dict[str, str], secrets: dict[str, tuple[str, str]],
                 docs: list[bytes], calls: int, warm: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in CALLS}
    async with sdk_session() as http, AxisClient(server.url, tokens[SENDER.organ_id]) as ac, \
            AxisClient(server.url, tokens[RECIPIENT.organ_id]) as bc:
        sa = SdkClient(server.url + "/vxp", *secrets[SENDER.organ_id], session=http)
        sb = SdkClient(server.url + "/vxp", *secrets[RECIPIENT.organ_id], session=http)
        for i in range(calls + warm):
            started = time.perf_counter()
            await ac.submit(docs[2 * i])
            times["api"].append(time.perf_counter() - started)
            started = time.perf_counter()
            sent = await sa.send_edoc(docs[2 * i + 1], {"from": SENDER.organ_id})
            times["vxp"].append(time.perf_counter() - started)
            if sent.json().get("status") != "OK":
                raise RuntimeError(f"sendEdoc refused: {sent.json()}")
            started = time.perf_counter()
            await bc.inbox(limit=500)
            times["inbox"].append(time.perf_counter() - started)
            started = time.perf_counter()
            listed = await sb.call("getReceivedEdocList")
            times["list"].append(time.perf_counter() - started)
            if listed.json().get("status") != "OK":
                raise RuntimeError(f"getReceivedEdocList refused: {listed.json()}")
    return {k: v[warm:] for k, v in times.items()}


def measure(calls: int = 100, database_url: str | None = None) -> list[Latency]:
    """Start a server, time ``calls`` of each kind (after a tenth as warm-up), stop it; one figure per kind."""
    workdir = Path(tempfile.mkdtemp(prefix="axis-bench-vxp-"))
    home = workdir / "home"
    home.mkdir()
    db = asyncio.run(provision_database(database_url, home))
    server: ServerProcess | None = None
    try:
        upgrade(db.url)
        ca = DevelopmentCA.create(common_name="Axis Bench CA")
        identities = {o.organ_id: ca.issue(o.organ_name, organ_id=o.organ_id, kind="rsa")
                      for o in (SENDER, RECIPIENT)}
        tokens = asyncio.run(_register(db.url, identities))
        server = ServerProcess(home, db.url, workdir / "server.log", name="axis serve (vxp bench)")
        secrets = {code: _vxp_secret(server, code) for code in tokens}
        warm = calls // 10
        docs = _documents(identities[SENDER.organ_id], 2 * (calls + warm))
        server.start()
        server.wait_ready()
        times = asyncio.run(_drive(server, tokens, secrets, docs, calls, warm))
        return [latency(name, times[key]) for key, name in CALLS.items()]
    finally:
        if server is not None:
            server.stop()
        asyncio.run(drop_database(db))
        shutil.rmtree(workdir, ignore_errors=True)


def render(figures: Sequence[Latency]) -> str:
    """One line per call kind."""
    return "\n".join(f"{f.name:32s} median {f.median_ms:6.2f} ms  p95 {f.p95_ms:6.2f} ms  (n={f.count})"
                     for f in figures)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the measurement and print one line per call kind."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    print(render(measure(args.calls, args.database_url)))


if __name__ == "__main__":
    main()
