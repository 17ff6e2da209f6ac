"""INSERT ... ON CONFLICT for SQLite and PostgreSQL: the one dialect-specific statement of the archive."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    *,
    keys: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert rows; on a key conflict update the ``update`` columns, or leave the row when none are named."""
    if not rows:
        return
    # Both dialects spell ON CONFLICT the same way, but SQLAlchemy builds it per dialect.
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(list(rows))
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={c: getattr(stmt.excluded, c) for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    await session.execute(stmt)
