"""Backup under traffic, restore into a fresh home and database, verify; a damaged backup is refused."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from axis.archive.backup import BackupDamaged, LiveAxisPresent, backup, restore
from axis.settings import Settings
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.db import create_engine, session_factory
from storage.models import Message
from tests.databases import DatabaseTemplate, fresh_database
from tests.harness import server_settings, start_server

AXIS = Path(sys.executable).with_name("axis")
A, B = "000.00.00.G22", "000.00.00.H29"


def _axis(settings: Settings, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env.update(AXIS_HOME=str(settings.home), AXIS_DATABASE_URL=settings.resolved_database_url)
    return subprocess.run([str(AXIS), *map(str, args)], env=env, capture_output=True, text=True, timeout=300)


async def _messages(url: str) -> dict[str, str]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            rows = (await session.execute(select(Message.id, Message.sha256))).all()
            return {r[0]: r[1] for r in rows}
    finally:
        await engine.dispose()


async def test_backup_under_traffic_restores_elsewhere_and_verifies(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    async with db_template.clone(tmp_path) as url:
        # Small inline limit: attachments become payload files, which the backup must carry too.
        settings = server_settings(tmp_path / "home", url, inline_payload_max_bytes=2048)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            sender = await harness.register(A)
            await harness.register(B)
            accepted: list[str] = []
            stop = asyncio.Event()

            async def traffic() -> None:
                async with sender.client() as client:
                    n = 0
                    while not stop.is_set():
                        n += 1
                        attachment = Attachment("cid:1", "cong-van.pdf", "application/pdf",
                                                f"%PDF-1.4 van ban {n} ".encode() * 400)
                        _, signed = sender.document([B], attachments=[attachment])
                        reply = await client.submit(signed)
                        accepted.append(reply["id"])

            flow = asyncio.create_task(traffic())
            while len(accepted) < 10 and not flow.done():
                await asyncio.sleep(0.05)
            assert not flow.done(), flow.exception()
            signed_head = await asyncio.to_thread(_axis, settings, "audit", "sign-head")
            assert signed_head.returncode == 0, signed_head.stderr
            before = set(accepted)
            summary = await asyncio.to_thread(backup, settings, tmp_path / "backup")
            during = len(accepted) - len(before)
            while len(accepted) < len(before) + during + 5 and not flow.done():  # traffic goes on
                await asyncio.sleep(0.05)
            stop.set()
            await flow
        finally:
            await server.close()
        source = await _messages(url)
        manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
        assert any(name.startswith("home/blobs/") for name in manifest["files"]) == (
            settings.blob_backend_name == "filesystem")
        assert "head-log/audit-heads.jsonl" in manifest["files"]
        assert any(name.startswith("home/keys/") for name in manifest["files"])
        assert summary.files == len(manifest["files"])

        async with fresh_database(tmp_path / "elsewhere") as other:
            target = Settings(home=tmp_path / "elsewhere" / "home", database_url=other,
                              blob_backend=settings.blob_backend)
            done = await asyncio.to_thread(restore, target, tmp_path / "backup")
            assert done.database == summary.database
            restored = await _messages(other)
            # Everything accepted before the backup began is there, byte for byte; nothing appears that
            # the source does not hold.
            assert before <= set(restored)
            assert all(source[m] == sha for m, sha in restored.items())
            assert len(restored) < len(source)  # the traffic after the copy is, rightly, not in it
            fixity = await asyncio.to_thread(_axis, target, "fixity", "check", "--json")
            assert fixity.returncode == 0, fixity.stdout + fixity.stderr
            verify = await asyncio.to_thread(_axis, target, "audit", "verify")
            assert verify.returncode == 0, verify.stdout + verify.stderr
            assert "1 heads in 1 head log(s) reproduced" in verify.stdout or "heads in 1 head log" in verify.stdout
            # The restored axis is live now: a second restore over it is refused unless forced.
            with pytest.raises(LiveAxisPresent, match="refusing to overwrite a live axis"):
                await asyncio.to_thread(restore, target, tmp_path / "backup")
            refused = await asyncio.to_thread(_axis, target, "restore", tmp_path / "backup")
            assert refused.returncode == 1 and "refusing to overwrite a live axis" in refused.stderr
            again = await asyncio.to_thread(_axis, target, "restore", "--force", tmp_path / "backup")
            assert again.returncode == 0, again.stderr
            assert set(await _messages(other)) == set(restored)


async def test_damaged_backup_is_refused_with_the_reason(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, inline_payload_max_bytes=2048)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            sender = await harness.register(A)
            await harness.register(B)
            async with sender.client() as client:
                big = Attachment("cid:1", "a.pdf", "application/pdf", b"%PDF-1.4 " * 1000)
                await client.submit(sender.document([B], attachments=[big])[1])
        finally:
            await server.close()
        made = await asyncio.to_thread(_axis, settings, "backup", tmp_path / "b")
        assert made.returncode == 0 and made.stdout.startswith("OK: backup"), made.stderr
        names = sorted(json.loads((tmp_path / "b" / "manifest.json").read_text())["files"])
        target = Settings(home=tmp_path / "fresh", database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")

        key = next(n for n in names if n.startswith("home/keys/"))
        flipped = tmp_path / "b" / key
        original = flipped.read_bytes()
        flipped.write_bytes(bytes([original[0] ^ 1]) + original[1:])
        with pytest.raises(BackupDamaged, match=f"{key} does not match its SHA-256"):
            restore(target, tmp_path / "b")
        proc = _axis(target, "restore", tmp_path / "b")
        assert proc.returncode == 1 and f"{key} does not match its SHA-256" in proc.stderr
        flipped.write_bytes(original)

        database = next(n for n in names if n.startswith("database."))
        (tmp_path / "b" / database).unlink()
        with pytest.raises(BackupDamaged, match=f"{database} is listed in the manifest but missing"):
            restore(target, tmp_path / "b")
        (tmp_path / "b" / "stray.txt").write_text("x")
        assert not target.home.exists()  # nothing was written by the refused restores
