"""Claiming due push deliveries so that no two workers take the same one, and recording their outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import DateTime, Integer, Interval, String, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.audit import audit_details
from storage.models import (
    AuditQueueEntry,
    Delivery,
    DeliveryAttempt,
    DeliveryMode,
    DeliveryState,
    Message,
    Payload,
)

_D = Delivery.__table__.c
_AT = _D.next_attempt_at.type


class Claimed(NamedTuple):
    """One claimed delivery with everything its POST needs, read in the claiming transaction."""

    delivery_id: int
    recipient_id: int
    #: Counting the attempt this claim starts.
    attempts: int
    created_at: datetime
    message_id: str
    kind: str
    document_id: str
    sha256: str
    #: The payload's bytes when kept in the ``payloads`` table (small ones); None for a file or chunked rows.
    inline: bytes | None


def _clock(dialect: str) -> Any:
    """The time leases are measured by: PostgreSQL's own clock, so nodes with skewed clocks agree on them.

    ``clock_timestamp()``, not ``now()``: the moment of the statement, not of the transaction's start.
    SQLite runs inside the process, so its clock is the process's (the ``now`` parameter, which tests may set).
    """
    if dialect == "postgresql":
        return func.clock_timestamp(type_=DateTime(timezone=True))
    return bindparam("now", type_=_AT)


def _until(dialect: str) -> Any:
    """The new expiry of a claim: ``lease`` from the lease clock."""
    if dialect == "postgresql":
        return _clock(dialect) + bindparam("lease", type_=Interval())
    return bindparam("until", type_=_AT)


@cache
def _due_with_payloads(dialect: str) -> Any:
    """Due deliveries with their message's fields and small payload, oldest first; built once per dialect."""
    lease_now = _clock(dialect)
    now = bindparam("now", type_=_AT)
    query = (
        select(_D.id, _D.recipient_id, _D.attempts, _D.created_at, Message.id, Message.kind, Message.document_id,
               Message.sha256, Payload.data)
        .select_from(Delivery.__table__)
        .join(Message, Message.id == _D.message_id)
        .outerjoin(Payload, Payload.sha256 == Message.sha256)
        .where(
            _D.mode == DeliveryMode.PUSH.value,
            or_(
                and_(_D.state.in_((DeliveryState.QUEUED.value, DeliveryState.RETRY_WAIT.value)),
                     _D.next_attempt_at <= now),
                and_(_D.state == DeliveryState.PUSHING.value, _D.claimed_until < lease_now),
            ),
            _D.recipient_id.not_in(bindparam("skip_recipients", expanding=True, type_=Integer)),
            _D.id.not_in(bindparam("skip_ids", expanding=True, type_=Integer)),
        )
        .order_by(_D.next_attempt_at, _D.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if dialect == "postgresql":
        # Only the delivery rows are locked: a message or payload row is shared with other deliveries.
        query = query.with_for_update(skip_locked=True, of=Delivery.__table__)
    return query


@cache
def _take(dialect: str) -> Any:
    return (
        update(Delivery.__table__)
        .where(_D.id.in_(bindparam("ids", expanding=True, type_=Integer)))
        .values(state=DeliveryState.PUSHING.value, claimed_by=bindparam("worker", type_=String),
                claimed_until=_until(dialect), attempts=_D.attempts + 1)
    )


@cache
def _renew(dialect: str) -> Any:
    return (
        update(Delivery.__table__)
        .where(_D.id.in_(bindparam("ids", expanding=True, type_=Integer)),
               _D.claimed_by == bindparam("worker", type_=String),
               _D.state == DeliveryState.PUSHING.value, _D.claimed_until > _clock(dialect))
        .values(claimed_until=_until(dialect))
        .returning(_D.id)
    )


def _lease_params(dialect: str, now: datetime, lease: timedelta) -> dict[str, Any]:
    if dialect == "postgresql":
        return {"lease": lease}
    return {"now": now, "until": now + lease}


async def claim_batch(
    session: AsyncSession, *, worker: str, now: datetime, lease: timedelta, limit: int,
    take: Callable[[int], bool], skip_recipients: Collection[int] = (), skip_ids: Collection[int] = (),
) -> list[Claimed]:
    """Claim due push deliveries that ``take`` accepts (given each one's recipient id), with what their POSTs need.

    Run it inside a transaction: one SELECT reads up to ``limit`` due deliveries joined with their
    messages and small payloads, and one UPDATE claims those ``take`` accepted (state pushing, the
    attempt counted, the lease on the database's clock). On PostgreSQL rows are locked with
    ``FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint sets; on SQLite the transaction holds
    the database write lock (BEGIN IMMEDIATE), which serialises claimers just as well. A delivery whose
    claim lapsed (a worker died mid-push) is due again. Those ``take`` refused are not touched: their row
    locks end with the transaction, so nothing has to be handed back. Deliveries to ``skip_recipients``
    (endpoints with no free share) and ``skip_ids`` (the caller's attempts still running) are not read.
    """
    dialect = session.bind.dialect.name
    conn = await session.connection()
    params: dict[str, Any] = {"now": now, "limit": limit, "skip_recipients": list(skip_recipients),
                              "skip_ids": list(skip_ids)}
    rows = (await conn.execute(_due_with_payloads(dialect), params)).all()
    claimed = [Claimed(r[0], r[1], r[2] + 1, r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows if take(r[1])]
    if claimed:
        await conn.execute(_take(dialect), {"ids": [c.delivery_id for c in claimed], "worker": worker,
                                            **_lease_params(dialect, now, lease)})
    return claimed


@asynccontextmanager
async def _one_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one writing statement, which is its own transaction.

    On PostgreSQL in autocommit: no BEGIN and COMMIT round trips around it. SQLite takes its write lock
    with BEGIN IMMEDIATE, in process.
    """
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
    else:
        async with engine.begin() as conn:
            yield conn


async def renew_claims(engine: AsyncEngine, *, ids: Collection[int], worker: str, now: datetime,
                       lease: timedelta) -> set[int]:
    """Extend our unexpired claims to ``lease`` from now (the database's clock); return the ids renewed.

    An id missing from the result is no longer ours, or its claim ran out while we were not looking
    (a paused process): another worker may hold the delivery now.
    """
    if not ids:
        return set()
    dialect = engine.dialect.name
    async with _one_statement(engine) as conn:
        result = await conn.execute(_renew(dialect), {"ids": list(ids), "worker": worker,
                                                      **_lease_params(dialect, now, lease)})
        return {row[0] for row in result}


@cache
def _delivered(dialect: str) -> Any:
    return (
        update(Delivery.__table__)
        .where(_D.id.in_(bindparam("ids", expanding=True, type_=Integer)),
               _D.claimed_by == bindparam("worker", type_=String), _D.state == DeliveryState.PUSHING.value)
        .values(state=DeliveryState.DELIVERED.value, delivered_at=bindparam("at", type_=_D.delivered_at.type),
                claimed_by=None, claimed_until=None)
        .returning(_D.id)
    )


_QUEUE_AUDIT = AuditQueueEntry.__table__.insert()


async def mark_pushed(session: AsyncSession, *, deliveries: Collection[tuple[int, str]], worker: str,
                      now: datetime) -> set[int]:
    """Record pushes the endpoint took (``(delivery id, message id)`` pairs) as delivered; return the ids marked.

    In the caller's transaction, one UPDATE for them all and one audit INSERT for those marked: a delivery
    whose claim is no longer ours (its lease lapsed, another worker has it) is left to its holder.
    """
    if not deliveries:
        return set()
    conn = await session.connection()
    result = await conn.execute(_delivered(session.bind.dialect.name),
                                {"ids": [d for d, _ in deliveries], "worker": worker, "at": now})
    marked = {row[0] for row in result}
    audit = [{"at": now.astimezone(UTC), "actor": "axis", "action": "delivery.delivered", "subject": message_id,
              "details": audit_details({"delivery": delivery_id})}
             for delivery_id, message_id in deliveries if delivery_id in marked]
    if audit:
        await conn.execute(_QUEUE_AUDIT, audit)
    return marked


class Failure(NamedTuple):
    """A push attempt that did not deliver, as its delivery records it."""

    delivery_id: int
    message_id: str
    attempt: int
    error: str
    #: The delivery deadline passed: it fails for good (else it waits for ``next_attempt_at``).
    give_up: bool
    next_attempt_at: datetime | None


@cache
def _ours(dialect: str) -> Any:
    query = select(_D.id).where(_D.id.in_(bindparam("ids", expanding=True, type_=Integer)),
                                _D.claimed_by == bindparam("worker", type_=String),
                                _D.state == DeliveryState.PUSHING.value)
    # Locked till commit: a claimer elsewhere (SKIP LOCKED) cannot take one between this check and its UPDATE.
    return query.with_for_update() if dialect == "postgresql" else query


_FAIL = (
    update(Delivery.__table__)
    .where(_D.id == bindparam("delivery", type_=Integer), _D.claimed_by == bindparam("worker", type_=String),
           _D.state == DeliveryState.PUSHING.value)
    .values(state=bindparam("new_state", type_=String), last_error=bindparam("error", type_=String),
            next_attempt_at=func.coalesce(bindparam("next", type_=_AT), _D.next_attempt_at),
            claimed_by=None, claimed_until=None)
)
_INSERT_ATTEMPTS = DeliveryAttempt.__table__.insert()


async def record_failures(session: AsyncSession, *, failures: Sequence[Failure], worker: str,
                          now: datetime) -> set[int]:
    """Record failed attempts still claimed by ``worker``; return their delivery ids (the others are left alone).

    In the caller's transaction, for any number of failures: one SELECT finds those still ours (a lapsed
    lease leaves the delivery to its new holder), one UPDATE compiled once runs for their rows, one INSERT
    adds their attempt rows and one the audit entries of those given up.
    """
    if not failures:
        return set()
    conn = await session.connection()
    ours = set((await conn.execute(_ours(session.bind.dialect.name),
                                   {"ids": [f.delivery_id for f in failures], "worker": worker})).scalars())
    mine = [f for f in failures if f.delivery_id in ours]
    if not mine:
        return set()
    await conn.execute(_FAIL, [
        {"delivery": f.delivery_id, "worker": worker, "error": f.error[:2000],
         "new_state": DeliveryState.FAILED.value if f.give_up else DeliveryState.RETRY_WAIT.value,
         "next": None if f.give_up else f.next_attempt_at} for f in mine])
    # Kept for the operators' message page; only attempts that did not deliver get a row.
    await conn.execute(_INSERT_ATTEMPTS, [
        {"delivery_id": f.delivery_id, "attempt": f.attempt, "at": now,
         "outcome": "failed" if f.give_up else "retry", "error": f.error[:2000]} for f in mine])
    audit = [{"at": now.astimezone(UTC), "actor": "axis", "action": "delivery.failed", "subject": f.message_id,
              "details": audit_details({"delivery": f.delivery_id, "error": f.error[:500]})}
             for f in mine if f.give_up]
    if audit:
        await conn.execute(_QUEUE_AUDIT, audit)
    return {f.delivery_id for f in mine}
