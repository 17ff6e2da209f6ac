"""What the archive records when the exchange stores a message: ledger, register, retention schedule."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage.archive.errors import RetentionConfigError
from storage.archive.ledger import record_blob
from storage.archive.registers import register_outgoing
from storage.archive.retention import assign_retention, load_schedules
from storage.models import Message, MessageKind

log = logging.getLogger("axis.archive")


async def record_arrival(session: AsyncSession, message: Message, retention_file: Path | None = None) -> None:
    """In the storing transaction: enter the blob in the ledger; for a document, its outgoing number and schedule."""
    await record_blob(session, message.sha256, message.size, message.received_at)
    if message.kind != MessageKind.EDOC.value:
        return
    await register_outgoing(session, message)
    try:
        schedules = load_schedules(retention_file)
    except RetentionConfigError as exc:
        # A broken retention file must not stop the exchange: the retention-due job assigns
        # the schedule once the file is fixed (and its run fails loudly until then).
        log.error("no retention schedule for %s: %s", message.id, exc)
        return
    await assign_retention(session, message, schedules, now=message.received_at)
