"""Small hand-made edXML messages in the edXML layout, for the signing tests.

Deliberately independent of envelope/'s builder so the signing tests do not
move when the builder does; the lead may later swap these for the real one.
"""

from __future__ import annotations

import base64

from lxml import etree

from envelope.namespaces import EDXML_NS

SENDER = "000.00.00.G22"
RECIPIENT = "000.00.00.H29"


def _e(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{EDXML_NS}}}{local}")
    if text is not None:
        element.text = text
    return element


def _organ(parent: etree._Element, tag: str, organ_id: str, name: str) -> None:
    organ = _e(parent, tag)
    _e(organ, "OrganId", organ_id)
    _e(organ, "OrganizationInCharge", "Chính phủ")
    _e(organ, "OrganName", name)
    _e(organ, "OrganAdd", "16 Lê Hồng Phong, Ba Đình, Hà Nội")
    _e(organ, "Email", "vanthu@example.gov.vn")
    _e(organ, "Telephone", "024 0000 0000")
    _e(organ, "Fax", "")
    _e(organ, "Website", "https://example.gov.vn")


def _envelope_skeleton() -> tuple[etree._Element, etree._Element]:
    # Root in the default namespace, envelope with the edXML: prefix, as real
    # agency software emits it.
    root = etree.Element(f"{{{EDXML_NS}}}edXML", nsmap={None: EDXML_NS})
    envelope = etree.SubElement(root, f"{{{EDXML_NS}}}edXMLEnvelope", nsmap={"edXML": EDXML_NS})
    return root, envelope


def _trace(header: etree._Element, sender: str) -> None:
    traces = _e(header, "TraceHeaderList")
    trace = _e(traces, "TraceHeader")
    _e(trace, "OrganId", sender)
    _e(trace, "Timestamp", "2024/05/01 09:30:00")
    business = _e(traces, "Bussiness")
    _e(business, "BussinessDocType", "0")
    _e(business, "BussinessDocReason", "")
    _e(business, "Paper", "0")


def _serialize(root: etree._Element, pretty: bool) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty)


def sample_document(
    *,
    subject: str = "Về việc triển khai liên thông văn bản điện tử",
    attachment: bytes = b"%PDF-1.4 sample attachment\n" * 8,
    sender: str = SENDER,
    recipients: tuple[str, ...] = (RECIPIENT,),
    pretty: bool = True,
) -> bytes:
    """Return an unsigned edXML document with one attachment."""
    root, envelope = _envelope_skeleton()
    header = _e(envelope, "edXMLHeader")
    message = _e(header, "MessageHeader")
    _organ(message, "From", sender, "Văn phòng Chính phủ")
    for recipient in recipients:
        _organ(message, "To", recipient, "UBND Thành phố Hồ Chí Minh")
    _e(message, "DocumentId", f"{sender},2024/05/01,7816/VPCP-TTĐT")
    code = _e(message, "Code")
    _e(code, "CodeNumber", "7816")
    _e(code, "CodeNotation", "VPCP-TTĐT")
    promulgation = _e(message, "PromulgationInfo")
    _e(promulgation, "Place", "Hà Nội")
    _e(promulgation, "PromulgationDate", "2024/05/01")
    doc_type = _e(message, "DocumentType")
    _e(doc_type, "Type", "1")
    _e(doc_type, "TypeDetail", "0")
    _e(doc_type, "TypeName", "Công văn")
    _e(message, "Subject", subject)
    _e(message, "Content", "")
    signer = _e(message, "SignerInfo")
    _e(signer, "Competence", "KT. BỘ TRƯỞNG")
    _e(signer, "Position", "Phó Chủ nhiệm")
    _e(signer, "FullName", "Nguyễn Văn A")
    _e(message, "DueDate", "2024/05/15")
    other = _e(message, "OtherInfo")
    _e(other, "Priority", "0")
    _e(message, "SteeringType", "0")
    _trace(header, sender)
    body = _e(envelope, "edXMLBody")
    manifest = _e(body, "edXMLManifest")
    manifest.set("version", "1.0")
    reference = _e(manifest, "Reference")
    _e(reference, "ContentId", "cid:1")
    _e(reference, "ContentType", "application/pdf")
    _e(reference, "Description", "Văn bản")
    _e(reference, "AttachmentName", "7816-VPCP-TTDT.pdf")
    # Outside the envelope and in the default namespace, as deployed edXML has it.
    encoded = etree.SubElement(root, f"{{{EDXML_NS}}}AttachmentEncoded")
    item = etree.SubElement(encoded, f"{{{EDXML_NS}}}Attachment")
    for tag, text in (
        ("ContentId", "cid:1"),
        ("AttachmentName", "7816-VPCP-TTDT.pdf"),
        ("Description", "Văn bản"),
        ("ContentType", "application/pdf"),
    ):
        etree.SubElement(item, f"{{{EDXML_NS}}}{tag}").text = text
    # Real agency software writes this one element with the edXML: prefix,
    # re-declaring the namespace; c14n must cope with the redundant xmlns.
    payload = etree.SubElement(item, f"{{{EDXML_NS}}}ContentTransferEncoded", nsmap={"edXML": EDXML_NS})
    payload.text = base64.b64encode(attachment).decode("ascii")
    return _serialize(root, pretty)


def sample_status(
    *,
    status_code: str = "01",
    sender: str = RECIPIENT,
    with_trace: bool = True,
    pretty: bool = True,
) -> bytes:
    """Return an unsigned edXML status message (header only), with or without a TraceHeaderList."""
    root, envelope = _envelope_skeleton()
    header = _e(envelope, "edXMLHeader")
    message = _e(header, "MessageHeader")
    _organ(message, "From", sender, "UBND Thành phố Hồ Chí Minh")
    response = _e(message, "ResponseFor")
    _e(response, "OrganId", SENDER)
    _e(response, "Code", "7816/VPCP-TTĐT")
    _e(response, "PromulgationDate", "2024/05/01")
    _e(response, "DocumentId", f"{SENDER},2024/05/01,7816/VPCP-TTĐT")
    staff = _e(message, "StaffInfo")
    _e(staff, "Department", "Văn thư")
    _e(staff, "Staff", "Trần Thị B")
    _e(message, "StatusCode", status_code)
    _e(message, "Description", "Đã đến")
    _e(message, "Timestamp", "2024/05/01 09:31:00")
    if with_trace:
        _trace(header, sender)
    return _serialize(root, pretty)
