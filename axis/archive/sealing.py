"""The sealer: chains queued audit entries and numbers waiting register entries, under one lock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from axis.archive.registers import number_pending
from storage.audit import chain_queued, lock_chain


@dataclass(frozen=True)
class Sealed:
    """What one sealing pass did."""

    audit_entries: int
    register_entries: int


async def seal_pending(session: AsyncSession, *, wait: bool = True) -> Sealed:
    """In the session's transaction: number waiting register entries, then chain queued audit entries."""
    if not await lock_chain(session, wait=wait):
        return Sealed(0, 0)  # another process is sealing right now
    numbered = await number_pending(session)
    return Sealed(await chain_queued(session), numbered)


async def seal_now(sessions: async_sessionmaker[AsyncSession], *, wait: bool = True) -> Sealed:
    """One committed sealing pass in its own transaction (before reading the chain or a register)."""
    async with sessions() as session, session.begin():
        return await seal_pending(session, wait=wait)
