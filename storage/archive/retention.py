"""Retention: schedules (config/retention.toml), one assignment per document, due dates, legal holds, disposal.

The only way a payload leaves the archive is :func:`execute_disposal`: a disposal list of due
documents under a ``destroy`` schedule, approved by two different archivists, re-checked for
legal holds at execution, whose payload blobs are deleted while the residual metadata (ids,
parties, digests, dates, schedule) stays and a destruction certificate signed by the axis key
is stored permanently.
"""

from __future__ import annotations

import asyncio
import functools
import json
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from signing.keys import Certificate, PrivateKey
from storage.archive.calendar import add_years, vn_date
from storage.archive.certificates import (
    CertifiedApproval,
    CertifiedItem,
    CertifiedSchedule,
    DestructionCertificate,
    sign_certificate,
)
from storage.archive.errors import (
    DisposalRefused,
    NotAnArchivist,
    PayloadDisposed,
    RetentionConfigError,
    UnknownRecord,
)
from storage.archive.ledger import record_blob
from storage.archive.models import (
    Blob,
    Disposal,
    DisposalApproval,
    DisposalItem,
    LegalHold,
    LegalHoldItem,
    RetentionAssignment,
)
from storage.archive.upsert import upsert
from storage.audit import append_event
from storage.blobs import BlobStore
from storage.models import Agency, Delivery, Message, MessageKind, StatusEvent, User

#: The retention schedules shipped with the project.
DEFAULT_RETENTION_FILE = Path(__file__).resolve().parents[2] / "config" / "retention.toml"

TRIGGERS = ("document_date", "received", "handling_completed")
ACTIONS = ("destroy", "transfer", "review")
ARCHIVIST_ROLE = "archivist"
#: The status code whose first arrival starts a ``handling_completed`` period.
HANDLING_COMPLETED = "06"
# Bound on ids in one IN (...) list: well under SQLite's and asyncpg's parameter limits.
_CHUNK = 1000
# Disposal lists that still await approval or execution.
OPEN = "proposed"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


# --- schedules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A retention schedule: how long documents of some types are kept, from when, and what happens then."""

    code: str
    title: str
    legal_basis: str
    #: Years to keep; None means permanent.
    period_years: int | None
    trigger: str
    action: str
    types: tuple[str, ...] = ()

    @property
    def permanent(self) -> bool:
        """True when documents under this schedule are never due."""
        return self.period_years is None

    @property
    def period_label(self) -> str:
        """``permanent`` or the number of years."""
        return "permanent" if self.period_years is None else str(self.period_years)

    def due_date(self, trigger_date: date | None) -> date | None:
        """When a document falls due, given the date of its trigger (None while the trigger has not happened)."""
        if self.period_years is None or trigger_date is None:
            return None
        return add_years(trigger_date, self.period_years)

    def certified(self) -> CertifiedSchedule:
        """The schedule as written into a destruction certificate."""
        return CertifiedSchedule(self.code, self.title, self.legal_basis, self.period_label, self.trigger,
                                 self.action)


@dataclass(frozen=True)
class Schedules:
    """All schedules by code, which document type falls under which, and the default."""

    by_code: Mapping[str, Schedule]
    default_code: str
    by_type: Mapping[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Schedule]:
        return iter(self.by_code.values())

    def get(self, code: str) -> Schedule:
        """The schedule with this code (RetentionConfigError if the configuration no longer has it)."""
        try:
            return self.by_code[code]
        except KeyError:
            raise RetentionConfigError(f"schedule {code} is assigned to documents but missing from the "
                                       "retention configuration") from None

    def for_type(self, abbreviation: str, type_name: str = "") -> Schedule:
        """The one schedule of a document type, by symbol abbreviation or by name; else the default."""
        for key in (abbreviation, type_name):
            code = self.by_type.get(_nfc(key)) if key else None
            if code is not None:
                return self.by_code[code]
        return self.by_code[self.default_code]


def parse_schedules(data: Mapping[str, Any], source: str = "retention configuration") -> Schedules:
    """Check and read the ``default`` and ``[[schedules]]`` of a retention configuration."""
    raw = data.get("schedules")
    if not isinstance(raw, list) or not raw:
        raise RetentionConfigError(f"{source}: no [[schedules]]")
    by_code: dict[str, Schedule] = {}
    by_type: dict[str, str] = {}
    for n, entry in enumerate(raw, 1):
        where = f"{source}: schedule {n}"
        if not isinstance(entry, dict):
            raise RetentionConfigError(f"{where} is not a table")
        unknown = set(entry) - {"code", "title", "legal_basis", "period", "trigger", "action", "types"}
        if unknown:
            raise RetentionConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        try:
            code, title, basis = str(entry["code"]).strip(), str(entry["title"]), str(entry["legal_basis"])
            period, trigger, action = entry["period"], str(entry["trigger"]), str(entry["action"])
        except KeyError as exc:
            raise RetentionConfigError(f"{where}: missing {exc.args[0]}") from None
        if not code or len(code) > 32:
            raise RetentionConfigError(f"{where}: code must be 1-32 characters")
        if code in by_code:
            raise RetentionConfigError(f"{where}: code {code} is used twice")
        if period == "permanent":
            years = None
        elif isinstance(period, int) and not isinstance(period, bool) and period > 0:
            years = period
        else:
            raise RetentionConfigError(f"{where} ({code}): period must be a whole number of years or \"permanent\"")
        if trigger not in TRIGGERS:
            raise RetentionConfigError(f"{where} ({code}): trigger must be one of {', '.join(TRIGGERS)}")
        if action not in ACTIONS:
            raise RetentionConfigError(f"{where} ({code}): action must be one of {', '.join(ACTIONS)}")
        if years is None and action == "destroy":
            raise RetentionConfigError(f"{where} ({code}): a permanent schedule cannot destroy")
        types = tuple(_nfc(str(t)) for t in entry.get("types", []))
        for t in types:
            if t in by_type:
                # "Exactly one schedule" per document: a type may appear in one schedule only.
                raise RetentionConfigError(f"{where} ({code}): type {t!r} is already under {by_type[t]}")
            by_type[t] = code
        by_code[code] = Schedule(code, title, basis, years, trigger, action, types)
    default = str(data.get("default", "")).strip()
    if default not in by_code:
        raise RetentionConfigError(f"{source}: default {default!r} is not one of the schedules")
    return Schedules(by_code, default, by_type)


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int, _size: int) -> Schedules:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RetentionConfigError(f"cannot read {path}: {exc}") from None
    return parse_schedules(data, path)


def load_schedules(path: Path | None = None) -> Schedules:
    """Read the retention schedules (cached until the file changes)."""
    target = Path(path or DEFAULT_RETENTION_FILE)
    try:
        st = target.stat()
    except OSError as exc:
        raise RetentionConfigError(f"cannot read {target}: {exc}") from None
    return _load(str(target.resolve()), st.st_mtime_ns, st.st_size)


# --- assignment and due dates --------------------------------------------------------------------


def _trigger_date(schedule: Schedule, message: Message) -> date | None:
    if schedule.trigger == "document_date" and message.promulgation_date:
        try:
            return date.fromisoformat(message.promulgation_date)
        except ValueError:
            pass  # a malformed date never passed the parser; fall back to arrival all the same
    if schedule.trigger in ("document_date", "received"):
        return vn_date(message.received_at)
    return None  # a later event (handling_completed): set by compute_due_dates when it happens


def retention_row(message: Message, schedules: Schedules, *, now: datetime) -> dict[str, Any] | None:
    """The retention assignment of a document (None for a status): its schedule and due date."""
    if message.kind != MessageKind.EDOC.value:
        return None
    schedule = schedules.for_type(message.type_abbreviation, message.type_name)
    return {"message_id": message.id, "schedule_code": schedule.code,
            "due_date": schedule.due_date(_trigger_date(schedule, message)), "assigned_at": now}


async def assign_retention(session: AsyncSession, message: Message, schedules: Schedules, *, now: datetime) -> None:
    """Give an archived document its one schedule and due date (a document that has one keeps it)."""
    row = retention_row(message, schedules, now=now)
    if row is not None:
        await upsert(session, RetentionAssignment, [row], keys=["message_id"])


@dataclass(frozen=True)
class DueDateRun:
    """What one due-date computation did."""

    assigned: int
    triggered: int


async def compute_due_dates(session: AsyncSession, schedules: Schedules, *, now: datetime,
                            batch: int = 500) -> DueDateRun:
    """Assign schedules to documents that lack one, and set due dates whose trigger event has happened."""
    assigned = 0
    while True:
        missing = (await session.execute(
            select(Message)
            .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
            .where(Message.kind == MessageKind.EDOC.value, RetentionAssignment.message_id.is_(None))
            .limit(batch)
        )).scalars().all()
        if not missing:
            break
        for message in missing:
            await assign_retention(session, message, schedules, now=now)
        assigned += len(missing)
    event_codes = [s.code for s in schedules if s.trigger == "handling_completed" and not s.permanent]
    triggered = 0
    if event_codes:
        # Start from the documents still waiting for their event (few), not from every status.
        waiting = {a.message_id: a for a in (await session.execute(
            select(RetentionAssignment).where(
                RetentionAssignment.due_date.is_(None), RetentionAssignment.disposed_at.is_(None),
                RetentionAssignment.schedule_code.in_(event_codes))
        )).scalars()}
        for chunk in _chunks(sorted(waiting)):
            for message_id, at in (await session.execute(
                select(StatusEvent.document_message_id, func.min(StatusEvent.received_at))
                .where(StatusEvent.document_message_id.in_(chunk), StatusEvent.status_code == HANDLING_COMPLETED)
                .group_by(StatusEvent.document_message_id)
            )).all():
                assignment = waiting[message_id]
                assignment.due_date = schedules.get(assignment.schedule_code).due_date(vn_date(at))
                triggered += 1
        await session.flush()
    return DueDateRun(assigned, triggered)


@dataclass(frozen=True)
class RetentionInfo:
    """A document's schedule and due date, as shown to archivists."""

    message_id: str
    schedule: Schedule
    due_date: date | None
    disposed_at: datetime | None
    disposal_id: int | None
    holds: tuple[str, ...]


async def retention_of(session: AsyncSession, message_id: str, schedules: Schedules) -> RetentionInfo:
    """The schedule, due date, disposal and holds of one archived document."""
    assignment = await session.get(RetentionAssignment, message_id)
    if assignment is None:
        raise UnknownRecord(f"no archived document {message_id} (statuses have no schedule of their own)")
    holds = await holds_on(session, [message_id])
    return RetentionInfo(message_id, schedules.get(assignment.schedule_code), assignment.due_date,
                         assignment.disposed_at, assignment.disposal_id, tuple(holds.get(message_id, ())))


# --- users ---------------------------------------------------------------------------------------


async def archivist(session: AsyncSession, login: str) -> User:
    """The active archivist with this login (NotAnArchivist otherwise)."""
    name = login.strip().lower()
    user = (await session.execute(select(User).where(User.login == name))).scalar_one_or_none()
    if user is None:
        raise NotAnArchivist(f"no user {name!r}")
    if not user.active:
        raise NotAnArchivist(f"user {name} is disabled")
    if user.role != ARCHIVIST_ROLE:
        raise NotAnArchivist(f"user {name} is a {user.role}, not an archivist")
    return user


# --- legal holds ---------------------------------------------------------------------------------

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
    out = {k: _nfc(str(v)) for k, v in search.items()}
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
    for chunk in _chunks(ids):
        found = set((await session.execute(
            select(Message.id).where(Message.id.in_(chunk), Message.kind == MessageKind.EDOC.value)
        )).scalars())
        if missing := [i for i in chunk if i not in found]:
            raise UnknownRecord(f"no archived document {', '.join(missing[:5])}")
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


async def release_hold(session: AsyncSession, hold_id: int, *, by: str, now: datetime) -> LegalHold:
    """Lift a legal hold; its documents may be disposed of again when due."""
    user = await archivist(session, by)
    hold = await session.get(LegalHold, hold_id)
    if hold is None:
        raise UnknownRecord(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise DisposalRefused(f"hold {hold_id} was already released")
    hold.released_by, hold.released_at = user.login, now
    await session.flush()
    await append_event(session, actor=user.login, action="hold.released", subject=str(hold.id), at=now,
                       details={"name": hold.name})
    return hold


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
    for chunk in _chunks(ids):
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


# --- what is due ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    """An archived document whose retention period has run out."""

    message_id: str
    document_id: str
    sender: str
    subject: str
    schedule_code: str
    action: str
    due_date: date
    holds: tuple[str, ...]
    #: The open disposal list it is already on, if any.
    disposal_id: int | None


async def due_items(session: AsyncSession, schedules: Schedules, *, today: date) -> list[DueItem]:
    """Documents due on or before ``today`` and not yet disposed of, with their holds and open list."""
    open_item = (
        select(DisposalItem.message_id, func.max(DisposalItem.disposal_id).label("disposal_id"))
        .join(Disposal, Disposal.id == DisposalItem.disposal_id)
        .where(Disposal.state == OPEN)
        .group_by(DisposalItem.message_id)
        .subquery()
    )
    rows = (await session.execute(
        select(RetentionAssignment, Message.document_id, Message.subject, Agency.code, open_item.c.disposal_id)
        .join(Message, Message.id == RetentionAssignment.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .outerjoin(open_item, open_item.c.message_id == RetentionAssignment.message_id)
        .where(RetentionAssignment.disposed_at.is_(None), RetentionAssignment.due_date <= today)
        .order_by(RetentionAssignment.due_date, RetentionAssignment.message_id)
    )).all()
    holds = await holds_on(session, [r[0].message_id for r in rows])
    return [
        DueItem(a.message_id, document_id, code, subject, a.schedule_code, schedules.get(a.schedule_code).action,
                a.due_date, tuple(holds.get(a.message_id, ())), disposal_id)  # type: ignore[arg-type]
        for a, document_id, subject, code, disposal_id in rows
    ]


# --- disposal lists ------------------------------------------------------------------------------


async def propose_disposal(
    session: AsyncSession, schedules: Schedules, *, by: str, today: date, now: datetime
) -> Disposal | None:
    """Put every due, unheld document under a destroy schedule on a new disposal list (None if there is none)."""
    user = await archivist(session, by)
    candidates = [i for i in await due_items(session, schedules, today=today)
                  if i.action == "destroy" and not i.holds and i.disposal_id is None]
    if not candidates:
        return None
    disposal = Disposal(state=OPEN, proposed_by=user.login, proposed_at=now)
    session.add(disposal)
    await session.flush()
    session.add_all(DisposalItem(disposal_id=disposal.id, message_id=i.message_id) for i in candidates)
    await session.flush()
    await append_event(session, actor=user.login, action="disposal.proposed", subject=str(disposal.id), at=now,
                       details={"documents": len(candidates), "as_of": today.isoformat()})
    return disposal


async def approve_disposal(session: AsyncSession, disposal_id: int, *, by: str, now: datetime) -> int:
    """Record an archivist's approval of a proposed list; return how many different archivists approved it."""
    user = await archivist(session, by)
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.state != OPEN:
        raise DisposalRefused(f"disposal list {disposal_id} is {disposal.state}, not awaiting approval")
    already = (await session.execute(select(DisposalApproval.id).where(
        DisposalApproval.disposal_id == disposal_id, DisposalApproval.user_id == user.id))).scalar()
    if already is not None:
        raise DisposalRefused(f"{user.login} has already approved disposal list {disposal_id}; "
                              "a second, different archivist must approve it")
    session.add(DisposalApproval(disposal_id=disposal_id, user_id=user.id, approved_at=now))
    await session.flush()
    count = len(await _valid_approvals(session, disposal_id))
    await append_event(session, actor=user.login, action="disposal.approved", subject=str(disposal_id), at=now,
                       details={"approvals": count})
    return count


async def _valid_approvals(session: AsyncSession, disposal_id: int) -> list[CertifiedApproval]:
    """Approvals by users who are still active archivists, one per person."""
    rows = (await session.execute(
        select(User.login, Agency.code, DisposalApproval.approved_at)
        .join(User, User.id == DisposalApproval.user_id)
        .join(Agency, Agency.id == User.agency_id)
        .where(DisposalApproval.disposal_id == disposal_id, User.active.is_(True), User.role == ARCHIVIST_ROLE)
        .order_by(DisposalApproval.approved_at, DisposalApproval.id)
    )).all()
    return [CertifiedApproval(login, code, at) for login, code, at in rows]


@dataclass(frozen=True)
class DisposalView:
    """A disposal list as archivists see it."""

    id: int
    state: str
    proposed_by: str
    proposed_at: datetime
    executed_at: datetime | None
    certificate_sha256: str | None
    approvals: tuple[CertifiedApproval, ...]
    #: (message id, document id, sender code, schedule, due date, outcome) per item.
    items: tuple[tuple[str, str, str, str, date | None, str | None], ...]


async def disposal_view(session: AsyncSession, disposal_id: int) -> DisposalView:
    """One disposal list with its approvals and items."""
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    items = (await session.execute(
        select(DisposalItem.message_id, Message.document_id, Agency.code, RetentionAssignment.schedule_code,
               RetentionAssignment.due_date, DisposalItem.outcome)
        .join(Message, Message.id == DisposalItem.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .join(RetentionAssignment, RetentionAssignment.message_id == DisposalItem.message_id)
        .where(DisposalItem.disposal_id == disposal_id)
        .order_by(DisposalItem.message_id)
    )).all()
    return DisposalView(disposal.id, disposal.state, disposal.proposed_by, disposal.proposed_at,
                        disposal.executed_at, disposal.certificate_sha256,
                        tuple(await _valid_approvals(session, disposal_id)), tuple(tuple(r) for r in items))


async def list_disposals(session: AsyncSession) -> list[tuple[Disposal, int, int]]:
    """Every disposal list, newest first, with its item and approval counts."""
    items = select(DisposalItem.disposal_id, func.count().label("n")).group_by(DisposalItem.disposal_id).subquery()
    approvals = (select(DisposalApproval.disposal_id, func.count().label("n"))
                 .group_by(DisposalApproval.disposal_id).subquery())
    rows = (await session.execute(
        select(Disposal, func.coalesce(items.c.n, 0), func.coalesce(approvals.c.n, 0))
        .outerjoin(items, items.c.disposal_id == Disposal.id)
        .outerjoin(approvals, approvals.c.disposal_id == Disposal.id)
        .order_by(Disposal.id.desc())
    )).all()
    return [(d, int(n), int(a)) for d, n, a in rows]


@dataclass
class DisposalResult:
    """What executing a disposal list did."""

    disposal_id: int
    state: str
    destroyed: list[str] = field(default_factory=list)
    #: Items left alone at execution, and why (held, not_due, already_disposed, not_destroy).
    refused: dict[str, str] = field(default_factory=dict)
    certificate_sha256: str | None = None
    certificate: bytes | None = None
    purged_blobs: int = 0


async def execute_disposal(
    sessions: async_sessionmaker[AsyncSession],
    store: BlobStore,
    disposal_id: int,
    schedules: Schedules,
    *,
    key: PrivateKey,
    certificate: Certificate,
    now: datetime,
    actor: str = "axis",
) -> DisposalResult:
    """Execute an approved list: re-check holds, keep residual metadata, sign the certificate, delete payloads."""
    async with sessions() as session, session.begin():
        result, doomed = await _execute_in(session, store, disposal_id, schedules, key=key, certificate=certificate,
                                           now=now, actor=actor)
    # Files go only after the record of their destruction is committed: a crash in between
    # leaves payloads marked disposed but present, which purge_disposed_payloads finishes.
    result.purged_blobs = await asyncio.to_thread(_delete_blobs, store, doomed)
    return result


def _delete_blobs(store: BlobStore, digests: Collection[str]) -> int:
    return sum(1 for sha in digests if store.delete(sha))


async def _execute_in(
    session: AsyncSession, store: BlobStore, disposal_id: int, schedules: Schedules, *,
    key: PrivateKey, certificate: Certificate, now: datetime, actor: str,
) -> tuple[DisposalResult, list[str]]:
    query = select(Disposal).where(Disposal.id == disposal_id)
    if session.bind.dialect.name == "postgresql":
        # Two nodes executing the same list: the second waits, then sees it executed.
        query = query.with_for_update()
    disposal = (await session.execute(query)).scalar_one_or_none()
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.state != OPEN:
        raise DisposalRefused(f"disposal list {disposal_id} is {disposal.state}, not awaiting execution")
    approvals = await _valid_approvals(session, disposal_id)
    approvers = {a.login for a in approvals}
    if len(approvers) < 2:
        raise DisposalRefused(f"disposal list {disposal_id} needs approval by two different archivists; "
                              f"it has {len(approvers)}")

    today = vn_date(now)
    rows = (await session.execute(
        select(DisposalItem, RetentionAssignment, Message, Agency.code)
        .join(RetentionAssignment, RetentionAssignment.message_id == DisposalItem.message_id)
        .join(Message, Message.id == DisposalItem.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .where(DisposalItem.disposal_id == disposal_id)
        .order_by(DisposalItem.message_id)
    )).all()
    # Holds are checked again now: one may have been placed since the list was proposed.
    holds = await holds_on(session, [r[0].message_id for r in rows])
    result = DisposalResult(disposal_id, "executed")
    destroyed: list[tuple[RetentionAssignment, Message, str]] = []
    for item, assignment, message, sender in rows:
        if assignment.disposed_at is not None:
            item.outcome = "already_disposed"
        elif item.message_id in holds:
            item.outcome = "held"
        elif assignment.due_date is None or assignment.due_date > today:
            item.outcome = "not_due"
        elif schedules.get(assignment.schedule_code).action != "destroy":
            item.outcome = "not_destroy"
        else:
            item.outcome = "destroyed"
            destroyed.append((assignment, message, sender))
            result.destroyed.append(item.message_id)
            continue
        result.refused[item.message_id] = item.outcome

    disposal.executed_at = now
    if not destroyed:
        disposal.state = result.state = "void"
        await session.flush()
        await append_event(session, actor=actor, action="disposal.void", subject=str(disposal_id), at=now,
                           details={"refused": result.refused})
        return result, []

    recipients = await _recipients_of(session, [m.id for _, m, _ in destroyed])
    for assignment, _, _ in destroyed:
        assignment.disposed_at, assignment.disposal_id = now, disposal_id
    await session.flush()
    doomed = await _unshared_digests(session, sorted({m.sha256 for _, m, _ in destroyed}))
    for chunk in _chunks(doomed):
        for blob in (await session.execute(select(Blob).where(Blob.sha256.in_(chunk)))).scalars():
            blob.disposed_at = now
    used = sorted({a.schedule_code for a, _, _ in destroyed})
    cert = DestructionCertificate(
        disposal_id=disposal_id, executed_at=now, proposed_by=disposal.proposed_by, approvals=tuple(approvals),
        schedules=tuple(schedules.get(code).certified() for code in used),
        items=tuple(
            CertifiedItem(m.id, m.document_id, sender, tuple(recipients.get(m.id, ())), m.sha256, m.size,
                          m.received_at, m.promulgation_date or "", a.schedule_code, a.due_date)
            for a, m, sender in destroyed
        ),
    )
    signed = await asyncio.to_thread(sign_certificate, cert, key, certificate)
    # The certificate is a blob like any other: fixity-checked, and under no schedule, so kept for ever.
    cert_sha = await asyncio.to_thread(store.put, signed)
    await record_blob(session, cert_sha, len(signed), now)
    disposal.state, disposal.certificate_sha256 = "executed", cert_sha
    await session.flush()
    await append_event(session, actor=actor, action="disposal.executed", subject=str(disposal_id), at=now, details={
        "destroyed": len(destroyed), "refused": result.refused, "certificate_sha256": cert_sha,
        "approvers": sorted(approvers),
    })
    result.certificate_sha256, result.certificate = cert_sha, signed
    return result, doomed


async def _recipients_of(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for chunk in _chunks(list(message_ids)):
        for message_id, code in (await session.execute(
            select(Delivery.message_id, Agency.code).join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id.in_(chunk)).order_by(Delivery.id)
        )).all():
            out[message_id].append(code)
    return out


async def _unshared_digests(session: AsyncSession, digests: Sequence[str]) -> list[str]:
    """Digests no kept message still needs (identical bytes are stored once for every message holding them)."""
    kept: set[str] = set()
    for chunk in _chunks(list(digests)):
        kept.update((await session.execute(
            select(Message.sha256)
            .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
            .where(Message.sha256.in_(chunk), RetentionAssignment.disposed_at.is_(None))
        )).scalars())
    return [d for d in digests if d not in kept]


async def purge_disposed_payloads(session: AsyncSession, store: BlobStore) -> int:
    """Delete payload files still present although their disposal was committed (after a crash)."""
    digests = list((await session.execute(select(Blob.sha256).where(Blob.disposed_at.is_not(None)))).scalars())
    return await asyncio.to_thread(_delete_blobs, store, [d for d in digests if store.exists(d)])


async def certificate_of(session: AsyncSession, store: BlobStore, disposal_id: int) -> bytes:
    """The signed destruction certificate of an executed disposal list."""
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.certificate_sha256 is None:
        raise UnknownRecord(f"disposal list {disposal_id} is {disposal.state}: it has no certificate")
    return await asyncio.to_thread(store.read, disposal.certificate_sha256)


async def check_payload_kept(session: AsyncSession, message: Message) -> None:
    """Raise PayloadDisposed when the message's payload was destroyed by a disposal."""
    if (disposed := await disposal_of_message(session, message)) is not None:
        raise PayloadDisposed(message.id, *disposed)


async def disposal_of_message(session: AsyncSession, message: Message) -> tuple[datetime, int | None] | None:
    """(when, disposal list) if the message's payload was destroyed, else None."""
    assignment = await session.get(RetentionAssignment, message.id)
    if assignment is not None and assignment.disposed_at is not None:
        return assignment.disposed_at, assignment.disposal_id
    blob_disposed = (await session.execute(
        select(Blob.disposed_at).where(Blob.sha256 == message.sha256)
    )).scalar_one_or_none()
    return (blob_disposed, None) if blob_disposed is not None else None
