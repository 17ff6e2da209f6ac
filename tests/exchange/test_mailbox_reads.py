"""The recipient's reads: the first fetch is recorded once, repeats change nothing, traces follow revokes."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from axis.archive.sealing import seal_now
from envelope.codes import BusinessType, StatusCode
from envelope.model import ResponseFor
from storage.models import AuditEvent
from tests.exchange.snapshots import call
from tests.harness import Harness

A, B = "000.00.00.G22", "000.00.00.H29"


async def _retrievals(axis: Harness, message_id: str) -> int:
    await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        return len((await session.execute(
            select(AuditEvent.id).where(AuditEvent.action == "delivery.retrieved", AuditEvent.subject == message_id)
        )).all())


async def test_two_first_fetches_at_once_record_one_retrieval_and_both_get_the_bytes(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    _, signed = a.document([b])
    async with a.client() as ac:
        doc_id = (await ac.submit(signed))["id"]
    replies = await asyncio.gather(*(call(axis, "GET", f"/api/v1/messages/{doc_id}", token=b) for _ in range(4)))
    assert all(r.status == 200 and r.body == signed for r in replies)
    again = await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=b)
    assert again.status == 200 and again.body == signed
    # The sender's own reads are no retrieval either.
    assert (await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=a)).status == 200
    assert await _retrievals(axis, doc_id) == 1
    trace = (await call(axis, "GET", f"/api/v1/documents/{doc_id}/trace", token=a)).json()
    assert [(r["organ_id"], r["state"]) for r in trace["recipients"]] == [(B, "retrieved")]
    assert trace["recipients"][0]["retrieved_at"] is not None
    # Still waiting in the inbox until the signed 01 comes.
    items = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()["items"]
    assert [i["id"] for i in items] == [doc_id]


async def test_trace_shows_the_statuses_of_the_document_and_of_a_revoke_answering_it(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    doc, signed = a.document([b])
    async with a.client() as ac, b.client() as bc:
        doc_id = (await ac.submit(signed))["id"]
        arrived = await bc.post_status(b.status(doc, StatusCode.ARRIVED))
        handled = await bc.post_status(b.status(doc, StatusCode.HANDLING))
        revoke, revoke_signed = a.document([b], subject="Thu hồi văn bản", business_type=BusinessType.REVOKE,
                                           response_for=[ResponseFor.to_document(doc)], reason="Ban hành nhầm")
        revoke_id = (await ac.submit(revoke_signed))["id"]
        agreed = await bc.post_status(b.status(revoke, StatusCode.REVOKE_AGREED))
    for agent in (a, b):
        trace = (await call(axis, "GET", f"/api/v1/documents/{doc_id}/trace", token=agent)).json()
        assert trace["from"] == A and trace["id"] == doc_id
        assert [(e["status_code"], e["from"], e["message_id"], e["document_message_id"])
                for e in trace["timeline"]] == [
            ("01", B, arrived["id"], doc_id), ("05", B, handled["id"], doc_id), ("15", B, agreed["id"], revoke_id)]
        assert [(r["organ_id"], r["state"], r["receipt_id"]) for r in trace["recipients"]] == [
            (B, "delivered", arrived["id"])]
        assert trace["recipients"][0]["revoked_at"] is not None
    # A status message has no trace of its own, for its sender as for anyone.
    reply = await call(axis, "GET", f"/api/v1/documents/{arrived['id']}/trace", token=b)
    assert reply.status == 404
