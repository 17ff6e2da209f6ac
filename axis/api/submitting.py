"""One way in for a submission, whichever protocol carries it (/api/v1 or the national SDK's /vxp).

Size checks, reading the body (spooled above the threshold), the exchange's use case, the spool's
removal, the metrics and the push worker's wake-up are the same for both; each protocol only
authenticates its caller, unwraps its body and shapes the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from axis.api.problems import SizeLimitProblem, ValidationProblem, problem_for
from axis.appkeys import BODY_BUDGET, CONTEXT, METRICS, PUSH_WAKEUP
from axis.exchange.body import Body, PacedChunks, SpooledBody, receive_body
from axis.exchange.body_budget import BodyHold
from axis.exchange.statuses import submit_status
from axis.exchange.submission import Accepted, submit_document
from storage.models import MessageKind
from storage.registry.cache import RegisteredAgency

#: Finds the calling agency (after the size check, before the body is read).
Caller = Callable[[], Awaitable[RegisteredAgency]]
#: Turns the body as read into the signed edXML (the SDK appends a trailer to its file).
Unwrap = Callable[[Body], Awaitable[Body]]


def check_declared_size(request: web.Request) -> None:
    """Refuse with 413 a body whose Content-Length is over the limit, before reading it."""
    limit = request.app[CONTEXT].settings.max_message_bytes
    if request.content_length is not None and request.content_length > limit:
        raise SizeLimitProblem(f"body is {request.content_length} bytes, limit is {limit}")


async def read_body(request: web.Request, hold: BodyHold | None = None) -> Body:
    """The request body, counted while streaming (chunked bodies have no Content-Length).

    Up to the spool threshold it is held as bytes (drawn from the memory budget through ``hold``);
    a larger body, or one finding no room in memory, goes to a temp file in the blob store (a
    SpooledBody the caller must discard) and is never held whole. A body that stops arriving, or
    trickles, is cut (408) as an anonymous one would be.
    """
    check_declared_size(request)
    ctx = request.app[CONTEXT]
    settings = ctx.settings
    chunks: AsyncIterator[bytes] = request.content.iter_chunked(1 << 20)
    if not request.content.is_eof():
        # Still arriving: it must keep coming. A body already received whole (a small one, usually)
        # cannot stall, and is read without a task and a timer per chunk.
        chunks = PacedChunks(chunks, window=settings.body_read_window_seconds,
                             min_bytes=int(settings.body_min_bytes_per_second * settings.body_read_window_seconds))
    body = await receive_body(chunks, limit=settings.max_message_bytes, spool_above=settings.spool_threshold_bytes,
                              blobs=ctx.blobs, hold=hold, declared=request.content_length)
    if not body:
        raise ValidationProblem("empty body: send the signed edXML as application/xml")
    return body


async def submit(request: web.Request, kind: str, caller: Caller, unwrap: Unwrap | None = None) -> Accepted:
    """Authenticate, read, accept a document (``kind`` "edoc") or a status; count it and wake the pusher."""
    ctx = request.app[CONTEXT]
    metrics = request.app[METRICS]
    started = time.perf_counter()
    raw: Body | None = None
    hold: BodyHold | None = None
    try:
        # Declared size first (cheapest), then who is calling, and only then read the body:
        # an anonymous caller must not make the axis read 200 MB.
        check_declared_size(request)
        agency = await caller()
        hold = request.app[BODY_BUDGET].hold(agency.code)
        raw = await read_body(request, hold)
        body = await unwrap(raw) if unwrap is not None else raw
        accept = submit_document if kind == MessageKind.EDOC.value else submit_status
        result = await accept(ctx, agency, body)
    except Exception as exc:
        problem = problem_for(exc)
        metrics.submissions.labels(kind, problem.code if problem else "AXIS.Internal").inc()
        raise
    finally:
        if isinstance(raw, SpooledBody):
            # Accepted: the blob store adopted the file and this finds nothing; refused: no trace stays.
            await asyncio.to_thread(raw.discard)
        if hold is not None:
            # After the discard: the spool bytes are free only once the file is gone (or adopted).
            hold.release()
    metrics.submissions.labels(kind, "accepted" if result.created else "repeated").inc()
    metrics.submit_latency.labels(kind).observe(time.perf_counter() - started)
    if result.created and result.unsigned:
        metrics.unsigned_documents.labels(agency.code).inc()
    if result.created and result.pushes:
        request.app[PUSH_WAKEUP].set()  # only when a recipient is pushed to: a claim costs a round trip
    return result
