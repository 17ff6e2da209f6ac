"""The agency registry as each process holds it: looked up in memory, reloaded when its version moves.

Messages arrive hundreds of times a second; the registry changes a few times a day. Every change
to ``agencies`` moves ``registry_version`` in the same transaction (database triggers, revision
0004), so a process that reads the counter at most once every ``refresh_seconds`` sees a disabled
agency, a new token or a new certificate within that interval, whichever node or tool made it.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.x509 import Certificate
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from signing.errors import KeyMaterialError
from signing.keys import load_certificate
from storage.db import reading
from storage.models import Agency, DeliveryMode, RegistryVersion
from storage.registry.agencies import hash_token

#: Default seconds between two looks at the version counter.
DEFAULT_REFRESH_SECONDS = 1.0


class AgencyRef(Protocol):
    """Who an agency is, as the exchange's queries need it: a registry entry or an ``Agency`` row."""

    @property
    def id(self) -> int:
        """The agency's row id."""
        ...

    @property
    def code(self) -> str:
        """The agency code (mã định danh)."""
        ...


@dataclass(frozen=True)
class RegisteredAgency:
    """What the exchange needs to know about one agency, with its certificate already parsed."""

    id: int
    code: str
    name: str
    organization_in_charge: str
    active: bool
    delivery_mode: str
    endpoint_url: str | None
    certificate_pem: str | None
    certificate_fingerprint: str | None
    token_hash: str
    #: The pinned certificate from ``certificate_pem`` (its first), then the next one from
    #: ``next_certificate_pem`` when registered (both verify), parsed once per registry version.
    certificates: tuple[Certificate, ...] = ()
    #: The fingerprint of the next certificate (rotation with overlap), if one is registered.
    next_certificate_fingerprint: str | None = None
    #: National SDK transport (/vxp): the system id and its encrypted HMAC secret, if issued.
    vxp_system_id: str | None = None
    vxp_secret: bytes | None = None
    #: "required" or "legacy-transport" (see axis.exchange.signature_policy).
    signature_policy: str = "required"

    @property
    def pushes(self) -> bool:
        """True when documents are pushed to the agency's endpoint (else it pulls)."""
        return self.delivery_mode == DeliveryMode.PUSH.value


@dataclass(frozen=True)
class RegistrySnapshot:
    """One consistent view of the registry, as of ``version``."""

    version: int
    by_code: Mapping[str, RegisteredAgency]
    by_token_hash: Mapping[str, RegisteredAgency]
    by_id: Mapping[int, RegisteredAgency]
    #: Agencies by their national SDK system id (only those that have one).
    by_system_id: Mapping[str, RegisteredAgency] = field(default_factory=dict)

    def agency_by_token(self, token: str) -> RegisteredAgency | None:
        """The agency owning this bearer token, or None."""
        digest = hash_token(token)
        agency = self.by_token_hash.get(digest)
        # A dict finds the digest by hash; the compare keeps the final check constant-time.
        if agency is not None and hmac.compare_digest(agency.token_hash, digest):
            return agency
        return None


class RegistryCache:
    """The registry of one process: a snapshot, refreshed when the version counter has moved."""

    def __init__(self, engine: AsyncEngine, *, refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._snapshot: RegistrySnapshot | None = None
        self._next_check = 0.0
        self._check_started = float("-inf")
        self._lock = asyncio.Lock()
        # Parsed certificates by PEM text: a reload parses only what changed.
        self._parsed: dict[str, tuple[Certificate, ...]] = {}

    async def snapshot(self) -> RegistrySnapshot:
        """The current snapshot; at most one version read per ``refresh_seconds``."""
        current = self._snapshot
        if current is not None and self._monotonic() < self._next_check:
            return current
        return await self._check(lambda: self._monotonic() < self._next_check)

    async def after_miss(self) -> RegistrySnapshot:
        """A snapshot read after this miss: a token or code registered a moment ago is found.

        Misses waiting together share one version read (the lock), so a flood of unknown tokens
        costs one small query at a time, not one per request.
        """
        missed = self._monotonic()
        return await self._check(lambda: self._check_started >= missed)

    async def agency_by_token(self, token: str) -> RegisteredAgency | None:
        """The agency owning this bearer token, or None; a token issued a moment ago is found too."""
        agency = (await self.snapshot()).agency_by_token(token)
        return agency if agency is not None else (await self.after_miss()).agency_by_token(token)

    async def agency_by_code(self, code: str) -> RegisteredAgency | None:
        """The agency with this code, or None; one registered a moment ago is found too."""
        agency = (await self.snapshot()).by_code.get(code)
        return agency if agency is not None else (await self.after_miss()).by_code.get(code)

    async def agency_by_system_id(self, system_id: str) -> RegisteredAgency | None:
        """The agency holding this national SDK system id, or None; one issued a moment ago is found too."""
        agency = (await self.snapshot()).by_system_id.get(system_id)
        return agency if agency is not None else (await self.after_miss()).by_system_id.get(system_id)

    async def agency_by_id(self, agency_id: int) -> RegisteredAgency:
        """The agency with this row id (rows are never deleted: it exists)."""
        agency = (await self.snapshot()).by_id.get(agency_id)
        return agency if agency is not None else (await self.after_miss()).by_id[agency_id]

    async def _check(self, fresh: Callable[[], bool]) -> RegistrySnapshot:
        async with self._lock:  # one reader refreshes; the others wait for its result
            current = self._snapshot
            if current is not None and fresh():
                return current
            self._check_started = self._monotonic()
            self._snapshot = await self._refresh(current)
            self._next_check = self._monotonic() + self.refresh_seconds
            return self._snapshot

    @property
    def current(self) -> RegistrySnapshot | None:
        """The last snapshot read, without looking at the version (None before the first look)."""
        return self._snapshot

    def invalidate(self) -> None:
        """Look at the version again on the next lookup (after a change this process made)."""
        self._next_check = 0.0

    async def _refresh(self, current: RegistrySnapshot | None) -> RegistrySnapshot:
        async with reading(self.engine) as conn:
            version = (await conn.execute(select(RegistryVersion.version).where(RegistryVersion.id == 1))).scalar()
            if current is not None and version == current.version:
                return current
            # Read after the version: a change in between moves the counter again and is
            # picked up at the next look, never lost.
            rows = (await conn.execute(select(Agency.__table__))).all()
        agencies = [self._entry(row._mapping) for row in rows]
        return RegistrySnapshot(
            version=int(version or 0),
            by_code={a.code: a for a in agencies},
            by_token_hash={a.token_hash: a for a in agencies},
            by_id={a.id: a for a in agencies},
            by_system_id={a.vxp_system_id: a for a in agencies if a.vxp_system_id},
        )

    def _pins(self, pem: object) -> tuple[Certificate, ...]:
        if not isinstance(pem, str) or not pem:
            return ()
        if pem not in self._parsed:
            try:
                self._parsed[pem] = (load_certificate(pem.encode()),)
            except (KeyMaterialError, ValueError):
                self._parsed[pem] = ()  # an unreadable pin trusts nothing
        return self._parsed[pem]

    def _entry(self, row: Mapping[Any, Any]) -> RegisteredAgency:
        pem = row["certificate_pem"]
        certificates = self._pins(pem) + self._pins(row["next_certificate_pem"])
        return RegisteredAgency(
            id=int(str(row["id"])), code=str(row["code"]), name=str(row["name"]),
            organization_in_charge=str(row["organization_in_charge"] or ""), active=bool(row["active"]),
            delivery_mode=str(row["delivery_mode"]), endpoint_url=_optional(row["endpoint_url"]),
            certificate_pem=_optional(pem), certificate_fingerprint=_optional(row["certificate_fingerprint"]),
            token_hash=str(row["token_hash"]), certificates=certificates,
            next_certificate_fingerprint=_optional(row["next_certificate_fingerprint"]),
            vxp_system_id=_optional(row.get("vxp_system_id")),
            vxp_secret=_bytes(row.get("vxp_secret")),
            signature_policy=str(row.get("signature_policy") or "required"),
        )


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _bytes(value: object) -> bytes | None:
    return bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else None
