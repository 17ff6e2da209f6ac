"""Time `axis backup` and `axis restore` of an axis holding many documents with their payloads.

    python -m axis.bench.backup --documents 100000 [--database-url postgresql+asyncpg://…/postgres]

The archive is filled straight through storage (rows inserted many at a time, not through HTTP,
which would take an hour): ``documents`` signed-document-sized payloads kept in the database
(``payloads``, each with its message, its delivered delivery and its ledger row) and ``files``
larger ones kept as blob files under the home. Each payload's digest is the SHA-256 of its bytes,
so `axis fixity check` on the restored axis re-hashes real data. Then the real commands run as
an operator runs them, each in its own process: `axis backup DIR` on the filled axis, and
`axis restore DIR` into a fresh home and a fresh database; the restored row counts and payload
bytes are compared with the source's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from axis.bench.scale import _add_agencies
from axis.bench.server import AXIS_COMMAND, BenchDatabase, drop_database, provision_database
from storage.archive_models import Blob
from storage.db import create_engine
from storage.ids import new_id
from storage.models import Delivery, Message, Payload, utcnow
from storage.payloads.files import BlobStore

#: Documents inserted per statement batch.
BATCH = 2000


def _payload(i: int, size: int) -> bytes:
    """Bytes shaped like a signed envelope carrying a base64 attachment (random, so nothing compresses it away)."""
    head = (f'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><!-- bench document {i} -->'
            '<AttachmentEncoded><Attachment><ContentTransferEncoded>').encode()
    tail = b"</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>"
    body = base64.b64encode(os.urandom(max(0, size - len(head) - len(tail)) * 3 // 4 + 3))
    return (head + body)[: max(0, size - len(tail))] + tail


def _batches(documents: int, size: int, agencies: list[int]) -> Iterator[dict[str, list[dict[str, Any]]]]:
    now = utcnow()
    start = now - timedelta(days=365)
    step = (now - start) / max(1, documents)
    for base in range(0, documents, BATCH):
        rows: dict[str, list[dict[str, Any]]] = {"messages": [], "deliveries": [], "payloads": [], "blobs": []}
        for i in range(base, min(documents, base + BATCH)):
            at = start + step * i
            data = _payload(i, size)
            sha = hashlib.sha256(data).hexdigest()
            sender, recipient = agencies[i % len(agencies)], agencies[(i * 7 + 1) % len(agencies)]
            if sender == recipient:
                recipient = agencies[(i + 1) % len(agencies)]
            message_id = new_id(int(at.timestamp() * 1000))
            rows["messages"].append({
                "id": message_id, "kind": "edoc", "document_id": f"{sender:03d}.00.00.S01,{at:%Y/%m/%d},{i + 1}/BK",
                "sender_id": sender, "business_type": 0, "sha256": sha, "size": len(data), "received_at": at,
                "subject": f"Về việc sao lưu thử số {i + 1}", "code_number": str(i + 1), "code_notation": "BK",
                "type_name": "Công văn", "type_abbreviation": "", "priority": 0,
                "promulgation_date": at.date().isoformat(), "attachment_count": 1})
            rows["deliveries"].append({
                "message_id": message_id, "recipient_id": recipient, "mode": "pull", "state": "delivered",
                "attempts": 0, "created_at": at, "retrieved_at": at, "delivered_at": at})
            rows["payloads"].append({"sha256": sha, "data": data})
            rows["blobs"].append({"sha256": sha, "size": len(data), "stored_at": at})
        yield rows


async def fill(database_url: str, home: Path, documents: int, payload_bytes: int, files: int,
               file_bytes: int) -> dict[str, int]:
    """Insert the documents, their payloads and the blob files; return what was stored."""
    engine = create_engine(database_url)
    stored = {"documents": 0, "payload_bytes": 0, "files": 0, "file_bytes": 0}
    try:
        agencies = await _add_agencies(engine)
        tables = (Message.__table__, Delivery.__table__, Payload.__table__, Blob.__table__)
        for rows in _batches(documents, payload_bytes, agencies):
            async with engine.begin() as conn:
                for table in tables:
                    await conn.execute(table.insert(), rows[table.name])
            stored["documents"] += len(rows["messages"])
            stored["payload_bytes"] += sum(r["size"] for r in rows["blobs"])
        blobs = BlobStore(home / "blobs")
        ledger = []
        for i in range(files):
            data = _payload(documents + i, file_bytes)
            sha = await asyncio.to_thread(blobs.put, data)
            ledger.append({"sha256": sha, "size": len(data), "stored_at": utcnow()})
            stored["files"] += 1
            stored["file_bytes"] += len(data)
        if ledger:
            async with engine.begin() as conn:
                await conn.execute(Blob.__table__.insert(), ledger)
    finally:
        await engine.dispose()
    return stored


async def counts(database_url: str) -> dict[str, int]:
    """Messages, deliveries, payload rows and their bytes, ledger rows: what a restore must bring back."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                "messages": (await conn.execute(select(func.count()).select_from(Message))).scalar_one(),
                "deliveries": (await conn.execute(select(func.count()).select_from(Delivery))).scalar_one(),
                "payloads": (await conn.execute(select(func.count()).select_from(Payload))).scalar_one(),
                "payload_bytes": int((await conn.execute(
                    select(func.coalesce(func.sum(func.length(Payload.data)), 0)))).scalar_one()),
                "blobs": (await conn.execute(select(func.count()).select_from(Blob))).scalar_one(),
            }
    finally:
        await engine.dispose()


def _axis(args: list[str], home: Path, database_url: str) -> tuple[float, str]:
    """Run one `axis` command as an operator would; its wall time and its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env.update(AXIS_HOME=str(home), AXIS_DATABASE_URL=database_url)
    started = time.perf_counter()
    proc = subprocess.run([*AXIS_COMMAND, *args], env=env, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"axis {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return elapsed, (proc.stdout + proc.stderr).strip()


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


async def run(server: str | None, documents: int, payload_bytes: int, files: int, file_bytes: int,
              root: Path) -> dict[str, Any]:
    """Fill an axis, back it up, restore it elsewhere; the figures."""
    source_home, target_home = root / "source", root / "target"
    source_home.mkdir()
    target_home.mkdir()
    source: BenchDatabase = await provision_database(server, source_home)
    target: BenchDatabase = await provision_database(server, target_home)
    try:
        _axis(["db", "upgrade"], source_home, source.url)
        _axis(["keys", "init"], source_home, source.url)
        started = time.perf_counter()
        stored = await fill(source.url, source_home, documents, payload_bytes, files, file_bytes)
        fill_s = time.perf_counter() - started
        before = await counts(source.url)
        backup_dir = root / "backup"
        backup_s, backup_out = _axis(["backup", str(backup_dir)], source_home, source.url)
        restore_s, restore_out = _axis(["restore", str(backup_dir)], target_home, target.url)
        after = await counts(target.url)
        restored_files = sorted(p.name for p in (target_home / "blobs").rglob("*") if p.is_file())
        source_files = sorted(p.name for p in (source_home / "blobs").rglob("*") if p.is_file())
        return {
            "database": source.backend, "documents": stored["documents"], "payload_bytes_each": payload_bytes,
            "payload_bytes": stored["payload_bytes"], "blob_files": stored["files"],
            "blob_file_bytes": stored["file_bytes"], "fill_s": round(fill_s, 1),
            "backup_s": round(backup_s, 1), "restore_s": round(restore_s, 1),
            "backup_dir_bytes": _size(backup_dir), "backup_output": backup_out, "restore_output": restore_out,
            "counts_equal": before == after, "blob_files_equal": source_files == restored_files,
            "counts": after,
        }
    finally:
        await drop_database(source)
        await drop_database(target)


def main(argv: list[str] | None = None) -> None:
    """Command line: fill, back up, restore, print the figures (JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--database-url", help="PostgreSQL server URL (databases are created there and dropped); "
                                               "default: SQLite files")
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--payload-bytes", type=int, default=20_000,
                        help="bytes of each document's payload (kept in the database)")
    parser.add_argument("--files", type=int, default=20, help="larger payloads kept as blob files")
    parser.add_argument("--file-bytes", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if options.database_url and make_url(options.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must name a PostgreSQL server")
    with tempfile.TemporaryDirectory(prefix="axis-backup-bench-") as tmp:
        figures = asyncio.run(run(options.database_url, options.documents, options.payload_bytes, options.files,
                                  options.file_bytes, Path(tmp)))
    if options.json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    print(f"{figures['database']}: {figures['documents']} documents of {figures['payload_bytes_each']} bytes "
          f"({figures['payload_bytes'] / 1e6:.0f} MB in the database) and {figures['blob_files']} blob files "
          f"({figures['blob_file_bytes'] / 1e6:.0f} MB); filled in {figures['fill_s']} s")
    print(f"  axis backup:  {figures['backup_s']} s  -> {figures['backup_dir_bytes'] / 1e6:.0f} MB  "
          f"| {figures['backup_output']}")
    print(f"  axis restore: {figures['restore_s']} s  | {figures['restore_output']}")
    print(f"  restored counts equal: {figures['counts_equal']}, blob files equal: {figures['blob_files_equal']} "
          f"{figures['counts']}")
    if not (figures["counts_equal"] and figures["blob_files_equal"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
