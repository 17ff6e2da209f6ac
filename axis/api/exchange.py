"""The agency-facing HTTP API, /api/v1 (SPEC §5)."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from aiohttp import web
from sqlalchemy import text

from axis.api.auth import authenticate
from axis.api.openapi import OPENAPI_PARTS, openapi_document
from axis.api.problems import SizeLimitProblem, UnauthorizedProblem, ValidationProblem, problem_for
from axis.appkeys import CONTEXT, GAUGES, METRICS, PUSH_WAKEUP
from axis.certificate_expiry import axis_chain
from axis.exchange import mailbox
from axis.exchange.body import Body, SpooledBody, receive_body
from axis.exchange.statuses import submit_status
from axis.exchange.submission import Submission, submit_document
from signing.keys import certificate_pem
from storage.payloads.backends import PayloadStream
from storage.registry.agencies import list_agencies

routes = web.RouteTableDef()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type="application/json",
        headers=headers,
    )


def check_declared_size(request: web.Request) -> None:
    """Refuse with 413 a body whose Content-Length is over the limit, before reading it."""
    limit = request.app[CONTEXT].settings.max_message_bytes
    if request.content_length is not None and request.content_length > limit:
        raise SizeLimitProblem(f"body is {request.content_length} bytes, limit is {limit}")


async def read_body(request: web.Request) -> Body:
    """The request body, counted while streaming (chunked bodies have no Content-Length).

    Up to the spool threshold it is held as bytes; a larger body goes to a temp file in
    the blob store (a SpooledBody the caller must discard) and is never held whole.
    """
    check_declared_size(request)
    ctx = request.app[CONTEXT]
    body = await receive_body(request.content.iter_chunked(1 << 20), limit=ctx.settings.max_message_bytes,
                              spool_above=ctx.settings.spool_threshold_bytes, blobs=ctx.blobs)
    if not body:
        raise ValidationProblem("empty body: send the signed edXML as application/xml")
    return body


async def _submit(request: web.Request, kind: str) -> web.Response:
    ctx = request.app[CONTEXT]
    metrics = request.app[METRICS]
    started = time.perf_counter()
    try:
        # Declared size first (cheapest), then who is calling, and only then read the body:
        # an anonymous caller must not make the axis read 200 MB.
        check_declared_size(request)
        caller = await authenticate(request)
        raw = await read_body(request)
        accept = submit_document if kind == "edoc" else submit_status
        try:
            result: Submission = await accept(ctx, caller, raw)
        finally:
            if isinstance(raw, SpooledBody):
                # Accepted: the blob store adopted the file and this finds nothing; refused: no trace stays.
                await asyncio.to_thread(raw.discard)
    except Exception as exc:
        problem = problem_for(exc)
        metrics.submissions.labels(kind, problem.code if problem else "AXIS.Internal").inc()
        raise
    metrics.submissions.labels(kind, "accepted" if result.created else "repeated").inc()
    metrics.submit_latency.labels(kind).observe(time.perf_counter() - started)
    if result.created and result.unsigned:
        metrics.unsigned_documents.labels(caller.code).inc()
    if result.created and result.pushes:
        request.app[PUSH_WAKEUP].set()  # only when a recipient is pushed to: a claim costs a round trip
    return _json(result.body, status=202 if result.created else 200,
                 headers={"Location": f"/api/v1/messages/{result.body['id']}"})


@routes.post("/api/v1/documents")
async def post_document(request: web.Request) -> web.Response:
    """Submit a signed edXML document."""
    return await _submit(request, "edoc")


@routes.post("/api/v1/statuses")
async def post_status(request: web.Request) -> web.Response:
    """Submit a signed edXML status about a document the caller sent or received."""
    return await _submit(request, "status")


@routes.get("/api/v1/inbox")
async def get_inbox(request: web.Request) -> web.Response:
    """Items waiting for the calling agency."""
    caller = await authenticate(request)
    q = request.query
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise ValidationProblem("limit must be a whole number", field="limit") from None
    page = await mailbox.inbox(request.app[CONTEXT], caller, kind=q.get("kind") or None, limit=limit,
                               cursor=q.get("cursor") or None)
    return _json({"items": page.items, "next_cursor": page.next_cursor})


@routes.get("/api/v1/messages/{id}")
async def get_message(request: web.Request) -> web.StreamResponse:
    """The signed edXML exactly as it was submitted."""
    caller = await authenticate(request)
    ctx = request.app[CONTEXT]
    message = await mailbox.fetch(ctx, caller, request.match_info["id"])
    etag = f'"{message.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    # Inline payloads are bytes; a file-object body is streamed and closed by aiohttp. Not FileResponse:
    # it replaces the ETag with its own mtime-size tag and answers conditional requests by that tag.
    body = message.inline if message.inline is not None else await ctx.payloads.open(message.sha256)
    headers = {"ETag": etag, "Content-Type": "application/xml", "X-Axis-Message-Id": message.id}
    if isinstance(body, PayloadStream):
        # Chunks from the database: sent as they are read, with their length announced (not chunked).
        headers["Content-Length"] = str(body.size)
    return web.Response(body=body, headers=headers)


@routes.post("/api/v1/inbox/{id}/ack")
async def post_ack(request: web.Request) -> web.Response:
    """Take a status item off the inbox."""
    caller = await authenticate(request)
    return _json(await mailbox.ack(request.app[CONTEXT], caller, request.match_info["id"]))


@routes.get("/api/v1/documents/{id}/trace")
async def get_trace(request: web.Request) -> web.Response:
    """Per-recipient delivery state and status timeline."""
    caller = await authenticate(request)
    return _json(await mailbox.trace(request.app[CONTEXT], caller, request.match_info["id"]))


@routes.get("/api/v1/agencies")
async def get_agencies(request: web.Request) -> web.Response:
    """The registry of agencies."""
    await authenticate(request)
    async with request.app[CONTEXT].sessions() as session:
        agencies = await list_agencies(session)
    return _json({"items": [
        {"code": a.code, "name": a.name, "active": a.active, "certificate_fingerprint": a.certificate_fingerprint,
         "delivery_mode": a.delivery_mode} for a in agencies
    ]})


@routes.get("/api/v1/certificate")
async def get_certificate(request: web.Request) -> web.Response:
    """The axis certificate (PEM) that signs submission receipts."""
    return web.Response(body=certificate_pem(request.app[CONTEXT].axis_certificate),
                        content_type="application/x-pem-file")


@routes.get("/api/v1/certificate/chain")
async def get_certificate_chain(request: web.Request) -> web.Response:
    """The axis certificate and its issuing CA chain (PEM bundle): trust the CA to verify receipts."""
    ctx = request.app[CONTEXT]
    chain = axis_chain(ctx.axis_certificate, ctx.settings, ctx.policy.ca_certificates)
    return web.Response(body=b"".join(certificate_pem(c) for c in chain), content_type="application/x-pem-file")


@routes.get("/api/v1/openapi.json")
async def get_openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of this API."""
    return _json(openapi_document(*request.app[OPENAPI_PARTS]))


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Liveness with a database round trip."""
    ctx = request.app[CONTEXT]
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return _json({"status": "unhealthy", "database": type(exc).__name__}, status=503)
    return _json({"status": "ok", "database": "ok"})


def check_metrics_token(request: web.Request) -> None:
    """With ``metrics_token`` set, a scrape must carry it as a bearer token (401 otherwise)."""
    expected = request.app[CONTEXT].settings.metrics_token
    if not expected:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise UnauthorizedProblem("/metrics needs Authorization: Bearer <metrics_token>")


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics: in-memory counters, and database gauges refreshed at most every few seconds."""
    check_metrics_token(request)
    await request.app[GAUGES].refresh_if_due()
    return web.Response(body=request.app[METRICS].render(), content_type="text/plain", charset="utf-8")
