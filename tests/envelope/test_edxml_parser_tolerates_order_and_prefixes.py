"""The parser reads what other agencies' software writes: any order, prefix, sparse optionals."""

from __future__ import annotations

import dataclasses
import random
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from envelope import (
    BusinessType,
    DocumentMessage,
    OtherInfo,
    Priority,
    StatusMessage,
    message_from_tree,
    parse_document,
    parse_message,
    parse_status,
    parse_xml,
)
from tests.envelope.sample_messages import (
    ALL_SAMPLES,
    NS,
    find,
    mutate,
    read_sample,
    remove,
    set_text,
)

MH = ".//e:MessageHeader"


def _reprefixed(root: etree._Element, prefix: str | None) -> bytes:
    """Copy the tree declaring the edXML namespace once, at the root, under ``prefix``."""

    def copy(src: etree._Element, parent: etree._Element | None) -> etree._Element:
        if parent is None:
            el = etree.Element(src.tag, nsmap={prefix: NS})
        else:
            el = etree.SubElement(parent, src.tag)
        el.text, el.tail = src.text, src.tail
        for name, value in src.attrib.items():
            el.set(name, value)
        for child in src:
            if isinstance(child.tag, str):
                copy(child, el)
        return el

    return etree.tostring(copy(root, None), encoding="UTF-8")


def _shuffled(data: bytes, rnd: random.Random) -> bytes:
    def shuffle(root: etree._Element) -> None:
        for el in root.iter():
            children = list(el)
            if len(children) > 1:
                rnd.shuffle(children)
                el[:] = children

    return mutate(data, shuffle)


def _order_free(msg: DocumentMessage | StatusMessage) -> object:
    """The message with its repeated parts sorted, so that order does not matter."""
    if isinstance(msg, StatusMessage):
        return dataclasses.replace(msg, trace_headers=tuple(sorted(msg.trace_headers, key=repr)))
    return dataclasses.replace(
        msg,
        to=tuple(sorted(msg.to, key=repr)),
        to_places=tuple(sorted(msg.to_places)),
        response_for=tuple(sorted(msg.response_for, key=repr)),
        trace_headers=tuple(sorted(msg.trace_headers, key=repr)),
        attachments=tuple(sorted(msg.attachments, key=repr)),
        other_info=dataclasses.replace(
            msg.other_info, appendixes=tuple(sorted(msg.other_info.appendixes))
        ),
    )


@pytest.mark.parametrize("prefix", [None, "ns0", "qcvn", "edXML"])
@pytest.mark.parametrize("sample", ["cong_van", "status_01", "revoke"])
def test_any_prefix_for_the_edxml_namespace_is_accepted(
    request: pytest.FixtureRequest, sample: str, prefix: str | None
) -> None:
    data: bytes = request.getfixturevalue(sample)
    rewritten = _reprefixed(etree.fromstring(data), prefix)
    if prefix:
        assert f"<{prefix}:edXML ".encode() in rewritten
    assert parse_message(rewritten) == parse_message(data)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(ALL_SAMPLES))
def test_element_order_does_not_matter(rnd: random.Random, sample: str) -> None:
    data = read_sample(sample)
    assert _order_free(parse_message(_shuffled(data, rnd))) == _order_free(parse_message(data))


def test_attachments_follow_manifest_order_not_encoded_order(cong_van: bytes) -> None:
    def swap(root: etree._Element) -> None:
        encoded = find(root, "e:AttachmentEncoded")
        encoded[:] = list(reversed(encoded))

    names = [a.content_id for a in parse_document(mutate(cong_van, swap)).attachments]
    assert names == ["cid:1", "cid:2"]


def test_comments_and_whitespace_around_codes_are_accepted(cong_van: bytes) -> None:
    def decorate(root: etree._Element) -> None:
        find(root, MH).insert(0, etree.Comment(" from the DMS "))
        set_text(root, f"{MH}/e:From/e:OrganId", "\n   000.00.00.G22  \n")
        set_text(root, f"{MH}/e:PromulgationInfo/e:PromulgationDate", " 2024/03/15 ")
        subject = find(root, f"{MH}/e:Subject")
        subject.text = "V/v triển khai "
        comment = etree.Comment("split")
        comment.tail = "Trục liên thông văn bản quốc gia"
        subject.append(comment)

    msg = parse_document(mutate(cong_van, decorate))
    assert msg.from_.organ_id == "000.00.00.G22"
    assert msg.subject == "V/v triển khai Trục liên thông văn bản quốc gia"


def test_sparse_document_with_only_required_fields_is_accepted(cong_van: bytes) -> None:
    def strip_optionals(root: etree._Element) -> None:
        for path in (
            f"{MH}/e:SignerInfo",
            f"{MH}/e:DueDate",
            f"{MH}/e:ToPlaces",
            f"{MH}/e:OtherInfo",
            f"{MH}/e:SteeringType",
            f"{MH}/e:Content",
            ".//e:Bussiness",
            ".//e:edXMLBody",
            "e:AttachmentEncoded",
        ):
            remove(root, path)

    msg = parse_document(mutate(cong_van, strip_optionals))
    assert msg.signer is None and msg.due_date is None and msg.steering_type is None
    assert msg.other_info == OtherInfo()
    assert msg.business_type is BusinessType.NEW
    assert msg.attachments == ()
    assert msg.content == ""


def test_empty_optional_elements_read_as_absent(cong_van: bytes) -> None:
    def empty(root: etree._Element) -> None:
        for path in (
            f"{MH}/e:DueDate",
            f"{MH}/e:SteeringType",
            f"{MH}/e:OtherInfo/e:Priority",
            f"{MH}/e:OtherInfo/e:PageAmount",
        ):
            set_text(root, path, "")

    msg = parse_document(mutate(cong_van, empty))
    assert (msg.due_date, msg.steering_type, msg.other_info.page_amount) == (None, None, None)
    assert msg.priority is Priority.NORMAL


def test_structured_code_in_response_for_is_accepted(status_01: bytes) -> None:
    def structure(root: etree._Element) -> None:
        code = find(root, f"{MH}/e:ResponseFor/e:Code")
        code.text = None
        etree.SubElement(code, f"{{{NS}}}CodeNumber").text = "7816"
        etree.SubElement(code, f"{{{NS}}}CodeNotation").text = "VPCP-TTĐT"

    assert parse_status(mutate(status_01, structure)).response_for.code == "7816/VPCP-TTĐT"


def test_replacement_list_and_structured_document_info_are_read(cong_van: bytes) -> None:
    def replace(root: etree._Element) -> None:
        set_text(root, ".//e:Bussiness/e:BussinessDocType", "3")
        info = find(root, ".//e:Bussiness/e:BussinessDocumentInfo")
        etree.SubElement(info, f"{{{NS}}}DocumentInfo").text = " Thay thế toàn văn "
        etree.SubElement(info, f"{{{NS}}}DocumentReceiver").text = "1"
        replaced = find(root, ".//e:Bussiness/e:ReplacementInfoList")
        item = etree.SubElement(replaced, f"{{{NS}}}ReplacementInfo")
        etree.SubElement(
            item, f"{{{NS}}}DocumentId"
        ).text = "000.00.00.G22,2024/03/01,7000/VPCP-TTĐT"
        etree.SubElement(item, f"{{{NS}}}OrganIdList")
        ref = etree.SubElement(find(root, MH), f"{{{NS}}}ResponseFor")
        for tag, text in (
            ("OrganId", "000.00.00.G22"),
            ("Code", "7000/VPCP-TTĐT"),
            ("PromulgationDate", "2024/03/01"),
            ("DocumentId", "000.00.00.G22,2024/03/01,7000/VPCP-TTĐT"),
        ):
            etree.SubElement(ref, f"{{{NS}}}{tag}").text = text

    msg = parse_document(mutate(cong_van, replace))
    assert msg.business_type is BusinessType.REPLACE
    assert msg.bussiness.bussiness_document_info == "Thay thế toàn văn 1"
    assert msg.bussiness.replacement_info_list == ("000.00.00.G22,2024/03/01,7000/VPCP-TTĐT",)
    assert msg.response_for[0].promulgation_date == date(2024, 3, 1)


def test_decomposed_vietnamese_is_read_as_nfc(cong_van: bytes) -> None:
    nfd = unicodedata.normalize("NFD", "Văn phòng Chính phủ")
    data = cong_van.replace("Văn phòng Chính phủ".encode(), nfd.encode(), 1)
    assert data != cong_van
    assert parse_document(data).from_.organ_name == "Văn phòng Chính phủ"


def test_tree_variant_reads_an_already_parsed_tree(cong_van: bytes) -> None:
    root = parse_xml(cong_van)
    assert message_from_tree(root) == parse_message(cong_van)
