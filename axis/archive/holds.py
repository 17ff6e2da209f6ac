"""Legal holds: placed on documents or on a saved search; a held document is never disposed of while it lasts."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from axis.archive.archivists import archivist, is_archivist
from axis.archive.errors import DisposalRefused, RetentionConfigError, UnknownRecord
from envelope.text import nfc
from storage.archive_models import LegalHold, LegalHoldItem
from storage.audit import append_event
from storage.batches import chunks
from storage.models import Agency, Delivery, Message, MessageKind

#: Keys of a saved search that a hold may be placed on (all optional, combined with AND).
SEARCH_KEYS = {
    "sender": "agency code of the sender",
    "recipient": "agency code of a recipient",
    "type": "symbol abbreviation (QĐ) or type name (Công văn)",
    "text": "words in the subject or the number and symbol",
    "document_id": "the edXML DocumentId",
    "date_from": "document date on or after (YYYY-MM-DD)",
    "date_to": "document date on or before (YYYY-MM-DD)",
}


def check_search(search: Mapping[str, Any]) -> dict[str, str]:
    """Validate a saved search; return it with string values."""
    if not search:
        raise RetentionConfigError("a saved search needs at least one criterion")
    unknown = set(search) - set(SEARCH_KEYS)
    if unknown:
        raise RetentionConfigError(f"unknown search keys {', '.join(sorted(unknown))}; "
                                   f"known: {', '.join(SEARCH_KEYS)}")
    out = {k: nfc(str(v).strip()) for k, v in search.items()}
    for key in ("date_from", "date_to"):
        if key in out:
            try:
                date.fromisoformat(out[key])
            except ValueError:
                raise RetentionConfigError(f"{key} must be YYYY-MM-DD") from None
    return out


def search_condition(search: Mapping[str, str]) -> ColumnElement[bool]:
    """The SQL condition on Message that a saved search stands for."""
    sender, recipient = aliased(Agency), aliased(Agency)
    terms: list[ColumnElement[bool]] = [Message.kind == MessageKind.EDOC.value]
    if "sender" in search:
        terms.append(exists().where(sender.id == Message.sender_id, sender.code == search["sender"]))
    if "recipient" in search:
        terms.append(exists().where(Delivery.message_id == Message.id, Delivery.recipient_id == recipient.id,
                                    recipient.code == search["recipient"]))
    if "type" in search:
        terms.append((Message.type_abbreviation == search["type"]) | (Message.type_name == search["type"]))
    if "text" in search:
        pattern = f"%{search['text']}%"
        terms.append(Message.subject.ilike(pattern) | Message.code_notation.ilike(pattern)
                     | Message.code_number.ilike(pattern))
    if "document_id" in search:
        terms.append(Message.document_id == search["document_id"])
    if "date_from" in search:
        terms.append(Message.promulgation_date >= search["date_from"])
    if "date_to" in search:
        terms.append(Message.promulgation_date <= search["date_to"])
    return and_(*terms)


async def place_hold(
    session: AsyncSession,
    *,
    name: str,
    authority: str,
    reason: str,
    by: str,
    now: datetime,
    message_ids: Collection[str] = (),
    search: Mapping[str, Any] | None = None,
) -> LegalHold:
    """Place a legal hold on documents, on a saved search (matching now and later), or both."""
    user = await archivist(session, by)
    if not name.strip() or not authority.strip() or not reason.strip():
        raise RetentionConfigError("a hold needs a name, an authority and a reason")
    if not message_ids and not search:
        raise RetentionConfigError("a hold is placed on documents or on a saved search")
    ids = sorted(set(message_ids))
    for chunk in chunks(ids):
        found = set((await session.execute(
            select(Message.id).where(Message.id.in_(chunk), Message.kind == MessageKind.EDOC.value)
        )).scalars())
        if missing := [i for i in chunk if i not in found]:
            raise UnknownRecord(f"no archived document {', '.join(missing[:5])}",
                                    ("err.no_archived_document", {"ids": ", ".join(missing[:5])}))
    query = json.dumps(check_search(search), ensure_ascii=False, sort_keys=True) if search else None
    hold = LegalHold(name=name.strip(), authority=authority.strip(), reason=reason.strip(), query=query,
                     created_by=user.login, created_at=now)
    session.add(hold)
    await session.flush()
    session.add_all(LegalHoldItem(hold_id=hold.id, message_id=i) for i in ids)
    await session.flush()
    await append_event(session, actor=user.login, action="hold.placed", subject=str(hold.id), at=now, details={
        "name": hold.name, "authority": hold.authority, "reason": hold.reason, "documents": ids[:200],
        "document_count": len(ids), "search": json.loads(query) if query else None,
    })
    return hold


@dataclass(frozen=True)
class ReleaseStep:
    """What a call to :func:`release_hold` did: asked for the release, or (a second archivist) released it."""

    hold: LegalHold
    released: bool


async def release_hold(session: AsyncSession, hold_id: int, *, by: str, now: datetime) -> ReleaseStep:
    """Ask for a hold's release, or confirm another archivist's request and lift it (two people, like disposal).

    The first archivist's call records the request; the hold stays in force until a second, different
    active archivist confirms. A request by someone who is no longer an active archivist no longer
    counts: the next call is a fresh request.
    """
    user = await archivist(session, by)
    hold = await session.get(LegalHold, hold_id)
    if hold is None:
        raise UnknownRecord(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise DisposalRefused(f"hold {hold_id} was already released")
    requester = hold.release_requested_by
    if requester is not None and not await is_archivist(session, requester):
        requester = None
    if requester is None:
        hold.release_requested_by, hold.release_requested_at = user.login, now
        await session.flush()
        await append_event(session, actor=user.login, action="hold.release_requested", subject=str(hold.id), at=now,
                           details={"name": hold.name})
        return ReleaseStep(hold, released=False)
    if requester == user.login:
        raise DisposalRefused(f"{user.login} asked for the release of hold {hold_id}; "
                              "a second, different archivist must confirm it")
    hold.released_by, hold.released_at = user.login, now
    await session.flush()
    await append_event(session, actor=user.login, action="hold.released", subject=str(hold.id), at=now,
                       details={"name": hold.name, "requested_by": requester,
                                "requested_at": hold.release_requested_at.isoformat()
                                if hold.release_requested_at else None})
    return ReleaseStep(hold, released=True)


async def list_holds(session: AsyncSession, *, include_released: bool = False) -> list[tuple[LegalHold, int]]:
    """Holds (active ones unless asked) with how many documents were placed on them one by one."""
    count = (select(LegalHoldItem.hold_id, func.count().label("n")).group_by(LegalHoldItem.hold_id).subquery())
    query = select(LegalHold, func.coalesce(count.c.n, 0)).outerjoin(count, count.c.hold_id == LegalHold.id)
    if not include_released:
        query = query.where(LegalHold.released_at.is_(None))
    return [(h, int(n)) for h, n in (await session.execute(query.order_by(LegalHold.id))).all()]


async def holds_on(session: AsyncSession, message_ids: Collection[str]) -> dict[str, list[str]]:
    """For each given document under an active hold, the names of its holds."""
    ids = sorted(set(message_ids))
    held: dict[str, list[str]] = defaultdict(list)
    searches = (await session.execute(
        select(LegalHold).where(LegalHold.released_at.is_(None), LegalHold.query.is_not(None))
    )).scalars().all()
    for chunk in chunks(ids):
        for message_id, hold_name in (await session.execute(
            select(LegalHoldItem.message_id, LegalHold.name)
            .join(LegalHold, LegalHold.id == LegalHoldItem.hold_id)
            .where(LegalHold.released_at.is_(None), LegalHoldItem.message_id.in_(chunk))
        )).all():
            held[message_id].append(hold_name)
        for hold in searches:
            condition = search_condition(json.loads(hold.query or "{}"))
            for message_id in (await session.execute(
                select(Message.id).where(Message.id.in_(chunk), condition)
            )).scalars():
                if hold.name not in held[message_id]:
                    held[message_id].append(hold.name)
    return dict(held)
