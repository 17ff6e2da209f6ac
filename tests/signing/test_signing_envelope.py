"""Signing and strictly verifying edXML documents and status messages."""

from __future__ import annotations

import base64
import copy
import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sample_envelopes import sample_document, sample_status

from envelope.errors import EnvelopeTooLarge, MalformedXml
from envelope.namespaces import DS_NS, EDXML_NS, NSMAP
from envelope.xml import parse_xml
from signing.errors import (
    AlgorithmRefused,
    CertificateExpired,
    CertificateUntrusted,
    KeyMaterialError,
    SignatureError,
    SignatureLocationError,
    SignatureMalformed,
    SignatureMissing,
    SignatureTampered,
)
from signing.keys import DevelopmentCA, IssuedIdentity
from signing.signer import sign_envelope
from signing.verifier import VerifiedEnvelope, VerifyPolicy, verify_envelope

DS = f"{{{DS_NS}}}"
E = f"{{{EDXML_NS}}}"
ALL_KINDS = ["rsa", "ec"]


def _identity(kind: str, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity) -> IssuedIdentity:
    return rsa_identity if kind == "rsa" else ec_identity


def _tree(data: bytes) -> etree._Element:
    return parse_xml(data)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _signature(root: etree._Element) -> etree._Element:
    (signature,) = root.iter(DS + "Signature")
    return signature


@pytest.fixture(scope="module")
def signed_document(rsa_identity: IssuedIdentity) -> bytes:
    return sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)


# --- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("message", ["document", "status", "status_without_trace"])
def test_signed_message_verifies_with_pinned_certificate(
    kind: str, message: str, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity
) -> None:
    ident = _identity(kind, rsa_identity, ec_identity)
    unsigned = {
        "document": sample_document,
        "status": sample_status,
        "status_without_trace": lambda: sample_status(with_trace=False),
    }[message]()
    signed = sign_envelope(unsigned, ident.key, ident.certificate)
    result = verify_envelope(signed, pinned=[ident.certificate])
    assert isinstance(result, VerifiedEnvelope)
    assert result.signature_algorithm == ("rsa-sha256" if kind == "rsa" else "ecdsa-sha256")
    assert result.digest_algorithm == "sha256"
    assert result.certificate == ident.certificate
    assert result.trusted_by == "pinned"
    assert result.signer_organ_id == "000.00.00.G22"


def test_signed_output_is_utf8_with_declaration(signed_document: bytes) -> None:
    assert signed_document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Về việc triển khai".encode() in signed_document


@pytest.mark.parametrize("with_trace", [True, False])
def test_signature_sits_in_header_right_after_trace_header_list(
    with_trace: bool, rsa_identity: IssuedIdentity
) -> None:
    unsigned = sample_document() if with_trace else sample_status(with_trace=False)
    root = _tree(sign_envelope(unsigned, rsa_identity.key, rsa_identity.certificate))
    signature = _signature(root)
    header = root.find("edXML:edXMLEnvelope/edXML:edXMLHeader", NSMAP)
    assert signature.getparent() is header
    expected_anchor = "TraceHeaderList" if with_trace else "MessageHeader"
    assert etree.QName(signature.getprevious()).localname == expected_anchor
    reference = signature.find("ds:SignedInfo/ds:Reference", NSMAP)
    assert reference.get("URI") == ""
    transforms = [t.get("Algorithm") for t in reference.iterfind("ds:Transforms/ds:Transform", NSMAP)]
    assert transforms == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    assert signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP) is not None


def test_returned_root_is_the_signed_content_without_signature(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    result = verify_envelope(signed_document, pinned=[rsa_identity.certificate])
    root = result.root
    assert root.tag == E + "edXML"
    assert next(root.iter(DS + "Signature"), None) is None
    subject = root.findtext("edXML:edXMLEnvelope/edXML:edXMLHeader/edXML:MessageHeader/edXML:Subject", namespaces=NSMAP)
    assert subject == "Về việc triển khai liên thông văn bản điện tử"
    payload = root.findtext(".//edXML:ContentTransferEncoded", namespaces=NSMAP)
    assert base64.b64decode(payload) == b"%PDF-1.4 sample attachment\n" * 8


def test_unsigned_comments_are_not_in_the_returned_content(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    # Exclusive c14n without comments does not sign comments, so an attacker
    # may add them; they must never reach the caller.
    tampered = signed_document.replace(b"<edXML:Subject>", "<edXML:Subject><!--Subject: Quyết định khẩn-->".encode())
    result = verify_envelope(tampered, pinned=[rsa_identity.certificate])
    assert not any(isinstance(node, etree._Comment) for node in result.root.iter())


def test_element_input_is_accepted(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    result = verify_envelope(_tree(signed_document), pinned=[rsa_identity.certificate])
    assert result.root.tag == E + "edXML"


def test_ca_issued_certificate_is_accepted_via_policy(
    signed_document: bytes, ca_policy: VerifyPolicy
) -> None:
    result = verify_envelope(signed_document, policy=ca_policy)
    assert result.trusted_by == "ca"


def test_chain_certificates_in_key_info_are_allowed(rsa_identity: IssuedIdentity, dev_ca: DevelopmentCA, ca_policy: VerifyPolicy) -> None:
    signed = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate, chain=[dev_ca.certificate])
    assert len(_signature(_tree(signed)).findall(".//ds:X509Certificate", NSMAP)) == 2
    assert verify_envelope(signed, policy=ca_policy).certificate == rsa_identity.certificate


def test_large_attachment_round_trips(rsa_identity: IssuedIdentity) -> None:
    # Above libxml2's 10 MB text-node limit once base64-encoded: needs huge_tree everywhere.
    attachment = bytes(range(256)) * (8 * 4096 + 1)
    signed = sign_envelope(sample_document(attachment=attachment, pretty=False), rsa_identity.key, rsa_identity.certificate)
    result = verify_envelope(signed, pinned=[rsa_identity.certificate])
    payload = result.root.findtext(".//edXML:ContentTransferEncoded", namespaces=NSMAP)
    assert base64.b64decode(payload) == attachment


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=200))
def test_any_subject_round_trips(subject: str, ec_identity: IssuedIdentity) -> None:
    signed = sign_envelope(sample_document(subject=subject), ec_identity.key, ec_identity.certificate)
    result = verify_envelope(signed, pinned=[ec_identity.certificate])
    assert result.root.findtext(".//edXML:Subject", namespaces=NSMAP) == subject


# --- signing refusals ----------------------------------------------------------------------------


def test_already_signed_input_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(SignatureLocationError) as caught:
        sign_envelope(signed_document, rsa_identity.key, rsa_identity.certificate)
    assert caught.value.reason == "already_signed"


def test_key_of_another_certificate_is_refused(rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity) -> None:
    with pytest.raises(KeyMaterialError):
        sign_envelope(sample_document(), rsa_identity.key, ec_identity.certificate)


def test_non_edxml_input_cannot_be_signed(rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(SignatureLocationError):
        sign_envelope(b"<other/>", rsa_identity.key, rsa_identity.certificate)


# --- tampering -----------------------------------------------------------------------------------


def test_changed_subject_is_tampered(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    tampered = signed_document.replace("Về việc triển khai".encode(), "Về việc hủy bỏ".encode())
    assert tampered != signed_document
    with pytest.raises(SignatureTampered) as caught:
        verify_envelope(tampered, pinned=[rsa_identity.certificate])
    assert caught.value.reason == "digest_mismatch"


def _flip_attachment_char(signed: bytes, index: int) -> bytes:
    root = _tree(signed)
    payload = root.find(".//edXML:ContentTransferEncoded", NSMAP)
    text = payload.text
    position = index % len(text.rstrip("="))
    replacement = "B" if text[position] != "B" else "C"
    payload.text = text[:position] + replacement + text[position + 1 :]
    return _bytes(root)


def test_one_changed_attachment_byte_is_tampered(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(SignatureTampered):
        verify_envelope(_flip_attachment_char(signed_document, 17), pinned=[rsa_identity.certificate])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(index=st.integers(min_value=0, max_value=10_000))
def test_any_changed_attachment_character_is_tampered(
    index: int, signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    with pytest.raises(SignatureTampered):
        verify_envelope(_flip_attachment_char(signed_document, index), pinned=[rsa_identity.certificate])


def test_changed_signature_value_is_tampered(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    value = _signature(root).find("ds:SignatureValue", NSMAP)
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureTampered) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "signature_mismatch"


def test_recomputed_digest_without_new_signature_is_tampered(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    root = _tree(signed_document)
    digest = _signature(root).find("ds:SignedInfo/ds:Reference/ds:DigestValue", NSMAP)
    digest.text = base64.b64encode(b"\x00" * 32).decode()
    with pytest.raises(SignatureTampered):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_certificate_swapped_into_key_info_is_tampered(
    foreign_identity: IssuedIdentity, rsa_identity: IssuedIdentity
) -> None:
    # Signed by an impostor, but KeyInfo shows the genuine (pinned) certificate.
    signed = sign_envelope(sample_document(), foreign_identity.key, foreign_identity.certificate)
    genuine = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)
    root = _tree(signed)
    genuine_cert = _signature(_tree(genuine)).find(".//ds:X509Certificate", NSMAP).text
    _signature(root).find(".//ds:X509Certificate", NSMAP).text = genuine_cert
    with pytest.raises(SignatureTampered):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


# --- trust and time ------------------------------------------------------------------------------


def test_unpinned_self_signed_certificate_is_untrusted(
    self_signed_identity: IssuedIdentity, rsa_identity: IssuedIdentity, ca_policy: VerifyPolicy
) -> None:
    signed = sign_envelope(sample_document(), self_signed_identity.key, self_signed_identity.certificate)
    with pytest.raises(CertificateUntrusted):
        verify_envelope(signed, pinned=[rsa_identity.certificate], policy=ca_policy)
    assert verify_envelope(signed, pinned=[self_signed_identity.certificate]).trusted_by == "pinned"


def test_certificate_from_another_ca_is_untrusted(foreign_identity: IssuedIdentity, ca_policy: VerifyPolicy) -> None:
    signed = sign_envelope(sample_document(), foreign_identity.key, foreign_identity.certificate)
    with pytest.raises(CertificateUntrusted):
        verify_envelope(signed, policy=ca_policy)


def test_nothing_configured_trusts_nobody(signed_document: bytes) -> None:
    with pytest.raises(CertificateUntrusted):
        verify_envelope(signed_document)


def test_ca_certificate_as_signer_is_untrusted(dev_ca: DevelopmentCA, ca_policy: VerifyPolicy) -> None:
    signed = sign_envelope(sample_document(), dev_ca.key, dev_ca.certificate)
    with pytest.raises(CertificateUntrusted) as caught:
        verify_envelope(signed, policy=ca_policy)
    assert caught.value.reason == "signer_is_ca"


def test_expired_certificate_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity, ca_policy: VerifyPolicy) -> None:
    later = rsa_identity.certificate.not_valid_after_utc + dt.timedelta(seconds=1)
    for kwargs in ({"pinned": [rsa_identity.certificate]}, {"policy": ca_policy}):
        with pytest.raises(CertificateExpired) as caught:
            verify_envelope(signed_document, at=later, **kwargs)  # type: ignore[arg-type]
        assert caught.value.reason == "expired"


def test_not_yet_valid_certificate_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    earlier = rsa_identity.certificate.not_valid_before_utc - dt.timedelta(seconds=1)
    with pytest.raises(CertificateExpired) as caught:
        verify_envelope(signed_document, pinned=[rsa_identity.certificate], at=earlier)
    assert caught.value.reason == "not_yet_valid"


def test_certificate_checked_at_a_past_moment_is_accepted(dev_ca: DevelopmentCA) -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    old = dev_ca.issue("Old", organ_id="000.00.00.G22", not_before=start, not_after=start + dt.timedelta(days=365))
    signed = sign_envelope(sample_document(), old.key, old.certificate)
    with pytest.raises(CertificateExpired):
        verify_envelope(signed, pinned=[old.certificate])
    at = start + dt.timedelta(days=100)
    assert verify_envelope(signed, pinned=[old.certificate], at=at).certificate == old.certificate


def test_expired_ca_makes_its_certificates_expired() -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    short_ca = DevelopmentCA.create(common_name="Short CA", valid_days=30, now=start)
    leaf = short_ca.issue("Leaf", organ_id=None, not_before=start, not_after=start + dt.timedelta(days=365))
    signed = sign_envelope(sample_document(), leaf.key, leaf.certificate)
    policy = VerifyPolicy(ca_certificates=(short_ca.certificate,))
    verify_envelope(signed, policy=policy, at=start + dt.timedelta(days=10))
    with pytest.raises(CertificateExpired):
        verify_envelope(signed, policy=policy, at=start + dt.timedelta(days=60))


def test_naive_check_time_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(ValueError):
        verify_envelope(signed_document, pinned=[rsa_identity.certificate], at=dt.datetime(2025, 1, 1))


# --- location and wrapping -----------------------------------------------------------------------


def test_unsigned_envelope_is_missing_signature(rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(SignatureMissing):
        verify_envelope(sample_document(), pinned=[rsa_identity.certificate])


def test_second_forged_signature_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    attachments = root.find("edXML:AttachmentEncoded", NSMAP)
    attachments.append(copy.deepcopy(_signature(root)))
    with pytest.raises(SignatureLocationError) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "multiple_signatures"


@pytest.mark.parametrize("where", ["root_end", "before_trace", "message_header", "body"])
def test_moved_signature_is_refused(where: str, signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    signature = _signature(root)
    header = signature.getparent()
    target = {
        "root_end": lambda: root.append(signature),
        "before_trace": lambda: header.find("edXML:TraceHeaderList", NSMAP).addprevious(signature),
        "message_header": lambda: header.find("edXML:MessageHeader", NSMAP).append(signature),
        "body": lambda: root.find(".//edXML:edXMLBody", NSMAP).append(signature),
    }[where]
    target()
    with pytest.raises(SignatureLocationError):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_signed_envelope_wrapped_in_another_element_is_refused(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    wrapper = etree.Element("Wrapper")
    wrapper.append(_tree(signed_document))
    with pytest.raises(SignatureLocationError) as caught:
        verify_envelope(_bytes(wrapper), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "not_edxml_root"


def test_malicious_header_with_original_hidden_in_object_is_refused(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    # Classic XSW: the genuine MessageHeader moves into ds:Object inside the
    # signature, a forged one takes its place.
    root = _tree(signed_document)
    signature = _signature(root)
    header = signature.getparent()
    original = header.find("edXML:MessageHeader", NSMAP)
    forged = copy.deepcopy(original)
    forged.find("edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
    original.addprevious(forged)
    holder = etree.SubElement(signature, DS + "Object")
    holder.append(original)
    with pytest.raises(SignatureLocationError) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "signature_object"


def test_malicious_header_with_original_hidden_elsewhere_is_tampered(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    root = _tree(signed_document)
    header = _signature(root).getparent()
    original = header.find("edXML:MessageHeader", NSMAP)
    forged = copy.deepcopy(original)
    forged.find("edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
    original.addprevious(forged)
    root.find("edXML:AttachmentEncoded", NSMAP).append(original)
    with pytest.raises(SignatureTampered):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_whole_original_hidden_in_object_of_forged_envelope_is_refused(
    signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    original = _tree(signed_document)
    forged = copy.deepcopy(original)
    forged.find(".//edXML:Subject", NSMAP).text = "Quyết định thu hồi khẩn"
    holder = etree.SubElement(_signature(forged), DS + "Object")
    holder.append(original)
    with pytest.raises(SignatureLocationError):
        verify_envelope(_bytes(forged), pinned=[rsa_identity.certificate])


@pytest.mark.parametrize("uri", ["#edXML", "#xpointer(/)", "http://example.org/doc.xml"])
def test_reference_other_than_whole_document_is_refused(
    uri: str, signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    root = _tree(signed_document)
    _signature(root).find("ds:SignedInfo/ds:Reference", NSMAP).set("URI", uri)
    with pytest.raises(SignatureLocationError) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "reference_uri"


def test_second_reference_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    reference = _signature(root).find("ds:SignedInfo/ds:Reference", NSMAP)
    reference.addnext(copy.deepcopy(reference))
    with pytest.raises(SignatureLocationError) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "reference_count"


# --- algorithms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [
        ("ds:SignedInfo/ds:CanonicalizationMethod", "http://www.w3.org/2006/12/xml-c14n11"),
        ("ds:SignedInfo/ds:CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"),
        ("ds:SignedInfo/ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
        ("ds:SignedInfo/ds:Reference/ds:DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5"),
        ("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform[2]", "http://www.w3.org/TR/1999/REC-xpath-19991116"),
        ("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform[2]", "http://www.w3.org/2000/09/xmldsig#base64"),
    ],
)
def test_algorithm_outside_allow_list_is_refused(
    path: str, algorithm: str, signed_document: bytes, rsa_identity: IssuedIdentity
) -> None:
    root = _tree(signed_document)
    _signature(root).find(path, NSMAP).set("Algorithm", algorithm)
    with pytest.raises(AlgorithmRefused):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_missing_enveloped_transform_is_refused(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    transform = _signature(root).find("ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", NSMAP)
    transform.getparent().remove(transform)
    with pytest.raises(SignatureLocationError):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


# --- malformed input -----------------------------------------------------------------------------


def test_garbled_certificate_is_malformed(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    _signature(root).find(".//ds:X509Certificate", NSMAP).text = "bm90IGEgY2VydGlmaWNhdGU="
    with pytest.raises(SignatureMalformed):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_certificate_with_an_unreadable_subject_is_malformed(signed_document: bytes,
                                                             rsa_identity: IssuedIdentity) -> None:
    # It loads (cryptography reads names on first use), but its subject is not valid UTF-8: found by the
    # byte-mutation fuzz, where it raised ValueError while the trust check built its refusal.
    der = rsa_identity.certificate.public_bytes(Encoding.DER)
    at = der.rfind("Văn phòng Chính phủ".encode())
    garbled = der[:at] + b"\xff" + der[at + 1:]
    root = _tree(signed_document)
    _signature(root).find(".//ds:X509Certificate", NSMAP).text = base64.b64encode(garbled).decode()
    with pytest.raises(SignatureMalformed) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "bad_certificate"


def test_key_info_without_certificate_is_untrusted(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    x509_data = _signature(root).find("ds:KeyInfo/ds:X509Data", NSMAP)
    x509_data.getparent().remove(x509_data)
    with pytest.raises(CertificateUntrusted) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "no_certificate"


def test_bad_base64_signature_value_is_a_signature_error(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    root = _tree(signed_document)
    _signature(root).find("ds:SignatureValue", NSMAP).text = "@@@ not base64 @@@"
    with pytest.raises(SignatureError):
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])


def test_dtd_is_refused_before_verification(rsa_identity: IssuedIdentity) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x "y">]><edXML xmlns="' + EDXML_NS.encode() + b'">&x;</edXML>'
    with pytest.raises(MalformedXml):
        verify_envelope(evil, pinned=[rsa_identity.certificate])


def test_oversized_message_is_refused_before_parsing(signed_document: bytes, rsa_identity: IssuedIdentity) -> None:
    with pytest.raises(EnvelopeTooLarge):
        verify_envelope(signed_document, pinned=[rsa_identity.certificate], max_size=1024)


# --- the in-place (libxmlsec1) path keeps signxml's refusals -----------------------------------


def test_a_bare_key_value_beside_the_certificate_is_refused(
    signed_document: bytes, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity
) -> None:
    # xmlsec is handed the trusted certificate's key and would never read a KeyValue, but a
    # signature naming two keys is ambiguous to every other verifier: refused before any crypto.
    root = _tree(signed_document)
    key_info = _signature(root).find(DS + "KeyInfo")
    assert key_info is not None
    key_value = etree.SubElement(key_info, DS + "KeyValue")
    etree.SubElement(key_value, DS + "RSAKeyValue").text = "AQAB"
    with pytest.raises(SignatureMalformed) as caught:
        verify_envelope(_bytes(root), pinned=[rsa_identity.certificate])
    assert caught.value.reason == "ambiguous_key_info"


def test_the_in_place_path_reads_the_same_message_as_signxmls_copy(
    signed_document: bytes, rsa_identity: IssuedIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envelope.parser import document_from_tree
    from signing import verifier

    # A comment inside a field: exclusive C14N does not sign it, and neither path may let it cut the text.
    commented = signed_document.replace(b"<edXML:Subject>", "<edXML:Subject><!--chèn-->".encode())
    native = verify_envelope(commented, pinned=[rsa_identity.certificate])
    assert native.in_place
    monkeypatch.setattr(verifier, "_legacy", lambda shape: True)  # the signxml path, as for SHA-1
    copied = verify_envelope(commented, pinned=[rsa_identity.certificate])
    assert not copied.in_place
    assert document_from_tree(native.root) == document_from_tree(copied.root)
    assert next(native.root.iter(DS + "Signature"), None) is None
    assert not any(isinstance(node, etree._Comment) for node in native.root.iter())
