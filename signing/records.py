"""Small XML records signed by the axis itself: submission receipts, destruction certificates, audit-chain heads.

A record is any XML element; the axis signs it enveloped with ``Reference
URI=""`` and the ``ds:Signature`` as the root's last child. Verification is
pinned to the one certificate the caller names (the axis's own), accepts
SHA-2 algorithms only, and returns the signed content only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from copy import deepcopy

from lxml import etree

from envelope.xml import parse_xml
from signing.errors import SignatureLocationError, SignatureMalformed, SignatureMissing
from signing.keys import Certificate, PrivateKey, key_matches_certificate
from signing.native import sign_enveloped_record
from signing.trust import check_time, check_trust
from signing.xmldsig import (
    algorithm_policy,
    find_signatures,
    inspect_signature,
    serialize,
    sign_enveloped,
    signer_certificate,
    verify_signed,
)

#: Records are a few kilobytes; anything much larger is not one of ours.
DEFAULT_MAX_RECORD_SIZE = 1024 * 1024


def sign_record(
    root: etree._Element,
    key: PrivateKey,
    certificate: Certificate,
    *,
    chain: Sequence[Certificate] = (),
) -> bytes:
    """Sign an XML record enveloped (Signature as the root's last child) and return its bytes."""
    return _sign(root, key, certificate, chain, in_place=False)


def sign_new_record(root: etree._Element, key: PrivateKey, certificate: Certificate) -> bytes:
    """Sign a record element built for this signature alone: as sign_record, but ``root`` itself is signed."""
    return _sign(root, key, certificate, (), in_place=True)


@functools.lru_cache(maxsize=16)
def _pair(key: PrivateKey, certificate: Certificate) -> bool:
    # The axis signs every receipt with one key and certificate: matched once per process.
    return key_matches_certificate(key, certificate)


def _sign(root: etree._Element, key: PrivateKey, certificate: Certificate, chain: Sequence[Certificate], *,
          in_place: bool) -> bytes:
    if find_signatures(root):
        raise SignatureLocationError("the record already carries a ds:Signature", reason="already_signed")
    if chain or not _pair(key, certificate):
        # A chain in KeyInfo, or a mismatch to report as signxml does: the general signer.
        # signxml works on its own copy, so the caller's element is left untouched.
        return serialize(sign_enveloped(root, key, certificate, chain))
    # The usual case, every receipt: libxmlsec1 signs in place, nothing is parsed again.
    target = root if in_place else deepcopy(root)
    sign_enveloped_record(target, key, certificate)
    return serialize(target)


def verify_record(
    data: bytes | etree._Element,
    certificate: Certificate,
    *,
    root_tag: str | None = None,
    at: dt.datetime | None = None,
    max_size: int = DEFAULT_MAX_RECORD_SIZE,
) -> etree._Element:
    """Verify a record signed by ``certificate`` (pinned) and return the signed element without its signature."""
    root = parse_xml(bytes(data), max_size=max_size) if isinstance(data, (bytes, bytearray, memoryview)) else data
    when = check_time(at)
    signatures = find_signatures(root)
    if not signatures:
        raise SignatureMissing("the record is not signed")
    if len(signatures) > 1:
        raise SignatureLocationError("a record carries exactly one signature", reason="multiple_signatures")
    signature = signatures[0]
    elements = [child for child in root if isinstance(child.tag, str)]
    if signature.getparent() is not root or elements[-1] is not signature:
        raise SignatureLocationError("the signature must be the record's last child", reason="misplaced")
    algorithms = algorithm_policy(legacy_sha1=False)
    shape = inspect_signature(signature, algorithms)
    check_trust(signer_certificate(shape.certificates), pinned=[certificate], at=when)
    signed = verify_signed(root, certificate=certificate, location="./", algorithms=algorithms, at=when)
    if root_tag is not None and signed.tag != root_tag:
        raise SignatureMalformed(f"expected a {root_tag} record, got {signed.tag}", reason="unexpected_record")
    return signed
