"""``axis envelope``: sign, verify and show edXML files locally."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from axis.cli.common import echo_json
from envelope.errors import EnvelopeError
from envelope.model import DocumentMessage, StatusMessage
from envelope.parser import parse_message
from signing.errors import SignatureError
from signing.keys import (
    fingerprint,
    load_certificate,
    load_certificates,
    load_private_key,
)
from signing.signer import sign_envelope
from signing.verifier import VerifyPolicy, verify_envelope


@click.group()
def envelope() -> None:
    """Tools for edXML envelopes: new, new-status, sign, verify, show."""


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
    raw = infile.read_bytes()
    try:
        # Trusting a CA, the signer must also be the From agency (signing/binding.py), as on the axis.
        sender = parse_message(raw).from_.organ_id if cas else None
        result = verify_envelope(
            raw, pinned=pinned, policy=VerifyPolicy(legacy_sha1=legacy_sha1, ca_certificates=cas), sender=sender
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
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>18}: {_plain(value)}")


def _plain(value: Any) -> str:
    """A field's value as people read it: lists joined, attachments and references spelled out, never a repr."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list):
        if value and all(isinstance(v, dict) and "name" in v for v in value):
            return "; ".join(f"{v['name']} ({v['content_type']}, {v['size']} bytes, sha256 {v['sha256']})"
                             for v in value)
        return ", ".join(_plain(v) for v in value) or "—"
    return "—" if value is None or value == "" else str(value)
