"""The ``axis`` command line: the root group and one module per command family."""

from __future__ import annotations

import click

from axis.cli import agency_certificates as certificates
from axis.cli import archive, backup, bench, envelope, exchange, messages, registry, server, users
from axis.cli.blobs import blobs


@click.group()
@click.version_option(package_name="national-document-axis")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """National Document Axis: interagency edXML exchange."""
    ctx.ensure_object(dict)


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


def main() -> None:
    """Console-script entry point."""
    cli(obj={})
