"""Where things sit in an edXML tree: element names in wire order, the signature's place."""

from __future__ import annotations

from typing import Final

from lxml import etree

from envelope.errors import InvalidEnvelope
from envelope.namespaces import q

#: (element, attribute) pairs of From and To, in wire order.
ORGANIZATION_FIELDS: Final = (
    ("OrganId", "organ_id"),
    ("OrganizationInCharge", "organization_in_charge"),
    ("OrganName", "organ_name"),
    ("OrganAdd", "organ_add"),
    ("Email", "email"),
    ("Telephone", "telephone"),
    ("Fax", "fax"),
    ("Website", "website"),
)

#: (element, attribute) pairs of StaffInfo, in wire order.
STAFF_FIELDS: Final = (
    ("Department", "department"),
    ("Staff", "staff"),
    ("Email", "email"),
    ("Mobile", "mobile"),
)

#: (element, attribute) pairs of SignerInfo, in wire order.
SIGNER_FIELDS: Final = (
    ("Competence", "competence"),
    ("Position", "position"),
    ("FullName", "full_name"),
)

#: XPath (with envelope.namespaces.NSMAP) from the root to the element holding ds:Signature.
SIGNATURE_PARENT_PATH: Final = "edXML:edXMLEnvelope/edXML:edXMLHeader"
#: The ds:Signature goes right after this child of edXMLHeader.
SIGNATURE_AFTER: Final = "TraceHeaderList"


def signature_parent(root: etree._Element) -> etree._Element:
    """Return the edXMLHeader element of a message tree, where ds:Signature belongs."""
    if root.tag != q("edXML"):
        raise InvalidEnvelope("root element is not edXML in the edXML namespace", field="edXML")
    envelopes = root.findall(q("edXMLEnvelope"))
    if len(envelopes) != 1:
        raise InvalidEnvelope("need exactly one edXMLEnvelope", field="edXMLEnvelope")
    headers = envelopes[0].findall(q("edXMLHeader"))
    if len(headers) != 1:
        raise InvalidEnvelope("need exactly one edXMLHeader", field="edXMLHeader")
    return headers[0]


def signature_index(header: etree._Element) -> int:
    """Return the child index at which ds:Signature is inserted into edXMLHeader."""
    for i, child in enumerate(header):
        if child.tag == q(SIGNATURE_AFTER):
            return i + 1
    # A status message may lack a TraceHeaderList; then the signature closes the header.
    return len(header)
