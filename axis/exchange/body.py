"""Request bodies: small ones in memory, large ones spooled to a temp file in the blob store."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from axis.exchange.errors import BodyTooLarge
from storage.payloads.files import BlobStore

#: Bytes gathered before each write to the spool file (writes happen off the event loop).
WRITE_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SpooledBody:
    """A request body written to a temp file in the blob store's tmp directory, measured on the way."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        """Remove the temp file (nothing happens once the blob store has adopted it)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


#: What a submission receives: the bytes themselves, or where they were spooled.
Body = bytes | SpooledBody


def body_size(body: Body) -> int:
    """Number of bytes in the body."""
    return body.size if isinstance(body, SpooledBody) else len(body)


async def receive_body(chunks: AsyncIterator[bytes], *, limit: int, spool_above: int, blobs: BlobStore) -> Body:
    """Read a body to its end: bytes up to ``spool_above``, a SpooledBody beyond; 413 past ``limit``."""
    held = bytearray()
    async for chunk in chunks:
        held += chunk
        if len(held) > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
        if len(held) > spool_above:
            return await _spool(held, chunks, limit=limit, blobs=blobs)
    return bytes(held)


async def _spool(head: bytearray, rest: AsyncIterator[bytes], *, limit: int, blobs: BlobStore) -> SpooledBody:
    out, path = await asyncio.to_thread(blobs.temp_file)
    digest = hashlib.sha256()
    size = 0
    pending = head

    async def flush() -> None:
        nonlocal size, pending
        digest.update(pending)
        await asyncio.to_thread(out.write, pending)
        size += len(pending)
        pending = bytearray()

    try:
        with out:
            async for chunk in rest:
                pending += chunk
                if size + len(pending) > limit:
                    raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
                if len(pending) >= WRITE_CHUNK:
                    await flush()
            await flush()
    except BaseException:
        # Over the limit, client gone, cancelled: no partial file stays behind.
        await asyncio.to_thread(_unlink, path)
        raise
    return SpooledBody(path, digest.hexdigest(), size)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
