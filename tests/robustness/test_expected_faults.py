"""Expected faults are one warning line with a metric: a full spool disk, an unreachable database.

The disk is a real 2 MiB tmpfs mounted over the spool directory (root in a container usually may);
where mounting is not allowed, the spool files are opened on /dev/full, which fails every write with
the kernel's own ENOSPC.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from axis.appkeys import METRICS
from axis.faults import DATABASE, DISK_FULL, FaultStreak, fault_kind
from axis.metrics import Metrics
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.db import create_engine
from storage.payloads.files import BlobStore
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_problem, call
from tests.harness import Harness, server_settings, start_server

A, B = "000.00.00.G22", "000.00.00.H29"
MIB = 1024 * 1024


@pytest.fixture
def small_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The spool directory of a server home under ``tmp_path``, on a 2 MiB filesystem."""
    spool = tmp_path / "home" / "blobs" / "tmp"
    spool.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(spool)],
                             capture_output=True).returncode == 0
    if not mounted:
        def on_full_device(self: BlobStore) -> tuple[Any, Path]:
            path = self.root / "tmp" / "spool-on-dev-full"
            path.touch()
            return open("/dev/full", "wb", buffering=0), path  # noqa: SIM115 - the caller closes it

        monkeypatch.setattr(BlobStore, "temp_file", on_full_device)
    try:
        yield spool
    finally:
        if mounted:
            subprocess.run(["umount", str(spool)], check=False)


@pytest.fixture
async def axis(tmp_path: Path, small_spool: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
               identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis whose spool (bodies over 64 KiB) lives on the small filesystem; bodies up to 4 MiB."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, spool_threshold_bytes=64 * 1024,
                                   max_message_bytes=4 * MIB, blob_backend="filesystem")
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


async def test_a_full_spool_disk_is_one_warning_a_503_and_an_unready_node(
        axis: Harness, small_spool: Path, caplog: pytest.LogCaptureFixture) -> None:
    a, b = await axis.register(A), await axis.register(B)
    health = (await call(axis, "GET", "/healthz")).json()
    assert health["status"] == "ok" and "MiB free" in health["large_bodies"]  # 2 MiB cannot take a 4 MiB body
    unready = await call(axis, "GET", "/healthz", params={"for": "large-bodies"})
    assert unready.status == 503 and unready.json()["status"] == "unhealthy"

    caplog.set_level(logging.WARNING)
    large = os.urandom(3 * MIB)
    reply = await call(axis, "POST", "/api/v1/documents", token=a, data=b"<" + large,
                       headers={"X-Request-Id": "req-disk-full-1"})
    problem = assert_problem(reply, 503, "AXIS.Unavailable")
    assert problem["request_id"] == "req-disk-full-1"
    lines = [r for r in caplog.records if r.name == "axis.errors"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    line = lines[0]
    assert line.levelno == logging.WARNING and line.exc_info is None
    message = line.getMessage()
    assert "disk full at" in message and str(small_spool) in message and "MiB free" in message, message
    assert "req-disk-full-1" in message
    assert axis.app[METRICS].faults.labels(DISK_FULL)._value.get() == 1
    assert [p for p in small_spool.iterdir() if p.name != "spool-on-dev-full"] == []  # nothing half-written stays
    # Small bodies do not touch the spool: still accepted.
    assert (await call(axis, "POST", "/api/v1/documents", token=a, data=a.document([b])[1])).status == 202


async def test_an_unreachable_database_is_one_line_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    log = logging.getLogger("axis.test.faults")
    metrics = Metrics()
    streak = FaultStreak(log, "claiming deliveries", metrics)
    # A real refusal: nothing listens on this port.
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/postgres")
    try:
        for _ in range(5):
            try:
                async with engine.connect():
                    pass
            except Exception as exc:  # noqa: BLE001 - the failure under test
                assert fault_kind(exc) == DATABASE
                streak.failed(exc)
            await asyncio.sleep(0)
    finally:
        await engine.dispose()
    streak.succeeded()
    lines = [r for r in caplog.records if r.name == "axis.test.faults"]
    assert len(lines) == 2, [r.getMessage() for r in lines]
    assert "database unavailable" in lines[0].getMessage() and lines[0].exc_info is None
    assert "recovered after 5 failed rounds" in lines[1].getMessage()
    assert metrics.faults.labels(DATABASE)._value.get() == 5


async def test_an_unexpected_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    streak = FaultStreak(logging.getLogger("axis.test.faults"), "sealing")
    try:
        raise KeyError("a bug")
    except KeyError as exc:
        assert fault_kind(exc) is None
        streak.failed(exc)
    (record,) = [r for r in caplog.records if r.name == "axis.test.faults"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
