"""``axis backup DIR`` and ``axis restore DIR``: a whole axis to a directory with a manifest, and back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from axis.archive.backup import BackupError, backup, restore
from axis.cli.common import settings_of


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def backup_command(ctx: click.Context, directory: Path) -> None:
    """Back up the live axis (database, keys, SDK secret key, head log, payload files) into DIRECTORY."""
    try:
        summary = backup(settings_of(ctx), directory)
    except BackupError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    click.echo(f"OK: backup in {summary.directory}: {summary.database} database and {summary.files} files, "
               f"{summary.bytes} bytes, {summary.seconds:.1f} s; manifest.json lists their SHA-256")


@click.command("restore")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an axis already in the target home and database.")
@click.pass_context
def restore_command(ctx: click.Context, directory: Path, force: bool) -> None:
    """Check DIRECTORY against its manifest and restore it into the configured home and database."""
    try:
        summary = restore(settings_of(ctx), directory, force=force)
    except BackupError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    click.echo(f"OK: restored {summary.files} files ({summary.database} database, {summary.bytes} bytes of files) "
               f"in {summary.seconds:.1f} s; next: axis fixity check && axis audit verify")
