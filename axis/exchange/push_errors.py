"""Why a push attempt failed: the detail the operator sees, and the words other parties may see.

A delivery's ``last_error`` is stored as ``"<public words>: <detail>"``. The detail may name the
recipient's internal hosts, addresses and redirect targets, so only operators see it (``/admin``,
logs, audit); senders and recipients (trace, web document page, the axis's status 02) get
``public_error(last_error)``: one of the fixed phrases below, never text taken from the detail.
"""

from __future__ import annotations

import re

UNREACHABLE = "recipient endpoint unreachable"
REDIRECTED = "recipient endpoint answered with a redirect, which the axis does not follow"
NOT_ALLOWED = "recipient endpoint is not an allowed https:// URL"
#: The endpoint's host resolved only to internal addresses (loopback, private, link-local...) not allow-listed.
ADDRESS_REFUSED = "recipient endpoint's address is not allowed"
ANSWER_TOO_LARGE = "recipient endpoint's answer is too large"
BAD_RECEIPT = "recipient endpoint's answer is not its signed receipt 01"
NO_ENDPOINT = "recipient has no push endpoint"
NOT_REGISTERED = "recipient is no longer registered"
#: What anything else (an axis-side failure, an error stored before this rule) is shown as.
GENERIC = "delivery attempt failed"

_FIXED = (UNREACHABLE, REDIRECTED, NOT_ALLOWED, ADDRESS_REFUSED, ANSWER_TOO_LARGE, BAD_RECEIPT, NO_ENDPOINT,
          NOT_REGISTERED)
_PUBLIC = re.compile(
    "(" + "|".join(re.escape(p) for p in _FIXED) + r"|recipient endpoint answered HTTP \d{3})(?::|$)"
)


class PushFailure(Exception):
    """A failed push attempt: fixed public words and the operator's detail."""

    def __init__(self, public: str, detail: str = "") -> None:
        super().__init__(f"{public}: {detail}" if detail else public)
        self.public = public
        self.detail = detail

    @property
    def stored(self) -> str:
        """The ``last_error`` text: public words first, then the detail."""
        return str(self)


def answered(status: int, detail: str = "") -> PushFailure:
    """The endpoint answered with an HTTP status that is not a delivery."""
    return PushFailure(f"recipient endpoint answered HTTP {status}", detail)


def public_error(last_error: str | None) -> str | None:
    """What a sender or recipient may read of a stored ``last_error``: fixed words only."""
    if last_error is None:
        return None
    match = _PUBLIC.match(last_error)
    return match.group(1) if match else GENERIC
