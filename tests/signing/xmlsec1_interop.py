"""Driving xmlsec1 (the independent C implementation of XML-DSig) for interoperability tests.

Reusable outside tests/signing: build a Signature template at the edXML
location, sign it with ``xmlsec1 --sign``, verify with ``xmlsec1 --verify``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from envelope.namespaces import DS_NS
from envelope.xml import parse_xml
from signing.keys import Certificate, IssuedIdentity, certificate_pem, save_identity
from signing.location import envelope_header, signature_anchor

SIGNATURE_METHODS = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
}
DIGESTS = {
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

#: xmlsec1 refuses URI="" unless told; nothing else is enabled, mirroring our verifier.
_URI_FLAGS = ["--enabled-reference-uris", "empty"]


def xmlsec1_or_skip() -> str:
    """Return the xmlsec1 path; skip locally when it is missing, but fail in CI (env CI set)."""
    path = shutil.which("xmlsec1")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is required in CI for the interoperability tests")
        pytest.skip("xmlsec1 is not installed")
    return path


def signature_template(signature_method: str = "rsa-sha256", digest: str = "sha256") -> etree._Element:
    """Return an empty ds:Signature template (exc-c14n, URI="" enveloped, KeyInfo/X509Data) for xmlsec1 to fill."""
    ds = f"{{{DS_NS}}}"
    signature = etree.Element(ds + "Signature", nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, ds + "SignedInfo")
    etree.SubElement(signed_info, ds + "CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(signed_info, ds + "SignatureMethod", Algorithm=SIGNATURE_METHODS[signature_method])
    reference = etree.SubElement(signed_info, ds + "Reference", URI="")
    transforms = etree.SubElement(reference, ds + "Transforms")
    etree.SubElement(transforms, ds + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, ds + "Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, ds + "DigestMethod", Algorithm=DIGESTS[digest])
    etree.SubElement(reference, ds + "DigestValue")
    etree.SubElement(signature, ds + "SignatureValue")
    key_info = etree.SubElement(signature, ds + "KeyInfo")
    etree.SubElement(key_info, ds + "X509Data")
    return signature


def with_template(unsigned: bytes, template: etree._Element) -> bytes:
    """Insert a Signature template into an edXML message at the edXML signature location."""
    root = parse_xml(unsigned)
    anchor = signature_anchor(envelope_header(root))
    template.tail = anchor.tail
    anchor.addnext(template)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _run(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, capture_output=True, timeout=60, check=False)


def xmlsec1_sign(xmlsec1: str, template_xml: bytes, identity: IssuedIdentity, workdir: Path) -> bytes:
    """Sign a message holding a Signature template with ``xmlsec1 --sign``; return the signed bytes."""
    key_path, cert_path = save_identity(workdir, "xmlsec1-signer", identity)
    source = workdir / "template.xml"
    target = workdir / "signed-by-xmlsec1.xml"
    source.write_bytes(template_xml)
    done = _run(
        [xmlsec1, "--sign", *_URI_FLAGS, "--privkey-pem", f"{key_path},{cert_path}", "--output", str(target), str(source)]
    )
    if done.returncode != 0:
        raise AssertionError(f"xmlsec1 --sign failed: {done.stderr.decode(errors='replace')}")
    return target.read_bytes()


def xmlsec1_verify(
    xmlsec1: str, signed: bytes, trusted: list[Certificate], workdir: Path
) -> subprocess.CompletedProcess[bytes]:
    """Run ``xmlsec1 --verify --trusted-pem`` with the given trust anchors; returncode 0 means verified."""
    trust_flags: list[str] = []
    for index, certificate in enumerate(trusted):
        # One file per anchor: --trusted-pem reads a single certificate.
        path = workdir / f"trusted-{index}.pem"
        path.write_bytes(certificate_pem(certificate))
        trust_flags += ["--trusted-pem", str(path)]
    source = workdir / "to-verify.xml"
    source.write_bytes(signed)
    return _run([xmlsec1, "--verify", *_URI_FLAGS, *trust_flags, str(source)])
