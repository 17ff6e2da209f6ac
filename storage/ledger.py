"""The blob ledger: every stored byte stream, by digest, with its size, storage time and disposal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.archive_models import Blob
from storage.upsert import upsert


async def record_blob(session: AsyncSession, sha256: str, size: int, stored_at: datetime) -> None:
    """Add a blob to the ledger unless it is there already (identical bytes are stored once)."""
    await upsert(session, Blob, [{"sha256": sha256, "size": size, "stored_at": stored_at}], keys=["sha256"])


