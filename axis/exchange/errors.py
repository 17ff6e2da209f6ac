"""What the exchange refuses, as domain errors; ``axis.api.problems`` maps each to its problem code."""

from __future__ import annotations

from typing import Any


class ExchangeError(Exception):
    """A request the exchange refuses; ``extra`` holds the fields a caller can act on (e.g. ``field``)."""

    #: The UI's catalogue entry and its values, when a page should say it in its own language.
    wording: tuple[str, dict[str, object]] | None = None

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = {k: v for k, v in extra.items() if v is not None}


class InvalidRequest(ExchangeError):
    """The request or the message in it is not acceptable as sent."""


class WrongMessageKind(InvalidRequest):
    """A status posted as a document, or a document posted as a status."""

    def __init__(self, actual: str) -> None:
        super().__init__(f"this is {'a status message' if actual == 'status' else 'a document'}", field="StatusCode")
        self.actual = actual


class BodyTooLarge(ExchangeError):
    """The body is longer than the configured limit (counted while it streams in)."""


class BodyTooSlow(ExchangeError):
    """The body stopped arriving, or trickles in slower than the configured rate."""


class BodiesBusy(ExchangeError):
    """The bytes of bodies in flight (memory and spool together) are at their ceiling: retry in a moment."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooManyUploads(ExchangeError):
    """The calling agency already has as many submissions in flight as it may."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UnknownRecipient(ExchangeError):
    """A recipient is not registered or not active."""


class SenderMismatch(ExchangeError):
    """The message's From is not the calling agency."""


class DuplicateDocument(ExchangeError):
    """Another message of the caller already holds this DocumentId."""


class NotPermitted(ExchangeError):
    """The caller may not do this (e.g. a status only the other side may send)."""


class NotFound(ExchangeError):
    """No such message, or not one the caller may see."""


class StateConflict(ExchangeError):
    """The request conflicts with the current state."""
