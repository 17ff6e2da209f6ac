"""Payloads wherever they are kept: small ones in the ``payloads`` table, larger ones as blob files.

A payload of at most ``inline_max_bytes`` becomes a row inserted in the same transaction as
the message that carries it: no file, no fsync, no thread, and a crash cannot orphan it. A
larger one (and every spooled body) is a file in the content-addressed blob store, written
before that transaction as before. Readers ask :class:`PayloadStore`, which looks in the table
first and then on disk, so payloads stored as files (before this table, or above the limit)
stay readable. Either way the blob ledger (``storage.archive.models.Blob``) has one row per digest.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import String, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.archive.chunks import chunks
from storage.archive.models import Payload
from storage.archive.upsert import upsert
from storage.blobs import BlobStore
from storage.db import reading, rowcount

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
    """In the caller's transaction: remove the inline payloads among ``digests``; return how many there were."""
    removed = 0
    for chunk in chunks(list(digests)):
        removed += rowcount(await db.execute(delete(Payload.__table__).where(Payload.sha256.in_(chunk))))
    return removed


class PayloadStore:
    """The one way to store, read, check and delete payloads, inline or on disk."""

    def __init__(self, files: BlobStore, engine: AsyncEngine, inline_max_bytes: int) -> None:
        #: The file backend (also where large bodies are spooled while they arrive).
        self.files = files
        self.engine = engine
        self.inline_max_bytes = inline_max_bytes

    # --- writing ---------------------------------------------------------------------------------

    def fits_inline(self, size: int) -> bool:
        """True when a payload of ``size`` bytes is kept in the database."""
        return size <= self.inline_max_bytes

    async def stage(self, data: bytes, sha256: str) -> dict[str, Any] | None:
        """Small bytes: their row, for the caller to insert with its message. Larger: written as a file now."""
        if self.fits_inline(len(data)):
            return payload_row(sha256, data)
        await asyncio.to_thread(self.files.put, data)
        return None

    async def adopt(self, path: Path, sha256: str) -> str:
        """Make a complete spooled temp file the blob ``sha256`` (renamed into place, never read back)."""
        return await asyncio.to_thread(self.files.adopt, path, sha256)

    async def put(self, session: AsyncSession, data: bytes) -> str:
        """Store bytes as part of ``session``'s transaction if small (else as a file now); return their digest."""
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
        """A stored payload's bytes (BlobError when it is nowhere)."""
        data = await self._inline(sha256)
        if data is not None:
            return data
        return await asyncio.to_thread(self.files.read, sha256)

    async def open(self, sha256: str) -> bytes | BinaryIO:
        """For a response body: an inline payload's bytes, or the open file of a larger one (the caller closes it)."""
        data = await self._inline(sha256)
        if data is not None:
            return data
        return await asyncio.to_thread(self.files.open, sha256)

    async def exists(self, sha256: str) -> bool:
        """True when the payload is stored, inline or as a file."""
        async with reading(self.engine) as conn:
            if (await conn.execute(_EXISTS, {"sha": sha256})).first() is not None:
                return True
        return await asyncio.to_thread(self.files.exists, sha256)

    async def rehash(self, digests: Sequence[str]) -> dict[str, str | None]:
        """Recompute a batch of payloads' digests from what is stored (row first, else file); None when missing."""
        if not digests:
            return {}
        async with reading(self.engine) as conn:
            rows = (await conn.execute(
                select(Payload.sha256, Payload.data).where(Payload.sha256.in_(list(digests)))
            )).all()
        inline = {sha: data for sha, data in rows}

        def work() -> dict[str, str | None]:
            return {sha: hashlib.sha256(inline[sha]).hexdigest() if sha in inline else self.files.rehash(sha)
                    for sha in digests}

        # Hashing is CPU and file reads: off the event loop.
        return await asyncio.to_thread(work)

    # --- deleting (archival disposal only) -------------------------------------------------------

    async def delete(self, sha256: str) -> bool:
        """Remove a payload, row and file; True if either existed (a disposal removes rows in its own transaction)."""
        async with self.engine.begin() as conn:
            removed = await delete_payloads(conn, [sha256])
        return removed + await self.delete_files([sha256]) > 0

    async def delete_files(self, digests: Sequence[str]) -> int:
        """Remove the files among ``digests`` (their rows go in the disposal's own transaction); return how many."""
        return await asyncio.to_thread(lambda: sum(1 for sha in digests if self.files.delete(sha)))
