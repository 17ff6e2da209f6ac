"""``axis envelope new`` and ``axis envelope new-status``: signed edXML files written offline, for curl and tests."""

from __future__ import annotations

import sys
import unicodedata
from datetime import datetime
from pathlib import Path

import click

from axis.agency.client import compose_document, compose_status
from axis.cli.exchange import (
    _TYPE_HELP,
    _attachment,
    _check_code,
    _load_identity,
    _sign,
    default_notation,
    default_number,
)
from envelope.codes import STATUS_LABELS, VN_TZ, Priority, StatusCode, document_type_by_abbreviation
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, Organization
from envelope.parser import parse_message
from signing.keys import organ_id_of

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _write(data: bytes, output: Path | None) -> None:
    """The signed bytes to ``output``, or to standard output."""
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data)} bytes, signed)", err=True)


def _sender(as_code: str | None, cert: object) -> str:
    """The From agency: --as, else the agency code in the certificate's subject."""
    code = as_code or organ_id_of(cert)  # type: ignore[arg-type]
    if not code:
        raise click.BadParameter("the certificate names no agency code; give --as CODE", param_hint="--as")
    return _check_code(code, "--as")


@click.command("new")
@click.option("--key", "key_path", required=True, type=_FILE, envvar="AXIS_KEY", help="Your private key, PEM.")
@click.option("--cert", "cert_path", required=True, type=_FILE, envvar="AXIS_CERT", help="Your certificate, PEM.")
@click.option("--as", "as_code", metavar="CODE", envvar="AXIS_AS",
              help="Your agency code. Default: the one in the certificate.")
@click.option("--to", "to", required=True, metavar="CODE[,CODE...]", help="Recipient agency codes.")
@click.option("--subject", required=True, help="Trích yếu: what the document is about.")
@click.option("--type", "type_abbreviation", default="", metavar="ABBR", help=f"Document type: {_TYPE_HELP}.")
@click.option("--number", help="Document number (số). Default: the time of day as HHMMSS.")
@click.option("--notation", help="Symbol (ký hiệu). Default: TYPE-Xnn.")
@click.option("--priority", type=click.IntRange(0, 4), default=0, show_default=True, help="0 normal … 4 flash.")
@click.option("--name", "organ_name", help="Your agency's name. Default: its code.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: standard output.")
@click.argument("files", nargs=-1, required=True, type=_FILE)
def envelope_new(key_path: Path, cert_path: Path, as_code: str | None, to: str, subject: str,
                 type_abbreviation: str, number: str | None, notation: str | None, priority: int,
                 organ_name: str | None, output: Path | None, files: tuple[Path, ...]) -> None:
    """Write a new signed edXML document with FILE... attached (what `curl --data-binary @signed.xml` posts)."""
    key, cert = _load_identity(key_path, cert_path)
    sender = _sender(as_code, cert)
    recipients = [_check_code(c.strip(), "--to") for c in to.split(",") if c.strip()]
    if not recipients:
        raise click.BadParameter("give at least one recipient", param_hint="--to")
    type_abbreviation = unicodedata.normalize("NFC", type_abbreviation.strip())
    try:
        document_type_by_abbreviation(type_abbreviation)
    except KeyError:
        raise click.BadParameter(f"unknown type {type_abbreviation!r}; known: {_TYPE_HELP}",
                                 param_hint="--type") from None
    now = datetime.now(VN_TZ)
    doc = compose_document(
        sender=Organization(sender, organ_name or sender),
        recipients=[Organization(c, c) for c in recipients],
        subject=subject, number=number or default_number(now),
        notation=notation or default_notation(type_abbreviation, sender), type_abbreviation=type_abbreviation,
        attachments=[_attachment(i, p) for i, p in enumerate(files, start=1)], priority=Priority(priority),
        promulgation_date=now.date(), sent_at=now,
    )
    _write(_sign(doc, key, cert), output)


@click.command("new-status")
@click.option("--key", "key_path", required=True, type=_FILE, envvar="AXIS_KEY", help="Your private key, PEM.")
@click.option("--cert", "cert_path", required=True, type=_FILE, envvar="AXIS_CERT", help="Your certificate, PEM.")
@click.option("--as", "as_code", metavar="CODE", envvar="AXIS_AS",
              help="Your agency code. Default: the one in the certificate.")
@click.option("--code", "code", required=True, type=click.Choice([str(c) for c in StatusCode]),
              help="01 arrived (the delivery receipt), 02 refused, 03 accepted … 13 taken back.")
@click.option("--description", help="Why or what (default: the status's Vietnamese label).")
@click.option("--name", "organ_name", help="Your agency's name. Default: its code.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: standard output.")
@click.argument("document", type=_FILE)
def envelope_new_status(key_path: Path, cert_path: Path, as_code: str | None, code: str, description: str | None,
                        organ_name: str | None, output: Path | None, document: Path) -> None:
    """Write a signed status CODE answering DOCUMENT (an edXML file you fetched), e.g. the 01 receipt."""
    key, cert = _load_identity(key_path, cert_path)
    sender = _sender(as_code, cert)
    try:
        answered = parse_message(document.read_bytes())
    except EnvelopeError as exc:
        raise click.ClickException(f"{document} is not readable edXML: {exc}") from None
    if not isinstance(answered, DocumentMessage):
        raise click.ClickException(f"{document} is a status message, not a document")
    status_code = StatusCode(code)
    message = compose_status(
        sender=Organization(sender, organ_name or sender), document=answered, code=status_code,
        description=STATUS_LABELS[status_code][0] if description is None else description,
    )
    _write(_sign(message, key, cert), output)
