"""The audit log is a hash chain whose edits, removals and reorderings are found."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import append_event, verify_chain
from storage.models import AuditEvent


async def _three(session: AsyncSession) -> list[AuditEvent]:
    base = (await session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))).scalar()
    assert base is None or base >= 0
    events = [
        await append_event(session, actor="000.00.00.G22", action="message.received", subject=f"m{i}",
                           details={"n": i, "text": "Văn bản"})
        for i in range(3)
    ]
    return events


async def test_untouched_chain_verifies(session: AsyncSession) -> None:
    events = await _three(session)
    checked, problem = await verify_chain(session)
    assert problem is None
    assert checked >= 3
    assert events[1].prev_hash == events[0].hash


async def test_edited_entry_is_named(session: AsyncSession) -> None:
    events = await _three(session)
    await session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(actor="someone else"))
    _, problem = await verify_chain(session)
    assert problem is not None and problem.event_id == events[1].id
    assert "altered" in problem.reason


async def test_removed_entry_is_named(session: AsyncSession) -> None:
    events = await _three(session)
    await session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    _, problem = await verify_chain(session)
    assert problem is not None and problem.event_id == events[1].id
    assert "missing" in problem.reason


async def test_swapped_entries_are_found(session: AsyncSession) -> None:
    events = await _three(session)
    a, b = events[0], events[1]
    fields = ("at", "actor", "action", "subject", "details", "prev_hash", "hash")
    va = {f: getattr(a, f) for f in fields}
    vb = {f: getattr(b, f) for f in fields}
    await session.execute(update(AuditEvent).where(AuditEvent.id == a.id).values(hash="x" * 64))
    await session.execute(update(AuditEvent).where(AuditEvent.id == b.id).values(**va))
    await session.execute(update(AuditEvent).where(AuditEvent.id == a.id).values(**vb))
    _, problem = await verify_chain(session)
    assert problem is not None and problem.event_id == a.id
