"""The database payload backend: large payloads as 1 MiB rows of ``payload_chunks`` (``blob_backend = "database"``).

A payload is written in one transaction, chunk by chunk as it is read from its spool file (or
from the other backend), so a crash leaves nothing half-written and memory never holds more than
a chunk. Every payload is cut at the same 1 MiB boundaries, so two nodes storing the same bytes
at once write the same rows (``ON CONFLICT DO NOTHING``). It is read back one chunk per query,
each on a pooled connection held only for that query, so a slow client holds no connection.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Integer, String, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.db import reading, rowcount
from storage.errors import BlobError
from storage.models import PayloadChunk
from storage.payloads.backends import DigestMismatch, PayloadStream
from storage.payloads.files import CHUNK
from storage.upsert import upsert

_SHA = bindparam("sha", type_=String)
_SEQ = bindparam("seq", type_=Integer)
_CHUNK = select(PayloadChunk.data).where(PayloadChunk.sha256 == _SHA, PayloadChunk.seq == _SEQ)
_SHAPE = select(func.count(), func.coalesce(func.sum(func.length(PayloadChunk.data)), 0)).where(
    PayloadChunk.sha256 == _SHA)
_FIRST = select(PayloadChunk.seq).where(PayloadChunk.sha256 == _SHA, PayloadChunk.seq == 0)


async def rechunked(chunks: AsyncIterator[bytes], size: int = CHUNK) -> AsyncIterator[bytes]:
    """The same bytes in pieces of exactly ``size`` (the last one shorter), whatever pieces came in."""
    held = bytearray()
    async for chunk in chunks:
        held += chunk
        while len(held) >= size:
            yield bytes(held[:size])
            del held[:size]
    if held:
        yield bytes(held)


class ChunkBackend:
    """Payloads as rows (sha256, seq, data) in the ``payload_chunks`` table."""

    name = "database"

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def write(self, chunks: AsyncIterator[bytes], sha256: str) -> int:
        """Insert the stream's chunks in one transaction, rolled back unless they hash to ``sha256``."""
        digest = hashlib.sha256()
        size = 0
        async with AsyncSession(self.engine) as session, session.begin():
            seq = 0
            async for chunk in rechunked(chunks):
                digest.update(chunk)
                size += len(chunk)
                await upsert(session, PayloadChunk, [{"sha256": sha256, "seq": seq, "data": chunk}],
                             keys=["sha256", "seq"])
                seq += 1
            if digest.hexdigest() != sha256:
                raise DigestMismatch(f"bytes offered as {sha256} hash to {digest.hexdigest()}")
            if seq == 0:
                # An empty payload is one empty chunk, so that it exists.
                await upsert(session, PayloadChunk, [{"sha256": sha256, "seq": 0, "data": b""}],
                             keys=["sha256", "seq"])
        return size

    async def adopt(self, path: Path, sha256: str) -> None:
        """Copy a spooled file into the table 1 MiB at a time, then remove it."""
        try:
            if not await self.exists(sha256):
                fh = await asyncio.to_thread(path.open, "rb")
                try:
                    await self.write(_file_chunks(fh), sha256)
                finally:
                    fh.close()
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, sha256: str) -> bool:
        """True when the payload's first chunk is stored (a payload is written in one transaction)."""
        async with reading(self.engine) as conn:
            return (await conn.execute(_FIRST, {"sha": sha256})).first() is not None

    async def _shape(self, sha256: str) -> tuple[int, int]:
        async with reading(self.engine) as conn:
            count, size = (await conn.execute(_SHAPE, {"sha": sha256})).one()
        return int(count), int(size)

    async def open(self, sha256: str) -> PayloadStream | None:
        """A stream of the chunks with the payload's size; None when it is not stored here."""
        count, size = await self._shape(sha256)
        if not count:
            return None
        return PayloadStream(size, self._read(sha256, range(count)))

    async def chunks(self, sha256: str, offset: int = 0) -> AsyncIterator[bytes]:
        """The payload from byte ``offset``: whole chunks skipped by arithmetic (all but the last are 1 MiB)."""
        count, _ = await self._shape(sha256)
        if not count:
            raise BlobError(f"payload {sha256} is not in the database")
        first, skip = divmod(offset, CHUNK)
        async for chunk in self._read(sha256, range(first, count)):
            yield chunk[skip:] if skip else chunk
            skip = 0

    async def _read(self, sha256: str, seqs: Iterable[int]) -> AsyncIterator[bytes]:
        for seq in seqs:
            async with reading(self.engine) as conn:
                data = (await conn.execute(_CHUNK, {"sha": sha256, "seq": seq})).scalar_one_or_none()
            if data is None:
                # Disposed, or moved to the files by `axis blobs migrate`, while being read.
                raise BlobError(f"payload {sha256} left the database at byte {seq * CHUNK}")
            yield data

    async def rehash(self, sha256: str) -> str | None:
        """Read the chunks back from the database and hash them (in a thread: 1 MiB takes milliseconds)."""
        digest = hashlib.sha256()
        try:
            async for chunk in self.chunks(sha256):
                await asyncio.to_thread(digest.update, chunk)
        except BlobError:
            return None
        return digest.hexdigest()

    async def delete(self, sha256: str) -> bool:
        """Remove every chunk of the payload."""
        async with self.engine.begin() as conn:
            return rowcount(await conn.execute(delete(PayloadChunk.__table__).where(PayloadChunk.sha256 == sha256))) > 0

    async def count(self) -> int:
        """How many payloads have chunks."""
        async with reading(self.engine) as conn:
            return int((await conn.execute(
                select(func.count()).select_from(PayloadChunk).where(PayloadChunk.seq == 0))).scalar_one())

    async def listing(self) -> AsyncIterator[str]:
        """The payloads' digests, a page of 500 per query (each page after the last digest seen)."""
        after = ""
        while page := await _listing_page(self.engine, after, 500):
            for sha in page:
                yield sha
            after = page[-1]


async def _listing_page(engine: AsyncEngine, after: str, limit: int) -> list[str]:
    async with reading(engine) as conn:
        return list((await conn.execute(
            select(PayloadChunk.sha256).where(PayloadChunk.seq == 0, PayloadChunk.sha256 > after)
            .order_by(PayloadChunk.sha256).limit(limit)
        )).scalars())


async def _file_chunks(fh: BinaryIO) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(fh.read, CHUNK):
        yield chunk
