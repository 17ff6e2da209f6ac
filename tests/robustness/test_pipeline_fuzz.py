"""Property-based fuzzing of the whole acceptance pipeline a submission goes through.

The parser alone is fuzzed in tests/envelope/test_edxml_parser_fuzz.py. Here the bytes are those
of a correctly signed document, mutated (bytes overwritten, inserted, deleted; elements moved,
copied, dropped; text changed), and run through what ``submit_document`` does before it stores
anything: safe parse, structure, signature verification, reading the signed content. Whatever
the input, the only failures allowed are the pipeline's own: ``EnvelopeError`` (400) and
``SignatureError`` (422). Anything else would be a 500.
"""

from __future__ import annotations

import copy
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from axis.agency.client import compose_document, sign_message
from envelope.errors import EnvelopeError
from envelope.model import Attachment, Organization
from envelope.parser import document_from_tree, message_from_tree
from envelope.xml import parse_xml
from signing.errors import SignatureError
from signing.keys import DevelopmentCA
from signing.verifier import verify_envelope

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
CA = DevelopmentCA.create(common_name="Fuzz CA")
SENDER = CA.issue("Văn phòng Chính phủ", organ_id="000.00.00.G22")
DOC = compose_document(
    sender=Organization("000.00.00.G22", "Văn phòng Chính phủ"), recipients=["000.00.00.H29", "000.00.00.H41"],
    subject="Về việc triển khai văn bản điện tử", number="7816", notation="VPCP-TTĐT",
    attachments=[Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 noi dung " * 8),
                 Attachment("cid:2", "phu-luc.docx", "application/octet-stream", b"PK\x03\x04 phu luc")],
    promulgation_date=date(2026, 11, 20),
)
SIGNED = sign_message(DOC, SENDER.key, SENDER.certificate)
NASTY = st.sampled_from([
    b"<!DOCTYPE a>", b"<!ENTITY e 'x'>", b"&e;", b"&#0;", b"&#x1;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi?>",
    b'xmlns="urn:x"', b'xmlns:ds="urn:x"', b"<ds:Signature/>", b"\xff\xfe", b"\x00", b"=", b"cid:1", b"000.00.00.G99",
    b"<edXML:To><edXML:OrganId>000.00.00.G99</edXML:OrganId></edXML:To>", "Đ".encode(), b"\xcc\x81",
])


def accept(raw: bytes) -> None:
    """What the axis does with submitted bytes before storing them (pinned to the sender's certificate)."""
    try:
        root = parse_xml(raw)
        message_from_tree(root)
        verified = verify_envelope(root, pinned=[SENDER.certificate])
        document_from_tree(verified.root)
    except (EnvelopeError, SignatureError):
        return


def test_the_unmutated_document_is_accepted() -> None:
    root = parse_xml(SIGNED)
    verified = verify_envelope(root, pinned=[SENDER.certificate])
    assert document_from_tree(verified.root).document_id == DOC.document_id


@FUZZ
@given(st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 3), st.binary(max_size=6) | NASTY),
                min_size=1, max_size=5))
def test_byte_mutations_of_a_signed_document_fail_only_with_the_pipelines_errors(
    edits: list[tuple[float, int, bytes]],
) -> None:
    data = bytearray(SIGNED)
    for where, action, chunk in edits:
        pos = int(where * len(data))
        if action == 0:
            data[pos:pos + len(chunk)] = chunk
        elif action == 1:
            data[pos:pos] = chunk
        elif action == 2:
            del data[pos:pos + 1 + len(chunk)]
        elif pos < len(data):
            data[pos] ^= 0x20
    accept(bytes(data))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from(
    ["move", "copy", "drop", "text", "tail", "attr", "rename"])), min_size=1, max_size=4))
def test_tree_mutations_of_a_signed_document_fail_only_with_the_pipelines_errors(
    edits: list[tuple[int, int, str]],
) -> None:
    root = etree.fromstring(SIGNED)
    for i, j, action in edits:
        elements = list(root.iter())
        el, other = elements[i % len(elements)], elements[j % len(elements)]
        if el is root:
            continue
        if action == "move" and el not in other.iterancestors() and el is not other:
            other.append(el)
        elif action == "copy" and el is not other:
            other.append(copy.deepcopy(el))
        elif action == "drop" and el.getparent() is not None:
            el.getparent().remove(el)
        elif action == "text":
            el.text = (el.text or "") + "x"
        elif action == "tail":
            el.tail = (el.tail or "") + " "
        elif action == "attr" and isinstance(el.tag, str):
            el.set("Id", "x")
        elif action == "rename" and isinstance(el.tag, str) and isinstance(other.tag, str):
            el.tag = other.tag
    accept(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
