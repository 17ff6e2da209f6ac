"""Property: whatever the builder writes, the parser reads back as the same message."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envelope import (
    VN_TZ,
    Attachment,
    BusinessType,
    Bussiness,
    DocumentCode,
    DocumentMessage,
    DocumentType,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusMessage,
    TraceHeader,
    build_document,
    build_status,
    format_document_id,
    parse_document,
    parse_message,
    parse_status,
)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Vietnamese in decomposed (NFD) and mixed forms, as older systems and keyboards send it.
VIETNAMESE = [
    unicodedata.normalize("NFD", "Nghệ An"),
    unicodedata.normalize("NFD", "Thành phố Hồ Chí Minh"),
    "Quy\u0301 ba\u0300 Đa\u0300 Na\u0303ng",
    "Hỏa tốc",
    "Thượng khẩn",
    "\u0301",  # a lone combining mark
]

# Any character XML 1.0 can carry: no surrogates, no C0 controls but tab, LF, CR.
xml_char = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"
) | st.sampled_from("\t\n\r")
text = st.one_of(
    st.text(xml_char, max_size=30),
    st.lists(st.sampled_from(VIETNAMESE), max_size=3).map(" ".join),
)
non_blank = text.filter(lambda s: s.strip() != "")
digits = st.text("0123456789", min_size=1, max_size=1)


@st.composite
def agency_codes(draw: st.DrawFn) -> str:
    """A well-formed agency code like 000.00.10.H47."""
    d = lambda n: "".join(draw(digits) for _ in range(n))  # noqa: E731
    letter = draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return f"{d(3)}.{d(2)}.{d(2)}.{letter}{d(2)}"


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
moments = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30)).flatmap(
    lambda naive: st.sampled_from(
        [VN_TZ, UTC, timezone(timedelta(hours=-5, minutes=-30))]
    ).map(lambda tz: naive.replace(tzinfo=tz))
)
numbers = st.none() | st.integers(0, 999_999_999)
code_numbers = st.from_regex(r"[0-9]{1,6}", fullmatch=True)
notations = st.from_regex(r"[A-ZĐ][A-Za-zĐđ0-9]{0,6}(-[A-ZĐ]{1,6}){0,2}", fullmatch=True)


@st.composite
def organizations(draw: st.DrawFn, *, named: bool = True) -> Organization:
    """An agency with random (Vietnamese-heavy) contact details."""
    return Organization(
        organ_id=draw(agency_codes()),
        organ_name=draw(non_blank if named else text),
        organization_in_charge=draw(text),
        organ_add=draw(text),
        email=draw(text),
        telephone=draw(text),
        fax=draw(text),
        website=draw(text),
    )


@st.composite
def references(draw: st.DrawFn) -> ResponseFor:
    """A ResponseFor pointing at some earlier document."""
    organ, day = draw(agency_codes()), draw(dates)
    number, notation = draw(code_numbers), draw(notations)
    return ResponseFor(
        organ_id=organ,
        code=f"{number}/{notation}",
        promulgation_date=day,
        document_id=format_document_id(organ, day, number, notation),
    )


staff = st.builds(StaffInfo, text, text, text, text)


@st.composite
def attachment_lists(draw: st.DrawFn) -> tuple[Attachment, ...]:
    """Zero to three attachments with random names and bytes."""
    count = draw(st.integers(0, 3))
    return tuple(
        Attachment(
            content_id=f"cid:{i}",
            name=draw(non_blank),
            content_type=draw(text),
            data=draw(st.binary(max_size=3000)),
            description=draw(text),
        )
        for i in range(1, count + 1)
    )


@st.composite
def documents(draw: st.DrawFn) -> DocumentMessage:
    """A valid document message with every optional part sometimes present."""
    kind = draw(st.sampled_from(BusinessType))
    refs = draw(st.lists(references(), min_size=0 if kind is BusinessType.NEW else 1, max_size=2))
    return DocumentMessage.new(
        from_=draw(organizations()),
        to=draw(st.lists(organizations(named=False), min_size=1, max_size=3)),
        code=DocumentCode(draw(code_numbers), draw(notations)),
        promulgation=PromulgationInfo(draw(text), draw(dates)),
        document_type=DocumentType(draw(st.integers(0, 9)), draw(st.integers(0, 40)), draw(text)),
        subject=draw(non_blank),
        content=draw(text),
        signer=draw(st.none() | st.builds(SignerInfo, text, text, text)),
        due_date=draw(st.none() | dates),
        to_places=draw(st.lists(text, max_size=3)),
        other_info=OtherInfo(
            priority=draw(st.sampled_from(Priority)),
            sphere_of_promulgation=draw(text),
            typer_notation=draw(text),
            promulgation_amount=draw(numbers),
            page_amount=draw(numbers),
            direction=draw(text),
            appendixes=tuple(draw(st.lists(text, max_size=3))),
        ),
        response_for=refs,
        steering_type=draw(numbers),
        trace_headers=[
            TraceHeader(draw(agency_codes()), draw(moments)) for _ in range(draw(st.integers(1, 3)))
        ],
        bussiness=Bussiness(
            bussiness_doc_type=kind,
            bussiness_doc_reason=draw(text),
            paper=draw(st.integers(0, 1)),
            staff_info=draw(st.none() | staff),
            bussiness_document_info=draw(text),
            replacement_info_list=tuple(
                r.document_id for r in draw(st.lists(references(), max_size=2))
            ),
        ),
        attachments=draw(attachment_lists()),
    )


@st.composite
def statuses(draw: st.DrawFn) -> StatusMessage:
    """A valid status message."""
    code = draw(st.sampled_from(StatusCode))
    return StatusMessage(
        from_=draw(organizations()),
        response_for=draw(references()),
        staff_info=draw(staff),
        status_code=code,
        description=draw(non_blank if code is StatusCode.REFUSED else text),
        timestamp=draw(moments),
        trace_headers=tuple(
            TraceHeader(draw(agency_codes()), draw(moments)) for _ in range(draw(st.integers(0, 2)))
        ),
    )


def _with_bytes(msg: DocumentMessage) -> DocumentMessage:
    """The message with parsed attachments decoded, comparable to what was built."""
    return dataclasses.replace(
        msg,
        attachments=tuple(
            a.to_attachment() if not isinstance(a, Attachment) else a for a in msg.attachments
        ),
    )


@PROPERTY
@given(documents())
def test_built_document_parses_back_to_the_same_message(msg: DocumentMessage) -> None:
    parsed = parse_document(build_document(msg))
    assert _with_bytes(parsed) == msg
    for built, read in zip(msg.attachments, parsed.attachments, strict=True):
        assert (read.size, read.sha256) == (built.size, built.sha256)


@PROPERTY
@given(documents())
def test_rebuilding_a_parsed_document_gives_identical_bytes(msg: DocumentMessage) -> None:
    data = build_document(msg)
    assert build_document(parse_document(data)) == data


@PROPERTY
@given(statuses())
def test_built_status_parses_back_to_the_same_message(msg: StatusMessage) -> None:
    data = build_status(msg)
    assert parse_status(data) == msg
    assert parse_message(data) == msg


@PROPERTY
@given(st.lists(st.sampled_from(VIETNAMESE), min_size=1, max_size=4).map(" ".join))
def test_vietnamese_text_travels_in_nfc(name: str) -> None:
    org = Organization("000.00.00.H41", name)
    assert unicodedata.is_normalized("NFC", org.organ_name)
    status = StatusMessage.new(
        from_=org,
        response_for=ResponseFor(
            "000.00.00.G22", "1/TB", date(2024, 1, 1), "000.00.00.G22,2024/01/01,1/TB"
        ),
        status_code=StatusCode.REFUSED,
        description=name,
    )
    data = build_status(status)
    assert unicodedata.normalize("NFC", name).encode() in data
    parsed = parse_status(data)
    assert parsed.from_.organ_name == unicodedata.normalize("NFC", name)
    assert parsed.description == parsed.from_.organ_name
