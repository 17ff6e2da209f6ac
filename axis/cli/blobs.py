"""``axis blobs``: where large payloads are kept, and moving them between the filesystem and the database."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from axis.cli.common import echo_json, settings_of
from axis.runtime import prepare_home
from storage.db import create_engine
from storage.payloads.files import BlobStore
from storage.payloads.migration import MigrationReport, migrate_payloads
from storage.payloads.store import BACKENDS, PayloadStore


@click.group()
def blobs() -> None:
    """Large payloads: the filesystem or the database backend (setting blob_backend)."""


class _Bar:
    """A progress bar on stderr when it is a terminal; nothing otherwise (logs, pipes, tests)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def start(self, total: int) -> None:
        """Open the bar once the number of payloads is known."""
        if sys.stderr.isatty() and total:
            self.bar = click.progressbar(length=total, label=self.label, show_pos=True, file=sys.stderr)
            self.bar.__enter__()

    def step(self, _sha256: str, _outcome: str) -> None:
        """One payload done."""
        if self.bar is not None:
            self.bar.update(1)

    def finish(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@blobs.command("migrate")
@click.option("--to", "to", type=click.Choice(BACKENDS), required=True,
              help="The backend to move every large payload to.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def blobs_migrate(ctx: click.Context, to: str, as_json: bool) -> None:
    """Move large payloads to the filesystem or the database, each verified; run again to resume.

    Set blob_backend to the same value on every node (new payloads then go there); both backends
    are read meanwhile, so the archive stays readable during the move. Exit 1 if a payload could not
    be moved (it stays where it was).
    """
    settings = settings_of(ctx)
    prepare_home(settings)
    bar = _Bar(f"moving payloads to the {to}")

    async def main() -> MigrationReport:
        engine = create_engine(settings.resolved_database_url)
        store = PayloadStore(BlobStore(settings.blob_dir), engine, settings.inline_payload_max_bytes, to)
        try:
            return await migrate_payloads(store, to, on_total=bar.start, progress=bar.step)
        finally:
            bar.finish()
            await engine.dispose()

    report = asyncio.run(main())
    if as_json:
        echo_json({"from": report.source, "to": report.target, "total": report.total, "moved": report.moved,
                   "already": report.already, "disposed": report.disposed, "failed": report.failed})
    else:
        click.echo(f"from {report.source} to {report.target}: {report.total} payloads")
        click.echo(f"moved {report.moved}")
        click.echo(f"already there {report.already}")
        if report.disposed:
            click.echo(f"left alone, disposed {report.disposed}")
        click.echo(f"failed {len(report.failed)}")
        for sha, why in report.failed.items():
            click.echo(f"FAILED {sha}: {why}", err=True)
    if report.failed:
        sys.exit(1)
