"""The blob ledger: every stored byte stream, by digest, with its size, storage time and disposal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.archive_models import Blob
from storage.models import Message
from storage.upsert import upsert

#: Rows per statement when the ledger catches up with messages stored without it.
BACKFILL_BATCH = 1000


async def record_blob(session: AsyncSession, sha256: str, size: int, stored_at: datetime) -> None:
    """Add a blob to the ledger unless it is there already (identical bytes are stored once)."""
    await upsert(session, Blob, [{"sha256": sha256, "size": size, "stored_at": stored_at}], keys=["sha256"])


async def backfill_ledger(session: AsyncSession) -> int:
    """Enter every message blob the ledger does not know yet (e.g. the axis's own notices); return how many."""
    added = 0
    while True:
        rows = (
            await session.execute(
                select(Message.sha256, Message.size, Message.received_at)
                .outerjoin(Blob, Blob.sha256 == Message.sha256)
                .where(Blob.sha256.is_(None))
                .limit(BACKFILL_BATCH)
            )
        ).all()
        if not rows:
            return added
        unique = {sha: {"sha256": sha, "size": size, "stored_at": at} for sha, size, at in rows}
        await upsert(session, Blob, list(unique.values()), keys=["sha256"])
        added += len(unique)


async def is_disposed(session: AsyncSession, sha256: str) -> datetime | None:
    """When the blob was destroyed by a disposal, or None while it is kept."""
    return (await session.execute(select(Blob.disposed_at).where(Blob.sha256 == sha256))).scalar_one_or_none()
