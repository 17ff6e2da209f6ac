"""Login throttling in the database: claims counted before the check, waits growing per failure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginThrottle, utcnow
from storage.people.throttle import ACCOUNT, ADDRESS, PAIR, Throttled, ThrottleKeys, attempt_succeeded, claim_attempt


def test_waits_start_after_the_burst_double_and_stop_at_the_cap() -> None:
    assert [PAIR.wait(n) for n in range(1, 7)] == [timedelta(0), timedelta(0), timedelta(seconds=1),
                                                   timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert PAIR.wait(1000) == PAIR.cap == timedelta(minutes=15)
    assert ACCOUNT.wait(ACCOUNT.steps()) == ACCOUNT.cap == timedelta(minutes=1)
    assert ADDRESS.wait(ADDRESS.burst - 1) == timedelta(0) and ADDRESS.wait(ADDRESS.burst) == timedelta(seconds=1)


async def _failures(session: AsyncSession, key: str) -> int | None:
    return (await session.execute(select(LoginThrottle.failures).where(LoginThrottle.key == key))).scalar()


async def test_claims_count_before_the_check_and_refuse_until_the_wait_is_over(session: AsyncSession) -> None:
    now = utcnow()
    keys = ThrottleKeys.of("vanthu", "10.0.0.1")
    for _ in range(PAIR.burst):
        await claim_attempt(session, keys, now)
    with pytest.raises(Throttled) as refused:
        await claim_attempt(session, keys, now)
    assert refused.value.until == now + PAIR.wait(PAIR.burst)
    # A refused claim counts nothing (the caller's transaction rolls back; here nothing was written).
    assert await _failures(session, keys.pair) == PAIR.burst
    # Another address on the same account is not held back by this pair.
    await claim_attempt(session, ThrottleKeys.of("vanthu", "10.0.0.2"), now)
    # Once the wait has passed the next try runs, and the wait after it doubles.
    later = refused.value.until
    await claim_attempt(session, keys, later)
    with pytest.raises(Throttled) as again:
        await claim_attempt(session, keys, later + timedelta(seconds=1))
    assert again.value.until == later + timedelta(seconds=2)


async def test_success_forgets_account_and_pair_and_gives_the_address_its_try_back(session: AsyncSession) -> None:
    now = utcnow()
    keys = ThrottleKeys.of("vanthu", "10.0.0.1")
    await claim_attempt(session, keys, now)
    await claim_attempt(session, keys, now)
    await attempt_succeeded(session, keys, now)
    assert await _failures(session, keys.pair) is None and await _failures(session, keys.account) is None
    assert await _failures(session, keys.address) == 1


async def test_failures_are_forgotten_after_an_hour_of_quiet(session: AsyncSession) -> None:
    now = utcnow()
    keys = ThrottleKeys.of("vanthu", "10.0.0.1")
    for n in range(PAIR.burst + 2):
        await claim_attempt(session, keys, now + PAIR.wait(n) * 2 + timedelta(seconds=n))
    quiet = now + PAIR.forget_after + timedelta(minutes=20)
    await claim_attempt(session, keys, quiet)
    assert await _failures(session, keys.pair) == 1
