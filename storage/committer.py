"""Group commit: accepted messages of concurrent requests are stored together, one transaction per batch.

Each request does its own checking, signing and (for a large body) blob writing, then hands its
rows, a small body's payload row included, to the committer and waits; the committer writes
everything that arrived meanwhile with one statement per table and one COMMIT, and only then
answers each request. So the durability promise is unchanged (202 only after the commit) while
round trips and fsyncs are shared.
If a batch fails on a constraint (the same bytes or DocumentId from a concurrent request) or on a
change whose state moved on (``Superseded``), its items are retried one by one so each gets its own answer.
On PostgreSQL a batch is one statement (storage.pgbatch) unless one of its items needs a transaction
(``Rows.apply``); a status 01's effects (``Rows.deliver``) go in that statement too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.archive_models import Blob, RegisterEntry, RetentionAssignment
from storage.db import rowcount
from storage.errors import Superseded
from storage.models import AuditQueueEntry, Delivery, DeliveryState, Message, StatusEvent
from storage.payloads.store import insert_payloads
from storage.pgbatch import Batch, arguments, plan
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


@dataclass(frozen=True)
class Delivering:
    """A status 01's effect: its delivery is delivered unless a 01 or a refusal came first, and then only
    its recipient's incoming register entry and audit entry are added."""

    delivery_id: int
    receipt_message_id: str
    at: datetime
    register: dict[str, Any]
    audit: dict[str, Any]


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
    #: A status 01's effect, applied with the batch's others (one statement per table on PostgreSQL).
    deliver: Delivering | None = None
    #: Other changes that depend on current state, run one by one in the batch's transaction.
    apply: Callable[[AsyncSession], Awaitable[None]] | None = None
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

# Built once (their compiled form is cached by SQLAlchemy under the same key every time).
_INSERT_MESSAGES = insert(Message.__table__)
_INSERT_DELIVERIES = insert(Delivery.__table__)
_INSERT_STATUSES = insert(StatusEvent.__table__)
_INSERT_AUDIT = insert(AuditQueueEntry.__table__)
# The state test makes the first 01 the one that delivers, even with concurrent repeats; a refusal given first stays.
_DELIVER = (
    update(Delivery.__table__)
    .where(Delivery.id == bindparam("delivery", type_=Integer),
           Delivery.state.not_in((DeliveryState.DELIVERED.value, DeliveryState.REFUSED.value)))
    .values(state=DeliveryState.DELIVERED.value,
            delivered_at=bindparam("at", type_=Delivery.__table__.c.delivered_at.type),
            receipt_message_id=bindparam("receipt", type_=String), claimed_by=None, claimed_until=None)
)
#: The key of an agency's register entry for one message: a repeated 01 takes no second number.
_REGISTER_KEY = ("agency_id", "direction", "message_id")


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
        if r.deliver is not None:
            await _deliver(session, r.deliver)
        if r.apply is not None:
            await r.apply(session)
    await record_arrivals(session, [r.arrival for r in batch])
    await conn.execute(_INSERT_AUDIT, [r.audit for r in batch])


async def _deliver(session: AsyncSession, d: Delivering) -> None:
    conn = await session.connection()
    changed = await conn.execute(_DELIVER, {"delivery": d.delivery_id, "at": d.at, "receipt": d.receipt_message_id})
    if rowcount(changed):
        await upsert(session, RegisterEntry, [d.register], keys=_REGISTER_KEY)
        await conn.execute(_INSERT_AUDIT, d.audit)


def _batch(batch: Sequence[Rows]) -> Batch:
    """The batch by table, for the one-statement path."""
    arrivals = [r.arrival for r in batch]
    receipts = {}
    for r in batch:
        d = r.deliver
        if d is not None and d.delivery_id not in receipts:  # a repeat in the same batch: the first delivers
            receipts[d.delivery_id] = (d.delivery_id, d.at, d.receipt_message_id, d.register, d.audit)
    return Batch(
        messages=[r.message for r in batch],
        payloads=list({p["sha256"]: p for r in batch if (p := r.payload) is not None}.values()),
        deliveries=[d for r in batch for d in r.deliveries],
        statuses=[r.status for r in batch if r.status is not None],
        blobs=list({a.blob["sha256"]: a.blob for a in reversed(arrivals)}.values()),
        registers=[a.register for a in arrivals if a.register is not None],
        retentions=[a.retention for a in arrivals if a.retention is not None],
        audit=[r.audit for r in batch],
        receipts=list(receipts.values()),
    )


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
        engine = sessions.kw.get("bind")
        #: The engine the one-statement path writes through; None: every batch takes the Core path.
        self._pg: AsyncEngine | None = (
            engine if isinstance(engine, AsyncEngine) and engine.dialect.driver == "asyncpg" else None
        )
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
            if self._pg is not None and not any(r.apply is not None for r in batch):
                await self._write_statement(self._pg, batch)
            else:
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

    @staticmethod
    async def _write_statement(engine: AsyncEngine, batch: list[Rows]) -> None:
        async with engine.connect() as conn:
            # Autocommit: no BEGIN nor COMMIT to send, the one statement commits on its own. Passed to the
            # driver as written (no compiling), but through SQLAlchemy: its errors (IntegrityError, a
            # dropped connection invalidating the pool) are the ones the Core path raises.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(plan().sql, tuple(arguments(_batch(batch))))

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
