"""Interoperability with xmlsec1, an independent C implementation of XML-DSig.

These run in CI (which installs xmlsec1); locally they skip when xmlsec1 is
missing, in CI they fail instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_envelopes import sample_document, sample_status
from xmlsec1_interop import signature_template, with_template, xmlsec1_or_skip, xmlsec1_sign, xmlsec1_verify

from signing.errors import AlgorithmRefused, CertificateUntrusted, SignatureTampered
from signing.keys import DevelopmentCA, IssuedIdentity
from signing.signer import sign_envelope
from signing.verifier import VerifyPolicy, verify_envelope

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    return xmlsec1_or_skip()


def _identity(kind: str, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity) -> IssuedIdentity:
    return rsa_identity if kind == "rsa" else ec_identity


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("status", [False, True])
def test_our_signature_verifies_with_xmlsec1(
    kind: str,
    status: bool,
    xmlsec1: str,
    tmp_path: Path,
    dev_ca: DevelopmentCA,
    rsa_identity: IssuedIdentity,
    ec_identity: IssuedIdentity,
) -> None:
    ident = _identity(kind, rsa_identity, ec_identity)
    unsigned = sample_status() if status else sample_document()
    signed = sign_envelope(unsigned, ident.key, ident.certificate)
    done = xmlsec1_verify(xmlsec1, signed, [dev_ca.certificate], tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_our_signature_with_self_signed_pinned_certificate_verifies_with_xmlsec1(
    xmlsec1: str, tmp_path: Path, self_signed_identity: IssuedIdentity
) -> None:
    signed = sign_envelope(sample_document(), self_signed_identity.key, self_signed_identity.certificate)
    done = xmlsec1_verify(xmlsec1, signed, [self_signed_identity.certificate], tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


def test_xmlsec1_rejects_what_we_reject(
    xmlsec1: str, tmp_path: Path, dev_ca: DevelopmentCA, rsa_identity: IssuedIdentity, foreign_identity: IssuedIdentity
) -> None:
    # Guards against a vacuous interop check: xmlsec1 must fail on a changed
    # subject and on a certificate from a CA it was not given.
    signed = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)
    tampered = signed.replace("Về việc".encode(), "Về vụ".encode())
    assert xmlsec1_verify(xmlsec1, tampered, [dev_ca.certificate], tmp_path).returncode != 0
    foreign = sign_envelope(sample_document(), foreign_identity.key, foreign_identity.certificate)
    assert xmlsec1_verify(xmlsec1, foreign, [dev_ca.certificate], tmp_path).returncode != 0


@pytest.mark.parametrize(("kind", "method"), [("rsa", "rsa-sha256"), ("ec", "ecdsa-sha256")])
@pytest.mark.parametrize("status", [False, True])
def test_xmlsec1_signature_is_accepted(
    kind: str,
    method: str,
    status: bool,
    xmlsec1: str,
    tmp_path: Path,
    ca_policy: VerifyPolicy,
    rsa_identity: IssuedIdentity,
    ec_identity: IssuedIdentity,
) -> None:
    ident = _identity(kind, rsa_identity, ec_identity)
    unsigned = sample_status() if status else sample_document()
    signed = xmlsec1_sign(xmlsec1, with_template(unsigned, signature_template(method)), ident, tmp_path)
    by_ca = verify_envelope(signed, policy=ca_policy)
    assert by_ca.signature_algorithm == method and by_ca.certificate == ident.certificate
    assert verify_envelope(signed, pinned=[ident.certificate]).trusted_by == "pinned"


def test_xmlsec1_signature_over_changed_content_is_tampered(
    xmlsec1: str, tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    signed = xmlsec1_sign(xmlsec1, with_template(sample_document(), signature_template()), rsa_identity, tmp_path)
    tampered = signed.replace("Về việc".encode(), "Về vụ".encode())
    with pytest.raises(SignatureTampered):
        verify_envelope(tampered, pinned=[rsa_identity.certificate])


def test_xmlsec1_signature_from_foreign_ca_is_untrusted(
    xmlsec1: str, tmp_path: Path, foreign_identity: IssuedIdentity, ca_policy: VerifyPolicy
) -> None:
    signed = xmlsec1_sign(xmlsec1, with_template(sample_document(), signature_template()), foreign_identity, tmp_path)
    with pytest.raises(CertificateUntrusted):
        verify_envelope(signed, policy=ca_policy)


def test_xmlsec1_sha1_signature_needs_legacy_mode(
    xmlsec1: str, tmp_path: Path, rsa_identity: IssuedIdentity
) -> None:
    template = with_template(sample_document(), signature_template("rsa-sha1", "sha1"))
    signed = xmlsec1_sign(xmlsec1, template, rsa_identity, tmp_path)
    with pytest.raises(AlgorithmRefused):
        verify_envelope(signed, pinned=[rsa_identity.certificate])
    legacy = verify_envelope(signed, pinned=[rsa_identity.certificate], policy=VerifyPolicy(legacy_sha1=True))
    assert (legacy.signature_algorithm, legacy.digest_algorithm) == ("rsa-sha1", "sha1")
