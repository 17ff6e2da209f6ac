"""Read edXML messages: tolerant of element order and prefixes, strict about content."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

from lxml import etree

from envelope.attachments import ParsedAttachment
from envelope.codes import BusinessType, Priority, StatusCode, parse_date, parse_timestamp
from envelope.errors import InvalidEnvelope
from envelope.layout import ORGANIZATION_FIELDS, SIGNER_FIELDS, STAFF_FIELDS
from envelope.model import (
    Bussiness,
    DocumentCode,
    DocumentMessage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusMessage,
    TraceHeader,
)
from envelope.namespaces import EDXML_NS, q
from envelope.streaming import MeasuredBase64
from envelope.text import nfc
from envelope.validation import validate_document, validate_status
from envelope.xml import DEFAULT_MAX_SIZE, parse_xml

_EDXML_PREFIX = q("")
#: Element children only (lxml filters in C: comments and processing instructions are skipped).
_ANY_ELEMENT = etree.Element
#: edXML tag -> local name, filled as tags are met; bounded, since the tags come from the senders.
_LOCAL_NAMES: dict[str, str] = {}
_LOCAL_NAMES_MAX = 512

_Element = etree._Element
#: What a lookup of an absent name answers (never changed by the callers).
_NONE: list[_Element] = []
# Nine digits at most: enough for any count or code, and no giant ints from hostile input.
_NUMBER_RE = re.compile(r"^\d{1,9}$", re.ASCII)


def parse_document(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> DocumentMessage:
    """Parse and check untrusted bytes as an edXML document message."""
    return document_from_tree(parse_xml(data, max_size=max_size))


def parse_status(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> StatusMessage:
    """Parse and check untrusted bytes as an edXML status message."""
    return status_from_tree(parse_xml(data, max_size=max_size))


def parse_message(
    data: bytes, *, max_size: int = DEFAULT_MAX_SIZE
) -> DocumentMessage | StatusMessage:
    """Parse untrusted bytes as a document or, if it has a StatusCode, a status message."""
    return message_from_tree(parse_xml(data, max_size=max_size))


def message_from_tree(
    root: _Element, *, measured: Mapping[str, MeasuredBase64] | None = None
) -> DocumentMessage | StatusMessage:
    """Read a document or a status message from an already parsed (e.g. verified) tree."""
    _, header, _, _ = _envelope(root)
    if header.one("MessageHeader").opt("StatusCode") is not None:
        return status_from_tree(root)
    return document_from_tree(root, measured=measured)


def document_from_tree(root: _Element, *, measured: Mapping[str, MeasuredBase64] | None = None) -> DocumentMessage:
    """Read a document message from an already parsed (e.g. verified) tree.

    ``measured`` comes with a tree read by envelope.streaming, which holds no
    base64 text: each attachment's size and SHA-256, by the field path of its
    ContentTransferEncoded.
    """
    _, header, body, encoded = _envelope(root)
    mh = header.one("MessageHeader")
    if mh.opt("StatusCode") is not None:
        raise InvalidEnvelope(
            "this is a status message, not a document", field="MessageHeader/StatusCode"
        )
    to = [_organization(n, name_required=False) for n in mh.many("To")]
    if not to:
        raise InvalidEnvelope("a document needs at least one To", field="MessageHeader/To")
    trace = header.one("TraceHeaderList")
    bussiness = trace.opt("Bussiness")
    signer = mh.opt("SignerInfo")
    msg = DocumentMessage(
        from_=_organization(mh.one("From"), name_required=True),
        to=tuple(to),
        document_id=mh.value("DocumentId"),
        code=_code(mh.one("Code")),
        promulgation=_promulgation(mh.one("PromulgationInfo")),
        document_type=_document_type(mh.one("DocumentType")),
        subject=mh.text("Subject", required=True),
        content=mh.text("Content"),
        signer=None if signer is None else SignerInfo(**_fields(signer, SIGNER_FIELDS)),
        due_date=mh.day("DueDate"),
        to_places=_to_places(mh.opt("ToPlaces")),
        other_info=_other_info(mh.opt("OtherInfo")),
        # Deployed software writes an empty <edXML:ResponseFor /> for "none": absent, not malformed.
        response_for=tuple(_response_for(n) for n in mh.many("ResponseFor") if not n.is_empty()),
        steering_type=mh.number("SteeringType"),
        trace_headers=_trace_headers(trace),
        bussiness=Bussiness() if bussiness is None else _bussiness(bussiness),
        attachments=_attachments(body, encoded, measured),
    )
    validate_document(msg)
    return msg


def status_from_tree(root: _Element) -> StatusMessage:
    """Read a status message from an already parsed (e.g. verified) tree."""
    _, header, body, encoded = _envelope(root)
    mh = header.one("MessageHeader")
    if mh.opt("StatusCode") is None:
        raise InvalidEnvelope(
            "this is a document, not a status message", field="MessageHeader/StatusCode"
        )
    if body is not None and body.el.find(f".//{q('Reference')}") is not None:
        raise InvalidEnvelope("a status message carries no manifest", field="edXMLBody")
    if encoded is not None and encoded.many("Attachment"):
        raise InvalidEnvelope("a status message carries no attachments", field="AttachmentEncoded")
    code = mh.value("StatusCode", required=False)
    try:
        status_code = StatusCode(code)
    except ValueError:
        raise InvalidEnvelope(
            f"unknown status code {code!r}", field="MessageHeader/StatusCode"
        ) from None
    staff = mh.opt("StaffInfo")
    trace = header.opt("TraceHeaderList")
    msg = StatusMessage(
        from_=_organization(mh.one("From"), name_required=True),
        response_for=_response_for(mh.one("ResponseFor")),
        staff_info=StaffInfo() if staff is None else StaffInfo(**_fields(staff, STAFF_FIELDS)),
        status_code=status_code,
        description=mh.text("Description"),
        timestamp=mh.timestamp("Timestamp"),
        trace_headers=() if trace is None else _trace_headers(trace),
    )
    validate_status(msg)
    return msg


class _Node:
    """An edXML element with its field path, answering lookups by local name in EDXML_NS."""

    __slots__ = ("el", "_parent", "_name", "_path", "_index", "_foreign")

    def __init__(self, el: _Element, path: str | None, parent: _Node | None = None, name: str = "") -> None:
        self.el = el
        # The field path is only read to name a refused field: built from the parent's when asked.
        self._path = path
        self._parent = parent
        self._name = name
        self._index: dict[str, list[_Element]] | None = None
        self._foreign: dict[str, str | None] | None = None

    @property
    def path(self) -> str:
        """Field path of this element, e.g. ``MessageHeader/From/OrganId`` or ``MessageHeader/To[2]``."""
        if self._path is None:
            assert self._parent is not None
            self._path = self._parent.sub(self._name)
        return self._path

    @path.setter
    def path(self, value: str) -> None:
        self._path = value

    def sub(self, name: str) -> str:
        """Field path of child ``name``."""
        path = self.path
        return f"{path}/{name}" if path else name

    def _children(self, name: str) -> list[_Element]:
        # One pass over the children per node, not one per lookup: envelopes have many fields.
        index = self._index
        if index is None:
            index = self._index = {}
            for child in self.el.iterchildren(_ANY_ELEMENT):  # comments and processing instructions left out
                tag = child.tag
                local = _LOCAL_NAMES.get(tag)
                if local is None:
                    if tag.startswith(_EDXML_PREFIX):
                        local = tag[len(_EDXML_PREFIX):]
                        if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX:
                            _LOCAL_NAMES[tag] = local
                    else:
                        ns, _, foreign = tag.rpartition("}")
                        if self._foreign is None:
                            self._foreign = {}
                        self._foreign.setdefault(foreign, ns.lstrip("{") or None)
                        continue
                found = index.get(local)
                if found is None:
                    index[local] = [child]
                else:
                    found.append(child)
        if self._foreign is not None and name in self._foreign:
            # An edXML name in another namespace is a sender's bug, not an extension.
            raise InvalidEnvelope(
                f"{name} is in namespace {self._foreign[name]!r}, expected {EDXML_NS!r}",
                field=self.sub(name),
            )
        return index.get(name, _NONE)

    def opt(self, name: str) -> _Node | None:
        """The child called ``name``, None if absent; duplicates are an error."""
        found = self._children(name)
        if not found:
            return None
        if len(found) > 1:
            raise InvalidEnvelope(f"{name} appears {len(found)} times", field=self.sub(name))
        return _Node(found[0], None, self, name)

    def one(self, name: str) -> _Node:
        """The single child called ``name``; missing or duplicated is an error."""
        node = self.opt(name)
        if node is None:
            raise InvalidEnvelope(f"{name} is missing", field=self.sub(name))
        return node

    def many(self, name: str) -> list[_Node]:
        """All children called ``name``, with indexed paths."""
        return [_Node(el, None, self, f"{name}[{i}]") for i, el in enumerate(self._children(name), 1)]

    def is_empty(self) -> bool:
        """True for an element with no child elements and only blank text (``<edXML:ResponseFor />``)."""
        return not any(isinstance(c.tag, str) for c in self.el) and not (self.el.text or "").strip()

    def own_text(self) -> str:
        """This element's text; child elements are an error, comments are skipped."""
        parts = [self.el.text or ""]
        for child in self.el:
            tag: object = child.tag  # lxml-stubs say str; comments and PIs have a function here
            if isinstance(tag, str):
                raise InvalidEnvelope(
                    f"unexpected element {etree.QName(child).localname} in a text field",
                    field=self.path,
                )
            parts.append(child.tail or "")
        return "".join(parts)

    def text(self, name: str, *, required: bool = False) -> str:
        """Free text of child ``name`` as written ("" if absent); required means non-blank."""
        node = self.one(name) if required else self.opt(name)
        value = "" if node is None else node.own_text()
        if required and not value.strip():
            raise InvalidEnvelope(f"{name} is empty", field=self.sub(name))
        return value

    def value(self, name: str, *, required: bool = True) -> str:
        """A code or identifier in child ``name``, surrounding whitespace removed."""
        return self.text(name, required=required).strip()

    def number(self, name: str, *, required: bool = False) -> int | None:
        """A non-negative whole number in child ``name``; None if absent or empty."""
        raw = self.value(name, required=required)
        if not raw:
            return None
        if _NUMBER_RE.fullmatch(raw) is None:
            raise InvalidEnvelope(f"{name} {raw!r} is not a whole number", field=self.sub(name))
        return int(raw)

    def day(self, name: str, *, required: bool = False) -> date | None:
        """A yyyy/MM/dd date in child ``name``; None if absent or empty."""
        raw = self.value(name, required=required)
        return parse_date(raw, field=self.sub(name)) if raw else None

    def timestamp(self, name: str) -> datetime:
        """A required yyyy/MM/dd HH:mm:ss timestamp in child ``name``."""
        return parse_timestamp(self.value(name), field=self.sub(name))


def _envelope(root: _Element) -> tuple[_Node, _Node, _Node | None, _Node | None]:
    if not isinstance(root.tag, str) or root.tag != q("edXML"):
        tag = root.tag if isinstance(root.tag, str) else "?"
        raise InvalidEnvelope(
            f"root element {tag} is not edXML in namespace {EDXML_NS!r}", field="edXML"
        )
    top = _Node(root, "")
    envelope = top.one("edXMLEnvelope")
    envelope.path = ""  # field paths start below the envelope, e.g. MessageHeader/From
    header = envelope.one("edXMLHeader")
    header.path = ""
    body = envelope.opt("edXMLBody")
    if body is not None:
        body.path = ""
    return top, header, body, top.opt("AttachmentEncoded")


def _organization(node: _Node, *, name_required: bool) -> Organization:
    values = _fields(node, ORGANIZATION_FIELDS)
    values["organ_id"] = node.value("OrganId")
    if name_required:
        values["organ_name"] = node.text("OrganName", required=True)
    return Organization(**values)


def _fields(node: _Node, pairs: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {attr: node.text(tag) for tag, attr in pairs}


def _code(node: _Node) -> DocumentCode:
    return DocumentCode(node.value("CodeNumber"), node.value("CodeNotation"))


def _promulgation(node: _Node) -> PromulgationInfo:
    day = node.day("PromulgationDate", required=True)
    assert day is not None  # required=True never yields None
    return PromulgationInfo(place=node.text("Place"), promulgation_date=day)


def _document_type(node: _Node) -> DocumentType:
    kind = node.number("Type", required=True)
    assert kind is not None
    return DocumentType(
        type=kind, type_detail=node.number("TypeDetail") or 0, type_name=node.text("TypeName")
    )


def _to_places(node: _Node | None) -> tuple[str, ...]:
    return () if node is None else tuple(n.own_text() for n in node.many("Place"))


def _other_info(node: _Node | None) -> OtherInfo:
    if node is None:
        return OtherInfo()
    level = node.number("Priority") or 0
    try:
        priority = Priority(level)
    except ValueError:
        raise InvalidEnvelope(f"unknown priority {level}", field=node.sub("Priority")) from None
    appendixes = node.opt("Appendixes")
    return OtherInfo(
        priority=priority,
        sphere_of_promulgation=node.text("SphereOfPromulgation"),
        typer_notation=node.text("TyperNotation"),
        promulgation_amount=node.number("PromulgationAmount"),
        page_amount=node.number("PageAmount"),
        direction=node.text("Direction"),
        appendixes=()
        if appendixes is None
        else tuple(n.own_text() for n in appendixes.many("Appendix")),
    )


def _response_for(node: _Node) -> ResponseFor:
    day = node.day("PromulgationDate", required=True)
    assert day is not None
    code = node.one("Code")
    if code.opt("CodeNumber") is not None:
        # Some senders repeat the document's structured Code here.
        text = f"{code.value('CodeNumber')}/{code.value('CodeNotation')}"
    else:
        text = node.value("Code")
    return ResponseFor(
        organ_id=node.value("OrganId"),
        code=text,
        promulgation_date=day,
        document_id=node.value("DocumentId"),
    )


def trace_headers_of(header: _Element) -> tuple[TraceHeader, ...]:
    """The TraceHeaderList of an edXMLHeader element read on its own (none: empty)."""
    trace = _Node(header, "").opt("TraceHeaderList")
    return () if trace is None else _trace_headers(trace)


def _trace_headers(node: _Node) -> tuple[TraceHeader, ...]:
    # History, not routing: deployed software leaves a hop's OrganId out or writes "null" (noted).
    return tuple(
        TraceHeader(organ_id=n.value("OrganId", required=False), timestamp=n.timestamp("Timestamp"))
        for n in node.many("TraceHeader")
    )


def _bussiness(node: _Node) -> Bussiness:
    kind = node.number("BussinessDocType") or 0
    try:
        doc_type = BusinessType(kind)
    except ValueError:
        raise InvalidEnvelope(
            f"unknown business type {kind}", field=node.sub("BussinessDocType")
        ) from None
    staff = node.opt("StaffInfo")
    replaced = node.opt("ReplacementInfoList")
    return Bussiness(
        # Deployed software names the document an update or replacement acts on here (as text:
        # its date need not be a calendar date).
        document_id=node.text("DocumentId"),
        bussiness_doc_type=doc_type,
        bussiness_doc_reason=node.text("BussinessDocReason"),
        paper=node.number("Paper") or 0,
        staff_info=None if staff is None else StaffInfo(**_fields(staff, STAFF_FIELDS)),
        bussiness_document_info=_document_info(node.opt("BussinessDocumentInfo")),
        replacement_info_list=()
        if replaced is None
        else tuple(_replaced_id(n) for n in replaced.many("ReplacementInfo")),
    )


def _document_info(node: _Node | None) -> str:
    if node is None:
        return ""
    if not any(isinstance(c.tag, str) for c in node.el):
        return node.own_text()
    # Some senders put structured details here; keep their text as a summary.
    pieces = (str(t).strip() for t in node.el.itertext())
    return " ".join(p for p in pieces if p)


def _replaced_id(node: _Node) -> str:
    inner = node.opt("DocumentId")
    return node.own_text().strip() if inner is None else inner.own_text().strip()


def _attachments(
    body: _Node | None, encoded: _Node | None, measured: Mapping[str, MeasuredBase64] | None
) -> tuple[ParsedAttachment, ...]:
    manifest = None if body is None else body.opt("edXMLManifest")
    refs = _by_content_id([] if manifest is None else manifest.many("Reference"))
    atts = _by_content_id([] if encoded is None else encoded.many("Attachment"))
    for cid, ref in refs.items():
        if cid not in atts:
            raise InvalidEnvelope(
                f"no Attachment for manifest Reference {cid!r}", field=ref.sub("ContentId")
            )
    for cid, att in atts.items():
        if cid not in refs:
            raise InvalidEnvelope(
                f"Attachment {cid!r} is not listed in the manifest", field=att.sub("ContentId")
            )
    return tuple(_attachment(refs[cid], atts[cid], measured) for cid in refs)


def _by_content_id(nodes: list[_Node]) -> dict[str, _Node]:
    found: dict[str, _Node] = {}
    for node in nodes:
        cid = node.value("ContentId")
        if cid in found:
            raise InvalidEnvelope(f"ContentId {cid!r} appears twice", field=node.sub("ContentId"))
        found[cid] = node
    return found


#: Content types that say "a zip" (a sending gateway zips files on the way, keeping the manifest's type).
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
#: Content types that say nothing of the content beside a specific one.
GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/unknown"})


def _one_meaning(manifest: str, own: str) -> bool:
    """True when two ContentTypes can both be right: the attachment zipped on the way, or one is generic."""
    m, o = manifest.split(";")[0].strip().lower(), own.split(";")[0].strip().lower()
    return m == o or o in ZIP_TYPES or m in GENERIC_TYPES or o in GENERIC_TYPES


def _attachment(ref: _Node, att: _Node, measured: Mapping[str, MeasuredBase64] | None) -> ParsedAttachment:
    meta: dict[str, str] = {}
    manifest_type = ""
    for tag in ("AttachmentName", "ContentType", "Description"):
        from_ref, from_att = nfc(ref.text(tag)), nfc(att.text(tag))
        if from_ref and from_att and from_ref != from_att:
            if tag == "ContentType" and _one_meaning(from_ref, from_att):
                # The attachment's own type says what its bytes are (a zip made by a gateway), unless
                # it is the generic one; the manifest's is kept to be noted.
                generic = from_att.split(";")[0].strip().lower() in GENERIC_TYPES
                meta[tag], manifest_type = (from_ref, from_att) if generic else (from_att, from_ref)
                continue
            raise InvalidEnvelope(
                f"{tag} differs between manifest and attachment", field=att.sub(tag)
            )
        meta[tag] = from_att or from_ref
    if not meta["AttachmentName"].strip():
        raise InvalidEnvelope("attachment has no name", field=att.sub("AttachmentName"))
    body = att.one("ContentTransferEncoded")
    # .text alone (not own_text) avoids a joined copy of a possibly huge string;
    # so nothing, not even a comment, may split the base64 text.
    if len(body.el):
        raise InvalidEnvelope("unexpected content in base64 text", field=body.path)
    if measured is not None:
        found = measured.get(body.path)
        if found is None:
            # The streamed pass measures every ContentTransferEncoded the parser can reach.
            raise InvalidEnvelope("attachment text was not measured", field=body.path)
        if found.error is not None:
            raise InvalidEnvelope(found.error, field=body.path)
        return ParsedAttachment(
            content_id=att.value("ContentId"),
            name=meta["AttachmentName"],
            content_type=meta["ContentType"],
            description=meta["Description"],
            size=found.size,
            sha256=found.sha256,
            encoded=None,
            manifest_content_type=manifest_type,
        )
    return ParsedAttachment.from_encoded(
        content_id=att.value("ContentId"),
        name=meta["AttachmentName"],
        content_type=meta["ContentType"],
        description=meta["Description"],
        encoded=body.el.text or "",
        field=body.path,
        manifest_content_type=manifest_type,
    )
