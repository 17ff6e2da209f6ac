"""The axis's signed submission receipt and the generic signed-record helpers."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from envelope.namespaces import DS_NS
from signing.errors import (
    CertificateExpired,
    CertificateUntrusted,
    SignatureLocationError,
    SignatureMalformed,
    SignatureMissing,
    SignatureTampered,
)
from signing.keys import IssuedIdentity
from signing.receipt import (
    RECEIPT_NS,
    SubmissionReceipt,
    build_submission_receipt,
    receipt_element,
    verify_submission_receipt,
)
from signing.records import sign_record, verify_record

RECEIVED = dt.datetime(2024, 5, 1, 2, 30, 5, 123456, tzinfo=dt.UTC)


def _receipt(**changes: object) -> SubmissionReceipt:
    values: dict[str, object] = {
        "message_id": "01HXAMPLE0000000000000000",
        "document_id": "000.00.00.G22,2024/05/01,7816/VPCP-TTĐT",
        "sender": "000.00.00.G22",
        "recipients": ("000.00.00.H29", "000.00.00.H41"),
        "sha256": hashlib.sha256(b"the exact bytes").hexdigest(),
        "received_at": RECEIVED,
    }
    values.update(changes)
    return SubmissionReceipt(**values)  # type: ignore[arg-type]


def test_receipt_round_trips(axis_identity: IssuedIdentity) -> None:
    receipt = _receipt()
    signed = build_submission_receipt(receipt, axis_identity.key, axis_identity.certificate)
    assert verify_submission_receipt(signed, axis_identity.certificate) == receipt


def test_receipt_states_fields_in_plain_xml(axis_identity: IssuedIdentity) -> None:
    signed = build_submission_receipt(_receipt(), axis_identity.key, axis_identity.certificate)
    root = etree.fromstring(signed)
    ns = {"r": RECEIPT_NS, "ds": DS_NS}
    assert root.tag == f"{{{RECEIPT_NS}}}SubmissionReceipt"
    assert root.findtext("r:ReceivedAt", namespaces=ns) == "2024-05-01T02:30:05.123456Z"
    assert [r.text for r in root.iterfind("r:Recipients/r:Recipient", ns)] == ["000.00.00.H29", "000.00.00.H41"]
    assert root[-1].tag == f"{{{DS_NS}}}Signature"
    assert root.find("ds:Signature/ds:SignedInfo/ds:Reference", ns).get("URI") == ""


def test_receipt_time_in_vietnam_time_is_written_as_utc(axis_identity: IssuedIdentity) -> None:
    vietnam = dt.timezone(dt.timedelta(hours=7))
    receipt = _receipt(received_at=dt.datetime(2024, 5, 1, 9, 30, 5, tzinfo=vietnam))
    signed = build_submission_receipt(receipt, axis_identity.key, axis_identity.certificate)
    assert b"2024-05-01T02:30:05Z" in signed
    back = verify_submission_receipt(signed, axis_identity.certificate)
    assert back.received_at == receipt.received_at and back.received_at.tzinfo == dt.UTC


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message_id=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=40),
    recipients=st.lists(st.from_regex(r"\A\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z"), max_size=5).map(tuple),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_any_receipt_round_trips(
    message_id: str, recipients: tuple[str, ...], micro: int, axis_identity: IssuedIdentity
) -> None:
    receipt = _receipt(message_id=message_id, recipients=recipients, received_at=RECEIVED.replace(microsecond=micro))
    signed = build_submission_receipt(receipt, axis_identity.key, axis_identity.certificate)
    assert verify_submission_receipt(signed, axis_identity.certificate) == receipt


def test_changed_receipt_hash_is_tampered(axis_identity: IssuedIdentity) -> None:
    receipt = _receipt()
    signed = build_submission_receipt(receipt, axis_identity.key, axis_identity.certificate)
    forged = signed.replace(receipt.sha256.encode(), hashlib.sha256(b"other bytes").hexdigest().encode())
    with pytest.raises(SignatureTampered):
        verify_submission_receipt(forged, axis_identity.certificate)


def test_added_recipient_is_tampered(axis_identity: IssuedIdentity) -> None:
    signed = build_submission_receipt(_receipt(), axis_identity.key, axis_identity.certificate)
    forged = signed.replace(b"<Recipient>000.00.00.H29</Recipient>", b"<Recipient>000.00.00.H29</Recipient><Recipient>000.00.00.H47</Recipient>")
    assert forged != signed
    with pytest.raises(SignatureTampered):
        verify_submission_receipt(forged, axis_identity.certificate)


def test_receipt_signed_by_another_key_is_untrusted(
    axis_identity: IssuedIdentity, rsa_identity: IssuedIdentity
) -> None:
    # An agency certificate from the same CA is still not the axis.
    signed = build_submission_receipt(_receipt(), rsa_identity.key, rsa_identity.certificate)
    with pytest.raises(CertificateUntrusted):
        verify_submission_receipt(signed, axis_identity.certificate)


def test_receipt_checked_after_axis_certificate_expiry_is_expired(axis_identity: IssuedIdentity) -> None:
    signed = build_submission_receipt(_receipt(), axis_identity.key, axis_identity.certificate)
    later = axis_identity.certificate.not_valid_after_utc + dt.timedelta(days=1)
    with pytest.raises(CertificateExpired):
        verify_submission_receipt(signed, axis_identity.certificate, at=later)


def test_unsigned_receipt_is_missing(axis_identity: IssuedIdentity) -> None:
    unsigned = etree.tostring(receipt_element(_receipt()))
    with pytest.raises(SignatureMissing):
        verify_submission_receipt(unsigned, axis_identity.certificate)


def test_bad_receipt_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        receipt_element(_receipt(sha256="ABC"))
    with pytest.raises(ValueError):
        receipt_element(_receipt(received_at=dt.datetime(2024, 5, 1)))


def test_other_signed_record_is_not_a_receipt(axis_identity: IssuedIdentity) -> None:
    record = etree.Element("{urn:axis:destruction:1}DestructionCertificate")
    etree.SubElement(record, "{urn:axis:destruction:1}DocumentId").text = "x"
    signed = sign_record(record, axis_identity.key, axis_identity.certificate)
    with pytest.raises(SignatureMalformed):
        verify_submission_receipt(signed, axis_identity.certificate)


# --- generic records -----------------------------------------------------------------------------


def _record() -> etree._Element:
    root = etree.Element("{urn:axis:audit:1}ChainHead", nsmap={None: "urn:axis:audit:1"})
    etree.SubElement(root, "{urn:axis:audit:1}Sequence").text = "42"
    etree.SubElement(root, "{urn:axis:audit:1}Hash").text = "ab" * 32
    return root


def test_record_round_trips_and_input_is_untouched(axis_identity: IssuedIdentity) -> None:
    record = _record()
    before = etree.tostring(record)
    signed = sign_record(record, axis_identity.key, axis_identity.certificate)
    assert etree.tostring(record) == before
    verified = verify_record(signed, axis_identity.certificate, root_tag="{urn:axis:audit:1}ChainHead")
    assert etree.tostring(verified, method="c14n") == etree.tostring(record, method="c14n")


def test_record_with_ecdsa_axis_key_round_trips(ec_identity: IssuedIdentity) -> None:
    signed = sign_record(_record(), ec_identity.key, ec_identity.certificate)
    assert verify_record(signed, ec_identity.certificate).findtext("{urn:axis:audit:1}Sequence") == "42"


def test_record_signature_not_last_child_is_refused(axis_identity: IssuedIdentity) -> None:
    signed = sign_record(_record(), axis_identity.key, axis_identity.certificate)
    root = etree.fromstring(signed)
    root.insert(0, root[-1])
    with pytest.raises(SignatureLocationError):
        verify_record(etree.tostring(root), axis_identity.certificate)


def test_record_wrapped_in_another_element_is_refused(axis_identity: IssuedIdentity) -> None:
    signed = sign_record(_record(), axis_identity.key, axis_identity.certificate)
    wrapper = etree.Element("Wrapper")
    wrapper.append(etree.fromstring(signed))
    with pytest.raises(SignatureLocationError):
        verify_record(etree.tostring(wrapper), axis_identity.certificate)


def test_already_signed_record_cannot_be_signed_again(axis_identity: IssuedIdentity) -> None:
    signed = etree.fromstring(sign_record(_record(), axis_identity.key, axis_identity.certificate))
    with pytest.raises(SignatureLocationError):
        sign_record(signed, axis_identity.key, axis_identity.certificate)
