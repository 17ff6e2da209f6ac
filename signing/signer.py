"""Sign edXML documents and status messages (enveloped XML-DSig)."""

from __future__ import annotations

from collections.abc import Sequence

from envelope.xml import DEFAULT_MAX_SIZE, parse_xml
from signing.errors import SignatureLocationError
from signing.keys import Certificate, PrivateKey
from signing.location import envelope_header, signature_anchor
from signing.xmldsig import find_signatures, make_placeholder, serialize, sign_enveloped


def sign_envelope(
    xml: bytes,
    key: PrivateKey,
    certificate: Certificate,
    *,
    chain: Sequence[Certificate] = (),
    max_size: int = DEFAULT_MAX_SIZE,
) -> bytes:
    """Sign an unsigned edXML message; the signature goes into edXMLHeader right after TraceHeaderList."""
    root = parse_xml(xml, max_size=max_size)
    if find_signatures(root):
        # Re-signing would leave two signatures, which every verifier
        # (ours included) refuses; the caller must start from unsigned bytes.
        raise SignatureLocationError("the message already carries a ds:Signature", reason="already_signed")
    header = envelope_header(root)
    anchor = signature_anchor(header)
    placeholder = make_placeholder()
    # Copy the anchor's trailing whitespace so pretty-printed input stays
    # pretty; whitespace outside the signature is signed like any other text.
    placeholder.tail = anchor.tail
    anchor.addnext(placeholder)
    return serialize(sign_enveloped(root, key, certificate, chain))
