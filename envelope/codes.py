"""edXML code lists and value formats: status codes, priorities, document types, dates."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Final

from envelope.errors import InvalidEnvelope

#: Vietnam time; no daylight saving since 1975, so a fixed offset is exact.
VN_TZ: Final = timezone(timedelta(hours=7), "ICT")

# re.ASCII: \d must not accept other scripts' digits (e.g. Arabic-Indic) in a code.
AGENCY_CODE_RE: Final = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$", re.ASCII)

_DATE_RE: Final = re.compile(r"^(\d{4})/(\d{2})/(\d{2})$", re.ASCII)
_TIMESTAMP_RE: Final = re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})$", re.ASCII)


class StatusCode(StrEnum):
    """Processing status carried by an edXML status message."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    HANDLING = "05"
    COMPLETED = "06"
    TAKEN_BACK = "13"
    REVOKE_AGREED = "15"
    REVOKE_REFUSED = "16"


#: (Vietnamese, English) label of each status code.
STATUS_LABELS: Final[dict[StatusCode, tuple[str, str]]] = {
    StatusCode.ARRIVED: ("Đã đến", "Arrived"),
    StatusCode.REFUSED: ("Từ chối tiếp nhận", "Refused"),
    StatusCode.ACCEPTED: ("Đã tiếp nhận", "Accepted"),
    StatusCode.ASSIGNED: ("Phân công", "Assigned for handling"),
    StatusCode.HANDLING: ("Đang xử lý", "Being handled"),
    StatusCode.COMPLETED: ("Hoàn thành", "Handling completed"),
    StatusCode.TAKEN_BACK: ("Lấy lại", "Taken back by the sender"),
    StatusCode.REVOKE_AGREED: (
        "Đồng ý thu hồi/cập nhật/thay thế",
        "Revoke/update/replace agreed",
    ),
    StatusCode.REVOKE_REFUSED: (
        "Từ chối thu hồi/cập nhật/thay thế",
        "Revoke/update/replace refused",
    ),
}


class BusinessType(IntEnum):
    """BussinessDocType: what the message does to the document."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


#: (Vietnamese, English) label of each business type.
BUSINESS_TYPE_LABELS: Final[dict[BusinessType, tuple[str, str]]] = {
    BusinessType.NEW: ("Văn bản mới", "New document"),
    BusinessType.REVOKE: ("Thu hồi", "Revoke"),
    BusinessType.UPDATE: ("Cập nhật", "Update"),
    BusinessType.REPLACE: ("Thay thế", "Replace"),
}


class Priority(IntEnum):
    """Urgency of a document (độ khẩn)."""

    NORMAL = 0
    URGENT = 1
    VERY_URGENT = 2
    FLASH = 3
    FLASH_AT_TIME = 4


#: (Vietnamese, English) label of each priority.
PRIORITY_LABELS: Final[dict[Priority, tuple[str, str]]] = {
    Priority.NORMAL: ("Thường", "Normal"),
    Priority.URGENT: ("Khẩn", "Urgent"),
    Priority.VERY_URGENT: ("Thượng khẩn", "Very urgent"),
    Priority.FLASH: ("Hỏa tốc", "Flash"),
    Priority.FLASH_AT_TIME: ("Hỏa tốc hẹn giờ", "Flash at a set time"),
}


@dataclass(frozen=True, slots=True)
class DocumentTypeInfo:
    """A Decree 30/2020 document type and its symbol abbreviation."""

    abbreviation: str
    name_vi: str
    name_en: str


# Công văn comes first so that its position (used as TypeDetail by
# DocumentType.from_abbreviation) is 0, as in the standard's example "1 / 0 / Công văn".
DOCUMENT_TYPES: Final[tuple[DocumentTypeInfo, ...]] = tuple(
    DocumentTypeInfo(unicodedata.normalize("NFC", a), unicodedata.normalize("NFC", vi), en)
    for a, vi, en in (
        ("", "Công văn", "Official letter"),
        ("NQ", "Nghị quyết", "Resolution"),
        ("QĐ", "Quyết định", "Decision"),
        ("CT", "Chỉ thị", "Directive"),
        ("QC", "Quy chế", "Rules"),
        ("QyĐ", "Quy định", "Regulation"),
        ("TC", "Thông cáo", "Communiqué"),
        ("TB", "Thông báo", "Notice"),
        ("HD", "Hướng dẫn", "Guidance"),
        ("CTr", "Chương trình", "Programme"),
        ("KH", "Kế hoạch", "Plan"),
        ("PA", "Phương án", "Scheme"),
        ("ĐA", "Đề án", "Proposal"),
        ("DA", "Dự án", "Project"),
        ("BC", "Báo cáo", "Report"),
        ("BB", "Biên bản", "Minutes"),
        ("TTr", "Tờ trình", "Submission"),
        ("HĐ", "Hợp đồng", "Contract"),
        ("CĐ", "Công điện", "Official telegram"),
        ("BGN", "Bản ghi nhớ", "Memorandum of understanding"),
        ("BTT", "Bản thỏa thuận", "Agreement"),
        ("GUQ", "Giấy ủy quyền", "Power of attorney"),
        ("GM", "Giấy mời", "Invitation"),
        ("GGT", "Giấy giới thiệu", "Letter of introduction"),
        ("GNP", "Giấy nghỉ phép", "Leave permit"),
        ("PG", "Phiếu gửi", "Dispatch slip"),
        ("PC", "Phiếu chuyển", "Transfer slip"),
        ("PB", "Phiếu báo", "Notification slip"),
    )
)

_TYPES_BY_ABBREVIATION: Final = {t.abbreviation: t for t in DOCUMENT_TYPES}


def document_type_by_abbreviation(abbr: str) -> DocumentTypeInfo:
    """Return the document type for a symbol abbreviation ("" is Công văn); KeyError if unknown."""
    return _TYPES_BY_ABBREVIATION[unicodedata.normalize("NFC", abbr)]


def is_agency_code(s: str) -> bool:
    """Tell whether ``s`` is a well-formed agency code (mã định danh) like 000.00.00.G22."""
    return isinstance(s, str) and AGENCY_CODE_RE.fullmatch(s) is not None


def format_date(d: date) -> str:
    """Format a date as edXML ``yyyy/MM/dd``."""
    # Not strftime: %Y is not zero-padded for years below 1000 on every libc.
    return f"{d.year:04d}/{d.month:02d}/{d.day:02d}"


def parse_date(s: str, *, field: str | None = None) -> date:
    """Parse an edXML ``yyyy/MM/dd`` date, raising InvalidEnvelope(field) if malformed."""
    m = _DATE_RE.fullmatch(s.strip())
    if m is None:
        raise InvalidEnvelope(f"date {s!r} is not yyyy/MM/dd", field=field)
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise InvalidEnvelope(f"date {s!r} does not exist: {exc}", field=field) from None


def format_timestamp(dt: datetime) -> str:
    """Format an aware datetime as edXML ``yyyy/MM/dd HH:mm:ss`` in Vietnam time."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("edXML timestamps need a timezone-aware datetime")
    v = dt.astimezone(VN_TZ)
    return f"{format_date(v)} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"


def parse_timestamp(s: str, *, field: str | None = None) -> datetime:
    """Parse an edXML ``yyyy/MM/dd HH:mm:ss`` timestamp as an aware datetime in VN_TZ."""
    m = _TIMESTAMP_RE.fullmatch(s.strip())
    if m is None:
        raise InvalidEnvelope(f"timestamp {s!r} is not yyyy/MM/dd HH:mm:ss", field=field)
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=VN_TZ)
    except ValueError as exc:
        raise InvalidEnvelope(f"timestamp {s!r} does not exist: {exc}", field=field) from None


def format_document_id(organ_id: str, date: date, code_number: str, code_notation: str) -> str:
    """Compose a DocumentId ``OrganId,yyyy/MM/dd,Number/Notation``."""
    return f"{organ_id},{format_date(date)},{code_number}/{code_notation}"


def parse_document_id(s: str) -> tuple[str, date, str, str]:
    """Split a DocumentId into (organ_id, date, number, notation); InvalidEnvelope if malformed."""
    parts = s.strip().split(",", 2)
    if len(parts) != 3:
        raise InvalidEnvelope(
            f"DocumentId {s!r} is not OrganId,yyyy/MM/dd,Number/Notation", field="DocumentId"
        )
    organ_id, day, code = parts
    if not is_agency_code(organ_id):
        raise InvalidEnvelope(f"DocumentId {s!r} has a bad agency code", field="DocumentId")
    promulgated = parse_date(day, field="DocumentId")
    number, sep, notation = code.partition("/")
    if not sep or not number.strip() or not notation.strip():
        raise InvalidEnvelope(f"DocumentId {s!r} has no Number/Notation", field="DocumentId")
    return organ_id, promulgated, number, notation
