"""The agency-facing HTTP API, /api/v1: submit, inbox, fetch, acknowledge, trace."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
from typing import Any

from aiohttp import web
from sqlalchemy import text

from axis.api.auth import authenticate
from axis.api.openapi import OPENAPI_PARTS, openapi_document
from axis.api.problems import UnauthorizedProblem, ValidationProblem
from axis.api.submitting import submit
from axis.appkeys import CONTEXT, GAUGES, INBOX_ARRIVALS, METRICS
from axis.certificate_expiry import axis_chain
from axis.exchange import mailbox, pull
from axis.exchange.body import spool_trouble
from axis.exchange.submission import Accepted
from signing.keys import certificate_pem
from storage.models import DeliveryState
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


def submission_json(result: Accepted) -> dict[str, Any]:
    """The 202 (or 200) body of an accepted message: what was stored, for whom, and the signed receipt."""
    body: dict[str, Any] = {
        "id": result.id,
        "kind": result.kind,
        "document_id": result.document_id,
        "sha256": result.sha256,
        "received_at": result.received_at.isoformat(),
        "recipients": [{"organ_id": c, "state": DeliveryState.QUEUED.value} for c in result.recipients],
        "receipt": result.receipt.decode(),
    }
    if result.status_code:
        body["status_code"] = result.status_code
    if result.unsigned:
        body["authenticated_by"] = result.authenticated_by
    return body


async def _submit(request: web.Request, kind: str) -> web.Response:
    result = await submit(request, kind, lambda: authenticate(request))
    if result.created:
        request.app[INBOX_ARRIVALS].notify(result.recipients)  # their long-polling inbox reads answer now
    return _json(submission_json(result), status=202 if result.created else 200,
                 headers={"Location": f"/api/v1/messages/{result.id}"})


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
    """Items waiting for the calling agency; with ``include=bodies`` their bytes, with ``wait`` a long-poll."""
    caller = await authenticate(request)
    ctx = request.app[CONTEXT]
    q = request.query
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise ValidationProblem("limit must be a whole number", field="limit") from None
    include = q.get("include", "")
    if include not in ("", "bodies"):
        raise ValidationProblem("include can only be bodies", field="include")
    kind, cursor, wait = q.get("kind") or None, q.get("cursor") or None, pull.wait_seconds(q.get("wait"))
    if wait > 0:
        page = await pull.wait_for_inbox(ctx, caller, request.app[INBOX_ARRIVALS], wait, kind=kind, limit=limit,
                                         cursor=cursor)
    else:
        page = await mailbox.inbox(ctx, caller, kind=kind, limit=limit, cursor=cursor)
    bodies = (await pull.page_bodies(ctx, caller, page.items)).bodies if include else {}
    return web.Response(body=_page_json(page.items, page.next_cursor, bodies), content_type="application/json")


def _page_json(items: list[dict[str, Any]], next_cursor: str | None, bodies: dict[str, bytes]) -> bytes:
    """An inbox page as JSON; a small message's bytes in its item as ``body`` (base64), its last member.

    Base64 needs no JSON escaping: it is spliced in as it is, not scanned and copied again by the
    encoder (a page's bodies are most of its bytes).
    """
    out = []
    for item in items:
        encoded = json.dumps(item, ensure_ascii=False).encode()
        data = bodies.get(item["id"])
        if data is not None:
            # An item is a non-empty object: its closing brace is its last byte.
            encoded = b"".join((encoded[:-1], b', "body": "', base64.b64encode(data), b'"}'))
        out.append(encoded)
    return b'{"items": [' + b", ".join(out) + b'], "next_cursor": ' + json.dumps(next_cursor).encode() + b"}"


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
    """Liveness with a database round trip; ``?for=large-bodies``: readiness to store large bodies too.

    ``large_bodies`` says whether a body over the spool threshold could be stored now (the spool
    directory writable, room for the largest accepted body); with ``for=large-bodies`` a node that
    cannot is 503, so a load balancer sends its large uploads elsewhere.
    """
    ctx = request.app[CONTEXT]
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return _json({"status": "unhealthy", "database": type(exc).__name__}, status=503)
    trouble = await asyncio.to_thread(spool_trouble, ctx.blobs, ctx.settings.max_message_bytes)
    body = {"status": "ok", "database": "ok", "large_bodies": trouble or "ok"}
    if trouble and request.query.get("for") == "large-bodies":
        return _json({**body, "status": "unhealthy"}, status=503)
    return _json(body)


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
