"""Fresh test databases: a SQLite file, or a new database on a PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL, make_url

#: Set to a PostgreSQL server URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)
#: to run the suite against PostgreSQL; unset means SQLite.
ENV = "AXIS_TEST_DATABASE_URL"


#: The local PostgreSQL server tried by the tests that need PostgreSQL when ENV is unset.
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


async def postgres_server() -> str:
    """The PostgreSQL server for a test that needs one: ENV, else DEFAULT_POSTGRES if it answers; skip otherwise."""
    configured = os.environ.get(ENV)
    if configured:
        if make_url(configured).get_backend_name() != "postgresql":
            pytest.skip(f"two axis processes need PostgreSQL; {ENV} is not a PostgreSQL URL")
        return configured
    dsn = make_url(DEFAULT_POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"two axis processes need PostgreSQL: {ENV} is unset and {DEFAULT_POSTGRES} "
                    f"is not reachable ({type(exc).__name__}: {exc})")
    await conn.close()
    return DEFAULT_POSTGRES


def backend() -> str:
    """'postgresql' or 'sqlite', the backend this test run uses."""
    return "postgresql" if os.environ.get(ENV) else "sqlite"


@contextlib.asynccontextmanager
async def fresh_database(tmp_dir: Path) -> AsyncIterator[str]:
    """Yield the URL of a new, empty database; drop it afterwards."""
    server = os.environ.get(ENV)
    if not server:
        yield f"sqlite+aiosqlite:///{tmp_dir / ('axis-' + secrets.token_hex(4) + '.db')}"
        return
    async with _postgres_database(make_url(server)) as url:
        yield url


class DatabaseTemplate:
    """A database migrated once, cloned cheaply for every test that runs a server."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.asynccontextmanager
    async def clone(self, tmp_dir: Path) -> AsyncIterator[str]:
        """Yield the URL of a fresh copy of the template; drop it afterwards."""
        if not os.environ.get(ENV):
            import shutil

            target = tmp_dir / f"axis-{secrets.token_hex(4)}.db"
            shutil.copyfile(make_url(self.url).database or "", target)
            yield f"sqlite+aiosqlite:///{target}"
            return
        url = make_url(self.url)
        async with _postgres_database(url.set(database="postgres"), template=url.database) as clone:
            yield clone


async def _admin(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def _postgres_database(server: URL, template: str | None = None) -> AsyncIterator[str]:
    """Create a uniquely named database on ``server`` (optionally from a template); drop it after."""
    name = f"axis_test_{secrets.token_hex(6)}"
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
