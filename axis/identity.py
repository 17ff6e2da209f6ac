"""The axis's own key and certificate, and the development CA, under AXIS_HOME/keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signing.keys import (
    DevelopmentCA,
    IssuedIdentity,
    KeyKind,
    load_certificate,
    load_private_key,
    save_identity,
)

AXIS_COMMON_NAME = "Trục liên thông văn bản quốc gia"


@dataclass(frozen=True)
class KeyFiles:
    """Paths of the key material kept under the data directory."""

    root: Path

    @property
    def ca_key(self) -> Path:
        return self.root / "dev-ca.key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.root / "dev-ca.cert.pem"

    @property
    def axis_key(self) -> Path:
        return self.root / "axis.key.pem"

    @property
    def axis_cert(self) -> Path:
        return self.root / "axis.cert.pem"


def _load(key_path: Path, cert_path: Path) -> IssuedIdentity:
    return IssuedIdentity(load_private_key(key_path.read_bytes()), load_certificate(cert_path.read_bytes()))


def load_or_create_ca(files: KeyFiles) -> DevelopmentCA:
    """The development CA, created on first use."""
    if files.ca_key.exists() and files.ca_cert.exists():
        ident = _load(files.ca_key, files.ca_cert)
        return DevelopmentCA(key=ident.key, certificate=ident.certificate)
    ca = DevelopmentCA.create(common_name="Axis Development CA")
    save_identity(files.root, "dev-ca", IssuedIdentity(ca.key, ca.certificate))
    return ca


def load_or_create_axis_identity(files: KeyFiles, kind: KeyKind = "ec") -> tuple[IssuedIdentity, bool]:
    """The axis signing identity; True in the second place when it was just created.

    A new identity gets an ECDSA P-256 key unless ``kind`` says RSA: every receipt is signed with
    it, and a P-256 signature costs a tenth of an RSA-2048 one. An existing key is kept as it is.
    """
    if files.axis_key.exists() and files.axis_cert.exists():
        return _load(files.axis_key, files.axis_cert), False
    ca = load_or_create_ca(files)
    ident = ca.issue(AXIS_COMMON_NAME, organ_id=None, kind=kind, valid_days=3650)
    save_identity(files.root, "axis", ident)
    return ident, True


def issue_agency_identity(files: KeyFiles, code: str, name: str, out: Path, kind: KeyKind = "rsa") -> IssuedIdentity:
    """Issue a development certificate for an agency and write it to ``out``."""
    ca = load_or_create_ca(files)
    ident = ca.issue(name or code, organ_id=code, kind=kind)
    save_identity(out, code, ident)
    return ident
