"""The axis's own key and certificate (under AXIS_HOME/keys unless configured elsewhere), and the development CA."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from axis.settings import Settings
from signing.keys import (
    DevelopmentCA,
    IssuedIdentity,
    KeyKind,
    key_matches_certificate,
    load_certificate,
    load_private_key,
    save_identity,
    write_identity,
)

AXIS_COMMON_NAME = "Trục liên thông văn bản quốc gia"


@dataclass(frozen=True)
class KeyFiles:
    """Paths of the key material kept under the data directory."""

    root: Path
    #: The axis key and certificate where the deployment put them (``axis_key_file``,
    #: ``axis_certificate_file``); None: under ``root``, created on first use.
    key: Path | None = None
    cert: Path | None = None

    @property
    def configured(self) -> bool:
        """True when the axis key or certificate path was given: then they are never created implicitly."""
        return self.key is not None or self.cert is not None

    @property
    def ca_key(self) -> Path:
        return self.root / "dev-ca.key.pem"

    @property
    def ca_cert(self) -> Path:
        return self.root / "dev-ca.cert.pem"

    @property
    def axis_key(self) -> Path:
        return self.key or self.root / "axis.key.pem"

    @property
    def axis_cert(self) -> Path:
        return self.cert or self.root / "axis.cert.pem"


class AxisKeyMissing(Exception):
    """The configured axis key or certificate cannot be read, or they do not belong together."""


def key_files(settings: Settings) -> KeyFiles:
    """Where the settings put the axis key and certificate (and the development CA)."""
    return KeyFiles(settings.keys_dir, settings.axis_key_path, settings.axis_certificate_path)


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
        ident = _load(files.axis_key, files.axis_cert)
        if files.configured and not key_matches_certificate(ident.key, ident.certificate):
            raise AxisKeyMissing(f"{files.axis_key} and {files.axis_cert} do not belong together")
        return ident, False
    if files.configured and (files.axis_key.exists() or files.axis_cert.exists()):
        # Half a pair: making a new key would overwrite the one every other node signs with.
        raise AxisKeyMissing(f"only one of {files.axis_key} and {files.axis_cert} exists")
    ca = load_or_create_ca(files)
    ident = ca.issue(AXIS_COMMON_NAME, organ_id=None, kind=kind, valid_days=3650)
    write_identity(files.axis_key, files.axis_cert, ident)
    return ident, True


def load_axis_identity(files: KeyFiles, kind: KeyKind = "ec") -> IssuedIdentity:
    """The identity a server signs with: configured files must exist (each node is given the same ones)."""
    if files.configured and not (files.axis_key.exists() and files.axis_cert.exists()):
        raise AxisKeyMissing(f"the axis key {files.axis_key} or certificate {files.axis_cert} is missing: "
                             "give every node the same files, or create them once with `axis keys init`")
    return load_or_create_axis_identity(files, kind)[0]


def issue_agency_identity(files: KeyFiles, code: str, name: str, out: Path, kind: KeyKind = "rsa") -> IssuedIdentity:
    """Issue a development certificate for an agency and write it to ``out``."""
    ca = load_or_create_ca(files)
    ident = ca.issue(name or code, organ_id=code, kind=kind)
    save_identity(out, code, ident)
    return ident
