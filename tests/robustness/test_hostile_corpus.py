"""A corpus of hostile submissions, each with the answer the axis owes it.

Every case builds its request bytes against one running axis (agencies, certificates and
a few accepted messages set up once for the module), and is checked the same way: the
problem+json status and ``code`` (and ``field`` / ``reason`` where the case is about one),
nothing stored (rows, states, audit entries, blob files), and ``/healthz`` still answering.

Then the inputs that look hostile but are legitimate: injection strings in every text
field of a correctly signed document, comment and CDATA tricks that leave the signed text
unchanged, and path tricks in attachment names. Those are accepted, stored byte for byte,
and read back exactly as signed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import update

from axis.agency.client import compose_document, compose_status, sign_message
from envelope.builder import build_document, build_status
from envelope.codes import BusinessType, StatusCode
from envelope.limits import DEFAULT_FIELD_LIMIT
from envelope.model import (
    Attachment,
    Bussiness,
    DocumentMessage,
    DocumentType,
    Organization,
    OtherInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
)
from envelope.namespaces import DS_NS, EDXML_NS, NSMAP
from envelope.parser import parse_document
from envelope.text import nfc
from envelope.validation import MAX_TYPE_NAME
from signing.keys import DevelopmentCA, IssuedIdentity, generate_private_key, self_signed_certificate
from signing.signer import sign_envelope
from storage.models import Agency
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Agent, Harness, server_settings, start_server
from tests.signing.custom_signing import sign_with

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
INACTIVE, DISABLED = "000.00.00.G14", "001.00.10.H47"
EXPIRED, NOT_YET_VALID = "000.00.00.G05", "000.00.00.G06"
UNREGISTERED = "000.00.00.G99"
AXIS_CODE = "000.00.00.A00"
DOCUMENTS, STATUSES = "/api/v1/documents", "/api/v1/statuses"
#: Body limit of the corpus server: small, so "too large" cases stay cheap.
LIMIT = 256 * 1024
DS = f"{{{DS_NS}}}"


# --- the world every case is built against -----------------------------------------------------------------


@dataclass
class World:
    """The running axis, its agencies, and messages it has already accepted."""

    axis: Harness
    a: Agent
    b: Agent
    c: Agent
    disabled: Agent
    expired: Agent
    not_yet_valid: Agent
    stranger: IssuedIdentity  # self-signed, never registered
    foreign_ca: IssuedIdentity  # issued for A's code by a CA the axis does not trust
    sent: DocumentMessage  # A -> B, accepted
    sent_signed: bytes
    b_sent: DocumentMessage  # B -> C, accepted
    b_sent_signed: bytes
    status_signed: bytes  # B's status 03 about ``sent``, accepted

    def new(self, sender: Agent | None = None, to: tuple[Agent | str, ...] | None = None,
            **kw: Any) -> tuple[DocumentMessage, bytes]:
        """A fresh, correctly signed document (A -> B by default)."""
        return (sender or self.a).document(list(to or (self.b,)), **kw)

    def signed(self) -> bytes:
        """A fresh, correctly signed document from A to B."""
        return self.new()[1]

    def edited_then_signed(self, old: str | bytes, new: str | bytes, *, sender: Agent | None = None,
                           count: int = 1, **kw: Any) -> bytes:
        """Build a fresh document, change its bytes, then sign it: a hostile but genuine signature."""
        sender = sender or self.a
        doc, _ = self.new(sender, **kw)
        return sign_envelope(edit(build_document(doc), old, new, count), sender.identity.key,
                             sender.identity.certificate)

    def signed_then_edited(self, old: str | bytes, new: str | bytes, count: int = 1) -> bytes:
        """A fresh signed document changed after signing."""
        return edit(self.signed(), old, new, count)

    def status_edited_then_signed(self, old: str | bytes, new: str | bytes, *, code: StatusCode = StatusCode.ACCEPTED,
                                  description: str = "Đã tiếp nhận") -> bytes:
        """B's status about ``sent``, changed before B signs it."""
        st = compose_status(sender=self.b.organization, document=self.sent, code=code, description=description)
        return sign_envelope(edit(build_status(st), old, new), self.b.identity.key, self.b.identity.certificate)


def edit(raw: bytes, old: str | bytes, new: str | bytes, count: int = 1) -> bytes:
    """Replace ``old`` by ``new`` (``count`` times); the text must be there."""
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new
    assert old_b in raw, f"{old_b[:80]!r} not in the message"
    return raw.replace(old_b, new_b, count)


def tree(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, huge_tree=True))


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signature(root: etree._Element) -> etree._Element:
    (sig,) = root.iter(DS + "Signature")
    return sig


def xml_tree_edit(w: World, change: Callable[[etree._Element], None]) -> bytes:
    """A fresh signed document from A, changed as a tree after signing."""
    root = tree(w.signed())
    change(root)
    return serialize(root)


#: Every case twice: bodies held in memory, and every body spooled to a file and verified as a stream.
SPOOL_THRESHOLDS = {"in_memory": LIMIT, "streamed": 0}


@pytest.fixture(scope="module", params=list(SPOOL_THRESHOLDS))
async def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("hostile")
    async with db_template.clone(tmp) as url:
        settings = server_settings(tmp / "home", url, max_message_bytes=LIMIT,
                                   spool_threshold_bytes=SPOOL_THRESHOLDS[request.param])
        axis, server = await start_server(settings, test_ca, identities)
        try:
            now = dt.datetime.now(dt.UTC)
            axis.identities.setdefault(EXPIRED, test_ca.issue(
                "Sở Hết Hạn", organ_id=EXPIRED, not_before=now - dt.timedelta(days=800),
                not_after=now - dt.timedelta(days=1)))
            axis.identities.setdefault(NOT_YET_VALID, test_ca.issue(
                "Sở Chưa Hiệu Lực", organ_id=NOT_YET_VALID, not_before=now + dt.timedelta(days=30),
                not_after=now + dt.timedelta(days=400)))
            a, b, c = await axis.register(A), await axis.register(B), await axis.register(C)
            disabled = await axis.register(DISABLED)
            await axis.register(INACTIVE)
            expired = await axis.register(EXPIRED)
            not_yet_valid = await axis.register(NOT_YET_VALID)
            async with axis.ctx.sessions() as session, session.begin():
                await session.execute(update(Agency).where(Agency.code.in_((INACTIVE, DISABLED))).values(active=False))
            axis.ctx.registry.invalidate()  # changed behind the registry's back, as an operator's SQL would
            stranger_key = generate_private_key("rsa")
            stranger = IssuedIdentity(stranger_key, self_signed_certificate(stranger_key, "Kẻ mạo danh", organ_id=A))
            foreign_ca = DevelopmentCA.create(common_name="Untrusted CA").issue("Giả VPCP", organ_id=A)

            sent, sent_signed = a.document([b], subject="Văn bản đã gửi")
            assert (await call(axis, "POST", DOCUMENTS, token=a, data=sent_signed)).status == 202
            b_sent, b_sent_signed = b.document([c], subject="Văn bản của B")
            assert (await call(axis, "POST", DOCUMENTS, token=b, data=b_sent_signed)).status == 202
            status_signed = b.status(sent, StatusCode.ACCEPTED, "Đã tiếp nhận")
            assert (await call(axis, "POST", STATUSES, token=b, data=status_signed)).status == 202
            yield World(axis, a, b, c, disabled, expired, not_yet_valid, stranger, foreign_ca,
                        sent, sent_signed, b_sent, b_sent_signed, status_signed)
        finally:
            await server.close()


# --- the corpus ----------------------------------------------------------------------------------------------

Body = bytes | Callable[[], AsyncIterator[bytes]]


@dataclass(frozen=True)
class Request:
    """What one case sends."""

    body: Body
    path: str = DOCUMENTS
    token: str | None = "a"  # an attribute of World naming the Agent, a literal token, or None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """A named hostile input and the answer it must get."""

    name: str
    build: Callable[[World], Request]
    status: int
    code: str | None  # None: not a problem (a repeat answered 200)
    field: str | None = None
    reason: str | None = None


def doc(body: bytes, **kw: Any) -> Request:
    return Request(body, **kw)


def chunked(total: int) -> Callable[[], AsyncIterator[bytes]]:
    async def gen() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            yield b"x" * 4096
            sent += 4096
    return gen


XXE_FILE = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="{EDXML_NS}">&xxe;</edXML>""".encode()
XXE_EXTERNAL_DTD = f"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">
<edXML xmlns="{EDXML_NS}"/>""".encode()
XXE_PARAMETER = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<edXML xmlns="{EDXML_NS}"/>""".encode()
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE edXML [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + f']>\n<edXML xmlns="{EDXML_NS}">&lol9;</edXML>'.encode()
)
QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE edXML [<!ENTITY a "' + b"A" * 50_000 + b'">]>\n'
    + f'<edXML xmlns="{EDXML_NS}">'.encode() + b"&a;" * 2_000 + b"</edXML>"
)


def _late_dtd(w: World) -> Request:
    head, rest = w.signed().split(b"\n", 1)
    return doc(head + b"\n<!--" + b" " * 8192 + b'-->\n<!DOCTYPE edXML [<!ENTITY e "x">]>\n' + rest)


def _wrapped(w: World) -> Request:
    wrapper = etree.Element("Wrapper")
    wrapper.append(tree(w.signed()))
    return doc(serialize(wrapper))


def _move_signature(where: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        def change(root: etree._Element) -> None:
            sig = signature(root)
            header = sig.getparent()
            {
                "root_end": lambda: root.append(sig),
                "before_trace": lambda: header.find("edXML:TraceHeaderList", NSMAP).addprevious(sig),
                "message_header": lambda: header.find("edXML:MessageHeader", NSMAP).append(sig),
                "body": lambda: root.find(".//edXML:edXMLBody", NSMAP).append(sig),
            }[where]()
        return doc(xml_tree_edit(w, change))
    return build


def _second_signature(w: World) -> Request:
    return doc(xml_tree_edit(w, lambda root: root.find("edXML:AttachmentEncoded", NSMAP).append(
        copy.deepcopy(signature(root)))))


def _xsw_header_in_object(w: World) -> Request:
    def change(root: etree._Element) -> None:
        sig = signature(root)
        original = sig.getparent().find("edXML:MessageHeader", NSMAP)
        forged = copy.deepcopy(original)
        forged.find("edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
        original.addprevious(forged)
        etree.SubElement(sig, DS + "Object").append(original)
    return doc(xml_tree_edit(w, change))


def _xsw_header_moved_to_attachments(w: World) -> Request:
    def change(root: etree._Element) -> None:
        original = signature(root).getparent().find("edXML:MessageHeader", NSMAP)
        forged = copy.deepcopy(original)
        forged.find("edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
        original.addprevious(forged)
        root.find("edXML:AttachmentEncoded", NSMAP).append(original)
    return doc(xml_tree_edit(w, change))


def _xsw_whole_original_in_object(w: World) -> Request:
    original = tree(w.signed())
    forged = copy.deepcopy(original)
    forged.find(".//edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
    etree.SubElement(signature(forged), DS + "Object").append(original)
    return doc(serialize(forged))


def _signature_attr(path: str, attr: str, value: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        return doc(xml_tree_edit(w, lambda root: signature(root).find(path, NSMAP).set(attr, value)))
    return build


def _second_reference(w: World) -> Request:
    def change(root: etree._Element) -> None:
        ref = signature(root).find("ds:SignedInfo/ds:Reference", NSMAP)
        ref.addnext(copy.deepcopy(ref))
    return doc(xml_tree_edit(w, change))


def _swap_certificate(w: World) -> Request:
    def change(root: etree._Element) -> None:
        cert = signature(root).find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP)
        donor = signature(tree(w.b.document([w.c])[1])).find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP)
        cert.text = donor.text
    return doc(xml_tree_edit(w, change))


def _garble(path: str, text: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        def change(root: etree._Element) -> None:
            signature(root).find(path, NSMAP).text = text
        return doc(xml_tree_edit(w, change))
    return build


def _drop_key_info(w: World) -> Request:
    def change(root: etree._Element) -> None:
        key_info = signature(root).find("ds:KeyInfo", NSMAP)
        key_info.getparent().remove(key_info)
    return doc(xml_tree_edit(w, change))


def _signed_by(identity_of: Callable[[World], IssuedIdentity], code: str = A) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        impostor = Agent(code, code, w.a.token, identity_of(w), w.axis)
        return doc(impostor.document([w.b])[1])
    return build


def _sha1(signature_algorithm: str, digest_algorithm: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        d, _ = w.new()
        return doc(sign_with(build_document(d), w.a.identity.key, w.a.identity.certificate,
                             signature_algorithm=signature_algorithm, digest_algorithm=digest_algorithm))
    return build


def _status_with_attachment(w: World) -> Request:
    st = compose_status(sender=w.b.organization, document=w.sent, code=StatusCode.ACCEPTED, description="x")
    raw = edit(build_status(st), "</edXML>",
               "<AttachmentEncoded><Attachment><ContentId>cid:1</ContentId><AttachmentName>a.pdf</AttachmentName>"
               "<ContentType>application/pdf</ContentType>"
               "<edXML:ContentTransferEncoded xmlns:edXML=\"" + EDXML_NS + "\">YWJj</edXML:ContentTransferEncoded>"
               "</Attachment></AttachmentEncoded></edXML>")
    return doc(sign_envelope(raw, w.b.identity.key, w.b.identity.certificate), path=STATUSES, token="b")


def _inject_after(anchor: str, element: str) -> Callable[[World], Request]:
    """A signed document with ``element`` added right after ``anchor`` before signing."""
    def build(w: World) -> Request:
        return doc(w.edited_then_signed(anchor, anchor + element))
    return build


def _pre(old: str | bytes, new: str | bytes, count: int = 1, **kw: Any) -> Callable[[World], Request]:
    return lambda w: doc(w.edited_then_signed(old, new, count=count, **kw))


def _pre_re(pattern: bytes, replacement: bytes) -> Callable[[World], Request]:
    """A signed document whose unsigned bytes had ``pattern`` (regex, once) replaced before signing."""
    def build(w: World) -> Request:
        d, _ = w.new()
        raw = build_document(d)
        changed = re.sub(pattern, replacement, raw, count=1, flags=re.S)
        assert changed != raw, pattern
        return doc(sign_envelope(changed, w.a.identity.key, w.a.identity.certificate))
    return build


def _post(old: str | bytes, new: str | bytes, count: int = 1) -> Callable[[World], Request]:
    return lambda w: doc(w.signed_then_edited(old, new, count=count))


def _nested(depth: int) -> str:
    return "<edXML:X>" * depth + "x" + "</edXML:X>" * depth


SUBJECT = "<edXML:Subject>Về việc triển khai văn bản điện tử</edXML:Subject>"
CONTENT = "<edXML:Content></edXML:Content>"
REF_NAME = "<edXML:AttachmentName>cong-van.pdf</edXML:AttachmentName>"
ATT_NAME = "<AttachmentName>cong-van.pdf</AttachmentName>"
BASE64_OPEN = f'<edXML:ContentTransferEncoded xmlns:edXML="{EDXML_NS}">'
MANIFEST_END = "</edXML:Reference>\n      </edXML:edXMLManifest>"
ATTACHMENT_END = "</Attachment>\n  </AttachmentEncoded>"
BAD_B64 = BASE64_OPEN + "@@@@not*base64!!"


def _replace_base64(value: str) -> Callable[[World], Request]:
    def build(w: World) -> Request:
        d, _ = w.new()
        raw = build_document(d)
        raw = re.sub(re.escape(BASE64_OPEN.encode()) + rb"[^<]*", BASE64_OPEN.encode() + value.encode(), raw)
        return doc(sign_envelope(raw, w.a.identity.key, w.a.identity.certificate))
    return build


CASES: list[Case] = [
    # --- size, before anything else -------------------------------------------------------------------------
    Case("empty_body", lambda w: doc(b""), 400, "AXIS.Validation"),
    Case("oversized_body", lambda w: doc(b"<" + b"x" * (LIMIT + 1)), 413, "AXIS.SizeLimitExceeded"),
    Case("oversized_chunked_body_without_length", lambda w: doc(chunked(LIMIT + 8192)), 413,
         "AXIS.SizeLimitExceeded"),
    Case("oversized_body_without_token", lambda w: doc(b"x" * (LIMIT + 1), token=None), 413,
         "AXIS.SizeLimitExceeded"),
    Case("huge_attribute_over_the_limit", _post("<edXML:Subject>", '<edXML:Subject a="' + "A" * LIMIT + '">'), 413,
         "AXIS.SizeLimitExceeded"),
    Case("huge_text_over_the_limit", _pre(SUBJECT, "<edXML:Subject>" + "Đ" * LIMIT + "</edXML:Subject>"), 413,
         "AXIS.SizeLimitExceeded"),
    # --- who is calling -------------------------------------------------------------------------------------
    Case("no_token", lambda w: doc(w.signed(), token=None), 401, "AXIS.Unauthorized"),
    Case("wrong_token", lambda w: doc(w.signed(), token="axis_not-a-real-token"), 401, "AXIS.Unauthorized"),
    Case("basic_auth_instead_of_bearer", lambda w: doc(w.signed(), token=None, headers={
        "Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}), 401, "AXIS.Unauthorized"),
    Case("sql_injection_as_token", lambda w: doc(w.signed(), token="' OR '1'='1"), 401, "AXIS.Unauthorized"),
    Case("disabled_agency_token", lambda w: doc(w.disabled.document([w.b])[1], token="disabled"), 403,
         "AXIS.Forbidden"),
    # --- not XML, or unsafe XML -----------------------------------------------------------------------------
    Case("not_xml", lambda w: doc(b"this is not xml at all"), 400, "AXIS.Validation"),
    Case("truncated_xml", lambda w: doc(w.signed()[:1500]), 400, "AXIS.Validation"),
    Case("unclosed_element", lambda w: doc(f'<edXML xmlns="{EDXML_NS}"><unclosed></edXML>'.encode()), 400,
         "AXIS.Validation"),
    Case("binary_garbage", lambda w: doc(b"\xff\xfe\x00<\x00e\x00d" + bytes(range(256))), 400, "AXIS.Validation"),
    Case("nul_bytes", lambda w: doc(b"\x00" * 1000), 400, "AXIS.Validation"),
    Case("invalid_utf8_in_text", _post("Về việc".encode(), b"V\xc3\x28 vi\xff"), 400, "AXIS.Validation"),
    Case("raw_control_character_in_text", _post("Về việc", "Về\x01việc"), 400, "AXIS.Validation"),
    Case("control_character_reference", _post("Về việc", "Về&#1;việc"), 400, "AXIS.Validation"),
    Case("xxe_file_entity", lambda w: doc(XXE_FILE), 400, "AXIS.Validation"),
    Case("xxe_external_dtd", lambda w: doc(XXE_EXTERNAL_DTD), 400, "AXIS.Validation"),
    Case("xxe_parameter_entity", lambda w: doc(XXE_PARAMETER), 400, "AXIS.Validation"),
    Case("billion_laughs", lambda w: doc(BILLION_LAUGHS), 400, "AXIS.Validation"),
    Case("quadratic_blowup", lambda w: doc(QUADRATIC), 400, "AXIS.Validation"),
    Case("dtd_after_a_long_comment", _late_dtd, 400, "AXIS.Validation"),
    Case("bare_doctype_before_a_signed_document", lambda w: doc(edit(w.signed(), "?>\n", "?>\n<!DOCTYPE edXML>\n")), 400,
         "AXIS.Validation"),
    Case("xxe_in_a_status", lambda w: doc(XXE_FILE, path=STATUSES, token="b"), 400, "AXIS.Validation"),
    Case("deeply_nested_elements_in_a_field", _post(SUBJECT, "<edXML:Subject>" + _nested(100) + "</edXML:Subject>"),
         400, "AXIS.Validation"),
    Case("twenty_thousand_levels_deep", lambda w: doc(b"<a>" * 20_000 + b"</a>" * 20_000), 400, "AXIS.Validation"),
    # --- not edXML ------------------------------------------------------------------------------------------
    Case("root_is_not_edxml", lambda w: doc(b"<?xml version='1.0'?><html><body>hi</body></html>"), 400,
         "AXIS.Validation", field="edXML"),
    Case("wrong_namespace", _post(EDXML_NS, "urn:example:not-edxml", count=-1), 400, "AXIS.Validation",
         field="edXML"),
    Case("no_namespace_on_root", _post(f'<edXML xmlns="{EDXML_NS}">', "<edXML>"), 400, "AXIS.Validation",
         field="edXML"),
    Case("edxml_field_in_a_foreign_namespace", _pre(SUBJECT, '<x:Subject xmlns:x="urn:evil">Giả</x:Subject>'), 400,
         "AXIS.Validation", field="MessageHeader/Subject"),
    Case("signed_envelope_wrapped_in_a_foreign_root", _wrapped, 400, "AXIS.Validation", field="edXML"),
    Case("status_posted_as_a_document", lambda w: doc(w.b.status(w.sent, StatusCode.ASSIGNED), token="b"), 400,
         "AXIS.Validation", field="StatusCode"),
    Case("document_posted_as_a_status", lambda w: doc(w.signed(), path=STATUSES), 400, "AXIS.Validation",
         field="StatusCode"),
    # --- missing, duplicated and malformed fields (all correctly signed) -----------------------------------
    Case("missing_subject", _pre(SUBJECT, ""), 400, "AXIS.Validation", field="MessageHeader/Subject"),
    Case("blank_subject", _pre(SUBJECT, "<edXML:Subject>  \n </edXML:Subject>"), 400, "AXIS.Validation",
         field="MessageHeader/Subject"),
    Case("duplicate_subject", _pre(SUBJECT, SUBJECT + SUBJECT), 400, "AXIS.Validation",
         field="MessageHeader/Subject"),
    Case("missing_document_id", _pre_re(rb"<edXML:DocumentId>[^<]*</edXML:DocumentId>", b""), 400,
         "AXIS.Validation", field="MessageHeader/DocumentId"),
    Case("duplicate_document_id", lambda w: doc(w.edited_then_signed(
        "</edXML:DocumentId>", "</edXML:DocumentId><edXML:DocumentId>000.00.00.G22,2026/11/20,1/X</edXML:DocumentId>"
    )), 400, "AXIS.Validation", field="MessageHeader/DocumentId"),
    # Another date or number in the DocumentId is recorded, not refused; another agency's is a squat.
    Case("document_id_naming_another_agency", _pre("000.00.00.G22,2026/11/20,", "000.00.00.H29,2026/11/20,"), 400,
         "AXIS.Validation", field="MessageHeader/DocumentId"),
    Case("missing_from", _pre_re(rb"<edXML:From>.*?</edXML:From>", b""), 400, "AXIS.Validation",
         field="MessageHeader/From"),
    Case("duplicate_from", lambda w: doc(w.edited_then_signed(
        "<edXML:To>", "<edXML:From><edXML:OrganId>000.00.00.H29</edXML:OrganId><edXML:OrganName>B</edXML:OrganName>"
        "</edXML:From><edXML:To>")), 400, "AXIS.Validation", field="MessageHeader/From"),
    Case("missing_to", _pre_re(rb"<edXML:To>.*?</edXML:To>", b""), 400, "AXIS.Validation",
         field="MessageHeader/To"),
    Case("missing_trace_header", _pre_re(rb"<edXML:TraceHeader>.*?</edXML:TraceHeader>", b""), 400,
         "AXIS.Validation", field="TraceHeaderList/TraceHeader"),
    Case("element_inside_a_text_field", _pre(SUBJECT, '<edXML:Subject>Về <xi:include xmlns:xi='
                                              '"http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
                                              '</edXML:Subject>'), 400, "AXIS.Validation",
         field="MessageHeader/Subject"),
    Case("agency_code_too_short", _pre("<edXML:OrganId>000.00.00.G22</edXML:OrganId>",
                                       "<edXML:OrganId>G22</edXML:OrganId>"), 400, "AXIS.Validation",
         field="MessageHeader/From/OrganId"),
    Case("agency_code_lowercase", _pre("<edXML:OrganId>000.00.00.H29</edXML:OrganId>",
                                       "<edXML:OrganId>000.00.00.h29</edXML:OrganId>"), 400, "AXIS.Validation",
         field="MessageHeader/To[1]/OrganId"),
    Case("agency_code_path_traversal", _pre("<edXML:OrganId>000.00.00.H29</edXML:OrganId>",
                                            "<edXML:OrganId>../../../etc/passwd</edXML:OrganId>"), 400,
         "AXIS.Validation", field="MessageHeader/To[1]/OrganId"),
    Case("agency_code_sql_injection", _pre("<edXML:OrganId>000.00.00.H29</edXML:OrganId>",
                                           "<edXML:OrganId>' OR 1=1 --</edXML:OrganId>"), 400,
         "AXIS.Validation", field="MessageHeader/To[1]/OrganId"),
    Case("impossible_promulgation_date", _pre("2026/11/20", "2026/13/45", count=-1), 400, "AXIS.Validation"),
    Case("iso_promulgation_date", _pre("<edXML:PromulgationDate>2026/11/20", "<edXML:PromulgationDate>2026-11-20"),
         400, "AXIS.Validation", field="MessageHeader/PromulgationInfo/PromulgationDate"),
    Case("bad_trace_timestamp", _pre_re(rb"<edXML:Timestamp>[^<]*</edXML:Timestamp>",
                                        b"<edXML:Timestamp>2026/02/30 25:61:00</edXML:Timestamp>"), 400,
         "AXIS.Validation", field="TraceHeaderList/TraceHeader[1]/Timestamp"),
    Case("bad_due_date", _inject_after(CONTENT, "<edXML:DueDate>2026/02/30</edXML:DueDate>"), 400,
         "AXIS.Validation", field="MessageHeader/DueDate"),
    Case("code_number_too_long", lambda w: doc(_long_code(w, "9" * 65, "VPCP")),
         400, "AXIS.Validation", field="MessageHeader/Code/CodeNumber"),
    Case("code_notation_too_long", lambda w: doc(_long_code(w, "12", "QĐ-" + "Đ" * 130)), 400, "AXIS.Validation",
         field="MessageHeader/Code/CodeNotation"),
    Case("type_name_too_long", _pre("<edXML:TypeName>Công văn</edXML:TypeName>",
                                    "<edXML:TypeName>" + "Công văn " * 20 + "</edXML:TypeName>"), 400,
         "AXIS.Validation", field="MessageHeader/DocumentType/TypeName"),
    Case("unknown_priority", _pre("<edXML:Priority>0</edXML:Priority>", "<edXML:Priority>9</edXML:Priority>"), 400,
         "AXIS.Validation", field="MessageHeader/OtherInfo/Priority"),
    Case("number_with_ten_digits", _inject_after("<edXML:Priority>0</edXML:Priority>",
                                                 "<edXML:PageAmount>9999999999</edXML:PageAmount>"), 400,
         "AXIS.Validation", field="MessageHeader/OtherInfo/PageAmount"),
    Case("negative_document_type", _pre("<edXML:Type>1</edXML:Type>", "<edXML:Type>-1</edXML:Type>"), 400,
         "AXIS.Validation", field="MessageHeader/DocumentType/Type"),
    Case("unknown_business_type", _pre("<edXML:BussinessDocType>0", "<edXML:BussinessDocType>7"), 400,
         "AXIS.Validation", field="TraceHeaderList/Bussiness/BussinessDocType"),
    Case("revoke_without_response_for", _pre("<edXML:BussinessDocType>0", "<edXML:BussinessDocType>1"), 400,
         "AXIS.Validation", field="MessageHeader/ResponseFor"),
    # --- manifest and attachments ---------------------------------------------------------------------------
    Case("manifest_reference_without_attachment", _pre(
        MANIFEST_END, "</edXML:Reference><edXML:Reference><edXML:ContentId>cid:2</edXML:ContentId>"
        "<edXML:AttachmentName>b.pdf</edXML:AttachmentName></edXML:Reference></edXML:edXMLManifest>"), 400,
        "AXIS.Validation"),
    Case("attachment_not_in_manifest", _pre(
        ATTACHMENT_END, "</Attachment><Attachment><ContentId>cid:9</ContentId><AttachmentName>x.exe</AttachmentName>"
        + BASE64_OPEN + "TVo=</edXML:ContentTransferEncoded></Attachment></AttachmentEncoded>"), 400,
        "AXIS.Validation"),
    Case("duplicate_content_id", _pre(
        ATTACHMENT_END, "</Attachment><Attachment><ContentId>cid:1</ContentId><AttachmentName>x.exe</AttachmentName>"
        + BASE64_OPEN + "TVo=</edXML:ContentTransferEncoded></Attachment></AttachmentEncoded>"), 400,
        "AXIS.Validation"),
    Case("attachment_name_differs_from_manifest", _pre(ATT_NAME, "<AttachmentName>hoa-don.exe</AttachmentName>"),
         400, "AXIS.Validation"),
    Case("attachment_without_name", lambda w: doc(w.edited_then_signed(
        REF_NAME, "<edXML:AttachmentName> </edXML:AttachmentName>").replace(ATT_NAME.encode(), b"", 1)), 400,
        "AXIS.Validation"),
    Case("invalid_base64", _replace_base64("@@@@not*base64!!"), 400, "AXIS.Validation"),
    Case("base64_length_not_a_multiple_of_four", _replace_base64("QUJD" * 10 + "QQ"), 400, "AXIS.Validation"),
    Case("base64_data_after_padding", _replace_base64("QQ==QUJD"), 400, "AXIS.Validation"),
    Case("element_inside_base64", _replace_base64("QUJD<edXML:X/>QUJD"), 400, "AXIS.Validation"),
    # --- statuses -------------------------------------------------------------------------------------------
    Case("unknown_status_code", lambda w: doc(w.status_edited_then_signed(
        "<edXML:StatusCode>03</edXML:StatusCode>", "<edXML:StatusCode>99</edXML:StatusCode>"), path=STATUSES,
        token="b"), 400, "AXIS.Validation", field="MessageHeader/StatusCode"),
    Case("status_carrying_an_attachment", _status_with_attachment, 400, "AXIS.Validation", field="AttachmentEncoded"),
    Case("refusal_without_a_reason", lambda w: doc(w.status_edited_then_signed(
        "<edXML:Description>Không đúng thẩm quyền</edXML:Description>", "<edXML:Description> </edXML:Description>",
        code=StatusCode.REFUSED, description="Không đúng thẩm quyền"), path=STATUSES, token="b"), 400,
        "AXIS.Validation", field="MessageHeader/Description"),
    # --- signatures -----------------------------------------------------------------------------------------
    Case("unsigned", lambda w: doc(build_document(w.new()[0])), 422, "AXIS.Signature", reason="missing"),
    Case("unsigned_status", lambda w: doc(build_status(compose_status(
        sender=w.b.organization, document=w.sent, code=StatusCode.ACCEPTED)), path=STATUSES, token="b"), 422,
        "AXIS.Signature", reason="missing"),
    Case("signed_with_another_agencys_key", _signed_by(lambda w: w.b.identity), 422, "AXIS.Signature",
         reason="signer_not_sender"),
    Case("signed_with_an_unregistered_self_signed_certificate", _signed_by(lambda w: w.stranger), 422,
         "AXIS.Signature", reason="untrusted_certificate"),
    Case("signed_with_a_certificate_from_an_untrusted_ca", _signed_by(lambda w: w.foreign_ca), 422,
         "AXIS.Signature", reason="untrusted_certificate"),
    Case("signed_with_an_expired_certificate", lambda w: doc(w.expired.document([w.b])[1], token="expired"), 422,
         "AXIS.Signature", reason="expired"),
    Case("signed_with_a_not_yet_valid_certificate", lambda w: doc(w.not_yet_valid.document([w.b])[1],
                                                                  token="not_yet_valid"), 422, "AXIS.Signature",
         reason="not_yet_valid"),
    Case("rsa_sha1_signature", _sha1("rsa-sha1", "sha1"), 422, "AXIS.Signature"),
    Case("sha1_digest_under_rsa_sha256", _sha1("rsa-sha256", "sha1"), 422, "AXIS.Signature"),
    Case("hmac_signature_method", _signature_attr("ds:SignedInfo/ds:SignatureMethod", "Algorithm",
                                                  "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"), 422,
         "AXIS.Signature"),
    Case("c14n_with_comments", _signature_attr("ds:SignedInfo/ds:CanonicalizationMethod", "Algorithm",
                                               "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"), 422,
         "AXIS.Signature"),
    Case("subject_changed_after_signing", _post("Về việc triển khai", "Về việc hủy bỏ"), 422, "AXIS.Signature",
         reason="digest_mismatch"),
    Case("recipient_added_after_signing", _post("<edXML:DocumentId>", "<edXML:To><edXML:OrganId>000.00.00.H41"
                                                "</edXML:OrganId></edXML:To><edXML:DocumentId>"), 422,
         "AXIS.Signature", reason="digest_mismatch"),
    Case("attachment_changed_after_signing", lambda w: doc(re.sub(
        rb"(ContentTransferEncoded[^>]*>)(....)", lambda m: m.group(1) + b"QUJD", w.signed(), count=1)), 422,
        "AXIS.Signature", reason="digest_mismatch"),
    Case("whitespace_added_inside_signed_text", _post("<edXML:Subject>Về", "<edXML:Subject> Về"), 422,
         "AXIS.Signature", reason="digest_mismatch"),
    Case("whitespace_added_between_signed_elements", _post("</edXML:Subject>", "</edXML:Subject>\n\n"), 422,
         "AXIS.Signature", reason="digest_mismatch"),
    Case("comment_hiding_changed_text", _post("Về việc triển khai", "Về việc <!--triển khai-->hủy bỏ"), 422,
         "AXIS.Signature", reason="digest_mismatch"),
    Case("signature_moved_to_the_end_of_the_root", _move_signature("root_end"), 422, "AXIS.Signature"),
    Case("signature_moved_before_trace_header_list", _move_signature("before_trace"), 422, "AXIS.Signature"),
    Case("signature_moved_into_message_header", _move_signature("message_header"), 422, "AXIS.Signature"),
    Case("signature_moved_into_the_body", _move_signature("body"), 422, "AXIS.Signature"),
    Case("second_signature", _second_signature, 422, "AXIS.Signature", reason="multiple_signatures"),
    Case("xsw_original_header_hidden_in_signature_object", _xsw_header_in_object, 422, "AXIS.Signature"),
    Case("xsw_original_header_moved_to_attachments", _xsw_header_moved_to_attachments, 422, "AXIS.Signature"),
    Case("xsw_whole_original_hidden_in_object", _xsw_whole_original_in_object, 422, "AXIS.Signature"),
    Case("reference_to_a_fragment", _signature_attr("ds:SignedInfo/ds:Reference", "URI", "#xpointer(/)"), 422,
         "AXIS.Signature", reason="reference_uri"),
    Case("reference_to_an_external_uri", _signature_attr("ds:SignedInfo/ds:Reference", "URI",
                                                         "http://127.0.0.1:9/doc.xml"), 422, "AXIS.Signature",
         reason="reference_uri"),
    Case("second_reference", _second_reference, 422, "AXIS.Signature", reason="reference_count"),
    Case("certificate_swapped_in_key_info", _swap_certificate, 422, "AXIS.Signature"),
    Case("garbled_signature_value", _garble("ds:SignatureValue", "!!!not base64!!!"), 422, "AXIS.Signature"),
    Case("garbled_certificate", _garble("ds:KeyInfo/ds:X509Data/ds:X509Certificate", "QUJD"), 422,
         "AXIS.Signature"),
    Case("key_info_removed", _drop_key_info, 422, "AXIS.Signature"),
    # --- sender, recipients, repeats ------------------------------------------------------------------------
    Case("another_agencys_signed_document_with_callers_token", lambda w: doc(w.b.document([w.c])[1]), 403,
         "AXIS.SenderMismatch", field="MessageHeader/From/OrganId"),
    Case("from_spoofed_and_signed_with_callers_key", _signed_by(lambda w: w.a.identity, code=B), 422,
         "AXIS.Signature", reason="signer_not_sender"),
    Case("from_spoofed_as_the_axis_itself", _signed_by(lambda w: w.a.identity, code=AXIS_CODE), 422,
         "AXIS.Signature", reason="signer_not_sender"),
    Case("unknown_recipient", lambda w: doc(w.new(to=(w.b, UNREGISTERED))[1]), 422, "AXIS.UnknownRecipient"),
    Case("inactive_recipient", lambda w: doc(w.new(to=(INACTIVE,))[1]), 422, "AXIS.UnknownRecipient"),
    Case("disabled_agency_as_recipient", lambda w: doc(w.new(to=(DISABLED, w.c))[1]), 422, "AXIS.UnknownRecipient"),
    Case("replayed_submission", lambda w: doc(w.sent_signed), 200, None),
    Case("replayed_submission_by_another_agency", lambda w: doc(w.sent_signed, token="c"), 403,
         "AXIS.SenderMismatch"),
    Case("same_document_id_different_bytes", lambda w: doc(w.a.document(
        [w.b], number=w.sent.code.code_number, subject="Bản khác cùng số")[1]), 409, "AXIS.Duplicate"),
    Case("replayed_status", lambda w: doc(w.status_signed, path=STATUSES, token="b"), 200, None),
    Case("replayed_status_by_another_agency", lambda w: doc(w.status_signed, path=STATUSES, token="c"), 403,
         "AXIS.SenderMismatch"),
    Case("status_for_a_document_the_caller_never_received", lambda w: doc(
        w.c.status(w.sent, StatusCode.ARRIVED), path=STATUSES, token="c"), 404, "AXIS.NotFound",
        field="MessageHeader/ResponseFor/DocumentId"),
    Case("status_for_a_document_never_sent", lambda w: doc(
        w.b.status(w.new()[0], StatusCode.ARRIVED), path=STATUSES, token="b"), 404, "AXIS.NotFound"),
    Case("recipient_taking_the_document_back", lambda w: doc(
        w.b.status(w.sent, StatusCode.TAKEN_BACK, "Thu hồi"), path=STATUSES, token="b"), 403, "AXIS.Forbidden",
        field="StatusCode"),
    Case("sender_confirming_its_own_arrival", lambda w: doc(
        w.a.status(w.sent, StatusCode.ARRIVED), path=STATUSES), 403, "AXIS.Forbidden", field="StatusCode"),
    Case("revoke_of_a_document_never_sent", lambda w: doc(_revoke(w, w.new()[0])), 404, "AXIS.NotFound",
         field="MessageHeader/ResponseFor/DocumentId"),
    Case("revoke_of_another_agencys_document", lambda w: doc(_revoke(w, w.b_sent)), 404, "AXIS.NotFound"),
]


def _long_code(w: World, number: str, notation: str) -> bytes:
    """A signed document whose CodeNumber/CodeNotation (and so DocumentId) are too long to be identifiers."""
    d, _ = w.new(number="31", notation="VPCP")
    raw = build_document(d)
    raw = edit(raw, "<edXML:CodeNumber>31</edXML:CodeNumber>", f"<edXML:CodeNumber>{number}</edXML:CodeNumber>")
    raw = edit(raw, "<edXML:CodeNotation>VPCP</edXML:CodeNotation>",
               f"<edXML:CodeNotation>{notation}</edXML:CodeNotation>")
    raw = edit(raw, ",31/VPCP</edXML:DocumentId>", f",{number}/{notation}</edXML:DocumentId>")
    return sign_envelope(raw, w.a.identity.key, w.a.identity.certificate)


def _revoke(w: World, target: DocumentMessage) -> bytes:
    return w.a.document([w.b], subject="Thu hồi văn bản", business_type=BusinessType.REVOKE,
                        response_for=[ResponseFor.to_document(target)], reason="Ban hành nhầm")[1]


def test_the_corpus_has_at_least_sixty_distinct_named_cases() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 60, len(CASES)


def _token(w: World, token: str | None) -> str | None:
    if token is None:
        return None
    agent = getattr(w, token, None)
    return agent.token if isinstance(agent, Agent) else token


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_hostile_input_gets_its_answer_and_nothing_is_stored(world: World, case: Case) -> None:
    request = case.build(world)
    body = request.body() if callable(request.body) else request.body
    before = await snapshot(world.axis)
    reply = await call(world.axis, "POST", request.path, token=_token(world, request.token), data=body,
                       headers=request.headers)
    if case.code is None:
        assert reply.status == case.status, (reply.status, reply.body[:500])
    else:
        problem = assert_problem(reply, case.status, case.code)
        if case.field is not None:
            assert problem.get("field") == case.field, problem
        if case.reason is not None:
            assert problem.get("reason") == case.reason, problem
        text = json.dumps(problem)
        assert "root:x:0:0" not in text and "Traceback" not in text
    await assert_nothing_stored(world.axis, before)
    health = await call(world.axis, "GET", "/healthz")
    assert health.status == 200 and health.json()["status"] == "ok"


# --- hostile-looking but legitimate: accepted, stored byte for byte, read back as signed ----------------------


@pytest.fixture(params=list(SPOOL_THRESHOLDS))
async def axis(request: pytest.FixtureRequest, tmp_path: Path, db_template: DatabaseTemplate,
               test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """The suite's axis, once holding bodies in memory and once streaming every body."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, spool_threshold_bytes=SPOOL_THRESHOLDS[request.param])
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


INJECTIONS = {
    "sql": "Robert'); DROP TABLE messages;-- \" OR \"\"=\" 1' OR '1'='1 \\'; DELETE FROM agencies WHERE '1'='1",
    "xss": "<script>alert('xss')</script><img src=x onerror=\"alert(1)\"> ]]> &amp; &lt;b&gt; javascript:alert(1)",
    "format_strings": "%s%n%x%d %(id)s {0} {subject!r} {{7*7}} ${jndi:ldap://127.0.0.1/a} #{7*7} \\x00 \\u0000",
    "control_characters": "\ttab\nnewline\r\ncarriage return \x85 NEL \x9f \u200b zwsp \u202e RLO \u2028 LS "
                          "\u2029 PS \ufeff BOM \u00a0 nbsp \u061c ALM",
    # As long as every field may be (envelope.limits; longer is refused: test_field_caps.py).
    "very_long_unicode": ("Văn bản điện tử 𝕍𝕚ệ𝕥 ℕ𝕒𝕞 🇻🇳 漢字 ‮ עברית العربية " * 400)[:DEFAULT_FIELD_LIMIT],
}
#: Identifier-like fields take the short payloads too (they become part of DocumentId).
SHORT = ("sql", "xss", "format_strings")


def _everywhere(sender: Agent, recipient: Agent, payload: str, *, in_notation: bool) -> DocumentMessage:
    """A document with ``payload`` in every free-text field edXML has."""
    def org(code: str) -> Organization:
        return Organization(organ_id=code, organ_name=payload, organization_in_charge=payload, organ_add=payload,
                            email=payload, telephone=payload, fax=payload, website=payload)

    base = compose_document(
        sender=org(sender.code), recipients=[org(recipient.code)], subject=payload, content=payload,
        number="77", notation=payload if in_notation else "VPCP-TTĐT", place=payload,
        promulgation_date=date(2026, 11, 20), signer=SignerInfo(payload, payload, payload),
        reason=payload,
        attachments=[Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 x", description=payload)],
    )
    return replace(
        base,
        document_type=DocumentType(type=1, type_detail=0, type_name=payload[:MAX_TYPE_NAME]),
        to_places=(payload, payload),
        other_info=OtherInfo(sphere_of_promulgation=payload, typer_notation=payload, direction=payload,
                             appendixes=(payload,)),
        bussiness=Bussiness(bussiness_doc_reason=payload, staff_info=StaffInfo(payload, payload, payload, payload),
                            bussiness_document_info=payload),
    )


def _text_fields(d: DocumentMessage) -> dict[str, str]:
    out = {
        "Subject": d.subject, "Content": d.content, "Place": d.promulgation.place,
        "SphereOfPromulgation": d.other_info.sphere_of_promulgation,
        "TyperNotation": d.other_info.typer_notation, "Direction": d.other_info.direction,
        "Appendix": d.other_info.appendixes[0], "ToPlaces/Place[1]": d.to_places[0], "ToPlaces/Place[2]": d.to_places[1],
        "BussinessDocReason": d.bussiness.bussiness_doc_reason,
        "BussinessDocumentInfo": d.bussiness.bussiness_document_info,
        "Attachment/Description": d.attachments[0].description,
    }
    assert d.signer is not None and d.bussiness.staff_info is not None
    for name in ("competence", "position", "full_name"):
        out[f"SignerInfo/{name}"] = getattr(d.signer, name)
    for name in ("department", "staff", "email", "mobile"):
        out[f"Bussiness/StaffInfo/{name}"] = getattr(d.bussiness.staff_info, name)
    for who, o in (("From", d.from_), ("To", d.to[0])):
        for name in ("organ_name", "organization_in_charge", "organ_add", "email", "telephone", "fax", "website"):
            out[f"{who}/{name}"] = getattr(o, name)
    return out


@pytest.mark.parametrize("kind", list(INJECTIONS))
async def test_injection_strings_in_every_text_field_are_accepted_and_returned_byte_identical(
    axis: Harness, kind: str
) -> None:
    payload = INJECTIONS[kind]
    assert nfc(payload) == payload
    a, b = await axis.register(A), await axis.register(B)
    document = _everywhere(a, b, payload, in_notation=kind in SHORT)
    signed = sign_message(document, a.identity.key, a.identity.certificate)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body[:500]
    message_id = reply.json()["id"]
    assert reply.json()["document_id"] == document.document_id

    fetched = await call(axis, "GET", f"/api/v1/messages/{message_id}", token=b)
    assert fetched.status == 200 and fetched.body == signed
    parsed = parse_document(fetched.body)
    assert set(_text_fields(parsed).values()) == {payload}, {k: v[:40] for k, v in _text_fields(parsed).items()}
    assert parsed.document_type.type_name == payload[:MAX_TYPE_NAME]  # a code-list name: 128 characters at most
    if kind in SHORT:
        assert parsed.code.code_notation == payload

    inbox = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()["items"]
    assert [(i["id"], i["subject"]) for i in inbox] == [(message_id, payload)]
    trace = (await call(axis, "GET", f"/api/v1/documents/{message_id}/trace", token=a)).json()
    assert trace["subject"] == payload and trace["document_id"] == document.document_id

    # The answer to it carries the payload too, in its description and staff fields.
    status = compose_status(sender=b.organization, document=parsed, code=StatusCode.ACCEPTED, description=payload,
                            staff=StaffInfo(payload, payload, payload, payload))
    status_signed = sign_envelope(build_status(status), b.identity.key, b.identity.certificate)
    reply = await call(axis, "POST", STATUSES, token=b, data=status_signed)
    assert reply.status == 202, reply.body[:500]
    status_id = reply.json()["id"]
    got = await call(axis, "GET", f"/api/v1/messages/{status_id}", token=a)
    assert got.body == status_signed
    trace = (await call(axis, "GET", f"/api/v1/documents/{message_id}/trace", token=a)).json()
    assert [e["description"] for e in trace["timeline"]] == [payload]
    items = (await call(axis, "GET", "/api/v1/inbox", token=a, params={"kind": "status"})).json()["items"]
    assert [(i["id"], i["subject"]) for i in items] == [(status_id, payload[:500])]
    assert (await call(axis, "GET", "/healthz")).status == 200


PATH_TRICKS = {
    "../../../../etc/passwd": "passwd",
    "..\\..\\Windows\\System32\\cmd.exe": "cmd.exe",
    "/var/lib/axis/blobs/evil.pdf": "evil.pdf",
    "C:\\Users\\Public\\evil.pdf": "evil.pdf",
    "bao-cao\u202efdp.exe": "bao-caofdp.exe",
    "....//....//secret.pdf": "secret.pdf",
    ".htaccess": "htaccess",
    "../": "attachment",
    "%2e%2e%2fetc%2fpasswd": "%2e%2e%2fetc%2fpasswd",
    "tài liệu/../../quyết định số 12.pdf": "quyết định số 12.pdf",
}


async def test_path_tricks_in_attachment_names_are_accepted_verbatim_and_safe_names_are_bare(
    axis: Harness, tmp_path: Path
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    attachments = [Attachment(f"cid:{i}", name, "application/octet-stream", f"noi dung {i}".encode())
                   for i, name in enumerate(PATH_TRICKS, 1)]
    _, signed = a.document([b], attachments=attachments)
    files_before = {p for p in tmp_path.rglob("*")}
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body[:500]
    fetched = await call(axis, "GET", f"/api/v1/messages/{reply.json()['id']}", token=b)
    assert fetched.body == signed
    parsed = parse_document(fetched.body)
    assert [att.name for att in parsed.attachments] == list(PATH_TRICKS)
    assert [att.safe_name for att in parsed.attachments] == list(PATH_TRICKS.values())
    for att in parsed.attachments:
        assert "/" not in att.safe_name and "\\" not in att.safe_name and not att.safe_name.startswith(".")
    # Names are never used as paths: only content-addressed blobs (and the database) appeared.
    new_files = {p for p in tmp_path.rglob("*") if p.is_file()} - files_before
    blob_root = axis.ctx.blobs.root.resolve()
    for path in new_files:
        resolved = path.resolve()
        assert resolved.is_relative_to(blob_root) or resolved.suffix in {".db", ".db-wal", ".db-shm", ".db-journal"}, path
        if resolved.is_relative_to(blob_root) and resolved.parent.name != "tmp":
            assert re.fullmatch(r"[0-9a-f]{64}", resolved.name), path


SUBJECT_TEXT = "Về việc triển khai văn bản điện tử"

#: Edits after signing that c14n undoes: the signature stays valid and the axis must read the signed text.
SIGNED_TEXT_PRESERVING = {
    "comment_inside_the_subject": (f"<edXML:Subject>{SUBJECT_TEXT}</edXML:Subject>",
                                   "<edXML:Subject>Về việc <!-- admin -->triển khai văn bản<!----> điện tử"
                                   "</edXML:Subject>"),
    "comment_inside_the_recipient_code": ("<edXML:OrganId>000.00.00.H29</edXML:OrganId>",
                                          "<edXML:OrganId>000.00.00.H<!--.G22-->29</edXML:OrganId>"),
    "cdata_subject": (f"<edXML:Subject>{SUBJECT_TEXT}</edXML:Subject>",
                      f"<edXML:Subject><![CDATA[{SUBJECT_TEXT}]]></edXML:Subject>"),
    "character_references": ("<edXML:Subject>Về việc", "<edXML:Subject>V&#7873; vi&#x1EC7;c"),
    "whitespace_inside_tags": ("<edXML:Subject>", "<edXML:Subject \n\t >"),
}


@pytest.mark.parametrize("trick", list(SIGNED_TEXT_PRESERVING))
async def test_comment_cdata_and_whitespace_tricks_are_read_as_the_signed_text(axis: Harness, trick: str) -> None:
    a, b = await axis.register(A), await axis.register(B)
    old, new = SIGNED_TEXT_PRESERVING[trick]
    _, signed = a.document([b], subject=SUBJECT_TEXT)
    tricked = edit(signed, old, new)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=tricked)
    assert reply.status == 202, reply.body[:500]
    message_id = reply.json()["id"]
    trace = (await call(axis, "GET", f"/api/v1/documents/{message_id}/trace", token=a)).json()
    assert trace["subject"] == SUBJECT_TEXT
    assert [r["organ_id"] for r in trace["recipients"]] == [B]
    fetched = await call(axis, "GET", f"/api/v1/messages/{message_id}", token=b)
    assert fetched.body == tricked  # stored exactly as received, trick included
