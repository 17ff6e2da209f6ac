"""How much free text an edXML message may carry: one limit per field, and for the message without its attachments.

Agencies write subjects of a line or two and short addresses; nothing legitimate comes near these
limits, while a 190 MB Subject would be copied several times per request (the parser's tree, the
model, signxml) and then ride in every inbox poll. A field over its limit is refused with
``InvalidEnvelope`` naming it (400 ``AXIS.Validation``) before the signature is checked; attachments'
base64 text is not a field (it is measured, and bounded by the body size limit).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from envelope.errors import InvalidEnvelope
from envelope.namespaces import EDXML_NS

#: Characters a field may hold, by element name (edXML's own names, wherever they appear).
FIELD_LIMITS: Mapping[str, int] = {
    "Subject": 2_000,
    "Content": 65_536,
    # A status's reason, an attachment's description, a revoke's or replacement's reason, a direction.
    "Description": 4_000,
    "BussinessDocReason": 4_000,
    "BussinessDocumentInfo": 4_000,
    "Direction": 4_000,
}
#: Characters any other field may hold: names, addresses, places, contacts, codes, dates.
DEFAULT_FIELD_LIMIT = 1_000
#: Characters a message may hold besides its attachments' base64 text (a streamed message's tree is
#: refused beyond this): the default spool threshold, so never more than the in-memory path holds.
MAX_NON_ATTACHMENT_CHARS = 4 * 1024 * 1024

# No field may hold fewer characters than this: shorter text needs no look-up (the hot path's case).
_SMALLEST = min(DEFAULT_FIELD_LIMIT, *FIELD_LIMITS.values())


def field_limit(name: str) -> int:
    """The most characters field ``name`` may hold."""
    return FIELD_LIMITS.get(name, DEFAULT_FIELD_LIMIT)


def _path(element: etree._Element) -> str:
    """``MessageHeader/To[2]/OrganName``: the field path envelope.parser uses in its errors."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None and node.getparent() is not None:
        name = etree.QName(node).localname
        if name in ("edXMLEnvelope", "edXMLHeader"):
            break
        parent = node.getparent()
        assert parent is not None
        same = [c for c in parent if isinstance(c.tag, str) and etree.QName(c).localname == name]
        parts.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
        node = parent
    return "/".join(reversed(parts))


# Text fields are elements without element children (envelope.parser refuses one inside a text field);
# their string value is the text the parser reads (comments are not part of it). The base64 text is left
# out before its length would be taken, and the search runs in libxml2: only longer fields reach Python.
_LONG_FIELDS = etree.XPath(
    "//e:*[not(*)][not(self::e:ContentTransferEncoded)][string-length() > $shortest]",
    namespaces={"e": EDXML_NS},
)


_LENGTH = etree.XPath("string-length()")


def check_field_lengths(root: etree._Element) -> None:
    """Refuse a message (InvalidEnvelope naming the field) whose edXML text field is longer than its limit.

    Only edXML elements count: the signature (its certificate, its values) and attachments' base64
    text are not free text.
    """
    found = _LONG_FIELDS(root, shortest=_SMALLEST)
    assert isinstance(found, list)
    for element in found:
        assert isinstance(element, etree._Element)
        length = int(_LENGTH(element))  # type: ignore[arg-type]  # string-length() is a number
        limit = field_limit(etree.QName(element).localname)
        if length > limit:
            field = _path(element)
            raise InvalidEnvelope(f"{field} is {length} characters long, at most {limit} allowed", field=field)
