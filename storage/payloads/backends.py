"""Where payloads above the inline limit live: the two backends behind :class:`storage.payloads.store.PayloadStore`.

``FileBackend`` keeps each payload as a content-addressed file under the data directory (the
embedded default); ``storage.payloads.database.ChunkBackend`` keeps it as 1 MiB rows in PostgreSQL,
so nodes share nothing but the database. Both take bytes as a stream, check them against the
digest they are stored under, and give them back as a stream.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

from storage.errors import BlobError
from storage.payloads.files import CHUNK, BlobStore


class DigestMismatch(BlobError):
    """Bytes offered under a digest hash to something else: nothing was stored."""


class PayloadStream:
    """A stored payload read chunk by chunk, its size known before the first byte (for Content-Length)."""

    def __init__(self, size: int, chunks: AsyncIterator[bytes]) -> None:
        self.size = size
        self._chunks = chunks

    def __aiter__(self) -> PayloadStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop reading (a response cut short)."""
        closer = getattr(self._chunks, "aclose", None)
        if closer is not None:
            await closer()


#: A payload ready to be sent: bytes (inline), an open file, or a stream of chunks of known size.
PayloadBody = bytes | BinaryIO | PayloadStream


class PayloadBackend(Protocol):
    """One place large payloads are kept, by SHA-256."""

    #: "filesystem" or "database", as the ``blob_backend`` setting names it.
    name: str

    async def write(self, chunks: AsyncIterator[bytes], sha256: str) -> int:
        """Store a stream under ``sha256`` (DigestMismatch if it hashes otherwise); return its size."""
        ...

    async def adopt(self, path: Path, sha256: str) -> None:
        """Store a complete spooled temp file whose digest the caller computed; the temp file is gone after."""
        ...

    async def exists(self, sha256: str) -> bool:
        """True when the payload is kept here."""
        ...

    async def open(self, sha256: str) -> BinaryIO | PayloadStream | None:
        """The payload for a response or a push, streamed; None when it is not kept here."""
        ...

    def chunks(self, sha256: str, offset: int = 0) -> AsyncIterator[bytes]:
        """The payload from byte ``offset`` on (BlobError when it is not, or no longer, kept here)."""
        ...

    async def rehash(self, sha256: str) -> str | None:
        """The digest of what is kept under ``sha256`` here, re-read; None when nothing is."""
        ...

    async def delete(self, sha256: str) -> bool:
        """Remove the payload; True if it was kept here."""
        ...

    async def count(self) -> int:
        """How many payloads are kept here."""
        ...

    def listing(self) -> AsyncIterator[str]:
        """The digests of the payloads kept here, in order."""
        ...


class FileBackend:
    """Payloads as files in the content-addressed blob store (the embedded default)."""

    name = "filesystem"

    def __init__(self, files: BlobStore) -> None:
        self.files = files

    async def write(self, chunks: AsyncIterator[bytes], sha256: str) -> int:
        """Write the stream to a temp file, check its digest, rename it into place."""
        out, path = await asyncio.to_thread(self.files.temp_file)
        digest = hashlib.sha256()
        size = 0
        try:
            with out:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(out.write, chunk)
            if digest.hexdigest() != sha256:
                raise DigestMismatch(f"bytes offered as {sha256} hash to {digest.hexdigest()}")
            await asyncio.to_thread(self.files.adopt, path, sha256)
        finally:
            await asyncio.to_thread(_unlink_quietly, path)
        return size

    async def adopt(self, path: Path, sha256: str) -> None:
        """Rename the spooled file into place: never read back."""
        await asyncio.to_thread(self.files.adopt, path, sha256)

    async def exists(self, sha256: str) -> bool:
        """True when the file is there."""
        return await asyncio.to_thread(self.files.exists, sha256)

    async def open(self, sha256: str) -> BinaryIO | None:
        """The open file (aiohttp streams it and closes it)."""
        try:
            return await asyncio.to_thread(self.files.open, sha256)
        except BlobError:
            return None

    async def chunks(self, sha256: str, offset: int = 0) -> AsyncIterator[bytes]:
        """Read the file 1 MiB at a time, off the event loop."""
        fh = await asyncio.to_thread(self.files.open, sha256)
        try:
            if offset:
                await asyncio.to_thread(fh.seek, offset)
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                yield chunk
        finally:
            fh.close()

    async def rehash(self, sha256: str) -> str | None:
        """Re-read and hash the file in a thread."""
        return await asyncio.to_thread(self.files.rehash, sha256)

    async def delete(self, sha256: str) -> bool:
        """Remove the file."""
        return await asyncio.to_thread(self.files.delete, sha256)

    async def count(self) -> int:
        """How many blob files there are."""
        return len(await asyncio.to_thread(self.files.digests))

    async def listing(self) -> AsyncIterator[str]:
        """The blob files' digests, from one walk of the directory."""
        for sha in await asyncio.to_thread(self.files.digests):
            yield sha


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
