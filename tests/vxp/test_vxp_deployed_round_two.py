"""Deployed edXML, round two: the original named in Bussiness/DocumentId, attachments zipped on the way."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.harness import Harness
from tests.vxp import deployed
from tests.vxp.conftest import sdk_for
from tests.vxp.sdk_client import SdkReply

A, B = "000.00.00.G22", "000.00.00.H29"
E = deployed.E
BUSSINESS = "e:edXMLEnvelope/e:edXMLHeader/e:TraceHeaderList/e:Bussiness"


def ok(reply: SdkReply) -> dict:  # type: ignore[type-arg]
    body = reply.json()
    assert body["status"] == "OK" and body["ErrorCode"] == "0", body
    return body  # type: ignore[no-any-return]


def _find(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, E)
    assert found is not None, path
    return found


def acting_on(kind: int, original: str) -> deployed.Change:
    """Business type ``kind`` naming ``original`` in Bussiness/DocumentId, no ResponseFor (as deployed)."""
    def change(root: etree._Element) -> None:
        bussiness = _find(root, BUSSINESS)
        _find(root, f"{BUSSINESS}/e:BussinessDocType").text = str(kind)
        etree.SubElement(bussiness, f"{{{deployed.EDXML_NS}}}DocumentId").text = original
    return change


def attachment_type(value: str) -> deployed.Change:
    """The attachment's own ContentType set to ``value`` (the manifest's stays application/pdf)."""
    def change(root: etree._Element) -> None:
        found = root.find(".//e:AttachmentEncoded/e:Attachment/e:ContentType", E)
        assert found is not None
        found.text = value
    return change


async def notes_of(axis: Harness, doc_id: str) -> list[str]:
    """The notes recorded with the document's arrival."""
    import json

    from sqlalchemy import select

    from storage.models import AuditEvent, AuditQueueEntry

    async with axis.ctx.sessions() as session:
        for model in (AuditQueueEntry, AuditEvent):
            found = (await session.execute(select(model.details).where(
                model.subject == doc_id, model.action == "edoc.received"))).scalars().all()
            if found:
                return list(json.loads(found[0]).get("notes", []))
    raise AssertionError(f"no audit entry for {doc_id}")


@pytest.mark.parametrize("kind", [2, 3])
@pytest.mark.parametrize("original", [f"{A},2014/02/30,12/UBND-VP", f"{A},2014/02/28,12/UBND-VP"])
async def test_update_and_replacement_naming_the_original_in_bussiness_are_accepted(
        axis: Harness, kind: int, original: str) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    data = deployed.signed(a, [b], acting_on(kind, original))
    sent = ok(await sa.send_edoc(data, {"from": A}))
    async with b.client() as bc:
        assert await bc.fetch(sent["DocId"]) == data
    notes = await notes_of(axis, sent["DocId"])
    assert "the original is named by Bussiness/DocumentId, not ResponseFor" in notes, notes
    assert any("not on this axis" in n for n in notes), notes
    assert any("not a calendar date" in n for n in notes) == ("02/30" in original), notes


async def test_update_naming_an_original_on_this_axis_links_it(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    first = ok(await sa.send_edoc(deployed.signed(a, [b], deployed.set_document_id(f"{A},2026/11/20,77/UBND-VP"),
                                                  number=77), {"from": A}))
    sent = ok(await sa.send_edoc(deployed.signed(a, [b], acting_on(2, f"{A},2026/11/20,77/UBND-VP")), {"from": A}))
    async with b.client() as bc:
        items = (await bc.inbox(kind="edoc"))["items"]
    assert [i.get("response_for") for i in items if i["id"] == sent["DocId"]] == [first["DocId"]]


async def test_update_naming_no_original_anywhere_is_still_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    reply = (await sa.send_edoc(deployed.signed(a, [b], acting_on(2, "")), {"from": A})).json()
    assert (reply["status"], reply["ErrorCode"]) == ("FAIL", "AXIS.Validation"), reply


@pytest.mark.parametrize("own", ["application/zip", "application/x-zip-compressed", "application/octet-stream"])
async def test_attachment_zipped_by_a_gateway_is_accepted_and_noted(axis: Harness, own: str) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    data = deployed.signed(a, [b], attachment_type(own))
    sent = ok(await sa.send_edoc(data, {"from": A}))
    notes = await notes_of(axis, sent["DocId"])
    assert any("ContentType" in n and "application/pdf" in n and own in n for n in notes), notes


async def test_attachment_whose_type_means_something_else_is_still_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    reply = (await sa.send_edoc(deployed.signed(a, [b], attachment_type("image/jpeg")), {"from": A})).json()
    assert (reply["status"], reply["ErrorCode"]) == ("FAIL", "AXIS.Validation"), reply
    assert "ContentType" in reply.get("ErrorField", ""), reply
