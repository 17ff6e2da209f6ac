"""Whose signature it is: a trusted signer certificate must also be the ``From`` agency's.

Trust (``signing/trust.py``) answers "may this certificate sign at all"; binding answers "as whom".
A pinned certificate is bound by the operator, who registered it for one agency. A CA-issued
certificate is bound by its subject: exactly one ``serialNumber`` attribute (OID 2.5.4.5, where
the development CA and the Vietnamese CAs write the agency code, mã định danh) equal to the
``From`` code. No other field counts: a commonName, an organisation or an e-mail naming the agency
binds nothing, since CAs issue those to people as well.
"""

from __future__ import annotations

import functools

from cryptography.x509.oid import NameOID

from signing.errors import SignerNotSender
from signing.keys import Certificate
from signing.trust import TrustPath


@functools.lru_cache(maxsize=4096)
def certificate_agency(certificate: Certificate) -> str | None:
    """The agency code a certificate's subject names (its single serialNumber), or None."""
    # Cached like trust's key-usage check: decoding a subject costs several times a cache hit.
    values = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(values) != 1:
        # Two serialNumbers would let a CA-issued subject name two agencies at once: it names none.
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def require_signer_is_sender(certificate: Certificate, trusted_by: TrustPath, sender: str) -> None:
    """Refuse a signer that is not the ``From`` agency ``sender`` (a CA-issued certificate must name it)."""
    if trusted_by == "pinned":
        # The caller pinned only the certificates registered for ``sender``.
        return
    named = certificate_agency(certificate)
    if named == sender:
        return
    if named is None:
        raise SignerNotSender(
            f"signed by a certificate that names no agency ({certificate.subject.rfc4514_string()}); "
            f"From is {sender}"
        )
    raise SignerNotSender(f"signed by {named}'s certificate; From is {sender}")
