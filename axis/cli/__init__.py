"""The ``axis`` command line: the root group and one module per command family."""

from __future__ import annotations

import threading
from typing import Any

import click

from axis.cli import agency_certificates as certificates
from axis.cli import archive, backup, bench, compose, envelope, exchange, messages, registry, server, users
from axis.cli.blobs import blobs
from axis.cli.failures import explain


class _Axis(click.Group):
    """The root group: a failure a person can fix is one line (``--debug`` keeps the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn a known failure into its one line."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            obj = ctx.obj if isinstance(ctx.obj, dict) else {}
            if obj.get("debug"):
                raise
            settings = obj.get("settings")
            line = explain(exc, settings.resolved_database_url if settings is not None else None)
            if line is None:
                raise
            # A driver's worker thread may still fail as the interpreter exits; its traceback would follow
            # the one line and bury it.
            threading.excepthook = lambda _: None
            raise line from None


@click.group(cls=_Axis)
@click.version_option(package_name="national-document-axis")
@click.option("--debug", is_flag=True, help="Print the whole traceback of a failure instead of one line.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """National Document Axis: interagency edXML exchange."""
    ctx.ensure_object(dict)["debug"] = debug


for command in (
    server.serve, server.db,
    registry.agency, registry.keys,
    envelope.envelope,
    exchange.send, exchange.inbox, exchange.fetch, exchange.status, exchange.ack, exchange.trace, exchange.demo,
    users.user,
    archive.audit, archive.fixity, archive.retention_group, archive.report, archive.register, archive.jobs,
    bench.bench,
    blobs,
    messages.messages,
    backup.backup_command, backup.restore_command,
):
    cli.add_command(command)
for command in certificates.COMMANDS:
    registry.agency.add_command(command)
envelope.envelope.add_command(compose.envelope_new)
envelope.envelope.add_command(compose.envelope_new_status)


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
