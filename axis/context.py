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

from axis.identity import key_files, load_axis_identity
from axis.settings import Settings
from signing.keys import IssuedIdentity, load_certificates
from signing.verifier import VerifyPolicy
from storage.committer import Committer
from storage.db import create_engine, session_factory
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
    clock: Clock
    #: Stores accepted messages of concurrent requests together (group commit).
    committer: Committer = field(compare=False)
    #: Every payload, small ones in the database and larger ones in the ``blob_backend``: the one way to read them.
    payloads: PayloadStore = field(compare=False)
    #: The agency registry, in memory, refreshed when its version moves.
    registry: RegistryCache = field(compare=False)
    #: Bounds the streamed passes over large (spooled) bodies running at once (``large_body_concurrency``).
    large_bodies: asyncio.Semaphore = field(compare=False)

    @cached_property
    def vxp_cipher(self) -> Fernet:
        """The cipher of agencies' national SDK secrets (read once per process)."""
        return load_or_create_key(self.settings.vxp_secret_key, self.settings.vxp_key_path)

    @property
    def axis_certificate(self) -> Certificate:
        """The certificate that signs submission receipts."""
        return self.identity.certificate


def build_context(
    settings: Settings,
    clock: Clock = system_clock,
    *,
    engine: AsyncEngine | None = None,
    identity: IssuedIdentity | None = None,
    policy: VerifyPolicy | None = None,
    blobs: BlobStore | None = None,
) -> AxisContext:
    """The context from the settings (the app factory's and every command's), any part handed in instead."""
    engine = engine if engine is not None else create_engine(
        settings.resolved_database_url, idle_in_transaction_seconds=settings.database_idle_in_transaction_seconds)
    if identity is None:
        identity = load_axis_identity(key_files(settings), settings.key_kind)
    if policy is None:
        cas: list[Certificate] = []
        for path in settings.ca_certificates:
            cas.extend(load_certificates(path.read_bytes()))
        policy = VerifyPolicy(legacy_sha1=settings.legacy_sha1, ca_certificates=tuple(cas))
    blobs = blobs if blobs is not None else BlobStore(settings.blob_dir)
    sessions = session_factory(engine)
    return AxisContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        blobs=blobs,
        identity=identity,
        policy=policy,
        clock=clock,
        committer=Committer(sessions),
        payloads=PayloadStore(blobs, engine, settings.inline_payload_max_bytes, settings.blob_backend_name),
        registry=RegistryCache(engine, refresh_seconds=settings.registry_refresh_seconds),
        large_bodies=asyncio.Semaphore(max(1, settings.large_body_concurrency)),
    )
