"""Where the ``ds:Signature`` of an edXML message sits.

The signature is a child of ``edXML/edXMLEnvelope/edXMLHeader`` placed
immediately after ``TraceHeaderList``. A status message whose header has no
``TraceHeaderList`` carries it immediately after ``MessageHeader`` instead.
Fixing the position, and allowing exactly one signature in the whole document,
is what defeats signature-wrapping: nothing can be moved around the signed
content without either changing the digest or leaving this position.
"""

from __future__ import annotations

from lxml import etree

from envelope.namespaces import q
from signing.errors import SignatureLocationError, SignatureMissing
from signing.xmldsig import find_signatures

ROOT_TAG = q("edXML")
ENVELOPE_TAG = q("edXMLEnvelope")
HEADER_TAG = q("edXMLHeader")
TRACE_TAG = q("TraceHeaderList")
MESSAGE_HEADER_TAG = q("MessageHeader")

#: signxml's ``location``: the signature's parent, as a path from the root.
SIGNATURE_PARENT_PATH = f"./{ENVELOPE_TAG}/{HEADER_TAG}/"


def _element_children(parent: etree._Element, tag: str) -> list[etree._Element]:
    return [child for child in parent if child.tag == tag]


def envelope_header(root: etree._Element) -> etree._Element:
    """Return the single ``edXMLEnvelope/edXMLHeader`` of an edXML root, or raise SignatureLocationError."""
    if root.tag != ROOT_TAG:
        raise SignatureLocationError(f"the root element is {root.tag}, not edXML", reason="not_edxml_root")
    envelopes = _element_children(root, ENVELOPE_TAG)
    if len(envelopes) != 1:
        raise SignatureLocationError(f"expected one edXMLEnvelope, found {len(envelopes)}", reason="envelope_count")
    headers = _element_children(envelopes[0], HEADER_TAG)
    if len(headers) != 1:
        raise SignatureLocationError(f"expected one edXMLHeader, found {len(headers)}", reason="header_count")
    return headers[0]


def signature_anchor(header: etree._Element) -> etree._Element:
    """Return the header child the signature must follow: TraceHeaderList, else MessageHeader."""
    for tag in (TRACE_TAG, MESSAGE_HEADER_TAG):
        found = _element_children(header, tag)
        if len(found) > 1:
            raise SignatureLocationError(f"more than one {etree.QName(tag).localname}", reason="anchor_count")
        if found:
            return found[0]
    raise SignatureLocationError(
        "edXMLHeader has neither TraceHeaderList nor MessageHeader", reason="no_signature_location"
    )


def _previous_element(element: etree._Element) -> etree._Element | None:
    for sibling in element.itersiblings(preceding=True):
        if isinstance(sibling.tag, str):
            return sibling
    return None


def located_signature(root: etree._Element) -> etree._Element:
    """Return the one ``ds:Signature`` of an edXML message, checking it is alone and in its fixed place."""
    signatures = find_signatures(root)
    if not signatures:
        raise SignatureMissing("the message is not signed")
    if len(signatures) > 1:
        raise SignatureLocationError(
            f"exactly one ds:Signature is allowed, found {len(signatures)}", reason="multiple_signatures"
        )
    signature = signatures[0]
    header = envelope_header(root)
    if signature.getparent() is not header:
        raise SignatureLocationError("the signature is not a child of edXMLHeader", reason="misplaced")
    anchor = signature_anchor(header)
    if _previous_element(signature) is not anchor:
        raise SignatureLocationError(
            f"the signature must follow {etree.QName(anchor).localname} immediately", reason="misplaced"
        )
    return signature
