"""XML-DSig mechanics shared by edXML envelopes and the axis's signed records.

All cryptography and canonicalisation is signxml's, except the Reference
digest of a message read as a stream (signing.streaming); this module decides
what we accept before signxml runs (algorithms, transforms, one ``Reference
URI=""``, no ``ds:Object``) and turns signxml's exceptions into
:mod:`signing.errors`.

Canonicalisation: we sign with exclusive C14N 1.0 only. We also accept
inclusive C14N 1.0 (without comments) when verifying, because agency software
built on .NET ``SignedXml`` emits it by default; with ``URI=""`` over the whole
document the two are equally safe. C14N 1.1 and the ``#WithComments`` variants
are refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from cryptography import x509
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.algorithms import SignatureConstructionMethod as methods
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature, SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier

from envelope.namespaces import DS_NS
from envelope.xml import safe_parser
from signing.errors import (
    AlgorithmRefused,
    CertificateExpired,
    CertificateUntrusted,
    KeyMaterialError,
    SignatureError,
    SignatureLocationError,
    SignatureMalformed,
    SignatureTampered,
)
from signing.keys import Certificate, PrivateKey, key_kind, key_matches_certificate
from signing.native import NativeVerificationFailed, verify_in_place

SIGNATURE_TAG = f"{{{DS_NS}}}Signature"
ENVELOPED_TRANSFORM = methods.enveloped.value
EXCLUSIVE_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
INCLUSIVE_C14N = CanonicalizationMethod.CANONICAL_XML_1_0
#: Canonicalisations accepted on SignedInfo and as a Reference transform.
ACCEPTED_C14N: frozenset[str] = frozenset({EXCLUSIVE_C14N.value, INCLUSIVE_C14N.value})

MODERN_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
MODERN_DIGESTS: frozenset[DigestAlgorithm] = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
#: Only RSA-SHA1 with SHA-1 digests: what older agency software actually produced.
LEGACY_SIGNATURE_METHODS: frozenset[SignatureMethod] = frozenset({SignatureMethod.RSA_SHA1})
LEGACY_DIGESTS: frozenset[DigestAlgorithm] = frozenset({DigestAlgorithm.SHA1})

_SHA1_SIGNATURE_METHODS = frozenset(m for m in SignatureMethod if "SHA1" in m.name)


@dataclass(frozen=True)
class AlgorithmPolicy:
    """The signature methods and digests a verification accepts."""

    signature_methods: frozenset[SignatureMethod]
    digest_algorithms: frozenset[DigestAlgorithm]


def algorithm_policy(*, legacy_sha1: bool = False) -> AlgorithmPolicy:
    """Return the allow-list: SHA-2 always, RSA-SHA1/SHA-1 only in legacy mode."""
    if legacy_sha1:
        return AlgorithmPolicy(
            MODERN_SIGNATURE_METHODS | LEGACY_SIGNATURE_METHODS, MODERN_DIGESTS | LEGACY_DIGESTS
        )
    return AlgorithmPolicy(MODERN_SIGNATURE_METHODS, MODERN_DIGESTS)


def short_name(algorithm: SignatureMethod | DigestAlgorithm) -> str:
    """Return the URI fragment naming an algorithm, e.g. ``rsa-sha256`` or ``sha256``."""
    return str(algorithm.value).rsplit("#", 1)[-1]


def xml_parser() -> etree.XMLParser:
    """The parser signxml re-parses with: envelope.xml's safe one, which keeps huge_tree.

    signxml copies the tree by serialising and re-parsing it; its default parser
    lacks huge_tree and would choke on base64 attachments above 10 MB.
    """
    return safe_parser()


def find_signatures(root: etree._Element) -> list[etree._Element]:
    """Return every ``ds:Signature`` element anywhere under (and including) ``root``."""
    return list(root.iter(SIGNATURE_TAG))


def make_placeholder() -> etree._Element:
    """Return the empty ``ds:Signature Id="placeholder"`` that tells signxml where to put the signature."""
    return etree.Element(SIGNATURE_TAG, {"Id": "placeholder"}, nsmap={"ds": DS_NS})


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


def _children(element: etree._Element) -> list[etree._Element]:
    # Comments and processing instructions are not part of the DSig structure.
    return [child for child in element if isinstance(child.tag, str)]


def _only(parent: etree._Element, local: str) -> etree._Element:
    found = parent.findall(_ds(local))
    if len(found) != 1:
        raise SignatureMalformed(f"expected exactly one ds:{local}, found {len(found)}", reason="structure")
    return found[0]


@dataclass(frozen=True)
class SignatureShape:
    """What a ``ds:Signature`` declares, after checking it against our rules."""

    signature_method: SignatureMethod
    digest_algorithm: DigestAlgorithm
    c14n_method: str
    certificates: tuple[Certificate, ...]


def _signature_method(uri: str | None, algorithms: AlgorithmPolicy) -> SignatureMethod:
    try:
        method = SignatureMethod(uri)
    except ValueError:
        raise AlgorithmRefused(f"unknown signature method {uri!r}", reason="signature_method") from None
    if method not in algorithms.signature_methods:
        reason = "sha1_refused" if method in _SHA1_SIGNATURE_METHODS else "signature_method"
        raise AlgorithmRefused(f"signature method {short_name(method)} is not allowed", reason=reason)
    return method


def _digest_algorithm(uri: str | None, algorithms: AlgorithmPolicy) -> DigestAlgorithm:
    try:
        digest = DigestAlgorithm(uri)
    except ValueError:
        raise AlgorithmRefused(f"unknown digest algorithm {uri!r}", reason="digest") from None
    if digest not in algorithms.digest_algorithms:
        reason = "sha1_refused" if digest is DigestAlgorithm.SHA1 else "digest"
        raise AlgorithmRefused(f"digest algorithm {short_name(digest)} is not allowed", reason=reason)
    return digest


def _check_transforms(reference: etree._Element) -> None:
    transforms = reference.find(_ds("Transforms"))
    algorithms = [] if transforms is None else [t.get("Algorithm") for t in _children(transforms)]
    if algorithms.count(ENVELOPED_TRANSFORM) != 1:
        raise SignatureLocationError(
            "the Reference must carry the enveloped-signature transform exactly once", reason="transforms"
        )
    others = [a for a in algorithms if a != ENVELOPED_TRANSFORM]
    # Anything beyond one canonicalisation (XPath, XSLT, base64) could make
    # the digest cover something other than the message as the axis sees it.
    for algorithm in others:
        if algorithm not in ACCEPTED_C14N:
            raise AlgorithmRefused(f"transform {algorithm!r} is not allowed", reason="transform")
    if len(others) > 1:
        raise AlgorithmRefused("more than one canonicalisation transform", reason="transform")


@functools.lru_cache(maxsize=1024)
def _certificate_from_text(text: str) -> Certificate:
    # An agency sends the same certificate with every message: decoded once per process. Certificates
    # are immutable, and the same object each time lets the caches keyed by certificate answer at once.
    der = base64.b64decode("".join(text.split()), validate=True)
    certificate = x509.load_der_x509_certificate(der)
    # cryptography parses names and extensions on first use: a malformed one must be refused here as an
    # unreadable certificate, not raise ValueError later while a check builds its message.
    try:
        certificate.subject, certificate.issuer, certificate.extensions  # noqa: B018
    except Exception as exc:  # noqa: BLE001 - hostile bytes: cryptography raises ValueError, KeyError, …
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    return certificate


def _certificates(signature: etree._Element) -> tuple[Certificate, ...]:
    texts = signature.findall(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509Certificate')}")
    if not texts:
        raise CertificateUntrusted("the signature carries no X509Certificate in KeyInfo", reason="no_certificate")
    certificates = []
    for element in texts:
        try:
            certificates.append(_certificate_from_text(element.text or ""))
        except (binascii.Error, ValueError) as exc:
            raise SignatureMalformed(f"unreadable X509Certificate: {exc}", reason="bad_certificate") from None
    return tuple(certificates)


def inspect_signature(signature: etree._Element, algorithms: AlgorithmPolicy) -> SignatureShape:
    """Check a ``ds:Signature`` against our rules (one ``Reference URI=""``, allowed algorithms) before any crypto."""
    children = _children(signature)
    if any(child.tag == _ds("Object") for child in children):
        # ds:Object is where signature-wrapping attacks hide a second copy of
        # the content; an edXML signature never needs one.
        raise SignatureLocationError("ds:Object inside the signature is not allowed", reason="signature_object")
    expected = [_ds("SignedInfo"), _ds("SignatureValue"), _ds("KeyInfo")]
    if [child.tag for child in children] != expected:
        raise SignatureMalformed(
            "a signature must hold exactly SignedInfo, SignatureValue and KeyInfo", reason="structure"
        )
    signed_info = children[0]
    c14n = _only(signed_info, "CanonicalizationMethod").get("Algorithm")
    if c14n not in ACCEPTED_C14N:
        raise AlgorithmRefused(f"canonicalisation {c14n!r} is not allowed", reason="c14n")
    method = _signature_method(_only(signed_info, "SignatureMethod").get("Algorithm"), algorithms)
    references = signed_info.findall(_ds("Reference"))
    if len(references) != 1:
        raise SignatureLocationError(
            f"expected exactly one Reference, found {len(references)}", reason="reference_count"
        )
    reference = references[0]
    if reference.get("URI") != "":
        raise SignatureLocationError(
            f"the Reference must be URI=\"\" (the whole message), not {reference.get('URI')!r}",
            reason="reference_uri",
        )
    _check_transforms(reference)
    if children[2].find(_ds("KeyValue")) is not None:
        # The key must come from the certificate we trust, never from a bare key beside it.
        raise SignatureMalformed("KeyInfo carries a KeyValue besides X509Data", reason="ambiguous_key_info")
    digest = _digest_algorithm(_only(reference, "DigestMethod").get("Algorithm"), algorithms)
    return SignatureShape(method, digest, c14n, _certificates(signature))


def signer_certificate(certificates: Sequence[Certificate]) -> Certificate:
    """Pick the end-entity certificate out of KeyInfo (the one that issued none of the others)."""
    if len(certificates) == 1:
        return certificates[0]
    leaves = [
        c for c in certificates if not any(o is not c and o.issuer == c.subject for o in certificates)
    ]
    if len(leaves) != 1:
        raise CertificateUntrusted(
            "cannot tell which KeyInfo certificate is the signer's", reason="ambiguous_certificate"
        )
    return leaves[0]


def verify_signed(
    root: etree._Element,
    *,
    certificate: Certificate,
    location: str,
    algorithms: AlgorithmPolicy,
    at: dt.datetime,
    verifier: XMLVerifier | None = None,
    signature: etree._Element | None = None,
) -> etree._Element:
    """Check an already inspected and trusted signature; return the signed XML only.

    With ``signature`` (the one ds:Signature of ``root``, at a checked place, its Reference
    ``URI=""`` and enveloped) libxmlsec1 checks it in place and ``root`` itself is reduced to
    the signed content: the signature and the comments exclusive C14N leaves unsigned are
    stripped, their tail text kept. Otherwise, and to explain a refusal, signxml checks it
    and hands back its canonical copy. ``verifier`` replaces signxml's own, e.g.
    signing.streaming's, which takes the Reference digest from a streamed pass.
    """
    if signature is not None and verifier is None:
        try:
            verify_in_place(signature, certificate)
        except NativeVerificationFailed as exc:
            _explain_refusal(root, certificate, location, algorithms, at, str(exc))
        etree.strip_elements(root, SIGNATURE_TAG, etree.Comment, with_tail=False)
        return root
    return _verify_with_signxml(root, certificate, location, algorithms, at, verifier)


def _explain_refusal(root: etree._Element, certificate: Certificate, location: str, algorithms: AlgorithmPolicy,
                     at: dt.datetime, native_error: str) -> NoReturn:
    """signxml on what libxmlsec1 refused: its errors say which part failed (digest, value, form)."""
    _verify_with_signxml(root, certificate, location, algorithms, at, None)
    # Two implementations disagreeing is itself a reason to refuse.
    raise SignatureTampered(f"the signature does not verify: {native_error}", reason="signature_mismatch")


def _verify_with_signxml(root: etree._Element, certificate: Certificate, location: str, algorithms: AlgorithmPolicy,
                         at: dt.datetime, verifier: XMLVerifier | None) -> etree._Element:
    config = SignatureConfiguration(
        require_x509=True,
        location=location,
        expect_references=1,
        signature_methods=algorithms.signature_methods,
        digest_algorithms=algorithms.digest_algorithms,
        # Our own check time, so signxml's validity check agrees with ours
        # instead of reading the clock again.
        verification_time=at,
        # XML-DSig: a node-set left after the last transform is turned into
        # octets with inclusive C14N 1.0 (signxml would default to 1.1).
        default_reference_c14n_method=INCLUSIVE_C14N,
    )
    try:
        # x509_cert pins signxml to the certificate we already trusted, so it
        # never looks at a CA bundle.
        result = (verifier or XMLVerifier()).verify(
            root, x509_cert=certificate, expect_config=config, parser=xml_parser()
        )
    except InvalidDigest as exc:
        raise SignatureTampered(f"the signed content was changed: {exc}", reason="digest_mismatch") from None
    except InvalidCertificate as exc:
        text = str(exc)
        if "not yet valid" in text:
            raise CertificateExpired(text, reason="not_yet_valid") from None
        if "expired" in text:
            raise CertificateExpired(text, reason="expired") from None
        raise CertificateUntrusted(text) from None
    except InvalidSignature as exc:
        if "references" in str(exc):
            raise SignatureLocationError(str(exc), reason="reference_count") from None
        raise SignatureTampered(f"the signature value does not match: {exc}", reason="signature_mismatch") from None
    except InvalidInput as exc:
        text = str(exc)
        if "forbidden by configuration" in text:
            raise AlgorithmRefused(text) from None
        if "KeyValue" in text:
            raise SignatureMalformed(text, reason="ambiguous_key_info") from None
        raise SignatureMalformed(text) from None
    except etree.DocumentInvalid as exc:
        raise SignatureMalformed(f"the signature breaks the XML-DSig schema: {exc}", reason="schema") from None
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        # binascii.Error (bad base64 in SignatureValue) is a ValueError.
        raise SignatureMalformed(f"unreadable signature: {exc}") from None
    # expect_references=1 makes signxml return one result, not a list.
    if not isinstance(result, VerifyResult) or result.signed_xml is None:
        raise SignatureMalformed("the signed content is not XML", reason="structure")
    signed: etree._Element = result.signed_xml
    return signed


class _ParsingSigner(XMLSigner):
    """XMLSigner that re-parses with our safe, huge_tree parser (see xml_parser)."""

    def __init__(self, signature_algorithm: str, parser: etree.XMLParser) -> None:
        super().__init__(
            method=methods.enveloped,
            signature_algorithm=signature_algorithm,
            digest_algorithm="sha256",
            c14n_algorithm=EXCLUSIVE_C14N.value,
        )
        # XMLVerifier.verify takes a parser argument; XMLSigner only has the
        # attribute, which processor.parser reads.
        self._parser = parser  # type: ignore[assignment]  # signxml declares it as None


def signature_algorithm_for(key: PrivateKey) -> str:
    """Return the XML-DSig signature algorithm for a key: ``rsa-sha256`` or ``ecdsa-sha256``."""
    return "rsa-sha256" if key_kind(key) == "rsa" else "ecdsa-sha256"


def sign_enveloped(
    document: etree._Element,
    key: PrivateKey,
    certificate: Certificate,
    chain: Sequence[Certificate] = (),
) -> etree._Element:
    """Sign a whole document with an enveloped ``Reference URI=""``; the signature replaces a placeholder if present."""
    if not key_matches_certificate(key, certificate):
        raise KeyMaterialError("the private key does not belong to the certificate", reason="key_mismatch")
    for attribute in ("Id", "ID", "id"):
        # signxml would turn a root Id into Reference URI="#..." and sign a
        # subtree only; edXML signatures always cover the whole message.
        if document.get(attribute) is not None:
            raise SignatureLocationError(f"the root element carries an {attribute} attribute", reason="root_id")
    signer = _ParsingSigner(signature_algorithm_for(key), xml_parser())
    try:
        signed = signer.sign(document, key=key, cert=[certificate, *chain])
    except (SignXMLException, ValueError, TypeError) as exc:
        raise SignatureError(f"signing failed: {exc}", reason="signing_failed") from None
    references = signed.findall(f".//{_ds('SignedInfo')}/{_ds('Reference')}")
    # Belt and braces: never hand out a signature the verifier would refuse.
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureLocationError("signxml produced an unexpected Reference", reason="reference_uri")
    return signed


def serialize(root: etree._Element) -> bytes:
    """Serialise a signed tree as UTF-8 with a double-quoted XML declaration."""
    # lxml's own declaration uses single quotes, which some agency parsers
    # written by hand do not expect.
    body: bytes = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body
