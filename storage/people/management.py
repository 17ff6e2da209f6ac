"""People management by operators: list an agency's users, add one, change a role, disable or enable,
reset a password. Each change is an audit entry in the same transaction.

Nobody but the person ever knows their password: an account made or reset here has no usable password
until its owner follows a one-time set-password link (stored as a SHA-256, with an expiry). So that no
single operator can make themselves a clerk of an agency (and read its content) or two archivists (and
complete a two-person rule alone), adding a person, resetting a password and raising a role wait as a
request until a second operator confirms it; the confirming operator hands the link over. The one
exception is an agency with nobody yet: one operator may add its first clerk alone (audited, and shown
on /admin), since there is no one in the agency to confirm anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import append_event
from storage.models import Agency, PeopleRequest, User, WebSession
from storage.people.accounts import (
    Role,
    UserError,
    add_user,
    check_new_person,
    check_password_strength,
    hash_password,
    normalise_login,
    user_by_login,
)

#: Generated passwords: 15 random bytes, 20 URL-safe characters (120 bits).
ONE_TIME_PASSWORD_BYTES = 15
#: Set-password links: 32 random bytes (256 bits).
LINK_BYTES = 32
#: Higher rank means more power; moving up takes a second operator, moving down does not.
ROLE_RANK = {Role.CLERK.value: 0, Role.ARCHIVIST.value: 1, Role.OPERATOR.value: 2}


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


class LinkRefused(UserError):
    """A set-password link that is unknown, used, expired or of a disabled person."""


@dataclass(frozen=True)
class Outcome:
    """What an operator's action did: a person given a link (to hand over once), or a request waiting."""

    login: str
    agency_code: str
    link: str | None = None
    request: PeopleRequest | None = None
    done: bool = False


@dataclass(frozen=True)
class Pending:
    """A request waiting for a second operator, as /admin lists it."""

    id: int
    kind: str
    login: str
    agency_code: str
    role: str
    requested_by: str
    requested_at: datetime


def link_key(token: str) -> str:
    """The stored form of a set-password link: its SHA-256, so a database reader cannot use it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def _issue_link(session: AsyncSession, user: User, now: datetime, hours: float) -> str:
    # The old password (if any) stops working now: whoever asked for the reset may have known it.
    token = secrets.token_urlsafe(LINK_BYTES)
    user.password_hash = await asyncio.to_thread(hash_password, secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES))
    user.must_set_password = True
    user.password_link_hash = link_key(token)
    user.password_link_expires_at = now + timedelta(hours=hours)
    await _end_sessions(session, user)
    await session.flush()
    return token


async def _agency_has_people(session: AsyncSession, agency_code: str) -> bool:
    count = await session.scalar(
        select(func.count(User.id)).join(Agency, Agency.id == User.agency_id).where(Agency.code == agency_code))
    return bool(count)


async def _pending_for(session: AsyncSession, login: str) -> PeopleRequest | None:
    return (await session.execute(
        select(PeopleRequest).where(PeopleRequest.login == login, PeopleRequest.outcome.is_(None)).limit(1)
    )).scalar_one_or_none()


async def _request(session: AsyncSession, kind: str, login: str, agency_code: str, role: str, *,
                   actor: str, now: datetime) -> PeopleRequest:
    if await _pending_for(session, login) is not None:
        raise UserError(f"a change for {login} is already waiting for a second operator")
    row = PeopleRequest(kind=kind, login=login, agency_code=agency_code, role=role, requested_by=actor,
                        requested_at=now)
    session.add(row)
    await session.flush()
    await append_event(session, actor=actor, action="people.requested", subject=login,
                       details={"request": row.id, "kind": kind, "agency": agency_code, "role": role})
    return row


async def add_person(session: AsyncSession, login: str, agency_code: str, role: str, *, actor: str,
                     now: datetime, link_hours: float) -> Outcome:
    """Add a person: the first clerk of an agency with nobody at once (with a link), anyone else on request."""
    name, role_value, _ = await check_new_person(session, login, agency_code, role)
    if role_value == Role.CLERK.value and not await _agency_has_people(session, agency_code):
        user = await add_user(session, name, agency_code, role_value, secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES),
                              actor=actor)
        token = await _issue_link(session, user, now, link_hours)
        # Kept with the requests so /admin shows it to the other operators like any people change.
        session.add(PeopleRequest(kind="first_clerk", login=name, agency_code=agency_code, role=role_value,
                                  requested_by=actor, requested_at=now, decided_by=actor, decided_at=now,
                                  outcome="done"))
        await append_event(session, actor=actor, action="people.first_clerk", subject=name,
                           details={"agency": agency_code})
        return Outcome(name, agency_code, link=token, done=True)
    row = await _request(session, "add", name, agency_code, role_value, actor=actor, now=now)
    return Outcome(name, agency_code, request=row)


async def change_role(session: AsyncSession, login: str, role: str, *, actor: str, now: datetime) -> Outcome:
    """Lower a role at once; a raise waits for a second operator. Nobody changes their own role."""
    try:
        new_role = Role(role).value
    except ValueError:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    user = await _user(session, login)
    if actor == f"user:{user.login}":
        raise UserError("you cannot change your own role")
    agency_code = await _agency_code(session, user)
    if user.role == new_role:
        return Outcome(user.login, agency_code, done=True)
    if ROLE_RANK[new_role] > ROLE_RANK[user.role]:
        row = await _request(session, "role", user.login, agency_code, new_role, actor=actor, now=now)
        return Outcome(user.login, agency_code, request=row)
    await _set_role(session, user, new_role, actor=actor)
    return Outcome(user.login, agency_code, done=True)


async def _agency_code(session: AsyncSession, user: User) -> str:
    return str(await session.scalar(select(Agency.code).where(Agency.id == user.agency_id)))


async def _set_role(session: AsyncSession, user: User, new_role: str, *, actor: str,
                    details: dict[str, object] | None = None) -> None:
    previous = user.role
    user.role = new_role
    # The new role applies at once: whatever the person had open ends.
    await _end_sessions(session, user)
    await session.flush()
    await append_event(session, actor=actor, action="user.role_changed", subject=user.login,
                       details={"from": previous, "to": new_role, **(details or {})})


async def reset_password(session: AsyncSession, login: str, *, actor: str, now: datetime) -> Outcome:
    """Ask for a new set-password link for a person; a second operator confirms it."""
    user = await _user(session, login)
    if actor == f"user:{user.login}":
        raise UserError("change your own password on your password page")
    row = await _request(session, "reset", user.login, await _agency_code(session, user), user.role,
                         actor=actor, now=now)
    return Outcome(user.login, row.agency_code, request=row)


async def pending_requests(session: AsyncSession) -> list[Pending]:
    """Requests waiting for a second operator, oldest first."""
    rows = (await session.execute(
        select(PeopleRequest).where(PeopleRequest.outcome.is_(None)).order_by(PeopleRequest.id))).scalars()
    return [Pending(r.id, r.kind, r.login, r.agency_code, r.role, r.requested_by, r.requested_at) for r in rows]


async def _open_request(session: AsyncSession, request_id: int) -> PeopleRequest:
    row = (await session.execute(
        select(PeopleRequest).where(PeopleRequest.id == request_id).with_for_update())).scalar_one_or_none()
    if row is None:
        raise UnknownPerson(f"no request {request_id}")
    if row.outcome is not None:
        raise UserError(f"request {request_id} was already {row.outcome}")
    return row


async def confirm_request(session: AsyncSession, request_id: int, *, actor: str, now: datetime,
                          link_hours: float) -> Outcome:
    """Carry out another operator's request; a new or reset person's link is returned to hand over once."""
    row = await _open_request(session, request_id)
    if row.requested_by == actor:
        raise UserError("a second operator must confirm this; you asked for it")
    if actor == f"user:{row.login}":
        raise UserError("you cannot confirm a change to yourself")
    # As with a hold release: a request only counts while whoever made it is still an active operator.
    asker = await user_by_login(session, row.requested_by.removeprefix("user:"))
    if asker is None or not asker.active or asker.role != Role.OPERATOR.value:
        raise UserError("whoever asked for this is no longer an active operator; ask again")
    row.outcome, row.decided_by, row.decided_at = "confirmed", actor, now
    both = {"request": row.id, "requested_by": row.requested_by}
    token: str | None = None
    if row.kind == "add":
        if await user_by_login(session, row.login) is not None:
            raise UserError(f"user {row.login} already exists", ("err.user_exists", {"login": row.login}))
        user = await add_user(session, row.login, row.agency_code, row.role,
                              secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES), actor=actor)
        token = await _issue_link(session, user, now, link_hours)
    else:
        user = await _user(session, row.login)
        if row.kind == "role":
            await _set_role(session, user, row.role, actor=actor, details=both)
        else:
            token = await _issue_link(session, user, now, link_hours)
            await append_event(session, actor=actor, action="user.password_reset", subject=user.login,
                               details=both)
    await append_event(session, actor=actor, action="people.confirmed", subject=row.login,
                       details={**both, "kind": row.kind, "agency": row.agency_code, "role": row.role})
    return Outcome(row.login, row.agency_code, link=token, request=row, done=True)


async def cancel_request(session: AsyncSession, request_id: int, *, actor: str, now: datetime) -> PeopleRequest:
    """Drop a waiting request (its requester or any other operator)."""
    row = await _open_request(session, request_id)
    row.outcome, row.decided_by, row.decided_at = "cancelled", actor, now
    await session.flush()
    await append_event(session, actor=actor, action="people.cancelled", subject=row.login,
                       details={"request": row.id, "kind": row.kind, "requested_by": row.requested_by})
    return row


async def set_own_password(session: AsyncSession, token: str, password: str, now: datetime) -> User:
    """Set a password with a one-time link: the link is spent, the person's sessions end."""
    check_password_strength(password)
    user = (await session.execute(
        select(User).where(User.password_link_hash == link_key(token)).with_for_update())).scalar_one_or_none()
    expires = user.password_link_expires_at if user is not None else None
    if user is None or expires is None or expires <= now or not user.active:
        raise LinkRefused("this link is not valid any more; ask an operator for a new one")
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.must_set_password = False
    user.password_link_hash = None
    user.password_link_expires_at = None
    await _end_sessions(session, user)
    await session.flush()
    await append_event(session, actor=f"user:{user.login}", action="user.password_set", subject=user.login,
                       details={"by": "link"})
    return user


async def link_is_live(session: AsyncSession, token: str, now: datetime) -> bool:
    """True when a set-password link can still be used."""
    user = (await session.execute(
        select(User).where(User.password_link_hash == link_key(token)))).scalar_one_or_none()
    expires = user.password_link_expires_at if user is not None else None
    return user is not None and user.active and expires is not None and expires > now


async def change_own_password(session: AsyncSession, user_id: int, new_password: str, *, keep: str | None) -> User:
    """A signed-in person's new password (the current one already checked); other sessions but ``keep`` end."""
    check_password_strength(new_password)
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UnknownPerson("no such user")
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    user.must_set_password = False
    user.password_link_hash = None
    user.password_link_expires_at = None
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    await session.execute(query)
    await session.flush()
    await append_event(session, actor=f"user:{user.login}", action="user.password_set", subject=user.login,
                       details={"by": "self"})
    return user


async def people_notices(session: AsyncSession, since: datetime) -> list[PeopleRequest]:
    """Waiting requests, and requests decided or first clerks added since ``since``, newest first."""
    rows = await session.execute(
        select(PeopleRequest).where((PeopleRequest.outcome.is_(None)) | (PeopleRequest.requested_at >= since)
                                    | (PeopleRequest.decided_at >= since))
        .order_by(PeopleRequest.id.desc()).limit(50))
    return list(rows.scalars())
