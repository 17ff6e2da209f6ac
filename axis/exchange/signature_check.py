"""The signature check done at acceptance, kept with the message so that no page has to verify it again."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from datetime import datetime

from lxml import etree

from signing.keys import Certificate, common_name_of, fingerprint
from signing.trust import TrustPath
from signing.verifier import VerifiedEnvelope

# check_of reads only the certificate and the algorithms of a verification, never its tree.
_NO_TREE = etree.Element("unused")


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking a document's signature, for display."""

    valid: bool
    reason: str = ""
    signer: str | None = None
    organ_id: str | None = None
    issuer: str | None = None
    serial: str | None = None
    not_before: datetime | None = None
    not_after: datetime | None = None
    fingerprint: str | None = None
    algorithm: str = ""
    trusted_by: str = ""
    #: When it was checked: at acceptance (stored), or None when checked just now.
    checked_at: datetime | None = None


def check_of(verified: VerifiedEnvelope, at: datetime | None = None) -> SignatureCheck:
    """What a successful verification found out about the signer."""
    cert = verified.certificate
    return SignatureCheck(
        valid=True,
        signer=common_name_of(cert) or cert.subject.rfc4514_string(),
        organ_id=verified.signer_organ_id,
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint(cert),
        algorithm=f"{verified.signature_algorithm} / {verified.digest_algorithm}",
        trusted_by=verified.trusted_by,
        checked_at=at,
    )


def stored_check(verified: VerifiedEnvelope) -> str:
    """The check as stored in ``messages.signature_check`` (JSON; its time is the message's ``received_at``)."""
    return _stored(verified.certificate, verified.signature_algorithm, verified.digest_algorithm, verified.trusted_by)


@functools.lru_cache(maxsize=1024)
def _stored(certificate: Certificate, signature_algorithm: str, digest_algorithm: str, trusted_by: TrustPath) -> str:
    # An agency signs everything with one certificate: its facts are worked out once per process, not per message.
    check = check_of(VerifiedEnvelope(root=_NO_TREE, certificate=certificate, signature_algorithm=signature_algorithm,
                                      digest_algorithm=digest_algorithm, trusted_by=trusted_by))
    return json.dumps({k: v.isoformat() if isinstance(v, datetime) else v
                       for k, v in asdict(check).items() if k not in ("valid", "reason", "checked_at")},
                      ensure_ascii=False, separators=(",", ":"))


def load_check(stored: str, checked_at: datetime) -> SignatureCheck:
    """A stored check back, as verified at ``checked_at`` (the message's acceptance)."""
    fields = json.loads(stored)
    for key in ("not_before", "not_after"):
        if fields.get(key):
            fields[key] = datetime.fromisoformat(fields[key])
    return SignatureCheck(valid=True, checked_at=checked_at, **fields)
