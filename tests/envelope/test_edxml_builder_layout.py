"""The builder writes exactly the prefixes and element order agency software expects."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from lxml import etree

from envelope import (
    NSMAP,
    SIGNATURE_PARENT_PATH,
    VN_TZ,
    Attachment,
    BusinessType,
    Bussiness,
    DocumentCode,
    DocumentMessage,
    InvalidEnvelope,
    Organization,
    OtherInfo,
    Priority,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    build_document,
    build_status,
    signature_index,
    signature_parent,
)
from tests.envelope.sample_messages import NS

MakeDocument = Callable[..., DocumentMessage]


def _local_names(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def _full(make_document: MakeDocument) -> DocumentMessage:
    earlier = make_document()
    return make_document(
        signer=SignerInfo("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Phạm Văn A"),
        due_date=date(2024, 2, 1),
        to_places=("Như trên",),
        other_info=OtherInfo(priority=Priority.FLASH, page_amount=3, appendixes=("PL1",)),
        response_for=(ResponseFor.to_document(earlier),),
        steering_type=2,
        bussiness=Bussiness(
            BusinessType.REPLACE,
            "Thay thế",
            staff_info=StaffInfo("Văn thư"),
            replacement_info_list=(earlier.document_id,),
        ),
        code=DocumentCode("13", "QĐ-UBND"),
    )


def test_document_starts_with_declaration_and_default_namespace_root(
    make_document: MakeDocument,
) -> None:
    data = build_document(make_document())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert f'<edXML xmlns="{NS}">'.encode() in data
    assert f'<edXML:edXMLEnvelope xmlns:edXML="{NS}">'.encode() in data


def test_every_envelope_descendant_carries_the_edxml_prefix(make_document: MakeDocument) -> None:
    root = etree.fromstring(build_document(_full(make_document)))
    assert root.prefix is None and root.tag == f"{{{NS}}}edXML"
    envelope = root[0]
    assert etree.QName(envelope).localname == "edXMLEnvelope"
    for el in envelope.iter():
        assert el.prefix == "edXML", el.tag
        assert etree.QName(el).namespace == NS


def test_attachments_sit_outside_the_envelope_without_prefix(make_document: MakeDocument) -> None:
    root = etree.fromstring(build_document(make_document()))
    assert _local_names(root) == ["edXMLEnvelope", "AttachmentEncoded"]
    encoded = root[1]
    assert encoded.prefix is None
    for att in encoded:
        assert att.prefix is None
        assert _local_names(att) == [
            "ContentId",
            "AttachmentName",
            "Description",
            "ContentType",
            "ContentTransferEncoded",
        ]
        assert [c.prefix for c in att] == [None, None, None, None, "edXML"]
    body = encoded[1][4]
    assert base64.b64decode(body.text) == b"\x00\x01\x02"


def test_header_order_is_message_header_then_trace_header_list(
    make_document: MakeDocument,
) -> None:
    root = etree.fromstring(build_document(_full(make_document)))
    header = root.find(SIGNATURE_PARENT_PATH, NSMAP)
    assert header is not None
    assert _local_names(header) == ["MessageHeader", "TraceHeaderList"]
    assert _local_names(header[0]) == [
        "From",
        "To",
        "To",
        "DocumentId",
        "Code",
        "PromulgationInfo",
        "DocumentType",
        "Subject",
        "Content",
        "SignerInfo",
        "DueDate",
        "ToPlaces",
        "OtherInfo",
        "ResponseFor",
        "SteeringType",
    ]
    assert _local_names(header[1]) == ["TraceHeader", "Bussiness"]
    assert _local_names(header[1][1]) == [
        "BussinessDocType",
        "BussinessDocReason",
        "Paper",
        "StaffInfo",
        "BussinessDocumentInfo",
        "ReplacementInfoList",
    ]


def test_children_of_header_parts_follow_the_standard_order(make_document: MakeDocument) -> None:
    root = etree.fromstring(build_document(_full(make_document)))
    mh = root.find("edXML:edXMLEnvelope/edXML:edXMLHeader/edXML:MessageHeader", NSMAP)
    assert mh is not None
    by_name = {etree.QName(c).localname: c for c in mh}
    assert _local_names(by_name["From"]) == [
        "OrganId",
        "OrganizationInCharge",
        "OrganName",
        "OrganAdd",
        "Email",
        "Telephone",
        "Fax",
        "Website",
    ]
    assert _local_names(by_name["Code"]) == ["CodeNumber", "CodeNotation"]
    assert _local_names(by_name["PromulgationInfo"]) == ["Place", "PromulgationDate"]
    assert _local_names(by_name["DocumentType"]) == ["Type", "TypeDetail", "TypeName"]
    assert _local_names(by_name["SignerInfo"]) == ["Competence", "Position", "FullName"]
    assert _local_names(by_name["OtherInfo"]) == [
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PageAmount",
        "Direction",
        "Appendixes",
    ]
    assert _local_names(by_name["ResponseFor"]) == [
        "OrganId",
        "Code",
        "PromulgationDate",
        "DocumentId",
    ]
    assert by_name["DueDate"].text == "2024/02/01"
    assert by_name["OtherInfo"][0].text == "3"


def test_manifest_has_one_reference_per_attachment(make_document: MakeDocument) -> None:
    root = etree.fromstring(build_document(make_document()))
    manifest = root.find("edXML:edXMLEnvelope/edXML:edXMLBody/edXML:edXMLManifest", NSMAP)
    assert manifest is not None
    assert manifest.get("version") == "1.0"
    refs = list(manifest)
    assert [etree.QName(r).localname for r in refs] == ["Reference", "Reference"]
    assert _local_names(refs[0]) == ["ContentId", "ContentType", "Description", "AttachmentName"]
    assert [r[0].text for r in refs] == ["cid:1", "cid:2"]
    assert refs[0][3].text == "quyết định.pdf"


def test_document_id_is_derived_from_sender_date_and_code(make_document: MakeDocument) -> None:
    msg = make_document()
    assert msg.document_id == "000.00.00.G22,2024/01/05,12/QĐ-UBND"
    root = etree.fromstring(build_document(msg))
    assert root.findtext(".//edXML:DocumentId", namespaces=NSMAP) == msg.document_id


def test_timestamps_are_written_in_vietnam_time(make_document: MakeDocument) -> None:
    msg = make_document(sent_at=datetime(2024, 1, 5, 1, 2, 3, 999, tzinfo=UTC))
    root = etree.fromstring(build_document(msg))
    assert root.findtext(".//edXML:TraceHeader/edXML:Timestamp", namespaces=NSMAP) == (
        "2024/01/05 08:02:03"
    )


def test_status_has_header_only_in_standard_order(make_document: MakeDocument) -> None:
    status = StatusMessage.new(
        from_=Organization("000.00.00.H29", "UBND TP Hồ Chí Minh"),
        response_for=ResponseFor.to_document(make_document()),
        status_code=StatusCode.ARRIVED,
        timestamp=datetime(2024, 1, 5, 9, 0, tzinfo=VN_TZ),
    )
    data = build_status(status)
    root = etree.fromstring(data)
    assert _local_names(root) == ["edXMLEnvelope"]
    assert _local_names(root[0]) == ["edXMLHeader"]
    header = root[0][0]
    assert _local_names(header) == ["MessageHeader", "TraceHeaderList"]
    assert _local_names(header[0]) == [
        "From",
        "ResponseFor",
        "StaffInfo",
        "StatusCode",
        "Description",
        "Timestamp",
    ]
    assert header[0][3].text == "01"
    assert header[0][5].text == "2024/01/05 09:00:00"
    assert f'<edXML:edXMLEnvelope xmlns:edXML="{NS}">'.encode() in data


def test_signature_goes_right_after_trace_header_list(make_document: MakeDocument) -> None:
    root = etree.fromstring(build_document(make_document()))
    header = signature_parent(root)
    assert etree.QName(header).localname == "edXMLHeader"
    assert signature_index(header) == 2


def test_building_refuses_an_invalid_message(make_document: MakeDocument) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        build_document(make_document(to=(Organization("H29", "Sai mã"),)))
    assert err.value.field == "MessageHeader/To[1]/OrganId"


def test_building_refuses_text_xml_cannot_carry(make_document: MakeDocument) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        build_document(make_document(subject="bell \x07"))
    assert err.value.field == "MessageHeader/Subject"


def test_large_attachment_is_encoded_once_without_line_breaks(
    make_document: MakeDocument,
) -> None:
    blob = bytes(range(256)) * 4096  # 1 MiB
    msg = make_document(
        attachments=(Attachment("cid:1", "big.bin", "application/octet-stream", blob),)
    )
    data = build_document(msg)
    assert base64.b64encode(blob) in data
