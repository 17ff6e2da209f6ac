"""`axis db upgrade` on PostgreSQL: one migrator at a time, and a migration gives up on a busy table.

A migration that needs an exclusive table lock while a long transaction reads the table waits,
and while it waits every new request on that table queues behind it. ``lock_timeout`` bounds
that: the migration fails with a sentence saying why, the traffic goes on, nothing is half applied.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from migrations.locks import MIGRATION_LOCK_ID, MigrationLockBusy, MigrationLockTimeout
from migrations.upgrade import MIGRATIONS_DIR, alembic_config, apply, current_head, upgrade
from tests.databases import ENV, fresh_database, postgres_server

AXIS = Path(sys.executable).with_name("axis")

pytestmark = pytest.mark.timeout(120)

#: A migration of a later release that adds a column to ``messages`` (an ACCESS EXCLUSIVE lock).
EXTRA = '''"""a test-only migration that alters messages"""
from alembic import op
import sqlalchemy as sa

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("test_only", sa.Integer()))


def downgrade() -> None:
    op.drop_column("messages", "test_only")
'''


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_a_migration_waiting_on_a_busy_table_gives_up_instead_of_holding_up_requests(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, await postgres_server())
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_test_only.py").write_text(EXTRA.format(head=current_head()))
    async with fresh_database(tmp_path) as url:
        await asyncio.to_thread(upgrade, url)
        reporting = await asyncpg.connect(_dsn(url))  # a long report: its transaction reads messages
        clerk = await asyncpg.connect(_dsn(url))  # a request arriving while the migration waits
        try:
            report = reporting.transaction()
            await report.start()
            await reporting.fetchval("SELECT count(*) FROM messages")

            config = alembic_config(url)
            config.set_main_option("script_location", str(scripts))
            config.attributes["lock_timeout_seconds"] = 1.5
            started = time.monotonic()
            migration = asyncio.create_task(asyncio.to_thread(apply, config))
            await asyncio.sleep(0.5)  # the ALTER TABLE is now queued for its lock
            # The request waits behind the queued ALTER only until the migration gives up.
            assert await clerk.fetchval("SELECT count(*) FROM messages", timeout=10) == 0
            answered = time.monotonic() - started
            with pytest.raises(MigrationLockTimeout, match=r"waited more than 1.5 s for a table lock"):
                await migration
            assert answered < 4, answered

            # Nothing of it is applied; the report's transaction goes on and ends normally.
            assert await clerk.fetchval("SELECT version_num FROM alembic_version") == current_head()
            assert await clerk.fetchval("SELECT count(*) FROM information_schema.columns "
                                        "WHERE table_name = 'messages' AND column_name = 'test_only'") == 0
            assert await reporting.fetchval("SELECT count(*) FROM messages") == 0
            await report.commit()
            # The same run once the table is free: applied, and the migration lock released.
            await asyncio.to_thread(apply, config)
            assert await clerk.fetchval("SELECT version_num FROM alembic_version") == "9999"
            assert await clerk.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == 0
        finally:
            await reporting.close()
            await clerk.close()


async def test_a_second_upgrade_waits_for_the_first_then_says_why_it_gave_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, await postgres_server())
    async with fresh_database(tmp_path) as url:
        other = await asyncpg.connect(_dsn(url))  # stands for another node's `axis db upgrade`
        try:
            await other.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
            started = time.monotonic()
            with pytest.raises(MigrationLockBusy, match="another `axis db upgrade`"):
                await asyncio.to_thread(upgrade, url, lock_wait=1.0)
            assert 1.0 <= time.monotonic() - started < 5
            assert await other.fetchval("SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_name = 'alembic_version'") == 0

            env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
            env.update(AXIS_HOME=str(tmp_path / "home"), AXIS_DATABASE_URL=url)
            proc = await asyncio.to_thread(subprocess.run, [str(AXIS), "db", "upgrade", "--lock-wait", "0.5"],
                                           env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 3, proc.stderr
            assert len(proc.stderr.strip().splitlines()) == 1 and "--lock-wait" in proc.stderr, proc.stderr

            # Once the other run ends, this one gets the lock within its wait and migrates.
            waiting = asyncio.create_task(asyncio.to_thread(upgrade, url, lock_wait=30.0))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await other.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
            await waiting
            assert await other.fetchval("SELECT version_num FROM alembic_version") == current_head()
        finally:
            await other.close()
