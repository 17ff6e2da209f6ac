"""Append-only, hash-chained audit log.

Busy paths queue their entries (:func:`queue_event`) in the same transaction as the change
they record; a sealer (:func:`seal_queue`, run by every axis process about twice a second and
before anything reads the chain) moves them into the chain in queue order under one lock.
Rare actions chain at once with :func:`append_event`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, AuditQueueEntry, utcnow

GENESIS = "0" * 64
# Same key in every process: appends are serialised so the chain never forks.
AUDIT_LOCK_ID = 0x0A815_0002


def event_hash(
    event_id: int, prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: str
) -> str:
    """The chain hash of one entry; it covers its position and its predecessor."""
    canonical = json.dumps(
        [event_id, prev_hash, at.isoformat(), actor, action, subject, details],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def audit_details(details: dict[str, Any] | None) -> str:
    """The stored (and hashed) form of an entry's details: canonical JSON."""
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# Built once: busy paths queue an entry per change.
_QUEUE_ONE = insert(AuditQueueEntry.__table__)


async def queue_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Record an audit entry in the session's transaction; :func:`seal_queue` chains it shortly after.

    The entry commits (or rolls back) with the change it records, so none is lost, but it takes
    no lock: busy paths (submissions, statuses, fetches) no longer wait on one another for the
    chain's head. Until sealed (well under a second with the sealer running) it is not yet
    protected by the chain; :func:`pending_count` says how many wait.
    """
    await session.execute(_QUEUE_ONE, queue_row(actor=actor, action=action, subject=subject, details=details, at=at))


def queue_row(
    *, actor: str, action: str, subject: str = "", details: dict[str, Any] | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """The ``audit_queue`` row of an entry, for a caller that inserts it with others (the group commit)."""
    return {"at": (at or utcnow()).astimezone(UTC), "actor": actor, "action": action, "subject": subject,
            "details": audit_details(details)}


async def lock_chain(session: AsyncSession, *, wait: bool = True) -> bool:
    """Serialise chain appends (and register numbering) across processes till commit; False if busy and not ``wait``."""
    if session.bind.dialect.name != "postgresql":
        return True  # SQLite: every write transaction already holds the database write lock
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_ID})
        return True
    return bool((await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_ID})).scalar())


async def _head(session: AsyncSession) -> tuple[int, str]:
    last = (
        await session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).first()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


async def chain_queued(session: AsyncSession, batch: int = 2000) -> int:
    """Move queued entries into the chain, in queue order; the caller holds :func:`lock_chain`."""
    sealed = 0
    last_id, prev = await _head(session)
    while True:
        q_ = AuditQueueEntry
        queued = (
            await session.execute(select(q_.id, q_.at, q_.actor, q_.action, q_.subject, q_.details)
                                  .order_by(q_.id).limit(batch))
        ).all()
        if not queued:
            return sealed
        rows = []
        for q in queued:
            last_id += 1
            at = q.at.astimezone(UTC)
            digest = event_hash(last_id, prev, at, q.actor, q.action, q.subject, q.details)
            rows.append({"id": last_id, "at": at, "actor": q.actor, "action": q.action, "subject": q.subject,
                         "details": q.details, "prev_hash": prev, "hash": digest})
            prev = digest
        await session.execute(insert(AuditEvent), rows)
        # By id list, not a range: an entry with a lower id may commit after this read.
        await session.execute(delete(AuditQueueEntry).where(AuditQueueEntry.id.in_([q.id for q in queued])))
        sealed += len(queued)


async def seal_queue(session: AsyncSession, *, wait: bool = True, batch: int = 2000) -> int:
    """Chain every queued entry, in queue order, in the session's transaction; return how many.

    With ``wait`` off it returns 0 at once when another process is sealing.
    """
    if not await lock_chain(session, wait=wait):
        return 0
    return await chain_queued(session, batch)


async def pending_count(session: AsyncSession) -> int:
    """Audit entries committed but not yet chained."""
    return int((await session.execute(select(func.count()).select_from(AuditQueueEntry))).scalar() or 0)


async def append_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Chain an audit entry now, after any queued ones, in the session's transaction (call it last).

    Takes the chain lock until commit: for rare actions (a person's read, an operator's
    resend, a disposal). Busy paths use :func:`queue_event`.
    """
    await lock_chain(session, wait=True)
    await chain_queued(session)
    event_id, prev = await _head(session)
    event_id += 1
    when = (at or utcnow()).astimezone(UTC)
    body = audit_details(details)
    event = AuditEvent(
        id=event_id,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=body,
        prev_hash=prev,
        hash=event_hash(event_id, prev, when, actor, action, subject, body),
    )
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    """The first audit entry that breaks the chain, and how."""

    event_id: int
    reason: str


async def verify_chain(session: AsyncSession, batch: int = 5000) -> tuple[int, ChainProblem | None]:
    """Walk the whole chain; return (entries checked, first problem or None)."""
    expected_id, prev, checked, after = 1, GENESIS, 0, 0
    while True:
        rows = (
            await session.execute(
                select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch)
            )
        ).scalars().all()
        if not rows:
            return checked, None
        for ev in rows:
            if ev.id != expected_id:
                return checked, ChainProblem(expected_id, f"entry {expected_id} is missing (next is {ev.id})")
            if ev.prev_hash != prev:
                return checked, ChainProblem(ev.id, "does not follow the previous entry (removed or reordered)")
            if event_hash(ev.id, ev.prev_hash, ev.at, ev.actor, ev.action, ev.subject, ev.details) != ev.hash:
                return checked, ChainProblem(ev.id, "content was altered")
            prev, expected_id, after = ev.hash, ev.id + 1, ev.id
            checked += 1
