"""The axis's trust chain published: a DMS verifies receipts by pinning the axis certificate
or by trusting its CA with ``xmlsec1 --verify --trusted-pem``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509

from signing.keys import DevelopmentCA, certificate_pem, same_certificate
from tests.exchange.snapshots import call
from tests.harness import Harness
from tests.signing.xmlsec1_interop import xmlsec1_or_skip, xmlsec1_verify

A, B = "000.00.00.G22", "000.00.00.H29"


async def test_the_chain_is_the_axis_certificate_then_the_ca_that_issued_it(axis: Harness) -> None:
    single = await call(axis, "GET", "/api/v1/certificate")
    chain = await call(axis, "GET", "/api/v1/certificate/chain")
    assert chain.status == 200 and chain.content_type == "application/x-pem-file"
    certificates = x509.load_pem_x509_certificates(chain.body)
    assert len(certificates) == 2
    leaf, ca = certificates
    assert chain.body.startswith(single.body)  # GET /api/v1/certificate still answers the axis certificate alone
    assert same_certificate(leaf, axis.ctx.identity.certificate)
    leaf.verify_directly_issued_by(ca)
    assert ca.subject == ca.issuer  # the root: nothing above it


async def test_a_receipt_verifies_with_xmlsec1_trusting_only_the_published_ca(axis: Harness, tmp_path: Path) -> None:
    xmlsec1 = xmlsec1_or_skip()
    for name in ("ca", "pinned", "other", "forged"):
        (tmp_path / name).mkdir()
    a, b = await axis.register(A), await axis.register(B)
    _, signed = a.document([b], subject="Biên nhận kiểm tra bằng xmlsec1")
    reply = await call(axis, "POST", "/api/v1/documents", token=a, data=signed)
    assert reply.status == 202
    receipt = reply.json()["receipt"].encode()
    ca = x509.load_pem_x509_certificates((await call(axis, "GET", "/api/v1/certificate/chain")).body)[-1]

    trusted = xmlsec1_verify(xmlsec1, receipt, [ca], tmp_path / "ca")  # the CA only, not the axis certificate
    assert trusted.returncode == 0, trusted.stderr.decode(errors="replace")
    # Pinning instead: the axis certificate's key itself (GET /api/v1/certificate), no chain at all.
    (tmp_path / "pinned" / "axis.pem").write_bytes((await call(axis, "GET", "/api/v1/certificate")).body)
    (tmp_path / "pinned" / "receipt.xml").write_bytes(receipt)
    pinned = subprocess.run([xmlsec1, "--verify", "--enabled-reference-uris", "empty", "--pubkey-cert-pem",
                             str(tmp_path / "pinned" / "axis.pem"), str(tmp_path / "pinned" / "receipt.xml")],
                            capture_output=True, timeout=60)
    assert pinned.returncode == 0, pinned.stderr.decode(errors="replace")

    other = DevelopmentCA.create(common_name="Some Other CA").certificate
    refused = xmlsec1_verify(xmlsec1, receipt, [other], tmp_path / "other")
    assert refused.returncode != 0
    forged = receipt.replace(b"<Sender>" + A.encode(), b"<Sender>" + B.encode())
    assert forged != receipt
    assert xmlsec1_verify(xmlsec1, forged, [ca], tmp_path / "forged").returncode != 0
    assert certificate_pem(ca) in (await call(axis, "GET", "/api/v1/certificate/chain")).body
