"""Whom we believe: pinned certificates or direct issuance by an operator-configured CA, at a given time.

The system CA bundle is never consulted: an agency's signature counts only
because the operator registered its certificate, or the CA that issued it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from signing.errors import CertificateExpired, CertificateUntrusted
from signing.keys import Certificate, fingerprint, same_certificate

TrustPath = Literal["pinned", "ca"]


def check_time(at: dt.datetime | None) -> dt.datetime:
    """Return the check time as aware UTC (now when None), refusing naive datetimes."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        # Agencies work in UTC+7; guessing the zone of a naive time would
        # move every validity boundary by seven hours.
        raise ValueError("the check time must be timezone-aware")
    return at.astimezone(dt.UTC)


def check_validity(certificate: Certificate, at: dt.datetime, role: str = "signer") -> None:
    """Raise CertificateExpired unless ``at`` lies within the certificate's validity period."""
    if at < certificate.not_valid_before_utc:
        raise CertificateExpired(
            f"{role} certificate {fingerprint(certificate)[:16]} is not valid before "
            f"{certificate.not_valid_before_utc.isoformat()} (checked at {at.isoformat()})",
            reason="not_yet_valid",
        )
    if at > certificate.not_valid_after_utc:
        raise CertificateExpired(
            f"{role} certificate {fingerprint(certificate)[:16]} expired at "
            f"{certificate.not_valid_after_utc.isoformat()} (checked at {at.isoformat()})",
            reason="expired",
        )


def _extension(certificate: Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        # cryptography raises ValueError for duplicate or undecodable extensions.
        raise CertificateUntrusted("certificate has malformed extensions", reason="bad_extensions") from None


def _is_ca(certificate: Certificate) -> bool:
    constraints = _extension(certificate, x509.BasicConstraints)
    return isinstance(constraints, x509.BasicConstraints) and constraints.ca


@functools.lru_cache(maxsize=4096)
def _allows_signing(certificate: Certificate) -> bool:
    # Certificates are immutable and hashable: their extensions are decoded once per process.
    usage = _extension(certificate, x509.KeyUsage)
    return not isinstance(usage, x509.KeyUsage) or usage.digital_signature or usage.content_commitment


def _check_signing_usage(certificate: Certificate) -> None:
    # A certificate limited to, say, key encipherment was not issued for
    # signing documents; a missing KeyUsage extension means "unrestricted".
    if not _allows_signing(certificate):
        raise CertificateUntrusted("certificate key usage does not allow signing", reason="key_usage")


def _can_issue(ca: Certificate) -> bool:
    if not _is_ca(ca):
        return False
    usage = _extension(ca, x509.KeyUsage)
    return not isinstance(usage, x509.KeyUsage) or usage.key_cert_sign


def _issued_by(certificate: Certificate, ca: Certificate) -> bool:
    if certificate.issuer != ca.subject:
        return False
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_trust(
    certificate: Certificate,
    *,
    pinned: Sequence[Certificate] = (),
    ca_certificates: Sequence[Certificate] = (),
    at: dt.datetime,
) -> TrustPath:
    """Accept a signer certificate that is pinned or directly issued by a configured CA, valid at ``at``."""
    if any(same_certificate(certificate, candidate) for candidate in pinned):
        check_validity(certificate, at)
        _check_signing_usage(certificate)
        return "pinned"
    for ca in ca_certificates:
        if not _can_issue(ca) or not _issued_by(certificate, ca):
            continue
        if _is_ca(certificate):
            # A CA certificate in KeyInfo proves nothing about an agency.
            raise CertificateUntrusted("the signer certificate is itself a CA", reason="signer_is_ca")
        check_validity(ca, at, role="CA")
        check_validity(certificate, at)
        _check_signing_usage(certificate)
        return "ca"
    error = CertificateUntrusted(
        f"certificate {fingerprint(certificate)[:16]} ({certificate.subject.rfc4514_string()}) "
        "is neither registered nor issued by a configured CA",
        reason="untrusted_certificate",
    )
    error.certificate = certificate
    raise error
