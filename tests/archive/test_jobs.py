"""Archive jobs: registered with configurable intervals, idempotent, one node at a time, listed by `axis jobs`."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from axis.jobs.archive import AUDIT_HEAD, FIXITY, REPORTS, RETENTION
from axis.jobs.runner import run_job
from axis.jobs.scheduler import JOBS
from axis.settings import Settings, load_settings
from storage.archive_models import FixityCheck, MonthlyStat
from storage.jobs import try_lease
from tests.archive.conftest import A, B, Cli, TestClock
from tests.harness import Harness

ARCHIVE_JOBS = (FIXITY, RETENTION, REPORTS, AUDIT_HEAD)


def test_archive_jobs_are_registered_with_intervals_from_the_settings() -> None:
    assert {spec.name for spec in ARCHIVE_JOBS} <= set(JOBS)
    settings = Settings(fixity_interval_seconds=86400.0, retention_interval_seconds=7200.0,
                        report_interval_seconds=60.0, audit_head_interval_seconds=30.0)
    assert [spec.interval_for(settings) for spec in ARCHIVE_JOBS] == [86400.0, 7200.0, 60.0, 30.0]
    env = {"AXIS_FIXITY_INTERVAL_SECONDS": "43200", "AXIS_FIXITY_MAX_AGE_DAYS": "90"}
    loaded = load_settings(environ=env)
    assert FIXITY.interval_for(loaded) == 43200.0 and loaded.fixity_max_age_days == 90
    assert loaded.retention_path.name == "retention.toml" and loaded.retention_path.is_file()


async def test_every_archive_job_can_run_twice_without_harm(archive: Harness, clock: TestClock) -> None:
    a, b = await archive.register(A), await archive.register(B)
    async with a.client() as ac:
        await ac.submit(a.document([b])[1])
    for spec in ARCHIVE_JOBS:
        assert await run_job(archive.ctx, spec) is not None, spec.name
    async with archive.ctx.sessions() as session:
        counts = [(await session.execute(select(func.count()).select_from(t))).scalar_one()
                  for t in (FixityCheck, MonthlyStat)]
    for spec in ARCHIVE_JOBS:
        assert await run_job(archive.ctx, spec) is not None, spec.name
    async with archive.ctx.sessions() as session:
        again = [(await session.execute(select(func.count()).select_from(t))).scalar_one()
                 for t in (FixityCheck, MonthlyStat)]
    # Fixity re-hashes only what is past its age; the month's aggregates are replaced, not added to.
    assert again == counts
    # The fixity run's summary entry moved the chain head; once signed, an unchanged head is not signed again.
    assert await run_job(archive.ctx, AUDIT_HEAD) == "head unchanged"


async def test_a_job_another_node_holds_is_skipped(archive: Harness, clock: TestClock, axis_cli: Cli) -> None:
    assert await try_lease(archive.ctx.sessions, REPORTS.name, "other-node:1", clock(), timedelta(minutes=30))
    assert await run_job(archive.ctx, REPORTS) is None
    skipped = await axis_cli("jobs", "run", REPORTS.name)
    assert skipped.exit_code == 0 and "skipped, another node holds its lease" in skipped.output
    clock.advance(hours=1)  # the other node died: its lease lapses
    assert (await run_job(archive.ctx, REPORTS) or "").startswith("recomputed")


async def test_axis_jobs_lists_each_job_with_its_last_run_and_outcome(archive: Harness, axis_cli: Cli) -> None:
    ran = await axis_cli("jobs", "run", AUDIT_HEAD.name)
    assert ran.exit_code == 0 and ran.output.startswith(f"{AUDIT_HEAD.name}: ")
    listed = await axis_cli("jobs")
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()}
    assert {spec.name for spec in ARCHIVE_JOBS} <= set(lines)
    assert " ok " in lines[AUDIT_HEAD.name] and "never run" in lines[FIXITY.name]
    assert listed.output.splitlines()[0].split()[:3] == ["JOB", "EVERY", "OUTCOME"]
    as_json = json.loads((await axis_cli("jobs", "--json")).output)
    assert {r["job"]: r["outcome"] for r in as_json}[AUDIT_HEAD.name] == "ok"
    unknown = await axis_cli("jobs", "run", "no.such.job")
    assert unknown.exit_code == 2 and "known:" in unknown.output
