"""Code lists and value formats follow QCVN 102:2016 and Decree 30/2020."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from envelope import (
    AGENCY_CODE_RE,
    DOCUMENT_TYPES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    VN_TZ,
    BusinessType,
    DocumentType,
    InvalidEnvelope,
    Priority,
    StatusCode,
    document_type_by_abbreviation,
    format_date,
    format_document_id,
    format_timestamp,
    is_agency_code,
    parse_date,
    parse_document_id,
    parse_timestamp,
)


def test_status_codes_have_the_standard_values_and_both_labels() -> None:
    assert [s.value for s in StatusCode] == ["01", "02", "03", "04", "05", "06", "13", "15", "16"]
    assert StatusCode("01") is StatusCode.ARRIVED
    assert StatusCode.REVOKE_REFUSED == "16"
    assert set(STATUS_LABELS) == set(StatusCode)
    assert STATUS_LABELS[StatusCode.REFUSED] == ("Từ chối tiếp nhận", "Refused")
    assert all(vi and en for vi, en in STATUS_LABELS.values())


def test_business_types_and_priorities_have_the_standard_numbers() -> None:
    assert [(b.name, int(b)) for b in BusinessType] == [
        ("NEW", 0),
        ("REVOKE", 1),
        ("UPDATE", 2),
        ("REPLACE", 3),
    ]
    assert [int(p) for p in Priority] == [0, 1, 2, 3, 4]
    assert [PRIORITY_LABELS[p][0] for p in Priority] == [
        "Thường",
        "Khẩn",
        "Thượng khẩn",
        "Hỏa tốc",
        "Hỏa tốc hẹn giờ",
    ]


def test_decree_30_document_types_are_listed_with_their_abbreviations() -> None:
    assert len(DOCUMENT_TYPES) == 28
    assert document_type_by_abbreviation("").name_vi == "Công văn"
    assert document_type_by_abbreviation("QĐ").name_vi == "Quyết định"
    assert document_type_by_abbreviation("QyĐ").name_vi == "Quy định"
    assert document_type_by_abbreviation("CTr").name_en == "Programme"
    # Abbreviations typed in decomposed form still match.
    assert document_type_by_abbreviation(unicodedata.normalize("NFD", "CĐ")).name_vi == "Công điện"
    abbreviations = [t.abbreviation for t in DOCUMENT_TYPES]
    assert len(set(abbreviations)) == len(abbreviations)


def test_unknown_document_type_abbreviation_raises_key_error() -> None:
    with pytest.raises(KeyError):
        document_type_by_abbreviation("XYZ")


def test_document_type_from_abbreviation_numbers_cong_van_zero() -> None:
    assert DocumentType.from_abbreviation("") == DocumentType(1, 0, "Công văn")
    assert DocumentType.from_abbreviation("QĐ") == DocumentType(1, 2, "Quyết định")


@pytest.mark.parametrize(
    "code", ["000.00.00.G22", "000.00.00.H29", "001.00.10.H47", "999.99.99.Z99"]
)
def test_well_formed_agency_codes_are_recognised(code: str) -> None:
    assert is_agency_code(code)
    assert AGENCY_CODE_RE.match(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "000.00.00.g22",
        "00.00.00.G22",
        "000.00.00.G22\n",
        "000-00-00-G22",
        "\u0660\u0660\u0660.\u0660\u0660.\u0660\u0660.G\u0662\u0662",  # Arabic-Indic digits
        "000.00.00.Đ22",
    ],
)
def test_malformed_agency_codes_are_rejected(code: str) -> None:
    assert not is_agency_code(code)


def test_dates_use_slashes_and_zero_padding() -> None:
    assert format_date(date(2024, 3, 5)) == "2024/03/05"
    assert format_date(date(999, 1, 1)) == "0999/01/01"
    assert parse_date("2024/03/05") == date(2024, 3, 5)


@pytest.mark.parametrize(
    "text", ["2024-03-05", "2024/3/5", "05/03/2024", "2023/02/29", "", "2024/03/05 10:00:00"]
)
def test_malformed_dates_are_refused_with_the_field(text: str) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        parse_date(text, field="MessageHeader/DueDate")
    assert err.value.field == "MessageHeader/DueDate"


def test_timestamps_are_written_in_vietnam_time() -> None:
    utc = datetime(2024, 12, 31, 20, 15, 9, tzinfo=UTC)
    assert format_timestamp(utc) == "2025/01/01 03:15:09"
    parsed = parse_timestamp("2025/01/01 03:15:09")
    assert parsed == utc
    assert parsed.utcoffset() == timedelta(hours=7)
    assert parsed.tzinfo is VN_TZ


def test_naive_timestamps_are_not_guessed() -> None:
    with pytest.raises(ValueError):
        format_timestamp(datetime(2024, 1, 1, 8, 0))


@pytest.mark.parametrize(
    "text", ["2024/01/01 8:00:00", "2024/01/01T08:00:00", "2024/01/01 08:00:60", "2024/01/01"]
)
def test_malformed_timestamps_are_refused(text: str) -> None:
    with pytest.raises(InvalidEnvelope):
        parse_timestamp(text, field="MessageHeader/Timestamp")


def test_document_id_is_formatted_and_split() -> None:
    doc_id = format_document_id("000.00.00.G22", date(2016, 3, 31), "7816", "VPCP-TTĐT")
    assert doc_id == "000.00.00.G22,2016/03/31,7816/VPCP-TTĐT"
    assert parse_document_id(doc_id) == ("000.00.00.G22", date(2016, 3, 31), "7816", "VPCP-TTĐT")


def test_document_id_notation_may_itself_contain_a_slash() -> None:
    assert parse_document_id("000.00.00.H41,2024/01/02,5/QĐ/UBND")[3] == "QĐ/UBND"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "000.00.00.G22",
        "000.00.00.G22,2016/03/31",
        "G22,2016/03/31,7816/VPCP",
        "000.00.00.G22,2016-03-31,7816/VPCP",
        "000.00.00.G22,2016/03/31,7816",
        "000.00.00.G22,2016/03/31,/VPCP",
        "000.00.00.G22,2016/03/31,7816/",
    ],
)
def test_malformed_document_ids_are_refused(text: str) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        parse_document_id(text)
    assert err.value.field == "DocumentId"
