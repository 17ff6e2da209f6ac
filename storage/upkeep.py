"""Keeping the axis's own PostgreSQL tables lean: dead rows removed and statistics fresh, as they pile up.

Deliveries change state three or four times each (claimed, renewed, delivered, acknowledged) and
the audit queue is written and emptied every half second. Each change leaves a dead row, and the
inbox's partial index (waiting pull deliveries) keeps an entry for every row that ever waited: an
inbox read walks all of them until a VACUUM clears them. Autovacuum does that only after 20 % of a
table has changed (200,000 rows of a million-row deliveries table), or never where it is turned
off; then every inbox read, claim and acknowledgement grows slower with the axis's age. Here a
table is vacuumed once it has a fixed number of dead rows, whatever its size, and analysed once a
tenth of it has changed. On SQLite a deleted row's page is reused and there is nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

#: Statistics of the tables in the axis's schema (PostgreSQL's own counters, kept by `track_counts`).
_TABLES = """
SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze, n_ins_since_vacuum
FROM pg_stat_user_tables WHERE schemaname = current_schema() ORDER BY relname
"""


#: SQLSTATE of a statement that gave up waiting for its lock (lock_timeout).
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class TableUpkeep:
    """What one table needed and got: ``action`` is "vacuum", "analyze" or "skipped" (its lock was busy)."""

    table: str
    action: str
    dead_rows: int


def _needs(live: int, dead: int, changed: int, inserted: int, dead_rows: int) -> str | None:
    # Dead rows by a fixed count: what a scan pays for is their number, not their share of the table.
    # Inserted rows by share: a vacuum marks their pages all-visible, which index-only scans need.
    if dead >= dead_rows or inserted >= max(dead_rows, live // 5):
        return "vacuum"
    if changed >= max(dead_rows, live // 10):
        return "analyze"
    return None


async def tidy_tables(engine: AsyncEngine, *, dead_rows: int, lock_timeout_ms: int = 2000) -> list[TableUpkeep]:
    """Vacuum (and analyse) each table with ``dead_rows`` or more dead rows, analyse the much-changed ones.

    A table whose lock is busy (autovacuum on it, or a schema change) is skipped until the next run
    rather than waited for. Nothing is done on SQLite.
    """
    if engine.dialect.name != "postgresql":
        return []
    done: list[TableUpkeep] = []
    async with engine.connect() as conn:
        # VACUUM cannot run inside a transaction block.
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f"SET lock_timeout = {int(lock_timeout_ms)}")
        rows = (await conn.exec_driver_sql(_TABLES)).all()
        quote = engine.dialect.identifier_preparer.quote
        for table, live, dead, changed, inserted in rows:
            action = _needs(int(live), int(dead), int(changed), int(inserted or 0), dead_rows)
            if action is None:
                continue
            command = "VACUUM (ANALYZE)" if action == "vacuum" else "ANALYZE"
            try:
                await conn.exec_driver_sql(f"{command} {quote(table)}")
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE and "lock timeout" not in str(exc.orig):
                    raise
                action = "skipped"
            done.append(TableUpkeep(table, action, int(dead)))
    return done
