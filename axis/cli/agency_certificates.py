"""``axis agency certificates``, ``next-certificate`` and ``retire-certificate``: the certificate lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from axis.certificate_expiry import (
    AgencyCertificates,
    CertificateRecord,
    Role,
    certificate_records,
    needing_attention,
)
from axis.cli.common import echo_json, settings_of
from axis.identity import KeyFiles
from axis.runtime import run_in_session
from axis.settings import Settings
from signing.errors import KeyMaterialError
from signing.keys import Certificate, load_certificate, load_certificates
from storage.models import Agency
from storage.registry import agencies as registry


def _parsed(pem: str | None) -> Certificate | None:
    if not pem:
        return None
    try:
        return load_certificate(pem.encode())
    except (KeyMaterialError, ValueError):
        return None


def _agency_certificates(agency: Agency) -> AgencyCertificates:
    pairs: list[tuple[Role, Certificate | None]] = [
        ("current", _parsed(agency.certificate_pem)), ("next", _parsed(agency.next_certificate_pem))]
    return agency.code, agency.name, [(role, c) for role, c in pairs if c is not None]


def _records(settings: Settings) -> list[CertificateRecord]:
    async def work(session: Any) -> list[AgencyCertificates]:
        return [_agency_certificates(a) for a in await registry.list_agencies(session)]

    agencies = run_in_session(settings, work)
    cas = [c for path in settings.ca_certificates for c in load_certificates(path.read_bytes())]
    axis_cert = KeyFiles(settings.keys_dir).axis_cert
    axis = load_certificate(axis_cert.read_bytes()) if axis_cert.exists() else None
    return certificate_records(agencies, cas, settings.axis_code, axis)


@click.command("certificates")
@click.option("--expiring-within", "days", type=click.IntRange(min=0), default=None,
              help="Only certificates expired or expiring within DAYS days.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def agency_certificates(ctx: click.Context, days: int | None, as_json: bool) -> None:
    """Every agency, CA and axis certificate with its expiry, soonest first."""
    settings = settings_of(ctx)
    now = datetime.now(UTC)
    warning = settings.cert_warning_days if days is None else days
    records = _records(settings)
    shown = needing_attention(records, now, days) if days is not None else sorted(records, key=lambda r: r.not_after)
    if as_json:
        echo_json([r.as_json(now, warning) for r in shown])
        return
    if not shown:
        click.echo(f"no certificate expires within {days} days ({len(records)} watched)" if days is not None
                   else "no certificates registered")
        return
    rows = [(r.owner, r.role, r.not_after.strftime("%Y-%m-%d %H:%M"), str(r.days_left(now)),
             r.state(now, warning), r.fingerprint[:16], r.name) for r in shown]
    header = ("OWNER", "ROLE", "EXPIRES (UTC)", "DAYS", "STATE", "SHA-256", "NAME")
    widths = [max(len(row[i]) for row in (*rows, header)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1])
    expired = sum(1 for r in shown if r.state(now, warning) == "expired")
    click.echo(f"{len(shown)} certificates: {expired} expired, "
               f"{sum(1 for r in shown if r.state(now, warning) == 'expiring')} expiring within {warning} days")


def _summary(agency: Agency) -> dict[str, Any]:
    return {"code": agency.code, "certificate_fingerprint": agency.certificate_fingerprint,
            "next_certificate_fingerprint": agency.next_certificate_fingerprint}


@click.command("next-certificate")
@click.argument("code")
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM certificate the agency moves to.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def agency_next_certificate(ctx: click.Context, code: str, cert_path: Path, as_json: bool) -> None:
    """Register the certificate agency CODE moves to: both verify until the current one expires or is retired."""
    pem = cert_path.read_bytes()

    async def work(session: Any) -> dict[str, Any]:
        return _summary(await registry.add_next_certificate(session, code, pem))

    try:
        done = run_in_session(settings_of(ctx), work)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(done)
    elif done["next_certificate_fingerprint"] is None:
        click.echo(f"{code}: had no certificate; now signs with sha256 {done['certificate_fingerprint']}")
    else:
        click.echo(f"{code}: next certificate sha256 {done['next_certificate_fingerprint']} registered; "
                   f"it verifies beside sha256 {done['certificate_fingerprint']} until that one expires or is retired")


@click.command("retire-certificate")
@click.argument("code")
@click.option("--next", "retire_next", is_flag=True, help="Withdraw the next certificate instead of the current one.")
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def agency_retire_certificate(ctx: click.Context, code: str, retire_next: bool, reason: str, as_json: bool) -> None:
    """Retire agency CODE's current certificate (its next one takes over), or withdraw the next one."""

    async def work(session: Any) -> dict[str, Any]:
        which = "next" if retire_next else "current"
        return _summary(await registry.retire_certificate(session, code, which=which, reason=reason))

    try:
        done = run_in_session(settings_of(ctx), work)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json(done)
    else:
        click.echo(f"{code}: {'next certificate withdrawn' if retire_next else 'current certificate retired'}; "
                   f"signs with sha256 {done['certificate_fingerprint']} only")


#: The lifecycle commands, added to ``axis agency``.
COMMANDS = (agency_certificates, agency_next_certificate, agency_retire_certificate)
