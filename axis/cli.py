"""The ``axis`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from axis.identity import KeyFiles, issue_agency_identity, load_or_create_axis_identity
from axis.runtime import run_in_session
from axis.settings import Settings, load_settings
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, StatusMessage
from envelope.parser import parse_message
from signing.errors import SignatureError
from signing.keys import fingerprint, load_certificate, load_certificates, load_private_key
from signing.signer import sign_envelope
from signing.verifier import VerifyPolicy, verify_envelope
from storage import registry
from storage.migrate import upgrade


def _settings(ctx: click.Context) -> Settings:
    return ctx.ensure_object(dict).setdefault("settings", load_settings())


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@click.group()
@click.version_option(package_name="national-document-axis")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """National Document Axis: interagency edXML exchange."""
    ctx.ensure_object(dict)


# --- server -----------------------------------------------------------------


@cli.command()
@click.option("--host", help="Listen address (default from settings).")
@click.option("--port", type=int, help="Listen port (default from settings).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes sharing the port. Database claims and job leases keep them from doing "
                   "the same work, exactly as with several nodes.")
@click.option("--reuse-port", is_flag=True, hidden=True)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int, reuse_port: bool) -> None:
    """Run the API, the web UI, the delivery workers and the scheduler."""
    import logging
    import subprocess

    from aiohttp import web

    from axis.app import create_app
    from axis.runtime import prepare_home

    settings = _settings(ctx)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    prepare_home(settings)
    host = host or settings.host
    port = port or settings.port
    # One Python process uses one core; more processes on one port (SO_REUSEPORT, the
    # kernel spreads connections) use the others.
    children = [
        subprocess.Popen([sys.executable, "-c", "from axis.cli import main; main()", "serve", "--host", host,
                          "--port", str(port), "--reuse-port"])
        for _ in range(workers - 1)
    ]
    if not reuse_port:
        click.echo(f"axis serving on http://{host}:{port} with {workers} process(es) "
                   f"(database {_redact(settings.resolved_database_url)})")
    try:
        web.run_app(create_app(settings), host=host, port=port, access_log=None, print=None,
                    reuse_port=reuse_port or workers > 1)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


# --- database ---------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    settings = _settings(ctx)
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    click.echo(f"database at head ({_redact(settings.resolved_database_url)})")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --- agencies ---------------------------------------------------------------


def agency_json(agency: Any) -> dict[str, Any]:
    """The public registry view of an agency."""
    return {
        "code": agency.code,
        "name": agency.name,
        "active": agency.active,
        "certificate_fingerprint": agency.certificate_fingerprint,
        "delivery_mode": agency.delivery_mode,
        "endpoint": agency.endpoint_url,
    }


@cli.group()
def agency() -> None:
    """The agency registry."""


@agency.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Official name of the agency.")
@click.option("--cert", "cert_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM certificate the agency signs with (pinned).")
@click.option("--endpoint", help="URL the axis pushes documents to; without it the agency pulls.")
@click.pass_context
def agency_add(ctx: click.Context, code: str, name: str, cert_path: Path | None, endpoint: str | None) -> None:
    """Register an agency; prints JSON with its token (shown only once)."""
    cert = cert_path.read_bytes() if cert_path else None

    async def work(session: Any) -> dict[str, Any]:
        reg = await registry.register_agency(session, code, name, certificate=cert, endpoint_url=endpoint)
        return {**agency_json(reg.agency), "token": reg.token}

    try:
        _echo_json(run_in_session(_settings(ctx), work))
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None


@agency.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def agency_list(ctx: click.Context, as_json: bool) -> None:
    """List registered agencies."""

    async def work(session: Any) -> list[dict[str, Any]]:
        return [agency_json(a) for a in await registry.list_agencies(session)]

    rows = run_in_session(_settings(ctx), work)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no agencies registered (add one with: axis agency add CODE --name NAME)")
        return
    for r in rows:
        state = "active" if r["active"] else "disabled"
        click.echo(f"{r['code']}  {r['delivery_mode']:<4}  {state:<8}  {r['name']}")


# --- keys -------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Axis key, development CA and agency development certificates."""


@keys.command("init")
@click.pass_context
def keys_init(ctx: click.Context) -> None:
    """Create the axis key and certificate (and the development CA) under AXIS_HOME."""
    files = KeyFiles(_settings(ctx).keys_dir)
    ident, created = load_or_create_axis_identity(files)
    verb = "created" if created else "exists"
    click.echo(f"axis certificate {verb}: {files.axis_cert} (sha256 {fingerprint(ident.certificate)})")
    click.echo(f"development CA: {files.ca_cert}")


@keys.command("issue")
@click.argument("code")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="", help="Common name for the certificate (defaults to the code).")
@click.option("--kind", type=click.Choice(["rsa", "ec"]), default="rsa", show_default=True)
@click.pass_context
def keys_issue(ctx: click.Context, code: str, out_dir: Path, name: str, kind: str) -> None:
    """Issue a development certificate for agency CODE into DIR."""
    from envelope.codes import is_agency_code

    if not is_agency_code(code):
        raise click.ClickException(f"{code!r} is not an agency code (NNN.NN.NN.Xnn)")
    files = KeyFiles(_settings(ctx).keys_dir)
    ident = issue_agency_identity(files, code, name, out_dir, kind=kind)  # type: ignore[arg-type]
    click.echo(f"{out_dir / (code + '.key.pem')}")
    click.echo(f"{out_dir / (code + '.cert.pem')}  sha256 {fingerprint(ident.certificate)}")
    click.echo(f"issuer: {files.ca_cert}")


# --- envelopes --------------------------------------------------------------


@cli.group()
def envelope() -> None:
    """Tools for edXML envelopes: sign, verify, show."""


@envelope.command("sign")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: standard output.")
def envelope_sign(infile: Path, key_path: Path, cert_path: Path, output: Path | None) -> None:
    """Sign an edXML file (signature placed after TraceHeaderList)."""
    try:
        signed = sign_envelope(
            infile.read_bytes(), load_private_key(key_path.read_bytes()), load_certificate(cert_path.read_bytes())
        )
    except (EnvelopeError, SignatureError) as exc:
        raise click.ClickException(str(exc)) from None
    if output:
        output.write_bytes(signed)
    else:
        sys.stdout.buffer.write(signed)


@envelope.command("verify")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cert", "cert_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signer's certificate (pinned).")
@click.option("--ca", "ca_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CA whose directly issued certificates are trusted.")
@click.option("--legacy-sha1", is_flag=True, help="Accept SHA-1 signatures.")
def envelope_verify(infile: Path, cert_path: Path | None, ca_path: Path | None, legacy_sha1: bool) -> None:
    """Verify an edXML signature; exit 0 only when valid."""
    if not cert_path and not ca_path:
        raise click.UsageError("give --cert or --ca")
    pinned = load_certificates(cert_path.read_bytes()) if cert_path else []
    cas = tuple(load_certificates(ca_path.read_bytes())) if ca_path else ()
    try:
        result = verify_envelope(
            infile.read_bytes(), pinned=pinned, policy=VerifyPolicy(legacy_sha1=legacy_sha1, ca_certificates=cas)
        )
    except (EnvelopeError, SignatureError) as exc:
        click.echo(f"INVALID: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    subject = result.certificate.subject.rfc4514_string()
    click.echo(f"OK: signed by {subject} (sha256 {fingerprint(result.certificate)})")


def message_json(msg: DocumentMessage | StatusMessage) -> dict[str, Any]:
    """The parsed fields of a message as plain JSON."""
    if isinstance(msg, StatusMessage):
        return {
            "kind": "status",
            "from": msg.from_.organ_id,
            "status_code": str(msg.status_code),
            "description": msg.description,
            "timestamp": msg.timestamp.isoformat(),
            "response_for": {
                "organ_id": msg.response_for.organ_id,
                "code": msg.response_for.code,
                "document_id": msg.response_for.document_id,
            },
        }
    return {
        "kind": "edoc",
        "document_id": msg.document_id,
        "from": msg.from_.organ_id,
        "to": [o.organ_id for o in msg.to],
        "subject": msg.subject,
        "code_number": msg.code.code_number,
        "code_notation": msg.code.code_notation,
        "type_name": msg.document_type.type_name,
        "promulgation_date": msg.promulgation.promulgation_date.isoformat(),
        "business_type": int(msg.bussiness.bussiness_doc_type),
        "priority": int(msg.other_info.priority),
        "response_for": [r.document_id for r in msg.response_for],
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in msg.attachments
        ],
    }


@envelope.command("show")
@click.argument("infile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def envelope_show(infile: Path, as_json: bool) -> None:
    """Show the parsed fields of an edXML file (the signature is not checked)."""
    try:
        data = message_json(parse_message(infile.read_bytes()))
    except EnvelopeError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise click.ClickException(f"{exc}{where}") from None
    if as_json:
        _echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>18}: {value}")


def main() -> None:
    """Console-script entry point."""
    cli(obj={})


import axis.commands_exchange  # noqa: E402,F401  (registers send, inbox, fetch, status, ack, trace, demo)
import axis.bench.command  # noqa: E402,F401  (registers bench)
import axis.commands_web  # noqa: E402,F401  (registers user add, user list)
import axis.commands_archive  # noqa: E402,F401  (registers audit, fixity, retention, report, register, jobs)
