"""The batched pull over /api/v1: acknowledgements and signed statuses several per request, one answer per item.

The inbox read with its messages' bytes and its long-poll are options of ``GET /api/v1/inbox``
(:mod:`axis.api.exchange`); what they share with the routes here is in :mod:`axis.exchange.pull`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from typing import Any

from aiohttp import web

from axis.api.auth import authenticate
from axis.api.exchange import submission_json
from axis.api.problems import ApiProblem, InternalProblem, SizeLimitProblem, ValidationProblem, problem_for
from axis.appkeys import CONTEXT, INBOX_ARRIVALS, METRICS, PUSH_WAKEUP
from axis.exchange.pull import MAX_BATCH, ack_many
from axis.exchange.statuses import submit_status
from axis.exchange.submission import Accepted

routes = web.RouteTableDef()
errors_log = logging.getLogger("axis.errors")


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode(), content_type="application/json")


async def _json_body(request: web.Request, limit: int) -> dict[str, Any]:
    """The request's JSON object, refused with 413 over ``limit`` bytes and 400 when it is not an object."""
    if request.content_length is not None and request.content_length > limit:
        raise SizeLimitProblem(f"body is {request.content_length} bytes, limit is {limit}")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        raw += chunk
        if len(raw) > limit:
            raise SizeLimitProblem(f"body is over the limit of {limit} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ValidationProblem("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ValidationProblem("the body must be a JSON object")
    return body


def _item_problem(exc: Exception) -> dict[str, Any]:
    """One item's problem document, as the single request would have answered it."""
    problem = problem_for(exc)
    if problem is None:
        errors_log.error("batched item failed", exc_info=exc)
        problem = InternalProblem("this item could not be handled; the others were")
    return problem.body()


@routes.post("/api/v1/inbox/ack")
async def post_acks(request: web.Request) -> web.Response:
    """Take several status items off the inbox; one result per id, in order."""
    caller = await authenticate(request)
    body = await _json_body(request, 64 * MAX_BATCH + 1024)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationProblem("ids must be a list of message ids", field="ids")
    results = await ack_many(request.app[CONTEXT], caller, ids)
    return _json({"results": [
        r if isinstance(r, dict) else {"id": ids[n], "problem": _item_problem(r)} for n, r in enumerate(results)
    ]})


def _decoded(items: list[Any], limit: int) -> list[bytes | ApiProblem]:
    out: list[bytes | ApiProblem] = []
    for item in items:
        if not isinstance(item, str):
            out.append(ValidationProblem("each status is the signed edXML, base64-encoded", field="statuses"))
            continue
        try:
            raw = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            out.append(ValidationProblem("not base64", field="statuses"))
            continue
        if not raw:
            out.append(ValidationProblem("empty status", field="statuses"))
        elif len(raw) > limit:
            out.append(SizeLimitProblem(f"status is {len(raw)} bytes, limit is {limit}"))
        else:
            out.append(raw)
    return out


@routes.post("/api/v1/statuses/batch")
async def post_statuses(request: web.Request) -> web.Response:
    """Submit several signed edXML statuses; each is checked, stored and receipted on its own."""
    caller = await authenticate(request)
    ctx = request.app[CONTEXT]
    metrics = request.app[METRICS]
    limit = ctx.settings.max_message_bytes
    body = await _json_body(request, limit)
    items = body.get("statuses")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ValidationProblem(f"statuses must be a list of 1 to {MAX_BATCH} base64 strings", field="statuses")
    decoded = _decoded(items, limit)

    async def one(raw: bytes | ApiProblem) -> Accepted | Exception:
        if isinstance(raw, ApiProblem):
            return raw
        started = time.perf_counter()
        try:
            result = await submit_status(ctx, caller, raw)
        except Exception as exc:  # noqa: BLE001 - one item's failure is its own answer; the others go on
            problem = problem_for(exc)
            metrics.submissions.labels("status", problem.code if problem else "AXIS.Internal").inc()
            return exc
        metrics.submissions.labels("status", "accepted" if result.created else "repeated").inc()
        metrics.submit_latency.labels("status").observe(time.perf_counter() - started)
        return result

    # Together, so the group commit stores them in as few transactions as it can.
    results = await asyncio.gather(*(one(raw) for raw in decoded))
    answers: list[dict[str, Any]] = []
    arrived: set[str] = set()
    for result in results:
        if isinstance(result, Accepted):
            # The single route's body and the HTTP status it would have had.
            answers.append({"status": 202 if result.created else 200, "reply": submission_json(result)})
            if result.created:
                arrived.update(result.recipients)
                if result.pushes:
                    request.app[PUSH_WAKEUP].set()
        else:
            problem = _item_problem(result)
            answers.append({"status": problem["status"], "problem": problem})
    request.app[INBOX_ARRIVALS].notify(arrived)
    return _json({"results": answers})
