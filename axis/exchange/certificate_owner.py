"""The signer must be the ``From`` agency: how the exchange says so when it is not.

The check itself is ``signing.binding.require_signer_is_sender``, run by the verifier right after
trust and before any cryptography. Here, on the refusal path only, a certificate the verifier did
not trust for ``From`` is looked up among the other agencies' registered certificates, so the
answer says whose it is instead of "neither registered nor issued by a configured CA".
"""

from __future__ import annotations

from signing.errors import CertificateUntrusted, SignatureError, SignerNotSender
from signing.keys import same_certificate
from storage.registry.cache import RegistrySnapshot


def registered_owner(snapshot: RegistrySnapshot, exc: CertificateUntrusted) -> str | None:
    """The code of the agency the refused certificate is registered to, if any."""
    certificate = exc.certificate
    if certificate is None:
        return None
    # A scan, on refusals only: the accepting path never comes here.
    for agency in snapshot.by_code.values():
        if any(same_certificate(certificate, pinned) for pinned in agency.certificates):
            return agency.code
    return None


def explain_untrusted_signer(exc: SignatureError, sender: str, snapshot: RegistrySnapshot) -> SignatureError:
    """The error to answer with: ``exc``, or a SignerNotSender naming the agency the certificate belongs to."""
    if not isinstance(exc, CertificateUntrusted) or exc.reason != CertificateUntrusted.reason:
        return exc
    owner = registered_owner(snapshot, exc)
    if owner is None or owner == sender:
        return exc
    return SignerNotSender(f"signed with the certificate registered to {owner}; From is {sender}")
