"""Retention schedules (config/retention.toml), each document's one assignment to a schedule, and due dates."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.calendar import add_years, vn_date
from axis.archive.destruction_certificates import CertifiedSchedule
from axis.archive.errors import RetentionConfigError, UnknownRecord
from axis.archive.holds import holds_on
from envelope.text import nfc
from storage.archive_models import RetentionAssignment
from storage.batches import chunks
from storage.models import Message, MessageKind, MessageRow, StatusEvent
from storage.upsert import upsert

#: The retention schedules shipped with the project.
DEFAULT_RETENTION_FILE = Path(__file__).resolve().parents[2] / "config" / "retention.toml"

TRIGGERS = ("document_date", "received", "handling_completed")
ACTIONS = ("destroy", "transfer", "review")
#: The status code whose first arrival starts a ``handling_completed`` period.
HANDLING_COMPLETED = "06"


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
    #: The title in English, for readers who chose English (the Vietnamese title is the official one).
    title_en: str = ""

    def title_in(self, language: str) -> str:
        """The title in ``language`` ("vi" or "en"), the Vietnamese one when there is no English one."""
        return self.title_en if language == "en" and self.title_en else self.title

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
            code = self.by_type.get(nfc(key.strip())) if key else None
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
        unknown = set(entry) - {"code", "title", "title_en", "legal_basis", "period", "trigger", "action",
                                 "types"}
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
        types = tuple(nfc(str(t).strip()) for t in entry.get("types", []))
        for t in types:
            if t in by_type:
                # "Exactly one schedule" per document: a type may appear in one schedule only.
                raise RetentionConfigError(f"{where} ({code}): type {t!r} is already under {by_type[t]}")
            by_type[t] = code
        by_code[code] = Schedule(code, title, basis, years, trigger, action, types,
                                 title_en=str(entry.get("title_en", "")))
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
    # Keyed by the path as given (no realpath per call: this runs for every stored document).
    return _load(str(target), st.st_mtime_ns, st.st_size)


# --- assignment and due dates --------------------------------------------------------------------


def _trigger_date(schedule: Schedule, message: Message | MessageRow) -> date | None:
    if schedule.trigger == "document_date" and message.promulgation_date:
        try:
            return date.fromisoformat(message.promulgation_date)
        except ValueError:
            pass  # a malformed date never passed the parser; fall back to arrival all the same
    if schedule.trigger in ("document_date", "received"):
        return vn_date(message.received_at)
    return None  # a later event (handling_completed): set by compute_due_dates when it happens


def retention_row(message: Message | MessageRow, schedules: Schedules, *, now: datetime) -> dict[str, Any] | None:
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
        for chunk in chunks(sorted(waiting)):
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
        raise UnknownRecord(f"no archived document {message_id} (statuses have no schedule of their own)",
                            ("err.no_archived_document", {"ids": message_id}))
    holds = await holds_on(session, [message_id])
    return RetentionInfo(message_id, schedules.get(assignment.schedule_code), assignment.due_date,
                         assignment.disposed_at, assignment.disposal_id, tuple(holds.get(message_id, ())))
