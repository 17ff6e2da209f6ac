"""Fixtures for tests that run a real axis server over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from signing.keys import DevelopmentCA, IssuedIdentity
from storage.migrate import upgrade
from tests.databases import DatabaseTemplate, fresh_database
from tests.harness import Harness, start_server, server_settings


@pytest.fixture(scope="session")
async def db_template(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseTemplate]:
    async with fresh_database(tmp_path_factory.mktemp("template")) as url:
        await asyncio.to_thread(upgrade, url)
        yield DatabaseTemplate(url)


@pytest.fixture(scope="session")
def test_ca() -> DevelopmentCA:
    return DevelopmentCA.create(common_name="Axis Test CA")


@pytest.fixture(scope="session")
def identities() -> dict[str, IssuedIdentity]:
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
