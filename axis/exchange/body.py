"""Request bodies: small ones in memory, large ones spooled to a temp file in the blob store."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from axis.exchange.body_budget import BodyHold
from axis.exchange.errors import BodyTooLarge, BodyTooSlow
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


class PacedChunks:
    """Chunks of a body that must keep arriving: at least ``min_bytes`` in every ``window`` seconds.

    A stalled body (nothing for a whole window) and a trickle (one byte every few seconds)
    both end in ``BodyTooSlow``. Time is the event loop's monotonic clock.
    """

    def __init__(self, chunks: AsyncIterator[bytes], *, window: float, min_bytes: int) -> None:
        self._chunks = chunks
        self.window = window
        self.min_bytes = min_bytes
        self._window_end: float | None = None
        self._got = 0
        # The read in progress survives a window's end: cancelling it would end an async generator for good.
        self._next: asyncio.Future[bytes] | None = None

    def __aiter__(self) -> PacedChunks:
        return self

    async def __anext__(self) -> bytes:
        loop = asyncio.get_running_loop()
        if self._window_end is None:
            self._window_end = loop.time() + self.window
        if self._next is None:
            self._next = asyncio.ensure_future(anext(self._chunks))
        try:
            while True:
                done, _ = await asyncio.wait([self._next], timeout=max(0.0, self._window_end - loop.time()))
                if done:
                    break
                self._end_window(loop.time())
        except BaseException:
            self._next.cancel()
            raise
        read, self._next = self._next, None
        chunk = read.result()  # StopAsyncIteration at the end of the body
        self._got += len(chunk)
        if loop.time() >= self._window_end:
            self._end_window(loop.time())
        return chunk

    def _end_window(self, now: float) -> None:
        if self._got < self.min_bytes:
            raise BodyTooSlow(f"the body arrived too slowly: {self._got} bytes in {self.window:g} s "
                              f"(at least {self.min_bytes} are expected)")
        assert self._window_end is not None
        self._window_end = now + self.window
        self._got = 0


async def receive_body(chunks: AsyncIterator[bytes], *, limit: int, spool_above: int, blobs: BlobStore,
                       hold: BodyHold | None = None, declared: int | None = None) -> Body:
    """Read a body to its end: bytes up to ``spool_above``, a SpooledBody beyond; 413 past ``limit``.

    Bytes held in memory are drawn from ``hold``; when the memory budget has no room the body goes
    to a spool file at once, and when the spool ceiling has none either it is refused (``BodiesBusy``).
    A ``declared`` length over ``spool_above`` is spooled from its first byte.
    """
    hold = hold or BodyHold.unbounded()
    parts: list[bytes] = []
    if declared is not None and declared > spool_above:
        return await _spool(parts, 0, chunks, limit=limit, blobs=blobs, hold=hold, declared=declared)
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
        if size > spool_above or not hold.take_memory(len(chunk)):
            # _spool empties ``parts`` once written, so this frame keeps no reference to the head.
            parts.append(chunk)
            return await _spool(parts, len(chunk), chunks, limit=limit, blobs=blobs, hold=hold, declared=declared)
        parts.append(chunk)
    return b"".join(parts)


async def _spool(head: list[bytes], unreserved: int, rest: AsyncIterator[bytes], *, limit: int, blobs: BlobStore,
                 hold: BodyHold, declared: int | None) -> SpooledBody:
    """Write ``head`` (its last ``unreserved`` bytes not drawn from the memory budget) and the rest to a temp file."""
    held = sum(map(len, head))
    # A declared length is reserved whole: refused now, not after most of it has been read.
    if not hold.take_spool(declared if declared is not None else held):
        raise hold.busy("spool files")
    reserved_spool = declared if declared is not None else held
    out, path = await asyncio.to_thread(blobs.temp_file)
    digest = hashlib.sha256()
    size = 0
    pending = head
    pending_reserved = held - unreserved

    async def flush() -> None:
        nonlocal size, pending_reserved
        data = b"".join(pending)
        # Cleared in place: ``head`` is this very list, so the caller's reference goes empty too.
        pending.clear()
        digest.update(data)
        await asyncio.to_thread(out.write, data)
        size += len(data)
        del data
        hold.give_memory(pending_reserved)
        pending_reserved = 0

    try:
        with out:
            await flush()
            async for chunk in rest:
                total = size + len(chunk) + sum(map(len, pending))
                if total > limit:
                    raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
                if total > reserved_spool:
                    if not hold.take_spool(total - reserved_spool):
                        raise hold.busy("spool files")
                    reserved_spool = total
                pending.append(chunk)
                if hold.take_memory(len(chunk)):
                    pending_reserved += len(chunk)
                    if pending_reserved >= WRITE_CHUNK:
                        await flush()
                else:
                    await flush()  # no room to gather it: written as it comes
            await flush()
    except BaseException:
        # Over the limit, out of room, too slow, client gone, cancelled: no partial file stays behind.
        pending.clear()
        hold.give_memory(pending_reserved)
        await asyncio.to_thread(_unlink, path)
        raise
    return SpooledBody(path, digest.hexdigest(), size)


def spool_trouble(blobs: BlobStore, need: int) -> str | None:
    """Why this node cannot spool a large body now (directory unwritable, disk nearly full), or None.

    Blocking (it writes and removes a probe file): run it off the event loop.
    """
    try:
        out, path = blobs.temp_file()
        with out:
            out.write(b"\0")
            out.flush()
        os.unlink(path)
        free = shutil.disk_usage(path.parent).free
    except OSError as exc:
        return f"cannot write {blobs.root / 'tmp'}: {exc.strerror or exc}"
    if free < need:
        return f"disk nearly full at {blobs.root / 'tmp'}: {free // 2**20} MiB free, {need // 2**20} MiB needed"
    return None


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
