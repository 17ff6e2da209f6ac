"""A DMS on the national SDK drives /vxp end to end over real HTTP, on the same exchange as /api/v1."""

from __future__ import annotations

import base64
import hashlib

from envelope.codes import StatusCode
from signing.receipt import verify_submission_receipt
from tests.harness import Harness
from tests.vxp.conftest import sdk_for
from tests.vxp.sdk_client import SdkClient, unpadded_sha256_hex

A, B = "000.00.00.G22", "000.00.00.H29"


def assert_ok(reply) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = reply.json()
    assert reply.status == 200 and body["status"] == "OK" and body["ErrorCode"] == "0", (reply.status, body)
    return body  # type: ignore[no-any-return]


async def test_sdk_document_travels_and_its_receipt_returns_through_vxp(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    doc, signed = a.document([b], subject="Về việc kết nối trục qua SDK")

    # The sender's SDK posts the file plus CRLF with the unpadded hash; the axis stores the file.
    sent = assert_ok(await sa.send_edoc(signed, {"from": A, "servicetype": "eDoc", "messagetype": "edoc"}))
    doc_id = sent["DocId"]
    assert sent["sha256"] == hashlib.sha256(signed).hexdigest()
    receipt = verify_submission_receipt(sent["receipt"].encode(), axis.ctx.axis_certificate)
    assert receipt.message_id == doc_id and receipt.authentication == "signature"
    assert sent["authentication"] == "signature"

    # The recipient counts, lists and gets it: the bytes are the file's, not the body's.
    assert assert_ok(await sb.call("countReceiveEdoc", method="GET"))["count"] == 1
    listed = assert_ok(await sb.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"}))
    assert [(i["docId"], i["from"], i["to"], i["messageType"]) for i in listed["data"]] == [(doc_id, A, B, "edoc")]
    got = assert_ok(await sb.call("getEdoc", {"docId": doc_id, "filePath": "/tmp/edoc"}))
    assert base64.b64decode(got["data"]) == signed
    download = await sb.call("downloadEdoc", {"docId": doc_id}, method="GET")
    assert download.status == 200 and download.body == signed

    # The same document through /api/v1: byte-identical.
    async with b.client() as bc:
        assert await bc.fetch(doc_id) == signed

    # updateStatus done: off the SDK's list; the document still waits for its signed 01.
    assert_ok(await sb.call("updateStatus", {"docid": doc_id, "status": "done"}))
    assert assert_ok(await sb.call("getReceivedEdocList", {"messagetype": "edoc"}))["data"] == []
    async with a.client() as ac:
        assert (await ac.trace(doc_id))["recipients"][0]["state"] == "retrieved"

    # The recipient sends its signed status 01 as a status package.
    status = b.status(doc, StatusCode.ARRIVED, "Đã nhận")
    answered = assert_ok(await sb.send_edoc(status, {"from": B, "servicetype": "eDoc", "messagetype": "status"}))

    # The sender lists statuses, gets the 01, and /api/v1 shows the document delivered.
    statuses = assert_ok(await sa.call("getReceivedEdocList", {"messagetype": "status"}))["data"]
    assert [(s["docId"], s["from"], s["statusCode"]) for s in statuses] == [(answered["DocId"], B, "01")]
    assert assert_ok(await sa.call("countReceiveStatus", method="GET"))["count"] == 1
    got_status = assert_ok(await sa.call("getEdoc", {"docId": answered["DocId"]}))
    assert base64.b64decode(got_status["data"]) == status
    assert_ok(await sa.call("updateStatus", {"docid": answered["DocId"], "status": "done"}))
    assert assert_ok(await sa.call("countReceiveStatus", method="GET"))["count"] == 0
    async with a.client() as ac:
        trace = await ac.trace(doc_id)
        assert trace["recipients"][0]["state"] == "delivered"
        assert [e["status_code"] for e in trace["timeline"]] == ["01"]
        assert (await ac.inbox(kind="status"))["items"] == []  # done through /vxp = acknowledged

    sent_list = assert_ok(await sa.call("getSentEdocList", {"docId": doc_id}))["data"]
    assert [(r["toCode"], r["receiveStatus"]) for r in sent_list] == [(B, "done")]


async def test_document_sent_through_api_v1_is_read_through_vxp(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sb = await sdk_for(axis, b, system_id="ubnd-hcm-dms")
    _, signed = a.document([b])
    async with a.client() as ac:
        doc_id = (await ac.submit(signed))["id"]
    listed = assert_ok(await sb.call("getReceivedEdocList", {"messagetype": "edoc"}))["data"]
    assert [i["docId"] for i in listed] == [doc_id]
    assert base64.b64decode(assert_ok(await sb.call("getEdoc", {"docId": doc_id}))["data"]) == signed


async def test_sdk_hash_file_in_either_hex_form_and_agencies_list(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    agencies = assert_ok(await sa.call("getAgenciesList"))["data"]
    assert {x["code"] for x in agencies} == {A, B}
    # A file whose digest has bytes below 0x10 shows the two forms apart.
    for n in range(50):
        _, signed = a.document([b], number=str(100 + n))
        if len(unpadded_sha256_hex(signed)) < 64:
            break
    assert len(unpadded_sha256_hex(signed)) < 64
    assert_ok(await sa.send_edoc(signed, {"from": A}, hash_file=hashlib.sha256(signed).hexdigest()))
    _, other = a.document([b], number="999")
    assert_ok(await sa.send_edoc(other, {"from": A}, hash_file=unpadded_sha256_hex(other)))


async def test_one_long_lived_sdk_object_runs_the_example_programs_polling_round(axis: Harness) -> None:
    # The SDK's example: one KnobstickServiceImp lists, then getEdoc and updateStatus for each item;
    # the timestamp is the object's, and every call's keys stay in its header map.
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    sent = []
    for n in range(3):
        _, signed = a.document([b], number=str(40 + n))
        sent.append((assert_ok(await sa.send_edoc(signed, {"from": A}))["DocId"], signed))
    issued = await sdk_for(axis, b)
    round_ = SdkClient(issued.endpoint, issued.system_id, issued.secret, sticky=True)
    listed = assert_ok(await round_.call("getReceivedEdocList", {"servicetype": "eDoc", "messagetype": "edoc"}))
    assert [i["docId"] for i in listed["data"]] == [d for d, _ in sent]
    for item, (_, signed) in zip(listed["data"], sent, strict=True):
        got = assert_ok(await round_.call("getEdoc", {"filePath": "xml", "docId": item["docId"]}))
        assert base64.b64decode(got["data"]) == signed
        assert_ok(await round_.call("updateStatus", {"status": "done", "docId": item["docId"]}))
    assert assert_ok(await issued.call("countReceiveEdoc", method="GET"))["count"] == 0
