"""What the archive records when the exchange stores a message: ledger, register entry, retention schedule."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.calendar import vn_date
from axis.archive.errors import RetentionConfigError
from storage.archive_models import Blob, RegisterEntry, RetentionAssignment
from axis.archive.registers import OUTGOING
from axis.archive.schedules import load_schedules, retention_row
from storage.upsert import upsert
from storage.models import Message, MessageKind, MessageRow

log = logging.getLogger("axis.archive")


@dataclass(frozen=True)
class Arrival:
    """The archive's rows for one newly stored message."""

    blob: dict[str, Any]
    register: dict[str, Any] | None
    retention: dict[str, Any] | None


def arrival_rows(message: Message | MessageRow, retention_file: Path | None = None) -> Arrival:
    """The ledger row; for a document also its outgoing register entry (numbered by the sealer) and schedule."""
    blob = {"sha256": message.sha256, "size": message.size, "stored_at": message.received_at}
    if message.kind != MessageKind.EDOC.value:
        return Arrival(blob, None, None)
    register = {"agency_id": message.sender_id, "direction": OUTGOING, "year": vn_date(message.received_at).year,
                "number": None, "message_id": message.id, "registered_at": message.received_at}
    try:
        retention = retention_row(message, load_schedules(retention_file), now=message.received_at)
    except RetentionConfigError as exc:
        # A broken retention file must not stop the exchange: the retention-due job assigns
        # the schedule once the file is fixed (and its run fails loudly until then).
        log.error("no retention schedule for %s: %s", message.id, exc)
        retention = None
    return Arrival(blob, register, retention)


async def record_arrivals(session: AsyncSession, arrivals: Sequence[Arrival]) -> None:
    """In the storing transaction: one statement per table for any number of messages."""
    # Identical bytes are stored once; the first arrival's row stands.
    blobs = list({a.blob["sha256"]: a.blob for a in reversed(arrivals)}.values())
    await upsert(session, Blob, blobs, keys=["sha256"])
    registers = [a.register for a in arrivals if a.register is not None]
    if registers:
        await session.execute(insert(RegisterEntry.__table__), registers)
    retentions = [a.retention for a in arrivals if a.retention is not None]
    if retentions:
        await session.execute(insert(RetentionAssignment.__table__), retentions)
