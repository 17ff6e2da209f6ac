"""Group commit and deferred sealing under concurrency: every request gets its own right answer.

Concurrent submissions are stored together by the committer (axis/committer.py), and the
audit chain and register numbers are filled in by the sealer (storage/archive/sealing.py).
A clash inside a batch (the same bytes twice, one DocumentId twice) must not cost the other
documents of that batch, and the chain and the registers must come out whole.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from axis.archive.calendar import vn_date
from axis.archive.sealing import seal_now
from envelope.codes import StatusCode
from storage.archive_models import RegisterEntry
from storage.audit import append_event, pending_count, verify_chain
from storage.models import AuditEvent, AuditQueueEntry, Delivery, DeliveryState, Message
from tests.exchange.snapshots import call
from tests.harness import Harness

A, B = "000.00.00.G22", "000.00.00.H29"
DOCUMENTS, STATUSES = "/api/v1/documents", "/api/v1/statuses"


async def test_a_clash_inside_a_batch_costs_only_the_clashing_request(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    distinct = [a.document([b], subject=f"Về việc gửi đồng thời số {n}")[1] for n in range(24)]
    _, repeated = a.document([b], subject="Gửi ba lần cùng một bản")
    _, first = a.document([b], number="777", subject="Bản thứ nhất")
    _, second = a.document([b], number="777", subject="Bản thứ hai, cùng số và ký hiệu")
    bodies = [*distinct, repeated, repeated, repeated, first, second]

    replies = await asyncio.gather(*(call(axis, "POST", DOCUMENTS, token=a, data=body,
                                          headers={"Content-Type": "application/xml"}) for body in bodies))

    assert [r.status for r in replies[:24]] == [202] * 24
    copies = replies[24:27]
    assert sorted(r.status for r in copies) == [200, 200, 202]
    assert len({r.json()["id"] for r in copies}) == 1  # the repeats answer with the stored message
    clash = sorted(r.status for r in replies[27:])
    assert clash == [202, 409]
    assert next(r for r in replies[27:] if r.status == 409).json()["code"] == "AXIS.Duplicate"

    async with axis.ctx.sessions() as session:
        stored = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
        deliveries = (await session.execute(select(func.count()).select_from(Delivery))).scalar_one()
    assert stored == deliveries == 24 + 1 + 1


async def test_sealer_chains_every_queued_entry_and_numbers_registers_consecutively(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    docs = [a.document([b], subject=f"Văn bản số {n}") for n in range(20)]
    async with a.client() as ac, b.client() as bc:
        replies = await asyncio.gather(*(ac.submit(signed) for _, signed in docs))
        await asyncio.gather(*(bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận")) for doc, _ in docs))

    sealed = await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        assert await pending_count(session) == 0
        checked, problem = await verify_chain(session)
        assert problem is None
        actions = Counter((await session.execute(select(AuditEvent.action))).scalars())
        year = vn_date(axis.ctx.clock()).year
        numbers = {
            direction: sorted((await session.execute(
                select(RegisterEntry.number).where(RegisterEntry.direction == direction, RegisterEntry.year == year)
            )).scalars())
            for direction in ("out", "in")
        }
        delivered = (await session.execute(
            select(func.count()).select_from(Delivery).where(Delivery.state == DeliveryState.DELIVERED.value)
        )).scalar_one()
        queued = (await session.execute(select(func.count()).select_from(AuditQueueEntry))).scalar_one()
    assert sealed.audit_entries >= 0 and queued == 0
    assert checked == sum(actions.values())
    assert actions["edoc.received"] == actions["status.received"] == actions["delivery.delivered"] == 20
    assert numbers == {"out": list(range(1, 21)), "in": list(range(1, 21))}
    assert delivered == 20 and len({r["id"] for r in replies}) == 20


async def test_a_person_action_chained_at_once_comes_after_what_was_queued(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    async with a.client() as ac:
        reply = await ac.submit(a.document([b])[1])
    # The rare path (a person's action): chained in the caller's transaction, at once.
    async with axis.ctx.sessions() as session, session.begin():
        event = await append_event(session, actor="user:luutru", action="test.viewed", subject=reply["id"])
    async with axis.ctx.sessions() as session:
        received = (await session.execute(
            select(AuditEvent.id).where(AuditEvent.action == "edoc.received", AuditEvent.subject == reply["id"])
        )).scalar_one()
        assert await pending_count(session) == 0
    assert received < event.id  # the queued entry was sealed into the chain first

