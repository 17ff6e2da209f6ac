"""Measurement: monthly report aggregation and reads on a large archive, SQLite or PostgreSQL.

It seeds one month of traffic straight into a fresh database (documents from 100 agencies to two
recipients each, every delivery confirmed by a status 01), then times recomputing the month's
aggregates (what the scheduled job does), reading the report from them (what the API and the CLI
do) and exporting one agency's register. Run from the repository root::

    .venv/bin/python -m axis.bench.reports [--documents N]
    .venv/bin/python -m axis.bench.reports --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

A PostgreSQL URL naming the ``postgres`` database is taken as a server: a fresh database is
created there and dropped at the end (as ``axis bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from axis.archive.calendar import month_bounds
from axis.archive.registers import register_rows
from axis.archive.reports import compute_month, monthly_report
from axis.bench.server import drop_database, provision_database
from migrations.upgrade import upgrade
from storage.archive_models import RegisterEntry
from storage.db import create_engine, session_factory
from storage.ids import new_id
from storage.models import Agency, Delivery, Message

MONTH = "2031-03"
AGENCIES = 100
BATCH = 5000


async def seed(url: str, documents: int) -> None:
    """Insert agencies, documents, their status 01 receipts, deliveries and outgoing register lines."""
    rng = random.Random(7)
    engine = create_engine(url)
    start, end = month_bounds(MONTH)
    span = (end - start).total_seconds() - 3600
    async with engine.begin() as conn:
        await conn.execute(insert(Agency), [
            {"id": i, "code": f"{i:03d}.00.00.H{i % 100:02d}", "name": f"Cơ quan {i}", "token_hash": f"{i:064x}",
             "delivery_mode": "pull", "active": True, "organization_in_charge": "", "created_at": start}
            for i in range(1, AGENCIES + 1)])
    messages: list[dict[str, object]] = []
    deliveries: list[dict[str, object]] = []
    registers: list[dict[str, object]] = []
    numbers = {i: 0 for i in range(1, AGENCIES + 1)}

    async def flush() -> None:
        async with engine.begin() as conn:
            if messages:
                await conn.execute(insert(Message), messages)
            if deliveries:
                await conn.execute(insert(Delivery), deliveries)
            if registers:
                await conn.execute(insert(RegisterEntry), registers)
        messages.clear()
        deliveries.clear()
        registers.clear()

    for n in range(documents):
        sender = rng.randint(1, AGENCIES)
        at = start + timedelta(seconds=rng.uniform(0, span))
        doc_id = new_id(int(at.timestamp() * 1000))
        messages.append({"id": doc_id, "kind": "edoc", "document_id": f"{sender},{n}", "sender_id": sender,
                         "business_type": 0, "sha256": f"d{n:063x}", "size": rng.randint(20_000, 400_000),
                         "received_at": at, "subject": f"Văn bản {n}", "code_number": str(n),
                         "code_notation": "VPCP", "type_name": "Công văn", "type_abbreviation": "", "priority": 0,
                         "promulgation_date": at.date().isoformat(), "attachment_count": 1,
                         "status_code": None, "response_for_id": None})
        numbers[sender] += 1
        registers.append({"agency_id": sender, "direction": "out", "year": 2031, "number": numbers[sender],
                          "message_id": doc_id, "registered_at": at})
        for recipient in rng.sample([a for a in range(1, AGENCIES + 1) if a != sender], 2):
            receipt_at = at + timedelta(seconds=rng.expovariate(1 / 120))
            status_id = new_id(int(receipt_at.timestamp() * 1000))
            messages.append({"id": status_id, "kind": "status", "document_id": f"{sender},{n}",
                             "sender_id": recipient, "business_type": 0, "sha256": f"e{n:055x}{recipient:08x}",
                             "size": 6000, "received_at": receipt_at, "subject": "Đã nhận", "code_number": "",
                             "code_notation": "", "type_name": "", "type_abbreviation": "", "priority": 0,
                             "promulgation_date": None, "attachment_count": 0, "status_code": "01",
                             "response_for_id": doc_id})
            # Statuses go in first: the delivery refers to its receipt.
            deliveries.append({"message_id": doc_id, "recipient_id": recipient, "mode": "pull",
                               "state": "delivered", "attempts": 0, "created_at": at, "delivered_at": receipt_at,
                               "receipt_message_id": status_id})
        if len(messages) >= BATCH:
            await flush()
    await flush()
    await engine.dispose()


async def _best_ms(work: Callable[[], Awaitable[None]], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - t)
    return min(samples) * 1000


async def measure(documents: int = 50_000, database_url: str | None = None, *, rounds: int = 3,
                  read_rounds: int = 20) -> dict[str, float | int | str]:
    """Seed a fresh database with ``documents`` and time the report's phases; best milliseconds of each."""
    with tempfile.TemporaryDirectory() as tmp:
        db = await provision_database(database_url, Path(tmp))
        try:
            await asyncio.to_thread(upgrade, db.url)
            t = time.perf_counter()
            await seed(db.url, documents)
            figures: dict[str, float | int | str] = {"backend": db.backend, "documents": documents,
                                                      "seed_s": time.perf_counter() - t}
            engine = create_engine(db.url)
            sessions = session_factory(engine)

            async def recompute() -> None:
                async with sessions() as s, s.begin():
                    await compute_month(s, MONTH, now=datetime.now(UTC))

            async def read_all() -> None:
                async with sessions() as s, s.begin():
                    rows = await monthly_report(s, MONTH)
                    if len(rows) != AGENCIES:
                        raise RuntimeError(f"report of {len(rows)} agencies, expected {AGENCIES}")

            async def read_one() -> None:
                async with sessions() as s, s.begin():
                    rows = await monthly_report(s, MONTH, agency_code="001.00.00.H01")
                    if len(rows) != 1:
                        raise RuntimeError(f"report of {len(rows)} agencies for one agency")

            async def register_export() -> None:
                async with sessions() as s:
                    await register_rows(s, "001.00.00.H01", "outgoing", 2031)

            try:
                figures["recompute_ms"] = await _best_ms(recompute, rounds)
                figures["report_all_ms"] = await _best_ms(read_all, read_rounds)
                figures["report_one_ms"] = await _best_ms(read_one, read_rounds)
                figures["register_ms"] = await _best_ms(register_export, rounds)
            finally:
                await engine.dispose()
            return figures
        finally:
            await drop_database(db)


LABELS = {
    "recompute_ms": "recompute the month (scheduled job)",
    "report_all_ms": "report, all agencies, from aggregates",
    "report_one_ms": "report, one agency (API), from aggregates",
    "register_ms": "outgoing register of one agency for the year",
}


def render(figures: dict[str, float | int | str]) -> str:
    """The figures as the lines the docs quote."""
    n = int(figures["documents"])
    backend = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(str(figures["backend"]), str(figures["backend"]))
    lines = [f"{backend}: {n} documents, {2 * n} deliveries and receipts in {MONTH}, {AGENCIES} agencies "
             f"(seeded in {float(figures['seed_s']):.1f} s)"]
    lines += [f"  {label:<48} best {float(figures[key]):9.1f} ms" for key, label in LABELS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Seed, time and print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    print(render(asyncio.run(measure(args.documents, args.database_url))))


if __name__ == "__main__":
    main()
