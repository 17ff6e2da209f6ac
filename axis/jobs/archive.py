"""Scheduled archive jobs: fixity, retention due dates, monthly report aggregates, signed audit heads.

Each job is idempotent (running it twice does no harm) and runs under a database lease
(:func:`axis.jobs.runner.run_job`), so several axis processes sharing one database take turns.
Intervals come from the settings (``*_interval_seconds`` in config/axis.toml).
"""

from __future__ import annotations

from axis.archive.audit_heads import sign_head
from axis.archive.disposal import purge_disposed_payloads
from axis.archive.fixity import run_fixity
from axis.archive.head_log import anchor_heads
from axis.archive.reports import refresh_recent
from axis.archive.schedules import compute_due_dates, load_schedules
from axis.context import AxisContext
from axis.jobs.runner import JobSpec


class FixityFailed(Exception):
    """A fixity run found blobs that are missing or altered (the job run is recorded as an error)."""


async def fixity_job(ctx: AxisContext) -> str:
    """Re-hash the blobs least recently checked (at most ``fixity_batch`` per run)."""
    settings = ctx.settings
    report = await run_fixity(
        ctx.sessions,
        ctx.payloads,
        now=ctx.clock(),
        older_than_days=settings.fixity_max_age_days,
        stale_days=settings.fixity_max_age_days,
        limit=settings.fixity_batch,
    )
    if not report.ok:
        named = ", ".join(f"{sha[:12]}… {outcome.value}" for sha, outcome in report.failures[:10])
        raise FixityFailed(f"{report.summary()}: {named}")
    return report.summary()


async def retention_job(ctx: AxisContext) -> str:
    """Assign schedules to unassigned documents, set event-triggered due dates, finish interrupted disposals."""
    schedules = load_schedules(ctx.settings.retention_path)
    async with ctx.sessions() as session, session.begin():
        run = await compute_due_dates(session, schedules, now=ctx.clock())
    async with ctx.sessions() as session, session.begin():
        purged = await purge_disposed_payloads(session, ctx.payloads)
    return f"assigned {run.assigned}, due dates set {run.triggered}, leftover payloads purged {purged}"


async def report_job(ctx: AxisContext) -> str:
    """Recompute the monthly aggregates of the current and previous month."""
    async with ctx.sessions() as session, session.begin():
        months = await refresh_recent(session, now=ctx.clock())
    return f"recomputed {', '.join(months)}"


async def audit_head_job(ctx: AxisContext) -> str:
    """Sign the audit chain head with the axis key if it moved, and append new heads to this node's head log."""
    async with ctx.sessions() as session, session.begin():
        head = await sign_head(session, ctx.identity.key, ctx.identity.certificate, now=ctx.clock())
    # After the commit: a line in the log always names a head the database had. Heads another
    # node signed (or one a crash kept from the log) are caught up here too.
    async with ctx.sessions() as session:
        await anchor_heads(session, ctx.settings.audit_head_log_path, ctx.identity.certificate)
    return f"signed head at entry {head.event_id}" if head else "head unchanged"


FIXITY = JobSpec(
    "archive.fixity", 3600.0, fixity_job, "re-hash stored blobs", interval_setting="fixity_interval_seconds"
)
RETENTION = JobSpec(
    "archive.retention_due",
    3600.0,
    retention_job,
    "assign retention schedules and compute due dates",
    interval_setting="retention_interval_seconds",
)
REPORTS = JobSpec(
    "archive.monthly_stats",
    900.0,
    report_job,
    "recompute monthly report aggregates (current and previous month)",
    interval_setting="report_interval_seconds",
)
AUDIT_HEAD = JobSpec(
    "archive.audit_head",
    600.0,
    audit_head_job,
    "sign the audit chain head",
    interval_setting="audit_head_interval_seconds",
)

#: The archive's jobs, in the order an operator reads them.
ARCHIVE_JOBS = (FIXITY, RETENTION, REPORTS, AUDIT_HEAD)
