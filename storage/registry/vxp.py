"""National SDK transport (/vxp): agencies' system ids and HMAC secrets, signature policy, replay guard.

The SDK signs each request with HMAC-SHA256 under a secret shared with the axis, so the axis
needs the secret in clear to check it: it is stored encrypted (Fernet, AES-128-CBC + HMAC) under a
key that lives outside the database (a setting or a file under AXIS_HOME), and shown only once.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import append_event
from storage.models import Agency, VxpClock, VxpReplay
from storage.registry.agencies import UnknownAgency, agency_by_code

#: What an agency's signature policy may be.
SIGNATURE_REQUIRED = "required"
LEGACY_TRANSPORT = "legacy-transport"
SIGNATURE_POLICIES = (SIGNATURE_REQUIRED, LEGACY_TRANSPORT)


class SecretUnreadable(Exception):
    """A stored secret does not decrypt under this key (the key was changed or is not shared)."""


def load_or_create_key(configured: str, path: Path) -> Fernet:
    """The cipher of the secrets: the configured key, else the key file (created 0600 on first use)."""
    if configured:
        return Fernet(configured.encode())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it a moment ago
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
    return Fernet(path.read_bytes().strip())


def decrypt_secret(cipher: Fernet, stored: bytes) -> bytes:
    """The secret in clear, from its stored form."""
    try:
        return cipher.decrypt(stored)
    except InvalidToken:
        raise SecretUnreadable("the stored secret does not decrypt under the configured key") from None


async def issue_vxp_secret(session: AsyncSession, code: str, cipher: Fernet, *, system_id: str | None = None,
                           actor: str = "cli") -> tuple[str, str]:
    """Issue (or rotate) an agency's system id and secret; return both, the secret in clear, once."""
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    chosen = (system_id or agency.vxp_system_id or agency.code).strip()
    if not chosen or len(chosen) > 64:
        raise ValueError("a system id has 1 to 64 characters")
    holder = (await session.execute(select(Agency.code).where(Agency.vxp_system_id == chosen))).scalar()
    if holder is not None and holder != code:
        raise ValueError(f"system id {chosen} belongs to agency {holder}")
    secret = secrets.token_urlsafe(32)
    rotated = agency.vxp_secret is not None
    agency.vxp_system_id = chosen
    agency.vxp_secret = cipher.encrypt(secret.encode())
    await session.flush()
    # The details name no secret: the audit log is readable by operators.
    await append_event(session, actor=actor, action="agency.vxp_secret_rotated" if rotated else
                       "agency.vxp_secret_issued", subject=code, details={"system_id": chosen})
    return chosen, secret


async def set_signature_policy(session: AsyncSession, code: str, policy: str, *, actor: str = "cli") -> Agency:
    """Set an agency's signature policy (an audited operator decision)."""
    if policy not in SIGNATURE_POLICIES:
        raise ValueError(f"signature policy must be one of {', '.join(SIGNATURE_POLICIES)}")
    agency = await agency_by_code(session, code)
    if agency is None:
        raise UnknownAgency(f"no agency {code} is registered")
    if agency.signature_policy != policy:
        previous = agency.signature_policy
        agency.signature_policy = policy
        await session.flush()
        await append_event(session, actor=actor, action="agency.signature_policy", subject=code,
                           details={"policy": policy, "previous": previous})
    return agency


_REMEMBER = insert(VxpReplay.__table__)
_FORGET = delete(VxpReplay.__table__)


async def remember_hash_header(session: AsyncSession, hash_header: str, now: datetime, window: timedelta) -> bool:
    """Record a request's hash-header (as keyed by the caller); False when already seen (a replay in the window).

    The primary key decides, so two nodes given the same request at once accept it only once.
    Entries older than the window can no longer pass the timestamp check and are dropped.
    """
    await session.execute(_FORGET.where(VxpReplay.seen_at < now - 2 * window))
    try:
        async with session.begin_nested():
            await session.execute(_REMEMBER, {"hash_header": hash_header, "seen_at": now})
    except IntegrityError:
        return False
    return True


async def note_clock(session: AsyncSession, agency_id: int, offset_minutes: int | None, now: datetime) -> None:
    """Record the zone an agency's SDK clock was read in (None: the expected zone, the record dropped)."""
    if offset_minutes is None:
        await session.execute(delete(VxpClock).where(VxpClock.agency_id == agency_id))
        return
    changed = await session.execute(update(VxpClock).where(VxpClock.agency_id == agency_id)
                                    .values(offset_minutes=offset_minutes, seen_at=now))
    if getattr(changed, "rowcount", 0) == 0:
        try:
            async with session.begin_nested():
                await session.execute(insert(VxpClock).values(agency_id=agency_id, offset_minutes=offset_minutes,
                                                              seen_at=now))
        except IntegrityError:
            pass  # another node recorded it at the same moment


async def clock_offsets(session: AsyncSession) -> dict[int, tuple[int, datetime]]:
    """Each agency whose SDK clock was last read in another zone: its UTC offset (minutes) and when."""
    rows = await session.execute(select(VxpClock.agency_id, VxpClock.offset_minutes, VxpClock.seen_at))
    return {agency_id: (offset, seen) for agency_id, offset, seen in rows}
