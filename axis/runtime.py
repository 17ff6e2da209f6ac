"""Process start-up shared by the CLI and the server: data directory, schema, sessions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from axis.settings import Settings
from migrations.upgrade import upgrade
from storage.db import create_engine, is_sqlite, session_factory

T = TypeVar("T")


def prepare_home(settings: Settings) -> None:
    """Create the data directory; on the embedded SQLite default, migrate it too."""
    settings.home.mkdir(parents=True, exist_ok=True)
    if settings.is_embedded_database:
        upgrade(settings.resolved_database_url)


def default_workers(database_url: str) -> int:
    """Processes `axis serve` runs by default: one per core on PostgreSQL, one on SQLite (one writer)."""
    return 1 if is_sqlite(database_url) else max(1, os.cpu_count() or 1)


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one unit of work in a fresh engine and transaction (CLI commands)."""

    async def main() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    prepare_home(settings)
    return asyncio.run(main())
