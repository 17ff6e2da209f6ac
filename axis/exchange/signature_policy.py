"""Per-agency signature policy: when a message without a valid XML-DSig is still accepted.

``required`` (the default): the edXML must carry a valid signature by the sending agency.
``legacy-transport`` (an operator's audited choice for software that does not sign properly yet):
a missing or unverifiable signature is accepted on the strength of the authenticated transport
(bearer token or national SDK HMAC), and the message is marked ``authenticated_by = "transport"``
everywhere. A signature that proves tampering, and any refusal not listed here, still refuses.
"""

from __future__ import annotations

from signing.errors import (
    AlgorithmRefused,
    CertificateUntrusted,
    KeyMaterialError,
    SignatureError,
    SignatureLocationError,
    SignatureMalformed,
    SignatureMissing,
    SignerNotSender,
)
from signing.keys import Certificate, organ_id_of, same_certificate
from storage.registry.cache import RegisteredAgency, RegistrySnapshot
from storage.registry.vxp import LEGACY_TRANSPORT

#: How a message's sender was authenticated (``messages.authenticated_by``).
BY_SIGNATURE = "signature"
BY_TRANSPORT = "transport"

#: Signature failures that mean "cannot be verified" rather than "was changed" (an allow-list of exact
#: types: a subclass, such as SignerNotSender under CertificateUntrusted, never passes by inheritance,
#: and a failure class added later refuses until it is listed here). An expired certificate is not
#: here: the content may have been changed by whoever holds the old key.
_UNVERIFIABLE: frozenset[type[SignatureError]] = frozenset({
    SignatureMissing, SignatureMalformed, SignatureLocationError, AlgorithmRefused, CertificateUntrusted,
    KeyMaterialError,
})


def accepted_on_transport(caller: RegisteredAgency, error: SignatureError) -> bool:
    """True when ``caller``'s policy lets this signature failure pass on the authenticated transport."""
    return caller.signature_policy == LEGACY_TRANSPORT and type(error) in _UNVERIFIABLE


def needs_own_key_check(error: SignatureError) -> bool:
    """True when a signature is present and readable though untrusted: it must still verify on its own key."""
    return type(error) is CertificateUntrusted


def refuse_foreign_signer(caller: RegisteredAgency, certificate: Certificate, snapshot: RegistrySnapshot) -> None:
    """SignerNotSender when an untrusted signature's certificate names or is registered to another agency.

    The transport vouches for the caller only: a signature by someone else must not ride along as theirs.
    """
    named = organ_id_of(certificate)
    if named is not None and named != caller.code:
        raise SignerNotSender(f"signed with a certificate naming {named}; the sender is {caller.code}")
    for agency in snapshot.by_code.values():
        if agency.code != caller.code and any(same_certificate(certificate, c) for c in agency.certificates):
            raise SignerNotSender(f"signed with the certificate registered to {agency.code}; "
                                  f"the sender is {caller.code}")
