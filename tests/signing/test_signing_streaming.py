"""The streamed verification reaches the in-memory verification's verdict on every message, signed by us or by xmlsec1.

Each message is verified twice, from bytes (signxml over the whole tree) and
from a file (signing.streaming), and the two outcomes must be the same: the
same message read from what the signature covers, or the same error class and
reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree
from sample_envelopes import sample_document, sample_status
from xmlsec1_interop import signature_template, with_template, xmlsec1_or_skip, xmlsec1_sign

from envelope.builder import build_document
from envelope.model import DocumentMessage
from envelope.namespaces import DS_NS, EDXML_NS
from envelope.parser import message_from_tree
from envelope.streaming import first_element
from signing.errors import SignatureError
from signing.keys import IssuedIdentity
from signing.signer import sign_envelope
from signing.streaming import read_signed_stream
from signing.verifier import VerifyPolicy, verify_envelope
from tests.envelope.test_edxml_round_trip_properties import documents
from tests.signing.custom_signing import sign_with

DS = f"{{{DS_NS}}}"
INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"


@dataclass(frozen=True)
class Outcome:
    """What a verification came to, in comparable form."""

    error: tuple[str, str] | None = None
    message: Any = None
    algorithms: tuple[str, str, str] | None = None


def _outcome(run: Callable[[], Any], measured: Any = None) -> Outcome:
    try:
        verified = run()
    except SignatureError as exc:
        return Outcome(error=(type(exc).__name__, exc.reason))
    return Outcome(
        message=message_from_tree(verified.root, measured=measured),
        algorithms=(verified.signature_algorithm, verified.digest_algorithm, verified.trusted_by),
    )


def both(signed: bytes, tmp_path: Path, **kw: Any) -> tuple[Outcome, Outcome]:
    """The in-memory and the streamed outcome of verifying ``signed``."""
    path = tmp_path / "message.xml"
    path.write_bytes(signed)
    in_memory = _outcome(lambda: verify_envelope(signed, **kw))
    streamed = read_signed_stream(path, max_size=1 << 30)
    return in_memory, _outcome(lambda: verify_envelope(streamed, **kw), streamed.base64)


def assert_same(signed: bytes, tmp_path: Path, **kw: Any) -> Outcome:
    in_memory, streamed = both(signed, tmp_path, **kw)
    assert streamed == in_memory
    return streamed


def _tree(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(huge_tree=True))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- accepted the same -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("status", [False, True])
def test_our_signatures_verify_streamed_as_in_memory(
    kind: str, status: bool, tmp_path: Path, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity
) -> None:
    ident = rsa_identity if kind == "rsa" else ec_identity
    unsigned = sample_status() if status else sample_document(attachment=bytes(range(256)) * 2000)
    outcome = assert_same(sign_envelope(unsigned, ident.key, ident.certificate), tmp_path, pinned=[ident.certificate])
    assert outcome.error is None and outcome.algorithms is not None
    assert outcome.algorithms[0] == ("rsa-sha256" if kind == "rsa" else "ecdsa-sha256")


def test_the_streamed_digest_is_the_signed_digest_value(tmp_path: Path, rsa_identity: IssuedIdentity) -> None:
    signed = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)
    path = tmp_path / "message.xml"
    path.write_bytes(signed)
    streamed = read_signed_stream(path, max_size=1 << 30)
    digest_value = _tree(signed).find(f".//{DS}DigestValue")
    assert digest_value is not None and streamed.digest == base64.b64decode(digest_value.text or "")
    assert streamed.plan is not None and streamed.plan.exclusive


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(msg=documents())
def test_any_signed_document_reads_the_same_streamed_and_in_memory(
    tmp_path: Path, rsa_identity: IssuedIdentity, msg: DocumentMessage
) -> None:
    signed = sign_envelope(build_document(msg), rsa_identity.key, rsa_identity.certificate)
    outcome = assert_same(signed, tmp_path, pinned=[rsa_identity.certificate])
    assert outcome.error is None


@pytest.mark.parametrize("c14n", [EXC, INCLUSIVE])
def test_signatures_in_either_accepted_canonical_form_verify_streamed(
    c14n: str, tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    signed = sign_with(sample_document(), rsa_identity.key, rsa_identity.certificate, c14n_algorithm=c14n)
    assert assert_same(signed, tmp_path, pinned=[rsa_identity.certificate]).error is None


def test_a_signature_after_the_attachments_is_read_in_a_second_pass(
    tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    # The parser tolerates AttachmentEncoded before the envelope; the digest plan is then
    # known only after the attachments went by.
    root = _tree(sample_document(attachment=b"x" * 100_000))
    encoded = root[1]
    root.insert(0, encoded)
    signed = sign_envelope(_bytes(root), rsa_identity.key, rsa_identity.certificate)
    assert signed.index(b"AttachmentEncoded") < signed.index(b"Signature")
    assert assert_same(signed, tmp_path, pinned=[rsa_identity.certificate]).error is None


def test_the_look_at_the_signature_stops_reading_after_it(tmp_path: Path, rsa_identity: IssuedIdentity) -> None:
    signed = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)
    path = tmp_path / "message.xml"
    # Garbage after the signature: a look that read on would fail.
    cut = signed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    path.write_bytes(signed[:cut] + b"<<< not xml")
    signature = first_element(path, f"{DS}Signature", max_size=1 << 30)
    assert signature is not None and signature.find(f"{DS}SignedInfo") is not None


# --- xmlsec1, an independent implementation --------------------------------------------------------------------


def _template(c14n: str, transform: str | None, prefix_list: str | None = None) -> etree._Element:
    template = signature_template()
    method = template.find(f"{DS}SignedInfo/{DS}CanonicalizationMethod")
    assert method is not None
    method.set("Algorithm", c14n)
    transforms = template.find(f"{DS}SignedInfo/{DS}Reference/{DS}Transforms")
    assert transforms is not None
    last = transforms[-1]
    if transform is None:
        transforms.remove(last)
    else:
        last.set("Algorithm", transform)
        if prefix_list is not None:
            etree.SubElement(last, f"{{{EXC}}}InclusiveNamespaces", PrefixList=prefix_list, nsmap={"ec": EXC})
    return template


XMLSEC1_TEMPLATES = {
    "exclusive": (EXC, EXC, None),
    "inclusive": (INCLUSIVE, INCLUSIVE, None),
    "no_c14n_transform": (EXC, None, None),
    "exclusive_with_prefix_list": (EXC, EXC, "ds edXML"),
}


@pytest.mark.interop
@pytest.mark.parametrize("name", list(XMLSEC1_TEMPLATES))
@pytest.mark.parametrize("status", [False, True])
def test_xmlsec1_signatures_verify_streamed_as_in_memory(
    name: str, status: bool, tmp_path: Path, rsa_identity: IssuedIdentity, ca_policy: VerifyPolicy
) -> None:
    xmlsec1 = xmlsec1_or_skip()
    unsigned = sample_status() if status else sample_document(attachment=bytes(range(256)) * 1000)
    signed = xmlsec1_sign(xmlsec1, with_template(unsigned, _template(*XMLSEC1_TEMPLATES[name])), rsa_identity,
                          tmp_path)
    outcome = assert_same(signed, tmp_path, policy=ca_policy)
    assert outcome.error is None, outcome


@pytest.mark.interop
def test_a_tampered_attachment_in_an_xmlsec1_signed_message_is_refused_streamed(
    tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    xmlsec1 = xmlsec1_or_skip()
    signed = xmlsec1_sign(xmlsec1, with_template(sample_document(), signature_template()), rsa_identity, tmp_path)
    outcome = assert_same(_tamper_attachment(signed), tmp_path, pinned=[rsa_identity.certificate])
    assert outcome.error == ("SignatureTampered", "digest_mismatch")


# --- refused the same ------------------------------------------------------------------------------------------


def _tamper_attachment(signed: bytes) -> bytes:
    return re.sub(rb"(ContentTransferEncoded[^>]*>)(....)", lambda m: m.group(1) + b"QUJD", signed, count=1)


def _second_signature(signed: bytes) -> bytes:
    root = _tree(signed)
    signature = next(root.iter(f"{DS}Signature"))
    root[-1].append(etree.fromstring(etree.tostring(signature)))
    return _bytes(root)


def _relative_namespace(signed: bytes) -> bytes:
    return signed.replace(f'<edXML xmlns="{EDXML_NS}"'.encode(), f'<edXML xmlns:r="rel/ns" xmlns="{EDXML_NS}"'.encode())


def _transform(algorithm: str) -> Callable[[bytes], bytes]:
    def change(signed: bytes) -> bytes:
        root = _tree(signed)
        transforms = root.find(f".//{DS}Transforms")
        assert transforms is not None
        transforms[-1].set("Algorithm", algorithm)
        return _bytes(root)
    return change


def _comment_in_base64(signed: bytes) -> bytes:
    return re.sub(rb"(ContentTransferEncoded[^>]*>)(....)", lambda m: m.group(1) + m.group(2) + b"<!-- x -->", signed,
                  count=1)


CHANGES: dict[str, tuple[Callable[[bytes], bytes], tuple[str, str] | None]] = {
    "attachment_byte_changed": (_tamper_attachment, ("SignatureTampered", "digest_mismatch")),
    "subject_changed": (lambda s: s.replace("Về việc".encode(), "Về vụ".encode()),
                        ("SignatureTampered", "digest_mismatch")),
    "whitespace_after_the_signature": (lambda s: s.replace(b"</ds:Signature>", b"</ds:Signature> "),
                                        ("SignatureTampered", "digest_mismatch")),
    "second_signature_in_the_attachments": (_second_signature, ("SignatureLocationError", "multiple_signatures")),
    "relative_namespace_uri": (_relative_namespace, ("SignatureMalformed", "malformed")),
    "c14n_11_transform": (_transform(C14N_11), ("AlgorithmRefused", "transform")),
    # SignedInfo is signed: changing a transform breaks the signature value before any digest.
    "transform_swapped_to_inclusive": (_transform(INCLUSIVE), ("SignatureTampered", "signature_mismatch")),
    "signature_value_garbled": (lambda s: re.sub(rb"<ds:SignatureValue>.{8}", b"<ds:SignatureValue>AAAAAAAA", s),
                                ("SignatureTampered", "signature_mismatch")),
    # A comment is not canonical: the signature still holds (envelope.parser then refuses the text).
    "comment_inside_the_base64": (_comment_in_base64, None),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_changed_message_gets_the_same_verdict_streamed(
    name: str, tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    change, expected = CHANGES[name]
    signed = change(sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate))
    in_memory, streamed = both(signed, tmp_path, pinned=[rsa_identity.certificate])
    assert in_memory.error == expected
    assert streamed.error == expected


def test_a_stranger_key_is_untrusted_streamed(
    tmp_path: Path, rsa_identity: IssuedIdentity, foreign_identity: IssuedIdentity, ca_policy: VerifyPolicy
) -> None:
    signed = sign_envelope(sample_document(), foreign_identity.key, foreign_identity.certificate)
    in_memory, streamed = both(signed, tmp_path, pinned=[rsa_identity.certificate], policy=ca_policy)
    assert streamed == in_memory
    assert streamed.error == ("CertificateUntrusted", "untrusted_certificate")


def test_an_unsigned_message_is_missing_its_signature_streamed(tmp_path: Path) -> None:
    in_memory, streamed = both(sample_document(), tmp_path)
    assert streamed == in_memory and streamed.error == ("SignatureMissing", "missing")
