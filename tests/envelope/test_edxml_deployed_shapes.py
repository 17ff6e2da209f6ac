"""edXML as deployed software writes it parses; what differs from the standard is noted, not refused."""

from __future__ import annotations

import pytest
from lxml import etree

from envelope import InvalidEnvelope, parse_document
from envelope.validation import document_notes
from tests.envelope.sample_messages import NS, find, mutate, remove, set_text

MH = ".//e:MessageHeader"


def test_uuid_document_id_is_accepted_and_noted(cong_van: bytes) -> None:
    doc = parse_document(mutate(cong_van, lambda r: set_text(r, f"{MH}/e:DocumentId",
                                                            "5f0c3a52-8d2e-4b8e-9a43-0d3c1e7a9b10")))
    assert doc.document_id == "5f0c3a52-8d2e-4b8e-9a43-0d3c1e7a9b10"
    assert document_notes(doc) == ["DocumentId is not in the OrganId,yyyy/MM/dd,Number/Notation form"]


def test_document_id_of_another_day_and_number_is_accepted_and_noted(cong_van: bytes) -> None:
    doc = parse_document(mutate(cong_van, lambda r: set_text(r, f"{MH}/e:DocumentId",
                                                            "000.00.00.G22,2024/03/16,7817/VPCP-TTĐT")))
    assert document_notes(doc) == ["DocumentId date differs from PromulgationDate",
                                   "DocumentId Number/Notation differs from Code"]


def test_the_standard_shape_has_no_notes(cong_van: bytes) -> None:
    assert document_notes(parse_document(cong_van)) == []


@pytest.mark.parametrize("document_id", ["000.00.00.H29,2024/03/15,7816/VPCP-TTĐT", " 000.00.00.H29-5f0c3a52"])
def test_document_id_naming_another_agency_is_refused(cong_van: bytes, document_id: str) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        parse_document(mutate(cong_van, lambda r: set_text(r, f"{MH}/e:DocumentId", document_id)))
    assert err.value.field == "MessageHeader/DocumentId"


def test_empty_response_for_is_absent(cong_van: bytes) -> None:
    def add_empty(root: etree._Element) -> None:
        find(root, f"{MH}/e:Subject").addprevious(etree.Element(f"{{{NS}}}ResponseFor"))
        find(root, f"{MH}/e:Subject").addprevious(etree.fromstring(f'<x:ResponseFor xmlns:x="{NS}">  </x:ResponseFor>'))

    assert parse_document(mutate(cong_van, add_empty)).response_for == ()


def test_trace_header_codes_in_other_formats_are_history(cong_van: bytes) -> None:
    doc = parse_document(mutate(cong_van, lambda r: set_text(r, ".//e:TraceHeader/e:OrganId", "VPCP")))
    assert doc.trace_headers[0].organ_id == "VPCP"
    assert document_notes(doc) == ["TraceHeader[1] OrganId 'VPCP' is not an agency code"]


def test_missing_type_detail_reads_as_zero(cong_van: bytes) -> None:
    doc = parse_document(mutate(cong_van, lambda r: remove(r, f"{MH}/e:DocumentType/e:TypeDetail")))
    assert doc.document_type.type_detail == 0


def test_trace_header_without_organ_id_is_history_too(cong_van: bytes) -> None:
    doc = parse_document(mutate(cong_van, lambda r: remove(r, ".//e:TraceHeader/e:OrganId")))
    assert doc.trace_headers[0].organ_id == ""
    assert document_notes(doc) == ["TraceHeader[1] OrganId '' is not an agency code"]
