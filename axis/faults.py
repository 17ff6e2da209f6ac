"""Expected faults told in one line: the database unavailable, a disk full or unwritable, an endpoint unreachable.

An operator reads one warning naming what failed (for a full disk: the path and its free space),
never a traceback for these; each kind is counted in ``axis_faults_total``. Anything else is not
expected and keeps its traceback where it is logged.
"""

from __future__ import annotations

import errno
import logging
import shutil
from pathlib import Path

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from axis.metrics import Metrics
from storage.errors import BlobError

DATABASE = "database_unavailable"
DISK_FULL = "disk_full"
DISK = "disk_unwritable"
ENDPOINT = "endpoint_unreachable"

_FULL = {errno.ENOSPC, errno.EDQUOT}
_UNWRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
_DATABASE = (OperationalError, DBAPIError, PoolTimeout, asyncpg.PostgresError, asyncpg.InterfaceError)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        orig = getattr(current, "orig", None)  # SQLAlchemy keeps the driver's error here
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return seen


def fault_kind(exc: BaseException) -> str | None:
    """Which expected fault ``exc`` is, or None for an unexpected error."""
    chain = _chain(exc)
    for err in chain:
        if isinstance(err, OSError) and err.errno in _FULL:
            return DISK_FULL
    for err in chain:
        if isinstance(err, _DATABASE):
            return DATABASE
    for err in chain:
        if isinstance(err, OSError) and err.errno in _UNWRITABLE:
            return DISK
        if isinstance(err, BlobError):
            return DISK
    if any(isinstance(err, (ConnectionError, OSError)) for err in chain):
        # Refused or reset while connecting to the database (the only peer a request or job talks to here).
        return DATABASE
    return None


def free_space(path: Path) -> str:
    """``path`` and the free space of its filesystem, for a log line."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return f"{path} (free space unknown)"
    return f"{path} ({usage.free / 2**20:.0f} MiB free of {usage.total / 2**20:.0f} MiB)"


def describe(exc: BaseException, kind: str, where: Path | None = None) -> str:
    """One line saying what failed, without a traceback."""
    last = _chain(exc)[-1]
    text = f"{type(last).__name__}: {last}".splitlines()[0][:300]
    if kind == DISK_FULL:
        return f"disk full at {free_space(where) if where else 'an unknown path'}: {text}"
    if kind == DISK:
        return f"cannot write {where or 'the disk'}: {text}"
    if kind == DATABASE:
        return f"database unavailable: {text}"
    return text


def report(log: logging.Logger, what: str, exc: BaseException, *, metrics: Metrics | None = None,
           where: Path | None = None, request_id: str | None = None) -> bool:
    """Log an expected fault as one warning line and count it; False (nothing logged) for anything else."""
    kind = fault_kind(exc)
    if kind is None:
        return False
    if metrics is not None:
        metrics.faults.labels(kind).inc()
    suffix = f" [request {request_id}]" if request_id else ""
    log.warning("%s: %s%s", what, describe(exc, kind, where), suffix)
    return True


class FaultStreak:
    """A loop's run of failures told once: the first as a warning line, the end as one more (how many, how long).

    A loop retrying twice a second through a database outage would otherwise write a line (or a
    traceback) every round. Unexpected errors still get their traceback, each time.
    """

    def __init__(self, log: logging.Logger, what: str, metrics: Metrics | None = None) -> None:
        self.log, self.what, self.metrics = log, what, metrics
        self.failures = 0
        self.kind: str | None = None

    def failed(self, exc: BaseException, where: Path | None = None) -> None:
        """Record one failed round."""
        kind = fault_kind(exc)
        if kind is None:
            self.log.error("%s failed", self.what, exc_info=exc)
            return
        if self.metrics is not None:
            self.metrics.faults.labels(kind).inc()
        self.failures += 1
        if kind != self.kind:
            self.kind = kind
            self.log.warning("%s: %s (retrying; logged again when it recovers)", self.what,
                             describe(exc, kind, where))

    def succeeded(self) -> None:
        """Record a round that worked; ends a streak with one line."""
        if self.failures:
            self.log.warning("%s: recovered after %d failed rounds", self.what, self.failures)
            self.failures = 0
            self.kind = None
