"""The one catalogue of web UI strings: Vietnamese first, with their English twins."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Final

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from axis.exchange.push_errors import explain
from axis.wording import AXIS_ROW_STATE
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

#: key → (Vietnamese, English). Placeholders are str.format fields. A count's other plural forms sit beside
#: it as ``key#one`` (CLDR plural categories through Babel; Vietnamese has only "other").
CATALOGUE: Final[Mapping[str, tuple[str, str]]] = {
    # frame
    "app.name": ("Trục liên thông văn bản quốc gia", "National Document Axis"),
    "app.short": ("Trục liên thông", "Document Axis"),
    "nav.inbox": ("Văn bản đến", "Inbox"),
    "nav.outbox": ("Văn bản đi", "Outbox"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.registers": ("Sổ đăng ký", "Registers"),
    "nav.archive": ("Lưu trữ", "Archive"),
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
    "error.409": ("Không thực hiện được thao tác này ở trạng thái hiện tại.",
                  "This cannot be done in the current state."),
    "error.410": (
        "Nội dung văn bản đã bị hủy theo thời hạn bảo quản; chỉ còn thông tin mô tả.",
        "The document's content was destroyed under its retention schedule; only its description remains.",
    ),
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
    "filter.bad_date": ("«{value}» không phải là ngày nên chưa được dùng: hãy nhập ngày/tháng/năm, ví dụ 03/11/2026.",
                        "«{value}» is not a date, so it was not used: type year-month-day, e.g. 2026-11-03."),
    "date.placeholder": ("nn/tt/nnnn", "yyyy-mm-dd"),
    "month.placeholder": ("tt/nnnn", "yyyy-mm"),
    "month.hint": ("tháng/năm, ví dụ 11/2026", "year-month, e.g. 2026-11"),
    "date.hint": ("ngày/tháng/năm", "year-month-day"),
    "state.pending": ("Chưa báo nhận đủ", "Awaiting receipts"),
    "state.delivered": ("Đã nhận", "Delivered"),
    "state.failed": ("Không chuyển được", "Failed"),
    "state.queued": ("Chờ chuyển", "Queued"),
    "state.pushing": ("Đang đẩy tới nơi nhận", "Being pushed"),
    "state.retry_wait": ("Chờ thử lại", "Waiting to retry"),
    "state.retrieved": ("Đã tải về", "Retrieved"),
    "state.revoked": ("Đã thu hồi", "Revoked"),
    "state.refused": ("Bị từ chối", "Refused"),
    "state.settled": ("Đã có trả lời", "Answered"),
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
    "doc.type_codes": ("mã edXML: Type {type}, TypeDetail {detail}", "edXML codes: Type {type}, TypeDetail {detail}"),
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
    "sig.checked_at_acceptance": (
        "Trục đã kiểm tra chữ ký khi nhận văn bản lúc {at}; dữ liệu lưu trữ vẫn đúng mã băm SHA-256 lúc đó.",
        "Checked by the axis when it received the document at {at}; the stored bytes still match the SHA-256 "
        "taken then.",
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
    "agencies.vxp_secret": ("Khóa kết nối SDK", "National SDK key"),
    "agencies.system_id": ("Mã hệ thống (systemid)", "System id (systemid)"),
    "agencies.vxp_secret_warning": ("Cấp khóa bí mật mới cho phần mềm dùng SDK của trục; khóa cũ hết hiệu lực ngay.",
                                    "Issue a new secret for the agency's SDK-based software; the old one stops "
                                    "working at once."),
    "agencies.vxp_secret_confirm": ("Cấp khóa mới", "Issue a new secret"),
    "agencies.policy": ("Chính sách chữ ký", "Signature policy"),
    "agencies.policy.required": ("Bắt buộc chữ ký số hợp lệ", "Valid signature required"),
    "agencies.policy.legacy-transport": ("Chấp nhận không ký (kết nối đã xác thực)",
                                         "Unsigned accepted (authenticated connection)"),
    "agencies.policy_note": ("Chỉ dùng cho phần mềm chưa ký đúng chuẩn; văn bản không ký được đánh dấu ở mọi nơi "
                             "và quyết định này được ghi nhật ký.",
                             "Only for software that does not sign properly yet; unsigned documents are marked "
                             "everywhere and this decision is audited."),
    "agencies.policy_save": ("Lưu chính sách", "Save policy"),
    "vxp_secret.title": ("Khóa kết nối SDK của {code}", "National SDK key of {code}"),
    "vxp_secret.once": ("Khóa bí mật chỉ hiển thị một lần: hãy cấu hình ngay vào phần mềm của đơn vị.",
                        "The secret is shown only once: configure it in the agency's software now."),
    "vxp_secret.secret": ("Khóa bí mật (secret)", "Secret"),
    "doc.unsigned": ("Không có chữ ký số hợp lệ", "No valid digital signature"),
    "doc.deployed_shape": ("Dạng gói tin thực tế", "Deployed edXML shape"),
    "doc.deployed_shape_note": (
        "Trục nhận gói tin này theo dạng phần mềm đang triển khai tạo ra, khác với QCVN 102:2016 ở các điểm sau "
        "(đã ghi vào nhật ký):",
        "The axis accepted this message as deployed software writes it, differing from QCVN 102:2016 as follows "
        "(recorded in the audit log):"),
    "doc.unsigned_note": ("Văn bản được trục nhận không có chữ ký số hợp lệ, dựa trên kết nối đã xác thực của "
                          "đơn vị gửi (chính sách chữ ký: legacy-transport).",
                          "The axis accepted this document without a valid digital signature, on the strength of "
                          "the sender's authenticated connection (signature policy: legacy-transport)."),
    "dlv.recipient": ("Nơi nhận", "Recipient"),
    "dlv.mode": ("Hình thức", "Mode"),
    "dlv.mode.push": ("Trục chuyển đến", "Pushed"),
    "dlv.mode.pull": ("Cơ quan tự lấy", "Pulled"),
    "dlv.state": ("Trạng thái", "State"),
    "dlv.attempts": ("Số lần chuyển", "Attempts"),
    "dlv.retrieved_at": ("Tải về lúc", "Retrieved at"),
    "dlv.delivered_at": ("Báo nhận lúc", "Receipt at"),
    "dlv.last_error": ("Lỗi gần nhất", "Last error"),
    "push.unreachable": ("Không kết nối được tới địa chỉ nhận của nơi nhận", "The recipient's endpoint is unreachable"),
    "push.redirected": ("Địa chỉ nhận trả lời bằng một lệnh chuyển hướng; Trục không đi theo",
                        "The recipient's endpoint answered with a redirect, which the axis does not follow"),
    "push.not_allowed": ("Địa chỉ nhận không phải là một địa chỉ https:// được phép",
                         "The recipient's endpoint is not an allowed https:// URL"),
    "push.address_refused": ("Địa chỉ nhận trỏ tới một địa chỉ mạng nội bộ mà Trục không được phép gửi tới",
                             "The recipient's endpoint resolves to an internal address the axis may not push to"),
    "push.answer_too_large": ("Câu trả lời của địa chỉ nhận quá lớn", "The recipient's endpoint answered too much"),
    "push.bad_receipt": ("Câu trả lời của địa chỉ nhận không phải là báo nhận 01 có chữ ký của nơi nhận",
                         "The recipient's endpoint did not answer with its signed receipt 01"),
    "push.no_endpoint": ("Nơi nhận không có địa chỉ nhận đẩy", "The recipient has no push endpoint"),
    "push.not_registered": ("Nơi nhận không còn trong danh bạ", "The recipient is no longer registered"),
    "push.answered": ("Địa chỉ nhận trả lời mã HTTP {status}", "The recipient's endpoint answered HTTP {status}"),
    "push.generic": ("Lần chuyển không thành công", "The delivery attempt failed"),
    "push.detail": ("Chi tiết kỹ thuật", "Technical detail"),
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
    "reports.computed_at": ("Số liệu tính lúc {at}; văn bản gửi sau thời điểm này sẽ có ở lần tính tiếp theo "
                            "(mỗi {minutes} phút) hoặc khi tính lại ngay.",
                            "Figures computed at {at}; documents sent since then appear at the next computation "
                            "(every {minutes} minutes) or when recomputed now."),
    "reports.recompute": ("Tính lại ngay", "Recompute now"),
    "reports.title": ("Báo cáo", "Reports"),
    "reports.month": ("Tháng", "Month"),
    "reports.agency": ("Cơ quan", "Agency"),
    "reports.all_agencies": ("— Tất cả cơ quan —", "— All agencies —"),
    "reports.show": ("Xem", "Show"),
    "reports.monthly": ("Báo cáo tháng {month}", "Monthly report {month}"),
    "reports.series": ("12 tháng gần nhất", "Last 12 months"),
    "reports.series_totals": (
        "Tổng của mọi cơ quan; thời gian báo nhận chỉ có khi chọn một cơ quan.",
        "Totals of all agencies; receipt times are shown when one agency is chosen.",
    ),
    "reports.none": ("Không có số liệu.", "No figures."),
    "reports.total": ("Tổng cộng", "Total"),
    "reports.download_csv": ("Tải báo cáo (CSV)", "Download the report (CSV)"),
    "reports.bad_month": ("Tháng không hợp lệ; nhập tháng/năm, ví dụ 11/2026.",
                          "Invalid month; type year-month, e.g. 2026-11."),
    "reports.unknown_agency": ("Không có cơ quan mã {code}.", "No agency with code {code}."),
    "report.agency": ("Cơ quan", "Agency"),
    "report.month": ("Tháng", "Month"),
    "report.sent": ("Văn bản gửi đi", "Sent"),
    "report.received": ("Văn bản đến", "Received"),
    "report.delivered": ("Có báo nhận (01)", "Delivered (signed 01)"),
    "report.refused": ("Bị từ chối (02)", "Refused (02)"),
    "report.failed": ("Chuyển thất bại", "Failed"),
    "report.median_receipt_s": ("Thời gian báo nhận (trung vị)", "Median time to receipt"),
    "report.p95_receipt_s": ("Thời gian báo nhận (p95)", "95th percentile time to receipt"),
    "report.bytes_in": ("Dung lượng nhận vào", "Bytes in"),
    "report.storage_growth_bytes": ("Tăng dung lượng lưu trữ", "Storage growth"),
    "report.unsigned": ("Nhận không có chữ ký số", "Accepted unsigned"),
    "report.disposed": ("Đã hủy", "Disposed"),
    "chart.title": ("Lưu lượng văn bản 12 tháng, {first} – {last}",
                    "Document throughput over 12 months, {first} – {last}"),
    "chart.desc": (
        "Biểu đồ cột: số văn bản gửi đi, văn bản đến và số lượt có báo nhận theo tháng; "
        "đường: thời gian báo nhận trung vị. Số liệu chi tiết ở bảng bên dưới.",
        "Bars: documents sent, received and delivered per month; line: median time to receipt. "
        "The figures are in the table below.",
    ),
    "chart.axis_month": ("Tháng", "Month"),
    "chart.axis_count": ("Số văn bản", "Documents"),
    "chart.axis_time_ms": ("Báo nhận trung vị (mili giây)", "Median receipt (milliseconds)"),
    "chart.axis_time_s": ("Báo nhận trung vị (giây)", "Median receipt (seconds)"),
    "chart.axis_time_min": ("Báo nhận trung vị (phút)", "Median receipt (minutes)"),
    "chart.axis_time_h": ("Báo nhận trung vị (giờ)", "Median receipt (hours)"),
    # statutory registers
    "registers.title_incoming": ("Sổ đăng ký văn bản đến năm {year}", "Register of incoming documents, {year}"),
    "registers.title_outgoing": ("Sổ đăng ký văn bản đi năm {year}", "Register of outgoing documents, {year}"),
    "registers.incoming": ("Sổ văn bản đến", "Incoming register"),
    "registers.outgoing": ("Sổ văn bản đi", "Outgoing register"),
    "registers.year": ("Năm", "Year"),
    "registers.basis": ("Mẫu sổ theo Phụ lục IV, Nghị định số 30/2020/NĐ-CP.",
                        "Layout of Decree 30/2020/NĐ-CP, Appendix IV."),
    "registers.count": ("{count} văn bản", "{count} documents"),
    "registers.count#one": ("{count} văn bản", "{count} document"),
    "registers.agency": ("Cơ quan", "Agency"),
    "registers.download_csv": ("Tải sổ (CSV)", "Download the register (CSV)"),
    "registers.empty": (
        "Sổ chưa có văn bản nào trong năm này. Văn bản đến được vào sổ khi cơ quan gửi báo nhận đã ký "
        "(trạng thái 01); văn bản đi được vào sổ khi Trục tiếp nhận văn bản.",
        "No entries in this year. An incoming document is entered when your agency sends its signed receipt "
        "(status 01); an outgoing one when the axis accepts it.",
    ),
    "registers.bad_year": ("Năm không hợp lệ; dùng dạng YYYY.", "Invalid year; use YYYY."),
    "reg.arrival_date": ("Ngày đến", "Arrival date"),
    "reg.arrival_number": ("Số đến", "Arrival no."),
    "reg.author": ("Tác giả", "Author"),
    "reg.number_and_symbol": ("Số, ký hiệu", "Number and symbol"),
    "reg.date": ("Ngày tháng văn bản", "Document date"),
    "reg.type_and_summary": ("Tên loại và trích yếu nội dung", "Type and summary"),
    "reg.receiving_unit": ("Đơn vị hoặc người nhận", "Receiving unit or person"),
    "reg.notes": ("Ghi chú", "Notes"),
    "reg.number": ("Số", "No."),
    "reg.recipients": ("Nơi nhận văn bản", "Recipients"),
    "reg.copies": ("Số lượng bản", "Copies"),
    "reg.sent_date": ("Ngày chuyển", "Date sent"),
    # archive: retention, disposal, legal holds
    "archive.title": ("Lưu trữ", "Archive"),
    "archive.nav_disposals": ("Danh sách hủy", "Disposal lists"),
    "archive.nav_due": ("Tài liệu hết hạn bảo quản", "Due for disposal"),
    "archive.nav_holds": ("Lệnh tạm giữ", "Legal holds"),
    "err.no_archived_document": ("Không có văn bản lưu trữ {ids}", "No archived document {ids}"),
    "err.user_exists": ("Người dùng {login} đã có", "User {login} already exists"),
    "err.bad_login": ("“{login}” không dùng được làm tên đăng nhập (3–64 ký tự a-z 0-9 . _ @ -, bắt đầu bằng chữ "
                      "hoặc số)", "“{login}” is not a valid login (3-64 of a-z 0-9 . _ @ -, starting with a letter "
                      "or digit)"),
    "err.bad_date": ("Ô “{field}” phải là một ngày (ngày/tháng/năm), không phải “{value}”",
                     "{field} must be a date (year-month-day), not “{value}”"),
    "archive.refused": ("Không thực hiện được: {detail}", "Refused: {detail}"),
    "archive.read_only": ("Chỉ người làm lưu trữ mới thực hiện được thao tác này; bạn chỉ được xem.",
                          "Only archivists can act here; you may view."),
    "retention.action.destroy": ("Hủy", "Destroy"),
    "retention.action.transfer": ("Nộp lưu lịch sử", "Transfer"),
    "retention.action.review": ("Xem xét lại", "Review"),
    "retention.trigger.document_date": ("Từ ngày văn bản", "From the document date"),
    "retention.trigger.received": ("Từ ngày nhận", "From receipt"),
    "retention.trigger.handling_completed": ("Từ khi giải quyết xong (06)", "From completion of handling (06)"),
    "retention.years": ("{n} năm", "{n} years"),
    "retention.years#one": ("{n} năm", "{n} year"),
    "retention.permanent": ("Vĩnh viễn", "Permanent"),
    "disposals.title": ("Danh sách tài liệu hủy ({count})", "Disposal lists ({count})"),
    "disposals.id": ("Danh sách", "List"),
    "disposals.items": ("Số tài liệu", "Documents"),
    "disposals.approvals": ("Phê duyệt", "Approvals"),
    "disposals.approvals_of": ("{n}/2", "{n} of 2"),
    "disposals.proposed_by": ("Người lập", "Proposed by"),
    "disposals.proposed_at": ("Lập lúc", "Proposed at"),
    "disposals.executed_at": ("Thực hiện lúc", "Executed at"),
    "disposals.certificate": ("Biên bản hủy", "Certificate"),
    "disposals.none": (
        "Chưa có danh sách hủy nào. Danh sách được lập từ trang «Tài liệu hết hạn bảo quản» khi có tài liệu "
        "hết thời hạn bảo quản; thời hạn tính bằng năm, nên tài liệu mới nhận chưa thể có trong danh sách.",
        "No disposal lists yet. A list is proposed from the “Due for disposal” page once documents are past "
        "their retention period; periods run for years, so recent documents cannot be on one yet.",
    ),
    "disposals.to_due": ("Xem tài liệu hết hạn và lập danh sách hủy", "See what is due and propose a list"),
    "disposal.state.proposed": ("Chờ phê duyệt / thực hiện", "Awaiting approval"),
    "disposal.state.executed": ("Đã thực hiện", "Executed"),
    "disposal.state.void": ("Không hủy tài liệu nào", "Void (nothing destroyed)"),
    "disposal.outcome.destroyed": ("Đã hủy", "Destroyed"),
    "disposal.outcome.held": ("Bị tạm giữ, không hủy", "Held, left alone"),
    "disposal.outcome.not_due": ("Chưa đến hạn, không hủy", "Not due, left alone"),
    "disposal.outcome.already_disposed": ("Đã hủy trước đó", "Already disposed"),
    "disposal.outcome.not_destroy": ("Không thuộc diện hủy", "Not under a destroy schedule"),
    "disposal.title": ("Danh sách hủy số {id}", "Disposal list {id}"),
    "disposal.back": ("« Danh sách hủy", "« Disposal lists"),
    "disposal.state": ("Trạng thái", "State"),
    "disposal.approvals": ("Phê duyệt ({n}/2)", "Approvals ({n} of 2)"),
    "disposal.approver": ("Người phê duyệt", "Archivist"),
    "disposal.agency": ("Cơ quan", "Agency"),
    "disposal.approved_at": ("Phê duyệt lúc", "Approved at"),
    "disposal.no_approvals": ("Chưa có ai phê duyệt.", "Nobody has approved it yet."),
    "disposal.need_two": ("Cần hai người làm lưu trữ khác nhau phê duyệt trước khi thực hiện hủy.",
                          "Two different archivists must approve before the list is executed."),
    "disposal.approve": ("Phê duyệt danh sách này", "Approve this list"),
    "disposal.you_approved": ("Bạn đã phê duyệt; cần một người làm lưu trữ khác phê duyệt.",
                              "You have approved it; another archivist must approve too."),
    "disposal.execute": ("Thực hiện hủy", "Execute the disposal"),
    "disposal.execute_warning": (
        "Nội dung các tài liệu sẽ bị xóa vĩnh viễn; chỉ giữ lại thông tin mô tả và biên bản hủy có chữ ký số. "
        "Lệnh tạm giữ được kiểm tra lại khi thực hiện.",
        "The payloads are deleted for good; only the residual metadata and the signed certificate remain. "
        "Legal holds are checked again at execution.",
    ),
    "disposal.items": ("Tài liệu trong danh sách ({count})", "Documents on the list ({count})"),
    "disposal.message": ("Mã thông điệp", "Message id"),
    "disposal.document": ("Văn bản", "Document"),
    "disposal.sender": ("Nơi gửi", "Sender"),
    "disposal.sha256": ("SHA-256 và dung lượng", "SHA-256 and size"),
    "disposal.schedule": ("Thời hạn bảo quản", "Schedule"),
    "disposal.due": ("Hết hạn", "Due"),
    "disposal.holds": ("Tạm giữ", "Holds"),
    "disposal.outcome": ("Kết quả", "Outcome"),
    "disposal.not_executed": ("Chưa thực hiện", "Not executed yet"),
    "disposal.schedules": ("Căn cứ thời hạn bảo quản", "Schedules and legal basis"),
    "disposal.download_certificate": ("Tải biên bản hủy (XML có chữ ký số)",
                                      "Download the signed destruction certificate (XML)"),
    "disposal.approved_flash": ("Đã ghi nhận phê duyệt ({n}/2).", "Approval recorded ({n} of 2)."),
    "disposal.executed_flash": ("Đã thực hiện: hủy {destroyed} tài liệu, giữ lại {kept}.",
                                "Executed: {destroyed} destroyed, {kept} left alone."),
    "disposal.proposed_flash": ("Đã lập danh sách hủy; cần hai người làm lưu trữ phê duyệt.",
                                "Disposal list proposed; two archivists must approve it."),
    "due.title": ("Tài liệu hết hạn bảo quản ({count})", "Due for disposal ({count})"),
    "due.as_of": ("Tính đến ngày", "As of"),
    "due.summary": (
        "Đến ngày {day}: {destroy} tài liệu thuộc diện hủy ({held} đang bị tạm giữ), {other} nộp lưu hoặc xem xét lại.",
        "As of {day}: {destroy} to destroy ({held} held), {other} to transfer or review.",
    ),
    "due.action": ("Xử lý", "Action"),
    "due.subject": ("Trích yếu", "Subject"),
    "due.on_list": ("Trong danh sách {id}", "On list {id}"),
    "due.propose": ("Lập danh sách hủy", "Propose a disposal list"),
    "due.propose_note": (
        "Danh sách gồm các tài liệu hết hạn đến hôm nay ({day}), thuộc diện hủy, không bị tạm giữ và chưa có "
        "trong danh sách khác: {n} tài liệu.",
        "The list takes every document due by today ({day}) under a destroy schedule, not held and not on "
        "another list: {n} documents.",
    ),
    "due.nothing": ("Không có tài liệu nào để lập danh sách hủy.", "Nothing to put on a disposal list."),
    "record.title": ("Hồ sơ lưu trữ văn bản {code}", "Archive record of {code}"),
    "record.note": (
        "Người làm lưu trữ của Trục xem hồ sơ lưu trữ của văn bản mọi cơ quan; nội dung và tệp đính kèm chỉ nơi gửi, "
        "nơi nhận được xem.",
        "The hub's archivists see the archive record of every agency's documents; the content and attachments stay "
        "with the sender and recipients.",
    ),
    "record.fixity": ("Kiểm tra toàn vẹn gần nhất", "Last fixity check"),
    "record.open_document": ("Mở văn bản (cơ quan của bạn gửi hoặc nhận)",
                             "Open the document (your agency sent or received it)"),
    "due.none": (
        "Không có tài liệu nào hết hạn bảo quản tính đến ngày này: thời hạn bảo quản tính bằng năm, nên tài liệu "
        "mới nhận chưa đến hạn. Chọn một ngày về sau để xem trước.",
        "Nothing is due as of this day: retention periods run for years, so recent documents are not due yet. "
        "Pick a later day to look ahead.",
    ),
    "holds.title": ("Lệnh tạm giữ tài liệu ({count})", "Legal holds ({count})"),
    "holds.id": ("Số", "No."),
    "holds.name": ("Tên", "Name"),
    "holds.authority": ("Cơ quan yêu cầu", "Authority"),
    "holds.reason": ("Lý do", "Reason"),
    "holds.scope": ("Phạm vi", "Applies to"),
    "holds.documents": ("{n} tài liệu", "{n} documents"),
    "holds.documents#one": ("{n} tài liệu", "{n} document"),
    "holds.placed_by": ("Đặt bởi", "Placed by"),
    "holds.released_by": ("Gỡ bởi {login} lúc {at}", "Released by {login} at {at}"),
    "holds.active": ("Đang hiệu lực", "Active"),
    "holds.release": ("Đề nghị gỡ tạm giữ", "Request release"),
    "holds.show_all": ("Hiện cả lệnh đã gỡ", "Include released holds"),
    "holds.show_active": ("Chỉ lệnh đang hiệu lực", "Active holds only"),
    "holds.add": ("Đặt lệnh tạm giữ mới", "Place a legal hold"),
    "holds.document_ids": ("Tài liệu: mã văn bản (DocumentId) hoặc mã thông điệp, mỗi dòng một tài liệu",
                           "Documents: DocumentId or message id, one per line"),
    "due.hold": ("Tạm giữ", "Hold"),
    "due.hold_label": ("Đặt lệnh tạm giữ tài liệu {id}", "Place a legal hold on {id}"),
    "holds.search_intro": ("và/hoặc giữ mọi tài liệu khớp các điều kiện sau, kể cả tài liệu đến sau này:",
                           "and/or hold every document matching all of these, now and later:"),
    "holds.s_sender": ("Mã nơi gửi", "Sender code"),
    "holds.s_recipient": ("Mã nơi nhận", "Recipient code"),
    "holds.s_type": ("Loại văn bản (QĐ, Công văn…)", "Document type (QĐ, Công văn…)"),
    "holds.s_text": ("Từ trong trích yếu hoặc số, ký hiệu", "Words in the subject or number"),
    "holds.s_document_id": ("Mã văn bản (DocumentId)", "DocumentId"),
    "holds.s_date_from": ("Ngày văn bản: từ ngày", "Document date: from"),
    "holds.s_date_to": ("Ngày văn bản: đến ngày", "Document date: to"),
    "holds.submit": ("Đặt tạm giữ", "Place the hold"),
    "holds.placed": ("Đã đặt lệnh tạm giữ số {id}.", "Legal hold {id} placed."),
    "holds.released_flash": ("Đã gỡ lệnh tạm giữ số {id}.", "Legal hold {id} released."),
    "holds.requested_flash": ("Đã đề nghị gỡ lệnh tạm giữ số {id}; lệnh vẫn hiệu lực đến khi một người làm lưu trữ "
                              "khác xác nhận.",
                              "Release of legal hold {id} requested; it stays in force until a second archivist "
                              "confirms."),
    "holds.release_requested_by": ("{login} đề nghị gỡ lúc {at}; chờ người thứ hai xác nhận",
                                   "Release requested by {login} at {at}; awaiting a second archivist"),
    "holds.confirm_release": ("Xác nhận gỡ tạm giữ", "Confirm the release"),
    "holds.none": (
        "Không có lệnh tạm giữ nào. Lệnh tạm giữ được đặt khi cơ quan có thẩm quyền yêu cầu giữ tài liệu "
        "(ví dụ cho một vụ án); tài liệu đang bị giữ không bị hủy.",
        "No legal holds. A hold is placed when an authority orders documents kept (for a court case, say); "
        "documents under a hold are never disposed of.",
    ),
    # retention on the document page
    "doc.section_retention": ("Bảo quản", "Retention"),
    "ret.schedule": ("Thời hạn bảo quản", "Schedule"),
    "ret.legal_basis": ("Căn cứ", "Legal basis"),
    "ret.period": ("Thời hạn", "Period"),
    "ret.trigger": ("Tính từ", "Counted from"),
    "ret.action": ("Khi hết hạn", "When due"),
    "ret.due_date": ("Hết hạn ngày", "Due on"),
    "ret.not_yet": ("Chưa xác định (chờ sự kiện bắt đầu tính)", "Not yet known (waiting for the trigger event)"),
    "ret.never": ("Không hết hạn", "Never"),
    "ret.holds": ("Lệnh tạm giữ", "Legal holds"),
    "ret.no_holds": ("Không có", "None"),
    "ret.state": ("Tình trạng", "State"),
    "ret.kept": ("Đang lưu giữ", "Kept"),
    "ret.disposed": ("Đã hủy nội dung", "Payload disposed of"),
    "ret.revoked": ("Đã thu hồi", "Revoked"),
    "ret.unassigned": ("Chưa được gán thời hạn bảo quản.", "No retention schedule assigned yet."),
    "ret.disposed_alert": (
        "Nội dung văn bản đã bị hủy lúc {at} theo danh sách hủy số {id}; chỉ còn thông tin mô tả.",
        "The payload was destroyed at {at} under disposal list {id}; only the residual metadata remains.",
    ),
    "ret.open_list": ("Xem danh sách hủy", "Open the disposal list"),
    "doc.payload_destroyed": ("Nội dung đã bị hủy; không còn kiểm tra lại được chữ ký.",
                              "The payload was destroyed; the signature can no longer be re-checked."),
    "att.destroyed": ("Tệp đính kèm đã bị hủy cùng nội dung văn bản.",
                      "The attachments were destroyed with the payload."),
    # administration
    "admin.title": ("Quản trị", "Administration"),
    "admin.nav_health": ("Tình trạng hệ thống", "Health"),
    "admin.nav_agencies": ("Danh bạ cơ quan", "Agency registry"),
    "admin.nav_deliveries": ("Chuyển lỗi / tồn đọng", "Failed and stuck deliveries"),
    "health.title": ("Tình trạng hệ thống", "Health"),
    "health.queue": ("Hàng đợi (chưa chuyển xong)", "Queue depth (not yet delivered)"),
    "health.failed": ("Chuyển thất bại", "Failed deliveries"),
    "health.waiting_pull": ("Chờ cơ quan nhận tải về (không phải tồn đọng)",
                            "Waiting to be pulled by the recipient (not stuck)"),
    "health.oldest": ("cũ nhất từ {at}", "oldest since {at}"),
    "health.on_the_way": ("Đang chuyển, chưa quá ngưỡng tồn đọng", "On their way, within the stuck threshold"),
    "health.stuck": ("Tồn đọng quá {minutes} phút", "Stuck for more than {minutes} minutes"),
    "health.per_state": ("Số lượt chuyển theo trạng thái", "Deliveries per state"),
    "health.jobs": ("Lần chạy gần nhất của tác vụ định kỳ", "Last scheduler runs"),
    "health.job": ("Tác vụ", "Job"),
    "health.node": ("Máy chủ", "Node"),
    "health.started": ("Bắt đầu", "Started"),
    "health.finished": ("Kết thúc", "Finished"),
    "health.outcome": ("Kết quả", "Outcome"),
    "health.detail": ("Chi tiết", "Detail"),
    "health.never": ("Chưa chạy", "Never run"),
    "health.next": ("Lần chạy tới", "Next run"),
    "health.not_scheduled": ("Không lập lịch trên nút này", "Not scheduled on this node"),
    "health.endpoints": ("Điểm nhận đẩy đang gặp sự cố (nút này)", "Push endpoints in trouble (this node)"),
    "health.endpoint": ("Điểm nhận", "Endpoint"),
    "health.in_flight": ("Đang gửi", "In flight"),
    "health.failures": ("Lỗi liên tiếp", "Failures in a row"),
    "health.circuit": ("Trạng thái", "Circuit"),
    "health.circuit.open": ("Tạm ngừng gửi", "Open (paused)"),
    "health.circuit.half-open": ("Đang thử lại", "Half-open (probing)"),
    "health.circuit.closed": ("Bình thường", "Closed"),
    "health.interval": ("Chu kỳ (giây)", "Every (s)"),
    "health.count": ("Số lượng", "Count"),
    # certificate lifecycle on /admin
    "certs.title": ("Chứng thư số hết hạn hoặc sắp hết hạn (trong {days} ngày)",
                    "Certificates expired or expiring within {days} days"),
    "certs.none": ("Không có chứng thư số nào hết hạn trong {days} ngày tới ({count} chứng thư được theo dõi).",
                   "No certificate expires within {days} days ({count} watched)."),
    "certs.owner": ("Chủ thể", "Owner"),
    "certs.role": ("Vai trò", "Role"),
    "certs.name": ("Tên", "Name"),
    "certs.expires": ("Hết hạn", "Expires"),
    "certs.days_left": ("Còn (ngày)", "Days left"),
    "certs.state": ("Tình trạng", "State"),
    "certs.fingerprint": ("SHA-256", "SHA-256"),
    "certs.role.current": ("Chứng thư đang dùng", "Current certificate"),
    "certs.role.next": ("Chứng thư kế tiếp", "Next certificate"),
    "certs.role.ca": ("CA được tin cậy", "Trusted CA"),
    "certs.role.axis": ("Chứng thư của Trục", "Axis certificate"),
    "certs.state.expired": ("Đã hết hạn", "Expired"),
    "certs.state.expiring": ("Sắp hết hạn", "Expiring soon"),
    "certs.hint": ("Gia hạn: đăng ký chứng thư kế tiếp (axis agency next-certificate); cả hai cùng có hiệu lực "
                   "đến khi chứng thư cũ hết hạn hoặc bị thu hồi (axis agency retire-certificate).",
                   "To renew, register the next certificate (axis agency next-certificate); both verify until "
                   "the old one expires or is retired (axis agency retire-certificate)."),
    "agencies.title": ("Danh bạ cơ quan ({count})", "Agency registry ({count})"),
    "agencies.code": ("Mã định danh", "Code"),
    "agencies.name": ("Tên cơ quan", "Name"),
    "agencies.mode": ("Hình thức nhận", "Delivery"),
    "agencies.endpoint": ("Địa chỉ nhận (endpoint)", "Endpoint"),
    "agencies.fingerprint": ("Chứng thư số (SHA-256)", "Certificate (SHA-256)"),
    "agencies.active": ("Hoạt động", "Active"),
    "agencies.sdk_clock": ("Đồng hồ SDK lệch múi giờ", "SDK clock in another zone"),
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
    "agencies.state.axis": ("Chính Trục: ký các thông báo, không nhận văn bản", AXIS_ROW_STATE.capitalize()),
    "agencies.state.active": ("Hoạt động", "Active"),
    "agencies.state.disabled": ("Đã khóa", "Disabled"),
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
        "Các lượt chuyển thất bại, hoặc chưa tới nơi sau {minutes} phút. Văn bản đang chờ cơ quan nhận tự tải về "
        "không nằm ở đây: đó là việc của nơi nhận, không phải tồn đọng.",
        "Deliveries that failed, or have not arrived after {minutes} minutes. Documents waiting for their "
        "recipient to pull them are not listed: that is up to the recipient, not stuck.",
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
    "failed.done#one": ("Đã xếp lại hàng đợi {n} lượt chuyển.", "{n} delivery queued again."),
    "failed.need_reason": ("Cần nhập lý do gửi lại.", "A reason is required."),
    "failed.need_selection": ("Chưa chọn lượt chuyển nào.", "No delivery selected."),
    "failed.threshold": ("Ngưỡng tồn đọng (phút)", "Stuck after (minutes)"),
    "failed.bad_threshold": ("«{value}» không dùng được làm ngưỡng tồn đọng: cần một số phút lớn hơn 0 (tối đa "
                             "một năm). Danh sách dưới đây dùng ngưỡng mặc định {minutes} phút.",
                             "«{value}» cannot be the stuck threshold: it must be a number of minutes above 0 (at "
                             "most a year). The list below uses the default of {minutes} minutes."),
    # operator console: hub-wide message search, a message's story, people
    "admin.nav_messages": ("Tra cứu thông điệp", "Message search"),
    "admin.nav_people": ("Người dùng", "People"),
    "search.title": ("Tra cứu thông điệp toàn Trục", "Search all messages"),
    "search.intro": (
        "Mọi thông điệp của mọi cơ quan, mới nhất trước. Mỗi lần tra cứu được ghi nhật ký.",
        "Every agency's messages, newest first. Each search is recorded in the audit log.",
    ),
    "search.document_id": ("Mã văn bản (DocumentId)", "DocumentId"),
    "search.message_id": ("Mã thông điệp", "Message id"),
    "search.sender": ("Nơi gửi (mã)", "Sender (code)"),
    "search.recipient": ("Nơi nhận (mã)", "Recipient (code)"),
    "search.kind": ("Loại thông điệp", "Kind"),
    "search.state": ("Trạng thái chuyển", "Delivery state"),
    "search.text": ("Từ trong trích yếu", "Text in subject"),
    "search.submit": ("Tra cứu", "Search"),
    "search.refused": ("Điều kiện tra cứu không hợp lệ: {detail}", "Search refused: {detail}"),
    "search.document": ("Số, ký hiệu / mã văn bản", "Number / DocumentId"),
    "search.recipients": ("Nơi nhận và trạng thái", "Recipients and states"),
    "search.none": ("Không tìm thấy thông điệp nào.", "No messages found."),
    "search.older": ("Cũ hơn »", "Older »"),
    "search.first_page": ("« Mới nhất", "« Newest"),
    "story.title": ("Thông điệp {id}", "Message {id}"),
    "story.same_document": ("« Mọi thông điệp cùng mã văn bản", "« All messages with this DocumentId"),
    "story.message": ("Thông điệp", "Message"),
    "story.size": ("Dung lượng", "Size"),
    "story.answers": ("Trả lời cho", "Answers"),
    "story.disposed": ("Nội dung đã hủy lúc", "Payload destroyed at"),
    "story.deliveries": ("Các lượt chuyển ({count})", "Deliveries ({count})"),
    "story.no_deliveries": ("Thông điệp này không có lượt chuyển nào.", "This message has no deliveries."),
    "story.attempts": ("Các lần chuyển", "Attempts"),
    "story.times": ("Thời điểm", "Times"),
    "story.receipt": ("Báo nhận (01)", "Receipt (01)"),
    "story.outcome.retry": ("lỗi, sẽ thử lại", "error, retried"),
    "story.outcome.failed": ("lỗi, đã dừng", "error, gave up"),
    "story.outcome.delivered": ("đã chuyển", "delivered"),
    "story.statuses": ("Trạng thái xử lý ({count})", "Statuses ({count})"),
    "story.trace_empty": ("Không có TraceHeader nào.", "No TraceHeader."),
    "story.trace_disposed": ("Nội dung đã bị hủy; không còn đọc được TraceHeaderList.",
                             "The payload was destroyed; the TraceHeaderList can no longer be read."),
    "story.trace_unreadable": ("Không đọc được thông điệp đã lưu: {detail}",
                               "The stored message cannot be read: {detail}"),
    "story.audit": ("Nhật ký ({count})", "Audit entries ({count})"),
    "story.audit_at": ("Thời điểm", "At"),
    "story.audit_actor": ("Người / hệ thống", "Actor"),
    "story.audit_action": ("Hành động", "Action"),
    "story.audit_details": ("Chi tiết", "Details"),
    "story.audit_queued": ("chờ niêm phong", "not yet chained"),
    "audit.key.delivery": ("Lượt chuyển", "Delivery"),
    "audit.key.recipient": ("Nơi nhận", "Recipient"),
    "audit.key.previous_state": ("Trạng thái trước", "Previous state"),
    "audit.key.attempts": ("Số lần chuyển", "Attempts"),
    "audit.key.reason": ("Lý do", "Reason"),
    "audit.key.error": ("Lỗi", "Error"),
    "audit.key.agency": ("Cơ quan", "Agency"),
    "audit.key.via": ("Qua", "Via"),
    "audit.key.address": ("Địa chỉ IP", "Address"),
    "audit.key.status": ("Trạng thái", "Status"),
    "audit.key.from": ("Từ", "From"),
    "audit.key.to": ("Đến", "To"),
    "audit.key.role": ("Vai trò", "Role"),
    "audit.key.name": ("Tên", "Name"),
    "audit.key.kind": ("Loại", "Kind"),
    "audit.key.fingerprint": ("Dấu vân tay", "Fingerprint"),
    "audit.key.filters": ("Điều kiện", "Filters"),
    "audit.key.found": ("Số kết quả", "Found"),
    "audit.key.receipt": ("Báo nhận", "Receipt"),
    "audit.key.outcome": ("Kết quả", "Outcome"),
    "audit.key.endpoint": ("Địa chỉ nhận", "Endpoint"),
    "audit.key.document_id": ("Mã văn bản", "DocumentId"),
    "audit.key.sha256": ("SHA-256", "SHA-256"),
    "audit.key.size": ("Dung lượng", "Size"),
    "audit.key.recipients": ("Nơi nhận", "Recipients"),
    "audit.key.sender": ("Nơi gửi", "Sender"),
    "people.title": ("Người dùng ({count})", "People ({count})"),
    "people.agency": ("Cơ quan", "Agency"),
    "people.role": ("Vai trò", "Role"),
    "people.change_role": ("Đổi vai trò", "Change role"),
    "people.reset_password": ("Cấp lại mật khẩu", "Reset password"),
    "people.none": ("Chưa có người dùng nào.", "No users."),
    "people.saved": ("Đã lưu thay đổi cho {login}.", "Saved the change for {login}."),
    "people.add": ("Thêm người dùng", "Add a person"),
    "people.add_intro": (
        "Người dùng tự đặt mật khẩu qua một liên kết dùng một lần. Thêm văn thư đầu tiên của một cơ quan chưa có ai "
        "thì có hiệu lực ngay; mọi trường hợp khác cần một người vận hành thứ hai xác nhận.",
        "The person sets their own password through a one-time link. An agency's first clerk (when it has nobody "
        "yet) is added at once; anything else waits for a second operator to confirm it.",
    ),
    "people.requested": ("Yêu cầu cho {login} đang chờ một người vận hành khác xác nhận.",
                         "The change for {login} waits for another operator to confirm it."),
    "people.pending": ("Chờ xác nhận ({count})", "Waiting for a second operator ({count})"),
    "people.request": ("Yêu cầu", "Request"),
    "people.requested_by": ("Người yêu cầu", "Asked by"),
    "people.kind.add": ("Thêm người dùng", "Add a person"),
    "people.kind.reset": ("Cấp lại mật khẩu", "Password reset"),
    "people.kind.role": ("Nâng vai trò", "Role raise"),
    "people.kind.first_clerk": ("Văn thư đầu tiên", "First clerk"),
    "people.confirm": ("Xác nhận", "Confirm"),
    "people.cancel": ("Hủy", "Cancel"),
    "people.needs_second": ("Cần người vận hành khác", "Needs another operator"),
    "people.open": ("Xem", "Open"),
    "people.add_submit": ("Thêm", "Add"),
    "password.title": ("Mật khẩu của {login}", "Password of {login}"),
    "password.added": ("Đã thêm người dùng {login} ({agency}).", "Added {login} ({agency})."),
    "password.reset": ("Đã cấp lại mật khẩu cho {login}; mật khẩu cũ và các phiên đăng nhập đã hết hiệu lực.",
                       "New password link for {login}; their old password and open sessions have ended."),
    "password.once": (
        "Liên kết đặt mật khẩu chỉ hiển thị MỘT LẦN, dùng được một lần trong {hours} giờ; hãy chuyển trực tiếp "
        "cho người dùng qua kênh an toàn. Trục chỉ lưu bản băm.",
        "This set-password link is shown ONCE and works once within {hours} hours; hand it to the person over a "
        "secure channel. The axis keeps only its hash.",
    ),
    "account.title": ("Mật khẩu của tôi", "My password"),
    "account.intro": ("Mật khẩu mới có ít nhất {min} ký tự; chỉ bạn biết mật khẩu này.",
                      "The new password has at least {min} characters; only you know it."),
    "account.current": ("Mật khẩu hiện tại", "Current password"),
    "account.new": ("Mật khẩu mới", "New password"),
    "account.again": ("Nhập lại mật khẩu mới", "New password again"),
    "account.submit": ("Lưu mật khẩu", "Save password"),
    "account.saved": ("Đã lưu mật khẩu mới; các phiên đăng nhập khác đã kết thúc.",
                      "Your new password is saved; your other sessions have ended."),
    "account.mismatch": ("Hai lần nhập mật khẩu mới không khớp.", "The two new passwords differ."),
    "account.wrong_current": ("Mật khẩu hiện tại không đúng.", "The current password is wrong."),
    "account.link_dead": ("Liên kết này không còn hiệu lực; hãy đề nghị người vận hành cấp liên kết mới.",
                          "This link is no longer valid; ask an operator for a new one."),
    "account.to_login": ("Đăng nhập", "Sign in"),
    "nav.password": ("Mật khẩu", "Password"),
    "health.people": ("Thay đổi người dùng", "People changes"),
    "health.people.pending": ("{kind}: {login} ({agency}, {role}) do {by} yêu cầu, chờ người vận hành thứ hai.",
                              "{kind}: {login} ({agency}, {role}) asked by {by}, waiting for a second operator."),
    "health.people.confirmed": ("{kind}: {login} ({agency}, {role}) do {by} yêu cầu, {decided} xác nhận.",
                                "{kind}: {login} ({agency}, {role}) asked by {by}, confirmed by {decided}."),
    "health.people.cancelled": ("{kind}: {login} ({agency}, {role}) do {by} yêu cầu, {decided} đã hủy.",
                                "{kind}: {login} ({agency}, {role}) asked by {by}, cancelled by {decided}."),
    "health.people.done": ("{kind}: {login} ({agency}) do {by} thêm một mình (cơ quan chưa có ai).",
                           "{kind}: {login} ({agency}) added by {by} alone (the agency had nobody)."),
    "password.back": ("« Người dùng", "« People"),
}

_DOCUMENT_TYPE_EN: Final = {t.name_vi: t.name_en for t in DOCUMENT_TYPES}


class Translator:
    """Looks UI strings up in one language; an unknown key is a bug and raises KeyError."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._index = LANGUAGES.index(self.language)
        self._locale = Locale.parse(self.language)

    def __call__(self, key: str, **values: object) -> str:
        """The string for ``key``, with ``values`` filled in; a count (``n`` or ``count``) picks its plural form."""
        for name in ("n", "count"):
            count = values.get(name)
            if isinstance(count, int) and not isinstance(count, bool):
                form = f"{key}#{self._locale.plural_form(count)}"
                key = form if form in CATALOGUE else key
                values = {**values, name: self.number(count)}  # 1.234 / 1,234
        text = CATALOGUE[key][self._index]
        return text.format(**values) if values else text

    def error(self, exc: BaseException) -> str:
        """A refusal in this language when it names its catalogue entry (``wording``), else its own words."""
        wording = getattr(exc, "wording", None)
        if wording and wording[0] in CATALOGUE:
            return self(wording[0], **wording[1])
        return str(exc)

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
        """A moment in Vietnam time, to the minute: 03/11/2026 09:05 in Vietnamese, 2026-11-03 09:05 in English."""
        if value is None:
            return "—"
        return format_datetime(value, _MOMENT[self.language], tzinfo=VN_TZ, locale=self.language)

    def when_seconds(self, value: datetime | None) -> str:
        """A moment in Vietnam time, to the second (timelines)."""
        if value is None:
            return "—"
        return format_datetime(value, _MOMENT[self.language].replace("HH:mm", "HH:mm:ss"), tzinfo=VN_TZ,
                               locale=self.language)

    def day(self, value: date | None) -> str:
        """A calendar date that cannot be misread: 03/11/2026 in Vietnamese, 2026-11-03 in English."""
        if value is None:
            return "—"
        return format_date(value, _DAY[self.language], locale=self.language)

    def day_text(self, value: date | str | None) -> str:
        """A calendar date kept as ISO text (register rows, CSV-shaped data) written the page's way."""
        if not isinstance(value, str):
            return self.day(value) if value else ""
        try:
            return self.day(date.fromisoformat(value[:10])) if value else ""
        except ValueError:
            return value

    def month(self, value: str) -> str:
        """A ``YYYY-MM`` month the page's way: 12/2026 in Vietnamese, 2026-12 in English."""
        try:
            year, mon = (int(part) for part in value.split("-"))
            return format_date(date(year, mon, 1), _MONTH[self.language], locale=self.language)
        except ValueError:
            return value

    def push_error(self, last_error: str | None) -> str:
        """Why a push attempt failed, in this language, from its stable code (the technical detail aside)."""
        words = explain(last_error)
        if words is None:
            return ""
        return self("push." + words.code, **words.values)

    def push_detail(self, last_error: str | None) -> str:
        """The technical detail of a failed push (library and host words, for operators; not translated)."""
        words = explain(last_error)
        return words.detail if words is not None else ""

    def audit_details(self, details: str | None) -> list[tuple[str, str]]:
        """An audit entry's details (stored JSON) as readable (label, value) pairs, labels from the catalogue."""
        if not details:
            return []
        try:
            parsed = json.loads(details)
        except ValueError:
            return [("", details)]
        if not isinstance(parsed, dict):
            return [("", _plain(parsed))]
        pairs = []
        for key, value in parsed.items():
            label_key = f"audit.key.{key}"
            label = self(label_key) if label_key in CATALOGUE else str(key).replace("_", " ")
            if key == "error" and isinstance(value, str):
                text = self.push_error(value)
            elif key in {"previous_state", "state"} and isinstance(value, str) and f"state.{value}" in CATALOGUE:
                text = self(f"state.{value}")
            else:
                text = _plain(value)
            pairs.append((label, text))
        return pairs

    def day_field(self, value: date | None) -> str:
        """A date as a date field shows it: the page's own way (the field's placeholder says which)."""
        return self.day(value) if value else ""

    def day_words(self, value: date | None) -> str:
        """A calendar date with the month in words (3 tháng 11, 2026 / November 3, 2026)."""
        if value is None:
            return ""
        return format_date(value, "long", locale=self.language)

    def number(self, value: float | None, decimals: int = 1) -> str:
        """A number the local way (1.234,5 in Vietnamese, 1,234.5 in English); floats keep ``decimals`` digits."""
        if value is None:
            return "—"
        pattern = "#,##0" if isinstance(value, int) or decimals <= 0 else "#,##0." + "0" * decimals
        return format_decimal(value, pattern, locale=self.language)

    def size(self, n: int) -> str:
        """A byte count in decimal units (B, kB, MB, GB: 1 kB = 1,000 B), numbers the local way."""
        if abs(n) < 1000:
            # The long form follows the language's plural rules (1 byte, 944 bytes; Vietnamese has one form),
            # where CLDR's short English form is "byte" for every count.
            return format_unit(n, "digital-byte", length="long", locale=self.language)
        for unit, scale in (("digital-kilobyte", 1e3), ("digital-megabyte", 1e6), ("digital-gigabyte", 1e9)):
            if abs(n) < scale * 1000 or unit == "digital-gigabyte":
                return format_unit(n / scale, unit, length="short", format="#,##0.0", locale=self.language)
        raise AssertionError("unreachable")  # pragma: no cover

    def duration(self, seconds: float | None) -> str:
        """A span for people: 63 ms, 1.5 s, 45 s, 3 min 20 s, 2 h 05 min (in the reader's language)."""
        if seconds is None:
            return "—"
        lang = self.language
        if seconds < 0.9995:
            return format_unit(round(seconds * 1000), "duration-millisecond", length="short", locale=lang)
        if seconds < 9.95:
            return format_unit(seconds, "duration-second", length="short", format="#,##0.0", locale=lang)
        total = int(round(seconds))
        if total < 60:
            return format_unit(total, "duration-second", length="short", locale=lang)
        if total < 3600:
            parts = [(total // 60, "duration-minute"), (total % 60, "duration-second")]
        else:
            parts = [(total // 3600, "duration-hour"), (total % 3600 // 60, "duration-minute")]
        return format_list([format_unit(v, u, length="short", locale=lang) for v, u in parts if v or u == parts[0][1]],
                           style="unit-narrow", locale=lang)


#: How a moment is written: Vietnamese day/month/year, English ISO year-month-day (never month/day).
_MOMENT: Final = {"vi": "dd/MM/yyyy HH:mm", "en": "yyyy-MM-dd HH:mm"}
_DAY: Final = {"vi": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
_MONTH: Final = {"vi": "MM/yyyy", "en": "yyyy-MM"}



def _plain(value: object) -> str:
    """A JSON value as text: lists joined by commas, objects as key=value pairs, never Python or JSON syntax."""
    if isinstance(value, bool):
        return "✔" if value else "✘"
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return str(value)


def size_text(n: int, language: str = DEFAULT_LANGUAGE) -> str:
    """A byte count for people in ``language`` (see :meth:`Translator.size`)."""
    return Translator(language).size(n)
