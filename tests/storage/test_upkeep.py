"""Table upkeep: dead rows are vacuumed once they reach a fixed count, a busy table is skipped, SQLite has nothing to do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import delete, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from axis.jobs.runner import run_job
from axis.jobs.scheduler import JOBS
from axis.jobs.upkeep import UPKEEP
from storage.models import JobLease
from storage.upkeep import tidy_tables
from tests.databases import backend
from tests.harness import Harness

postgres_only = pytest.mark.skipif(backend() != "postgresql", reason="VACUUM and its counters are PostgreSQL's")


async def _table_stats(engine: AsyncEngine, table: str) -> tuple[int, int]:
    """(dead rows, vacuums so far) of ``table``, as PostgreSQL's counters say now."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        row = (await conn.execute(text(
            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = :t AND schemaname = "
            "current_schema()"), {"t": table})).one()
    return int(row[0]), int(row[1])


async def _until(engine: AsyncEngine, table: str, check: Callable[[int, int], bool], seconds: float = 10.0) -> tuple[int, int]:
    """Poll the table's counters until ``check(dead, vacuums)`` holds (backends report them within a second)."""
    deadline = time.monotonic() + seconds
    while True:
        stats = await _table_stats(engine, table)
        if check(*stats) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.2)


async def _dead_rows(axis: Harness, count: int) -> None:
    """Leave ``count`` dead rows in job_leases (inserted, then deleted)."""
    async with axis.ctx.sessions() as session, session.begin():
        await session.execute(insert(JobLease), [{"job": f"upkeep-test-{n}", "holder": None, "until": None}
                                                 for n in range(count)])
    async with axis.ctx.sessions() as session, session.begin():
        await session.execute(delete(JobLease).where(JobLease.job.like("upkeep-test-%")))


async def test_the_upkeep_job_is_scheduled_and_runs_on_either_database(axis: Harness) -> None:
    assert JOBS[UPKEEP.name] is UPKEEP and UPKEEP.interval_for(axis.ctx.settings) == 60.0
    summary = await run_job(axis.ctx, UPKEEP)
    if backend() == "postgresql":
        assert summary is not None and "SQLite" not in summary
    else:
        assert summary == "nothing to do on SQLite"
        assert await tidy_tables(axis.ctx.engine, dead_rows=1) == []


@postgres_only
async def test_a_table_with_enough_dead_rows_is_vacuumed_and_one_with_fewer_is_left(axis: Harness) -> None:
    engine = axis.ctx.engine
    await _dead_rows(axis, 300)
    dead, vacuums = await _until(engine, "job_leases", lambda d, v: d >= 300)
    assert dead >= 300

    assert "job_leases" not in [t.table for t in await tidy_tables(engine, dead_rows=10_000)]
    done = {t.table: t for t in await tidy_tables(engine, dead_rows=200)}
    assert done["job_leases"].action == "vacuum" and done["job_leases"].dead_rows >= 300
    dead_after, vacuums_after = await _until(engine, "job_leases", lambda d, v: v > vacuums)
    assert vacuums_after == vacuums + 1 and dead_after == 0


@postgres_only
async def test_a_table_whose_lock_is_busy_is_skipped_not_waited_for(axis: Harness) -> None:
    engine = axis.ctx.engine
    await _dead_rows(axis, 300)
    await _until(engine, "job_leases", lambda d, v: d >= 300)
    async with engine.connect() as holder:
        # What autovacuum (or a schema change) holds while it works on the table.
        await holder.execute(text("LOCK TABLE job_leases IN SHARE UPDATE EXCLUSIVE MODE"))
        started = time.monotonic()
        done = {t.table: t for t in await tidy_tables(engine, dead_rows=200, lock_timeout_ms=200)}
        assert time.monotonic() - started < 5.0
        await holder.rollback()
    assert done["job_leases"].action == "skipped"
    assert (await _table_stats(engine, "job_leases"))[0] >= 300  # still there, for the next run
