"""Signature policy per agency: `required` refuses an unsigned document; `legacy-transport` accepts and marks it."""

from __future__ import annotations

import json

from sqlalchemy import select

from axis.agency.client import AxisApiError
from axis.appkeys import METRICS
from axis.archive.calendar import month_of
from axis.archive.reports import compute_month, monthly_report
from envelope.codes import StatusCode
from envelope.parser import parse_document
from signing.receipt import verify_submission_receipt
from storage.models import Message
from tests.exchange.snapshots import assert_nothing_stored, snapshot
from tests.harness import Harness
from tests.vxp import deployed
from tests.vxp.conftest import sdk_for, set_policy
from tests.vxp.test_vxp_deployed_shapes import audit_details

A, B = "000.00.00.G22", "000.00.00.H29"


def unsigned_count(axis: Harness, agency: str) -> float:
    """axis_unsigned_documents_total{agency} as /metrics would show it."""
    value = axis.app[METRICS].registry.get_sample_value("axis_unsigned_documents_total", {"agency": agency})
    return value or 0.0


async def test_unsigned_document_is_refused_under_the_default_policy(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    raw = deployed.unsigned(a, [b])
    before = await snapshot(axis)
    reply = (await sa.send_edoc(raw, {"from": A})).json()
    assert (reply["status"], reply["ErrorCode"]) == ("FAIL", "AXIS.Signature")
    async with a.client() as ac:
        try:
            await ac.submit(raw)
        except AxisApiError as exc:
            assert exc.code == "AXIS.Signature"
        else:
            raise AssertionError("an unsigned document was accepted under `required`")
    await assert_nothing_stored(axis, before)
    assert unsigned_count(axis, A) == 0


async def test_unsigned_document_is_accepted_and_marked_under_legacy_transport(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    await set_policy(axis, A, "legacy-transport")
    raw = deployed.unsigned(a, [b], deployed.uuid_document_id())

    sent = (await sa.send_edoc(raw, {"from": A})).json()
    assert (sent["status"], sent["authentication"]) == ("OK", "transport"), sent
    receipt = verify_submission_receipt(sent["receipt"].encode(), axis.ctx.axis_certificate)
    assert receipt.authentication == "transport" and b"<Authentication>transport" in sent["receipt"].encode()
    assert unsigned_count(axis, A) == 1
    assert (await audit_details(axis, sent["DocId"]))["authenticated_by"] == "transport"

    # /api/v1 too: the policy is the agency's, whatever the transport.
    async with a.client() as ac:
        via_api = await ac.submit(deployed.unsigned(a, [b]))
        assert via_api["authenticated_by"] == "transport"
        assert unsigned_count(axis, A) == 2
        trace = await ac.trace(sent["DocId"])
        assert trace["authenticated_by"] == "transport"

    # The recipient gets the exact bytes and its signed 01 delivers it as usual.
    async with b.client() as bc:
        assert await bc.fetch(sent["DocId"]) == raw
    ok = (await sb.send_edoc(b.status(parse_document(raw), StatusCode.ARRIVED), {"messagetype": "status"})).json()
    assert ok["status"] == "OK" and ok["authentication"] == "signature"
    async with a.client() as ac:
        assert (await ac.trace(sent["DocId"]))["recipients"][0]["state"] == "delivered"
    async with axis.ctx.sessions() as session:
        marks = dict((await session.execute(select(Message.id, Message.authenticated_by))).all())
    assert marks[sent["DocId"]] == "transport" and marks[ok["DocId"]] == "signature"

    # The monthly report counts them.
    month = month_of(axis.ctx.clock())
    async with axis.ctx.sessions() as session, session.begin():
        await compute_month(session, month)
    async with axis.ctx.sessions() as session:
        rows = {r["agency"]: r for r in await monthly_report(session, month)}
    assert (rows[A]["unsigned"], rows[A]["sent"], rows[B]["unsigned"]) == (2, 2, 0)


async def test_signed_documents_stay_signed_and_tampering_is_refused_under_legacy_transport(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    await set_policy(axis, A, "legacy-transport")
    _, signed = a.document([b], subject="Về việc kiểm tra chữ ký")
    reply = (await sa.send_edoc(signed, {"from": A})).json()
    assert (reply["status"], reply["authentication"]) == ("OK", "signature")
    _, other = a.document([b], subject="Về việc kiểm tra chữ ký lần hai")
    tampered = other.replace("lần hai".encode(), "lần ba".encode())
    before = await snapshot(axis)
    refused = (await sa.send_edoc(tampered, {"from": A})).json()
    assert (refused["status"], refused["ErrorCode"]) == ("FAIL", "AXIS.Signature"), refused
    await assert_nothing_stored(axis, before)
    assert unsigned_count(axis, A) == 0


async def test_the_policy_change_is_audited(axis: Harness) -> None:
    await axis.register(A)
    await set_policy(axis, A, "legacy-transport")
    details = await audit_details(axis, A, action="agency.signature_policy")
    assert json.loads(json.dumps(details)) == {"policy": "legacy-transport", "previous": "required"}
