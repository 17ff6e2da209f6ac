"""Keys, certificates, the development CA and PEM files."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.errors import KeyMaterialError
from signing.keys import (
    DevelopmentCA,
    IssuedIdentity,
    certificate_pem,
    common_name_of,
    fingerprint,
    generate_private_key,
    key_matches_certificate,
    load_certificate,
    load_certificates,
    load_identity,
    load_private_key,
    organ_id_of,
    private_key_pem,
    save_identity,
    self_signed_certificate,
)


def test_generated_keys_are_rsa_2048_and_p256() -> None:
    rsa_key = generate_private_key("rsa")
    ec_key = generate_private_key("ec")
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size == 2048
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and isinstance(ec_key.curve, ec.SECP256R1)


def test_unknown_key_kind_is_refused() -> None:
    with pytest.raises(KeyMaterialError):
        generate_private_key("dsa")  # type: ignore[arg-type]


def test_development_ca_is_a_ca_that_signs_certificates(dev_ca: DevelopmentCA) -> None:
    cert = dev_ca.certificate
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.ca and usage.key_cert_sign
    assert common_name_of(cert) == "Axis Development CA"
    cert.verify_directly_issued_by(cert)


def test_issued_certificate_carries_organ_id_and_signing_usage(dev_ca: DevelopmentCA, rsa_identity: IssuedIdentity) -> None:
    cert = rsa_identity.certificate
    assert organ_id_of(cert) == "000.00.00.G22"
    assert common_name_of(cert) == "Văn phòng Chính phủ"
    cert.verify_directly_issued_by(dev_ca.certificate)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = dev_ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert key_matches_certificate(rsa_identity.key, cert)


def test_issue_honours_explicit_validity(dev_ca: DevelopmentCA) -> None:
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    ident = dev_ca.issue("Old", organ_id=None, kind="ec", not_before=start, not_after=end)
    assert ident.certificate.not_valid_before_utc == start
    assert ident.certificate.not_valid_after_utc == end
    assert organ_id_of(ident.certificate) is None


def test_naive_datetimes_are_refused(dev_ca: DevelopmentCA) -> None:
    with pytest.raises(ValueError):
        dev_ca.issue("Naive", organ_id=None, not_before=dt.datetime(2024, 1, 1))


def test_long_vietnamese_names_are_cut_on_a_character_boundary(dev_ca: DevelopmentCA) -> None:
    name = "Ủy ban nhân dân huyện " + "Đông Giang, tỉnh Quảng Nam " * 4
    ident = dev_ca.issue(name, organ_id="001.00.10.H47")
    cn = common_name_of(ident.certificate)
    assert cn is not None and name.startswith(cn) and 50 < len(cn.encode()) <= 64


def test_self_signed_certificate_verifies_itself() -> None:
    key = generate_private_key("ec")
    cert = self_signed_certificate(key, "Self", organ_id="000.00.00.H41")
    cert.verify_directly_issued_by(cert)
    assert organ_id_of(cert) == "000.00.00.H41"


def test_pem_round_trip(rsa_identity: IssuedIdentity, dev_ca: DevelopmentCA) -> None:
    key = load_private_key(private_key_pem(rsa_identity.key))
    assert key_matches_certificate(key, rsa_identity.certificate)
    assert load_certificate(certificate_pem(rsa_identity.certificate)) == rsa_identity.certificate
    chain = certificate_pem(rsa_identity.certificate) + certificate_pem(dev_ca.certificate)
    assert load_certificates(chain) == [rsa_identity.certificate, dev_ca.certificate]
    assert load_certificate(chain) == rsa_identity.certificate


@pytest.mark.parametrize("junk", [b"", b"not a pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_bad_pem_is_key_material_error(junk: bytes) -> None:
    with pytest.raises(KeyMaterialError):
        load_private_key(junk)
    with pytest.raises(KeyMaterialError):
        load_certificate(junk)


def test_fingerprint_is_lowercase_sha256_hex(rsa_identity: IssuedIdentity) -> None:
    value = fingerprint(rsa_identity.certificate)
    assert value == rsa_identity.certificate.fingerprint(hashes.SHA256()).hex()
    assert len(value) == 64 and value == value.lower()


def test_save_identity_protects_the_key_and_loads_back(tmp_path: Path, rsa_identity: IssuedIdentity) -> None:
    key_path, cert_path = save_identity(tmp_path / "keys", "agency", rsa_identity)
    assert key_path.name == "agency.key.pem" and cert_path.name == "agency.cert.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    loaded = load_identity(tmp_path / "keys", "agency")
    assert loaded.certificate == rsa_identity.certificate
    assert key_matches_certificate(loaded.key, rsa_identity.certificate)
    # Overwriting keeps the mode strict too.
    save_identity(tmp_path / "keys", "agency", rsa_identity)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_load_identity_refuses_a_key_from_another_certificate(
    tmp_path: Path, rsa_identity: IssuedIdentity, ec_identity: IssuedIdentity
) -> None:
    save_identity(tmp_path, "mixed", IssuedIdentity(rsa_identity.key, ec_identity.certificate))
    with pytest.raises(KeyMaterialError) as caught:
        load_identity(tmp_path, "mixed")
    assert caught.value.reason == "key_mismatch"
