"""Login throttling: a growing wait per account, per client address and per pair, claimed atomically.

Every sign-in attempt first *claims* a try on three keys in one transaction, before the
password is checked: the account (from anywhere), the client address (any account) and the
pair. A claim is one upsert that counts the attempt as a failure and moves the key's
``next_at`` forward, and only succeeds while ``next_at`` has come; so N parallel attempts,
on one node or several sharing PostgreSQL, get only the tries the schedules allow. A correct
password then forgets the account's and the pair's failures and gives the address its try back.

Why three keys: the pair stops one source guessing one account (a short burst, then a wait
doubling to 15 minutes); the address stops one source spraying many accounts (a larger burst,
as a whole office may sit behind one NAT address); the account stops many sources guessing
one account together. The pair and address keys are claimed first, so a single stranger who
hammers someone's login is held back by them and moves the account key only a few times: the
owner, from their own address, can still sign in. The account key's wait is capped at a
minute, so even a crowd of addresses can delay its owner by at most that.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginThrottle, UtcDateTime

#: Rows untouched for this long are deleted (after a successful login; logins are rare enough).
PRUNE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """How long a key waits after its failures: ``burst`` back to back, then ``base`` doubling up to ``cap``."""

    burst: int
    base: timedelta
    cap: timedelta
    # Failures are forgotten after this long without an attempt.
    forget_after: timedelta = timedelta(hours=1)

    def wait(self, failures: int) -> timedelta:
        """The wait before the next try after ``failures`` failures in a row."""
        if failures < self.burst:
            return timedelta(0)
        return min(self.cap, self.base * (1 << min(failures - self.burst, 40)))

    def steps(self) -> int:
        """The number of failures from which the wait is the cap."""
        n = self.burst
        while self.wait(n) < self.cap:
            n += 1
        return n


#: One source, one account: three tries, then 1 s, 2 s, 4 s … up to 15 minutes.
PAIR = Schedule(burst=3, base=timedelta(seconds=1), cap=timedelta(minutes=15))
#: One source, any accounts: an office behind one NAT address gets twenty tries before any wait.
ADDRESS = Schedule(burst=20, base=timedelta(seconds=1), cap=timedelta(minutes=15))
#: Every source on one account: ten tries, then a wait capped at one minute.
ACCOUNT = Schedule(burst=10, base=timedelta(seconds=1), cap=timedelta(minutes=1))
#: Every source on accounts that do not exist, together: each such try costs a password hash and
#: proves nothing, so a crowd of addresses gets a shared budget, then a wait capped at a minute.
UNKNOWN = Schedule(burst=60, base=timedelta(seconds=1), cap=timedelta(minutes=1), forget_after=timedelta(minutes=15))
#: The key of that shared budget.
UNKNOWN_KEY = "unknown-accounts"


def address_key(address: str) -> str:
    """The part of a client address a throttle key names: an IPv6 client by its /64, as one host gets a whole /64.

    An IPv4 address seen through an IPv6 socket counts as the IPv4 address; anything unparsable as is.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class Throttled(Exception):
    """A sign-in attempt that must wait: ``until`` is when the next try may run."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"throttled until {until.isoformat()}")
        self.until = until


@dataclass(frozen=True)
class ThrottleKeys:
    """The keys one attempt claims, in claiming order."""

    pair: str
    address: str
    account: str

    @classmethod
    def of(cls, login: str, address: str) -> ThrottleKeys:
        """The keys of an attempt on ``login`` (already normalised) from ``address``."""
        address = address_key(address)
        return cls(pair=f"pair:{login}|{address}", address=f"address:{address}", account=f"account:{login}")

    def claims(self) -> tuple[tuple[str, Schedule], ...]:
        """Key and schedule, pair and address first (see the module docstring)."""
        return ((self.pair, PAIR), (self.address, ADDRESS), (self.account, ACCOUNT))


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UtcDateTime())


def _claim_statement(dialect: str, key: str, schedule: Schedule, now: datetime) -> Any:
    table = LoginThrottle.__table__
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stale = table.c.updated_at < _at(now - schedule.forget_after)
    failures = case((stale, 1), else_=table.c.failures + 1)
    # The wait for each count is computed here and sent as values: no dialect-specific date arithmetic.
    next_at = case(
        *[(failures == n, _at(now + schedule.wait(n))) for n in range(schedule.burst, schedule.steps())],
        (failures < schedule.burst, _at(now)),
        else_=_at(now + schedule.cap),
    )
    statement = insert(table).values(key=key, failures=1, next_at=now + schedule.wait(1), updated_at=now)
    return statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": failures, "next_at": next_at, "updated_at": _at(now)},
        where=table.c.next_at <= _at(now),
    ).returning(table.c.failures)


async def claim_attempt(session: AsyncSession, keys: ThrottleKeys, now: datetime) -> None:
    """Count one attempt on every key before its password is checked; :class:`Throttled` if one must wait.

    Raise inside the caller's transaction so a refused claim rolls the others back: a refused
    attempt costs the keys nothing.
    """
    dialect = session.bind.dialect.name
    for key, schedule in keys.claims():
        claimed = (await session.execute(_claim_statement(dialect, key, schedule, now))).first()
        if claimed is None:
            until = (await session.execute(select(LoginThrottle.next_at).where(LoginThrottle.key == key))).scalar()
            raise Throttled(until or now)


async def claim_unknown_account(session: AsyncSession, now: datetime) -> None:
    """Count one try on an account that does not exist against the shared budget; :class:`Throttled` when spent."""
    claimed = (await session.execute(_claim_statement(session.bind.dialect.name, UNKNOWN_KEY, UNKNOWN, now))).first()
    if claimed is None:
        until = (await session.execute(select(LoginThrottle.next_at).where(LoginThrottle.key == UNKNOWN_KEY))).scalar()
        raise Throttled(until or now)


async def attempt_succeeded(session: AsyncSession, keys: ThrottleKeys, now: datetime) -> None:
    """The password was right: forget the account's and pair's failures, give the address its try back."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([keys.pair, keys.account])))
    await session.execute(
        update(LoginThrottle).where(LoginThrottle.key == keys.address, LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )
    await session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - PRUNE_AFTER))

