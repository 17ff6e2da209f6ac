"""Bodies over the spool threshold: spooled to the blob store, verified as a stream, stored without a copy.

The server here spools anything over 64 KB, so documents of a few hundred
kilobytes take the path a 100 MB one takes in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from axis.exchange.body import SpooledBody, receive_body
from axis.exchange.errors import BodyTooLarge
from envelope.builder import build_document
from envelope.codes import StatusCode
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Message
from storage.payloads.files import BlobStore
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Agent, Harness, server_settings, start_server
from tests.signing.xmlsec1_interop import signature_template, with_template, xmlsec1_or_skip, xmlsec1_sign

A, B = "000.00.00.G22", "001.00.10.H47"
THRESHOLD = 64 * 1024
LIMIT = 1024 * 1024
DOCUMENTS = "/api/v1/documents"


@pytest.fixture
async def axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
               identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis that spools bodies over 64 KB and accepts up to 1 MB."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, spool_threshold_bytes=THRESHOLD, max_message_bytes=LIMIT)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


def _large(agent: Agent, to: Agent, size: int = 300_000, subject: str = "Hồ sơ dung lượng lớn") -> bytes:
    attachments = [Attachment("cid:1", "ho-so.zip", "application/zip", os.urandom(size)),
                   Attachment("cid:2", "to-trinh.pdf", "application/pdf", b"%PDF-1.4 " * 100)]
    return agent.document([to], subject=subject, attachments=attachments)[1]


def _temp_files(harness: Harness) -> list[Path]:
    tmp = harness.ctx.blobs.root / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


async def test_a_large_document_is_streamed_stored_and_fetched_byte_identical(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    signed = _large(a, b)
    assert THRESHOLD < len(signed) < LIMIT
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body[:500]
    body = reply.json()
    assert body["sha256"] == hashlib.sha256(signed).hexdigest()
    assert [r["organ_id"] for r in body["recipients"]] == [B]
    async with axis.ctx.sessions() as session:
        stored = await session.get(Message, body["id"])
        assert stored is not None and stored.size == len(signed) and stored.attachment_count == 2
    # Kept where the payload backend says: a blob file, or chunk rows in the database.
    assert await axis.ctx.payloads.where(body["sha256"]) == axis.ctx.settings.blob_backend
    assert await axis.ctx.payloads.read(body["sha256"]) == signed
    assert _temp_files(axis) == []

    inbox = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()["items"]
    assert [(i["id"], i["size"]) for i in inbox] == [(body["id"], len(signed))]
    fetched = await call(axis, "GET", f"/api/v1/messages/{body['id']}", token=b)
    assert fetched.status == 200 and fetched.body == signed
    assert fetched.headers["ETag"] == f'"{body["sha256"]}"'

    arrived = b.status(signed, StatusCode.ARRIVED, "Đã nhận")
    assert (await call(axis, "POST", "/api/v1/statuses", token=b, data=arrived)).status == 202
    trace = (await call(axis, "GET", f"/api/v1/documents/{body['id']}/trace", token=a)).json()
    assert [r["state"] for r in trace["recipients"]] == ["delivered"]


async def test_the_same_large_bytes_again_get_the_first_answer_and_leave_no_temp_file(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    signed = _large(a, b)
    first = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert first.status == 202
    again = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert again.status == 200 and again.json() == first.json()
    assert _temp_files(axis) == []


async def test_a_large_document_signed_by_xmlsec1_is_accepted_streamed(axis: Harness, tmp_path: Path) -> None:
    xmlsec1 = xmlsec1_or_skip()
    a, b = await axis.register(A), await axis.register(B)
    doc, _ = a.document([b], attachments=[Attachment("cid:1", "ban-do.tif", "image/tiff", os.urandom(200_000))])
    signed = xmlsec1_sign(xmlsec1, with_template(build_document(doc), signature_template()), a.identity, tmp_path)
    assert len(signed) > THRESHOLD
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body[:500]
    assert (await call(axis, "GET", f"/api/v1/messages/{reply.json()['id']}", token=b)).body == signed


async def test_a_byte_changed_in_a_streamed_attachment_is_refused_and_nothing_stays(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    signed = _large(a, b)
    # Deep inside the big attachment's base64, far from the header.
    at = signed.index(b"ContentTransferEncoded") + 200_000
    assert re.fullmatch(rb"[A-Za-z0-9+/]", signed[at:at + 1])
    tampered = signed[:at] + (b"B" if signed[at:at + 1] == b"A" else b"A") + signed[at + 1:]
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=tampered)
    problem = assert_problem(reply, 422, "AXIS.Signature")
    assert problem["reason"] == "digest_mismatch"
    await assert_nothing_stored(axis, before)
    assert _temp_files(axis) == []


async def test_a_body_over_the_limit_is_refused_while_spooling_and_its_temp_file_removed(axis: Harness) -> None:
    a = await axis.register(A)

    async def chunks() -> AsyncIterator[bytes]:
        # Chunked: no Content-Length to refuse early; the limit bites mid-spool.
        for _ in range(LIMIT // 8192 + 8):
            yield b"<" + b"x" * 8191

    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=chunks())
    assert_problem(reply, 413, "AXIS.SizeLimitExceeded")
    await assert_nothing_stored(axis, before)


async def test_a_client_gone_mid_body_leaves_no_temp_file(axis: Harness) -> None:
    a = await axis.register(A)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"<" + b"x" * 8191
        raise ConnectionResetError("the sender's link went down")

    with pytest.raises((aiohttp.ClientError, ConnectionResetError)):
        await call(axis, "POST", DOCUMENTS, token=a, data=chunks())
    for _ in range(100):
        if not _temp_files(axis):
            break
        await asyncio.sleep(0.05)
    assert _temp_files(axis) == []


# --- receive_body on its own -------------------------------------------------------------------------------


async def _pieces(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def test_a_body_up_to_the_threshold_stays_bytes(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    body = await receive_body(_pieces(data), limit=LIMIT, spool_above=50_000, blobs=BlobStore(tmp_path))
    assert body == data


async def test_a_body_over_the_threshold_is_spooled_and_measured(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    store = BlobStore(tmp_path)
    body = await receive_body(_pieces(data), limit=LIMIT, spool_above=THRESHOLD, blobs=store)
    assert isinstance(body, SpooledBody)
    assert (body.size, body.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert body.path.parent == tmp_path / "tmp" and body.path.read_bytes() == data
    body.discard()
    assert not body.path.exists()


async def test_a_spooled_body_over_the_limit_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(BodyTooLarge):
        await receive_body(_pieces(os.urandom(LIMIT + 1)), limit=LIMIT, spool_above=THRESHOLD,
                           blobs=BlobStore(tmp_path))
    assert list((tmp_path / "tmp").iterdir()) == []
