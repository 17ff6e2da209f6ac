"""``axis agency`` and ``axis keys``: the agency registry, the axis key and development certificates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from axis.cli.common import echo_fields, echo_json, echo_table, emit, json_option, settings_of
from axis.identity import AxisKeyMissing, KeyFiles, issue_agency_identity, key_files, load_or_create_axis_identity
from axis.runtime import run_in_session
from axis.wording import AXIS_ROW_STATE, agency_state
from signing.keys import fingerprint
from storage.registry import agencies as registry
from storage.registry import vxp


def agency_json(agency: Any, axis_code: str = "") -> dict[str, Any]:
    """The public registry view of an agency (``state``: ``axis``, ``active`` or ``disabled``)."""
    return {
        "state": agency_state(agency.code, agency.active, axis_code),
        "code": agency.code,
        "name": agency.name,
        "active": agency.active,
        "certificate_fingerprint": agency.certificate_fingerprint,
        "delivery_mode": agency.delivery_mode,
        "endpoint": agency.endpoint_url,
    }


#: How the table words each state; the axis's own row reads as the web UI's English does.
STATE_WORDS = {"axis": AXIS_ROW_STATE, "active": "active", "disabled": "disabled by an operator"}


@click.group()
def agency() -> None:
    """The agency registry."""


@agency.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Official name of the agency.")
@click.option("--cert", "cert_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM certificate the agency signs with (pinned).")
@click.option("--endpoint", help="URL the axis pushes documents to; without it the agency pulls.")
@json_option
@click.pass_context
def agency_add(ctx: click.Context, code: str, name: str, cert_path: Path | None, endpoint: str | None,
               as_json: bool) -> None:
    """Register an agency; prints its token (shown only once) and registry entry (--json: as JSON)."""
    cert = cert_path.read_bytes() if cert_path else None
    settings = settings_of(ctx)

    async def work(session: Any) -> dict[str, Any]:
        reg = await registry.register_agency(session, code, name, certificate=cert, endpoint_url=endpoint,
                                             allow_http_endpoint=settings.push_allow_http)
        return {**agency_json(reg.agency), "token": reg.token}

    try:
        added = run_in_session(settings, work)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    emit(added, as_json, lambda: _print_added(added))


def _print_added(added: dict[str, Any]) -> None:
    click.echo(f"registered {added['code']} ({added['name']}); its token, shown only this once:")
    click.echo(added["token"])
    echo_fields([("delivery", added["delivery_mode"]), ("endpoint", added["endpoint"]),
                 ("certificate sha256", added["certificate_fingerprint"])])


@agency.command("list")
@json_option
@click.pass_context
def agency_list(ctx: click.Context, as_json: bool) -> None:
    """List registered agencies."""

    axis_code = settings_of(ctx).axis_code

    async def work(session: Any) -> list[dict[str, Any]]:
        return [agency_json(a, axis_code) for a in await registry.list_agencies(session)]

    rows = run_in_session(settings_of(ctx), work)
    emit(rows, as_json, lambda: echo_table(
        ["code", "delivery", "state", "name"],
        [[r["code"], r["delivery_mode"], STATE_WORDS[r["state"]], r["name"]] for r in rows],
        empty="no agencies registered (add one with: axis agency add CODE --name NAME)"))


@agency.command("vxp-secret")
@click.argument("code")
@click.option("--system-id", help="System id the DMS's SDK sends (default: kept, else the agency code).")
@click.pass_context
def agency_vxp_secret(ctx: click.Context, code: str, system_id: str | None) -> None:
    """Issue or rotate the national SDK system id and secret; prints JSON with the secret (shown only once)."""
    settings = settings_of(ctx)
    cipher = vxp.load_or_create_key(settings.vxp_secret_key, settings.vxp_key_path)

    async def work(session: Any) -> dict[str, Any]:
        chosen, secret = await vxp.issue_vxp_secret(session, code, cipher, system_id=system_id)
        return {"system_id": chosen, "secret": secret}

    try:
        echo_json(run_in_session(settings, work))
    except (registry.RegistryError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@agency.command("signature-policy")
@click.argument("code")
@click.argument("policy", type=click.Choice(vxp.SIGNATURE_POLICIES))
@click.pass_context
def agency_signature_policy(ctx: click.Context, code: str, policy: str) -> None:
    """Set whether an agency's documents must carry a valid signature (an audited operator decision)."""

    async def work(session: Any) -> dict[str, Any]:
        agency = await vxp.set_signature_policy(session, code, policy)
        return {"code": agency.code, "signature_policy": agency.signature_policy}

    try:
        echo_json(run_in_session(settings_of(ctx), work))
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def keys() -> None:
    """Axis key, development CA and agency development certificates."""


@keys.command("init")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the axis key here (default: axis_key_file, else AXIS_HOME/keys/axis.key.pem).")
@click.option("--certificate-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the axis certificate here (default: axis_certificate_file, else AXIS_HOME/keys).")
@click.pass_context
def keys_init(ctx: click.Context, key_file: Path | None, certificate_file: Path | None) -> None:
    """Create the axis key and certificate (and the development CA under AXIS_HOME), unless they exist."""
    files = key_files(settings_of(ctx))
    if key_file or certificate_file:
        files = KeyFiles(files.root, key_file or files.key or files.axis_key, certificate_file or files.cert
                         or files.axis_cert)
    try:
        ident, created = load_or_create_axis_identity(files, settings_of(ctx).key_kind)
    except AxisKeyMissing as exc:
        raise click.ClickException(str(exc)) from None
    verb = "created" if created else "exists"
    click.echo(f"axis certificate {verb}: {files.axis_cert} (sha256 {fingerprint(ident.certificate)})")
    click.echo(f"axis key: {files.axis_key}")
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
    files = KeyFiles(settings_of(ctx).keys_dir)
    ident = issue_agency_identity(files, code, name, out_dir, kind=kind)  # type: ignore[arg-type]  # Choice checked it
    click.echo(f"{out_dir / (code + '.key.pem')}")
    click.echo(f"{out_dir / (code + '.cert.pem')}  sha256 {fingerprint(ident.certificate)}")
    click.echo(f"issuer: {files.ca_cert}")
