"""Keys and X.509 certificates: generation, a development CA, PEM files, fingerprints.

The agency code (mã định danh, e.g. ``000.00.00.G22``) of a certificate's
holder is written into the subject as the ``serialNumber`` attribute
(OID 2.5.4.5, the X.520 attribute meant for an identifier of the subject, not
the certificate's own serial number); :func:`organ_id_of` reads it back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from signing.errors import KeyMaterialError

KeyKind = Literal["rsa", "ec"]
#: The private key types the axis signs with: RSA-2048 and ECDSA P-256.
PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Certificate: TypeAlias = x509.Certificate

RSA_KEY_BITS = 2048
#: Certificates start a little in the past so a peer with a slow clock accepts them at once.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: commonName bound as cryptography enforces it (64 UTF-8 bytes); longer
#: Vietnamese agency names are cut, the organ_id still identifies the holder.
_MAX_COMMON_NAME_BYTES = 64


@dataclass(frozen=True)
class IssuedIdentity:
    """A private key and the certificate that vouches for it."""

    key: PrivateKey
    certificate: Certificate


def generate_private_key(kind: KeyKind = "rsa") -> PrivateKey:
    """Generate a fresh RSA-2048 or ECDSA P-256 private key."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise KeyMaterialError(f"unknown key kind {kind!r}", reason="key_kind")


def key_kind(key: PrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> KeyKind:
    """Return ``"rsa"`` or ``"ec"`` for a private or public key, refusing other key types."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ec"
    raise KeyMaterialError(f"unsupported key type {type(key).__name__}", reason="key_kind")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    # A naive time here would be read as UTC by cryptography; agencies live in
    # UTC+7, so silently guessing would shift validity by seven hours.
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(dt.UTC)


def _fit_common_name(common_name: str) -> str:
    # Cut on a character boundary: "ignore" drops a half-cut multi-byte tail.
    return common_name.encode("utf-8")[:_MAX_COMMON_NAME_BYTES].decode("utf-8", "ignore").rstrip()


def _subject(common_name: str, organ_id: str | None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, _fit_common_name(common_name))]
    if organ_id is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, organ_id))
    attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"))
    return x509.Name(attributes)


def _leaf_extensions(
    builder: x509.CertificateBuilder, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    # digitalSignature + nonRepudiation is what signing certificates from the
    # Vietnamese CAs carry; xmlsec1/OpenSSL check key usage when present.
    return (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _validity(
    not_before: dt.datetime | None, not_after: dt.datetime | None, valid_days: int
) -> tuple[dt.datetime, dt.datetime]:
    start = _aware(not_before, "not_before") if not_before is not None else _utcnow() - CLOCK_SKEW
    end = _aware(not_after, "not_after") if not_after is not None else start + dt.timedelta(days=valid_days)
    if end <= start:
        raise ValueError("not_after must be later than not_before")
    return start, end


@dataclass(frozen=True)
class DevelopmentCA:
    """A self-signed CA for development, demos and tests; production uses the agencies' real CAs."""

    key: PrivateKey
    certificate: Certificate

    @classmethod
    def create(
        cls,
        common_name: str = "Axis Development CA",
        valid_days: int = 3650,
        now: dt.datetime | None = None,
        *,
        kind: KeyKind = "rsa",
    ) -> DevelopmentCA:
        """Create a new CA key and its self-signed certificate."""
        key = generate_private_key(kind)
        start = (_aware(now, "now") if now is not None else _utcnow()) - CLOCK_SKEW
        name = _subject(common_name, None)
        public_key = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=valid_days))
            # path_length=0: the development CA issues end-entity certificates only.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=certificate)

    def issue(
        self,
        common_name: str,
        *,
        organ_id: str | None,
        kind: KeyKind = "rsa",
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        valid_days: int = 825,
    ) -> IssuedIdentity:
        """Issue a signing certificate with a fresh key; ``organ_id`` goes into the subject serialNumber."""
        key = generate_private_key(kind)
        start, end = _validity(not_before, not_after, valid_days)
        public_key = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(common_name, organ_id))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
        )
        builder = _leaf_extensions(builder, public_key).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
        )
        return IssuedIdentity(key=key, certificate=builder.sign(self.key, hashes.SHA256()))


def self_signed_certificate(
    key: PrivateKey,
    common_name: str,
    *,
    organ_id: str | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    valid_days: int = 825,
) -> Certificate:
    """Make a self-signed end-entity signing certificate, for agencies trusted by pinning."""
    start, end = _validity(not_before, not_after, valid_days)
    public_key = key.public_key()
    name = _subject(common_name, organ_id)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    builder = _leaf_extensions(builder, public_key).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
    )
    return builder.sign(key, hashes.SHA256())


def organ_id_of(certificate: Certificate) -> str | None:
    """Return the agency code stored in the certificate subject, if any."""
    values = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def common_name_of(certificate: Certificate) -> str | None:
    """Return the subject common name of a certificate, if any."""
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def load_private_key(pem: bytes, password: bytes | None = None) -> PrivateKey:
    """Load an RSA or EC private key from PEM, raising KeyMaterialError on anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyMaterialError(f"cannot read private key: {exc}", reason="bad_private_key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise KeyMaterialError(f"unsupported private key type {type(key).__name__}", reason="key_kind")
    return key


def load_certificates(pem: bytes) -> list[Certificate]:
    """Load every certificate from PEM text (a certificate followed by its chain, say)."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"cannot read certificate: {exc}", reason="bad_certificate") from None
    if not certificates:
        raise KeyMaterialError("no certificate found", reason="bad_certificate")
    return certificates


def load_certificate(pem: bytes) -> Certificate:
    """Load the first certificate from PEM text; use load_certificates for a whole chain."""
    return load_certificates(pem)[0]


def private_key_pem(key: PrivateKey) -> bytes:
    """Serialise a private key as unencrypted PKCS#8 PEM (files are protected by mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_pem(certificate: Certificate) -> bytes:
    """Serialise a certificate as PEM."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def fingerprint(certificate: Certificate) -> str:
    """Return the SHA-256 fingerprint of the DER certificate as lowercase hex."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def same_certificate(a: Certificate, b: Certificate) -> bool:
    """Tell whether two certificates are byte-for-byte the same DER."""
    # cryptography compares certificates by their DER encoding, without serialising either.
    return a is b or a == b


def key_matches_certificate(key: PrivateKey, certificate: Certificate) -> bool:
    """Tell whether a private key belongs to the public key in a certificate."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == certificate.public_key().public_bytes(*fmt)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # Temp file + fsync + rename: a crash never leaves a half-written key that
    # a restart would then fail to load (or worse, silently replace).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_identity(
    directory: str | os.PathLike[str], stem: str, identity: IssuedIdentity | DevelopmentCA
) -> tuple[Path, Path]:
    """Write ``stem.key.pem`` (mode 0600) and ``stem.cert.pem`` into ``directory``; return both paths."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    key_path = root / f"{stem}.key.pem"
    cert_path = root / f"{stem}.cert.pem"
    _write_atomically(key_path, private_key_pem(identity.key), 0o600)
    _write_atomically(cert_path, certificate_pem(identity.certificate), 0o644)
    return key_path, cert_path


def write_identity(key_path: Path, cert_path: Path, identity: IssuedIdentity) -> None:
    """Write a key (mode 0600) and its certificate to the paths given, creating their directories."""
    for path in (key_path, cert_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(key_path, private_key_pem(identity.key), 0o600)
    _write_atomically(cert_path, certificate_pem(identity.certificate), 0o644)


def load_identity(directory: str | os.PathLike[str], stem: str) -> IssuedIdentity:
    """Read back an identity written by save_identity, checking that key and certificate belong together."""
    root = Path(directory)
    try:
        key = load_private_key((root / f"{stem}.key.pem").read_bytes())
        certificate = load_certificate((root / f"{stem}.cert.pem").read_bytes())
    except OSError as exc:
        raise KeyMaterialError(f"cannot read identity {stem!r}: {exc}", reason="missing_file") from None
    if not key_matches_certificate(key, certificate):
        raise KeyMaterialError(f"key and certificate {stem!r} do not belong together", reason="key_mismatch")
    return IssuedIdentity(key=key, certificate=certificate)
