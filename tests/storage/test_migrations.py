"""The Alembic revisions and the SQLAlchemy models describe the same schema."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from migrations.upgrade import current_head, upgrade
from storage.db import create_engine
from storage.schema import metadata


async def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()


async def test_migrations_match_models_without_drift(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    assert await _diff(empty_database_url) == []


async def test_upgrade_twice_is_harmless_and_records_head(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(upgrade, empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar_one()
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert version == current_head()
    assert {"agencies", "messages", "deliveries", "statuses", "users", "audit_events"} <= tables


async def test_empty_database_differs_from_models(empty_database_url: str) -> None:
    # Guards the drift test itself: without migrations the comparison must see tables missing.
    engine = create_engine(empty_database_url)
    await engine.dispose()
    assert await _diff(empty_database_url) != []
