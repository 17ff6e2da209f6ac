"""The load process: sign every message first, then drive the axis through the scenarios.

`axis bench` runs it as ``python -m axis.bench.load SPEC.json RESULT.json`` so that the
load generator never shares an interpreter (or a GIL) with the server it measures.
Progress goes to standard error; the figures go to RESULT.json.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from axis.agency.client import compose_document, compose_status, sign_message
from axis.bench import scenarios
from axis.bench.scenarios import Driver, Party, Prepared, ReceiptEndpoint
from axis.bench.server import ProcessStats
from envelope.builder import build_document
from envelope.codes import StatusCode
from envelope.model import Attachment, Organization
from signing.keys import Certificate, PrivateKey, load_certificate, load_private_key
from signing.signer import sign_envelope

#: Documents signed per task handed to a signing process.
BATCH = 100
#: The half-rate phase sends at most this many seconds' worth of documents.
HALF_RATE_SECONDS = 15.0

_IDENTITIES: dict[str, tuple[Organization, PrivateKey, Certificate]] = {}


def log(message: str) -> None:
    """One progress line on standard error."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _init_signer(parties: dict[str, dict[str, str]]) -> None:
    """Load every agency's key once per signing process."""
    for role, p in parties.items():
        _IDENTITIES[role] = (
            Organization(organ_id=p["code"], organ_name=p["name"]),
            load_private_key(Path(p["key"]).read_bytes()),
            load_certificate(Path(p["cert"]).read_bytes()),
        )


def sign_batch(sender: str, recipient: str, notation: str, numbers: list[int], attachment_bytes: int,
               with_status: bool) -> list[tuple[bytes, str, str, bytes | None]]:
    """Signed documents ``sender`` → ``recipient`` and, if asked, the recipient's signed 01 for each."""
    org, key, cert = _IDENTITIES[sender]
    r_org, r_key, r_cert = _IDENTITIES[recipient]
    out = []
    for n in numbers:
        doc = compose_document(
            sender=org, recipients=[r_org], subject=f"Về việc thử tải trục liên thông, văn bản số {n}",
            number=str(n), notation=notation, promulgation_date=date.today(),
            attachments=[Attachment("cid:1", f"cong-van-{n}.pdf", "application/pdf", os.urandom(attachment_bytes))],
        )
        raw = sign_message(doc, key, cert)
        status = None
        if with_status:
            status = sign_message(
                compose_status(sender=r_org, document=doc, code=StatusCode.ARRIVED, description="Đã nhận văn bản"),
                r_key, r_cert,
            )
        out.append((raw, doc.document_id, hashlib.sha256(raw).hexdigest(), status))
    return out


def sign_large(path: str, attachment_bytes: int, sender: str, recipient: str,
               pushed_to: str) -> tuple[int, str, str, bytes, bytes]:
    """Write one signed document with a big attachment to ``path``; return size, DocumentId, sha256, both 01s."""
    org, key, cert = _IDENTITIES[sender]
    r_org, r_key, r_cert = _IDENTITIES[recipient]
    p_org, p_key, p_cert = _IDENTITIES[pushed_to]
    doc = compose_document(
        sender=org, recipients=[r_org, p_org], subject="Hồ sơ lưu trữ dung lượng lớn", number="1",
        notation="LARGE-BENCH",
        promulgation_date=date.today(),
        attachments=[Attachment("cid:1", "ho-so.zip", "application/zip", os.urandom(attachment_bytes))],
    )
    unsigned = build_document(doc)
    raw = sign_envelope(unsigned, key, cert, max_size=len(unsigned) * 2)
    del unsigned
    Path(path).write_bytes(raw)
    status = sign_message(
        compose_status(sender=r_org, document=doc, code=StatusCode.ARRIVED, description="Đã nhận văn bản"),
        r_key, r_cert,
    )
    pushed_status = sign_message(
        compose_status(sender=p_org, document=doc, code=StatusCode.ARRIVED, description="Đã nhận văn bản"),
        p_key, p_cert,
    )
    return len(raw), doc.document_id, hashlib.sha256(raw).hexdigest(), status, pushed_status


def presign(spec: dict[str, Any]) -> dict[str, Any]:
    """Every message of the run, signed by a pool of processes before anything is timed."""
    wanted = set(spec["scenarios"])
    counts = spec["counts"]
    attachment_bytes = int(spec["doc_kb"] * 1024)
    # (set name, sender role, recipient role, notation, how many, with status 01)
    plan: list[tuple[str, str, str, str, int, bool]] = []
    if "submit" in wanted:
        plan.append(("warmup", "sender", "submit_to", "WARM-BENCH", max(10, min(100, counts["submit"] // 10)), False))
        plan.append(("submit", "sender", "submit_to", "SUB-BENCH", counts["submit"], False))
        if spec["half_rate"]:
            plan.append(("submit_half_rate", "sender", "submit_to", "HALF-BENCH", max(20, counts["submit"] // 2),
                         False))
    if "roundtrip" in wanted:
        plan.append(("roundtrip", "sender", "roundtrip_to", "RT-BENCH", counts["roundtrip"], True))
    if "push" in wanted:
        plan.append(("push", "sender", "push_to", "PUSH-BENCH", counts["push"], True))
    total = sum(p[4] for p in plan)
    workers = max(1, os.cpu_count() or 1)
    started = time.perf_counter()
    log(f"signing {total} messages (and their 01 receipts) in {workers} processes"
        + (f", plus one {spec['large_mb']} MB document" if "large" in wanted else ""))
    context = multiprocessing.get_context("spawn")
    out: dict[str, Any] = {}
    large_future: Future[tuple[int, str, str, bytes, bytes]] | None = None
    large_pool = None
    if "large" in wanted:
        # Its own process, which exits afterwards and gives back the gigabyte signxml needed.
        large_pool = ProcessPoolExecutor(1, mp_context=context, initializer=_init_signer,
                                         initargs=(spec["parties"],))
        large_future = large_pool.submit(sign_large, str(Path(spec["workdir"]) / "large.xml"),
                                         int(spec["large_mb"] * 2**20), "sender", "large_to", "large_push_to")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_signer,
                             initargs=(spec["parties"],)) as pool:
        futures: dict[str, list[Future[list[tuple[bytes, str, str, bytes | None]]]]] = {}
        for name, sender, recipient, notation, n, with_status in plan:
            futures[name] = [
                pool.submit(sign_batch, sender, recipient, notation, list(range(i + 1, min(n, i + BATCH) + 1)),
                            attachment_bytes, with_status)
                for i in range(0, n, BATCH)
            ]
        for name, batch in futures.items():
            out[name] = [Prepared(raw, doc_id, sha, status) for f in batch for raw, doc_id, sha, status in f.result()]
    if large_future is not None and large_pool is not None:
        size, doc_id, sha, status, pushed_status = large_future.result()
        large_pool.shutdown()
        out["large"] = {"size": size, "document_id": doc_id, "sha256": sha, "status": status,
                        "pushed_status": pushed_status}
    log(f"signed in {time.perf_counter() - started:.1f} s")
    return out


def _party(p: dict[str, str]) -> Party:
    return Party(p["code"], p["token"], load_certificate(Path(p["cert"]).read_bytes()))


async def run(spec: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any]:
    """The timed scenarios, in order; figures per scenario."""
    parties = {role: _party(p) for role, p in spec["parties"].items()}
    stats = ProcessStats(spec["server_pid"])
    concurrency = spec["concurrency"]
    results: dict[str, Any] = {}
    notes: list[str] = []
    wanted = spec["scenarios"]

    endpoint: ReceiptEndpoint | None = None
    runner: web.AppRunner | None = None
    large_endpoint = scenarios.LargeEndpoint()
    if "push" in wanted or "large" in wanted:
        endpoint = ReceiptEndpoint(prepared.get("push", []), parties["sender"].certificate, spec["verify"])
        receiver = endpoint.app()
        large_endpoint.add_to(receiver)
        if "large" in wanted:
            large_endpoint.sha256 = prepared["large"]["sha256"]
            large_endpoint.status = prepared["large"]["pushed_status"]
        runner = web.AppRunner(receiver, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", spec["receiver_port"]).start()

    def alive() -> bool:
        try:
            stats.sample()
        except OSError:
            return False
        return True

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as http:
        driver = Driver(spec["server_url"], http, stats, concurrency=concurrency, database=spec["database_name"],
                        verify=spec["verify"], max_seconds=spec["max_seconds"],
                        batched_pull=spec.get("pull", "batched") == "batched")
        try:
            for name in wanted:
                if not alive():
                    results[name] = {"skipped": "the server is no longer running"}
                    continue
                log(f"{name}: running")
                if name == "submit":
                    await scenarios.submit_closed_loop(driver, parties["sender"], prepared["warmup"])
                    results["submit"] = await scenarios.submit_closed_loop(
                        driver, parties["sender"], prepared["submit"])
                    log(f"submit: {results['submit']['count']} in {results['submit']['seconds']} s, "
                        f"{results['submit']['per_s']}/s, errors {results['submit']['errors']}")
                    rate = (results["submit"].get("per_s") or 0) * 0.5
                    if spec["half_rate"] and rate > 0:
                        docs = prepared["submit_half_rate"][: max(20, int(rate * HALF_RATE_SECONDS))]
                        log(f"submit_half_rate: {len(docs)} documents at {rate:.0f}/s (open loop)")
                        open_connector = aiohttp.TCPConnector(limit=max(64, 4 * concurrency))
                        async with aiohttp.ClientSession(connector=open_connector,
                                                         timeout=aiohttp.ClientTimeout(total=300)) as open_http:
                            open_driver = Driver(spec["server_url"], open_http, stats, concurrency=concurrency,
                                                 database=spec["database_name"], verify=spec["verify"],
                                                 max_seconds=spec["max_seconds"])
                            results["submit_half_rate"] = await scenarios.submit_open_loop(
                                open_driver, parties["sender"], docs, rate)
                elif name == "roundtrip":
                    results["roundtrip"] = await scenarios.round_trip(
                        driver, parties["sender"], parties["roundtrip_to"], prepared["roundtrip"])
                elif name == "push":
                    assert endpoint is not None
                    results["push"] = await scenarios.push(driver, parties["sender"], endpoint, prepared["push"])
                elif name == "large":
                    big = prepared["large"]
                    results["large"] = await scenarios.large(
                        driver, parties["sender"], parties["large_to"], Path(spec["workdir"]) / "large.xml",
                        big["sha256"], big["status"], spec["large_mb"], pushed_to=large_endpoint)
                    if not results["large"]["peak_rss_reset"]:
                        notes.append("could not reset the server's VmHWM before the large scenario: "
                                     "its peak RSS is the peak of the whole run")
                summary = results.get("submit_half_rate" if name == "submit" else name, {})
                log(f"{'submit_half_rate' if name == 'submit' else name}: {summary.get('count')} in "
                    f"{summary.get('seconds')} s, {summary.get('per_s')}/s, errors {summary.get('errors')}")
        finally:
            if runner is not None:
                await runner.cleanup()
    if not alive():
        notes.append("the server died during the run")
    return {"scenarios": results, "notes": notes}


def main(argv: list[str]) -> int:
    """Entry point: ``python -m axis.bench.load SPEC.json RESULT.json``."""
    spec = json.loads(Path(argv[0]).read_text())
    started = time.perf_counter()
    prepared = presign(spec)
    presign_s = time.perf_counter() - started
    result = asyncio.run(run(spec, prepared))
    result["presign_s"] = round(presign_s, 1)
    Path(argv[1]).write_text(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
