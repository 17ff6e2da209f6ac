"""The batched pull: an inbox page with its messages' bytes, long-polling, and acknowledgements several at once.

A DMS that pulls otherwise pays one HTTP request and one authentication per step per document
(list, fetch, ack). Here a page carries the bytes of its small messages, a read can wait for
the next arrival instead of polling, and one request acknowledges many status items. What each
item leaves behind is unchanged: a first retrieval and each acknowledgement are audited one by one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.dml import UpdateBase

from axis.context import AxisContext
from axis.exchange import mailbox
from axis.exchange.arrivals import Arrivals
from axis.exchange.errors import ExchangeError, InvalidRequest
from storage.archive_models import Blob, RetentionAssignment
from storage.audit import audit_details
from storage.db import reading
from storage.ids import is_id
from storage.models import AuditQueueEntry, Delivery, DeliveryMode, DeliveryState, Message, MessageKind, Payload
from storage.registry.cache import AgencyRef

#: A message larger than this is listed without its bytes: the DMS fetches it on its own (streamed).
BODY_MAX_BYTES = 1 << 20
#: The bytes one page carries at most; the items past it are listed without theirs.
PAGE_BODY_BUDGET = 8 << 20
#: The longest an inbox read may wait for an arrival.
MAX_WAIT_SECONDS = 60.0
#: How often a waiting read looks again at the database by itself. Arrivals through another process or
#: node are seen sooner by the process's one watcher (Arrivals.interval); this is the backstop.
RECHECK_SECONDS = 2.0
#: Acknowledgements or statuses in one request at most.
MAX_BATCH = 500


@dataclass
class PageBodies:
    """The bytes of a page's messages by id; those left out (too large, over the budget, disposed) are fetched alone."""

    bodies: dict[str, bytes] = field(default_factory=dict)


_CALLER = bindparam("the_caller", type_=Integer)
# For each listed message: the caller's delivery, whether a disposal destroyed the payload, and
# an inline payload's bytes. The inner join on the caller's own delivery is the authorization.
_BODIES = (
    select(Message.id, Message.sha256, Delivery.id, Delivery.state, Delivery.mode, RetentionAssignment.disposed_at,
           Blob.disposed_at, Payload.data)
    .select_from(Message)
    .join(Delivery, and_(Delivery.message_id == Message.id, Delivery.recipient_id == _CALLER))
    .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
    .outerjoin(Blob, Blob.sha256 == Message.sha256)
    .outerjoin(Payload, Payload.sha256 == Message.sha256)
    .where(Message.id.in_(bindparam("ids", expanding=True)))
)
# Guarded on the state, as a single fetch is: of two first reads at once, one records the retrieval.
_RETRIEVED_MANY = (
    update(Delivery.__table__)
    .where(Delivery.id.in_(bindparam("deliveries", expanding=True)), Delivery.state == DeliveryState.QUEUED.value)
    .values(state=DeliveryState.RETRIEVED.value, retrieved_at=bindparam("now", type_=Delivery.retrieved_at.type))
    .returning(Delivery.id, Delivery.message_id)
)


# Every status item of the caller's among the ids, not yet taken off, in one statement.
_ACK_MANY = (
    update(Delivery.__table__)
    .where(
        Delivery.message_id.in_(bindparam("ids", expanding=True)),
        Delivery.recipient_id == _CALLER,
        Delivery.state != DeliveryState.DELIVERED.value,
        exists().where(Message.id == Delivery.message_id, Message.kind == MessageKind.STATUS.value),
    )
    .values(state=DeliveryState.DELIVERED.value, delivered_at=bindparam("now", type_=Delivery.delivered_at.type))
    .returning(Delivery.id, Delivery.message_id)
)


# The audit queue's entries of one batch in one statement (storage.audit.queue_event's, many rows at once).
_QUEUE_MANY = insert(AuditQueueEntry.__table__)


def _with_audit(change: UpdateBase) -> Select[tuple[int, str]]:
    """``change`` (an UPDATE of deliveries returning id and message id) and the audit entry of each row it
    changed, as one PostgreSQL statement: they commit together, in one round trip. ``details`` is what
    storage.audit.audit_details writes for ``{"delivery": id}``."""
    taken = change.cte("taken")
    queue = AuditQueueEntry.__table__
    queued = insert(queue).from_select(
        ["at", "actor", "action", "subject", "details"],
        select(bindparam("audit_at", type_=queue.c.at.type), bindparam("actor", type_=String),
               bindparam("action", type_=String), taken.c.message_id,
               literal('{"delivery":', String) + cast(taken.c.id, String) + literal("}", String)),
    ).cte("queued")
    return select(taken.c.id, taken.c.message_id).add_cte(queued)


#: Each change of deliveries with its audited form, run on PostgreSQL.
_RETRIEVED = (_RETRIEVED_MANY, _with_audit(_RETRIEVED_MANY))
_ACKNOWLEDGED = (_ACK_MANY, _with_audit(_ACK_MANY))


async def _take(ctx: AxisContext, caller: AgencyRef, change: tuple[UpdateBase, Select[tuple[int, str]]],
                params: dict[str, Any], action: str) -> Sequence[Row[Any]]:
    """Run ``change`` (the deliveries taken: id, message id) and queue an audit entry for each, atomically."""
    plain, audited = change
    now = ctx.clock()
    if ctx.engine.dialect.name == "postgresql":
        # A single statement is its own transaction: no BEGIN and COMMIT round trips either.
        async with ctx.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            return (await conn.execute(audited, {
                **params, "now": now, "audit_at": now.astimezone(UTC), "actor": caller.code, "action": action,
            })).all()
    async with ctx.engine.begin() as conn:
        rows = (await conn.execute(plain, {**params, "now": now})).all()
        if rows:
            await conn.execute(_QUEUE_MANY, [
                {"at": now.astimezone(UTC), "actor": caller.code, "action": action, "subject": message_id,
                 "details": audit_details({"delivery": delivery_id})}
                for delivery_id, message_id in rows
            ])
        return rows


async def page_bodies(ctx: AxisContext, caller: AgencyRef, items: Sequence[dict[str, Any]]) -> PageBodies:
    """The bytes of the page's small messages; a document's first read here marks it retrieved, as a fetch does."""
    chosen: list[str] = []
    budget = PAGE_BODY_BUDGET
    for item in items:
        if item["size"] <= BODY_MAX_BYTES and item["size"] <= budget:
            chosen.append(item["id"])
            budget -= item["size"]
    out = PageBodies()
    if not chosen:
        return out
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_BODIES, {"ids": chosen, "the_caller": caller.id})).all()
    first_reads: list[int] = []
    for message_id, sha256, delivery_id, state, mode, assignment_disposed, blob_disposed, data in rows:
        if assignment_disposed is not None or blob_disposed is not None:
            continue  # its own fetch answers with the disposal
        out.bodies[message_id] = data if data is not None else await ctx.payloads.read(sha256)
        if state == DeliveryState.QUEUED.value and mode == DeliveryMode.PULL.value:
            first_reads.append(delivery_id)
    if first_reads:
        await _take(ctx, caller, _RETRIEVED, {"deliveries": first_reads}, "delivery.retrieved")
    return out


def wait_seconds(value: str | None) -> float:
    """The ``wait`` of an inbox read: 0 when absent, capped at MAX_WAIT_SECONDS."""
    if value is None or value == "":
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidRequest("wait must be a number of seconds", field="wait") from None
    if not 0 <= seconds < float("inf"):
        raise InvalidRequest("wait must be a number of seconds, 0 or more", field="wait")
    return min(seconds, MAX_WAIT_SECONDS)


async def wait_for_inbox(ctx: AxisContext, caller: AgencyRef, arrivals: Arrivals, wait: float, *,
                         kind: str | None = None, limit: int = 100, cursor: str | None = None) -> mailbox.InboxPage:
    """An inbox page; an empty one is read again at each arrival for ``caller`` until ``wait`` seconds passed."""
    deadline = time.monotonic() + wait
    # Watching before the first read: an arrival between the read and the wait is not missed.
    with arrivals.watch(caller.code, caller.id, lambda ids: waiting_heads(ctx, ids)) as arrived:
        while True:
            page = await mailbox.inbox(ctx, caller, kind=kind, limit=limit, cursor=cursor)
            left = deadline - time.monotonic()
            if page.items or left <= 0:
                return page
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), timeout=min(left, RECHECK_SECONDS))
            except TimeoutError:
                pass  # look again: it may have arrived through another process


# Per agency with anything waiting: how many items and the newest one (an arrival changes one or both).
_HEADS = (
    select(Delivery.recipient_id, func.count(), func.max(Delivery.message_id))
    .where(
        Delivery.recipient_id.in_(bindparam("agencies", expanding=True)),
        Delivery.mode == DeliveryMode.PULL.value,
        Delivery.state.in_(mailbox.WAITING),
    )
    .group_by(Delivery.recipient_id)
)


async def waiting_heads(ctx: AxisContext, agency_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """For each of these agencies with anything in its inbox: (items waiting, the newest message id)."""
    async with reading(ctx.engine) as conn:
        rows = (await conn.execute(_HEADS, {"agencies": list(agency_ids)})).all()
    return {agency_id: (count, newest) for agency_id, count, newest in rows}


async def ack_many(ctx: AxisContext, caller: AgencyRef,
                   message_ids: Sequence[str]) -> list[dict[str, Any] | ExchangeError]:
    """Take status items off the caller's inbox: per id, in order, its new state or why not."""
    if not 1 <= len(message_ids) <= MAX_BATCH:
        raise InvalidRequest(f"give between 1 and {MAX_BATCH} ids", field="ids")
    valid = list(dict.fromkeys(i for i in message_ids if is_id(i)))
    acked: set[str] = set()
    if valid:
        rows = await _take(ctx, caller, _ACKNOWLEDGED, {"ids": valid, "the_caller": caller.id}, "delivery.acknowledged")
        acked.update(message_id for _, message_id in rows)
    out: list[dict[str, Any] | ExchangeError] = []
    for message_id in message_ids:
        if message_id in acked:
            out.append({"id": message_id, "state": DeliveryState.DELIVERED.value})
            continue
        # The rare case: the single acknowledgement says why (not found, a document, already taken off).
        try:
            out.append(await mailbox.ack(ctx, caller, message_id))
        except ExchangeError as exc:
            out.append(exc)
    return out
