"""Payloads wherever they are kept: small ones in the ``payloads`` table, larger ones in the configured backend.

A payload of at most ``inline_max_bytes`` becomes a row inserted in the same transaction as
the message that carries it: no file, no fsync, no thread, and a crash cannot orphan it. A
larger one (and every spooled body) goes to the backend the ``blob_backend`` setting names
(``storage.payloads.backends``): a file in the content-addressed blob store, or 1 MiB rows of
``payload_chunks`` in the database, written before that transaction. Readers ask
:class:`PayloadStore`, which looks in the table, then in the configured backend, then in the
other one, so payloads stay readable while `axis blobs migrate` moves them (and those stored as
files before the table existed stay readable too). Either way the blob ledger
(``storage.archive_models.Blob``) has one row per digest.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import String, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.batches import chunks
from storage.db import reading, rowcount
from storage.errors import BlobError
from storage.models import Payload, PayloadChunk
from storage.payloads.backends import FileBackend, PayloadBackend, PayloadBody, PayloadStream
from storage.payloads.database import ChunkBackend
from storage.payloads.files import BlobStore
from storage.upsert import upsert

#: The values of the ``blob_backend`` setting.
BACKENDS = ("filesystem", "database")

# Built once: these run on every fetch and push of a message.
_SHA = bindparam("sha", type_=String)
_READ = select(Payload.data).where(Payload.sha256 == _SHA)
_EXISTS = select(Payload.sha256).where(Payload.sha256 == _SHA)


def payload_row(sha256: str, data: bytes) -> dict[str, Any]:
    """The ``payloads`` row of bytes whose digest the caller has computed."""
    return {"sha256": sha256, "data": data}


async def insert_payloads(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """In the caller's transaction: one INSERT for all rows; bytes already stored are left as they are."""
    unique = list({r["sha256"]: r for r in rows}.values())
    await upsert(session, Payload, unique, keys=["sha256"])


async def delete_payloads(db: AsyncSession | AsyncConnection, digests: Sequence[str]) -> int:
    """In the caller's transaction: remove the payloads among ``digests`` kept in the database; return how many.

    Inline rows and chunked ones both: a disposal removes them with the record of their destruction.
    """
    removed = 0
    for chunk in chunks(list(digests)):
        removed += rowcount(await db.execute(delete(Payload.__table__).where(Payload.sha256.in_(chunk))))
        await db.execute(delete(PayloadChunk.__table__).where(PayloadChunk.sha256.in_(chunk), PayloadChunk.seq > 0))
        # One first chunk per payload: its rows count the payloads.
        removed += rowcount(await db.execute(
            delete(PayloadChunk.__table__).where(PayloadChunk.sha256.in_(chunk), PayloadChunk.seq == 0)))
    return removed


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class PayloadStore:
    """The one way to store, read, check and delete payloads: inline, or in the configured backend."""

    def __init__(self, files: BlobStore, engine: AsyncEngine, inline_max_bytes: int,
                 backend: str = "filesystem") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"blob_backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        #: The blob files (also where large bodies are spooled while they arrive, on every backend).
        self.files = files
        self.engine = engine
        self.inline_max_bytes = inline_max_bytes
        self.file_backend = FileBackend(files)
        self.chunk_backend = ChunkBackend(engine)
        both: list[PayloadBackend] = [self.file_backend, self.chunk_backend]
        #: Where new large payloads go; ``other`` is read too, for payloads not moved (yet).
        self.backend, self.other = both if backend == "filesystem" else both[::-1]

    # --- writing ---------------------------------------------------------------------------------

    def fits_inline(self, size: int) -> bool:
        """True when a payload of ``size`` bytes is kept in the ``payloads`` table."""
        return size <= self.inline_max_bytes

    async def stage(self, data: bytes, sha256: str) -> dict[str, Any] | None:
        """Small bytes: their row, for the caller to insert with its message. Larger: stored in the backend now."""
        if self.fits_inline(len(data)):
            return payload_row(sha256, data)
        await self.backend.write(_one(data), sha256)
        return None

    async def adopt(self, path: Path, sha256: str) -> str:
        """Store a complete spooled temp file as the payload ``sha256`` (the temp file is gone after)."""
        await self.backend.adopt(path, sha256)
        return sha256

    async def put(self, session: AsyncSession, data: bytes) -> str:
        """Store bytes as part of ``session``'s transaction if small (else in the backend now); return their digest."""
        sha256 = hashlib.sha256(data).hexdigest()
        row = await self.stage(data, sha256)
        if row is not None:
            await insert_payloads(session, [row])
        return sha256

    # --- reading ---------------------------------------------------------------------------------

    async def _inline(self, sha256: str) -> bytes | None:
        async with reading(self.engine) as conn:
            data: bytes | None = (await conn.execute(_READ, {"sha": sha256})).scalar_one_or_none()
        return data

    async def read(self, sha256: str) -> bytes:
        """A stored payload's bytes, whole (BlobError when it is nowhere); large ones are better streamed by open."""
        body = await self.open(sha256)
        if isinstance(body, bytes):
            return body
        if isinstance(body, PayloadStream):
            held = bytearray()
            async for chunk in body:
                held += chunk
            return bytes(held)
        with body:
            return await asyncio.to_thread(body.read)

    async def open(self, sha256: str) -> PayloadBody:
        """For a response or a push: an inline payload's bytes, else an open file or a stream of chunks.

        The caller closes a file (aiohttp does once it has sent it). BlobError when the payload is nowhere.
        """
        data = await self._inline(sha256)
        if data is not None:
            return data
        for backend in (self.backend, self.other):
            found = await backend.open(sha256)
            if isinstance(found, PayloadStream):
                return PayloadStream(found.size, self._resuming(sha256, found))
            if found is not None:
                return found
        raise BlobError(f"payload {sha256} is missing")

    async def _resuming(self, sha256: str, stream: PayloadStream) -> AsyncIterator[bytes]:
        """The chunks; if `axis blobs migrate` moves the payload to a file meanwhile, the rest from the file."""
        sent = 0
        try:
            async for chunk in stream:
                yield chunk
                sent += len(chunk)
        except BlobError:
            # An open file cannot vanish under its reader; rows can (a disposal too: then this fails as well).
            async for chunk in self.file_backend.chunks(sha256, sent):
                yield chunk

    async def exists(self, sha256: str) -> bool:
        """True when the payload is stored, inline or in either backend."""
        async with reading(self.engine) as conn:
            if (await conn.execute(_EXISTS, {"sha": sha256})).first() is not None:
                return True
        return await self.backend.exists(sha256) or await self.other.exists(sha256)

    async def where(self, sha256: str) -> str | None:
        """"inline", "filesystem" or "database": where the payload is read from; None when it is nowhere."""
        async with reading(self.engine) as conn:
            if (await conn.execute(_EXISTS, {"sha": sha256})).first() is not None:
                return "inline"
        for backend in (self.backend, self.other):
            if await backend.exists(sha256):
                return backend.name
        return None

    async def rehash(self, digests: Sequence[str]) -> dict[str, str | None]:
        """Recompute a batch of payloads' digests from what is stored (row first, else a backend); None when missing."""
        if not digests:
            return {}
        async with reading(self.engine) as conn:
            rows = (await conn.execute(
                select(Payload.sha256, Payload.data).where(Payload.sha256.in_(list(digests)))
            )).all()
        inline = {sha: data for sha, data in rows}
        # Hashing inline rows is CPU: off the event loop, all in one hop.
        out: dict[str, str | None] = await asyncio.to_thread(
            lambda: {sha: hashlib.sha256(data).hexdigest() for sha, data in inline.items()})
        for sha in digests:
            if sha not in out:
                out[sha] = await self.backend.rehash(sha)
                if out[sha] is None:
                    out[sha] = await self.other.rehash(sha)
        return out

    # --- deleting (archival disposal, and `axis blobs migrate` once a copy is verified) ----------

    async def delete(self, sha256: str) -> bool:
        """Remove a payload wherever it is; True if it existed (a disposal removes rows in its own transaction)."""
        async with self.engine.begin() as conn:
            removed = await delete_payloads(conn, [sha256])
        return removed + await self.delete_files([sha256]) > 0

    async def delete_files(self, digests: Sequence[str]) -> int:
        """Remove the files among ``digests`` (database rows go in the disposal's own transaction); return how many."""
        return await asyncio.to_thread(lambda: sum(1 for sha in digests if self.files.delete(sha)))
