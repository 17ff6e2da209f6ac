"""API errors as RFC 9457 problem+json, and the one mapping from package errors to them."""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote

from aiohttp import web

from axis.archive.errors import PayloadDisposed
from axis.exchange import errors as exchange
from envelope.errors import EnvelopeError, EnvelopeTooLarge
from signing.errors import SignatureError
from storage.db import STORAGE_UNAVAILABLE

PROBLEM_TYPE_BASE = "https://axis.gov.vn/problems/"


class ApiProblem(Exception):
    """An error answer with a stable ``code``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "AXIS.Validation"
    title: ClassVar[str] = "Invalid request"

    #: The connection is closed after this answer (the rest of an unread body is not waited for).
    close: ClassVar[bool] = False

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = {k: v for k, v in extra.items() if v is not None}
        #: Seconds the client should wait before trying again (the Retry-After header), when known.
        self.retry_after: int | None = None

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document."""
        doc: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code.removeprefix("AXIS."),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }
        if instance:
            # The decoded request path, percent-encoded again: the field is a URI reference.
            doc["instance"] = quote(instance, safe="/:@!$&'()*+,;=-._~", errors="replace")
        return doc


class ValidationProblem(ApiProblem):
    status, code, title = 400, "AXIS.Validation", "The message is not valid edXML"


class SignatureProblem(ApiProblem):
    status, code, title = 422, "AXIS.Signature", "The signature is not acceptable"


class UnknownRecipientProblem(ApiProblem):
    status, code, title = 422, "AXIS.UnknownRecipient", "Unknown or inactive recipient"


class SenderMismatchProblem(ApiProblem):
    status, code, title = 403, "AXIS.SenderMismatch", "The message is not from the calling agency"


class DuplicateProblem(ApiProblem):
    status, code, title = 409, "AXIS.Duplicate", "A different message already has this DocumentId"


class SizeLimitProblem(ApiProblem):
    status, code, title = 413, "AXIS.SizeLimitExceeded", "The message is too large"


class UnauthorizedProblem(ApiProblem):
    status, code, title = 401, "AXIS.Unauthorized", "Missing or invalid credentials"


class ForbiddenProblem(ApiProblem):
    status, code, title = 403, "AXIS.Forbidden", "Not allowed"


class NotFoundProblem(ApiProblem):
    status, code, title = 404, "AXIS.NotFound", "Not found"


class ConflictProblem(ApiProblem):
    status, code, title = 409, "AXIS.Conflict", "The request conflicts with the current state"


class DisposedProblem(ApiProblem):
    status, code, title = 410, "AXIS.Disposed", "The payload was destroyed under a retention schedule"


class MethodNotAllowedProblem(ApiProblem):
    status, code, title = 405, "AXIS.MethodNotAllowed", "Method not allowed"


class UnavailableProblem(ApiProblem):
    status, code, title = 503, "AXIS.Unavailable", "The axis cannot take work right now"


class BodyTimeoutProblem(ApiProblem):
    status, code, title = 408, "AXIS.BodyTimeout", "The body stopped arriving"
    close = True


class BusyProblem(ApiProblem):
    status, code, title = 503, "AXIS.Busy", "The axis holds as many request bodies as it may"
    close = True


class TooManyUploadsProblem(ApiProblem):
    status, code, title = 429, "AXIS.TooManyUploads", "Too many submissions in flight"
    close = True


class InternalProblem(ApiProblem):
    status, code, title = 500, "AXIS.Internal", "Internal error"


#: The problem each domain refusal of the exchange becomes (most specific class first).
EXCHANGE_PROBLEMS: tuple[tuple[type[exchange.ExchangeError], type[ApiProblem]], ...] = (
    (exchange.BodyTooLarge, SizeLimitProblem),
    (exchange.BodyTooSlow, BodyTimeoutProblem),
    (exchange.BodiesBusy, BusyProblem),
    (exchange.TooManyUploads, TooManyUploadsProblem),
    (exchange.InvalidRequest, ValidationProblem),
    (exchange.UnknownRecipient, UnknownRecipientProblem),
    (exchange.SenderMismatch, SenderMismatchProblem),
    (exchange.DuplicateDocument, DuplicateProblem),
    (exchange.NotPermitted, ForbiddenProblem),
    (exchange.NotFound, NotFoundProblem),
    (exchange.StateConflict, ConflictProblem),
)

#: Where each kind of message is posted, named in the answer to one posted at the wrong place.
_ENDPOINT_OF_KIND = {"status": "/api/v1/statuses", "edoc": "/api/v1/documents"}


def problem_for(exc: BaseException) -> ApiProblem | None:
    """Translate an error from a lower layer into its API problem, or None if unknown."""
    if isinstance(exc, ApiProblem):
        return exc
    if isinstance(exc, exchange.WrongMessageKind):
        return ValidationProblem(f"{exc.detail}: post it to {_ENDPOINT_OF_KIND[exc.actual]}", **exc.extra)
    if isinstance(exc, exchange.ExchangeError):
        for error_type, problem_type in EXCHANGE_PROBLEMS:
            if isinstance(exc, error_type):
                problem = problem_type(exc.detail, **exc.extra)
                problem.retry_after = getattr(exc, "retry_after", None)
                return problem
    if isinstance(exc, EnvelopeTooLarge):
        return SizeLimitProblem(str(exc))
    if isinstance(exc, EnvelopeError):
        return ValidationProblem(str(exc), field=exc.field)
    if isinstance(exc, PayloadDisposed):
        return DisposedProblem(str(exc), message_id=exc.message_id,
                               disposed_at=exc.disposed_at.isoformat() if exc.disposed_at else None,
                               disposal_id=exc.disposal_id)
    if isinstance(exc, SignatureError):
        return SignatureProblem(str(exc), reason=getattr(exc, "reason", type(exc).__name__))
    if isinstance(exc, STORAGE_UNAVAILABLE):
        return UnavailableProblem("storage is unavailable; retry later")
    return None


def problem_response(problem: ApiProblem, instance: str | None = None) -> web.Response:
    """Render a problem as an aiohttp response."""
    headers = {"WWW-Authenticate": 'Bearer realm="axis"'} if problem.status == 401 else {}
    if problem.retry_after is not None:
        headers["Retry-After"] = str(problem.retry_after)
    response = web.Response(
        status=problem.status,
        body=json.dumps(problem.body(instance), ensure_ascii=False).encode(),
        content_type="application/problem+json",
        headers=headers,
    )
    if problem.close:
        response.force_close()
    return response
