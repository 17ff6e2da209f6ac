"""People of the web UI: password hashes, users and browser sessions (throttling: storage/throttle.py)."""

from __future__ import annotations

import asyncio
import base64
import enum
import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import append_event
from storage.models import Agency, User, WebSession

# scrypt parameters for new hashes: N=2^15, r=8 costs 32 MiB and ~50-100 ms per check,
# slow enough to make offline guessing expensive, fast enough for a login form.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_DKLEN = 32
SALT_BYTES = 16
# Bounds on parameters read back from a stored hash, so a tampered row cannot exhaust memory.
_MAX_N = 2**20
_MAX_R = 32
_MAX_P = 16

MIN_PASSWORD_LENGTH = 10
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$", re.ASCII)

#: A browser session ends this long after login, or after this long without a request.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
# last_seen_at is written at most this often, so page views are not all database writes.
_TOUCH_EVERY = timedelta(minutes=1)


class Role(str, enum.Enum):
    """What a person may do in the web UI."""

    CLERK = "clerk"
    ARCHIVIST = "archivist"
    OPERATOR = "operator"


class UserError(Exception):
    """A user request that cannot be carried out."""

    def __init__(self, message: str, wording: tuple[str, dict[str, object]] | None = None) -> None:
        super().__init__(message)
        # The UI's catalogue entry and its values, so a page says it in its own language.
        self.wording = wording


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Hash a password with scrypt and a fresh salt: ``scrypt$N$r$p$salt$hash`` (base64)."""
    salt = os.urandom(SALT_BYTES)
    derived = _scrypt(password, salt, n, r, p, SCRYPT_DKLEN)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(derived)}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # OpenSSL refuses work above maxmem; scrypt needs 128 * r * N bytes, give it twice that.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=256 * r * n + (1 << 20))


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored scrypt hash (constant-time compare)."""
    try:
        scheme, n_s, r_s, p_s, salt_s, hash_s = stored.split("$")
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt, expected = base64.b64decode(salt_s, validate=True), base64.b64decode(hash_s, validate=True)
    except (ValueError, TypeError):
        return False
    if scheme != "scrypt" or not (1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= _MAX_R and 0 < p <= _MAX_P):
        return False
    if not expected:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked when the login name is unknown, so that answer takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def normalise_login(login: str) -> str:
    """Login names compare case-insensitively and without surrounding spaces."""
    return login.strip().lower()[:64]


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


async def check_new_person(session: AsyncSession, login: str, agency_code: str, role: str
                           ) -> tuple[str, str, Agency]:
    """The normalised login, role value and agency of a person about to be added, or a UserError saying why not."""
    name = normalise_login(login)
    if not LOGIN_RE.fullmatch(name):
        raise UserError(f"{login!r} is not a valid login (3-64 of a-z 0-9 . _ @ -, starting with a letter or digit)",
                        ("err.bad_login", {"login": login[:64]}))
    try:
        role_value = Role(role).value
    except ValueError:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from None
    agency = (await session.execute(select(Agency).where(Agency.code == agency_code))).scalar_one_or_none()
    if agency is None:
        raise UserError(f"no agency {agency_code} is registered")
    if await user_by_login(session, name) is not None:
        raise UserError(f"user {name} already exists", ("err.user_exists", {"login": name}))
    return name, role_value, agency


async def add_user(
    session: AsyncSession, login: str, agency_code: str, role: str, password: str, *, actor: str = "cli"
) -> User:
    """Create a person of an agency with a role; the password is stored only as a scrypt hash."""
    name, role_value, agency = await check_new_person(session, login, agency_code, role)
    check_password_strength(password)
    # Hashing is deliberately slow; keep the event loop free meanwhile.
    digest = await asyncio.to_thread(hash_password, password)
    user = User(login=name, agency_id=agency.id, role=role_value, password_hash=digest, active=True)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise UserError(f"user {name} already exists", ("err.user_exists", {"login": name})) from None
    await append_event(session, actor=actor, action="user.added", subject=name,
                       details={"agency": agency.code, "role": role_value})
    return user


async def user_by_login(session: AsyncSession, login: str) -> User | None:
    """The user with this login name, or None."""
    return (
        await session.execute(select(User).where(User.login == normalise_login(login)))
    ).scalar_one_or_none()


async def list_users(session: AsyncSession) -> list[tuple[User, str]]:
    """All users with their agency code, ordered by login."""
    rows = await session.execute(
        select(User, Agency.code).join(Agency, Agency.id == User.agency_id).order_by(User.login)
    )
    return [(u, code) for u, code in rows.all()]


async def password_matches(user: User | None, password: str) -> bool:
    """True when ``user`` is active and ``password`` is theirs; costs the same for an unknown user.

    Call it outside any transaction: the check is slow on purpose, and on SQLite an open
    transaction holds the database write lock.
    """
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, password, stored)
    return ok and user is not None and user.active


# --- browser sessions ---------------------------------------------------------


def session_key(cookie_value: str) -> str:
    """The stored id of a session: SHA-256 of the cookie, so a database leak reveals no cookie."""
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A valid browser session with its person and agency."""

    web_session: WebSession
    user: User
    agency: Agency


async def open_session(
    session: AsyncSession, user: User, now: datetime, *, language: str = "vi"
) -> tuple[str, WebSession]:
    """Start a browser session for ``user``; return the cookie value (shown once) and the row."""
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        id=session_key(cookie),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        language=language,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        last_seen_at=now,
    )
    session.add(row)
    # Old sessions of anyone are pruned here rather than by a job: logins are rare enough.
    await session.execute(delete(WebSession).where(WebSession.expires_at < now))
    await session.flush()
    return cookie, row


async def find_session(session: AsyncSession, cookie_value: str, now: datetime) -> ActiveSession | None:
    """The live session for a cookie (expired, idle, disabled user or agency: None)."""
    row = (
        await session.execute(
            select(WebSession, User, Agency)
            .join(User, User.id == WebSession.user_id)
            .join(Agency, Agency.id == User.agency_id)
            .where(WebSession.id == session_key(cookie_value))
        )
    ).first()
    if row is None:
        return None
    ws, user, agency = row
    if ws.expires_at <= now or now - ws.last_seen_at > SESSION_IDLE or not user.active:
        return None
    # A disabled agency's people are out; operators are the axis's own staff and stay in
    # (they belong to the axis's registry row, which is inactive because it receives nothing).
    if not agency.active and user.role != Role.OPERATOR.value:
        return None
    if now - ws.last_seen_at > _TOUCH_EVERY:
        ws.last_seen_at = now
        await session.flush()
    return ActiveSession(ws, user, agency)


async def set_session_language(session: AsyncSession, session_id: str, language: str) -> None:
    """Remember the UI language the person chose."""
    ws = await session.get(WebSession, session_id)
    if ws is not None:
        ws.language = language
        await session.flush()


async def close_session(session: AsyncSession, session_id: str) -> None:
    """End a browser session (logout)."""
    await session.execute(delete(WebSession).where(WebSession.id == session_id))
