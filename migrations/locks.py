"""The locks a migration run takes on PostgreSQL, their defaults, and the failures when one is not had in time."""

from __future__ import annotations

# Any constant works; it only has to be the same in every axis process.
MIGRATION_LOCK_ID = 0x0A815_0001

#: How long `axis db upgrade` waits for another node's run to end before it gives up.
DEFAULT_LOCK_WAIT_SECONDS = 300.0
#: How long one statement of a migration waits for a table or row lock (PostgreSQL ``lock_timeout``).
DEFAULT_LOCK_TIMEOUT_SECONDS = 5.0


class MigrationLockError(RuntimeError):
    """A migration run did not get a lock in time; nothing of the migration it was in is applied."""


class MigrationLockBusy(MigrationLockError):
    """Another migrator holds the migration lock."""


class MigrationLockTimeout(MigrationLockError):
    """A migration's statement waited longer than ``lock_timeout`` for a lock (a long transaction holds it)."""
