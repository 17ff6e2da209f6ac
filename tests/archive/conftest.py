"""Fixtures for archive tests: a server whose clock the test drives, the CLI against its database, archivists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, select, update

from axis.appkeys import SETTINGS
from axis.cli import cli
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Agency, Delivery, DeliveryState, Payload, PayloadChunk
from storage.people.accounts import add_user
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, B, C, D = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41", "000.00.00.G14"
PASSWORD = "mat-khau-luu-tru-2026"


class TestClock:
    """A clock the test sets and moves; the server reads it for every timestamp it writes."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        """Jump to a moment (forwards or backwards)."""
        self.now = when.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's worth of keyword arguments; return the new time."""
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> TestClock:
    """A driven clock starting at the real present (agency certificates are valid from now on)."""
    return TestClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def archive(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                  identities: dict[str, IssuedIdentity], clock: TestClock) -> AsyncIterator[Harness]:
    """A running axis on a fresh database whose clock is ``clock``; push deliveries fail at the first error."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, delivery_deadline_seconds=0.0)
        harness, server = await start_server(settings, test_ca, identities, clock=clock)
        try:
            yield harness
        finally:
            await server.close()


@dataclass
class Cli:
    """Runs ``axis ...`` in-process (click's CliRunner) against a harness's home and database."""

    harness: Harness

    @property
    def env(self) -> dict[str, str]:
        settings = self.harness.app[SETTINGS]
        return {"AXIS_HOME": str(settings.home), "AXIS_DATABASE_URL": settings.resolved_database_url}

    async def __call__(self, *args: str | int | Path) -> Result:
        """Run the command in a thread (it runs its own event loop); return click's Result."""
        runner = CliRunner()
        return await asyncio.to_thread(runner.invoke, cli, [str(a) for a in args], env=self.env, obj={},
                                       catch_exceptions=False)


@pytest.fixture
def axis_cli(archive: Harness) -> Cli:
    """The CLI on the ``archive`` server's data."""
    return Cli(archive)


async def add_people(harness: Harness, agency: str, **roles: str) -> None:
    """Create users (login=role) of an agency with the shared test password."""
    async with harness.ctx.sessions() as session, session.begin():
        for login, role in roles.items():
            await add_user(session, login, agency, role, PASSWORD, actor="test")


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll an async condition until it holds (for the background push worker)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def delivery_state(harness: Harness, message_id: str, code: str) -> str:
    """The state of one delivery of a message."""
    async with harness.ctx.sessions() as session:
        return (await session.execute(
            select(Delivery.state).join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id == message_id, Agency.code == code)
        )).scalar_one()


async def wait_failed(harness: Harness, message_id: str, code: str) -> None:
    """Wait until the push worker has given up on one delivery."""
    async def failed() -> bool:
        return await delivery_state(harness, message_id, code) == DeliveryState.FAILED.value
    await wait_for(failed)


async def damage_payload(harness: Harness, sha256: str, damage: str) -> None:
    """"flip a byte" of, or "remove", a stored payload: its row when kept inline, its chunks, else its file."""
    async with harness.ctx.sessions() as session, session.begin():
        data = (await session.execute(select(Payload.data).where(Payload.sha256 == sha256))).scalar_one_or_none()
        if data is not None:
            if damage == "remove":
                await session.execute(delete(Payload).where(Payload.sha256 == sha256))
            else:
                await session.execute(update(Payload).where(Payload.sha256 == sha256).values(data=_flipped(data)))
            return
    async with harness.ctx.sessions() as session, session.begin():
        first = (await session.execute(select(PayloadChunk.data).where(
            PayloadChunk.sha256 == sha256, PayloadChunk.seq == 0))).scalar_one_or_none()
        if first is not None:
            # Kept in the database backend: chunk rows.
            if damage == "remove":
                await session.execute(delete(PayloadChunk).where(PayloadChunk.sha256 == sha256))
            else:
                await session.execute(update(PayloadChunk).where(PayloadChunk.sha256 == sha256, PayloadChunk.seq == 0)
                                      .values(data=_flipped(first)))
            return
    path = harness.ctx.blobs.path_for(sha256)
    if damage == "remove":
        path.unlink()
    else:
        path.write_bytes(_flipped(path.read_bytes()))


async def move_payload_to_file(harness: Harness, sha256: str) -> None:
    """Turn an inline payload into a file, as payloads stored before the ``payloads`` table (or above its limit) are."""
    async with harness.ctx.sessions() as session, session.begin():
        data = (await session.execute(select(Payload.data).where(Payload.sha256 == sha256))).scalar_one()
        assert harness.ctx.blobs.put(data) == sha256
        await session.execute(delete(Payload).where(Payload.sha256 == sha256))


def _flipped(data: bytes) -> bytes:
    out = bytearray(data)
    out[len(out) // 2] ^= 0x01
    return bytes(out)


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0, second: int = 0) -> datetime:
    """A moment given in Vietnam time (UTC+7)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(hours=7)))
