"""The group committer: one transaction per batch, and a request whose rows cannot be stored costs only itself."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.committer import Arrival, Committer, Rows
from storage.errors import Superseded
from storage.ids import new_id
from storage.models import AuditQueueEntry, Message, MessageRow
from tests.harness import Harness

A = "000.00.00.G22"


def _rows(sender_id: int, body: bytes, *, superseded: bool = False) -> Rows:
    now = datetime.now(UTC)
    sha256 = hashlib.sha256(body).hexdigest()
    message = MessageRow(id=new_id(), kind="edoc", document_id=f"doc-{sha256[:8]}", sender_id=sender_id,
                         sha256=sha256, size=len(body), received_at=now)

    async def moved_on(session: AsyncSession) -> None:
        raise Superseded("the state this change depended on moved on")

    return Rows(
        message=message.values(),
        deliveries=[],
        arrival=Arrival(blob={"sha256": sha256, "size": len(body), "stored_at": now}, register=None, retention=None),
        audit={"at": now, "actor": A, "action": "edoc.received", "subject": message.id, "details": "{}"},
        apply=moved_on if superseded else None,
    )


async def _count(axis: Harness, model: type[Message] | type[AuditQueueEntry]) -> int:
    async with axis.ctx.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_superseded_change_is_refused_alone_and_its_batch_is_stored(axis: Harness) -> None:
    agency = await axis.register(A)
    sender_id = (await axis.ctx.registry.agency_by_code(agency.code)).id  # type: ignore[union-attr]
    committer = Committer(axis.ctx.sessions)
    batch = [_rows(sender_id, f"document {n}".encode(), superseded=(n == 2)) for n in range(5)]
    try:
        results = await asyncio.gather(*(committer.commit(rows) for rows in batch), return_exceptions=True)
    finally:
        await committer.close()
    assert [type(r).__name__ for r in results] == ["NoneType", "NoneType", "Superseded", "NoneType", "NoneType"]
    assert await _count(axis, Message) == 4
    assert await _count(axis, AuditQueueEntry) == 4


async def test_a_constraint_clash_costs_only_the_clashing_rows(axis: Harness) -> None:
    agency = await axis.register(A)
    sender_id = (await axis.ctx.registry.agency_by_code(agency.code)).id  # type: ignore[union-attr]
    committer = Committer(axis.ctx.sessions)
    first, again = _rows(sender_id, b"the same bytes"), _rows(sender_id, b"the same bytes")
    try:
        results = await asyncio.gather(committer.commit(first), committer.commit(_rows(sender_id, b"other")),
                                       committer.commit(again), return_exceptions=True)
    finally:
        await committer.close()
    assert results[0] is None and results[1] is None
    assert isinstance(results[2], IntegrityError)
    assert await _count(axis, Message) == 2


async def test_rows_the_database_refuses_are_refused_with_its_error(axis: Harness) -> None:
    committer = Committer(axis.ctx.sessions)
    orphan = _rows(sender_id=10**9, body=b"no such sender")  # a foreign key the database refuses
    try:
        with pytest.raises(IntegrityError):
            await committer.commit(orphan)
    finally:
        await committer.close()
    assert await _count(axis, Message) == 0
