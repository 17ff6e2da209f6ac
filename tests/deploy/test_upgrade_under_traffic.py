"""`axis db upgrade` from the previous release's schema while a node of the previous release serves.

What the upgrade procedure in docs/operations.md promises: nodes of the previous release keep
serving while the schema is upgraded under them, then they are restarted on the new release one
by one. So the node serving here runs the *previous release's code*, taken from the git history:
the newest commit on the first-parent line of HEAD whose migrations are a strict prefix of this
checkout's (same file names, fewer of them). Its own `axis db upgrade` makes the old schema and
its own `axis agency add` registers the agencies; documents flow to it without pause while this
checkout's `axis db upgrade` runs and after it (old code on the new schema); on PostgreSQL a node
of this checkout then joins while the old one still serves (the rolling restart: both releases
take documents at once); then the old node goes, and the new one must list and serve every
document, byte for byte, and the audit chain must verify.

Limits: the previous release runs on this checkout's virtual environment (adjacent releases
share their dependencies); and the test needs the git history (a source tarball has none).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from axis.agency.client import AxisClient
from axis.bench.server import AXIS_COMMAND, ServerProcess
from envelope.codes import StatusCode
from migrations.upgrade import MIGRATIONS_DIR, current_head
from signing.keys import DevelopmentCA, IssuedIdentity, certificate_pem
from storage.db import create_engine
from tests.databases import backend, fresh_database
from tests.harness import NAMES, Agent
from tests.support.tools import tool

A, B = "000.00.00.G22", "000.00.00.H29"
REPO = MIGRATIONS_DIR.parent
#: Documents sent before the upgrade starts, and after it has ended (old code on the new schema).
BEFORE, AFTER = 15, 15

pytestmark = pytest.mark.timeout(300)


def _git(*args: str) -> str:
    proc = subprocess.run([tool("git"), "-C", str(REPO), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr} (this test needs the git history)"
    return proc.stdout


def _migrations(names: list[str]) -> list[str]:
    return sorted(n for n in names if n[:4].isdigit() and n.endswith(".py"))


def previous_release() -> str:
    """The newest first-parent ancestor whose migrations are a strict prefix of this checkout's."""
    current = _migrations([p.name for p in (MIGRATIONS_DIR / "versions").iterdir()])
    for commit in _git("rev-list", "--first-parent", "HEAD").split():
        old = _migrations([Path(p).name for p in _git("ls-tree", "--name-only", commit,
                                                           "migrations/versions/").split()])
        if old and len(old) < len(current) and current[:len(old)] == old:
            return commit
    raise AssertionError("no earlier commit has a prefix of this checkout's migrations")


def _old_tree(commit: str, target: Path) -> Path:
    archive = subprocess.run([tool("git"), "-C", str(REPO), "archive", commit], capture_output=True, timeout=120,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def _axis(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AXIS_COMMAND, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


@dataclass
class Traffic:
    """Documents sent to a node without pause, with when each was answered."""

    sent: dict[str, bytes] = field(default_factory=dict)
    #: Document numbers: senders in threads never draw the same one (a repeated DocumentId is refused).
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    answered_at: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _send(url: str, agent: Agent, traffic: Traffic, stop: asyncio.Event) -> None:
    async with AxisClient(url, agent.token) as client:
        while not stop.is_set():
            _, signed = await asyncio.to_thread(agent.document, [B], number=next(traffic.numbers))
            try:
                reply = await client.submit(signed)
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                traffic.failures.append(f"{type(exc).__name__}: {exc}")
                continue
            traffic.sent[reply["id"]] = signed
            traffic.answered_at.append(time.monotonic())


async def test_upgrade_from_the_previous_release_while_its_node_serves_loses_nothing(
        tmp_path: Path, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]) -> None:
    commit = await asyncio.to_thread(previous_release)
    old = await asyncio.to_thread(_old_tree, commit, tmp_path / "previous")
    home = tmp_path / "home"
    async with fresh_database(tmp_path) as url:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_") or k == "AXIS_BLOB_BACKEND"}
        base_env.update(AXIS_HOME=str(home), AXIS_DATABASE_URL=url, PYTHONUNBUFFERED="1")
        # The previous release imports its own packages first (cwd and PYTHONPATH are its tree).
        old_env = {**base_env, "PYTHONPATH": str(old)}
        made = await asyncio.to_thread(_axis, ["db", "upgrade"], old_env, old)
        assert made.returncode == 0, made.stderr
        keys = await asyncio.to_thread(_axis, ["keys", "init"], old_env, old)
        assert keys.returncode == 0, keys.stderr
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                old_head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            assert old_head != current_head()
            agents = {}
            for code in (A, B):
                if code not in identities:
                    identities[code] = await asyncio.to_thread(test_ca.issue, NAMES[code], organ_id=code, kind="rsa")
                pem = tmp_path / f"{code}.pem"
                pem.write_bytes(certificate_pem(identities[code].certificate))
                added = await asyncio.to_thread(
                    _axis, ["agency", "add", code, "--name", NAMES[code], "--cert", str(pem), "--json"], old_env, old)
                assert added.returncode == 0, added.stderr
                token = json.loads(added.stdout)["token"]
                agents[code] = Agent(code, NAMES[code], token, identities[code], harness=None)  # type: ignore[arg-type]

            previous = ServerProcess(home, url, tmp_path / "previous.log", extra_env={"PYTHONPATH": str(old)},
                                     name=f"previous release {commit[:9]}")
            previous.start()
            current: ServerProcess | None = None
            traffic = Traffic()
            stop = asyncio.Event()
            try:
                await asyncio.to_thread(previous.wait_ready, 60.0)
                senders = [asyncio.create_task(_send(previous.url, agents[A], traffic, stop)) for _ in range(2)]
                try:
                    while len(traffic.sent) < BEFORE and not traffic.failures:
                        await asyncio.sleep(0.05)
                    # This checkout's upgrade, run as an operator runs it, while the old node takes documents.
                    started = time.monotonic()
                    upgraded = await asyncio.to_thread(_axis, ["db", "upgrade"], base_env, tmp_path)
                    ended = time.monotonic()
                    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
                    during = sum(1 for t in traffic.answered_at if started <= t <= ended)
                    after_upgrade = len(traffic.sent)
                    while len(traffic.sent) < after_upgrade + AFTER and not traffic.failures:
                        await asyncio.sleep(0.05)
                    assert previous.alive(), previous.log_tail()
                    if backend() == "postgresql":
                        # The rolling restart: a node of this checkout joins while the old one still serves.
                        current = ServerProcess(home, url, tmp_path / "current.log", name="this checkout")
                        current.start()
                        await asyncio.to_thread(current.wait_ready, 60.0)
                        senders.append(asyncio.create_task(_send(current.url, agents[A], traffic, stop)))
                        both = len(traffic.sent)
                        while len(traffic.sent) < both + AFTER and not traffic.failures:
                            await asyncio.sleep(0.05)
                finally:
                    stop.set()
                    await asyncio.gather(*senders)
                assert traffic.failures == [], traffic.failures[:5]
                assert during >= 1, "no document was answered while the upgrade ran"
                assert previous.alive(), previous.log_tail()
                async with engine.connect() as conn:
                    assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() \
                        == current_head()

                # The old node goes (on SQLite it is replaced in place); every document is there, byte for byte.
                assert previous.stop() is not None
                if current is None:
                    current = ServerProcess(home, url, tmp_path / "current.log", name="this checkout")
                    current.start()
                    await asyncio.to_thread(current.wait_ready, 60.0)
                async with AxisClient(current.url, agents[B].token) as client:
                    listed: set[str] = set()
                    cursor = None
                    while True:
                        page = await client.inbox(kind="edoc", limit=100, cursor=cursor)
                        listed |= {item["id"] for item in page["items"]}
                        cursor = page.get("next_cursor")
                        if not cursor:
                            break
                    assert listed == set(traffic.sent)
                    for message_id, signed in traffic.sent.items():
                        assert hashlib.sha256(await client.fetch(message_id)).digest() == \
                            hashlib.sha256(signed).digest()
                    # The new release answers the old release's documents as it answers its own.
                    first = next(iter(traffic.sent))
                    status = await asyncio.to_thread(agents[B].status, traffic.sent[first], StatusCode.ARRIVED)
                    await client.post_status(status)
            finally:
                previous.stop()
                if current is not None:
                    current.stop()
            verified = await asyncio.to_thread(_axis, ["audit", "verify"], base_env, tmp_path)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            print(f"previous release {commit[:9]} (schema {old_head}) -> {current_head()}: "
                  f"{len(traffic.sent)} documents, {during} answered during the {ended - started:.1f} s upgrade")
        finally:
            with contextlib.suppress(Exception):
                await engine.dispose()
