"""Suite-wide fixtures: one migrated database per run, a rolled-back session per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from migrations.upgrade import upgrade
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.db import create_engine
from tests.databases import DatabaseTemplate, backend, fresh_database
from tests.harness import Harness, blob_backend, server_settings, start_server


def pytest_report_header(config: pytest.Config) -> str:
    return f"axis test database backend: {backend()}, payload backend: {blob_backend()}"


def pytest_configure(config: pytest.Config) -> None:
    # `axis` processes the tests start (serve, CLI) read their settings from the environment.
    if blob_backend() != "filesystem":
        os.environ.setdefault("AXIS_BLOB_BACKEND", blob_backend())


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A database migrated to head once for the whole run."""
    async with fresh_database(tmp_path_factory.mktemp("db")) as url:
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine on the run's database."""
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back at the end of the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        s = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield s
        finally:
            await s.close()
            await outer.rollback()


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A brand-new, unmigrated database for tests that need their own."""
    async with fresh_database(tmp_path) as url:
        yield url


# --- a real axis server over loopback (exchange, web and CLI tests) ---------------


@pytest.fixture(scope="session")
async def db_template(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseTemplate]:
    """A database migrated once, cloned for every test that runs a server."""
    async with fresh_database(tmp_path_factory.mktemp("template")) as url:
        await asyncio.to_thread(upgrade, url)
        yield DatabaseTemplate(url)


@pytest.fixture(scope="session")
def test_ca() -> DevelopmentCA:
    """The development CA that issues every test agency's certificate."""
    return DevelopmentCA.create(common_name="Axis Test CA")


@pytest.fixture(scope="session")
def identities() -> dict[str, IssuedIdentity]:
    """Signing identities by agency code, shared by the whole run."""
    # RSA key generation is slow: one identity per agency code for the whole run.
    return {}


@pytest.fixture
async def axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
               identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """A running axis on a fresh copy of the migrated database."""
    async with db_template.clone(tmp_path) as url:
        harness, server = await start_server(server_settings(tmp_path / "home", url), test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()
