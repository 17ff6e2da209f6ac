"""Hand-written messages in the real QCVN 102:2016 layout parse into the expected model."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime

from envelope import (
    VN_TZ,
    BusinessType,
    DocumentMessage,
    Priority,
    StatusCode,
    StatusMessage,
    parse_document,
    parse_message,
    parse_status,
)

PDF_BYTES = base64.b64decode("JVBERi0xLjQKJSBDw7RuZyB2xINuIDc4MTYvVlBDUC1UVMSQVAolJUVPRgo=")


def test_cong_van_header_fields_are_read(cong_van: bytes) -> None:
    msg = parse_document(cong_van)
    assert msg.from_.organ_id == "000.00.00.G22"
    assert msg.from_.organ_name == "Văn phòng Chính phủ"
    assert msg.from_.organization_in_charge == "Chính phủ"
    assert msg.from_.website == "chinhphu.vn"
    assert msg.recipient_codes == ("000.00.00.H29", "000.00.00.H41")
    assert msg.to[0].organ_name == "Ủy ban nhân dân Thành phố Hồ Chí Minh"
    assert msg.to[1].organ_add == ""  # absent optional children read as empty
    assert msg.document_id == "000.00.00.G22,2024/03/15,7816/VPCP-TTĐT"
    assert (msg.code.code_number, msg.code.code_notation) == ("7816", "VPCP-TTĐT")
    assert str(msg.code) == "7816/VPCP-TTĐT"
    assert msg.promulgation.place == "Hà Nội"
    assert msg.promulgation.promulgation_date == date(2024, 3, 15)
    assert (msg.document_type.type, msg.document_type.type_detail) == (1, 0)
    assert msg.document_type.type_name == "Công văn"
    assert msg.subject == "V/v triển khai Trục liên thông văn bản quốc gia"
    assert msg.content.startswith("Đề nghị các cơ quan")
    assert msg.signer is not None and msg.signer.full_name == "Nguyễn Văn Thành"
    assert msg.due_date == date(2024, 4, 30)
    assert msg.to_places == ("Như trên", "Lưu: VT, TTĐT")
    assert msg.steering_type == 1


def test_cong_van_other_info_and_trace_are_read(cong_van: bytes) -> None:
    msg = parse_document(cong_van)
    assert msg.priority is Priority.URGENT
    assert msg.other_info.sphere_of_promulgation == "Toàn quốc"
    assert msg.other_info.promulgation_amount == 65
    assert msg.other_info.page_amount == 2
    assert msg.other_info.appendixes == ("Danh sách cơ quan kết nối",)
    assert msg.response_for == ()
    assert [(t.organ_id, t.timestamp) for t in msg.trace_headers] == [
        ("000.00.00.G22", datetime(2024, 3, 15, 9, 30, tzinfo=VN_TZ))
    ]
    assert msg.business_type is BusinessType.NEW
    assert msg.bussiness.staff_info is not None
    assert msg.bussiness.staff_info.staff == "Trần Thị Hương"


def test_cong_van_attachments_are_measured_and_decoded(cong_van: bytes) -> None:
    first, second = parse_document(cong_van).attachments
    assert (first.content_id, first.name) == ("cid:1", "7816-VPCP-TTĐT.pdf")
    assert first.content_type == "application/pdf"
    assert first.description == "Văn bản chính"
    assert first.size == len(PDF_BYTES)
    assert first.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert first.data() == PDF_BYTES
    # The second attachment's base64 is split over lines, MIME style.
    assert second.name == "Phụ lục danh sách.bin"
    assert second.data() == bytes(range(256)) * 2
    assert second.size == 512
    assert second.sha256 == hashlib.sha256(bytes(range(256)) * 2).hexdigest()


def test_status_01_sample_is_a_delivery_receipt(status_01: bytes) -> None:
    msg = parse_status(status_01)
    assert msg.status_code is StatusCode.ARRIVED
    assert msg.from_.organ_id == "000.00.00.H41"
    assert msg.response_for.document_id == "000.00.00.G22,2024/03/15,7816/VPCP-TTĐT"
    assert msg.response_for.organ_id == "000.00.00.G22"
    assert msg.response_for.code == "7816/VPCP-TTĐT"
    assert msg.response_for.promulgation_date == date(2024, 3, 15)
    assert msg.staff_info.staff == "Lê Văn Đức"
    assert msg.description == "Đã đến"
    assert msg.timestamp == datetime(2024, 3, 15, 9, 31, 7, tzinfo=VN_TZ)
    assert msg.timestamp.tzinfo is VN_TZ
    assert [t.organ_id for t in msg.trace_headers] == ["000.00.00.H41"]


def test_revoke_sample_refers_to_the_earlier_decision(revoke: bytes) -> None:
    msg = parse_document(revoke)
    assert msg.business_type is BusinessType.REVOKE
    assert msg.bussiness.bussiness_doc_reason == "Ban hành sai thẩm quyền"
    assert msg.priority is Priority.VERY_URGENT
    assert msg.from_.organ_id == "001.00.00.H47"
    assert msg.recipient_codes == ("001.00.10.H47",)
    (ref,) = msg.response_for
    assert ref.document_id == "001.00.00.H47,2024/05/02,198/QĐ-UBND"
    assert ref.code == "198/QĐ-UBND"
    assert ref.promulgation_date == date(2024, 5, 2)
    (att,) = msg.attachments
    assert att.data().decode() == "Quyết định thu hồi"


def test_revoke_sample_signature_element_is_ignored_while_reading(revoke: bytes) -> None:
    # The sample carries a (dummy) ds:Signature after TraceHeaderList, where signing puts it.
    assert b"ds:Signature" in revoke
    assert parse_document(revoke).document_id.startswith("001.00.00.H47,")


def test_parse_message_tells_documents_from_statuses(
    cong_van: bytes, status_01: bytes, revoke: bytes
) -> None:
    assert isinstance(parse_message(cong_van), DocumentMessage)
    assert isinstance(parse_message(revoke), DocumentMessage)
    assert isinstance(parse_message(status_01), StatusMessage)
