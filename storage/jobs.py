"""Job leases and run records: which node runs a scheduled job, and how it went."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import rowcount
from storage.models import JobLease, JobRun


async def try_lease(
    sessions: async_sessionmaker[AsyncSession], job: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the job's lease if free or lapsed; True when this holder may run it now."""
    async with sessions() as session:
        try:
            async with session.begin():
                if await session.get(JobLease, job) is None:
                    session.add(JobLease(job=job, holder=None, until=None))
        except IntegrityError:
            pass  # another node created the row first
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(JobLease)
            .where(JobLease.job == job, or_(JobLease.holder.is_(None), JobLease.until < now))
            .values(holder=holder, until=now + ttl)
        )
        return bool(rowcount(result))


async def release_lease(sessions: async_sessionmaker[AsyncSession], job: str, holder: str) -> None:
    """Give the lease back (only if we still hold it)."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(JobLease).where(JobLease.job == job, JobLease.holder == holder).values(holder=None, until=None)
        )


async def start_run(sessions: async_sessionmaker[AsyncSession], job: str, node: str, now: datetime) -> int:
    """Record that a run started; return its id."""
    async with sessions() as session, session.begin():
        run = JobRun(job=job, node=node, started_at=now, outcome="running")
        session.add(run)
        await session.flush()
        return run.id


async def finish_run(
    sessions: async_sessionmaker[AsyncSession], run_id: int, outcome: str, detail: str, now: datetime
) -> None:
    """Record how a run ended (ok or error) and what it did."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(JobRun).where(JobRun.id == run_id).values(outcome=outcome, detail=detail[:4000], finished_at=now)
        )


async def last_runs(session: AsyncSession) -> dict[str, JobRun]:
    """The most recent run of every job."""
    newest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    rows = (await session.execute(select(JobRun).join(newest, newest.c.id == JobRun.id))).scalars()
    return {r.job: r for r in rows}
