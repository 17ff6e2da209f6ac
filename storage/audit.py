"""Append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent, utcnow

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


async def append_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit entry to the session's transaction (call it last, just before commit)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_ID})
    last = (
        await session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).first()
    event_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    when = (at or utcnow()).astimezone(timezone.utc)
    body = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
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
