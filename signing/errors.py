"""Errors raised while signing or verifying, and while handling key material.

Every error carries ``reason``, a short machine string (``digest_mismatch``,
``expired``, ...) for logs and API answers; each class has a default reason and
a raise site may give a finer one. ``axis/`` maps the whole hierarchy to the
``AXIS.Signature`` problem code in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.x509 import Certificate


class SignatureError(Exception):
    """Base class: a signature could not be made or could not be trusted."""

    reason: str = "signature"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            # An instance attribute shadows the class default only when given.
            self.reason = reason


class SignatureMissing(SignatureError):
    """The message carries no ``ds:Signature`` at all."""

    reason = "missing"


class SignatureTampered(SignatureError):
    """A digest or the signature value does not match: the content was changed."""

    reason = "tampered"


class SignatureLocationError(SignatureError):
    """The signature is not where edXML puts it, is not alone, or does not cover the whole message.

    Raised for a ``ds:Signature`` outside ``edXMLEnvelope/edXMLHeader`` right
    after ``TraceHeaderList``, for more than one signature, for a ``Reference``
    other than a single ``URI=""``, and for wrapping attempts (``ds:Object``).
    """

    reason = "location"


class SignatureMalformed(SignatureError):
    """The signature or a signed record is structurally broken (bad base64, schema, missing parts)."""

    reason = "malformed"


class AlgorithmRefused(SignatureError):
    """A canonicalisation, transform, digest or signature algorithm is not on the allow-list."""

    reason = "algorithm"


class CertificateUntrusted(SignatureError):
    """The signer's certificate is neither pinned nor issued by a configured CA."""

    reason = "untrusted_certificate"
    #: The refused signer certificate, when known: the exchange says whose it is, if registered elsewhere.
    certificate: Certificate | None = None


class SignerNotSender(CertificateUntrusted):
    """The signer certificate is trusted but is not the ``From`` agency's (pinned for another, or naming another)."""

    reason = "signer_not_sender"


class CertificateExpired(SignatureError):
    """The signer's (or its CA's) certificate is outside its validity period at the check time."""

    reason = "expired_certificate"


class KeyMaterialError(SignatureError):
    """A key or certificate could not be loaded or does not fit (bad PEM, wrong type, key/cert mismatch)."""

    reason = "key_material"
