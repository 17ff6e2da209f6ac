"""The one catalogue of web UI strings: Vietnamese first, with their English twins."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from envelope.codes import (
    BUSINESS_TYPE_LABELS,
    DOCUMENT_TYPES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    VN_TZ,
    BusinessType,
    Priority,
    StatusCode,
)

LANGUAGES: Final = ("vi", "en")
DEFAULT_LANGUAGE: Final = "vi"

#: key → (Vietnamese, English). Placeholders are str.format fields.
CATALOGUE: Final[Mapping[str, tuple[str, str]]] = {
    # frame
    "app.name": ("Trục liên thông văn bản quốc gia", "National Document Axis"),
    "app.short": ("Trục liên thông", "Document Axis"),
    "nav.inbox": ("Văn bản đến", "Inbox"),
    "nav.outbox": ("Văn bản đi", "Outbox"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.admin": ("Quản trị", "Administration"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "nav.language": ("Ngôn ngữ", "Language"),
    "nav.switch_to": ("English", "Tiếng Việt"),
    "nav.skip": ("Bỏ qua, tới nội dung chính", "Skip to main content"),
    "nav.signed_in_as": ("Đăng nhập: {login} ({role})", "Signed in: {login} ({role})"),
    "role.clerk": ("Văn thư", "Clerk"),
    "role.archivist": ("Lưu trữ", "Archivist"),
    "role.operator": ("Vận hành", "Operator"),
    "footer.text": ("Trục liên thông văn bản quốc gia — chuẩn edXML QCVN 102:2016",
                    "National Document Axis — edXML QCVN 102:2016"),
    # login
    "login.title": ("Đăng nhập", "Sign in"),
    "login.login": ("Tên đăng nhập", "Login"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Sign in"),
    "login.failed": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong login or password."),
    "login.locked": (
        "Đăng nhập sai quá nhiều lần. Tài khoản tạm khóa đến {until}; vui lòng thử lại sau.",
        "Too many failed sign-ins. Locked until {until}; please try again later.",
    ),
    "login.intro": ("Dành cho cán bộ văn thư, lưu trữ và vận hành của các cơ quan.",
                    "For clerks, archivists and operators of the member agencies."),
    "logout.title": ("Đăng xuất", "Log out"),
    "logout.confirm": ("Bạn muốn đăng xuất?", "Do you want to log out?"),
    "logout.done": ("Bạn đã đăng xuất.", "You have logged out."),
    # errors
    "error.title": ("Lỗi", "Error"),
    "error.400": ("Yêu cầu không hợp lệ.", "Bad request."),
    "error.403": ("Bạn không có quyền truy cập trang này.", "You are not allowed to see this page."),
    "error.404": ("Không tìm thấy trang hoặc văn bản.", "Page or document not found."),
    "error.405": ("Phương thức không được phép.", "Method not allowed."),
    "error.413": ("Dữ liệu gửi lên quá lớn.", "Request too large."),
    "error.429": ("Quá nhiều yêu cầu. Vui lòng thử lại sau.", "Too many requests. Please try again later."),
    "error.500": ("Lỗi hệ thống; sự cố đã được ghi lại.", "Internal error; it has been logged."),
    "error.503": ("Hệ thống tạm thời không phục vụ được; vui lòng thử lại sau.",
                  "The service is temporarily unavailable; please try again later."),
    "error.csrf": ("Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã bảo vệ CSRF). Vui lòng tải lại trang.",
                   "The form has expired or is invalid (missing CSRF token). Please reload the page."),
    "error.back": ("Về trang văn bản đến", "Back to the inbox"),
    # lists
    "list.inbox_title": ("Văn bản đến ({count})", "Inbox ({count})"),
    "list.outbox_title": ("Văn bản đi ({count})", "Outbox ({count})"),
    "list.of_agency": ("Cơ quan: {name} ({code})", "Agency: {name} ({code})"),
    "list.number": ("Số, ký hiệu", "Number/symbol"),
    "list.type": ("Loại văn bản", "Type"),
    "list.subject": ("Trích yếu", "Subject"),
    "list.sender": ("Nơi gửi", "From"),
    "list.recipients": ("Nơi nhận", "To"),
    "list.priority": ("Độ khẩn", "Priority"),
    "list.received": ("Thời gian nhận", "Received"),
    "list.sent": ("Thời gian gửi", "Sent"),
    "list.state": ("Trạng thái", "State"),
    "list.empty": ("Không có văn bản nào.", "No documents."),
    "list.page": ("Trang {page}/{pages}", "Page {page} of {pages}"),
    "list.previous": ("« Trang trước", "« Previous"),
    "list.next": ("Trang sau »", "Next »"),
    "list.more_recipients": ("và {n} nơi khác", "and {n} more"),
    "filter.title": ("Lọc văn bản", "Filter"),
    "filter.date_from": ("Từ ngày", "From date"),
    "filter.date_to": ("Đến ngày", "To date"),
    "filter.counterpart_in": ("Nơi gửi", "Sender"),
    "filter.counterpart_out": ("Nơi nhận", "Recipient"),
    "filter.type": ("Loại văn bản", "Document type"),
    "filter.priority": ("Độ khẩn", "Priority"),
    "filter.state": ("Trạng thái", "State"),
    "filter.text": ("Tìm theo trích yếu, số, ký hiệu", "Search subject, number, symbol"),
    "filter.any": ("— Tất cả —", "— Any —"),
    "filter.urgent_only": ("Khẩn trở lên", "Urgent or higher"),
    "filter.apply": ("Lọc", "Apply"),
    "filter.reset": ("Bỏ lọc", "Reset"),
    "filter.bad_date": ("Ngày không hợp lệ đã được bỏ qua.", "An invalid date was ignored."),
    "state.pending": ("Đang chuyển", "In transit"),
    "state.delivered": ("Đã nhận", "Delivered"),
    "state.failed": ("Không chuyển được", "Failed"),
    "state.queued": ("Chờ chuyển", "Queued"),
    "state.pushing": ("Đang chuyển", "Pushing"),
    "state.retry_wait": ("Chờ thử lại", "Waiting to retry"),
    "state.retrieved": ("Đã tải về", "Retrieved"),
    "state.revoked": ("Đã thu hồi", "Revoked"),
    "state.summary": ("{label} ({done}/{total})", "{label} ({done}/{total})"),
    "kind.edoc": ("Văn bản", "Document"),
    "kind.status": ("Trạng thái", "Status"),
    # document detail
    "doc.title": ("Văn bản {code}", "Document {code}"),
    "doc.back_inbox": ("« Văn bản đến", "« Inbox"),
    "doc.back_outbox": ("« Văn bản đi", "« Outbox"),
    "doc.revoked": ("Văn bản này đã bị thu hồi lúc {at}.", "This document was revoked at {at}."),
    "doc.section_meta": ("Thông tin văn bản", "Document information"),
    "doc.section_parties": ("Nơi gửi và nơi nhận", "Sender and recipients"),
    "doc.section_other": ("Thông tin khác", "Other information"),
    "doc.section_business": ("Nghiệp vụ", "Business"),
    "doc.section_trace": ("Vết xử lý (TraceHeader)", "Trace headers"),
    "doc.section_attachments": ("Tệp đính kèm", "Attachments"),
    "doc.section_signature": ("Chữ ký số", "Digital signature"),
    "doc.section_deliveries": ("Tình trạng chuyển tới từng nơi nhận", "Delivery to each recipient"),
    "doc.section_timeline": ("Diễn biến xử lý", "Status timeline"),
    "doc.section_receipt": ("Biên nhận của Trục", "Axis submission receipt"),
    "doc.message_id": ("Mã thông điệp trên Trục", "Axis message id"),
    "doc.document_id": ("Mã văn bản (DocumentId)", "DocumentId"),
    "doc.code": ("Số, ký hiệu", "Number and symbol"),
    "doc.place": ("Nơi ban hành", "Place of promulgation"),
    "doc.promulgation_date": ("Ngày ban hành", "Date of promulgation"),
    "doc.type": ("Loại văn bản", "Document type"),
    "doc.subject": ("Trích yếu nội dung", "Subject"),
    "doc.content": ("Nội dung", "Content"),
    "doc.signer_competence": ("Thẩm quyền ký", "Signing competence"),
    "doc.signer_position": ("Chức vụ người ký", "Signer's position"),
    "doc.signer_name": ("Người ký", "Signed by"),
    "doc.due_date": ("Hạn xử lý", "Due date"),
    "doc.to_places": ("Nơi nhận (ghi trên văn bản)", "Recipients named on the document"),
    "doc.priority": ("Độ khẩn", "Priority"),
    "doc.sphere": ("Phạm vi ban hành", "Sphere of promulgation"),
    "doc.typer": ("Ký hiệu người đánh máy", "Typist's notation"),
    "doc.amount": ("Số bản phát hành", "Copies issued"),
    "doc.pages": ("Số trang", "Pages"),
    "doc.direction": ("Ý kiến chỉ đạo", "Direction"),
    "doc.appendixes": ("Phụ lục", "Appendixes"),
    "doc.steering": ("Loại chỉ đạo", "Steering type"),
    "doc.response_for": ("Phúc đáp / liên quan đến văn bản", "In response to"),
    "doc.related_message": ("Xem văn bản gốc", "Open the original"),
    "doc.business_type": ("Loại nghiệp vụ", "Business type"),
    "doc.business_reason": ("Lý do", "Reason"),
    "doc.paper": ("Có gửi kèm bản giấy", "Paper copy sent"),
    "doc.staff": ("Cán bộ xử lý", "Staff"),
    "doc.business_info": ("Thông tin nghiệp vụ", "Business information"),
    "doc.replaces": ("Văn bản bị thay thế", "Documents replaced"),
    "doc.received_at": ("Trục nhận lúc", "Received by the axis"),
    "doc.size": ("Dung lượng", "Size"),
    "doc.sha256": ("SHA-256 của thông điệp", "SHA-256 of the message"),
    "doc.download_edxml": ("Tải thông điệp edXML đã ký", "Download the signed edXML"),
    "doc.yes": ("Có", "Yes"),
    "doc.no": ("Không", "No"),
    "org.sender": ("Nơi gửi", "From"),
    "org.recipient": ("Nơi nhận", "To"),
    "org.organ_id": ("Mã định danh", "Agency code"),
    "org.organ_name": ("Tên cơ quan", "Name"),
    "org.in_charge": ("Cơ quan chủ quản", "Organization in charge"),
    "org.address": ("Địa chỉ", "Address"),
    "org.email": ("Thư điện tử", "Email"),
    "org.telephone": ("Điện thoại", "Telephone"),
    "org.fax": ("Fax", "Fax"),
    "org.website": ("Trang thông tin điện tử", "Website"),
    "trace.organ": ("Cơ quan", "Agency"),
    "trace.time": ("Thời điểm", "Time"),
    "att.name": ("Tên tệp", "File name"),
    "att.description": ("Mô tả", "Description"),
    "att.type": ("Kiểu", "Type"),
    "att.size": ("Dung lượng", "Size"),
    "att.download": ("Tải về", "Download"),
    "att.none": ("Không có tệp đính kèm.", "No attachments."),
    "sig.valid": ("Chữ ký hợp lệ", "Signature valid"),
    "sig.invalid": ("Chữ ký KHÔNG hợp lệ", "Signature NOT valid"),
    "sig.checked_note": (
        "Kiểm tra lại với chứng thư số đang đăng ký của nơi gửi, tại thời điểm Trục nhận văn bản.",
        "Re-checked against the sender's registered certificate, as of the time the axis received it.",
    ),
    "sig.signer": ("Người/cơ quan ký", "Signer"),
    "sig.organ_id": ("Mã định danh trong chứng thư", "Agency code in certificate"),
    "sig.issuer": ("Tổ chức cấp chứng thư", "Issuer"),
    "sig.serial": ("Số hiệu chứng thư", "Serial number"),
    "sig.validity": ("Hiệu lực chứng thư", "Certificate validity"),
    "sig.fingerprint": ("Dấu vân tay SHA-256", "SHA-256 fingerprint"),
    "sig.algorithm": ("Thuật toán", "Algorithm"),
    "sig.trusted_by": ("Cơ sở tin cậy", "Trusted by"),
    "sig.trust.pinned": ("Chứng thư đã đăng ký cho cơ quan", "Certificate registered for the agency"),
    "sig.trust.ca": ("Do tổ chức cấp chứng thư tin cậy cấp", "Issued by a trusted CA"),
    "sig.reason": ("Lý do", "Reason"),
    "dlv.recipient": ("Nơi nhận", "Recipient"),
    "dlv.mode": ("Hình thức", "Mode"),
    "dlv.mode.push": ("Trục chuyển đến", "Pushed"),
    "dlv.mode.pull": ("Cơ quan tự lấy", "Pulled"),
    "dlv.state": ("Trạng thái", "State"),
    "dlv.attempts": ("Số lần chuyển", "Attempts"),
    "dlv.retrieved_at": ("Tải về lúc", "Retrieved at"),
    "dlv.delivered_at": ("Báo nhận lúc", "Receipt at"),
    "dlv.last_error": ("Lỗi gần nhất", "Last error"),
    "tl.code": ("Mã", "Code"),
    "tl.status": ("Trạng thái", "Status"),
    "tl.from": ("Cơ quan", "Agency"),
    "tl.description": ("Ghi chú", "Description"),
    "tl.stated_at": ("Thời điểm cơ quan ghi", "Stated at"),
    "tl.received_at": ("Trục nhận lúc", "Received by the axis"),
    "tl.about_related": ("(về văn bản liên quan)", "(about a related message)"),
    "tl.empty": ("Chưa có trạng thái nào.", "No status yet."),
    "rcpt.valid": ("Biên nhận có chữ ký hợp lệ của Trục", "Receipt signed by the axis (valid)"),
    "rcpt.invalid": ("Biên nhận không kiểm tra được", "The receipt could not be verified"),
    "rcpt.none": ("Không có biên nhận.", "No receipt."),
    "rcpt.download": ("Tải biên nhận (XML)", "Download the receipt (XML)"),
    "rcpt.recipients": ("Nơi nhận", "Recipients"),
    # reports
    "reports.title": ("Báo cáo", "Reports"),
    "reports.month": ("Tháng", "Month"),
    "reports.show": ("Xem", "Show"),
    "reports.unavailable": (
        "Chức năng báo cáo chưa sẵn sàng trên máy chủ này.",
        "Reports are not yet available on this server.",
    ),
    "reports.monthly": ("Báo cáo tháng {month}", "Monthly report {month}"),
    "reports.series": ("12 tháng gần nhất", "Last 12 months"),
    "reports.none": ("Không có số liệu.", "No figures."),
    "reports.bad_month": ("Tháng không hợp lệ; dùng dạng YYYY-MM.", "Invalid month; use YYYY-MM."),
    # administration
    "admin.title": ("Quản trị", "Administration"),
    "admin.nav_health": ("Tình trạng hệ thống", "Health"),
    "admin.nav_agencies": ("Danh bạ cơ quan", "Agency registry"),
    "admin.nav_deliveries": ("Chuyển lỗi / tồn đọng", "Failed and stuck deliveries"),
    "health.title": ("Tình trạng hệ thống", "Health"),
    "health.queue": ("Hàng đợi (chưa chuyển xong)", "Queue depth (not yet delivered)"),
    "health.failed": ("Chuyển thất bại", "Failed deliveries"),
    "health.per_state": ("Số lượt chuyển theo trạng thái", "Deliveries per state"),
    "health.jobs": ("Lần chạy gần nhất của tác vụ định kỳ", "Last scheduler runs"),
    "health.job": ("Tác vụ", "Job"),
    "health.node": ("Máy chủ", "Node"),
    "health.started": ("Bắt đầu", "Started"),
    "health.finished": ("Kết thúc", "Finished"),
    "health.outcome": ("Kết quả", "Outcome"),
    "health.detail": ("Chi tiết", "Detail"),
    "health.never": ("Chưa chạy", "Never run"),
    "health.interval": ("Chu kỳ (giây)", "Every (s)"),
    "health.count": ("Số lượng", "Count"),
    "agencies.title": ("Danh bạ cơ quan ({count})", "Agency registry ({count})"),
    "agencies.code": ("Mã định danh", "Code"),
    "agencies.name": ("Tên cơ quan", "Name"),
    "agencies.mode": ("Hình thức nhận", "Delivery"),
    "agencies.endpoint": ("Địa chỉ nhận (endpoint)", "Endpoint"),
    "agencies.fingerprint": ("Chứng thư số (SHA-256)", "Certificate (SHA-256)"),
    "agencies.active": ("Hoạt động", "Active"),
    "agencies.disabled": ("Đã khóa", "Disabled"),
    "agencies.actions": ("Thao tác", "Actions"),
    "agencies.disable": ("Khóa", "Disable"),
    "agencies.enable": ("Mở khóa", "Enable"),
    "agencies.new_token": ("Cấp mã truy cập mới", "Issue a new token"),
    "agencies.new_token_warning": (
        "Mã truy cập cũ sẽ hết hiệu lực ngay; hệ thống của cơ quan phải được cập nhật mã mới.",
        "The old token stops working at once; the agency's system must be given the new one.",
    ),
    "agencies.new_token_confirm": ("Xác nhận cấp mã mới", "Confirm: issue a new token"),
    "agencies.rotate_cert": ("Thay chứng thư số", "Replace certificate"),
    "agencies.cert_pem": ("Chứng thư số (PEM)", "Certificate (PEM)"),
    "agencies.add": ("Đăng ký cơ quan mới", "Register an agency"),
    "agencies.add_submit": ("Đăng ký", "Register"),
    "agencies.optional": ("không bắt buộc", "optional"),
    "agencies.none": ("—", "—"),
    "agencies.self": ("(chính Trục)", "(the axis itself)"),
    "agencies.saved": ("Đã lưu thay đổi cho {code}.", "Saved the change for {code}."),
    "agencies.error": ("Không thực hiện được: {detail}", "Could not do it: {detail}"),
    "token.title": ("Mã truy cập của {code}", "Token of {code}"),
    "token.once": (
        "Mã truy cập chỉ hiển thị MỘT LẦN. Hãy sao chép và chuyển cho cơ quan qua kênh an toàn; "
        "Trục chỉ lưu bản băm.",
        "This token is shown ONCE. Copy it and hand it to the agency over a secure channel; "
        "the axis keeps only its hash.",
    ),
    "token.registered": ("Đã đăng ký cơ quan {code}.", "Agency {code} registered."),
    "token.back": ("« Danh bạ cơ quan", "« Agency registry"),
    "failed.title": ("Chuyển lỗi / tồn đọng ({count})", "Failed and stuck deliveries ({count})"),
    "failed.intro": (
        "Các lượt chuyển thất bại, hoặc chưa tới nơi sau {minutes} phút.",
        "Deliveries that failed, or have not arrived after {minutes} minutes.",
    ),
    "failed.select": ("Chọn", "Select"),
    "failed.document": ("Văn bản", "Document"),
    "failed.sender": ("Nơi gửi", "From"),
    "failed.recipient": ("Nơi nhận", "To"),
    "failed.queued_at": ("Vào hàng đợi", "Queued at"),
    "failed.next_attempt": ("Lần thử tới", "Next attempt"),
    "failed.stuck": ("Tồn đọng", "Stuck"),
    "failed.reason": ("Lý do gửi lại (bắt buộc, được ghi nhật ký)", "Reason for resending (required, audited)"),
    "failed.resend_one": ("Gửi lại", "Resend"),
    "failed.resend_selected": ("Gửi lại các mục đã chọn", "Resend selected"),
    "failed.none": ("Không có lượt chuyển nào lỗi hoặc tồn đọng.", "No failed or stuck deliveries."),
    "failed.done": ("Đã xếp lại hàng đợi {n} lượt chuyển.", "{n} deliveries queued again."),
    "failed.need_reason": ("Cần nhập lý do gửi lại.", "A reason is required."),
    "failed.need_selection": ("Chưa chọn lượt chuyển nào.", "No delivery selected."),
    "failed.threshold": ("Ngưỡng tồn đọng (phút)", "Stuck after (minutes)"),
}

_DOCUMENT_TYPE_EN: Final = {t.name_vi: t.name_en for t in DOCUMENT_TYPES}


class Translator:
    """Looks UI strings up in one language; an unknown key is a bug and raises KeyError."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._index = LANGUAGES.index(self.language)

    def __call__(self, key: str, **values: object) -> str:
        """The string for ``key``, with ``values`` filled in."""
        text = CATALOGUE[key][self._index]
        return text.format(**values) if values else text

    def status(self, code: str) -> str:
        """The label of an edXML StatusCode."""
        try:
            return STATUS_LABELS[StatusCode(code)][self._index]
        except ValueError:
            return code

    def priority(self, value: int) -> str:
        """The label of a priority (độ khẩn)."""
        try:
            return PRIORITY_LABELS[Priority(value)][self._index]
        except ValueError:
            return str(value)

    def business(self, value: int) -> str:
        """The label of a BussinessDocType."""
        try:
            return BUSINESS_TYPE_LABELS[BusinessType(value)][self._index]
        except ValueError:
            return str(value)

    def document_type(self, name_vi: str) -> str:
        """A document type name (stored in Vietnamese, as on the wire) in this language."""
        if self.language == "en":
            return _DOCUMENT_TYPE_EN.get(name_vi, name_vi)
        return name_vi

    def when(self, value: datetime | None) -> str:
        """A moment in Vietnam time, as people there write it."""
        if value is None:
            return "—"
        local = value.astimezone(VN_TZ)
        if self.language == "vi":
            return local.strftime("%d/%m/%Y %H:%M")
        return local.strftime("%Y-%m-%d %H:%M")

    def when_seconds(self, value: datetime | None) -> str:
        """A moment in Vietnam time, to the second (timelines)."""
        if value is None:
            return "—"
        local = value.astimezone(VN_TZ)
        return local.strftime("%d/%m/%Y %H:%M:%S" if self.language == "vi" else "%Y-%m-%d %H:%M:%S")


def size_text(n: int) -> str:
    """A byte count for people (KB and MB are understood in both languages)."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
