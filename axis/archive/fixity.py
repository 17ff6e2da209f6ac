"""Fixity: re-hash stored blobs and record one outcome per blob (ok, mismatch, missing).

A blob is whatever holds a digest's bytes: a row of the ``payloads`` table for a small
payload (the row whose data no longer hashes to its key is a mismatch), else a file.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from storage.archive_models import Blob, FixityCheck
from storage.audit import append_event
from storage.payloads.store import PayloadStore

#: Blobs re-hashed between two short write transactions: the exchange keeps writing meanwhile.
BATCH = 64
#: Failures named one by one in the run's summary audit entry (each also has its own entry).
MAX_NAMED_FAILURES = 50


class Outcome(str, enum.Enum):
    """What one re-hash found."""

    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"


@dataclass
class FixityReport:
    """Totals of one fixity run, and the blobs that failed."""

    checked: int = 0
    passed: int = 0
    failed: int = 0
    #: Blobs (not disposed of) whose last check is older than ``stale_days`` days, or never checked, after the run.
    not_checked: int = 0
    stale_days: int = 0
    failures: list[tuple[str, Outcome]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no blob failed."""
        return self.failed == 0

    def summary(self) -> str:
        """One line: checked / passed / failed / not checked for N days."""
        return (f"checked {self.checked}, passed {self.passed}, failed {self.failed}, "
                f"not checked for {self.stale_days} days {self.not_checked}")


def _stale(now: datetime, days: float) -> ColumnElement[bool]:
    return or_(Blob.last_checked_at.is_(None), Blob.last_checked_at < now - timedelta(days=days))


async def blobs_to_check(
    session: AsyncSession, *, now: datetime, older_than_days: float | None = None, limit: int | None = None
) -> list[str]:
    """Digests of kept blobs to re-hash: never checked first, then the longest unchecked."""
    query = select(Blob.sha256).where(Blob.disposed_at.is_(None))
    if older_than_days is not None:
        query = query.where(_stale(now, older_than_days))
    # NULLS FIRST spelled portably: never-checked blobs sort before every checked one.
    query = query.order_by(Blob.last_checked_at.is_not(None), Blob.last_checked_at, Blob.sha256)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.execute(query)).scalars())


async def count_not_checked(session: AsyncSession, *, now: datetime, days: float) -> int:
    """Kept blobs not checked within ``days`` days (or never)."""
    query = select(func.count()).select_from(Blob).where(Blob.disposed_at.is_(None), _stale(now, days))
    return int((await session.execute(query)).scalar_one())


async def rehash_outcomes(store: PayloadStore, digests: Sequence[str]) -> list[tuple[str, Outcome, str]]:
    """Re-hash blobs from the database or disk: (digest, outcome, detail) for each."""
    out: list[tuple[str, Outcome, str]] = []
    hashed = await store.rehash(digests)
    for sha in digests:
        actual = hashed[sha]
        if actual is None:
            out.append((sha, Outcome.MISSING, "neither in the database nor on disk"))
        elif actual != sha:
            out.append((sha, Outcome.MISMATCH, f"content hashes to {actual}"))
        else:
            out.append((sha, Outcome.OK, ""))
    return out


async def _record(
    sessions: async_sessionmaker[AsyncSession], results: list[tuple[str, Outcome, str]], now: datetime, actor: str
) -> list[tuple[str, Outcome, str]]:
    """Write one batch of outcomes; skip blobs a disposal destroyed while they were being hashed."""
    async with sessions() as session, session.begin():
        disposed = set((await session.execute(
            select(Blob.sha256).where(Blob.sha256.in_([r[0] for r in results]), Blob.disposed_at.is_not(None))
        )).scalars())
        kept = [r for r in results if r[0] not in disposed]
        if not kept:
            return []
        session.add_all(FixityCheck(sha256=sha, checked_at=now, outcome=o.value, detail=d) for sha, o, d in kept)
        await session.execute(
            update(Blob),
            [{"sha256": sha, "last_checked_at": now, "last_outcome": o.value} for sha, o, _ in kept],
        )
        for sha, outcome, detail in kept:
            if outcome is not Outcome.OK:
                await append_event(session, actor=actor, action="fixity.failed", subject=sha,
                                   details={"outcome": outcome.value, "detail": detail}, at=now)
        return kept


async def run_fixity(
    sessions: async_sessionmaker[AsyncSession],
    store: PayloadStore,
    *,
    now: datetime,
    older_than_days: float | None = None,
    stale_days: int = 30,
    limit: int | None = None,
    actor: str = "axis",
    progress: Callable[[int], None] | None = None,
    on_selected: Callable[[int], None] | None = None,
) -> FixityReport:
    """Re-hash kept blobs (all, or those unchecked for ``older_than_days``) and record each outcome."""
    async with sessions() as session:
        digests = await blobs_to_check(session, now=now, older_than_days=older_than_days, limit=limit)
    if on_selected is not None:
        on_selected(len(digests))
    report = FixityReport(stale_days=int(older_than_days) if older_than_days is not None else stale_days)
    for start in range(0, len(digests), BATCH):
        batch = digests[start:start + BATCH]
        # Hashing reads whole payloads (off the event loop), outside any transaction.
        results = await rehash_outcomes(store, batch)
        for sha, outcome, _ in await _record(sessions, results, now, actor):
            report.checked += 1
            if outcome is Outcome.OK:
                report.passed += 1
            else:
                report.failed += 1
                report.failures.append((sha, outcome))
        if progress is not None:
            progress(len(batch))
    async with sessions() as session, session.begin():
        report.not_checked = await count_not_checked(session, now=now, days=report.stale_days)
        await append_event(session, actor=actor, action="fixity.checked", subject="", at=now, details={
            "checked": report.checked, "passed": report.passed, "failed": report.failed,
            "not_checked": report.not_checked, "stale_days": report.stale_days,
            "failures": [[sha, o.value] for sha, o in report.failures[:MAX_NAMED_FAILURES]],
        })
    return report


