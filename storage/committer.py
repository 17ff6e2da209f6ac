"""Group commit: accepted messages of concurrent requests are stored together, one transaction per batch.

Each request does its own checking, signing and (for a large body) blob writing, then hands its
rows, a small body's payload row included, to the committer and waits; the committer writes
everything that arrived meanwhile with one statement per table and one COMMIT, and only then
answers each request. So the durability promise is unchanged (202 only after the commit) while
round trips and fsyncs are shared.
If a batch fails on a constraint (the same bytes or DocumentId from a concurrent request) or on a
change whose state moved on (``Superseded``), its items are retried one by one so each gets its own answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.archive_models import Blob, RegisterEntry, RetentionAssignment
from storage.errors import Superseded
from storage.models import AuditQueueEntry, Delivery, Message, StatusEvent
from storage.payloads.store import insert_payloads
from storage.upsert import upsert

log = logging.getLogger("storage.committer")

#: Most messages in one transaction (bounds the statement size and a failed batch's retry).
MAX_BATCH = 256


@dataclass(frozen=True)
class Arrival:
    """The archive's rows for one newly stored message."""

    blob: dict[str, Any]
    register: dict[str, Any] | None
    retention: dict[str, Any] | None


@dataclass
class Rows:
    """Everything one accepted message adds to the database."""

    message: dict[str, Any]
    deliveries: list[dict[str, Any]]
    arrival: Arrival
    audit: dict[str, Any]
    status: dict[str, Any] | None = None
    #: The message's bytes when small enough to be kept in the database (storage.payloads.store); None for a file.
    payload: dict[str, Any] | None = None
    #: Changes that depend on current state (a status 01 delivering); run in the transaction.
    apply: Callable[[AsyncSession], Awaitable[None]] | None = None
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

# Built once (their compiled form is cached by SQLAlchemy under the same key every time).
_INSERT_MESSAGES = insert(Message.__table__)
_INSERT_DELIVERIES = insert(Delivery.__table__)
_INSERT_STATUSES = insert(StatusEvent.__table__)
_INSERT_AUDIT = insert(AuditQueueEntry.__table__)


async def write_rows(session: AsyncSession, batch: Sequence[Rows]) -> None:
    """Insert the rows of every message in ``batch`` in the session's transaction."""
    # Core statements on the session's connection: plain multi-row INSERTs, not the ORM's bulk path.
    conn = await session.connection()
    await conn.execute(_INSERT_MESSAGES, [r.message for r in batch])
    payloads = [r.payload for r in batch if r.payload is not None]
    if payloads:
        # Same transaction as the message: a small payload is never stored without it, nor it without one.
        await insert_payloads(session, payloads)
    deliveries = [d for r in batch for d in r.deliveries]
    if deliveries:
        await conn.execute(_INSERT_DELIVERIES, deliveries)
    statuses = [r.status for r in batch if r.status is not None]
    if statuses:
        await conn.execute(_INSERT_STATUSES, statuses)
    for r in batch:
        if r.apply is not None:
            await r.apply(session)
    await record_arrivals(session, [r.arrival for r in batch])
    await conn.execute(_INSERT_AUDIT, [r.audit for r in batch])


async def record_arrivals(session: AsyncSession, arrivals: Sequence[Arrival]) -> None:
    """In the storing transaction: one statement per table for any number of messages."""
    # Identical bytes are stored once; the first arrival's row stands.
    blobs = list({a.blob["sha256"]: a.blob for a in reversed(arrivals)}.values())
    await upsert(session, Blob, blobs, keys=["sha256"])
    registers = [a.register for a in arrivals if a.register is not None]
    if registers:
        await session.execute(insert(RegisterEntry.__table__), registers)
    retentions = [a.retention for a in arrivals if a.retention is not None]
    if retentions:
        await session.execute(insert(RetentionAssignment.__table__), retentions)


class Committer:
    """One per process: a task that commits what requests queued, batch after batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._queue: list[Rows] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def commit(self, rows: Rows) -> None:
        """Store ``rows`` durably (returns after the COMMIT) or raise what storing them raised."""
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="committer")
        assert self._wakeup is not None
        self._queue.append(rows)
        self._wakeup.set()
        await rows.done

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        while self._queue:
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[Rows]) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await write_rows(session, batch)
        except (IntegrityError, Superseded) as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            for rows in batch:  # find which ones clash; the others are stored all the same
                await self._write_one(rows)
            return
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
            for rows in batch:
                _settle(rows, exc)
            return
        except BaseException:
            for rows in batch:  # cancelled mid-write: nobody may wait forever
                rows.done.cancel()
            raise
        for rows in batch:
            _settle(rows, None)

    async def _write_one(self, rows: Rows) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await write_rows(session, [rows])
        except Exception as exc:  # noqa: BLE001 - handed to the request that waits for it
            _settle(rows, exc)
        else:
            _settle(rows, None)


def _settle(rows: Rows, exc: BaseException | None) -> None:
    if rows.done.done():
        return
    if exc is None:
        rows.done.set_result(None)
    else:
        rows.done.set_exception(exc)
