"""A document travels A → B (pull) and C (push); receipts and statuses flow back to A."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp.test_utils import TestServer

from axis.agency.receiver import PATH, PushReceiver
from envelope.codes import BusinessType, StatusCode
from envelope.model import ResponseFor
from signing.receipt import verify_submission_receipt
from tests.harness import Harness

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Poll an async predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_document_reaches_pull_and_push_recipients_and_statuses_flow_back(axis: Harness) -> None:
    c_ident = axis.identity_for(C)
    a = await axis.register(A)
    b = await axis.register(B)
    receiver = PushReceiver(organization=None, identity=c_ident)  # type: ignore[arg-type]
    endpoint = TestServer(receiver.app(), host="127.0.0.1")
    await endpoint.start_server()
    try:
        c = await axis.register(C, endpoint=str(endpoint.make_url(PATH)))
        receiver.organization = c.organization
        receiver.axis_certificate, receiver.senders = axis.ctx.axis_certificate, {A: a.identity.certificate}
        doc, signed = a.document([b, c], subject="Về việc tổ chức Hội nghị trực tuyến <Q4>")

        async with a.client() as ac, b.client() as bc:
            reply = await ac.submit(signed)
            assert reply["sha256"] == hashlib.sha256(signed).hexdigest()
            assert [r["organ_id"] for r in reply["recipients"]] == [B, C]
            receipt = verify_submission_receipt(reply["receipt"].encode(), axis.ctx.axis_certificate)
            assert receipt.message_id == reply["id"] and receipt.sha256 == reply["sha256"]
            assert receipt.sender == A and set(receipt.recipients) == {B, C}
            doc_id = reply["id"]

            # B pulls: inbox → fetch byte-identical → signed 01.
            inbox = await bc.inbox()
            assert [i["id"] for i in inbox["items"]] == [doc_id]
            assert inbox["items"][0]["from"] == A and inbox["items"][0]["kind"] == "edoc"
            assert await bc.fetch(doc_id) == signed
            await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
            assert (await bc.inbox(kind="edoc"))["items"] == []

            # C was pushed the exact bytes and answered with its own signed 01.
            async def both_delivered() -> bool:
                t = await ac.trace(doc_id)
                return all(r["state"] == "delivered" for r in t["recipients"])

            await wait_for(both_delivered)
            assert list(receiver.received.values()) == [signed]
            trace = await ac.trace(doc_id)
            assert {e["from"] for e in trace["timeline"] if e["status_code"] == "01"} == {B, C}
            assert all(r["receipt_id"] for r in trace["recipients"])

            # A's inbox holds both receipts as status items; ack takes them off.
            statuses = (await ac.inbox(kind="status"))["items"]
            assert sorted(s["from"] for s in statuses) == [B, C]
            for s in statuses:
                await ac.ack(s["id"])
            assert (await ac.inbox())["items"] == []

            # B registers (03) and completes (06); A sees both on the timeline.
            await bc.post_status(b.status(doc, StatusCode.ACCEPTED, "Đã vào sổ"))
            await bc.post_status(b.status(doc, StatusCode.COMPLETED, "Đã xử lý xong"))
            codes = [e["status_code"] for e in (await ac.trace(doc_id))["timeline"] if e["from"] == B]
            assert codes == ["01", "03", "06"]

            # A revokes; the revoke reaches B, whose 15 reaches A and freezes B's copy.
            revoke, revoke_signed = a.document(
                [b], subject="Thu hồi văn bản", business_type=BusinessType.REVOKE,
                response_for=[ResponseFor.to_document(doc)], reason="Ban hành nhầm",
            )
            rreply = await ac.submit(revoke_signed)
            assert [i["id"] for i in (await bc.inbox(kind="edoc"))["items"]] == [rreply["id"]]
            await bc.post_status(b.status(revoke, StatusCode.REVOKE_AGREED, "Đồng ý thu hồi"))
            agreed = [s for s in (await ac.inbox(kind="status"))["items"] if s.get("status_code") == "15"]
            assert len(agreed) == 1 and agreed[0]["from"] == B
            final = await ac.trace(doc_id)
            b_row = next(r for r in final["recipients"] if r["organ_id"] == B)
            assert b_row["revoked_at"] is not None
            assert any(e["status_code"] == "15" for e in final["timeline"])
    finally:
        await endpoint.close()
