"""Shared fixtures for the edXML tests: sample files and a message factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from envelope import (
    VN_TZ,
    Attachment,
    DocumentCode,
    DocumentMessage,
    DocumentType,
    Organization,
    PromulgationInfo,
)
from tests.envelope.sample_messages import CONG_VAN, REVOKE, STATUS_01, read_sample


@pytest.fixture
def cong_van() -> bytes:
    """The Công văn sample: G22 to H29 and H41, two attachments."""
    return read_sample(CONG_VAN)


@pytest.fixture
def status_01() -> bytes:
    """The status 01 (arrived) sample."""
    return read_sample(STATUS_01)


@pytest.fixture
def revoke() -> bytes:
    """The revoke (BussinessDocType 1) sample with a ResponseFor."""
    return read_sample(REVOKE)


@pytest.fixture
def make_document() -> Callable[..., DocumentMessage]:
    """Factory for a valid document message; keyword arguments override fields of ``new``."""

    def make(**overrides: Any) -> DocumentMessage:
        fields: dict[str, Any] = {
            "from_": Organization("000.00.00.G22", "Văn phòng Chính phủ"),
            "to": (
                Organization("000.00.00.H29", "UBND Thành phố Hồ Chí Minh"),
                Organization("000.00.00.H41", "UBND tỉnh Nghệ An"),
            ),
            "code": DocumentCode("12", "QĐ-UBND"),
            "promulgation": PromulgationInfo("Hà Nội", date(2024, 1, 5)),
            "document_type": DocumentType.from_abbreviation("QĐ"),
            "subject": "Về việc phê duyệt kế hoạch",
            "attachments": (
                Attachment("cid:1", "quyết định.pdf", "application/pdf", b"%PDF-1.7 body"),
                Attachment("cid:2", "phụ lục.docx", "application/octet-stream", b"\x00\x01\x02"),
            ),
            "sent_at": datetime(2024, 1, 5, 8, 0, 0, tzinfo=VN_TZ),
        }
        fields.update(overrides)
        return DocumentMessage.new(**fields)

    return make
