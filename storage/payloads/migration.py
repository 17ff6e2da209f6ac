"""`axis blobs migrate`: move large payloads from one backend to the other, one verified payload at a time.

Each payload is copied (the copy checked against its digest as it is written), read back from
the target and hashed again, and only then removed from the source. A crash at any point leaves
every payload whole in at least one backend, and :class:`storage.payloads.store.PayloadStore` reads
both, so the archive stays readable throughout. A run started again lists what is still in the
source: what was moved is not there any more, and a payload copied but not yet removed is found
complete in the target, checked and removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from storage.errors import BlobError
from storage.payloads.backends import PayloadBackend
from storage.payloads.store import BACKENDS, PayloadStore

#: Called after each payload: (digest, what happened) — "moved", "already", or "failed".
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


async def move_one(source: PayloadBackend, target: PayloadBackend, sha256: str) -> str:
    """Move one payload: "moved", "already" (found verified in the target), or raise BlobError."""
    outcome = "already"
    if not await _verified(target, sha256):
        # A damaged copy in the target (none survives a crash mid-write) is replaced from the source.
        await target.delete(sha256)
        await target.write(source.chunks(sha256), sha256)
        if not await _verified(target, sha256):
            raise BlobError(f"the copy of {sha256} in the {target.name} backend does not hash to its name")
        outcome = "moved"
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
            outcome = await move_one(source, target, sha256)
        except BlobError as exc:
            report.failed[sha256] = str(exc)
            outcome = "failed"
        if outcome == "moved":
            report.moved += 1
        elif outcome == "already":
            report.already += 1
        if progress is not None:
            progress(sha256, outcome)
    return report
