"""libxmlsec1 with keys loaded once per process: repeated use, use after a refusal, and what signatures carry."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from lxml import etree
from sample_envelopes import sample_document

from envelope.namespaces import DS_NS
from signing.keys import IssuedIdentity, same_certificate
from signing.location import located_signature
from signing.native import NativeVerificationFailed, verify_in_place
from signing.receipt import SubmissionReceipt, build_submission_receipt, verify_submission_receipt
from signing.signer import sign_envelope

DS = f"{{{DS_NS}}}"


def _receipt(number: int) -> SubmissionReceipt:
    return SubmissionReceipt(
        message_id=f"01HXAMPLE{number:016d}", document_id="000.00.00.G22,2024/05/01,7816/VPCP-TTĐT",
        sender="000.00.00.G22", recipients=("000.00.00.H29",),
        sha256=hashlib.sha256(str(number).encode()).hexdigest(),
        received_at=dt.datetime(2024, 5, 1, 2, 30, 5, number, tzinfo=dt.UTC),
    )


def _signature(signed: bytes) -> etree._Element:
    return located_signature(etree.fromstring(signed))


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_one_key_verifies_again_and_again_and_after_a_refusal(
        kind: str, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity) -> None:
    identity = rsa_identity if kind == "rsa" else ec_identity
    signed = sign_envelope(sample_document(), identity.key, identity.certificate)
    tampered = signed.replace(b"</edXML:Subject>", b" (changed)</edXML:Subject>", 1)
    assert tampered != signed
    for _ in range(3):
        verify_in_place(_signature(signed), identity.certificate)
        with pytest.raises(NativeVerificationFailed):
            verify_in_place(_signature(tampered), identity.certificate)
    verify_in_place(_signature(signed), identity.certificate)


def test_the_wrong_certificate_is_refused_after_the_right_one_passed(
        rsa_identity: IssuedIdentity, foreign_identity: IssuedIdentity) -> None:
    signed = sign_envelope(sample_document(), rsa_identity.key, rsa_identity.certificate)
    verify_in_place(_signature(signed), rsa_identity.certificate)
    with pytest.raises(NativeVerificationFailed):
        verify_in_place(_signature(signed), foreign_identity.certificate)
    verify_in_place(_signature(signed), rsa_identity.certificate)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_records_signed_in_a_row_each_verify_and_carry_the_certificate(
        kind: str, axis_identity: IssuedIdentity, ec_identity: IssuedIdentity) -> None:
    identity = axis_identity if kind == "rsa" else ec_identity
    for number in range(3):
        receipt = _receipt(number)
        signed = build_submission_receipt(receipt, identity.key, identity.certificate)
        assert verify_submission_receipt(signed, identity.certificate) == receipt
        signature = etree.fromstring(signed)[-1]
        assert [child.tag for child in signature] == [DS + "SignedInfo", DS + "SignatureValue", DS + "KeyInfo"]
        texts = signature.findall(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
        assert len(texts) == 1
        carried = x509.load_der_x509_certificate(base64.b64decode("".join((texts[0].text or "").split())))
        assert same_certificate(carried, identity.certificate)

