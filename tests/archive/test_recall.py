"""Recall: a revoke the recipient agrees to (15) freezes its copy as revoked; the recall's metadata stays."""

from __future__ import annotations

from sqlalchemy import select

from axis.archive.calendar import vn_date
from axis.archive.registers import register_rows
from axis.archive.sealing import seal_now
from envelope.codes import BusinessType, StatusCode
from envelope.model import ResponseFor
from storage.audit import verify_chain
from storage.models import AuditEvent, Delivery, Message
from tests.archive.conftest import A, B, C, TestClock
from tests.harness import Harness


async def test_agreed_revoke_freezes_that_recipients_copy_and_keeps_the_recall_on_record(
        archive: Harness, clock: TestClock) -> None:
    a, b, c = await archive.register(A), await archive.register(B), await archive.register(C)
    doc, signed = a.document([b, c], subject="Về việc tổ chức hội nghị")
    async with a.client() as ac, b.client() as bc, c.client() as cc:
        original = await ac.submit(signed)
        await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
        await cc.post_status(c.status(doc, StatusCode.ARRIVED, "Đã nhận"))

        clock.advance(days=2)
        revoke, revoke_signed = a.document([b, c], subject="Thu hồi văn bản tổ chức hội nghị",
                                           business_type=BusinessType.REVOKE, reason="Ban hành nhầm",
                                           response_for=[ResponseFor.to_document(doc)])
        recall = await ac.submit(revoke_signed)
        await bc.post_status(b.status(revoke, StatusCode.ARRIVED, "Đã nhận"))
        await cc.post_status(c.status(revoke, StatusCode.ARRIVED, "Đã nhận"))
        clock.advance(hours=3)
        agreed_at = clock()
        await bc.post_status(b.status(revoke, StatusCode.REVOKE_AGREED, "Đồng ý thu hồi"))
        clock.advance(hours=1)
        await cc.post_status(c.status(revoke, StatusCode.REVOKE_REFUSED, "Đã ban hành văn bản thực hiện"))

        # Surfaced in the trace: B's copy is revoked at the time of its 15, C's is not.
        trace = await ac.trace(original["id"])
        revoked = {r["organ_id"]: r["revoked_at"] for r in trace["recipients"]}
        assert revoked == {B: agreed_at.isoformat(), C: None}
        assert [e["status_code"] for e in trace["timeline"] if e["from"] == B] == ["01", "01", "15"]
        assert [e["status_code"] for e in trace["timeline"] if e["from"] == C] == ["01", "01", "16"]
        assert (await bc.trace(original["id"]))["recipients"][0]["revoked_at"] == agreed_at.isoformat()

        # Frozen, not erased: B can still read the exact bytes, and the recall itself is kept.
        assert await bc.fetch(original["id"]) == signed
        assert (await bc.trace(recall["id"]))["business_type"] == int(BusinessType.REVOKE)

    await seal_now(archive.ctx.sessions)  # register entries are numbered by the sealer
    async with archive.ctx.sessions() as session:
        recall_row = await session.get(Message, recall["id"])
        deliveries = dict((await session.execute(
            select(Delivery.recipient_id, Delivery.revoked_at).where(Delivery.message_id == original["id"]))).all())
        year = vn_date(clock()).year
        outgoing = await register_rows(session, A, "outgoing", year)
        incoming_b = await register_rows(session, B, "incoming", year)
        incoming_c = await register_rows(session, C, "incoming", year)
        assert (await verify_chain(session))[1] is None
        received = (await session.execute(select(AuditEvent.subject).where(
            AuditEvent.action == "status.received"))).scalars().all()
    assert recall_row is not None and recall_row.response_for_id == original["id"]
    assert sorted(v is not None for v in deliveries.values()) == [False, True]
    assert len(received) == 6  # four 01, the 15 and the 16 are on the audit chain

    # The registers carry it in their notes column.
    day = vn_date(agreed_at).isoformat()
    notes_b = {r["message_id"]: r["notes"] for r in incoming_b}
    assert notes_b[original["id"]] == f"Đã thu hồi {day} (revoked)"
    assert notes_b[recall["id"]] == f"Thu hồi văn bản {original['document_id']}"
    assert {r["message_id"]: r["notes"] for r in incoming_c}[original["id"]] == ""
    notes_a = {r["message_id"]: r["notes"] for r in outgoing}
    assert notes_a[original["id"]] == f"Thu hồi tại {B} (revoked)"
    assert notes_a[recall["id"]] == f"Thu hồi văn bản {original['document_id']}"
