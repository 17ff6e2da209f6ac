"""Verifying a signed edXML message from a file too large to hold in memory.

envelope.streaming reads the file: a small tree of everything but the
attachments' base64 text, each attachment measured, and the canonical form of
the whole message minus its ds:Signature streamed into the Reference's digest
(envelope.c14n; the Reference's own transforms say which canonical form).
Then signxml checks everything else exactly as for a message in memory
(signature schema, allowed algorithms, the pinned certificate, the signature
value over SignedInfo); only the Reference digest is ours, compared with the
DigestValue of the SignedInfo signxml has verified.

Every canonicalisation the verification policy accepts is streamed: exclusive
C14N 1.0 (with or without an InclusiveNamespaces PrefixList), inclusive C14N
1.0, or none (inclusive C14N 1.0 by default). Anything else is refused by that
same policy (signing.xmldsig.inspect_signature), so there is no fallback to
the in-memory path.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.hashes import Hash
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml.algorithms import DigestAlgorithm, digest_algorithm_implementations
from signxml.exceptions import InvalidDigest, InvalidInput
from signxml.verifier import VerifyResult, XMLVerifier

from envelope.c14n import CanonicalWriter
from envelope.namespaces import DS_NS
from envelope.streaming import MeasuredBase64, first_element, read_streamed
from signing.xmldsig import ENVELOPED_TRANSFORM, EXCLUSIVE_C14N, INCLUSIVE_C14N, SIGNATURE_TAG

_EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_STREAMABLE_C14N = frozenset({EXCLUSIVE_C14N.value, INCLUSIVE_C14N.value})


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


@dataclass(frozen=True)
class DigestPlan:
    """What a ``Reference URI=""`` digests: the message minus its signature, in this canonical form, by this hash."""

    algorithm: DigestAlgorithm
    exclusive: bool
    #: The exclusive transform's InclusiveNamespaces PrefixList, split as signxml splits it.
    inclusive_prefixes: tuple[str, ...] | None = None


def digest_plan(reference: etree._Element) -> DigestPlan | None:
    """Read a ds:Reference's transforms and digest method as signxml applies them; None if not streamable."""
    transforms = reference.find(_ds("Transforms"))
    algorithms = [] if transforms is None else transforms.findall(_ds("Transform"))
    uris = [t.get("Algorithm") for t in algorithms]
    # Without the enveloped transform the digest would cover the signature itself.
    if ENVELOPED_TRANSFORM not in uris:
        return None
    c14n = [t for t in algorithms if t.get("Algorithm") != ENVELOPED_TRANSFORM]
    if len(c14n) > 1 or any(t.get("Algorithm") not in _STREAMABLE_C14N for t in c14n):
        return None
    # No canonicalisation transform: XML-DSig turns the node-set into octets with inclusive C14N 1.0.
    method = c14n[0].get("Algorithm") if c14n else INCLUSIVE_C14N.value
    prefixes = None
    if c14n:
        listed = c14n[0].find(f"{{{_EC_NS}}}InclusiveNamespaces[@PrefixList]")
        if listed is not None:
            prefixes = tuple((listed.get("PrefixList") or "").split(" "))
    digest_method = reference.find(_ds("DigestMethod"))
    try:
        algorithm = DigestAlgorithm(None if digest_method is None else digest_method.get("Algorithm"))
    except ValueError:
        return None
    return DigestPlan(algorithm, method == EXCLUSIVE_C14N.value, prefixes)


@dataclass(frozen=True)
class StreamedEnvelope:
    """A signed edXML message read from a file, ready for signing.verifier.verify_envelope."""

    #: The message without its attachments' base64 text (signature included, as received).
    root: etree._Element
    #: Each attachment measured, for envelope.parser (``measured=``).
    base64: Mapping[str, MeasuredBase64]
    #: How the digest below was computed, read from the first ds:Signature; None if nothing was computed.
    plan: DigestPlan | None = None
    digest: bytes | None = None
    #: Why the canonical form could not be computed, if so.
    canonical_error: str | None = None


def _plan_of(signature: etree._Element | None) -> DigestPlan | None:
    if signature is None:
        return None
    references = signature.findall(f"{_ds('SignedInfo')}/{_ds('Reference')}")
    # More than one Reference is refused by the policy before the digest matters.
    return digest_plan(references[0]) if len(references) == 1 else None


def read_signed_stream(path: Path, *, max_size: int) -> StreamedEnvelope:
    """Read a signed edXML file once (after a look at its signature) without holding it; nothing is verified yet."""
    # The signature says which canonical form and hash to stream into. It comes
    # before the attachments in any real message, so this look reads kilobytes;
    # a message with its signature after them is read twice, never held.
    plan = _plan_of(first_element(path, SIGNATURE_TAG, max_size=max_size))
    if plan is None:
        message = read_streamed(path, max_size=max_size)
        return StreamedEnvelope(message.root, message.base64)
    hasher = Hash(digest_algorithm_implementations[plan.algorithm]())
    writer = CanonicalWriter(hasher.update, exclusive=plan.exclusive, inclusive_prefixes=plan.inclusive_prefixes)
    message = read_streamed(path, max_size=max_size, canonical=writer, omit=SIGNATURE_TAG)
    if message.canonical_error is not None:
        return StreamedEnvelope(message.root, message.base64, plan, None, message.canonical_error)
    return StreamedEnvelope(message.root, message.base64, plan, hasher.finalize())


def _without_signature(root: etree._Element) -> etree._Element:
    # What the digest covered: no signature (its tail text stays, as with signxml's
    # enveloped transform) and no comments (canonical XML has none).
    signature = next(root.iter(SIGNATURE_TAG), None)
    if signature is not None:
        parent = signature.getparent()
        assert parent is not None
        if signature.tail:
            previous = signature.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + signature.tail
            else:
                parent.text = (parent.text or "") + signature.tail
        parent.remove(signature)
    etree.strip_elements(root, etree.Comment, with_tail=False)
    return root


class StreamedReferenceVerifier(XMLVerifier):
    """signxml's verifier, with the Reference digest taken from a streamed pass instead of a tree in memory."""

    def __init__(self, envelope: StreamedEnvelope) -> None:
        super().__init__()
        self._envelope = envelope

    def _verify_reference(  # type: ignore[no-untyped-def]  # overrides signxml's untyped hook
        self, reference, index, root, uri_resolver, c14n_algorithm, signature, signature_key_used
    ) -> VerifyResult:
        # ``reference`` comes from the SignedInfo signxml has just verified: read
        # the plan again from it, and use the streamed digest only if it was
        # computed the same way.
        envelope = self._envelope
        if reference.get("URI") != "":
            raise InvalidInput("only a Reference URI=\"\" can be checked while streaming")
        plan = digest_plan(reference)
        if plan is not None:
            self.check_digest_alg_expected(plan.algorithm)  # type: ignore[no-untyped-call]  # signxml
        if envelope.canonical_error is not None:
            raise InvalidInput(f"C14N failed: {envelope.canonical_error}")
        if plan is None or plan != envelope.plan or envelope.digest is None:
            raise InvalidInput("the Reference's transforms cannot be checked while streaming")
        digest_value = reference.find(_ds("DigestValue"))
        if digest_value is None or base64.b64decode(digest_value.text or "") != envelope.digest:
            raise InvalidDigest(f"Digest mismatch for reference {index} ({reference.get('URI')})")
        # signxml's own (untyped) serialise and safe re-parse, as its XMLVerifier does.
        signed = _without_signature(self._fromstring(self._tostring(root)))  # type: ignore[no-untyped-call]  # ditto
        key: Any = signature_key_used
        pem = key if isinstance(key, bytes) else key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        # The canonical bytes went into the hash, not into memory: signed_data stays empty.
        return VerifyResult(b"", signed, signature, signature_key=pem)

