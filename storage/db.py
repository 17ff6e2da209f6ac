"""Database engines and sessions for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
from sqlalchemy import CursorResult, Result, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Importing the guard arms it for every session: archived messages are never deleted nor rewritten.
from storage import immutability as _immutability  # noqa: F401
from storage.errors import BlobError

#: Errors meaning the database or the disk cannot take work now (refuse it, acknowledge nothing).
#: SQLAlchemy wraps statement errors, not the driver's refusals while connecting (database shutting
#: down, starting up, not accepting connections), nor an exhausted pool: hence the driver's own too.
STORAGE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError, DBAPIError, PoolTimeout, asyncpg.PostgresError, asyncpg.InterfaceError,
    OSError, BlobError, ConnectionError,
)

#: Execution option marking a connection that only reads (see :func:`reading`).
_READ_ONLY = "axis_read_only"


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return url.startswith("sqlite")


#: TCP keepalive of the server's side of each connection (seconds idle, between probes, probes): a node cut
#: off by a partition is dropped in about a minute, not the kernel's two hours, and so are its row locks.
_KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}


def create_engine(url: str, *, idle_in_transaction_seconds: float = 60.0, **kwargs: Any) -> AsyncEngine:
    """Create an async engine with the per-backend settings the axis relies on.

    On PostgreSQL a session left idle inside a transaction longer than ``idle_in_transaction_seconds``
    (a node frozen while it holds claimed rows) is ended by the server, so its locks cannot hide rows
    from the other nodes past their lease; 0 turns that off.
    """
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        # pysqlite's own transaction handling defers BEGIN until the first
        # write; we issue BEGIN IMMEDIATE ourselves so a unit of work that
        # reads then writes cannot fail half-way with SQLITE_BUSY.
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    server_settings = dict(_KEEPALIVES)
    if idle_in_transaction_seconds > 0:
        server_settings["idle_in_transaction_session_timeout"] = str(int(idle_in_transaction_seconds * 1000))
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("server_settings", {}).update(server_settings)
    kwargs["connect_args"] = connect_args
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # No pre-ping: it cost a round trip per checkout (13 % of server CPU under load); a
    # connection broken by a database restart raises a disconnect error, which invalidates
    # the pool, the request gets 503 and the next one reconnects.
    return create_async_engine(url, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    if conn.get_execution_options().get(_READ_ONLY):
        return  # each read statement is then its own read transaction: no write lock taken
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """One session per unit of work; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads that write nothing: on PostgreSQL outside any transaction."""
    async with engine.connect() as conn:
        # No transaction: on PostgreSQL autocommit spares the BEGIN and ROLLBACK round trips; on
        # SQLite no BEGIN IMMEDIATE, so a read does not hold the database write lock. Under READ
        # COMMITTED each statement has its own snapshot inside a transaction too, so the reads see
        # nothing less consistent. (SQLite is not switched to AUTOCOMMIT: its driver already runs
        # with isolation_level None, which SQLAlchemy's switch back on return would undo.)
        if engine.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            await conn.execution_options(**{_READ_ONLY: True})
        yield conn


@asynccontextmanager
async def read_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """An ORM session over :func:`reading`: lookups without transaction round trips or write lock."""
    async with reading(engine) as conn, AsyncSession(bind=conn, expire_on_commit=False) as session:
        yield session


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE run through a session touched (sessions type their results loosely)."""
    return cast(CursorResult[Any], result).rowcount
