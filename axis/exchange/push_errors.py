"""Why a push attempt failed: the detail the operator sees, and the words other parties may see.

A delivery's ``last_error`` is stored as ``"<public words>: <detail>"``. The detail may name the
recipient's internal hosts, addresses and redirect targets, so only operators see it (``/admin``,
logs, audit); senders and recipients (trace, web document page, the axis's status 02) get
``public_error(last_error)``: one of the fixed phrases below, never text taken from the detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


#: The catalogue key of each fixed phrase (``push.<key>``), so pages word it in their own language.
_KEYS = {UNREACHABLE: "unreachable", REDIRECTED: "redirected", NOT_ALLOWED: "not_allowed",
         ANSWER_TOO_LARGE: "answer_too_large", BAD_RECEIPT: "bad_receipt", NO_ENDPOINT: "no_endpoint",
         NOT_REGISTERED: "not_registered", GENERIC: "generic",
         # The words for an endpoint resolving only to non-public addresses (refused unless allow-listed).
         "recipient endpoint's address is not allowed": "address_refused"}
_ANSWERED = re.compile(r"recipient endpoint answered HTTP (\d{3})")


@dataclass(frozen=True)
class PushErrorWords:
    """A stored ``last_error`` as a stable code with its values, and the operator's technical detail."""

    code: str
    values: dict[str, object]
    detail: str


def explain(last_error: str | None) -> PushErrorWords | None:
    """The code (``unreachable``, ``answered`` with ``status``, … ``generic``) and detail of a stored error."""
    if not last_error:
        return None
    public = public_error(last_error) or GENERIC
    if public == GENERIC:
        # Words this module's pattern may not list yet (a newer rule's), still named by their code.
        public = next((p for p in _KEYS if last_error == p or last_error.startswith(p + ":")), GENERIC)
    rest = last_error[len(public):] if last_error.startswith(public) else last_error
    detail = rest[1:].strip() if rest.startswith(":") else rest.strip()
    answered_with = _ANSWERED.fullmatch(public)
    if answered_with:
        return PushErrorWords("answered", {"status": int(answered_with.group(1))}, detail)
    return PushErrorWords(_KEYS.get(public, "generic"), {}, detail)
