"""Statutory registers of incoming and outgoing documents (Decree 30/2020, Appendix IV), per agency and year.

Numbers run 1, 2, 3 ... per agency, direction and calendar year (Vietnam time), in arrival
order. An outgoing entry is made when the axis accepts the document, an incoming (arrival)
entry when the recipient's signed status 01 is recorded, each inside that transaction; the
entry gets its number moments later from :func:`number_pending`, which the sealer runs with
the audit chain under one lock (see storage.audit) and every register read runs first. So no
submission waits on another sender's numbering, and numbers stay consecutive and unique with
several axis processes; the unique constraint backs that up.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from axis.archive.calendar import vn_date
from storage.archive_models import RegisterEntry, RetentionAssignment
from storage.models import Agency, Delivery, Message

#: Directions as stored, and as named in commands and URLs.
INCOMING, OUTGOING = "in", "out"
DIRECTIONS = {"incoming": INCOMING, "outgoing": OUTGOING}

INCOMING_COLUMNS = ("arrival_date", "arrival_number", "author", "number_and_symbol", "date", "type_and_summary",
                    "receiving_unit", "notes", "document_id", "message_id")
OUTGOING_COLUMNS = ("number", "number_and_symbol", "date", "type_and_summary", "recipients", "copies",
                    "sent_date", "notes", "document_id", "message_id")
BUSINESS_NOTES = {1: "Thu hồi văn bản", 2: "Cập nhật văn bản", 3: "Thay thế văn bản"}


async def _register(session: AsyncSession, agency_id: int, direction: str, message_id: str, at: datetime) -> bool:
    if (await session.execute(select(RegisterEntry.id).where(
            RegisterEntry.agency_id == agency_id, RegisterEntry.direction == direction,
            RegisterEntry.message_id == message_id))).scalar() is not None:
        return False  # a repeated 01 does not take a second arrival number
    await session.execute(insert(RegisterEntry).values(**_entry(agency_id, direction, message_id, at)))
    return True


def _entry(agency_id: int, direction: str, message_id: str, at: datetime) -> dict[str, Any]:
    # Numbered later, by the sealer (number_pending).
    return {"agency_id": agency_id, "direction": direction, "year": vn_date(at).year, "number": None,
            "message_id": message_id, "registered_at": at}


def incoming_entry(recipient_id: int, message_id: str, at: datetime) -> dict[str, Any]:
    """The row of a document's entry in its recipient's register of incoming documents, for the signed 01."""
    return _entry(recipient_id, INCOMING, message_id, at)


async def number_pending(session: AsyncSession) -> int:
    """Give every entry still waiting for its number the next one of its register, in arrival order.

    The caller holds the chain lock (storage.audit.lock_chain; sealing.seal_pending takes it), so
    with several axis processes numbers stay consecutive and unique; the unique constraint backs that up.
    """
    pending = (await session.execute(
        select(RegisterEntry.id, RegisterEntry.agency_id, RegisterEntry.direction, RegisterEntry.year)
        .where(RegisterEntry.number.is_(None)).order_by(RegisterEntry.registered_at, RegisterEntry.id)
    )).all()
    last: dict[tuple[int, str, int], int] = {}
    updates = []
    for entry_id, agency_id, direction, year in pending:
        key = (agency_id, direction, year)
        if key not in last:
            last[key] = int((await session.execute(
                select(func.max(RegisterEntry.number)).where(
                    RegisterEntry.agency_id == agency_id, RegisterEntry.direction == direction,
                    RegisterEntry.year == year)
            )).scalar() or 0)
        last[key] += 1
        updates.append({"entry_id": entry_id, "new_number": last[key]})
    if updates:
        table = RegisterEntry.__table__
        await session.execute(
            update(table).where(table.c.id == bindparam("entry_id")).values(number=bindparam("new_number")),
            updates,
        )
    return len(updates)


async def register_incoming(session: AsyncSession, recipient_id: int, message_id: str, *, now: datetime) -> bool:
    """Enter a document in its recipient's register of incoming documents when the signed 01 is recorded."""
    return await _register(session, recipient_id, INCOMING, message_id, now)


def _day(value: datetime | None) -> str:
    return vn_date(value).isoformat() if value else ""


def _type_and_summary(message: Message) -> str:
    return f"{message.type_name}: {message.subject}" if message.type_name else message.subject


async def register_rows(session: AsyncSession, agency_code: str, direction: str, year: int) -> list[dict[str, Any]]:
    """The register of ``incoming`` or ``outgoing`` documents of one agency for one year, by number."""
    stored = DIRECTIONS.get(direction, direction)
    if stored not in (INCOMING, OUTGOING):
        raise ValueError("direction must be incoming or outgoing")
    # Entries of the last moments may still wait for their number (callers seal first, see sealing.seal_now).
    agency = (await session.execute(select(Agency).where(Agency.code == agency_code))).scalar_one_or_none()
    if agency is None:
        return []
    original = aliased(Message)
    author = aliased(Agency)
    rows = (await session.execute(
        select(RegisterEntry, Message, author.name, author.code, original.document_id,
               RetentionAssignment.disposed_at, RetentionAssignment.disposal_id)
        .join(Message, Message.id == RegisterEntry.message_id)
        .join(author, author.id == Message.sender_id)
        .outerjoin(original, original.id == Message.response_for_id)
        .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
        .where(RegisterEntry.agency_id == agency.id, RegisterEntry.direction == stored, RegisterEntry.year == year,
               RegisterEntry.number.is_not(None))
        .order_by(RegisterEntry.number)
    )).all()
    ids = [r[1].id for r in rows]
    deliveries: dict[str, list[tuple[Delivery, str, str]]] = defaultdict(list)
    for start in range(0, len(ids), 1000):
        for d, code, name in (await session.execute(
            select(Delivery, Agency.code, Agency.name).join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id.in_(ids[start:start + 1000])).order_by(Delivery.id)
        )).all():
            deliveries[d.message_id].append((d, code, name))

    out: list[dict[str, Any]] = []
    for entry, m, author_name, author_code, original_id, disposed_at, disposal_id in rows:
        notes: list[str] = []
        if m.business_type in BUSINESS_NOTES:
            notes.append(f"{BUSINESS_NOTES[m.business_type]} {original_id or ''}".strip())
        if stored == INCOMING:
            own = next((d for d, _, _ in deliveries[m.id] if d.recipient_id == agency.id), None)
            if own is not None and own.revoked_at is not None:
                notes.append(f"Đã thu hồi {_day(own.revoked_at)} (revoked)")
        else:
            if m.revoked_at is not None:
                notes.append(f"Đã lấy lại {_day(m.revoked_at)} (taken back)")
            revoked = [code for d, code, _ in deliveries[m.id] if d.revoked_at is not None]
            if revoked:
                notes.append(f"Thu hồi tại {', '.join(revoked)} (revoked)")
        if disposed_at is not None:
            notes.append(f"Đã hủy {_day(disposed_at)} theo danh sách {disposal_id} (disposed)")
        common = {
            "number_and_symbol": f"{m.code_number}/{m.code_notation}" if m.code_number else m.code_notation,
            "date": m.promulgation_date or "",
            "type_and_summary": _type_and_summary(m),
            "notes": "; ".join(notes),
            "document_id": m.document_id,
            "message_id": m.id,
        }
        if stored == INCOMING:
            row = {"arrival_date": _day(entry.registered_at), "arrival_number": entry.number,
                   "author": f"{author_name} ({author_code})",
                   "receiving_unit": agency.name, **common}
            out.append({k: row[k] for k in INCOMING_COLUMNS})
        else:
            recipients = deliveries[m.id]
            row = {"number": entry.number, "recipients": "; ".join(f"{name} ({code})" for _, code, name in recipients),
                   "copies": len(recipients), "sent_date": _day(entry.registered_at), **common}
            out.append({k: row[k] for k in OUTGOING_COLUMNS})
    return out


def register_columns(direction: str) -> tuple[str, ...]:
    """The columns of a register, in order (also the CSV header)."""
    return INCOMING_COLUMNS if DIRECTIONS.get(direction, direction) == INCOMING else OUTGOING_COLUMNS
