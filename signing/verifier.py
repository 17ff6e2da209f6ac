"""Verify signed edXML messages strictly and hand back only what the signature covers."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from envelope.xml import DEFAULT_MAX_SIZE, parse_xml
from signing.binding import require_signer_is_sender
from signing.errors import CertificateExpired
from signing.keys import Certificate, organ_id_of
from signing.location import SIGNATURE_PARENT_PATH, located_signature
from signing.streaming import StreamedEnvelope, StreamedReferenceVerifier
from signing.trust import TrustPath, check_time, check_trust
from signing.xmldsig import (
    LEGACY_DIGESTS,
    LEGACY_SIGNATURE_METHODS,
    SignatureShape,
    algorithm_policy,
    inspect_signature,
    short_name,
    signer_certificate,
    verify_signed,
)


@dataclass(frozen=True)
class VerifyPolicy:
    """Operator settings for verification."""

    #: Accept RSA-SHA1 signatures and SHA-1 digests from old agency software.
    legacy_sha1: bool = False
    #: CAs whose directly issued certificates are trusted (never the system bundle).
    ca_certificates: tuple[Certificate, ...] = ()


@dataclass(frozen=True)
class VerifiedEnvelope:
    """The outcome of a successful verification."""

    #: The signed content only (signxml's ``signed_xml``: the canonicalised
    #: message without its signature). Read fields from this, never from the
    #: bytes that came in.
    root: etree._Element
    #: The signer's certificate, taken from KeyInfo and checked against trust.
    certificate: Certificate
    #: Short algorithm names, e.g. ``rsa-sha256`` / ``ecdsa-sha256`` and ``sha256``.
    signature_algorithm: str
    digest_algorithm: str
    #: How trust was established: ``pinned`` or ``ca``.
    trusted_by: TrustPath = "pinned"
    #: True when ``root`` is the very tree that was passed in, checked in place (libxmlsec1): what was
    #: read from that tree before verifying is then exactly what the signature covers.
    in_place: bool = False

    @property
    def signer_organ_id(self) -> str | None:
        """The agency code in the signer certificate's subject, if any."""
        return organ_id_of(self.certificate)


def _legacy(shape: SignatureShape) -> bool:
    return shape.signature_method in LEGACY_SIGNATURE_METHODS or shape.digest_algorithm in LEGACY_DIGESTS


def verify_envelope(
    data: bytes | etree._Element | StreamedEnvelope,
    *,
    pinned: Sequence[Certificate] = (),
    policy: VerifyPolicy = VerifyPolicy(),
    at: dt.datetime | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    sender: str | None = None,
) -> VerifiedEnvelope:
    """Verify a signed edXML message: one signature in its fixed place, allowed algorithms, trusted and valid signer.

    A tree passed in becomes the signed content (its signature and unsigned comments are removed).
    With ``sender`` (the ``From`` code; ``pinned`` then holds that agency's certificates only) the
    signer must be that agency: see ``signing/binding.py``.
    """
    # Bytes are parsed with the safe parser (no DTD, no entities, size-capped);
    # an element is assumed to come from that same parser; a streamed message
    # brings its small tree and the digest computed while streaming.
    verifier = None
    if isinstance(data, StreamedEnvelope):
        root, verifier = data.root, StreamedReferenceVerifier(data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        root = parse_xml(bytes(data), max_size=max_size)
    else:
        root = data
    when = check_time(at)
    signature = located_signature(root)
    algorithms = algorithm_policy(legacy_sha1=policy.legacy_sha1)
    shape = inspect_signature(signature, algorithms)
    certificate = signer_certificate(shape.certificates)
    # Trust and time first, so an untrusted signer learns nothing about
    # whether its signature is otherwise correct.
    trusted_by = check_trust(certificate, pinned=pinned, ca_certificates=policy.ca_certificates, at=when)
    if sender is not None:
        require_signer_is_sender(certificate, trusted_by, sender)
    signed = verify_signed(
        root, certificate=certificate, location=SIGNATURE_PARENT_PATH, algorithms=algorithms, at=when,
        # libxmlsec1 as built here has SHA-1 turned off: operator legacy mode stays on signxml.
        verifier=verifier, signature=None if _legacy(shape) else signature,
    )
    return VerifiedEnvelope(
        root=signed,
        certificate=certificate,
        signature_algorithm=short_name(shape.signature_method),
        digest_algorithm=short_name(shape.digest_algorithm),
        trusted_by=trusted_by,
        in_place=signed is root,
    )


def verify_own_certificate(
    data: etree._Element | StreamedEnvelope,
    *,
    policy: VerifyPolicy = VerifyPolicy(),
    at: dt.datetime | None = None,
) -> Certificate:
    """Check a present signature against the certificate in its own KeyInfo, trusted or not; that certificate.

    For a signature the trust check refused but a policy may still let pass: it must at least be
    unchanged since it was made (SignatureTampered otherwise) and made while its certificate was valid.
    Nothing is stripped from the tree.
    """
    verifier = None
    if isinstance(data, StreamedEnvelope):
        root, verifier = data.root, StreamedReferenceVerifier(data)
    else:
        root = data
    when = check_time(at)
    algorithms = algorithm_policy(legacy_sha1=policy.legacy_sha1)
    shape = inspect_signature(located_signature(root), algorithms)
    certificate = signer_certificate(shape.certificates)
    if not certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc:
        raise CertificateExpired("the KeyInfo certificate is outside its validity period")
    # signxml on a copy: the in-place check would strip the signature from the tree the caller reads.
    verify_signed(copy.deepcopy(root), certificate=certificate, location=SIGNATURE_PARENT_PATH,
                  algorithms=algorithms, at=when, verifier=verifier, signature=None)
    return certificate
