"""The table upkeep job: the axis's own PostgreSQL tables vacuumed and analysed as rows pile up."""

from __future__ import annotations

from axis.context import AxisContext
from axis.jobs.runner import JobSpec
from storage.upkeep import tidy_tables


async def upkeep_job(ctx: AxisContext) -> str:
    """Vacuum the tables with many dead rows, analyse the much-changed ones; a summary line."""
    if ctx.engine.dialect.name != "postgresql":
        return "nothing to do on SQLite"
    done = await tidy_tables(ctx.engine, dead_rows=ctx.settings.upkeep_dead_rows)
    if not done:
        return "no table needed it"
    return "; ".join(f"{d.action} {d.table}" + (f" ({d.dead_rows} dead rows)" if d.dead_rows else "")
                     for d in done)


UPKEEP = JobSpec(
    "storage.upkeep", 60.0, upkeep_job,
    "vacuum tables with many dead rows and analyse much-changed ones (PostgreSQL), whatever autovacuum does",
    interval_setting="upkeep_interval_seconds",
)
