"""edXML as deployed software writes it is accepted through /vxp, and the rules that protect still refuse."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from axis.agency.client import compose_status, sign_message
from envelope.builder import build_status
from envelope.codes import BusinessType, StatusCode
from envelope.model import ResponseFor
from envelope.parser import parse_document
from signing.signer import sign_envelope
from storage.models import AuditEvent, AuditQueueEntry
from tests.exchange.snapshots import assert_nothing_stored, snapshot
from tests.harness import Harness
from tests.vxp import deployed
from tests.vxp.conftest import sdk_for
from tests.vxp.sdk_client import SdkReply

A, B = "000.00.00.G22", "000.00.00.H29"


def ok(reply: SdkReply) -> dict:  # type: ignore[type-arg]
    body = reply.json()
    assert body["status"] == "OK" and body["ErrorCode"] == "0", body
    return body  # type: ignore[no-any-return]


async def audit_details(axis: Harness, subject: str, action: str = "edoc.received") -> dict:  # type: ignore[type-arg]
    """The details of the entry recording ``action`` on ``subject`` (queued or already chained)."""
    async with axis.ctx.sessions() as session:
        for model in (AuditQueueEntry, AuditEvent):
            found = (await session.execute(select(model.details).where(
                model.subject == subject, model.action == action))).scalars().all()
            if found:
                return json.loads(found[0])  # type: ignore[no-any-return]
    raise AssertionError(f"no audit entry for {subject}")


SHAPES = {
    "uuid_document_id": (deployed.uuid_document_id(), "not in the OrganId,yyyy/MM/dd,Number/Notation form"),
    "document_id_date_differs": (deployed.set_document_id(f"{A},2026/11/19,9001/UBND-VP"),
                                 "DocumentId date differs from PromulgationDate"),
    "empty_response_for": (deployed.empty_response_for, None),
    "other_trace_codes": (deployed.other_trace_codes, "is not an agency code"),
    "missing_type_detail": (deployed.missing_type_detail, None),
}


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_deployed_shape_is_accepted_and_its_mismatches_recorded(axis: Harness, shape: str) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    change, note = SHAPES[shape]
    data = deployed.signed(a, [b], change, number=9001)
    sent = ok(await sa.send_edoc(data, {"from": A, "messagetype": "edoc"}))
    async with b.client() as bc:
        assert await bc.fetch(sent["DocId"]) == data
    notes = (await audit_details(axis, sent["DocId"])).get("notes", [])
    if note is None:
        assert notes == []
    else:
        assert any(note in n for n in notes), notes


async def test_the_same_uuid_document_id_from_two_agencies_is_two_documents(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    shared = deployed.set_document_id(str(uuid.uuid4()))
    ok(await sa.send_edoc(deployed.signed(a, [b], shared), {"from": A}))
    ok(await sb.send_edoc(deployed.signed(b, [a], shared), {"from": B}))
    # The sender's own second document under it is a duplicate.
    again = (await sa.send_edoc(deployed.signed(a, [b], shared), {"from": A})).json()
    assert (again["status"], again["ErrorCode"]) == ("FAIL", "AXIS.Duplicate")


async def test_document_id_naming_another_agency_is_refused_and_nothing_stored(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    squat = deployed.signed(a, [b], deployed.set_document_id(f"{B},2026/11/20,1/UBND-VP"))
    before = await snapshot(axis)
    reply = (await sa.send_edoc(squat, {"from": A})).json()
    assert (reply["status"], reply["ErrorCode"], reply["ErrorField"]) == \
        ("FAIL", "AXIS.Validation", "MessageHeader/DocumentId")
    await assert_nothing_stored(axis, before)


@pytest.mark.parametrize("body", [b"<edXML><edXMLEnvelope/></edXML>", b"<edXML:edXML", b"not xml at all",
                                  b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>'])
async def test_not_well_formed_or_not_namespaced_xml_is_still_refused(axis: Harness, body: bytes) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    before = await snapshot(axis)
    reply = (await sa.send_edoc(body, {"from": A})).json()
    assert (reply["status"], reply["ErrorCode"]) == ("FAIL", "AXIS.Validation"), reply
    await assert_nothing_stored(axis, before)


@pytest.mark.parametrize("business_type", [BusinessType.REVOKE, BusinessType.UPDATE, BusinessType.REPLACE])
async def test_revoke_update_replace_of_a_uuid_document_are_accepted(axis: Harness,
                                                                     business_type: BusinessType) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    original_id = str(uuid.uuid4())
    original = deployed.signed(a, [b], deployed.set_document_id(original_id), number=77)
    first = ok(await sa.send_edoc(original, {"from": A}))
    ref = ResponseFor(organ_id=A, code="77/UBND-VP", promulgation_date=date(2026, 11, 20), document_id=original_id)
    follow = deployed.signed(a, [b], deployed.uuid_document_id(), business_type=business_type,
                             response_for=[ref], reason="Điều chỬnh nội dung")
    sent = ok(await sa.send_edoc(follow, {"from": A}))
    async with a.client() as ac:
        trace = await ac.trace(sent["DocId"])
    assert trace["business_type"] == int(business_type)
    async with b.client() as bc:
        items = (await bc.inbox(kind="edoc"))["items"]
    assert [i.get("response_for") for i in items if i["id"] == sent["DocId"]] == [first["DocId"]]


@pytest.mark.parametrize("code", [c for c in StatusCode])
async def test_each_status_code_about_a_uuid_document_is_accepted(axis: Harness, code: StatusCode) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    data = deployed.signed(a, [b], deployed.uuid_document_id())
    doc_id = ok(await sa.send_edoc(data, {"from": A}))["DocId"]
    author, client = (a, sa) if code == StatusCode.TAKEN_BACK else (b, sb)
    status = compose_status(sender=author.organization, document=parse_document(data), code=code,
                            description="Lý do: gửi nhầm đơn vị" if code == StatusCode.REFUSED else "")
    raw = sign_message(status, author.identity.key, author.identity.certificate)
    ok(await client.send_edoc(raw, {"from": author.code, "messagetype": "status"}))
    async with a.client() as ac:
        timeline = (await ac.trace(doc_id))["timeline"]
    assert [(e["status_code"], e["from"]) for e in timeline] == [(code.value, author.code)]


async def test_status_posted_with_messagetype_edoc_is_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    data = deployed.signed(a, [b])
    ok(await sa.send_edoc(data, {"from": A}))
    status = sign_envelope(
        build_status(compose_status(sender=b.organization, document=parse_document(data), code=StatusCode.ARRIVED)),
        b.identity.key, b.identity.certificate)
    reply = (await sb.send_edoc(status, {"from": B, "messagetype": "edoc"})).json()
    assert (reply["status"], reply["ErrorCode"]) == ("FAIL", "AXIS.Validation")
