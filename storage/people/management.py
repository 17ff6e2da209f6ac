"""People management by operators: list an agency's users, add one with a one-time password, change a
role, disable or enable, reset a password. Each change is an audit entry in the same transaction.

Passwords are hashed as :mod:`storage.people.accounts` hashes them; a generated password is returned once
and never stored in clear.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import append_event
from storage.models import Agency, User, WebSession
from storage.people.accounts import Role, UserError, add_user, hash_password, normalise_login

#: Generated passwords: 15 random bytes, 20 URL-safe characters (120 bits).
ONE_TIME_PASSWORD_BYTES = 15


class UnknownPerson(UserError):
    """No user has this login."""


@dataclass(frozen=True)
class Person:
    """A user as the operators' page lists them."""

    id: int
    login: str
    agency_code: str
    agency_name: str
    role: str
    active: bool
    created_at: datetime


def one_time_password() -> str:
    """A fresh random password to hand over once."""
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


async def people(session: AsyncSession, agency_code: str | None = None) -> list[Person]:
    """Users, of one agency or of all, by agency then login."""
    query = (select(User, Agency.code, Agency.name).join(Agency, Agency.id == User.agency_id)
             .order_by(Agency.code, User.login))
    if agency_code:
        query = query.where(Agency.code == agency_code)
    return [Person(u.id, u.login, code, name, u.role, u.active, u.created_at)
            for u, code, name in (await session.execute(query)).all()]


async def people_per_agency(session: AsyncSession) -> dict[str, int]:
    """How many users each agency has (agency code → count)."""
    rows = await session.execute(
        select(Agency.code, func.count(User.id)).join(Agency, Agency.id == User.agency_id).group_by(Agency.code))
    return {code: int(n) for code, n in rows.all()}


async def add_person(session: AsyncSession, login: str, agency_code: str, role: str, *,
                     actor: str) -> tuple[User, str]:
    """Add a user with a generated password; return the user and the password (shown once)."""
    password = one_time_password()
    user = await add_user(session, login, agency_code, role, password, actor=actor)
    return user, password


async def _user(session: AsyncSession, login: str) -> User:
    user = (await session.execute(
        select(User).where(User.login == normalise_login(login)).with_for_update()
    )).scalar_one_or_none()
    if user is None:
        raise UnknownPerson(f"no user {login[:64]}")
    return user


async def _end_sessions(session: AsyncSession, user: User) -> None:
    # Whatever the person had open stops working at once, not at the idle timeout.
    await session.execute(delete(WebSession).where(WebSession.user_id == user.id))


async def change_role(session: AsyncSession, login: str, role: str, *, actor: str) -> User:
    """Give a user another role; their open sessions end so the new role applies at once."""
    try:
        new_role = Role(role).value
    except ValueError:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    user = await _user(session, login)
    if actor == f"user:{user.login}":
        raise UserError("you cannot change your own role")
    previous = user.role
    if previous == new_role:
        return user
    user.role = new_role
    await _end_sessions(session, user)
    await session.flush()
    await append_event(session, actor=actor, action="user.role_changed", subject=user.login,
                       details={"from": previous, "to": new_role})
    return user


async def set_person_active(session: AsyncSession, login: str, active: bool, *, actor: str) -> User:
    """Disable (sessions end at once) or enable a user."""
    user = await _user(session, login)
    if not active and actor == f"user:{user.login}":
        raise UserError("you cannot disable yourself")
    if user.active == active:
        return user
    user.active = active
    if not active:
        await _end_sessions(session, user)
    await session.flush()
    await append_event(session, actor=actor, action="user.enabled" if active else "user.disabled",
                       subject=user.login, details={})
    return user


async def reset_password(session: AsyncSession, login: str, *, actor: str) -> tuple[User, str]:
    """Give a user a new generated password (shown once); their sessions end."""
    user = await _user(session, login)
    password = one_time_password()
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await _end_sessions(session, user)
    await session.flush()
    await append_event(session, actor=actor, action="user.password_reset", subject=user.login, details={})
    return user, password
