"""The axis's signed submission receipt: proof that the axis took a message.

Wire form (namespace :data:`RECEIPT_NS`, signed by the axis key)::

    <SubmissionReceipt xmlns="urn:axis:receipt:1">
      <MessageId>...</MessageId>
      <DocumentId>000.00.00.G22,2024/05/01,12/QĐ-UBND</DocumentId>
      <Sender>000.00.00.G22</Sender>
      <Recipients><Recipient>000.00.00.H29</Recipient>...</Recipients>
      <SHA256>hex of the exact bytes received</SHA256>
      <ReceivedAt>2024-05-01T03:04:05.123456Z</ReceivedAt>
      <Authentication>transport</Authentication>   only for a message accepted without a valid
                                                   XML-DSig under the legacy-transport policy
      <ds:Signature>...</ds:Signature>
    </SubmissionReceipt>
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

from signing.errors import SignatureMalformed
from signing.keys import Certificate, PrivateKey
from signing.records import sign_new_record, verify_record

RECEIPT_NS = "urn:axis:receipt:1"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = ("MessageId", "DocumentId", "Sender", "Recipients", "SHA256", "ReceivedAt")


def _r(local: str) -> str:
    return f"{{{RECEIPT_NS}}}{local}"


RECEIPT_TAG = _r("SubmissionReceipt")


@dataclass(frozen=True)
class SubmissionReceipt:
    """What the axis attests about one accepted submission."""

    message_id: str
    document_id: str
    sender: str
    recipients: tuple[str, ...]
    #: SHA-256 of the exact received bytes, lowercase hex.
    sha256: str
    #: Timezone-aware; written as UTC.
    received_at: dt.datetime
    #: How the sender was authenticated: "signature" (its XML-DSig), or "transport" (accepted unsigned
    #: on its authenticated connection under the legacy-transport policy; then stated in the receipt).
    authentication: str = "signature"


def format_utc(moment: dt.datetime) -> str:
    """Render an aware datetime as ISO-8601 UTC with a ``Z``, keeping microseconds when present."""
    if moment.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    utc = moment.astimezone(dt.UTC)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if utc.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return utc.strftime(pattern)


def receipt_element(receipt: SubmissionReceipt) -> etree._Element:
    """Build the unsigned receipt XML element."""
    if not _SHA256_HEX.match(receipt.sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    # A None prefix is lxml's way of naming the default namespace; lxml-stubs want str keys.
    root = etree.Element(RECEIPT_TAG, nsmap={None: RECEIPT_NS})  # type: ignore[dict-item]
    for tag, text in (
        ("MessageId", receipt.message_id),
        ("DocumentId", receipt.document_id),
        ("Sender", receipt.sender),
    ):
        etree.SubElement(root, _r(tag)).text = text
    recipients = etree.SubElement(root, _r("Recipients"))
    for organ_id in receipt.recipients:
        etree.SubElement(recipients, _r("Recipient")).text = organ_id
    etree.SubElement(root, _r("SHA256")).text = receipt.sha256
    etree.SubElement(root, _r("ReceivedAt")).text = format_utc(receipt.received_at)
    if receipt.authentication != "signature":
        etree.SubElement(root, _r("Authentication")).text = receipt.authentication
    return root


def build_submission_receipt(receipt: SubmissionReceipt, key: PrivateKey, certificate: Certificate) -> bytes:
    """Build and sign a submission receipt with the axis key."""
    return sign_new_record(receipt_element(receipt), key, certificate)


def _text(element: etree._Element) -> str:
    if len(element):
        raise SignatureMalformed(f"{etree.QName(element).localname} must hold text only", reason="receipt_field")
    return element.text or ""


def parse_receipt_element(root: etree._Element) -> SubmissionReceipt:
    """Read a (verified, signature-free) receipt element into a SubmissionReceipt."""
    children = [child for child in root if isinstance(child.tag, str)]
    authentication = "signature"
    if children and children[-1].tag == _r("Authentication"):
        authentication = _text(children.pop())
    if root.tag != RECEIPT_TAG or [child.tag for child in children] != [_r(f) for f in _FIELDS]:
        raise SignatureMalformed("not a submission receipt", reason="receipt_structure")
    message_id, document_id, sender, recipients, sha256, received_at = children
    recipient_codes = []
    for element in recipients:
        tag: object = element.tag  # lxml-stubs say str; comments and PIs have a function here
        if not isinstance(tag, str):
            continue
        if element.tag != _r("Recipient"):
            raise SignatureMalformed("Recipients holds only Recipient", reason="receipt_structure")
        recipient_codes.append(_text(element))
    digest = _text(sha256)
    if not _SHA256_HEX.match(digest):
        raise SignatureMalformed("SHA256 is not 64 lowercase hex digits", reason="receipt_field")
    raw_time = _text(received_at)
    try:
        moment = dt.datetime.fromisoformat(raw_time)
    except ValueError:
        raise SignatureMalformed(f"ReceivedAt {raw_time!r} is not ISO-8601", reason="receipt_field") from None
    if moment.utcoffset() != dt.timedelta(0):
        raise SignatureMalformed("ReceivedAt must be UTC", reason="receipt_field")
    return SubmissionReceipt(
        message_id=_text(message_id),
        document_id=_text(document_id),
        sender=_text(sender),
        recipients=tuple(recipient_codes),
        sha256=digest,
        received_at=moment.astimezone(dt.UTC),
        authentication=authentication,
    )


def verify_submission_receipt(
    data: bytes, axis_certificate: Certificate, *, at: dt.datetime | None = None
) -> SubmissionReceipt:
    """Verify a receipt signed by the axis certificate (pinned) and return what it states."""
    return parse_receipt_element(verify_record(data, axis_certificate, root_tag=RECEIPT_TAG, at=at))
