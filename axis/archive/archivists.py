"""Archivists: the users who may place holds and propose, approve and execute disposals."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.errors import NotAnArchivist
from storage.models import User

#: The user role that may act on the archive.
ARCHIVIST_ROLE = "archivist"


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


async def is_archivist(session: AsyncSession, login: str) -> bool:
    """True while ``login`` is an active archivist (a pending request of someone who left no longer counts)."""
    try:
        await archivist(session, login)
    except NotAnArchivist:
        return False
    return True
