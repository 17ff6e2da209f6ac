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
    CertificateExpired,
    CertificateUntrusted,
    KeyMaterialError,
    SignatureError,
    SignatureLocationError,
    SignatureMalformed,
    SignatureMissing,
)
from storage.registry.cache import RegisteredAgency
from storage.registry.vxp import LEGACY_TRANSPORT

#: How a message's sender was authenticated (``messages.authenticated_by``).
BY_SIGNATURE = "signature"
BY_TRANSPORT = "transport"

#: Signature failures that mean "cannot be verified" rather than "was changed" (an allow-list:
#: a failure class added later refuses until it is listed here).
_UNVERIFIABLE = (SignatureMissing, SignatureMalformed, SignatureLocationError, AlgorithmRefused,
                 CertificateUntrusted, CertificateExpired, KeyMaterialError)


def accepted_on_transport(caller: RegisteredAgency, error: SignatureError) -> bool:
    """True when ``caller``'s policy lets this signature failure pass on the authenticated transport."""
    return caller.signature_policy == LEGACY_TRANSPORT and isinstance(error, _UNVERIFIABLE)
