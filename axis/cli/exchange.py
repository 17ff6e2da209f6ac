"""Agency-side commands of the ``axis`` CLI: send, inbox, fetch, status, ack, trace, demo.

They talk to a running axis over HTTP with :class:`axis.agency.client.AxisClient`, as an
agency's DMS would; only ``demo`` also touches the local database (to register).
Imported at the bottom of :mod:`axis.cli`, which owns the ``cli`` group.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import click

from axis.agency.client import (
    AxisApiError,
    AxisClient,
    compose_document,
    compose_status,
    sign_message,
)
from axis.cli.common import echo_fields, echo_json, echo_table, emit, json_option, settings_of
from axis.wording import counted
from envelope.codes import (
    DOCUMENT_TYPES,
    PRIORITY_LABELS,
    STATUS_LABELS,
    VN_TZ,
    Priority,
    StatusCode,
    document_type_by_abbreviation,
    is_agency_code,
)
from envelope.errors import EnvelopeError
from envelope.model import Attachment, DocumentMessage, Organization
from envelope.parser import parse_message
from signing.errors import KeyMaterialError, SignatureError
from signing.keys import load_certificate, load_private_key

T = TypeVar("T")

_TYPE_HELP = ", ".join(t.abbreviation for t in DOCUMENT_TYPES if t.abbreviation)


# --- shared plumbing ----------------------------------------------------------


def _base_url(_: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The axis's base URL; ``host:port`` alone means plain HTTP, as people type it."""
    if value is None or not value.strip():
        return value
    value = value.strip()
    if "://" not in value:
        value = "http://" + value
    scheme = value.split("://", 1)[0].lower()
    if scheme not in {"http", "https"}:
        raise click.BadParameter(f"{value} is not an http:// or https:// URL (e.g. http://127.0.0.1:8080)",
                                 param=param)
    return value.rstrip("/")


def _connection(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --server, --as and --token (also from AXIS_SERVER, AXIS_AS, AXIS_TOKEN)."""
    options = [
        click.option("--server", required=True, envvar="AXIS_SERVER", metavar="URL", callback=_base_url,
                     help="Base URL of the axis, e.g. http://127.0.0.1:8080 [env AXIS_SERVER]."),
        click.option("--as", "as_code", required=True, envvar="AXIS_AS", metavar="CODE",
                     help="Your agency code (mã định danh), e.g. 000.00.00.G22 [env AXIS_AS]."),
        click.option("--token", required=True, envvar="AXIS_TOKEN", metavar="T",
                     help="Your agency's bearer token [env AXIS_TOKEN]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _signing(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --key and --cert (also from AXIS_KEY, AXIS_CERT)."""
    path = click.Path(exists=True, dir_okay=False, path_type=Path)
    func = click.option("--cert", "cert_path", required=True, type=path, envvar="AXIS_CERT",
                        help="Your agency's certificate, PEM [env AXIS_CERT].")(func)
    return click.option("--key", "key_path", required=True, type=path, envvar="AXIS_KEY",
                        help="Your agency's private key, PEM [env AXIS_KEY].")(func)


def _check_code(value: str, what: str) -> str:
    if not is_agency_code(value):
        raise click.BadParameter(f"{value!r} is not an agency code (NNN.NN.NN.Xnn, e.g. 000.00.00.G22)",
                                 param_hint=what)
    return value


def _run(work: Callable[[AxisClient], Awaitable[T]], server: str, token: str) -> T:
    """Run ``work`` with a client; API problems and network trouble become a clean exit 1."""

    async def main() -> T:
        async with AxisClient(server, token) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except AxisApiError as exc:
        detail = exc.problem.get("detail", "")
        field = exc.problem.get("field")
        where = f" (field {field})" if field else ""
        raise click.ClickException(f"{exc.code or 'HTTP ' + str(exc.status)}: {detail}{where}") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise click.ClickException(f"cannot reach the axis at {server}: {exc or type(exc).__name__}") from None


def _load_identity(key_path: Path, cert_path: Path) -> tuple[Any, Any]:
    try:
        return load_private_key(key_path.read_bytes()), load_certificate(cert_path.read_bytes())
    except (KeyMaterialError, ValueError) as exc:
        raise click.ClickException(f"cannot read the signing key or certificate: {exc}") from None


async def _names(client: AxisClient) -> dict[str, str]:
    """Agency names by code, from the axis registry."""
    return {a["code"]: a["name"] for a in await client.agencies()}


def _sign(message: Any, key: Any, cert: Any) -> bytes:
    try:
        return sign_message(message, key, cert)
    except (EnvelopeError, SignatureError) as exc:
        raise click.ClickException(f"cannot build or sign the message: {exc}") from None


# --- send -----------------------------------------------------------------------


def default_number(now: datetime | None = None) -> str:
    """The document number when none is given: the time of day as HHMMSS (Vietnam time), no leading zeros.

    Unique per second, and the DocumentId also carries the date, so two
    documents sent more than a second apart never share a DocumentId.
    """
    return str(int((now or datetime.now(VN_TZ)).astimezone(VN_TZ).strftime("%H%M%S")) or 1)


def default_notation(type_abbreviation: str, sender: str) -> str:
    """The symbol when none is given: TYPE-Xnn (e.g. QĐ-G22); a Công văn gets just Xnn."""
    unit = sender.rsplit(".", 1)[-1]
    return f"{type_abbreviation}-{unit}" if type_abbreviation else unit


def _attachment(index: int, path: Path) -> Attachment:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Attachment(f"cid:{index}", path.name, content_type, path.read_bytes())


@click.command()
@_connection
@_signing
@click.option("--to", "to", required=True, metavar="CODE[,CODE...]", help="Recipient agency codes.")
@click.option("--subject", required=True, help="Trích yếu: what the document is about.")
@click.option("--type", "type_abbreviation", default="", metavar="ABBR",
              help=f"Document type abbreviation (Decree 30/2020): {_TYPE_HELP}. Default: Công văn.")
@click.option("--number", help="Document number (số). Default: the time of day as HHMMSS, Vietnam time, without "
                   "leading zeros (93015 at 09:30:15).")
@click.option("--notation", help="Symbol (ký hiệu). Default: TYPE-Xnn from --type and the last part of "
                                 "--as (e.g. QĐ-G22); for a Công văn just Xnn.")
@click.option("--priority", type=click.IntRange(0, 4), default=0, show_default=True,
              help="0 normal, 1 urgent (Khẩn), 2 very urgent (Thượng khẩn), 3 flash (Hỏa tốc), "
                   "4 flash at a set time.")
@click.option("--name", "organ_name", help="Your agency's name. Default: its name in the axis registry.")
@click.option("--content", default="", help="Short content text (Content).")
@click.option("--place", default="Hà Nội", show_default=True, help="Place of promulgation.")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def send(server: str, as_code: str, token: str, key_path: Path, cert_path: Path, to: str, subject: str,
         type_abbreviation: str, number: str | None, notation: str | None, priority: int,
         organ_name: str | None, content: str, place: str, files: tuple[Path, ...], as_json: bool) -> None:
    """Build an edXML document from FILE..., sign it, submit it; prints what was accepted (--json: the reply).

    The reply's signed submission receipt is in the --json output (and on the document's page).

    Attachments are cid:1..n in the order given, their content type guessed
    from the file name. The promulgation date is today (Vietnam time).
    """
    _check_code(as_code, "--as")
    recipients = [c.strip() for c in to.split(",") if c.strip()]
    if not recipients:
        raise click.BadParameter("give at least one recipient", param_hint="--to")
    for code in recipients:
        _check_code(code, "--to")
    type_abbreviation = unicodedata.normalize("NFC", type_abbreviation.strip())
    try:
        document_type_by_abbreviation(type_abbreviation)
    except KeyError:
        raise click.BadParameter(f"unknown type {type_abbreviation!r}; known: {_TYPE_HELP}",
                                 param_hint="--type") from None
    key, cert = _load_identity(key_path, cert_path)
    attachments = [_attachment(i, p) for i, p in enumerate(files, start=1)]
    now = datetime.now(VN_TZ)

    async def work(client: AxisClient) -> dict[str, Any]:
        names = await _names(client)
        doc = compose_document(
            sender=Organization(as_code, organ_name or names.get(as_code, as_code)),
            recipients=[Organization(c, names.get(c, c)) for c in recipients],
            subject=subject,
            number=number or default_number(now),
            notation=notation or default_notation(type_abbreviation, as_code),
            type_abbreviation=type_abbreviation,
            attachments=attachments,
            content=content,
            priority=Priority(priority),
            place=place,
            promulgation_date=now.date(),
            sent_at=now,
        )
        return await client.submit(_sign(doc, key, cert))

    reply = _run(work, server, token)
    emit(reply, as_json, lambda: _print_accepted(reply))


def _print_accepted(reply: dict[str, Any]) -> None:
    """One line naming the message id, then each recipient's delivery state."""
    what = f"status {reply['status_code']}" if reply.get("status_code") else "document"
    recipients = reply.get("recipients", [])
    click.echo(f"accepted {what} {reply.get('document_id', '')} as message {reply.get('id', '')} "
               f"for {counted(len(recipients), 'recipient')} (sha256 {str(reply.get('sha256', ''))[:16]}…, "
               "signed receipt: --json)")
    if recipients:
        echo_table(["recipient", "state"], [[r.get("organ_id"), r.get("state")] for r in recipients])


# --- inbox, fetch, ack, trace -------------------------------------------------------


def _short_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _priority_label(value: Any) -> str:
    try:
        return PRIORITY_LABELS[Priority(int(value))][1]
    except (TypeError, ValueError):
        return ""


def inbox_table(items: list[dict[str, Any]]) -> list[str]:
    """Inbox items as aligned text lines (times in Vietnam time)."""
    lines = [f"{'ID':<26}  {'KIND':<6}  {'RECEIVED (ICT)':<19}  {'FROM':<13}  {'PRIORITY':<11}  SUBJECT"]
    for item in items:
        if item.get("kind") == "status":
            code = item.get("status_code", "")
            try:
                label = STATUS_LABELS[StatusCode(code)][1]
            except ValueError:
                label = ""
            what = f"status {code} {label} for {item.get('document_id', '')}"
            if item.get("subject"):
                what += f": {item['subject']}"
            priority = ""
        else:
            what = f"{item.get('document_id', '')}  {item.get('subject', '')}"
            priority = _priority_label(item.get("priority"))
        lines.append(f"{item.get('id', ''):<26}  {item.get('kind', ''):<6}  "
                     f"{_short_time(item.get('received_at', '')):<19}  {item.get('from', ''):<13}  "
                     f"{priority:<11}  {what}")
    return lines


@click.command()
@_connection
@click.option("--kind", type=click.Choice(["edoc", "status"]), help="Only documents or only statuses.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True, help="Items per page.")
@click.option("--cursor", help="Start after this item (the next_cursor of a previous page).")
@click.option("--wait", type=click.FloatRange(0, 60), default=0, metavar="SECONDS",
              help="When nothing waits, wait up to this long for the first arrival (long-poll).")
@click.option("--json", "as_json", is_flag=True, help="Print the API reply as JSON.")
def inbox(server: str, as_code: str, token: str, kind: str | None, limit: int, cursor: str | None, wait: float,
          as_json: bool) -> None:
    """List what waits for your agency, oldest first: documents and statuses."""
    _check_code(as_code, "--as")
    page = _run(lambda c: c.inbox(kind=kind, limit=limit, cursor=cursor, wait=wait), server, token)
    if as_json:
        echo_json(page)
        return
    items = page.get("items", [])
    if not items:
        click.echo(f"inbox of {as_code} is empty")
        return
    for line in inbox_table(items):
        click.echo(line)
    if page.get("next_cursor"):
        click.echo(f"… more: axis inbox --cursor {page['next_cursor']}")


@click.command()
@_connection
@click.argument("message_id", metavar="ID", required=False)
@click.option("-o", "--output", required=True, type=click.Path(allow_dash=True, path_type=Path),
              help="File to write the signed edXML to ('-' for standard output); with --inbox, a directory.")
@click.option("--inbox", "whole_inbox", is_flag=True,
              help="Instead of ID: every message waiting in your inbox (one page), each as ID.xml in the directory "
                   "--output; small ones come in one request.")
@click.option("--kind", type=click.Choice(["edoc", "status"]), help="With --inbox: only documents or only statuses.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True,
              help="With --inbox: messages at most.")
@click.option("--wait", type=click.FloatRange(0, 60), default=0, metavar="SECONDS",
              help="With --inbox: when nothing waits, wait up to this long for the first arrival.")
def fetch(server: str, as_code: str, token: str, message_id: str | None, output: Path, whole_inbox: bool,
          kind: str | None, limit: int, wait: float) -> None:
    """Download message ID exactly as it was submitted (signed edXML bytes), or with --inbox all that wait."""
    if whole_inbox == (message_id is not None):
        raise click.UsageError("give a message ID or --inbox (not both)")
    if whole_inbox:
        output.mkdir(parents=True, exist_ok=True)
        pulled, more = _run(lambda c: c.pull(kind=kind, limit=limit, wait=wait), server, token)
        for item, data in pulled:
            _write(output / f"{item['id']}.xml", data)
        click.echo(f"{output}: {len(pulled)} message(s)" + (f"; more after {more}" if more else ""), err=True)
        return
    assert message_id is not None
    data = _run(lambda c: c.fetch(message_id), server, token)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _write(output, data)


def _write(output: Path, data: bytes) -> None:
    """Write a file whole or not at all, and say what it holds."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, output)
    click.echo(f"{output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}", err=True)


@click.command()
@_connection
@click.argument("message_ids", metavar="ID...", nargs=-1, required=True)
@json_option
def ack(server: str, as_code: str, token: str, message_ids: tuple[str, ...], as_json: bool) -> None:
    """Take status items off your inbox, several in one request (documents leave it with your signed 01)."""
    if len(message_ids) == 1:
        message_id = message_ids[0]
        reply = _run(lambda c: c.ack(message_id), server, token)
        emit(reply, as_json, lambda: click.echo(f"message {reply.get('id', message_id)}: {reply.get('state', '')}"))
        return
    results = _run(lambda c: c.ack_many(message_ids), server, token)

    def lines() -> None:
        for r in results:
            problem = r.get("problem")
            click.echo(f"message {r['id']}: " + (f"{problem['code']}: {problem['detail']}" if problem else r["state"]))

    emit({"results": results}, as_json, lines)
    if any("problem" in r for r in results):
        raise SystemExit(1)  # the others were taken off; this says not all were


@click.command()
@_connection
@click.argument("message_id", metavar="ID")
@json_option
def trace(server: str, as_code: str, token: str, message_id: str, as_json: bool) -> None:
    """Per-recipient delivery state and status timeline of document ID (--json: the API reply)."""
    reply = _run(lambda c: c.trace(message_id), server, token)
    emit(reply, as_json, lambda: print_trace(reply))


def print_trace(reply: dict[str, Any]) -> None:
    """A trace for people: the document, a table of recipients, a table of statuses (Vietnam time)."""
    fields: list[tuple[str, Any]] = [("message", reply.get("id")), ("document", reply.get("document_id")),
                                     ("from", reply.get("from")), ("subject", reply.get("subject")),
                                     ("received", _short_time(reply.get("received_at") or ""))]
    if reply.get("revoked_at"):
        fields.append(("revoked", _short_time(reply["revoked_at"])))
    echo_fields(fields)
    click.echo("")
    echo_table(["recipient", "mode", "state", "attempts", "retrieved (ICT)", "receipt (ICT)", "last error"],
               [[r.get("organ_id"), r.get("mode"), "revoked" if r.get("revoked_at") else r.get("state"),
                 r.get("attempts"), _short_time(r.get("retrieved_at") or "") or None,
                 _short_time(r.get("delivered_at") or "") or None, r.get("last_error")]
                for r in reply.get("recipients", [])], empty="no recipients")
    click.echo("")
    echo_table(["status", "label", "from", "stated (ICT)", "description"],
               [[e.get("status_code"), e.get("label"), e.get("from"), _short_time(e.get("stated_at") or "") or None,
                 e.get("description")] for e in reply.get("timeline", [])],
               empty="no statuses yet")


# --- status ---------------------------------------------------------------------


@click.command()
@_connection
@_signing
@click.argument("message_id", metavar="ID")
@click.argument("code", metavar="CODE", type=click.Choice([str(c) for c in StatusCode]))
@click.option("--description", help="Why or what (default: the status's Vietnamese label).")
@click.option("--name", "organ_name", help="Your agency's name. Default: its name in the axis registry.")
@json_option
def status(server: str, as_code: str, token: str, key_path: Path, cert_path: Path, message_id: str, code: str,
           description: str | None, organ_name: str | None, as_json: bool) -> None:
    """Answer document ID (one you received) with a signed status CODE; prints what was accepted (--json: the reply).

    CODE: 01 arrived (the delivery receipt), 02 refused, 03 accepted, 04 assigned,
    05 being handled, 06 completed, 15/16 agree/refuse a revoke, update or replace
    (answer the revoke message itself). 13 is the sender taking a document back.
    """
    _check_code(as_code, "--as")
    key, cert = _load_identity(key_path, cert_path)
    status_code = StatusCode(code)

    async def work(client: AxisClient) -> dict[str, Any]:
        raw = await client.fetch(message_id)
        try:
            document = parse_message(raw)
        except EnvelopeError as exc:
            raise click.ClickException(f"message {message_id} is not readable edXML: {exc}") from None
        if not isinstance(document, DocumentMessage):
            raise click.ClickException(f"message {message_id} is a status message, not a document")
        name = organ_name or (await _names(client)).get(as_code, as_code)
        message = compose_status(
            sender=Organization(as_code, name), document=document, code=status_code,
            description=STATUS_LABELS[status_code][0] if description is None else description,
        )
        return await client.post_status(_sign(message, key, cert))

    reply = _run(work, server, token)
    emit(reply, as_json, lambda: _print_accepted(reply))


# --- demo -----------------------------------------------------------------------


@click.command()
@click.option("--server", envvar="AXIS_SERVER", metavar="URL", callback=_base_url,
              help="Axis to send sample traffic to (must share this database). Default: "
                   "http://127.0.0.1:<port from settings> if it answers, else registration only.")
@click.pass_context
def demo(ctx: click.Context, server: str | None) -> None:
    """Seed sample agencies (keys, tokens) and realistic traffic among them.

    Registers five real agency codes in the local database, issues development
    keys under AXIS_HOME/demo/, keeps their tokens in AXIS_HOME/demo/tokens.json
    (mode 0600), and, when an axis answers, sends sample documents, statuses and
    a revoke through it. Safe to run again.
    """
    from axis.agency import demo as demo_logic

    settings = settings_of(ctx)
    try:
        summary = demo_logic.run_demo(settings, server)
    except demo_logic.DemoError as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary:
        click.echo(line)


__all__ = ["ack", "default_notation", "default_number", "demo", "fetch", "inbox", "send", "status", "trace"]
