"""XML-DSig verification and signing through libxmlsec1 (the ``xmlsec`` binding), in place on lxml trees.

The fast path of the axis: the tree the parser built is the one xmlsec checks, so nothing is
serialised and parsed again (signxml's verifier copies the document twice). It runs only after
our own structural, algorithm and trust checks (``signing.xmldsig.inspect_signature``,
``signing.trust``), and only with the key of the certificate those checks accepted: xmlsec never
chooses a key or a certificate itself. The transforms it may apply are limited to the ones we
accept. A refusal is re-examined by signxml so that the error says exactly what is wrong.
"""

from __future__ import annotations

import functools

import xmlsec
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from signing.keys import Certificate, PrivateKey, certificate_pem, key_kind, private_key_pem

_C = xmlsec.constants
#: The digests we accept (xmlsec runs a Reference's DigestMethod as one of its transforms).
_DIGESTS = (_C.TransformSha256, _C.TransformSha384, _C.TransformSha512)
#: Reference transforms: enveloped-signature, one canonicalisation (inclusive or exclusive 1.0), the digest.
_REFERENCE_TRANSFORMS = (_C.TransformEnveloped, _C.TransformExclC14N, _C.TransformInclC14N, *_DIGESTS)
#: What SignedInfo may use: the canonicalisations above and the SHA-2 signature methods.
_SIGNATURE_TRANSFORMS = (
    _C.TransformExclC14N, _C.TransformInclC14N,
    _C.TransformRsaSha256, _C.TransformRsaSha384, _C.TransformRsaSha512,
    _C.TransformEcdsaSha256, _C.TransformEcdsaSha384, _C.TransformEcdsaSha512,
)


class NativeVerificationFailed(Exception):
    """libxmlsec1 refused the signature (digest or signature value); the caller finds out which."""


@functools.lru_cache(maxsize=4096)
def _public_key(certificate: Certificate) -> xmlsec.Key:
    # Certificates are hashable and immutable: one xmlsec key per certificate per process.
    return xmlsec.Key.from_memory(certificate.public_bytes(Encoding.PEM), _C.KeyDataFormatCertPem)


@functools.lru_cache(maxsize=16)
def _signing_key(key: PrivateKey, certificate: Certificate) -> xmlsec.Key:
    # The axis signs with one key for its lifetime: loaded once, with the certificate KeyInfo carries.
    loaded = xmlsec.Key.from_memory(private_key_pem(key), _C.KeyDataFormatPem)
    loaded.load_cert_from_memory(certificate_pem(certificate), _C.KeyDataFormatCertPem)
    return loaded


def _context(key: xmlsec.Key) -> xmlsec.SignatureContext:
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    for transform in _REFERENCE_TRANSFORMS:
        ctx.enable_reference_transform(transform)
    for transform in _SIGNATURE_TRANSFORMS:
        ctx.enable_signature_transform(transform)
    return ctx


def verify_in_place(signature: etree._Element, certificate: Certificate) -> None:
    """Check the digest and signature value of ``signature`` with ``certificate``'s key, or raise."""
    try:
        _context(_public_key(certificate)).verify(signature)
    except xmlsec.Error as exc:
        raise NativeVerificationFailed(str(exc)) from None


def sign_enveloped_record(root: etree._Element, key: PrivateKey, certificate: Certificate) -> None:
    """Append an enveloped signature (``Reference URI=""``, exclusive C14N, SHA-256) to ``root`` and fill it."""
    method = _C.TransformRsaSha256 if key_kind(key) == "rsa" else _C.TransformEcdsaSha256
    signature = xmlsec.template.create(root, _C.TransformExclC14N, method, ns="ds")
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, _C.TransformSha256, uri="")
    xmlsec.template.add_transform(reference, _C.TransformEnveloped)
    xmlsec.template.add_transform(reference, _C.TransformExclC14N)
    x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    xmlsec.template.x509_data_add_certificate(x509_data)
    try:
        _context(_signing_key(key, certificate)).sign(signature)
    except xmlsec.Error as exc:
        root.remove(signature)
        raise ValueError(f"libxmlsec1 could not sign: {exc}") from None
