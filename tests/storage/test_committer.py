"""The group committer: one transaction per batch, and a request whose rows cannot be stored costs only itself."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.archive_models import RegisterEntry
from storage.committer import Arrival, Committer, Delivering, Rows
from storage.errors import Superseded
from storage.ids import new_id
from storage.models import AuditQueueEntry, Delivery, DeliveryState, Message, MessageRow
from tests.harness import Harness

A = "000.00.00.G22"
B = "000.00.00.H41"


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


def _receipt(recipient_id: int, doc_id: str, delivery_id: int, n: int) -> Rows:
    """A recipient's status 01 about ``doc_id``: its own message, and its effect on the delivery."""
    now = datetime.now(UTC)
    body = f"receipt {n}".encode()
    sha256 = hashlib.sha256(body).hexdigest()
    message = MessageRow(id=new_id(), kind="status", document_id=f"doc-{doc_id}", sender_id=recipient_id,
                         sha256=sha256, size=len(body), received_at=now, status_code="01", response_for_id=doc_id)
    return Rows(
        message=message.values(),
        deliveries=[],
        arrival=Arrival(blob={"sha256": sha256, "size": len(body), "stored_at": now}, register=None, retention=None),
        audit={"at": now, "actor": B, "action": "status.received", "subject": message.id, "details": "{}"},
        deliver=Delivering(
            delivery_id=delivery_id, receipt_message_id=message.id, at=now,
            register={"agency_id": recipient_id, "direction": "in", "year": now.year, "number": None,
                      "message_id": doc_id, "registered_at": now},
            audit={"at": now, "actor": "axis", "action": "delivery.delivered", "subject": doc_id,
                   "details": f'{{"delivery":{delivery_id}}}'},
        ),
    )


async def _sent(axis: Harness, committer: Committer) -> tuple[int, str, int]:
    """A document from A to B, stored: (B's agency id, the document's id, its delivery's id)."""
    sender_id = (await axis.ctx.registry.agency_by_code((await axis.register(A)).code)).id  # type: ignore[union-attr]
    recipient_id = (await axis.ctx.registry.agency_by_code((await axis.register(B)).code)).id  # type: ignore[union-attr]
    doc = _rows(sender_id, b"a document")
    doc.deliveries.append({"message_id": doc.message["id"], "recipient_id": recipient_id, "mode": "pull",
                           "created_at": doc.message["received_at"]})
    await committer.commit(doc)
    async with axis.ctx.sessions() as session:
        delivery_id = (await session.execute(select(Delivery.id))).scalar_one()
    return recipient_id, doc.message["id"], delivery_id


async def _delivery_effects(axis: Harness) -> tuple[Delivery, int, int]:
    async with axis.ctx.sessions() as session:
        delivery = (await session.execute(select(Delivery))).scalar_one()
        registered = (await session.execute(select(func.count()).select_from(RegisterEntry)
                                            .where(RegisterEntry.direction == "in"))).scalar_one()
        audited = (await session.execute(select(func.count()).select_from(AuditQueueEntry)
                                         .where(AuditQueueEntry.action == "delivery.delivered"))).scalar_one()
    return delivery, registered, audited


async def test_only_the_first_receipt_of_a_batch_delivers(axis: Harness) -> None:
    committer = Committer(axis.ctx.sessions)
    try:
        recipient_id, doc_id, delivery_id = await _sent(axis, committer)
        receipts = [_receipt(recipient_id, doc_id, delivery_id, n) for n in range(3)]
        await asyncio.gather(*(committer.commit(rows) for rows in receipts))
        await committer.commit(_receipt(recipient_id, doc_id, delivery_id, 3))  # a later repeat, alone
    finally:
        await committer.close()
    delivery, registered, audited = await _delivery_effects(axis)
    assert delivery.state == DeliveryState.DELIVERED.value
    assert delivery.receipt_message_id == receipts[0].message["id"]
    assert (registered, audited) == (1, 1)
    assert await _count(axis, Message) == 5  # every receipt is stored all the same


async def test_a_receipt_after_a_refusal_changes_nothing_but_is_stored(axis: Harness) -> None:
    committer = Committer(axis.ctx.sessions)
    try:
        recipient_id, doc_id, delivery_id = await _sent(axis, committer)
        async with axis.ctx.sessions() as session, session.begin():
            (await session.execute(select(Delivery))).scalar_one().state = DeliveryState.REFUSED.value
        await committer.commit(_receipt(recipient_id, doc_id, delivery_id, 0))
    finally:
        await committer.close()
    delivery, registered, audited = await _delivery_effects(axis)
    assert (delivery.state, delivery.receipt_message_id, registered, audited) == (DeliveryState.REFUSED.value, None, 0, 0)
    assert await _count(axis, Message) == 2
