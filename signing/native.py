"""XML-DSig verification and signing through libxmlsec1 (the ``xmlsec`` binding), in place on lxml trees.

The fast path of the axis: the tree the parser built is the one xmlsec checks, so nothing is
serialised and parsed again (signxml's verifier copies the document twice). It runs only after
our own structural, algorithm and trust checks (``signing.xmldsig.inspect_signature``,
``signing.trust``), and only with the key of the certificate those checks accepted: xmlsec never
chooses a key or a certificate itself. The transforms it may apply are limited to the ones we
accept. A refusal is re-examined by signxml so that the error says exactly what is wrong.

Keys are loaded once per process and hold the bare key, never a certificate: the binding copies
the key into each signature context (a context cannot be reused, and the binding exposes no
reset), and the copy of a bare key is a reference count where a certificate would be copied and
freed whole. The certificate of a signature we make is written into its KeyInfo by us, after
signing: KeyInfo lies inside the enveloped ``ds:Signature``, so no digest covers it.
"""

from __future__ import annotations

import base64
import functools

import xmlsec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree

from envelope.namespaces import DS_NS
from signing.keys import Certificate, PrivateKey, key_kind, private_key_pem

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
_KEY_INFO = f"{{{DS_NS}}}KeyInfo"
_X509_DATA = f"{{{DS_NS}}}X509Data"
_X509_CERTIFICATE = f"{{{DS_NS}}}X509Certificate"


class NativeVerificationFailed(Exception):
    """libxmlsec1 refused the signature (digest or signature value); the caller finds out which."""


@functools.lru_cache(maxsize=4096)
def _public_key(certificate: Certificate) -> xmlsec.Key:
    # Certificates are hashable and immutable: one xmlsec key per certificate per process, the bare
    # public key of that certificate (see the module docstring).
    spki = certificate.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return xmlsec.Key.from_memory(spki, _C.KeyDataFormatPem)


@functools.lru_cache(maxsize=16)
def _signing_key(key: PrivateKey) -> xmlsec.Key:
    # The axis signs with one key for its lifetime: loaded once, bare (its certificate is written by us).
    return xmlsec.Key.from_memory(private_key_pem(key), _C.KeyDataFormatPem)


@functools.lru_cache(maxsize=16)
def certificate_text(certificate: Certificate) -> str:
    """The base64 of a certificate's DER as KeyInfo carries it (lines of 64, as libxmlsec1 writes them)."""
    encoded = base64.b64encode(certificate.public_bytes(Encoding.DER)).decode("ascii")
    return "".join(encoded[i:i + 64] + "\n" for i in range(0, len(encoded), 64))


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
    """Append an enveloped signature (``Reference URI=""``, exclusive C14N, SHA-256) to ``root`` and fill it.

    ``certificate`` must be ``key``'s (the caller checks): it goes into KeyInfo as the signer's.
    """
    method = _C.TransformRsaSha256 if key_kind(key) == "rsa" else _C.TransformEcdsaSha256
    signature = xmlsec.template.create(root, _C.TransformExclC14N, method, ns="ds")
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, _C.TransformSha256, uri="")
    xmlsec.template.add_transform(reference, _C.TransformEnveloped)
    xmlsec.template.add_transform(reference, _C.TransformExclC14N)
    try:
        _context(_signing_key(key)).sign(signature)
    except xmlsec.Error as exc:
        root.remove(signature)
        raise ValueError(f"libxmlsec1 could not sign: {exc}") from None
    key_info = etree.SubElement(signature, _KEY_INFO)
    key_info.text = key_info.tail = "\n"
    x509_data = etree.SubElement(key_info, _X509_DATA)
    x509_data.text = x509_data.tail = "\n"
    etree.SubElement(x509_data, _X509_CERTIFICATE).text = certificate_text(certificate)
    x509_data[0].tail = "\n"
