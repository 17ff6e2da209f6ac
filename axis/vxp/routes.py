"""/vxp: the national SDK's wire protocol (SDKVXP 2.0.1) over the same exchange as /api/v1.

A DMS built on the SDK configures ``{axis}/vxp`` as its endpoint; each call is ``/vxp/{operation}``.
Authentication is the SDK's HMAC over its signed headers (axis.vxp.transport); the work is
the exchange's own use cases (submission, statuses, mailbox), so verification, routing, dedup,
receipts, audit, registers and metrics are those of /api/v1. Answers are the SDK's JSON:
``status`` OK/FAIL, ``ErrorCode`` "0" or a stable code, a Vietnamese ``ErrorDesc``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from typing import Any, BinaryIO

from aiohttp import web

from axis.api.auth import AGENCY_KEY
from axis.api.problems import problem_for
from axis.api.submitting import submit
from axis.appkeys import CONTEXT
from axis.context import AxisContext
from axis.exchange import mailbox
from axis.exchange.body import Body, SpooledBody
from axis.exchange.errors import NotFound
from axis.vxp import mailbox as sdk_mailbox
from axis.vxp.transport import (
    BAD_SIGN_HEADER,
    HASH_FILE_MISMATCH,
    MISSING_HEADER,
    REPLAY,
    SdkCall,
    TransportRefused,
    authenticate_sdk,
    clock_zones,
    hash_file_matches,
    zone_span,
)
from storage.models import MessageKind
from storage.payloads.backends import PayloadBody, PayloadStream
from storage.registry.cache import RegisteredAgency
from storage.registry.vxp import note_clock, remember_hash_header

routes = web.RouteTableDef()
errors_log = logging.getLogger("axis.errors")

BASE = "/vxp"
#: What the SDK appends after the file's bytes in sendEdoc.
SDK_TRAILER = b"\r\n"

#: The Vietnamese ErrorDesc of each refusal code (the English detail follows it).
DESCRIPTIONS = {
    "AXIS.Validation": "Gói tin không hợp lệ",
    "AXIS.Signature": "Chữ ký số của văn bản không hợp lệ",
    "AXIS.UnknownRecipient": "Đơn vị nhận chưa đăng ký trên trục hoặc đang bị khóa",
    "AXIS.SenderMismatch": "Đơn vị gửi trong gói tin không phải đơn vị của hệ thống",
    "AXIS.Duplicate": "Mã văn bản (DocumentId) đã được gửi với nội dung khác",
    "AXIS.SizeLimitExceeded": "Gói tin vượt quá dung lượng cho phép",
    "AXIS.NotFound": "Không tìm thấy văn bản",
    "AXIS.Forbidden": "Không được phép",
    "AXIS.Conflict": "Yêu cầu không phù hợp với trạng thái hiện tại",
    "AXIS.Disposed": "Văn bản đã bị hủy theo thời hạn bảo quản",
    "AXIS.Unavailable": "Trục tạm thời không xử lý được; hãy thử lại sau",
    "AXIS.Internal": "Lỗi nội bộ của trục; đã được ghi nhận",
    "AXIS.BodyTimeout": "Gói tin gửi lên quá chậm hoặc bị ngắt giữa chừng",
    "AXIS.Busy": "Trục đang nhận quá nhiều gói tin; hãy thử lại sau ít giây",
    "AXIS.TooManyUploads": "Đơn vị đang gửi quá nhiều gói tin cùng lúc; hãy thử lại sau",
}
#: HTTP status of each transport refusal (the SDK reads the JSON body whatever the status).
_TRANSPORT_STATUS = {MISSING_HEADER: 400, BAD_SIGN_HEADER: 400, HASH_FILE_MISMATCH: 400, "VXP.FromMismatch": 403,
                     "VXP.AgencyDisabled": 403}


def _answer(body: dict[str, Any], status: int = 200) -> web.Response:
    # ASCII-only JSON: the SDK reads some answers as US-ASCII, and \u escapes survive that.
    return web.Response(status=status, body=json.dumps(body, ensure_ascii=True).encode(),
                        content_type="application/json")


def ok(**extra: Any) -> web.Response:
    """A success answer with the SDK's envelope fields."""
    return _answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **extra})


#: What the SDK (SDKVXP 2.0.1, KnobstickServiceImp) reads from every answer of each operation without
#: a null check, besides status, ErrorCode and ErrorDesc: a FAIL carries them empty, or the SDK's DMS
#: gets a NullPointerException instead of the refusal. DocId is in every FAIL (sendEdoc reads it).
SDK_READS: dict[str, dict[str, Any]] = {
    "sendEdoc": {"DocId": ""},
    "countReceiveEdoc": {"count": 0},
    "countReceiveStatus": {"count": 0},
    "getReceivedEdocList": {"data": []},
    "getSentEdocList": {"data": []},
    "getEdoc": {"data": ""},
}


def fail(code: str, description: str, status: int, operation: str = "", **extra: Any) -> web.Response:
    """A refusal in the SDK's shape, with every field the SDK reads from ``operation``'s answer."""
    return _answer({"status": "FAIL", "ErrorCode": code, "ErrorDesc": description, "DocId": "",
                    **SDK_READS.get(operation, {}), **extra}, status)


def refusal(exc: BaseException, operation: str = "") -> web.Response:
    """The FAIL answer for any refusal: the transport's own, or the exchange's mapped in axis.api.problems."""
    if isinstance(exc, TransportRefused):
        return fail(exc.code, exc.description, _TRANSPORT_STATUS.get(exc.code, 401), operation)
    problem = problem_for(exc)
    if problem is None:
        errors_log.exception("unhandled error on a /vxp call", exc_info=exc)
        return fail("AXIS.Internal", DESCRIPTIONS["AXIS.Internal"], 500, operation)
    prefix = DESCRIPTIONS.get(problem.code, "Yêu cầu bị từ chối")
    return fail(problem.code, f"{prefix}: {problem.detail}", problem.status, operation,
                **({"ErrorField": problem.extra["field"]} if "field" in problem.extra else {}))


async def sdk_call(request: web.Request, operation: str) -> SdkCall:
    """Authenticate an SDK request and record its hash-header (a replay inside the window is refused).

    The SDK signs no operation name, so a header is good for one call of any operation. One exception:
    a long-lived SDK object sends getEdoc's signed headers again to updateStatus of the same item (its
    header map already held the keys), so an updateStatus may follow the getEdoc of its header once.
    An updateStatus header still spends the header for every other operation. Entries are kept for the
    window plus the span of the accepted clock zones: a header read in another zone hours later is
    still a replay.
    """
    ctx = request.app[CONTEXT]
    call = await authenticate_sdk(ctx, list(request.raw_headers))
    zones = clock_zones(ctx.settings.vxp_clock_zones)
    window = timedelta(seconds=ctx.settings.vxp_timestamp_window_seconds) + zone_span(zones)
    offset = None if call.other_zone is None else int(call.other_zone.utcoffset(None).total_seconds() // 60)
    async with ctx.sessions() as session, session.begin():
        now = ctx.clock()
        known = (ctx.settings.database_url, call.agency.id)
        if _KNOWN_CLOCKS.get(known, "unknown") != offset:
            # Written when it changes (per node), so the operator sees a DMS whose clock is hours off.
            await note_clock(session, call.agency.id, offset, now)
            _KNOWN_CLOCKS[known] = offset
        spent = await remember_hash_header(session, call.hash_header, now, window)
        if operation == "updateStatus":
            fresh = await remember_hash_header(session, f"{operation}:{call.hash_header}", now, window)
        else:
            fresh = spent
    if not fresh:
        raise TransportRefused(REPLAY, "Yêu cầu đã được gửi trước đó (XroadVnpt-hash-header lặp lại)")
    request[AGENCY_KEY] = call.agency
    return call


#: The clock zone each agency (by database and id) was last recorded in by this node (None: the expected one).
_KNOWN_CLOCKS: dict[tuple[str, int], int | None] = {}


Operation = Callable[[web.Request, SdkCall], Awaitable[web.StreamResponse]]
#: Each SDK operation by its path name (``/vxp/{name}``), registered by ``operation``.
OPERATIONS: dict[str, Operation] = {}


def operation(name: str, methods: tuple[str, ...] = ("POST",)) -> Callable[[Operation], Operation]:
    """Register the handler of ``/vxp/{name}`` for the methods the SDK calls it with."""
    def register(handler: Operation) -> Operation:
        OPERATIONS[name] = handler

        async def route(request: web.Request) -> web.StreamResponse:
            try:
                call = await sdk_call(request, name)
                return await handler(request, call)
            except Exception as exc:  # noqa: BLE001 - every refusal gets the SDK's answer shape
                return refusal(exc, name)

        route.__doc__ = handler.__doc__
        for method in methods:
            routes.route(method, f"{BASE}/{name}")(route)
        return handler
    return register


# --- sendEdoc -----------------------------------------------------------------------------------


def _without_trailer(raw: bytes, declared: str) -> bytes | None:
    """The file the SDK sent: the body less its appended CRLF (or the body, from a client without it)."""
    if raw.endswith(SDK_TRAILER) and hash_file_matches(declared, hashlib.sha256(raw[:-2]).digest()):
        return raw[:-2]
    if hash_file_matches(declared, hashlib.sha256(raw).digest()):
        return raw
    return None


def _spooled_without_trailer(body: SpooledBody, declared: str) -> SpooledBody | None:
    """As ``_without_trailer`` for a body spooled to a file (truncated in place; one more read)."""
    if body.size >= 2:
        digest = hashlib.sha256()
        with open(body.path, "r+b") as fh:
            fh.seek(body.size - 2)
            if fh.read(2) == SDK_TRAILER:
                fh.seek(0)
                left = body.size - 2
                while left:
                    chunk = fh.read(min(left, 1 << 20))
                    digest.update(chunk)
                    left -= len(chunk)
                if hash_file_matches(declared, digest.digest()):
                    fh.truncate(body.size - 2)
                    return SpooledBody(body.path, digest.hexdigest(), body.size - 2)
    return body if hash_file_matches(declared, bytes.fromhex(body.sha256)) else None


async def _file_of(raw: Body, declared: str) -> Body:
    found: Body | None
    if isinstance(raw, SpooledBody):
        found = await asyncio.to_thread(_spooled_without_trailer, raw, declared)
    else:
        found = _without_trailer(raw, declared)
    if found is None:
        raise TransportRefused(HASH_FILE_MISMATCH, "Mã băm của tệp (hash-file) không khớp với nội dung nhận được")
    return found


@operation("sendEdoc")
async def send_edoc(request: web.Request, call: SdkCall) -> web.Response:
    """Submit a signed edXML document, or a status package with ``messagetype=status``."""
    declared = call.param("hash-file")
    if not declared:
        raise TransportRefused(MISSING_HEADER, "Thiếu mã băm của tệp (XroadVnpt-hash-file) trong tiêu đề ký")
    kind = sdk_mailbox.message_kind(call.param("messagetype"))

    async def caller() -> RegisteredAgency:
        return call.agency

    async def unwrap(raw: Body) -> Body:
        return await _file_of(raw, declared)

    result = await submit(request, kind, caller, unwrap)
    return ok(DocId=result.id, DocumentId=result.document_id, sha256=result.sha256,
              authentication=result.authenticated_by, receipt=result.receipt.decode())


# --- reading ------------------------------------------------------------------------------------


#: Bytes of payload base64-encoded per step (a multiple of 3: the pieces join into one base64 text).
#: binascii holds the GIL while it encodes, so a worker thread would hold up the event loop just as
#: long, and add two thread hops per step: the steps run on the loop, each about 1 ms.
#: Bytes one sendfile(2) call may copy before the loop serves others again.
SENDFILE_STEP = 1 << 20
B64_STEP = 3 * 256 * 1024
#: Bytes read from a payload file per hop to a worker thread.
READ_STEP = B64_STEP
#: One encoding step at a time in a process, each followed by a rest as long as it took (the lock
#: held): encoding takes at most half of the event loop's time, so /healthz, the other requests and
#: the database's worker threads (SQLite's, which need the GIL) get the other half however many
#: large getEdoc calls run at once. Per event loop: tests run several.
_ENCODERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def _encoded(data: memoryview) -> bytes:
    """``data`` in base64, taking its turn among every getEdoc of the process."""
    loop = asyncio.get_running_loop()
    encoder = _ENCODERS.get(loop)
    if encoder is None:
        encoder = _ENCODERS[loop] = asyncio.Lock()
    async with encoder:
        started = time.perf_counter()
        encoded = base64.b64encode(data)
        await asyncio.sleep(time.perf_counter() - started)
    return encoded


async def _stored(ctx: AxisContext, call: SdkCall) -> tuple[str, int, PayloadBody]:
    """The caller's message: its id, size, and its payload as bytes, an open file or a stream of chunks."""
    message_id = call.param("docId", "docid")
    if not message_id:
        raise NotFound("name the document in docId", field="docId")
    message = await mailbox.fetch(ctx, call.agency, message_id)
    body = message.inline if message.inline is not None else await ctx.payloads.open(message.sha256)
    return message.id, message.size if message.inline is None else len(message.inline), body


async def _pieces(body: PayloadBody) -> AsyncGenerator[bytes, None]:
    """The payload in pieces of at most a MiB, a file read a step at a time off the event loop (and closed)."""
    if isinstance(body, bytes):
        yield body  # inline: small
    elif isinstance(body, PayloadStream):
        try:
            async for chunk in body:  # the database's 1 MiB rows, each its own query
                yield chunk
        finally:
            await body.aclose()
    else:
        with body:
            while chunk := await asyncio.to_thread(body.read, READ_STEP):
                yield chunk


@operation("getEdoc")
async def get_edoc(request: web.Request, call: SdkCall) -> web.StreamResponse:
    """The stored bytes of a message the caller sent or received, base64 in ``data``.

    The JSON is written in pieces: the payload is read and encoded a bounded step at a time, so a
    large document never sits whole in memory, nor its base64, and the event loop answers others
    between two steps (see ``_encoded``).
    """
    message_id, size, body = await _stored(request.app[CONTEXT], call)
    head = json.dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", "DocId": message_id},
                      ensure_ascii=True)[:-1].encode() + b', "data": "'
    tail = b'"}'
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(head) + 4 * ((size + 2) // 3) + len(tail)
    await response.prepare(request)
    await response.write(head)
    held = bytearray()  # at most two bytes carried from one piece to the next
    pieces = _pieces(body)
    try:
        async for chunk in pieces:
            held += chunk
            whole = len(held) - len(held) % 3
            with memoryview(held) as view:
                for start in range(0, whole, B64_STEP):
                    await response.write(await _encoded(view[start:min(start + B64_STEP, whole)]))
            del held[:whole]
    finally:
        await pieces.aclose()  # a client that left: the file is closed, the reading stops
    await response.write(base64.b64encode(held) + tail)
    await response.write_eof()
    return response


async def _send_file(request: web.Request, response: web.StreamResponse, fh: BinaryIO, size: int) -> None:
    """Send an open payload file as the body with sendfile(2): the kernel copies it, no thread, no GIL."""
    response.content_length = size
    with fh:
        await response.prepare(request)
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("the client left")
        # asyncio waits for the headers to leave, then sends the file (or reads it in a thread where
        # sendfile is unavailable). In bounded pieces: one sendfile(2) call copies as long as a fast
        # reader drains the socket, a whole 100 MB document while the loop waits.
        loop = asyncio.get_running_loop()
        for offset in range(0, size, SENDFILE_STEP):
            await loop.sendfile(transport, fh, offset, min(SENDFILE_STEP, size - offset))
    await response.write_eof()


@operation("downloadEdoc", ("GET", "POST"))
async def download_edoc(request: web.Request, call: SdkCall) -> web.StreamResponse:
    """The stored bytes themselves, streamed from where they are stored."""
    message_id, size, body = await _stored(request.app[CONTEXT], call)
    headers = {"X-Axis-Message-Id": message_id, "Content-Type": "application/xml",
               "Content-Disposition": f'attachment; filename="{message_id}.edxml"'}
    if isinstance(body, bytes):
        return web.Response(body=body, headers=headers)
    response = web.StreamResponse(headers=headers)
    if isinstance(body, PayloadStream):
        # Rows from the database, each written as it is read.
        response.content_length = body.size
        try:
            await response.prepare(request)
            async for chunk in body:
                await response.write(chunk)
        finally:
            await body.aclose()  # a client that left stops the reading
        await response.write_eof()
        return response
    await _send_file(request, response, body, size)
    return response


@operation("getReceivedEdocList")
async def get_received_edoc_list(request: web.Request, call: SdkCall) -> web.Response:
    """Documents (or, with ``messagetype=status``, statuses) waiting for the caller."""
    kind = sdk_mailbox.message_kind(call.param("messagetype"))
    return ok(data=await sdk_mailbox.received_list(request.app[CONTEXT], call.agency, kind))


@operation("countReceiveEdoc", ("GET", "POST"))
async def count_receive_edoc(request: web.Request, call: SdkCall) -> web.Response:
    """How many documents wait for the caller."""
    return ok(count=await sdk_mailbox.count_received(request.app[CONTEXT], call.agency, MessageKind.EDOC.value))


@operation("countReceiveStatus", ("GET", "POST"))
async def count_receive_status(request: web.Request, call: SdkCall) -> web.Response:
    """How many statuses wait for the caller."""
    return ok(count=await sdk_mailbox.count_received(request.app[CONTEXT], call.agency, MessageKind.STATUS.value))


@operation("updateStatus")
async def update_status(request: web.Request, call: SdkCall) -> web.Response:
    """The DMS's hub-level status of an item it received: processing, done or fail."""
    message_id = call.param("docid", "docId")
    if not message_id:
        raise NotFound("name the item in docid", field="docid")
    state = await sdk_mailbox.update_status(request.app[CONTEXT], call.agency, message_id, call.param("status"))
    return ok(DocId=message_id, state=state)


@operation("getSentEdocList")
async def get_sent_edoc_list(request: web.Request, call: SdkCall) -> web.Response:
    """The caller's sent documents (newest first, or the one in ``docId``) with each recipient's state."""
    return ok(data=await sdk_mailbox.sent_list(request.app[CONTEXT], call.agency, call.param("docId", "docid")))


@operation("getAgenciesList")
async def get_agencies_list(request: web.Request, call: SdkCall) -> web.Response:
    """The active agencies of the registry, in the SDK's shape."""
    snapshot = await request.app[CONTEXT].registry.snapshot()
    agencies = sorted((a for a in snapshot.by_code.values() if a.active), key=lambda a: a.code)
    return ok(data=[{"id": str(a.id), "pid": "", "code": a.code, "name": a.name, "mail": ""} for a in agencies])
