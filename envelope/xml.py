"""Safe XML parsing: no DTDs, no entities, no network, size checked first."""

from __future__ import annotations

from typing import Any

from lxml import etree

from envelope.errors import EnvelopeTooLarge, MalformedXml

#: Default upper bound for a whole message, attachments included.
DEFAULT_MAX_SIZE = 200 * 1024 * 1024
#: Deeper than any real edXML (about 8 levels); deeper input is an attack.
MAX_DEPTH = 64


def safe_parser() -> etree.XMLParser:
    """A fresh parser with no DTD, no entities, no network (lxml parsers are not thread-safe)."""
    # huge_tree lifts libxml2's 10 MB text-node cap that base64 attachments
    # exceed; the protections it relaxes are covered by refusing DTDs (so no
    # entity can be declared) and by our own depth check.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_xml(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> etree._Element:
    """Parse untrusted bytes into an lxml root element, refusing unsafe XML."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_xml takes bytes")
    if len(data) > max_size:
        raise EnvelopeTooLarge(f"message is {len(data)} bytes, limit is {max_size}")
    head = bytes(data[:4096]).lstrip()
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        raise MalformedXml("DTDs and entity declarations are not allowed")
    try:
        root = etree.fromstring(bytes(data), safe_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"not well-formed XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs know DocInfo without doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedXml("DTDs and entity declarations are not allowed")
    _check_depth(root)
    return root


#: True when an element lies below MAX_DEPTH levels of elements: one path step per level, walked in C
#: (each step visits the children of the level before, so the whole walk is linear in the tree).
_TOO_DEEP = etree.XPath("boolean(" + "/*" * (MAX_DEPTH + 1) + ")")


def _check_depth(root: etree._Element) -> None:
    if _TOO_DEEP(root):
        raise MalformedXml(f"elements nested deeper than {MAX_DEPTH}")
