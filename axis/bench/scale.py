"""Scale data: fill the archive with synthetic messages, then time what clerks and archivists run.

The load bypasses the API (which would take hours for millions of messages): rows go
straight into ``messages``, ``deliveries``, ``statuses`` (and the ``blobs`` ledger when
the table exists), secondary indexes dropped during the load and rebuilt after it. On
PostgreSQL the server generates the rows itself (``INSERT … SELECT`` over ``generate_series``,
one statement per slice of the year, two connections at a time): generating them in Python
for ``COPY`` was half of the load's time (52 of 112 s at a million messages), on a core the
database could have used. SQLite gets the same rows from a Python generator in big
``executemany`` batches.

Each synthetic document goes from one agency to one other; all but the newest 0.2 % have
their recipient's status 01 (a status message, its timeline entry and its delivery back
to the sender), so ``N`` messages are about ``N/2`` documents and ``N/2`` receipts.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from axis.bench.report import latency_summary
from axis.bench.search import time_search
from storage.db import create_engine, session_factory
from storage.ids import new_id
from storage.models import Agency, utcnow

#: Synthetic agencies besides the bench's own.
SYNTHETIC_AGENCIES = 100
#: Share of documents the queried agency sends, and receives (a busy ministry).
QUERIED_SHARE = 0.05
#: The newest documents still waiting in their recipient's inbox: a backlog of about 0.2 % of a
#: year's traffic (17 hours), at least 50 documents.
WAITING_SHARE = 0.002
MIN_WAITING = 50
#: Document pairs generated per batch.
BATCH_PAIRS = 25_000
#: Document ids of the queried agency kept to time their traces.
TRACE_POOL = 2000

MESSAGE_COLUMNS = (
    "id", "kind", "document_id", "sender_id", "business_type", "sha256", "size", "received_at", "subject",
    "code_number", "code_notation", "type_name", "type_abbreviation", "priority", "promulgation_date",
    "attachment_count", "status_code", "response_for_id", "receipt_xml", "revoked_at",
)
DELIVERY_COLUMNS = (
    "message_id", "recipient_id", "mode", "state", "attempts", "next_attempt_at", "claimed_by", "claimed_until",
    "last_error", "created_at", "retrieved_at", "delivered_at", "receipt_message_id", "revoked_at",
)
STATUS_COLUMNS = (
    "document_message_id", "status_message_id", "agency_id", "status_code", "description", "stated_at",
    "received_at",
)
BLOB_COLUMNS = ("sha256", "size", "stored_at")
TABLES = ("messages", "deliveries", "statuses", "blobs")
#: Kept during the load: the running server's push worker polls with it every second.
KEEP_INDEXES = frozenset({"ix_deliveries_due"})


@dataclass
class ScaleData:
    """What the load produced: row counts, timing, and ids to query."""

    messages: int = 0
    documents: int = 0
    load_s: float = 0.0
    method: str = ""
    phases_s: dict[str, float] = field(default_factory=dict)
    trace_ids: list[str] = field(default_factory=list)
    counterparts: list[int] = field(default_factory=list)
    first_day: date | None = None
    last_day: date | None = None


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format (UTC, no offset), as the server writes it.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _generate(
    pairs: int, agency_ids: list[int], queried_id: int, seed: int
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Rows in batches, oldest first, spread evenly over the last 365 days."""
    rng = random.Random(seed)
    end = utcnow() - timedelta(hours=1)
    start = end - timedelta(days=365)
    step = (end - start) / max(1, pairs)
    waiting_from = pairs - max(min(pairs, MIN_WAITING), int(pairs * WAITING_SHARE))
    others = [a for a in agency_ids if a != queried_id]
    counter = 0
    for base in range(0, pairs, BATCH_PAIRS):
        batch: dict[str, list[tuple[Any, ...]]] = {t: [] for t in (*TABLES, "_docs")}
        for i in range(base, min(pairs, base + BATCH_PAIRS)):
            at = start + step * i
            roll = rng.random()
            if roll < QUERIED_SHARE:
                sender, recipient = queried_id, rng.choice(others)
            elif roll < 2 * QUERIED_SHARE:
                sender, recipient = rng.choice(others), queried_id
            else:
                sender, recipient = rng.sample(others, 2)
            doc_id = new_id(int(at.timestamp() * 1000))
            counter += 1
            doc_sha = f"{counter:064x}"
            size = rng.randint(3_000, 400_000)
            day = at.date()
            batch["messages"].append((
                doc_id, "edoc", f"{sender:03d}.00.00.S{sender % 100:02d},{day:%Y/%m/%d},{i + 1}/SCALE",
                sender, 0, doc_sha, size, at, f"Về việc báo cáo định kỳ số {i + 1}", str(i + 1), "SCALE",
                "Công văn", "", rng.choice((0, 0, 0, 1, 2)), day.isoformat(), 1, None, None, None, None,
            ))
            batch["blobs"].append((doc_sha, size, at))
            if i >= waiting_from:
                batch["deliveries"].append((doc_id, recipient, "pull", "queued", 0, None, None, None, None, at,
                                            None, None, None, None))
            else:
                delay = timedelta(seconds=rng.uniform(1, 3600))
                answered = at + delay
                status_id = new_id(int(answered.timestamp() * 1000))
                counter += 1
                status_sha = f"{counter:064x}"
                batch["messages"].append((
                    status_id, "status", f"{sender:03d}.00.00.S{sender % 100:02d},{day:%Y/%m/%d},{i + 1}/SCALE",
                    recipient, 0, status_sha, 3_800, answered, "Đã nhận văn bản", "", "", "", "", 0, None, 0,
                    "01", doc_id, None, None,
                ))
                batch["blobs"].append((status_sha, 3_800, answered))
                batch["deliveries"].append((doc_id, recipient, "pull", "delivered", 0, None, None, None, None, at,
                                            at + delay / 2, answered, status_id, None))
                batch["deliveries"].append((status_id, sender, "pull", "delivered", 0, None, None, None, None,
                                            answered, None, answered + timedelta(seconds=60), None, None))
                batch["statuses"].append((doc_id, status_id, recipient, "01", "Đã nhận văn bản", answered,
                                          answered))
            batch["_docs"].append((doc_id, sender, recipient))
        yield batch


async def _add_agencies(engine: AsyncEngine) -> list[int]:
    """Register the synthetic agencies (pull, no certificate, an unusable token)."""
    now = utcnow()
    rows = [
        {"code": f"{900 + i // 100:03d}.{i % 100:02d}.00.S{i % 100:02d}", "name": f"Cơ quan thử tải {i}",
         "organization_in_charge": "", "certificate_pem": None, "certificate_fingerprint": None,
         "token_hash": secrets.token_hex(32), "endpoint_url": None, "delivery_mode": "pull", "active": True,
         "created_at": now}
        for i in range(SYNTHETIC_AGENCIES)
    ]
    async with engine.begin() as conn:
        await conn.execute(Agency.__table__.insert(), rows)
        ids = (await conn.execute(select(Agency.id).where(Agency.active.is_(True)))).scalars().all()
    return list(ids)


async def _table_columns(engine: AsyncEngine) -> dict[str, set[str]]:
    def inspect_tables(sync_conn: Any) -> dict[str, set[str]]:
        from sqlalchemy import inspect as sa_inspect

        insp = sa_inspect(sync_conn)
        names = set(insp.get_table_names())
        return {t: {c["name"] for c in insp.get_columns(t)} for t in TABLES if t in names}

    async with engine.connect() as conn:
        return await conn.run_sync(inspect_tables)


async def bulk_load(database_url: str, messages: int, queried_id: int, *, seed: int = 7) -> ScaleData:
    """Insert about ``messages`` synthetic messages (with deliveries and statuses) into the database."""
    engine = create_engine(database_url)
    try:
        agency_ids = await _add_agencies(engine)
        columns = await _table_columns(engine)
    finally:
        await engine.dispose()
    wanted = {"messages": MESSAGE_COLUMNS, "deliveries": DELIVERY_COLUMNS, "statuses": STATUS_COLUMNS,
              "blobs": BLOB_COLUMNS}
    for table, cols in wanted.items():
        if table == "blobs" and table not in columns:
            continue
        missing = set(cols) - columns.get(table, set())
        if missing:
            raise RuntimeError(f"table {table} lacks columns {sorted(missing)}: the bulk loader is out of date")
    with_blobs = "blobs" in columns
    # Every document but the waiting ones has a receipt: messages = 2 * pairs * (1 - waiting share).
    pairs = max(1, round(messages / (2 - WAITING_SHARE)))
    started = time.perf_counter()
    if make_url(database_url).get_backend_name() == "postgresql":
        data = await _load_postgres(database_url, pairs, agency_ids, queried_id, with_blobs, seed)
    else:
        data = await _load_sqlite(database_url, pairs, agency_ids, queried_id, with_blobs, seed)
    data.load_s = round(time.perf_counter() - started, 1)
    data.counterparts = [a for a in agency_ids if a != queried_id]
    return data


async def _load_sqlite(database_url: str, pairs: int, agency_ids: list[int], queried_id: int, with_blobs: bool,
                       seed: int) -> ScaleData:
    data = ScaleData(method="SQLite executemany in batches of ~50,000 rows, indexes rebuilt after")
    rng = random.Random(seed + 1)
    seen = 0
    sink = _SqliteSink(database_url, with_blobs)
    await sink.open()
    try:
        for batch in _generate(pairs, agency_ids, queried_id, seed):
            for doc_id, sender, recipient in batch.pop("_docs"):
                data.documents += 1
                if queried_id in (sender, recipient):
                    seen += 1
                    # Reservoir sample: trace ids spread over the whole year.
                    if len(data.trace_ids) < TRACE_POOL:
                        data.trace_ids.append(doc_id)
                    elif (j := rng.randrange(seen)) < TRACE_POOL:
                        data.trace_ids[j] = doc_id
            data.messages += len(batch["messages"])
            await sink.write(batch)
        await sink.finish()
    finally:
        await sink.close()
    return data


# --- PostgreSQL: rows made by the server --------------------------------------------------------

#: Pairs per INSERT statement: small slices keep the two connections' rows close in time, so
#: the tables stay nearly in arrival order as they are in production.
SQL_SLICE_PAIRS = 50_000
#: Connections loading at once (the bench machine has two cores).
SQL_WORKERS = 2


def _ulid_sql(at: str) -> str:
    """SQL for a message id made at timestamp expression ``at``: ULID time part, random part.

    The random part uses only the hex digits of the Crockford alphabet (64 random bits), so one
    ``to_hex`` replaces sixteen ``substr`` calls; ids keep :func:`storage.ids.new_id`'s shape and
    time order. NULL in, NULL out.
    """
    ms = f"floor(extract(epoch FROM {at}) * 1000)::bigint"
    alphabet = "'0123456789ABCDEFGHJKMNPQRSTVWXYZ'"
    time_part = " || ".join(f"substr({alphabet}, (({ms} >> {5 * (9 - k)}) & 31)::int + 1, 1)" for k in range(10))
    return f"({time_part} || upper(lpad(to_hex((random() * 9.2e18)::bigint), 16, '0')))"


def _slice_sql(with_blobs: bool) -> str:
    """One statement loading the pairs ``$1 <= i < $2``; it returns the queried agency's document ids.

    Parameters: $1, $2 the slice; $3 first timestamp; $4 microseconds between documents; $5 first
    waiting pair; $6 the queried agency; $7 the other agencies; $8 the queried agency's share.
    Same rows as :func:`_generate`.
    """
    sha_doc, sha_status = "lpad(to_hex(2 * i + 1), 64, '0')", "lpad(to_hex(2 * i + 2), 64, '0')"
    blobs = f""",
    b AS (INSERT INTO blobs ({', '.join(BLOB_COLUMNS)})
          SELECT {sha_doc}, size, at FROM q
          UNION ALL SELECT {sha_status}, 3800, answered FROM q WHERE answered IS NOT NULL)""" if with_blobs else ""
    return f"""
WITH g AS MATERIALIZED (
    SELECT i, $3::timestamptz + ($4::bigint * i) * interval '1 microsecond' AS at, random() AS roll,
           floor(random() * n)::int AS a, floor(random() * (n - 1))::int AS b,
           interval '1 second' * (1 + random() * 3599) AS delay, 3000 + floor(random() * 397001)::int AS size,
           (ARRAY[0, 0, 0, 1, 2])[1 + floor(random() * 5)::int] AS priority
    FROM generate_series($1::int, $2::int - 1) i, (SELECT cardinality($7::int[]) AS n) c
), p AS MATERIALIZED (
    SELECT i, at, size, priority, CASE WHEN i < $5 THEN delay END AS delay,
           CASE WHEN i < $5 THEN at + delay END AS answered,
           CASE WHEN roll < $8 THEN $6 ELSE ($7::int[])[a + 1] END AS sender,
           CASE WHEN roll < $8 THEN ($7::int[])[a + 1] WHEN roll < 2 * $8 THEN $6
                ELSE ($7::int[])[b + (b >= a)::int + 1] END AS recipient
    FROM g
), q AS MATERIALIZED (
    SELECT p.*, {_ulid_sql("at")} AS doc_id, {_ulid_sql("answered")} AS status_id,
           lpad(sender::text, 3, '0') || '.00.00.S' || lpad((sender % 100)::text, 2, '0') || ','
           || to_char(at AT TIME ZONE 'UTC', 'YYYY/MM/DD') || ',' || (i + 1) || '/SCALE' AS document_id
    FROM p
),
    m AS (INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)})
          SELECT doc_id, 'edoc', document_id, sender, 0, {sha_doc}, size, at, 'Về việc báo cáo định kỳ số ' || (i + 1),
                 (i + 1)::text, 'SCALE', 'Công văn', '', priority, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 1,
                 NULL, NULL, NULL::bytea, NULL::timestamptz FROM q
          UNION ALL
          SELECT status_id, 'status', document_id, recipient, 0, {sha_status}, 3800, answered, 'Đã nhận văn bản',
                 '', '', '', '', 0, NULL, 0, '01', doc_id, NULL, NULL FROM q WHERE answered IS NOT NULL),
    d AS (INSERT INTO deliveries ({', '.join(DELIVERY_COLUMNS)})
          SELECT doc_id, recipient, 'pull', CASE WHEN answered IS NULL THEN 'queued' ELSE 'delivered' END, 0,
                 NULL::timestamptz, NULL, NULL::timestamptz, NULL, at, at + delay / 2, answered, status_id,
                 NULL::timestamptz FROM q
          UNION ALL
          SELECT status_id, sender, 'pull', 'delivered', 0, NULL, NULL, NULL, NULL, answered, NULL,
                 answered + interval '60 seconds', NULL, NULL FROM q WHERE answered IS NOT NULL),
    s AS (INSERT INTO statuses ({', '.join(STATUS_COLUMNS)})
          SELECT doc_id, status_id, recipient, '01', 'Đã nhận văn bản', answered, answered
          FROM q WHERE answered IS NOT NULL){blobs}
SELECT doc_id FROM q WHERE sender = $6 OR recipient = $6"""


async def _load_postgres(database_url: str, pairs: int, agency_ids: list[int], queried_id: int, with_blobs: bool,
                         seed: int) -> ScaleData:
    import asyncpg

    data = ScaleData(method=f"PostgreSQL INSERT … SELECT generate_series on the server ({SQL_WORKERS} connections), "
                            "indexes rebuilt after, VACUUM ANALYZE")
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    end = utcnow() - timedelta(hours=1)
    start = end - timedelta(days=365)
    step_us = (end - start) // max(1, pairs) // timedelta(microseconds=1)
    waiting_from = pairs - max(min(pairs, MIN_WAITING), int(pairs * WAITING_SHARE))
    others = [a for a in agency_ids if a != queried_id]
    sql = _slice_sql(with_blobs)
    conns = [await asyncpg.connect(dsn) for _ in range(SQL_WORKERS)]
    dropped: list[str] = []
    try:
        for conn in conns:
            try:
                # Skip foreign-key triggers during the load (the generated rows are consistent); superuser only.
                await conn.execute("SET session_replication_role = replica")
            except asyncpg.PostgresError:
                pass  # without the privilege the load is only slower
            # The slices' CTEs stay in memory; a lost commit only loses a load that is redone anyway.
            await conn.execute(
                "SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'; SET synchronous_commit = off")
        dropped = await _drop_secondary_indexes(conns[0])
        slices = asyncio.Queue[tuple[int, int]]()
        for lo in range(0, pairs, SQL_SLICE_PAIRS):
            slices.put_nowait((lo, min(pairs, lo + SQL_SLICE_PAIRS)))
        queried_docs: list[str] = []

        async def load(conn: asyncpg.Connection) -> None:
            while not slices.empty():
                lo, hi = slices.get_nowait()
                # Seeded per slice: the same rows whichever connection takes it.
                await conn.execute("SELECT setseed($1)", ((seed * 7919 + lo) % 1_000_003) / 1_000_003)
                rows = await conn.fetch(sql, lo, hi, start, step_us, waiting_from, queried_id, others,
                                        QUERIED_SHARE)
                queried_docs.extend(r[0] for r in rows)

        mark = time.perf_counter()
        await asyncio.gather(*(load(c) for c in conns))
        data.phases_s["insert"] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()
        await _run_spread(conns, dropped)
        dropped = []
        data.phases_s["indexes"] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()
        tables = TABLES if with_blobs else TABLES[:3]
        # VACUUM too, as autovacuum would after a bulk insert: it sets the visibility map (index-only
        # scans) and the hint bits, which the first queries would otherwise pay for.
        await _run_spread(conns, [f"VACUUM (ANALYZE) {t}" for t in tables])
        data.phases_s["vacuum_analyze"] = round(time.perf_counter() - mark, 1)
    finally:
        for definition in dropped:  # the load failed half-way: put the indexes back anyway
            try:
                await conns[0].execute(definition)
            except asyncpg.PostgresError:
                pass
        for conn in conns:
            await conn.close()
    data.documents = pairs
    data.messages = pairs + waiting_from
    rng = random.Random(seed + 1)
    data.trace_ids = rng.sample(queried_docs, min(TRACE_POOL, len(queried_docs)))
    return data


async def _drop_secondary_indexes(conn: Any) -> list[str]:
    """Drop the loaded tables' indexes that back no constraint; return their definitions."""
    rows = await conn.fetch(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
        list(TABLES),
    )
    rows = [r for r in rows if r["indexname"] not in KEEP_INDEXES]
    for r in rows:
        await conn.execute(f'DROP INDEX "{r["indexname"]}"')
    return [r["indexdef"] for r in rows]


async def _run_spread(conns: list[Any], statements: list[str]) -> None:
    """Run independent statements over the connections, each taking the next one when free."""
    queue = list(reversed(statements))

    async def run(conn: Any) -> None:
        while queue:
            await conn.execute(queue.pop())

    await asyncio.gather(*(run(c) for c in conns))


class _SqliteSink:
    def __init__(self, url: str, with_blobs: bool) -> None:
        self.path = make_url(url).database or ""
        self.with_blobs = with_blobs
        self.indexes: list[str] = []

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    def _open(self) -> None:
        import sqlite3

        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
            f"({','.join('?' * len(TABLES))})", TABLES).fetchall()
        rows = [(name, sql) for name, sql in rows if name not in KEEP_INDEXES]
        self.indexes = [sql for _, sql in rows]
        for name, _ in rows:
            self.conn.execute(f'DROP INDEX "{name}"')

    async def write(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        await asyncio.to_thread(self._write, batch)

    def _write(self, batch: dict[str, list[tuple[Any, ...]]]) -> None:
        def conv(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return [tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row) for row in rows]

        tables = [("messages", MESSAGE_COLUMNS), ("deliveries", DELIVERY_COLUMNS), ("statuses", STATUS_COLUMNS)]
        if self.with_blobs:
            tables.append(("blobs", BLOB_COLUMNS))
        self.conn.execute("BEGIN IMMEDIATE")
        for table, cols in tables:
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", conv(batch[table]))
        self.conn.execute("COMMIT")

    async def finish(self) -> None:
        await asyncio.to_thread(self._finish)

    def _finish(self) -> None:
        for sql in self.indexes:
            self.conn.execute(sql)
        self.indexes = []
        self.conn.execute("ANALYZE")

    async def close(self) -> None:
        def close() -> None:
            for sql in self.indexes:
                try:
                    self.conn.execute(sql)
                except Exception:  # noqa: BLE001
                    pass
            self.conn.close()

        await asyncio.to_thread(close)


# --- queries at scale -----------------------------------------------------------------------


async def _time_http(http: aiohttp.ClientSession, url: str | Callable[[int], str], token: str, count: int,
                     params_for: Any = None) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    for i in range(count):
        target = url(i) if callable(url) else url
        params = params_for(i) if params_for else None
        started = time.perf_counter()
        async with http.get(target, headers={"Authorization": f"Bearer {token}"}, params=params) as r:
            await r.read()
            status = r.status
        if status == 200:
            latencies.append(time.perf_counter() - started)
        else:
            errors.append(f"HTTP {status}")
    out: dict[str, Any] = {"count": len(latencies), **latency_summary(latencies)}
    if errors:
        out["errors"] = len(errors)
        out["error_samples"] = errors[:3]
    return out


async def _time_listing(engine: AsyncEngine, queried_id: int, count: int,
                       filters_for: Any, box: str) -> dict[str, Any]:
    """A clerk's inbox or outbox page as the web UI builds it (``axis.exchange.listings``), without the HTML."""
    from axis.exchange.listings import inbox_listing, outbox_listing

    listing = outbox_listing if box == "outbox" else inbox_listing
    sessions = session_factory(engine)
    async with sessions() as session:
        agency = await session.get(Agency, queried_id)
    assert agency is not None
    latencies: list[float] = []
    rows = 0
    for i in range(count):
        f = filters_for(i)
        started = time.perf_counter()
        async with sessions() as session:
            rows += len((await listing(session, agency, f)).rows)
        latencies.append(time.perf_counter() - started)
    return {"count": len(latencies), **latency_summary(latencies), "rows_per_page": round(rows / max(1, count), 1)}


async def _time_outbox(engine: AsyncEngine, queried_id: int, data: ScaleData, count: int) -> dict[str, Any]:
    """The clerk's outbox filtered by a 30-day window and one counterpart, newest first, first page."""
    from axis.exchange.listings import Filters

    rng = random.Random(11)
    async with engine.connect() as conn:
        codes: dict[int, str] = {i: c for i, c in (await conn.execute(select(Agency.id, Agency.code))).all()}
    today = utcnow().date()
    windows = []
    for _ in range(count):
        first = today - timedelta(days=rng.randint(30, 360))
        windows.append(Filters(date_from=first, date_to=first + timedelta(days=29),
                               counterpart=codes[rng.choice(data.counterparts)]))
    out = await _time_listing(engine, queried_id, count, lambda i: windows[i], "outbox")
    out["via"] = "axis.exchange.listings.outbox_listing: 30 days and one counterpart, first page"
    return out


async def _time_web_pages(engine: AsyncEngine, queried_id: int, count: int) -> dict[str, dict[str, Any]]:
    """The first page of the clerk's inbox and outbox, unfiltered, and a page far back in the outbox."""
    from axis.exchange.listings import Filters

    out = {}
    for name, box, f in (("web_inbox", "inbox", Filters()), ("web_outbox", "outbox", Filters()),
                         ("web_outbox_page_200", "outbox", Filters(page=200))):
        out[name] = await _time_listing(engine, queried_id, count, lambda i, f=f: f, box)
        out[name]["via"] = f"axis.exchange.listings.{box}_listing, page {f.page}, no filter"
    return out


async def _time_monthly_report(http: aiohttp.ClientSession, base: str, token: str, engine: AsyncEngine,
                               count: int) -> dict[str, dict[str, Any]]:
    """The monthly report: computed from the archive (all agencies), and read over HTTP once stored."""
    out: dict[str, dict[str, Any]] = {}
    months = [(utcnow().replace(day=1) - timedelta(days=1 + 31 * k)).strftime("%Y-%m") for k in range(3)]
    try:
        module = importlib.import_module("axis.archive.reports")
    except ImportError:
        module = None
    compute = getattr(module, "compute_month", None)
    report = getattr(module, "monthly_report", None)
    if compute is not None:
        out["monthly_report"] = await _time_report_function(compute, engine, months, count)
        out["monthly_report"]["via"] = "axis.archive.reports.compute_month: every agency's figures, rolled back"
    elif report is not None:
        out["monthly_report"] = await _time_report_function(report, engine, months, count)
        out["monthly_report"]["via"] = "axis.archive.reports.monthly_report, rolled back"
    else:
        out["monthly_report"] = {"skipped": "no axis.archive.reports module yet"}
    # Over HTTP the first request of a month computes and stores it; later ones read the stored rows.
    url = f"{base}/api/v1/reports/monthly"
    params = {"month": months[0], "format": "json"}
    started = time.perf_counter()
    async with http.get(url, params=params, headers={"Authorization": f"Bearer {token}"}) as r:
        await r.read()
        status = r.status
    first_ms = round((time.perf_counter() - started) * 1000, 2)
    if status != 200:
        out["monthly_report_http"] = {"skipped": f"GET /api/v1/reports/monthly answered HTTP {status}"}
    else:
        out["monthly_report_http"] = await _time_http(http, url, token, count, params_for=lambda i: params)
        out["monthly_report_http"].update(
            first_ms=first_ms, via=f"GET {url.removeprefix(base)}?month={months[0]} as one agency; the first request "
            "computes and stores the month unless the scheduled job already has, the others read the stored rows")
    return out


async def _time_report_function(report: Any, engine: AsyncEngine, months: list[str], count: int) -> dict[str, Any]:
    """Time ``report(session, month)`` in sessions that are rolled back, so every call computes."""
    params = inspect.signature(report).parameters
    sessions = session_factory(engine)
    latencies: list[float] = []
    for i in range(count):
        month = months[i % len(months)]
        kwargs: dict[str, Any] = {}
        async with sessions() as session:
            for name, p in params.items():
                if name in ("session", "db") or "Session" in str(p.annotation):
                    kwargs[name] = session
                elif name == "month" and "date" in str(p.annotation):
                    kwargs[name] = date(int(month[:4]), int(month[5:]), 1)
                elif name == "month":
                    kwargs[name] = month
                elif p.default is p.empty:
                    return {"skipped": f"cannot call {report.__name__}{inspect.signature(report)} generically"}
            started = time.perf_counter()
            result = report(**kwargs)
            if inspect.isawaitable(result):
                await result
            latencies.append(time.perf_counter() - started)
            await session.rollback()
    return {"count": len(latencies), **latency_summary(latencies)}


async def measure(base_url: str, token: str, database_url: str, queried_id: int, data: ScaleData,
                  samples: int) -> dict[str, dict[str, Any]]:
    """p50/p95 of the inbox page, document traces, the outbox filter, the monthly report and the operators' search."""
    rng = random.Random(5)
    trace_ids = rng.sample(data.trace_ids, min(samples, len(data.trace_ids)))
    base = base_url.rstrip("/")
    engine = create_engine(database_url)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
            # One warm-up call each: the first query after a bulk load pays for planning and cold caches.
            await _time_http(http, f"{base}/api/v1/inbox", token, 1, params_for=lambda i: {"limit": "100"})
            queries: dict[str, dict[str, Any]] = {
                "inbox_page": await _time_http(http, f"{base}/api/v1/inbox", token, samples,
                                               params_for=lambda i: {"limit": "100"}),
            }
            if trace_ids:
                queries["trace"] = await _time_http(
                    http, lambda i: f"{base}/api/v1/documents/{trace_ids[i]}/trace", token, len(trace_ids))
            else:
                queries["trace"] = {"skipped": "no document involves the queried agency"}
            queries["outbox_filter"] = await _time_outbox(engine, queried_id, data, samples)
            queries.update(await _time_web_pages(engine, queried_id, samples))
            queries.update(await _time_monthly_report(http, base, token, engine, max(3, samples // 10)))
            # Last: it turns a few waiting deliveries into failed ones for the operators' search.
            queries.update(await time_search(engine, data.trace_ids, data.counterparts, samples))
    finally:
        await engine.dispose()
    return queries


async def waiting_count(database_url: str, agency_id: int) -> int:
    """Items waiting in an agency's inbox (to show what the inbox page had to choose from)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(
                text("SELECT count(*) FROM deliveries WHERE recipient_id = :a AND state IN ('queued', 'retrieved')"),
                {"a": agency_id})).scalar_one())
    finally:
        await engine.dispose()


def summary(data: ScaleData, queries: dict[str, dict[str, Any]], waiting: int) -> dict[str, Any]:
    """The scale section of the report."""
    return {"messages": data.messages, "documents": data.documents, "load_s": data.load_s, "method": data.method,
            "load_phases_s": data.phases_s, "inbox_waiting": waiting, "queries": queries}
