"""What the exchange needs at run time, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.x509 import Certificate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from axis.exchange.committer import Committer
from axis.settings import Settings
from signing.keys import IssuedIdentity
from signing.verifier import VerifyPolicy
from storage.blobs import BlobStore

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
    blobs: BlobStore
    identity: IssuedIdentity
    policy: VerifyPolicy
    clock: Clock = field(default=system_clock)
    #: Stores accepted messages of concurrent requests together (group commit).
    committer: Committer = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "committer", Committer(self.sessions))

    @property
    def axis_certificate(self) -> Certificate:
        """The certificate that signs submission receipts."""
        return self.identity.certificate
