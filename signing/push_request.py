"""The axis's signature on a push request: proves to a recipient's endpoint that the axis sent it.

The axis signs, with its own key, the line ``axis-push-v1``, the recipient's agency code, the
message id and the SHA-256 of the exact body, one per line. The endpoint checks it against the
axis certificate (``GET /api/v1/certificate``): nothing secret is shared, a leak at one agency
lets nobody act as the axis, and a captured request is good only for the same message to the
same recipient (which it treats as a repeat).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing.errors import SignatureMissing, SignatureTampered
from signing.keys import Certificate, PrivateKey

#: The request header carrying the signature (base64).
HEADER = "X-Axis-Signature"
_VERSION = b"axis-push-v1"


def push_request_payload(recipient: str, message_id: str, body_sha256: str) -> bytes:
    """The bytes the axis signs for one push of ``message_id`` to ``recipient``."""
    return b"\n".join((_VERSION, recipient.encode(), message_id.encode(), body_sha256.lower().encode()))


def sign_push_request(key: PrivateKey, recipient: str, message_id: str, body_sha256: str) -> str:
    """The ``X-Axis-Signature`` value for a push (``body_sha256`` is the hex digest of the body)."""
    data = push_request_payload(recipient, message_id, body_sha256)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify_push_request(certificate: Certificate, header: str | None, recipient: str, message_id: str,
                        body: bytes) -> None:
    """Raise ``SignatureError`` unless ``header`` is the axis's signature of this push of ``body``."""
    if not header:
        raise SignatureMissing(f"no {HEADER} header: the request is not from the axis")
    try:
        signature = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureTampered(f"{HEADER} is not base64") from None
    data = push_request_payload(recipient, message_id, hashlib.sha256(body).hexdigest())
    public = certificate.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureTampered(f"the axis certificate's key type {type(public).__name__} is not supported")
    except InvalidSignature:
        raise SignatureTampered(f"{HEADER} does not match this request (other body, message or recipient)") from None
