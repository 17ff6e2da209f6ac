"""`axis blobs migrate`: move large payloads from one backend to the other, one verified payload at a time.

Each payload is copied (the copy checked against its digest as it is written), read back from
the target and hashed again, and only then removed from the source. A crash at any point leaves
every payload whole in at least one backend, and :class:`storage.payloads.store.PayloadStore` reads
both, so the archive stays readable throughout. A run started again lists what is still in the
source: what was moved is not there any more, and a payload copied but not yet removed is found
complete in the target, checked and removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.archive_models import Blob
from storage.errors import BlobError
from storage.payloads.backends import PayloadBackend
from storage.payloads.store import BACKENDS, PayloadStore

#: Called after each payload: (digest, what happened) — "moved", "already", "disposed" or "failed".
Progress = Callable[[str, str], None]


@dataclass
class MigrationReport:
    """What one run did."""

    source: str
    target: str
    #: Payloads in the source when the run started.
    total: int = 0
    moved: int = 0
    #: Found complete in the target already (an earlier run stopped before removing the source).
    already: int = 0
    #: Left in the source: they do not hash to their name there (fixity will report them too).
    failed: dict[str, str] = field(default_factory=dict)
    #: Left alone: a disposal destroyed them (or was destroying them while this run copied).
    disposed: int = 0


def backends_for(store: PayloadStore, to: str) -> tuple[PayloadBackend, PayloadBackend]:
    """(source, target) of a move to the backend named ``to``."""
    if to not in BACKENDS:
        raise ValueError(f"no payload backend {to!r}; choose {' or '.join(BACKENDS)}")
    both = {b.name: b for b in (store.file_backend, store.chunk_backend)}
    target = both[to]
    source = next(b for name, b in both.items() if name != to)
    return source, target


async def _verified(target: PayloadBackend, sha256: str) -> bool:
    return await target.rehash(sha256) == sha256


def disposal_check(engine: AsyncEngine) -> Callable[[str], Awaitable[bool]]:
    """Whether a payload's disposal was committed (read afresh each time: a disposal may commit mid-run)."""

    async def disposed(sha256: str) -> bool:
        async with engine.connect() as conn:
            return (await conn.execute(select(Blob.disposed_at).where(Blob.sha256 == sha256))).scalar() is not None

    return disposed


async def move_one(source: PayloadBackend, target: PayloadBackend, sha256: str,
                   disposed: Callable[[str], Awaitable[bool]] | None = None) -> str:
    """Move one payload: "moved", "already" (found verified in the target), "disposed", or raise BlobError.

    A payload whose disposal committed is never copied, and a copy made while one committed is
    removed again: a disposal deletes from both backends once, and a copy made after that would
    bring the destroyed payload back.
    """
    if disposed is not None and await disposed(sha256):
        return "disposed"
    outcome = "already"
    if not await _verified(target, sha256):
        # A damaged copy in the target (none survives a crash mid-write) is replaced from the source.
        await target.delete(sha256)
        await target.write(source.chunks(sha256), sha256)
        if not await _verified(target, sha256):
            raise BlobError(f"the copy of {sha256} in the {target.name} backend does not hash to its name")
        outcome = "moved"
    if disposed is not None and await disposed(sha256):
        await target.delete(sha256)
        await source.delete(sha256)
        return "disposed"
    await source.delete(sha256)
    return outcome


async def migrate_payloads(store: PayloadStore, to: str, *, on_total: Callable[[int], None] | None = None,
                           progress: Progress | None = None) -> MigrationReport:
    """Move every large payload kept in the other backend to ``to``; resumable, readable throughout."""
    source, target = backends_for(store, to)
    report = MigrationReport(source.name, target.name, total=await source.count())
    if on_total is not None:
        on_total(report.total)
    async for sha256 in source.listing():
        try:
            outcome = await move_one(source, target, sha256, disposal_check(store.engine))
        except BlobError as exc:
            report.failed[sha256] = str(exc)
            outcome = "failed"
        if outcome == "moved":
            report.moved += 1
        elif outcome == "already":
            report.already += 1
        elif outcome == "disposed":
            report.disposed += 1
        if progress is not None:
            progress(sha256, outcome)
    return report
