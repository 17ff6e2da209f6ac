"""Claiming due push deliveries so that no two workers take the same one."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import DateTime, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.db import rowcount
from storage.models import Delivery, DeliveryMode, DeliveryState

#: The current time as a statement sees it: a SQL expression (the database's clock) or a value.
Instant = ColumnElement[datetime] | datetime


def lease_clock(session: AsyncSession, now: datetime) -> Instant:
    """The time leases are measured by: PostgreSQL's own clock, so nodes with skewed clocks agree on them.

    ``clock_timestamp()``, not ``now()``: the moment of the statement, not of the transaction's start.
    SQLite runs inside the process, so its clock is the process's (``now``, which tests may set).
    """
    if session.bind.dialect.name == "postgresql":
        return func.clock_timestamp(type_=DateTime(timezone=True))
    return now


def _due(now: datetime, lease_now: Instant) -> ColumnElement[bool]:
    return and_(
        Delivery.mode == DeliveryMode.PUSH.value,
        or_(
            and_(
                Delivery.state.in_((DeliveryState.QUEUED.value, DeliveryState.RETRY_WAIT.value)),
                Delivery.next_attempt_at <= now,
            ),
            # A worker that died mid-push leaves its claim; it lapses with the lease.
            and_(Delivery.state == DeliveryState.PUSHING.value, Delivery.claimed_until < lease_now),
        ),
    )


async def claim_due_deliveries(
    session: AsyncSession, *, worker: str, now: datetime, lease: timedelta, limit: int,
    skip_recipients: Collection[int] = (), skip_ids: Collection[int] = (),
) -> list[int]:
    """Mark up to ``limit`` due push deliveries as ours (state pushing); return their ids.

    Run it inside a transaction. On PostgreSQL rows are locked with
    ``FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint sets; on
    SQLite the transaction holds the database write lock (BEGIN IMMEDIATE),
    which serialises claimers just as well. Deliveries to ``skip_recipients``
    (whose endpoints have no free share) are left for later, and so are ``skip_ids``
    (the caller's attempts still running: a worker never runs two attempts of one delivery).
    The lease runs on the database's clock (``lease_clock``).
    """
    lease_now = lease_clock(session, now)
    due = _due(now, lease_now)
    if skip_recipients:
        due = and_(due, Delivery.recipient_id.not_in(list(skip_recipients)))
    if skip_ids:
        due = and_(due, Delivery.id.not_in(list(skip_ids)))
    query = select(Delivery.id).where(due).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(
            state=DeliveryState.PUSHING.value,
            claimed_by=worker,
            claimed_until=lease_now + lease,
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return ids


async def release_claims(session: AsyncSession, *, worker: str, ids: Collection[int], now: datetime) -> int:
    """Hand back claims this worker will not attempt after all (its endpoint had no free share); return how many.

    The attempt was counted at claim time and is taken back, so the delivery is due again as it was.
    """
    if not ids:
        return 0
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.claimed_by == worker,
               Delivery.state == DeliveryState.PUSHING.value)
        .values(
            state=case((Delivery.attempts <= 1, DeliveryState.QUEUED.value), else_=DeliveryState.RETRY_WAIT.value),
            claimed_by=None,
            claimed_until=None,
            attempts=Delivery.attempts - 1,
            next_attempt_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def renew_claim(session: AsyncSession, *, delivery_id: int, worker: str, now: datetime,
                      lease: timedelta) -> bool:
    """Extend our unexpired claim on a delivery to ``lease`` from now (the database's clock); False if lapsed.

    False means the claim is no longer ours, or ran out while we were not looking (a paused
    process): another worker may hold the delivery now.
    """
    lease_now = lease_clock(session, now)
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claimed_by == worker,
               Delivery.state == DeliveryState.PUSHING.value, Delivery.claimed_until > lease_now)
        .values(claimed_until=lease_now + lease)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1
