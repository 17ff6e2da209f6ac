"""`axis blobs migrate` racing a disposal must not bring a destroyed payload back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from sqlalchemy import update

from axis.appkeys import SETTINGS
from envelope.model import Attachment
from storage.archive_models import Blob
from storage.models import utcnow
from storage.payloads.migration import migrate_payloads
from storage.payloads.store import PayloadStore
from tests.harness import Harness


async def _large(archive: Harness, n: int) -> list[str]:
    a, b = await archive.register("000.00.00.G22"), await archive.register("000.00.00.H29")
    size = archive.app[SETTINGS].inline_payload_max_bytes + 4096
    digests = []
    async with a.client() as client:
        for i in range(n):
            _, signed = a.document([b], subject=f"Về việc lưu trữ {i}",
                                   attachments=[Attachment("cid:1", "hoso.bin", "application/octet-stream",
                                                           os.urandom(size))])
            digests.append((await client.submit(signed))["sha256"])
    return digests


async def _dispose(archive: Harness, sha256: str) -> None:
    # What a disposal's transaction commits before its files are deleted.
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(update(Blob).where(Blob.sha256 == sha256).values(disposed_at=utcnow()))


async def test_migrate_skips_disposed_payloads_and_one_disposed_mid_copy(archive: Harness) -> None:
    before, during, kept = await _large(archive, 3)
    # Away from wherever this run stores payloads (files on SQLite, chunk rows on the PostgreSQL run).
    source = archive.app[SETTINGS].blob_backend
    target = "filesystem" if source == "database" else "database"
    store = PayloadStore(archive.ctx.blobs, archive.ctx.engine, archive.app[SETTINGS].inline_payload_max_bytes,
                         target)
    origin, destination = ((store.file_backend, store.chunk_backend) if target == "database"
                           else (store.chunk_backend, store.file_backend))
    assert await origin.rehash(before) == before
    await _dispose(archive, before)  # committed; its files not deleted yet (a crash, or the purge not run)
    real_write = destination.write

    async def write_while_disposing(chunks: AsyncIterator[bytes], sha256: str) -> int:
        written = await real_write(chunks, sha256)
        if sha256 == during:
            await _dispose(archive, sha256)
        return written

    destination.write = write_while_disposing  # type: ignore[method-assign]
    report = await migrate_payloads(store, target)
    assert (report.moved, report.disposed) == (1, 2), report
    assert await destination.rehash(kept) == kept
    for destroyed in (before, during):
        assert await destination.rehash(destroyed) is None, "a disposed payload was brought back"
