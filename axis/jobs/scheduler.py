"""The scheduler (APScheduler) and the explicit list of the jobs it runs in every axis process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from axis.appkeys import CONTEXT, METRICS, NEXT_RUNS
from axis.jobs.archive import ARCHIVE_JOBS
from axis.jobs.certificate_expiry import CERTIFICATES
from axis.jobs.runner import JobSpec, run_job
from axis.jobs.upkeep import UPKEEP

#: Every scheduled job, by name: this list is the schedule (nothing registers itself on import).
JOBS: dict[str, JobSpec] = {spec.name: spec for spec in (*ARCHIVE_JOBS, CERTIFICATES, UPKEEP)}


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Start APScheduler with every listed job for the application's lifetime."""
    ctx = app[CONTEXT]
    metrics = app[METRICS]
    scheduler = AsyncIOScheduler(timezone="UTC")

    def make(spec: JobSpec) -> Callable[[], Awaitable[None]]:
        async def tick() -> None:
            try:
                summary = await run_job(ctx, spec)
            except Exception:  # noqa: BLE001 - logged and recorded in run_job
                metrics.job_runs.labels(spec.name, "error").inc()
                return
            metrics.job_runs.labels(spec.name, "skipped" if summary is None else "ok").inc()

        return tick

    for spec in JOBS.values():
        scheduler.add_job(make(spec), "interval", seconds=spec.interval_for(ctx.settings), id=spec.name,
                          max_instances=1, coalesce=True)
    scheduler.start()
    next_runs = app.get(NEXT_RUNS)
    if next_runs is not None:
        for job in scheduler.get_jobs():
            next_runs[job.id] = job.next_run_time

        def remember(event: JobExecutionEvent) -> None:
            job = scheduler.get_job(event.job_id)
            next_runs[event.job_id] = job.next_run_time if job is not None else None

        scheduler.add_listener(remember, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    yield
    scheduler.shutdown(wait=False)
