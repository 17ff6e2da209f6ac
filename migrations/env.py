"""Alembic environment: async engine from the axis settings, one migrator at a time, bounded lock waits."""

from __future__ import annotations

import asyncio
import time

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from migrations.locks import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    DEFAULT_LOCK_WAIT_SECONDS,
    MIGRATION_LOCK_ID,
    MigrationLockBusy,
)
from storage.db import create_engine
from storage.schema import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    url: str | None = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass database_url or set sqlalchemy.url")
    return url


def _take_migration_lock(connection: Connection) -> None:
    """Wait (polling, at most the configured wait) for the lock no two migrators hold at once."""
    wait = float(config.attributes.get("lock_wait_seconds", DEFAULT_LOCK_WAIT_SECONDS))
    deadline = time.monotonic() + wait
    # Polled with the try form: a plain pg_advisory_lock would wait without end behind a stuck migrator.
    while not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_ID}).scalar():
        connection.rollback()  # not left idle in a transaction between tries
        if time.monotonic() >= deadline:
            raise MigrationLockBusy(
                f"another `axis db upgrade` has held the migration lock for more than {wait:g} s; "
                "wait for it to finish (or pass --lock-wait SECONDS)")
        time.sleep(0.2)
    # A statement of a migration that needs a table lock a long transaction holds gives up after this
    # long: queued behind it, an ALTER TABLE's exclusive lock would hold up every request on that table.
    timeout_ms = int(1000 * float(config.attributes.get("lock_timeout_seconds", DEFAULT_LOCK_TIMEOUT_SECONDS)))
    connection.execute(text(f"SET lock_timeout = {max(1, timeout_ms)}"))
    # Both are session-wide: committed now, so each migration below runs in a transaction of its own.
    connection.commit()


def _run(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        _take_migration_lock(connection)
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if postgres:
            # A failed migration left its transaction aborted: end it before unlocking.
            if connection.in_transaction():
                connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_ID})
            connection.execute(text("RESET lock_timeout"))
            connection.commit()


async def _run_async() -> None:
    engine = create_engine(_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(_run_async())
