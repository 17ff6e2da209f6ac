"""Signatures the product never makes (SHA-1, inclusive C14N, ...), built with signxml for negative tests."""

from __future__ import annotations

from signxml import XMLSigner, methods

from envelope.xml import parse_xml
from signing.keys import Certificate, PrivateKey
from signing.location import envelope_header, signature_anchor
from signing.xmldsig import make_placeholder, serialize, xml_parser


class PermissiveSigner(XMLSigner):
    """An XMLSigner that also signs with SHA-1, which signxml refuses by default."""

    def check_deprecated_methods(self) -> None:
        # signxml blocks SHA-1 at construction; legacy agency software did
        # not, and the verifier's legacy mode needs such signatures to test.
        return None


def sign_with(
    xml: bytes,
    key: PrivateKey,
    certificate: Certificate,
    *,
    signature_algorithm: str = "rsa-sha256",
    digest_algorithm: str = "sha256",
    c14n_algorithm: str = "http://www.w3.org/2001/10/xml-exc-c14n#",
) -> bytes:
    """Sign an edXML message at the edXML location with any algorithms signxml knows."""
    root = parse_xml(xml)
    anchor = signature_anchor(envelope_header(root))
    placeholder = make_placeholder()
    placeholder.tail = anchor.tail
    anchor.addnext(placeholder)
    signer = PermissiveSigner(
        method=methods.enveloped,
        signature_algorithm=signature_algorithm,
        digest_algorithm=digest_algorithm,
        c14n_algorithm=c14n_algorithm,
    )
    signer._parser = xml_parser()
    return serialize(signer.sign(root, key=key, cert=[certificate]))
