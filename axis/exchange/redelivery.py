"""Deliveries that need an operator: failed or stuck ones, and sending them again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from axis.exchange.outcome import ON_ITS_WAY, can_resend
from storage.audit import append_event
from storage.models import Agency, Delivery, DeliveryMode, DeliveryState, Message

#: States in which a delivery is still on its way (a refused one is not: it has its outcome).
UNDELIVERED = tuple(sorted(ON_ITS_WAY))
MAX_REASON = 500


class ResendError(Exception):
    """A resend request that cannot be carried out."""


@dataclass(frozen=True)
class TroubledDelivery:
    """A delivery that failed, or that has not arrived long after it was queued."""

    delivery_id: int
    message_id: str
    kind: str
    document_id: str
    code: str
    sender_code: str
    sender_name: str
    recipient_code: str
    recipient_name: str
    mode: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    failed: bool


async def troubled_deliveries(
    session: AsyncSession, now: datetime, stuck_after: timedelta, *, limit: int = 500
) -> list[TroubledDelivery]:
    """Failed deliveries and undelivered ones older than ``stuck_after``, newest first."""
    sender, recipient = aliased(Agency), aliased(Agency)
    rows = (
        await session.execute(
            select(Delivery, Message, sender.code, sender.name, recipient.code, recipient.name)
            .join(Message, Message.id == Delivery.message_id)
            .join(sender, sender.id == Message.sender_id)
            .join(recipient, recipient.id == Delivery.recipient_id)
            .where(
                Delivery.revoked_at.is_(None),
                or_(
                    Delivery.state == DeliveryState.FAILED.value,
                    and_(Delivery.state.in_(UNDELIVERED), Delivery.created_at < now - stuck_after,
                         ~_waiting_to_be_pulled()),
                ),
            )
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
    ).all()
    return [
        TroubledDelivery(
            delivery_id=d.id, message_id=m.id, kind=m.kind, document_id=m.document_id,
            code=f"{m.code_number}/{m.code_notation}" if m.code_number else "",
            sender_code=s, sender_name=sn, recipient_code=r, recipient_name=rn, mode=d.mode, state=d.state,
            attempts=d.attempts, created_at=d.created_at, next_attempt_at=d.next_attempt_at, last_error=d.last_error,
            failed=d.state == DeliveryState.FAILED.value,
        )
        for d, m, s, sn, r, rn in rows
    ]


async def resend_deliveries(
    session: AsyncSession, delivery_ids: Sequence[int], *, reason: str, actor: str, now: datetime
) -> list[int]:
    """Queue deliveries again at once (attempts kept, error cleared), each audited with the reason."""
    reason = reason.strip()
    if not reason:
        raise ResendError("a reason is required to resend a delivery")
    if len(reason) > MAX_REASON:
        raise ResendError(f"the reason is longer than {MAX_REASON} characters")
    if not delivery_ids:
        raise ResendError("no delivery selected")
    rows = (
        await session.execute(
            select(Delivery, Agency.code)
            .join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.id.in_(list(delivery_ids)))
            .order_by(Delivery.id)
            .with_for_update()
        )
    ).all()
    resent: list[int] = []
    for delivery, recipient_code in rows:
        if not can_resend(delivery.state, delivery.revoked_at, None):
            continue  # arrived, refused or withdrawn in the meantime: nothing to resend
        if delivery.state == DeliveryState.PUSHING.value and delivery.claimed_until and delivery.claimed_until > now:
            continue  # a worker is pushing it right now; its outcome decides
        previous = delivery.state
        delivery.state = DeliveryState.QUEUED.value
        delivery.next_attempt_at = now
        delivery.last_error = None
        delivery.claimed_by = None
        delivery.claimed_until = None
        resent.append(delivery.id)
        await session.flush()
        await append_event(
            session, actor=actor, action="delivery.resent", subject=delivery.message_id,
            details={"delivery": delivery.id, "recipient": recipient_code, "previous_state": previous,
                     "attempts": delivery.attempts, "reason": reason},
            at=now,
        )
    return resent


def _waiting_to_be_pulled() -> ColumnElement[bool]:
    # A pull-mode document nobody has fetched yet waits on its recipient, not on the axis: never "stuck".
    return and_(Delivery.mode == DeliveryMode.PULL.value, Delivery.state == DeliveryState.QUEUED.value)


@dataclass(frozen=True)
class Backlog:
    """Undelivered deliveries, told apart: waiting for their recipient to pull them, on their way, or stuck."""

    waiting_pull: int
    on_the_way: int
    stuck: int
    oldest_waiting_pull: datetime | None


async def backlog(session: AsyncSession, now: datetime, stuck_after: timedelta) -> Backlog:
    """Split the undelivered deliveries: pull-mode ones not fetched yet, recent others, others past ``stuck_after``."""
    pull = _waiting_to_be_pulled()
    old = Delivery.created_at < now - stuck_after
    row = (await session.execute(
        select(
            func.count().filter(pull),
            func.count().filter(~pull, ~old),
            func.count().filter(~pull, old),
            func.min(Delivery.created_at).filter(pull),
        ).where(Delivery.state.in_(UNDELIVERED), Delivery.revoked_at.is_(None))
    )).one()
    return Backlog(int(row[0]), int(row[1]), int(row[2]), row[3])


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    """How many deliveries are in each state."""
    rows = (await session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))).all()
    counts = {state.value: 0 for state in DeliveryState}
    counts.update({state: int(n) for state, n in rows})
    return counts
