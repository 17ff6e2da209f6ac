"""What the exchange needs at run time, built once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from cryptography.fernet import Fernet
from cryptography.x509 import Certificate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from axis.settings import Settings
from signing.keys import IssuedIdentity
from signing.verifier import VerifyPolicy
from storage.committer import Committer
from storage.payloads.files import BlobStore
from storage.payloads.store import PayloadStore
from storage.registry.cache import RegistryCache
from storage.registry.vxp import load_or_create_key

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Wall-clock time, UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class AxisContext:
    """Engine, sessions, blobs, the axis identity and trust policy, and the clock."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    #: The blob files: large payloads on the filesystem backend, and bodies being spooled (on every
    #: backend, node-local). Read and store payloads via ``payloads``.
    blobs: BlobStore
    identity: IssuedIdentity
    policy: VerifyPolicy
    clock: Clock = field(default=system_clock)
    #: Stores accepted messages of concurrent requests together (group commit).
    committer: Committer = field(init=False, compare=False)
    #: Every payload, small ones in the database and larger ones in the ``blob_backend``: the one way to read them.
    payloads: PayloadStore = field(init=False, compare=False)
    #: The agency registry, in memory, refreshed when its version moves.
    registry: RegistryCache = field(init=False, compare=False)
    #: Bounds the streamed passes over large (spooled) bodies running at once (``large_body_concurrency``).
    large_bodies: asyncio.Semaphore = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "committer", Committer(self.sessions))
        object.__setattr__(self, "payloads",
                           PayloadStore(self.blobs, self.engine, self.settings.inline_payload_max_bytes,
                                        self.settings.blob_backend_name))
        object.__setattr__(self, "registry",
                           RegistryCache(self.engine, refresh_seconds=self.settings.registry_refresh_seconds))
        object.__setattr__(self, "large_bodies", asyncio.Semaphore(max(1, self.settings.large_body_concurrency)))

    @cached_property
    def vxp_cipher(self) -> Fernet:
        """The cipher of agencies' national SDK secrets (read once per process)."""
        return load_or_create_key(self.settings.vxp_secret_key, self.settings.vxp_key_path)

    @property
    def axis_certificate(self) -> Certificate:
        """The certificate that signs submission receipts."""
        return self.identity.certificate
