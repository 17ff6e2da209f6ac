"""What the archive records when the exchange stores a message: ledger, register entry, retention schedule."""

from __future__ import annotations

import logging
from pathlib import Path

from axis.archive.calendar import vn_date
from axis.archive.errors import RetentionConfigError
from axis.archive.registers import OUTGOING
from axis.archive.schedules import load_schedules, retention_row
from storage.committer import Arrival
from storage.models import Message, MessageKind, MessageRow

log = logging.getLogger("axis.archive")


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
