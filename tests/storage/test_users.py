"""Password hashing, users and browser sessions in the database."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebSession, utcnow
from storage.people.accounts import (
    SESSION_IDLE,
    SESSION_LIFETIME,
    UserError,
    add_user,
    close_session,
    find_session,
    hash_password,
    open_session,
    password_matches,
    user_by_login,
    verify_password,
)
from storage.registry.agencies import register_agency

CODE = "000.00.00.G22"
GOOD = "mat-khau-du-dai-123"


def test_scrypt_hash_names_its_parameters_and_salt() -> None:
    stored = hash_password(GOOD)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**15), "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert verify_password(GOOD, stored)
    assert not verify_password(GOOD + "x", stored)
    assert hash_password(GOOD) != stored  # a fresh salt every time


def test_hash_with_other_parameters_still_verifies() -> None:
    cheap = hash_password(GOOD, n=2**10, r=4, p=2)
    assert cheap.startswith("scrypt$1024$4$2$")
    assert verify_password(GOOD, cheap)


@pytest.mark.parametrize("stored", [
    "", "scrypt", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==",
    "scrypt$1000$8$1$AAAA$AAAA",  # N not a power of two
    f"scrypt${2**24}$8$1$AAAA$AAAA",  # would need gigabytes: refused, not attempted
    "scrypt$1024$8$1$!!!!$AAAA",
    "scrypt$1024$8$1$AAAA$",
])
def test_malformed_or_hostile_hashes_never_verify(stored: str) -> None:
    assert not verify_password(GOOD, stored)


def test_tampered_digest_does_not_verify() -> None:
    stored = hash_password(GOOD, n=2**10)
    head, digest = stored.rsplit("$", 1)
    raw = bytearray(base64.b64decode(digest))
    raw[0] ^= 1
    assert not verify_password(GOOD, f"{head}${base64.b64encode(bytes(raw)).decode()}")


async def _agency(session: AsyncSession) -> None:
    await register_agency(session, CODE, "Văn phòng Chính phủ", actor="test")


async def test_add_user_stores_only_a_hash_and_normalises_the_login(session: AsyncSession) -> None:
    await _agency(session)
    user = await add_user(session, "  VanThu.G22 ", CODE, "clerk", GOOD, actor="test")
    assert user.login == "vanthu.g22" and user.role == "clerk" and user.active
    assert GOOD not in user.password_hash and verify_password(GOOD, user.password_hash)
    assert await user_by_login(session, "VANTHU.g22") is not None
    assert await password_matches(user, GOOD)
    assert not await password_matches(user, "sai")
    assert not await password_matches(None, GOOD)
    user.active = False
    assert not await password_matches(user, GOOD)


@pytest.mark.parametrize(("login", "code", "role", "password", "message"), [
    ("ab", CODE, "clerk", GOOD, "not a valid login"),
    ("co dau cach", CODE, "clerk", GOOD, "not a valid login"),
    ("văn.thư", CODE, "clerk", GOOD, "not a valid login"),
    ("vanthu", CODE, "admin", GOOD, "role must be"),
    ("vanthu", CODE, "clerk", "ngan", "at least 10"),
    ("vanthu", "000.00.00.Z99", "clerk", GOOD, "no agency"),
])
async def test_add_user_refuses_bad_input(session: AsyncSession, login: str, code: str, role: str, password: str,
                                          message: str) -> None:
    await _agency(session)
    with pytest.raises(UserError, match=message):
        await add_user(session, login, code, role, password)


async def test_add_user_refuses_a_second_user_with_the_same_login(session: AsyncSession) -> None:
    await _agency(session)
    await add_user(session, "vanthu", CODE, "clerk", GOOD)
    with pytest.raises(UserError, match="already exists"):
        await add_user(session, "VanThu", CODE, "operator", GOOD)


async def test_sessions_are_stored_by_hash_and_end_on_expiry_idleness_or_logout(session: AsyncSession) -> None:
    await _agency(session)
    user = await add_user(session, "vanthu", CODE, "clerk", GOOD)
    now = utcnow()
    cookie, row = await open_session(session, user, now, language="en")
    assert row.id == hashlib.sha256(cookie.encode()).hexdigest() and cookie not in row.id
    assert row.expires_at == now + SESSION_LIFETIME and len(row.csrf_token) >= 32
    active = await find_session(session, cookie, now + timedelta(minutes=5))
    assert active is not None and active.user.login == "vanthu" and active.agency.code == CODE
    assert active.web_session.language == "en"
    assert await find_session(session, "not-the-cookie", now) is None
    later = now + timedelta(minutes=5) + SESSION_IDLE + timedelta(seconds=1)
    assert await find_session(session, cookie, later) is None  # idle too long
    assert await find_session(session, cookie, now + SESSION_LIFETIME) is None  # expired
    await close_session(session, row.id)
    assert await session.get(WebSession, row.id) is None
