"""Write edXML messages in the exact layout agency software expects (QCVN 102:2016)."""

from __future__ import annotations

import base64

from lxml import etree

from envelope.attachments import Attachment, ParsedAttachment
from envelope.codes import format_date, format_timestamp
from envelope.errors import InvalidEnvelope
from envelope.layout import ORGANIZATION_FIELDS, SIGNER_FIELDS, STAFF_FIELDS
from envelope.model import (
    Bussiness,
    DocumentMessage,
    Organization,
    ResponseFor,
    StaffInfo,
    StatusMessage,
    TraceHeader,
)
from envelope.namespaces import EDXML_NS, q
from envelope.validation import validate_document, validate_status

_Element = etree._Element


def build_document(msg: DocumentMessage) -> bytes:
    """Serialise a document message to unsigned edXML bytes (UTF-8, with XML declaration)."""
    validate_document(msg)
    root, envelope, header = _skeleton()
    _document_header(_el(header, "MessageHeader"), msg)
    trace = _trace_header_list(header, msg.trace_headers)
    _bussiness(trace, msg.bussiness)
    manifest = _el(_el(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = _el(root, "AttachmentEncoded")
    for att in msg.attachments:
        _reference(manifest, att)
        _attachment(encoded, att)
    return _serialise(root)


def build_status(msg: StatusMessage) -> bytes:
    """Serialise a status message to unsigned edXML bytes (UTF-8, with XML declaration)."""
    validate_status(msg)
    root, _, header = _skeleton()
    mh = _el(header, "MessageHeader")
    _organization(_el(mh, "From"), msg.from_)
    _response_for(mh, msg.response_for)
    _staff_info(mh, msg.staff_info)
    _el(mh, "StatusCode", msg.status_code.value)
    _el(mh, "Description", msg.description)
    _el(mh, "Timestamp", format_timestamp(msg.timestamp))
    _trace_header_list(header, msg.trace_headers)
    return _serialise(root)


def _skeleton() -> tuple[_Element, _Element, _Element]:
    # The root declares NS as default; the envelope re-declares it with the
    # edXML prefix, so lxml gives every envelope descendant the edXML: prefix
    # (the nearest declaration wins) and AttachmentEncoded none.
    root = etree.Element(q("edXML"), nsmap={None: EDXML_NS})  # type: ignore[dict-item]  # None: default ns
    envelope = etree.SubElement(root, q("edXMLEnvelope"), nsmap={"edXML": EDXML_NS})
    return root, envelope, _el(envelope, "edXMLHeader")


def _serialise(root: _Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _el(parent: _Element, tag: str, text: str | None = None) -> _Element:
    el = etree.SubElement(parent, q(tag))
    if text is not None:
        try:
            el.text = text
        except ValueError:
            # lxml refuses characters XML cannot carry (NUL, most C0 controls).
            raise InvalidEnvelope(
                f"{tag} holds characters not allowed in XML", field=_path(el)
            ) from None
    return el


def _path(el: _Element) -> str:
    names: list[str] = []
    node: _Element | None = el
    while node is not None:
        local = etree.QName(node).localname
        if local in ("edXMLHeader", "edXMLBody", "edXMLEnvelope", "edXML"):
            break
        names.append(local)
        node = node.getparent()
    return "/".join(reversed(names))


def _optional_int(value: int | None) -> str | None:
    return None if value is None else str(int(value))


def _organization(el: _Element, org: Organization) -> None:
    for tag, attr in ORGANIZATION_FIELDS:
        _el(el, tag, getattr(org, attr))


def _staff_info(parent: _Element, staff: StaffInfo) -> None:
    el = _el(parent, "StaffInfo")
    for tag, attr in STAFF_FIELDS:
        _el(el, tag, getattr(staff, attr))


def _response_for(parent: _Element, ref: ResponseFor) -> None:
    el = _el(parent, "ResponseFor")
    _el(el, "OrganId", ref.organ_id)
    _el(el, "Code", ref.code)
    _el(el, "PromulgationDate", format_date(ref.promulgation_date))
    _el(el, "DocumentId", ref.document_id)


def _document_header(mh: _Element, msg: DocumentMessage) -> None:
    _organization(_el(mh, "From"), msg.from_)
    for org in msg.to:
        _organization(_el(mh, "To"), org)
    _el(mh, "DocumentId", msg.document_id)
    code = _el(mh, "Code")
    _el(code, "CodeNumber", msg.code.code_number)
    _el(code, "CodeNotation", msg.code.code_notation)
    prom = _el(mh, "PromulgationInfo")
    _el(prom, "Place", msg.promulgation.place)
    _el(prom, "PromulgationDate", format_date(msg.promulgation.promulgation_date))
    dtype = _el(mh, "DocumentType")
    _el(dtype, "Type", str(int(msg.document_type.type)))
    _el(dtype, "TypeDetail", str(int(msg.document_type.type_detail)))
    _el(dtype, "TypeName", msg.document_type.type_name)
    _el(mh, "Subject", msg.subject)
    _el(mh, "Content", msg.content)
    if msg.signer is not None:
        signer = _el(mh, "SignerInfo")
        for tag, attr in SIGNER_FIELDS:
            _el(signer, tag, getattr(msg.signer, attr))
    if msg.due_date is not None:
        _el(mh, "DueDate", format_date(msg.due_date))
    places = _el(mh, "ToPlaces")
    for place in msg.to_places:
        _el(places, "Place", place)
    _other_info(mh, msg)
    for ref in msg.response_for:
        _response_for(mh, ref)
    if msg.steering_type is not None:
        _el(mh, "SteeringType", str(int(msg.steering_type)))


def _other_info(mh: _Element, msg: DocumentMessage) -> None:
    info = msg.other_info
    el = _el(mh, "OtherInfo")
    _el(el, "Priority", str(int(info.priority)))
    _el(el, "SphereOfPromulgation", info.sphere_of_promulgation)
    _el(el, "TyperNotation", info.typer_notation)
    if info.promulgation_amount is not None:
        _el(el, "PromulgationAmount", _optional_int(info.promulgation_amount))
    if info.page_amount is not None:
        _el(el, "PageAmount", _optional_int(info.page_amount))
    _el(el, "Direction", info.direction)
    appendixes = _el(el, "Appendixes")
    for appendix in info.appendixes:
        _el(appendixes, "Appendix", appendix)


def _trace_header_list(header: _Element, traces: tuple[TraceHeader, ...]) -> _Element:
    el = _el(header, "TraceHeaderList")
    for th in traces:
        t = _el(el, "TraceHeader")
        _el(t, "OrganId", th.organ_id)
        _el(t, "Timestamp", format_timestamp(th.timestamp))
    return el


def _bussiness(trace: _Element, b: Bussiness) -> None:
    el = _el(trace, "Bussiness")
    _el(el, "BussinessDocType", str(int(b.bussiness_doc_type)))
    _el(el, "BussinessDocReason", b.bussiness_doc_reason)
    _el(el, "Paper", str(int(b.paper)))
    if b.staff_info is not None:
        _staff_info(el, b.staff_info)
    _el(el, "BussinessDocumentInfo", b.bussiness_document_info)
    if b.document_id:
        _el(el, "DocumentId", b.document_id)
    replaced = _el(el, "ReplacementInfoList")
    for document_id in b.replacement_info_list:
        _el(_el(replaced, "ReplacementInfo"), "DocumentId", document_id)


def _reference(manifest: _Element, att: Attachment | ParsedAttachment) -> None:
    ref = _el(manifest, "Reference")
    _el(ref, "ContentId", att.content_id)
    _el(ref, "ContentType", att.content_type)
    _el(ref, "Description", att.description)
    _el(ref, "AttachmentName", att.name)


def _attachment(encoded: _Element, att: Attachment | ParsedAttachment) -> None:
    el = _el(encoded, "Attachment")
    _el(el, "ContentId", att.content_id)
    _el(el, "AttachmentName", att.name)
    _el(el, "Description", att.description)
    _el(el, "ContentType", att.content_type)
    # The edXML prefix is not in scope outside the envelope, so this element
    # declares it itself; lxml then picks that prefix for it.
    body = etree.SubElement(el, q("ContentTransferEncoded"), nsmap={"edXML": EDXML_NS})
    if isinstance(att, ParsedAttachment):
        if att.encoded is None:
            raise ValueError(f"attachment {att.content_id} was measured while streaming; its bytes were not kept")
        body.text = att.encoded
    else:
        # Encoded once, handed to libxml2 as bytes (lxml accepts ASCII bytes
        # though its stubs say str): no intermediate str copy.
        body.text = base64.b64encode(att.data)  # type: ignore[assignment]  # see above
