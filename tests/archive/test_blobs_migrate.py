"""`axis blobs migrate` moves a populated archive's payloads between the filesystem and the database.

Each way, a first run crashes between copying a payload and removing it from the source; the
archive is read meanwhile (over HTTP, from a server still configured for the old backend); a
second run (the real command) resumes, finds the half-moved payload in the target and finishes.
Afterwards every payload sits in the target only, is fetched byte-identical, and passes fixity.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from axis.archive.fixity import run_fixity
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import PayloadChunk
from storage.payloads.migration import migrate_payloads
from storage.payloads.store import PayloadStore
from tests.archive.conftest import A, B, Cli, TestClock, damage_payload
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

#: Small enough that documents with a 16 KB attachment are stored in the large-payload backend.
LIMIT = 8192


class Crash(BaseException):
    """Stands for the process dying (kill -9, power cut) at one precise point."""


@pytest.fixture
async def files_archive(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                        identities: dict[str, IssuedIdentity], clock: TestClock) -> AsyncIterator[Harness]:
    """A server whose new large payloads go to files; it reads the database backend too."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, inline_payload_max_bytes=LIMIT, blob_backend="filesystem")
        harness, server = await start_server(settings, test_ca, identities, clock=clock)
        try:
            yield harness
        finally:
            await server.close()


async def _populate(archive: Harness) -> dict[str, tuple[str, bytes]]:
    """Documents over and under the limit (one of several MiB): message id -> (sha256, bytes)."""
    a, b = await archive.register(A), await archive.register(B)
    docs = [a.document([b], subject=f"Hồ sơ số {i}", attachments=[
        Attachment("cid:1", f"phu-luc-{i}.pdf", "application/pdf", os.urandom(16_384))])[1] for i in range(8)]
    docs.append(a.document([b], subject="Bản đồ quy hoạch", attachments=[
        Attachment("cid:1", "ban-do.tif", "image/tiff", os.urandom(2_500_000))])[1])
    docs += [a.document([b], subject=f"Công văn ngắn {i}")[1] for i in range(3)]
    stored: dict[str, tuple[str, bytes]] = {}
    async with a.client() as client:
        for signed in docs:
            reply = await client.submit(signed)
            stored[reply["id"]] = (reply["sha256"], signed)
    return stored


async def _all_readable(archive: Harness, stored: dict[str, tuple[str, bytes]]) -> None:
    """B fetches every document over HTTP, byte-identical."""
    async with archive.agents[B].client() as client:
        for message_id, (_, signed) in stored.items():
            assert await client.fetch(message_id) == signed


async def _places(archive: Harness, stored: dict[str, tuple[str, bytes]]) -> dict[str, int]:
    """How many payloads are read from each place ("inline", "filesystem", "database")."""
    places: dict[str, int] = {}
    for sha, _ in stored.values():
        where = await archive.ctx.payloads.where(sha)
        assert where is not None
        places[where] = places.get(where, 0) + 1
    return places


async def _crashing_run(store: PayloadStore, to: str, after: int) -> None:
    """Migrate until the source removal of payload number ``after``: the copy is stored, the source kept."""
    source = store.chunk_backend if to == "filesystem" else store.file_backend
    removals = 0
    real_delete = source.delete

    async def delete(sha256: str) -> bool:
        nonlocal removals
        removals += 1
        if removals == after:
            raise Crash()
        return await real_delete(sha256)

    source.delete = delete  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            await migrate_payloads(store, to)
    finally:
        source.delete = real_delete  # type: ignore[method-assign]


async def _move_and_resume(archive: Harness, cli: Cli, stored: dict[str, tuple[str, bytes]], to: str) -> None:
    large = 9  # the documents with attachments over the limit
    store = PayloadStore(archive.ctx.blobs, archive.ctx.engine, LIMIT, to)
    await _crashing_run(store, to, after=4)
    # Three moved, the fourth copied but still in the source too, the rest not moved: all readable.
    await _all_readable(archive, stored)
    places = await _places(archive, stored)
    assert places.get(to, 0) >= 3 and places["inline"] == 3

    result = await cli("blobs", "migrate", "--to", to, "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["to"] == to and report["failed"] == {}
    assert report["already"] == 1 and report["moved"] == large - 4 and report["total"] == large - 3
    assert result.stderr == ""  # no progress bar when stderr is not a terminal

    assert await _places(archive, stored) == {"inline": 3, to: large}
    await _all_readable(archive, stored)
    again = await cli("blobs", "migrate", "--to", to, "--json")
    assert again.exit_code == 0 and '"total": 0' in again.stdout


async def _chunk_rows(archive: Harness) -> int:
    async with archive.ctx.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(PayloadChunk))).scalar_one())


async def test_payloads_move_to_the_database_and_back_resuming_after_a_crash(
        files_archive: Harness, clock: TestClock) -> None:
    archive = files_archive
    cli = Cli(archive)
    stored = await _populate(archive)
    assert await _places(archive, stored) == {"inline": 3, "filesystem": 9}
    assert await _chunk_rows(archive) == 0

    await _move_and_resume(archive, cli, stored, "database")
    # No payload file is left; the MiB-sized one is several rows.
    assert archive.ctx.blobs.digests() == []
    big = max(stored.values(), key=lambda s: len(s[1]))
    assert await _chunk_rows(archive) == 8 + -(-len(big[1]) // 2**20)
    report = await run_fixity(archive.ctx.sessions, archive.ctx.payloads, now=clock())
    assert report.ok and report.checked == len(stored)

    await _move_and_resume(archive, cli, stored, "filesystem")
    assert await _chunk_rows(archive) == 0
    assert sorted(archive.ctx.blobs.digests()) == sorted(sha for sha, signed in stored.values() if len(signed) > LIMIT)
    report = await run_fixity(archive.ctx.sessions, archive.ctx.payloads, now=clock())
    assert report.ok and report.checked == len(stored)


async def test_a_damaged_payload_is_not_moved_and_the_run_says_so(files_archive: Harness) -> None:
    archive = files_archive
    stored = await _populate(archive)
    damaged = next(sha for sha, signed in stored.values() if len(signed) > LIMIT)
    await damage_payload(archive, damaged, "flip a byte")

    result = await Cli(archive)("blobs", "migrate", "--to", "database")
    assert result.exit_code == 1
    assert f"FAILED {damaged}" in result.stderr and "moved 8" in result.stdout
    # The damaged file stays where it was, for the archivist to restore from backup; nothing half-copied.
    assert await archive.ctx.payloads.where(damaged) == "filesystem"
    assert not await archive.ctx.payloads.chunk_backend.exists(damaged)
    assert hashlib.sha256(archive.ctx.blobs.read(damaged)).hexdigest() != damaged
