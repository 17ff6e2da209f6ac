"""The algorithm allow-list: SHA-1 only in legacy mode, inclusive C14N tolerated, SHA-2 variants accepted."""

from __future__ import annotations

import pytest
from custom_signing import sign_with
from sample_envelopes import sample_document, sample_status

from signing.errors import AlgorithmRefused
from signing.keys import IssuedIdentity
from signing.verifier import VerifyPolicy, verify_envelope

LEGACY = VerifyPolicy(legacy_sha1=True)


@pytest.mark.parametrize(
    ("signature_algorithm", "digest_algorithm"),
    [("rsa-sha1", "sha1"), ("rsa-sha256", "sha1"), ("rsa-sha1", "sha256")],
)
def test_sha1_is_refused_unless_legacy(
    signature_algorithm: str, digest_algorithm: str, rsa_identity: IssuedIdentity
) -> None:
    signed = sign_with(
        sample_document(),
        rsa_identity.key,
        rsa_identity.certificate,
        signature_algorithm=signature_algorithm,
        digest_algorithm=digest_algorithm,
    )
    with pytest.raises(AlgorithmRefused) as caught:
        verify_envelope(signed, pinned=[rsa_identity.certificate])
    assert caught.value.reason == "sha1_refused"
    result = verify_envelope(signed, pinned=[rsa_identity.certificate], policy=LEGACY)
    assert (result.signature_algorithm, result.digest_algorithm) == (signature_algorithm, digest_algorithm)


def test_legacy_mode_still_refuses_ecdsa_sha1(ec_identity: IssuedIdentity) -> None:
    signed = sign_with(
        sample_status(), ec_identity.key, ec_identity.certificate, signature_algorithm="ecdsa-sha1", digest_algorithm="sha1"
    )
    with pytest.raises(AlgorithmRefused):
        verify_envelope(signed, pinned=[ec_identity.certificate], policy=LEGACY)


@pytest.mark.parametrize(
    ("kind", "signature_algorithm", "digest_algorithm"),
    [("rsa", "rsa-sha384", "sha384"), ("rsa", "rsa-sha512", "sha512"), ("ec", "ecdsa-sha384", "sha256")],
)
def test_stronger_sha2_variants_are_accepted(
    kind: str,
    signature_algorithm: str,
    digest_algorithm: str,
    rsa_identity: IssuedIdentity,
    ec_identity: IssuedIdentity,
) -> None:
    ident = rsa_identity if kind == "rsa" else ec_identity
    signed = sign_with(
        sample_document(),
        ident.key,
        ident.certificate,
        signature_algorithm=signature_algorithm,
        digest_algorithm=digest_algorithm,
    )
    result = verify_envelope(signed, pinned=[ident.certificate])
    assert result.signature_algorithm == signature_algorithm


def test_inclusive_c14n_from_dotnet_style_signers_is_accepted(rsa_identity: IssuedIdentity) -> None:
    signed = sign_with(
        sample_document(),
        rsa_identity.key,
        rsa_identity.certificate,
        c14n_algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    )
    assert b"REC-xml-c14n-20010315" in signed
    verify_envelope(signed, pinned=[rsa_identity.certificate])


def test_c14n_11_is_refused(rsa_identity: IssuedIdentity) -> None:
    signed = sign_with(
        sample_document(), rsa_identity.key, rsa_identity.certificate, c14n_algorithm="http://www.w3.org/2006/12/xml-c14n11"
    )
    with pytest.raises(AlgorithmRefused):
        verify_envelope(signed, pinned=[rsa_identity.certificate])
