"""Alembic configured in code: upgrade the schema, report the revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from migrations.locks import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    DEFAULT_LOCK_WAIT_SECONDS,
    MigrationLockError,
    MigrationLockTimeout,
)

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url`` without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head", *, lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
            lock_timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> None:
    """Apply migrations up to ``revision`` (synchronous; run it in a thread from async code).

    On PostgreSQL it waits at most ``lock_wait`` seconds for another migrator, and each statement at
    most ``lock_timeout`` seconds for a lock; past either it raises a ``MigrationLockError``.
    """
    config = alembic_config(database_url)
    config.attributes["lock_wait_seconds"] = lock_wait
    config.attributes["lock_timeout_seconds"] = lock_timeout
    apply(config, revision)


def apply(config: Config, revision: str = "head") -> None:
    """Run ``config``'s migrations up to ``revision``; a statement's lock timeout becomes ``MigrationLockTimeout``."""
    try:
        command.upgrade(config, revision)
    except MigrationLockError:
        raise
    except Exception as exc:
        if not _lock_not_available(exc):
            raise
        seconds = float(config.attributes.get("lock_timeout_seconds", DEFAULT_LOCK_TIMEOUT_SECONDS))
        raise MigrationLockTimeout(
            f"a migration waited more than {seconds:g} s for a table lock another transaction holds, and gave "
            "up rather than hold up the requests queued behind it; the migrations before it are applied, "
            "that one is not. Run `axis db upgrade` again when the long transaction has ended "
            "(or pass --lock-timeout SECONDS)") from exc


def _lock_not_available(exc: BaseException) -> bool:
    """True when PostgreSQL refused a lock after ``lock_timeout`` (SQLSTATE 55P03) anywhere in the chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == "55P03" or getattr(getattr(seen, "orig", None), "sqlstate",
                                                                  None) == "55P03":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def current_head() -> str:
    """The newest revision shipped with this code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
