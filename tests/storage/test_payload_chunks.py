"""The database payload backend keeps exact bytes in 1 MiB rows and gives them back as a stream."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.errors import BlobError
from storage.models import Payload, PayloadChunk
from storage.payloads.backends import DigestMismatch, PayloadStream
from storage.payloads.database import ChunkBackend
from storage.payloads.files import CHUNK, BlobStore
from storage.payloads.store import PayloadStore
from tests.databases import DatabaseTemplate


@pytest.fixture
async def fresh_engine(tmp_path: Path, db_template: DatabaseTemplate) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh migrated database (these tests commit)."""
    async with db_template.clone(tmp_path) as url:
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def _pieces(data: bytes, sizes: Sequence[int]) -> AsyncIterator[bytes]:
    """``data`` cut into pieces of the given sizes, cycling."""
    at, i = 0, 0
    while at < len(data):
        yield data[at:at + sizes[i % len(sizes)]]
        at += sizes[i % len(sizes)]
        i += 1


async def _rows(engine: AsyncEngine, sha256: str) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(
            select(func.length(PayloadChunk.data)).where(PayloadChunk.sha256 == sha256).order_by(PayloadChunk.seq)
        )).scalars())


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_a_payload_is_kept_in_1_mib_rows_whatever_pieces_it_arrives_in(fresh_engine: AsyncEngine) -> None:
    backend = ChunkBackend(fresh_engine)
    data = os.urandom(3 * CHUNK + 12_345)
    sha = hashlib.sha256(data).hexdigest()
    assert await backend.write(_pieces(data, [70_000, 1, 2 * CHUNK + 3]), sha) == len(data)
    assert await _rows(fresh_engine, sha) == [CHUNK, CHUNK, CHUNK, 12_345]

    stream = await backend.open(sha)
    assert isinstance(stream, PayloadStream) and stream.size == len(data)
    assert await _collect(stream) == data
    for offset in (0, 1, CHUNK - 1, CHUNK, CHUNK + 7, len(data) - 1, len(data)):
        assert await _collect(backend.chunks(sha, offset)) == data[offset:]
    assert await backend.rehash(sha) == sha and await backend.exists(sha)
    assert await backend.count() == 1 and [s async for s in backend.listing()] == [sha]

    assert await backend.delete(sha) and not await backend.exists(sha)
    assert await backend.open(sha) is None and await backend.rehash(sha) is None
    with pytest.raises(BlobError):
        await _collect(backend.chunks(sha))


async def test_bytes_that_do_not_hash_to_their_name_leave_no_row(fresh_engine: AsyncEngine) -> None:
    backend = ChunkBackend(fresh_engine)
    data = os.urandom(2 * CHUNK + 5)
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(DigestMismatch):
        await backend.write(_pieces(data, [CHUNK]), wrong)
    assert await _rows(fresh_engine, wrong) == [] and not await backend.exists(wrong)


async def test_two_nodes_storing_the_same_bytes_at_once_leave_one_whole_copy(fresh_engine: AsyncEngine) -> None:
    one, two = ChunkBackend(fresh_engine), ChunkBackend(fresh_engine)
    data = os.urandom(2 * CHUNK + 99)
    sha = hashlib.sha256(data).hexdigest()
    await asyncio.gather(one.write(_pieces(data, [CHUNK // 3]), sha), two.write(_pieces(data, [5 * CHUNK]), sha))
    assert await _rows(fresh_engine, sha) == [CHUNK, CHUNK, 99]
    assert await one.rehash(sha) == sha


async def test_an_empty_payload_exists_and_reads_back_empty(fresh_engine: AsyncEngine) -> None:
    backend = ChunkBackend(fresh_engine)
    sha = hashlib.sha256(b"").hexdigest()
    await backend.write(_pieces(b"", [1]), sha)
    assert await backend.exists(sha) and await backend.rehash(sha) == sha
    stream = await backend.open(sha)
    assert stream is not None and await _collect(stream) == b""  # type: ignore[arg-type]


async def test_the_database_backend_keeps_small_payloads_inline_and_large_ones_in_rows(
        fresh_engine: AsyncEngine, tmp_path: Path) -> None:
    store = PayloadStore(BlobStore(tmp_path / "blobs"), fresh_engine, 1024, "database")
    small, large = os.urandom(1000), os.urandom(CHUNK + 1)
    small_sha, large_sha = hashlib.sha256(small).hexdigest(), hashlib.sha256(large).hexdigest()
    assert await store.stage(small, small_sha) is not None  # a row for the caller's transaction
    assert await store.stage(large, large_sha) is None
    assert await store.where(large_sha) == "database" and store.files.digests() == []
    assert await store.read(large_sha) == large
    body = await store.open(large_sha)
    assert isinstance(body, PayloadStream) and body.size == len(large) and await _collect(body) == large
    assert (await store.rehash([large_sha, small_sha])) == {large_sha: large_sha, small_sha: None}

    # A spooled file is copied into rows and removed.
    spooled = os.urandom(2 * CHUNK)
    out, path = store.files.temp_file()
    with out:
        out.write(spooled)
    spooled_sha = hashlib.sha256(spooled).hexdigest()
    await store.adopt(path, spooled_sha)
    assert not path.exists() and await _rows(fresh_engine, spooled_sha) == [CHUNK, CHUNK]

    assert await store.delete(large_sha) and not await store.exists(large_sha)
    async with fresh_engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Payload))).scalar_one() == 0


async def test_a_payload_moved_to_a_file_while_it_is_streamed_is_read_on_from_the_file(
        fresh_engine: AsyncEngine, tmp_path: Path) -> None:
    store = PayloadStore(BlobStore(tmp_path / "blobs"), fresh_engine, 1024, "database")
    data = os.urandom(3 * CHUNK + 10)
    sha = hashlib.sha256(data).hexdigest()
    await store.stage(data, sha)
    body = await store.open(sha)
    assert isinstance(body, PayloadStream)
    first = await body.__anext__()
    # `axis blobs migrate --to filesystem` meanwhile: the file is written, then the rows removed.
    await store.file_backend.write(_pieces(data, [CHUNK]), sha)
    assert await store.chunk_backend.delete(sha)
    assert first + await _collect(body) == data


async def test_a_payload_in_neither_backend_is_missing(fresh_engine: AsyncEngine, tmp_path: Path) -> None:
    store = PayloadStore(BlobStore(tmp_path / "blobs"), fresh_engine, 1024, "filesystem")
    sha = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobError):
        await store.open(sha)
    assert await store.where(sha) is None and await store.rehash([sha]) == {sha: None}
