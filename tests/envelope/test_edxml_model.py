"""The message model: frozen, NFC text, derived DocumentId and convenient properties."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from envelope import (
    VN_TZ,
    BusinessType,
    Bussiness,
    DocumentMessage,
    Organization,
    OtherInfo,
    Priority,
    ResponseFor,
    StatusCode,
    StatusMessage,
    TraceHeader,
)

MakeDocument = Callable[..., DocumentMessage]


def test_messages_are_frozen(make_document: MakeDocument) -> None:
    msg = make_document()
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.subject = "x"  # type: ignore[misc]
    hash(msg)  # hashable: lists given to new() became tuples


def test_text_is_normalised_to_nfc_on_construction() -> None:
    nfd = unicodedata.normalize("NFD", "Ủy ban nhân dân tỉnh Nghệ An")
    org = Organization("000.00.00.H41", nfd, organ_add=nfd)
    assert org.organ_name == unicodedata.normalize("NFC", nfd)
    assert unicodedata.is_normalized("NFC", org.organ_add)
    info = OtherInfo(appendixes=[nfd])  # type: ignore[arg-type]
    assert info.appendixes == (unicodedata.normalize("NFC", nfd),)


def test_new_derives_document_id_and_a_sender_trace_header(make_document: MakeDocument) -> None:
    msg = make_document()
    assert msg.document_id == "000.00.00.G22,2024/01/05,12/QĐ-UBND"
    assert msg.trace_headers == (
        TraceHeader("000.00.00.G22", datetime(2024, 1, 5, 8, 0, tzinfo=VN_TZ)),
    )


def test_properties_expose_business_type_priority_and_recipients(
    make_document: MakeDocument,
) -> None:
    earlier = make_document()
    msg = make_document(
        other_info=OtherInfo(priority=Priority.FLASH),
        bussiness=Bussiness(BusinessType.REVOKE, "Sai sót"),
        response_for=[ResponseFor.to_document(earlier)],
    )
    assert msg.priority is Priority.FLASH
    assert msg.business_type is BusinessType.REVOKE
    assert msg.recipient_codes == ("000.00.00.H29", "000.00.00.H41")
    assert msg.response_for[0].document_id == earlier.document_id
    assert msg.response_for[0].code == "12/QĐ-UBND"


def test_plain_ints_become_code_list_members() -> None:
    assert OtherInfo(priority=2).priority is Priority.VERY_URGENT  # type: ignore[arg-type]
    assert Bussiness(3).bussiness_doc_type is BusinessType.REPLACE  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        OtherInfo(priority=9)  # type: ignore[arg-type]


def test_timestamps_are_kept_as_they_travel() -> None:
    th = TraceHeader("000.00.00.G22", datetime(2024, 1, 1, 1, 0, 0, 123456, tzinfo=UTC))
    assert th.timestamp == datetime(2024, 1, 1, 8, 0, tzinfo=VN_TZ)
    assert th.timestamp.tzinfo is VN_TZ
    with pytest.raises(ValueError):
        TraceHeader("000.00.00.G22", datetime(2024, 1, 1))


def test_status_new_stamps_now_and_traces_the_sender(make_document: MakeDocument) -> None:
    before = datetime.now(VN_TZ).replace(microsecond=0)
    status = StatusMessage.new(
        from_=Organization("000.00.00.H29", "UBND TP Hồ Chí Minh"),
        response_for=ResponseFor.to_document(make_document()),
        status_code="03",  # type: ignore[arg-type]
    )
    assert status.status_code is StatusCode.ACCEPTED
    assert status.timestamp >= before
    assert status.trace_headers == (TraceHeader("000.00.00.H29", status.timestamp),)
    assert status.response_for.promulgation_date == date(2024, 1, 5)
