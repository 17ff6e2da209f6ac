"""`axis demo`: sample agencies with development keys, and realistic traffic among them.

Registration goes straight to the local database (like ``axis agency add``);
the traffic goes through a running axis over HTTP with :class:`AxisClient`,
exactly as agencies' DMS software would send it. Everything the demo needs to
run again lives under ``AXIS_HOME/demo/``: each agency's key and certificate,
``tokens.json`` (mode 0600) and ``state.json`` (the last document number used
per agency and year, since numbers restart each year).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from axis.agency.client import (
    AxisApiError,
    AxisClient,
    compose_document,
    compose_status,
    sign_message,
)
from axis.identity import KeyFiles, issue_agency_identity
from axis.runtime import run_in_session
from axis.settings import Settings
from axis.wording import counted
from envelope.codes import VN_TZ, BusinessType, Priority, StatusCode
from envelope.model import (
    Attachment,
    DocumentMessage,
    Organization,
    ResponseFor,
    SignerInfo,
)
from envelope.parser import parse_document
from signing.errors import KeyMaterialError
from signing.keys import IssuedIdentity, certificate_pem, fingerprint, load_identity
from storage.registry import agencies as registry

#: The demo agencies: real codes (mã định danh) and names.
AGENCIES: tuple[tuple[str, str], ...] = (
    ("000.00.00.G22", "Văn phòng Chính phủ"),
    ("000.00.00.H29", "UBND Thành phố Hồ Chí Minh"),
    ("000.00.00.H41", "UBND tỉnh Nghệ An"),
    ("000.00.00.G14", "Bộ Tài chính"),
    ("001.00.10.H47", "UBND huyện Duy Xuyên, tỉnh Quảng Nam"),
    ("001.00.20.H41", "UBND huyện Quỳnh Lưu, tỉnh Nghệ An"),
)
G22, H29, H41, G14, H47, H41Q = (code for code, _ in AGENCIES)
#: Agencies the axis pushes to. Quỳnh Lưu's DMS cannot be reached (nothing answers on the loopback discard
#: port, and an axis that refuses non-public addresses refuses it), so the one document sent to it fails each
#: attempt: the operators' pages have a failed delivery to resend.
ENDPOINTS: dict[str, str] = {H41Q: "https://127.0.0.1:9/edxml"}

DEFAULT_SERVER_HOST = "127.0.0.1"
#: Tries per document when its number turns out to be taken already (AXIS.Duplicate).
NUMBER_TRIES = 20


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass
class DemoAgency:
    """One demo agency as its DMS sees itself."""

    code: str
    name: str
    identity: IssuedIdentity
    key_path: Path
    cert_path: Path
    token: str = ""
    #: registered, existing, token rotated
    outcome: str = ""
    #: False when the registry pins another certificate or the agency is disabled.
    usable: bool = True
    note: str = ""

    @property
    def organization(self) -> Organization:
        return Organization(organ_id=self.code, organ_name=self.name)


@dataclass
class DemoPaths:
    """Files the demo keeps under AXIS_HOME/demo."""

    root: Path

    @property
    def tokens(self) -> Path:
        return self.root / "tokens.json"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def people(self) -> Path:
        return self.root / "people.json"


# --- files ----------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or unreadable: start afresh
        return {}
    return value if isinstance(value, dict) else {}


def _identity(settings: Settings, paths: DemoPaths, code: str, name: str) -> IssuedIdentity:
    """The agency's development identity under demo/, issued by the development CA on first use."""
    try:
        return load_identity(paths.root, code)
    except KeyMaterialError:
        return issue_agency_identity(KeyFiles(settings.keys_dir), code, name, paths.root)


# --- registration ---------------------------------------------------------------


def register_agencies(settings: Settings, paths: DemoPaths) -> list[DemoAgency]:
    """Register the demo agencies (or find them), with a working token for each."""
    paths.root.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.root, 0o700)
    agencies = [
        DemoAgency(code, name, _identity(settings, paths, code, name),
                   paths.root / f"{code}.key.pem", paths.root / f"{code}.cert.pem")
        for code, name in AGENCIES
    ]
    stored = {k: v for k, v in _read_json(paths.tokens).items() if isinstance(v, str)}

    async def work(session: AsyncSession) -> None:
        for a in agencies:
            pem = certificate_pem(a.identity.certificate)
            existing = await registry.agency_by_code(session, a.code)
            if existing is None:
                reg = await registry.register_agency(session, a.code, a.name, certificate=pem, actor="demo",
                                                     endpoint_url=ENDPOINTS.get(a.code))
                a.token, a.outcome = reg.token, "registered"
                continue
            a.name = existing.name
            token = stored.get(a.code, "")
            owner = await registry.agency_by_token(session, token) if token else None
            if owner is not None and owner.code == a.code:
                a.token, a.outcome = token, "existing"
            else:
                a.token, a.outcome = await registry.rotate_token(session, a.code, actor="demo"), "token rotated"
            if not existing.active:
                a.usable, a.note = False, "disabled in the registry: no traffic"
            elif existing.certificate_fingerprint != fingerprint(a.identity.certificate):
                a.usable = False
                a.note = (f"registry pins another certificate than {a.cert_path.name}: it neither sends nor "
                          "answers in the demo")

    try:
        run_in_session(settings, work)
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DemoError(f"cannot register the demo agencies: {first} (has `axis db upgrade` been run?)") from None
    tokens = {**stored, **{a.code: a.token for a in agencies}}
    _write_private(paths.tokens, (json.dumps(tokens, indent=2, sort_keys=True) + "\n").encode())
    return agencies


# --- sample content -------------------------------------------------------------


def _ascii(text: str) -> str:
    """Vietnamese text without diacritics (the standard PDF fonts have no Vietnamese glyphs)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def sample_pdf(lines: Sequence[str]) -> bytes:
    """A small valid one-page PDF showing ``lines`` (diacritics dropped)."""

    def esc(s: str) -> str:
        return _ascii(s).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = " T* ".join(f"({esc(line)}) Tj" for line in lines)
    stream = f"BT /F1 12 Tf 16 TL 56 780 Td {text} ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@dataclass(frozen=True)
class Sample:
    """A sample document: who sends it to whom, and what it says."""

    key: str
    sender: str
    recipients: tuple[str, ...]
    type_abbreviation: str
    notation: str
    subject: str
    priority: Priority
    signer: SignerInfo
    body: tuple[str, ...]
    place: str = "Hà Nội"
    business_type: BusinessType = BusinessType.NEW
    reason: str = ""
    revokes: str = ""
    #: Statuses each recipient sends back, in order.
    answers: dict[str, tuple[StatusCode, ...]] = field(default_factory=dict)


def samples(now: datetime) -> list[Sample]:
    """The demo's documents, in sending order."""
    month = now.month
    return [
        Sample(
            "cv", G22, (H29, H41, G14), "", "VPCP-KSTT",
            "V/v triển khai gửi, nhận văn bản điện tử qua Trục liên thông văn bản quốc gia",
            Priority.NORMAL, SignerInfo("KT. BỘ TRƯỞNG, CHỦ NHIỆM", "PHÓ CHỦ NHIỆM", "Nguyễn Văn An"),
            ("Kính gửi: các Bộ, cơ quan ngang Bộ; UBND các tỉnh, thành phố trực thuộc Trung ương.",
             "Đề nghị các cơ quan hoàn thành kết nối trước ngày 31 tháng 12.",
             "Các văn bản gửi qua Trục phải có chữ ký số của cơ quan."),
            answers={H29: (StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.HANDLING, StatusCode.COMPLETED),
                     H41: (StatusCode.ARRIVED, StatusCode.ACCEPTED),
                     G14: (StatusCode.ARRIVED, StatusCode.ACCEPTED)},
        ),
        Sample(
            "qd", G14, (H29, H41), "QĐ", "QĐ-BTC",
            f"Quyết định về việc giao dự toán thu, chi ngân sách nhà nước năm {now.year + 1}",
            Priority.URGENT, SignerInfo("KT. BỘ TRƯỞNG", "THỨ TRƯỞNG", "Trần Thị Bình"),
            ("Điều 1. Giao dự toán thu, chi ngân sách nhà nước cho các địa phương theo phụ lục kèm theo.",
             "Điều 2. Quyết định này có hiệu lực kể từ ngày ký."),
            answers={H29: (StatusCode.ARRIVED, StatusCode.ACCEPTED), H41: (StatusCode.ARRIVED,)},
        ),
        Sample(
            "gm", H41, (G22, G14), "GM", "GM-UBND",
            f"Giấy mời dự Hội nghị xúc tiến đầu tư vào tỉnh Nghệ An năm {now.year}",
            Priority.URGENT, SignerInfo("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Lê Văn Cường"),
            ("Thời gian: 08 giờ 00, thứ Sáu tuần sau.", "Địa điểm: Trung tâm Hội nghị tỉnh, TP Vinh."),
            place="Nghệ An",
            answers={G22: (StatusCode.ARRIVED, StatusCode.ACCEPTED), G14: (StatusCode.ARRIVED,)},
        ),
        Sample(
            "bc-flash", H47, (G22,), "BC", "BC-UBND",
            "Báo cáo nhanh tình hình thiệt hại do bão gây ra trên địa bàn huyện Duy Xuyên",
            Priority.FLASH, SignerInfo("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Phạm Thị Dung"),
            ("Tính đến 17 giờ hôm nay: 1.250 hộ dân được sơ tán an toàn.",
             "Không có thiệt hại về người; 320 ha lúa bị ngập úng."),
            place="Quảng Nam",
            answers={G22: (StatusCode.ARRIVED, StatusCode.ACCEPTED, StatusCode.HANDLING)},
        ),
        Sample(
            "bc", H29, (G22, G14), "BC", "BC-UBND",
            f"Báo cáo tình hình kinh tế - xã hội tháng {month} năm {now.year}",
            Priority.URGENT, SignerInfo("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Hoàng Văn Em"),
            ("Tổng sản phẩm trên địa bàn ước tăng 7,2% so với cùng kỳ.",
             "Thu ngân sách đạt 85% dự toán năm."),
            place="Thành phố Hồ Chí Minh",
            # The Ministry of Finance refuses it: a provincial report is not for it to handle.
            answers={G22: (StatusCode.ARRIVED,), G14: (StatusCode.REFUSED,)},
        ),
        Sample(
            "cv-bao", H47, (G14,), "", "UBND-TCKH",
            "V/v đề nghị hỗ trợ kinh phí khắc phục hậu quả bão trên địa bàn huyện Duy Xuyên",
            Priority.VERY_URGENT, SignerInfo("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Phạm Thị Dung"),
            ("UBND huyện Duy Xuyên kính đề nghị Bộ Tài chính xem xét hỗ trợ 15 tỷ đồng từ dự phòng ngân sách.",),
            place="Quảng Nam",
            # Left unanswered: it waits in the Ministry of Finance's inbox for its clerk.
        ),
        Sample(
            "revoke", G14, (H29, H41), "", "BTC-NSNN",
            "V/v thu hồi Quyết định giao dự toán ngân sách nhà nước",
            Priority.URGENT, SignerInfo("KT. BỘ TRƯỞNG", "THỨ TRƯỞNG", "Trần Thị Bình"),
            ("Bộ Tài chính thu hồi Quyết định đã gửi do ban hành nhầm số liệu tại Phụ lục II.",),
            business_type=BusinessType.REVOKE, reason="Ban hành nhầm số liệu tại Phụ lục II", revokes="qd",
            answers={H29: (StatusCode.ARRIVED, StatusCode.REVOKE_AGREED),
                     H41: (StatusCode.ARRIVED, StatusCode.REVOKE_AGREED)},
        ),
        Sample(
            "cd-lu", H41, (H41Q,), "CĐ", "CĐ-UBND",
            "Công điện về việc chủ động ứng phó với mưa lũ trên địa bàn huyện Quỳnh Lưu",
            Priority.FLASH, SignerInfo("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Lê Văn Cường"),
            ("Yêu cầu UBND huyện Quỳnh Lưu triển khai ngay phương án sơ tán dân ở vùng trũng thấp.",),
            place="Nghệ An",
            # Pushed to Quỳnh Lưu's DMS, which does not answer: the delivery an operator resends.
        ),
    ]


def _attachments(sample: Sample, number: str, now: datetime) -> list[Attachment]:
    stem = f"{sample.notation.lower()}-{number}"
    header = [sample.subject, f"So: {number}/{sample.notation}", f"Ngay {now:%d/%m/%Y}", ""]
    pdf = sample_pdf([*header, *sample.body, "", sample.signer.position, sample.signer.full_name])
    note = "\n".join([sample.subject, "", *sample.body, ""]).encode("utf-8")
    return [
        Attachment("cid:1", f"{_ascii(stem)}.pdf", "application/pdf", pdf, description="Văn bản chính"),
        Attachment("cid:2", "noi-dung.txt", "text/plain", note, description="Nội dung tóm tắt"),
    ]


# --- traffic --------------------------------------------------------------------


@dataclass
class Traffic:
    """What the demo sent."""

    documents: int = 0
    statuses: int = 0
    #: The axis's message ids of the documents sent, so a second run knows the traffic is there.
    ids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    inboxes: dict[str, tuple[int, int]] = field(default_factory=dict)


async def probe(url: str, timeout: float = 3.0) -> bool:
    """True when an axis answers /healthz at ``url``."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url.rstrip("/") + "/healthz") as r:
                return r.status == 200
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
        return False


async def send_traffic(url: str, agencies: Sequence[DemoAgency], numbers: dict[str, int],
                       now: datetime | None = None) -> Traffic:
    """Send the sample documents and the recipients' statuses through the axis at ``url``."""
    now = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    by_code = {a.code: a for a in agencies}
    result = Traffic()
    sent: dict[str, DocumentMessage] = {}
    ids: dict[str, str] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        clients = {a.code: AxisClient(url, a.token, session=http) for a in agencies}
        step = "checking the demo tokens"
        try:
            for a in agencies:
                if a.usable:
                    await clients[a.code].inbox(limit=1)
            for sample in samples(now):
                sender = by_code[sample.sender]
                if not sender.usable:
                    result.skipped.append(f"{sample.key} (sender {sender.code} unusable)")
                    continue
                if sample.revokes and sample.revokes not in sent:
                    result.skipped.append(f"{sample.key} (nothing to revoke)")
                    continue
                step = f"sending {sample.key} from {sample.sender}"
                doc, reply = await _submit_new(clients[sender.code], sender, sample, by_code, numbers, now,
                                               sent.get(sample.revokes))
                sent[sample.key], ids[sample.key] = doc, reply["id"]
                result.documents += 1
                result.ids.append(reply["id"])
                for code, answers in sample.answers.items():
                    recipient = by_code[code]
                    if not recipient.usable:
                        continue
                    step = f"{code} answering {sample.key}"
                    client = clients[code]
                    received = parse_document(await client.fetch(reply["id"]))
                    for status in answers:
                        st = compose_status(sender=recipient.organization, document=received, code=status,
                                            description=_status_text(status))
                        await client.post_status(
                            sign_message(st, recipient.identity.key, recipient.identity.certificate))
                        result.statuses += 1
            step = "reading the inboxes"
            for a in agencies:
                if a.usable:
                    items = (await clients[a.code].inbox(limit=500))["items"]
                    result.inboxes[a.code] = (sum(i["kind"] == "edoc" for i in items),
                                              sum(i["kind"] == "status" for i in items))
        except AxisApiError as exc:
            if exc.code == "AXIS.Unauthorized":
                raise DemoError(
                    f"the axis at {url} does not know the demo tokens ({step}): it must run on the same "
                    "database as this command (AXIS_DATABASE_URL / AXIS_HOME)") from None
            raise DemoError(f"{step}: {exc.code or exc.status}: {exc.problem.get('detail', '')}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DemoError(f"{step}: lost the axis at {url}: {exc or type(exc).__name__}") from None
    return result


def _status_text(code: StatusCode) -> str:
    return {
        StatusCode.REFUSED: "Không thuộc thẩm quyền giải quyết của Bộ Tài chính",
        StatusCode.ARRIVED: "Hệ thống quản lý văn bản đã nhận văn bản",
        StatusCode.ACCEPTED: "Văn thư đã vào sổ văn bản đến",
        StatusCode.HANDLING: "Đã chuyển chuyên viên xử lý",
        StatusCode.COMPLETED: "Đã xử lý xong",
        StatusCode.REVOKE_AGREED: "Đồng ý thu hồi văn bản",
    }.get(code, "")


async def _submit_new(client: AxisClient, sender: DemoAgency, sample: Sample, by_code: dict[str, DemoAgency],
                      numbers: dict[str, int], now: datetime,
                      revoked: DocumentMessage | None) -> tuple[DocumentMessage, dict[str, Any]]:
    """Submit a sample under the sender's next number, skipping numbers already taken."""
    counter = f"{sender.code}/{now.year}"
    for _ in range(NUMBER_TRIES):
        numbers[counter] = numbers.get(counter, 0) + 1
        number = str(numbers[counter])
        doc = compose_document(
            sender=sender.organization,
            recipients=[by_code[c].organization for c in sample.recipients],
            subject=sample.subject,
            number=number,
            notation=sample.notation,
            type_abbreviation=sample.type_abbreviation,
            attachments=_attachments(sample, number, now),
            content=" ".join(sample.body),
            priority=sample.priority,
            place=sample.place,
            promulgation_date=now.date(),
            signer=sample.signer,
            business_type=sample.business_type,
            reason=sample.reason,
            response_for=[ResponseFor.to_document(revoked)] if revoked is not None else (),
        )
        signed = sign_message(doc, sender.identity.key, sender.identity.certificate)
        try:
            return doc, await client.submit(signed)
        except AxisApiError as exc:
            if exc.code != "AXIS.Duplicate":
                raise
    raise DemoError(f"{sender.code}: {NUMBER_TRIES} document numbers in a row are already taken today")


# --- the command ----------------------------------------------------------------


def default_server(settings: Settings) -> str:
    """The axis `axis serve` would run with these settings, as a loopback URL."""
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else DEFAULT_SERVER_HOST
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def run_demo(settings: Settings, server: str | None) -> list[str]:
    """Register the demo agencies, then send sample traffic if an axis answers; return a summary."""
    paths = DemoPaths(settings.home / "demo")
    agencies = register_agencies(settings, paths)
    lines = [f"demo agencies (keys and certificates in {paths.root}, tokens in {paths.tokens}):"]
    for a in agencies:
        lines.append(f"  {a.code}  {a.outcome:<13}  {a.name}" + (f"  [{a.note}]" if a.note else ""))

    url = server or default_server(settings)
    if not asyncio.run(probe(url)):
        if server:
            raise DemoError(f"no axis answers at {url}/healthz (agencies are registered; start the axis and "
                            "run `axis demo` again to send sample traffic)")
        lines.append(f"no axis answers at {url}: registered only, no traffic sent.")
        lines.append("start one with `axis serve` (same AXIS_HOME / AXIS_DATABASE_URL) and run `axis demo` again.")
        return lines

    state = _read_json(paths.state)
    numbers = {k: v for k, v in state.get("numbers", {}).items() if isinstance(v, int)}
    before = [i for i in state.get("sent", []) if isinstance(i, str)]
    there = _still_stored(settings, before)
    if there:
        # Running the demo again must not pile up another copy of every sample.
        lines.append(f"sample traffic already sent ({counted(there, 'document')} in the database): nothing sent "
                     "again (a fresh database gets it anew)")
    else:
        traffic = Traffic()
        try:
            traffic = asyncio.run(send_traffic(url, agencies, numbers))
        finally:
            _write_private(paths.state, (json.dumps({"numbers": numbers, "sent": traffic.ids}, indent=2,
                                                    sort_keys=True) + "\n").encode())
        lines.append(f"sent {counted(traffic.documents, 'document')} and {counted(traffic.statuses, 'status')} "
                     f"through {url}")
        for skipped in traffic.skipped:
            lines.append(f"  skipped: {skipped}")
        lines.append("waiting in inboxes:")
        for code, (docs, statuses) in traffic.inboxes.items():
            lines.append(f"  {code}  {counted(docs, 'document')}, {counted(statuses, 'status')}")
    for code, endpoint in ENDPOINTS.items():
        lines.append(f"{code} is pushed to {endpoint}, which the axis cannot reach: its delivery fails; an "
                     f"operator finds it on {url}/admin/deliveries and resends it")
    look = G14
    lines.extend(_web_people(settings, paths, look, url))
    lines.append("look:")
    lines.append(f"  axis inbox --server {url} --as {look} --token \"$(jq -r '.\"{look}\"' {paths.tokens})\"")
    lines.append(f"  (to send or answer as {look}: --key {paths.root / (look + '.key.pem')} "
                 f"--cert {paths.root / (look + '.cert.pem')})")
    return lines


def _still_stored(settings: Settings, ids: list[str]) -> int:
    """How many of the demo's earlier documents the database still holds (0 after a reset)."""
    if not ids:
        return 0
    from sqlalchemy import func

    from storage.models import Message

    async def work(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Message)
                                          .where(Message.id.in_(ids)))).scalar_one())

    return run_in_session(settings, work)


# --- people for the web UI ------------------------------------------------------------

#: (login, role) of the people the demo signs up for the agency it suggests, and the axis's operator.
PEOPLE: tuple[tuple[str, str], ...] = (("vanthu.g14", "clerk"), ("luutru.g14", "archivist"), ("vanhanh", "operator"))


def _web_people(settings: Settings, paths: DemoPaths, look: str, url: str) -> list[str]:
    """Sign up a clerk and an archivist of ``look`` and an operator (passwords in demo/people.json, 0600),
    and put one of ``look``'s documents under a legal hold, so every page of that agency shows something."""
    from axis.archive.holds import list_holds, place_hold
    from storage.models import Agency, Message
    from storage.people.accounts import add_user, user_by_login

    stored = {k: v for k, v in _read_json(paths.people).items() if isinstance(v, str)}

    async def work(session: AsyncSession) -> list[str]:
        made = []
        for login, role in PEOPLE:
            agency = settings.axis_code if role == "operator" else look
            if await registry.agency_by_code(session, agency) is None:
                continue  # the axis's own row exists once `axis serve` has run
            if await user_by_login(session, login) is None:
                stored[login] = stored.get(login) or secrets.token_urlsafe(12)
                await add_user(session, login, agency, role, stored[login], actor="demo")
            if login in stored:
                made.append(login)
        if not await list_holds(session, include_released=False):
            first = (await session.execute(
                select(Message.id).join(Agency, Agency.id == Message.sender_id)
                .where(Agency.code == look, Message.kind == "edoc").order_by(Message.received_at).limit(1)
            )).scalar_one_or_none()
            if first is not None:
                await place_hold(session, name="Thanh tra ngân sách", authority="Thanh tra Chính phủ",
                                 reason="Hồ sơ phục vụ thanh tra việc giao dự toán", by="luutru.g14",
                                 now=datetime.now(VN_TZ), message_ids=[first])
        return made

    made = run_in_session(settings, work)
    _write_private(paths.people, (json.dumps(stored, indent=2, sort_keys=True) + "\n").encode())
    if not made:
        return []
    lines = [f"web UI: {url}/login (passwords in {paths.people}):"]
    for login, role in PEOPLE:
        if login in made:
            lines.append(f"  {login:<11} {role}")
    return lines
