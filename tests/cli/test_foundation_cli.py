"""The foundation commands an integrator runs by hand: db, agency, keys, envelope."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from envelope.builder import build_document
from envelope.codes import Priority
from envelope.model import (
    Attachment,
    DocumentCode,
    DocumentMessage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
)
from signing.keys import load_identity
from tests.signing.xmlsec1_interop import signature_template, with_template, xmlsec1_or_skip, xmlsec1_sign

AXIS = str(Path(sys.executable).with_name("axis"))


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the axis CLI as a user would."""
    done = subprocess.run([AXIS, *args], env=env, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"axis {' '.join(args)} failed: {done.stderr}")
    return done


@pytest.fixture
def env(tmp_path: Path, empty_database_url: str) -> Iterator[dict[str, str]]:
    values = dict(os.environ, AXIS_HOME=str(tmp_path / "home"), AXIS_DATABASE_URL=empty_database_url)
    run(values, "db", "upgrade")
    yield values


def test_agency_add_prints_token_once_and_list_shows_agency(env: dict[str, str]) -> None:
    added = json.loads(run(env, "agency", "add", "000.00.00.G22", "--name", "Văn phòng Chính phủ", "--json").stdout)
    assert added["code"] == "000.00.00.G22" and added["token"].startswith("axis_")
    assert added["delivery_mode"] == "pull"
    listed = json.loads(run(env, "agency", "list", "--json").stdout)
    assert [a["code"] for a in listed] == ["000.00.00.G22"]
    assert "token" not in listed[0]
    assert "Văn phòng Chính phủ" in run(env, "agency", "list").stdout


def test_agency_add_refuses_malformed_code_and_duplicate(env: dict[str, str]) -> None:
    bad = run(env, "agency", "add", "G22", "--name", "x", check=False)
    assert bad.returncode != 0 and "agency code" in bad.stderr
    run(env, "agency", "add", "000.00.00.H29", "--name", "UBND TP HCM")
    dup = run(env, "agency", "add", "000.00.00.H29", "--name", "again", check=False)
    assert dup.returncode != 0 and "already registered" in dup.stderr


def _sample(tmp: Path) -> Path:
    doc = DocumentMessage.new(
        from_=Organization("000.00.00.G22", "Văn phòng Chính phủ"),
        to=[Organization("000.00.00.H41", "UBND tỉnh Nghệ An"), Organization("000.00.00.H29", "UBND TP HCM")],
        code=DocumentCode("7816", "VPCP-TTĐT"),
        promulgation=PromulgationInfo("Hà Nội", date(2026, 11, 20)),
        document_type=DocumentType.from_abbreviation(""),
        subject="Về việc gửi, nhận văn bản điện tử",
        other_info=OtherInfo(priority=Priority.URGENT),
        attachments=[Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 " + bytes(range(256)))],
    )
    path = tmp / "unsigned.xml"
    path.write_bytes(build_document(doc))
    return path


def test_keys_sign_verify_show_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "keys", "init")
    home = Path(env["AXIS_HOME"])
    assert (home / "keys" / "axis.cert.pem").exists()
    assert oct((home / "keys" / "axis.key.pem").stat().st_mode & 0o777) == "0o600"
    run(env, "keys", "issue", "000.00.00.G22", "--out", str(tmp_path / "g22"))
    key, cert = tmp_path / "g22" / "000.00.00.G22.key.pem", tmp_path / "g22" / "000.00.00.G22.cert.pem"
    signed = tmp_path / "signed.xml"
    run(env, "envelope", "sign", "--key", str(key), "--cert", str(cert), str(_sample(tmp_path)), "-o", str(signed))

    ok = run(env, "envelope", "verify", "--cert", str(cert), str(signed))
    assert ok.stdout.startswith("OK")
    ok_ca = run(env, "envelope", "verify", "--ca", str(home / "keys" / "dev-ca.cert.pem"), str(signed))
    assert ok_ca.returncode == 0

    shown = json.loads(run(env, "envelope", "show", str(signed), "--json").stdout)
    assert shown["document_id"] == "000.00.00.G22,2026/11/20,7816/VPCP-TTĐT"
    assert shown["from"] == "000.00.00.G22"
    assert shown["to"] == ["000.00.00.H41", "000.00.00.H29"]
    assert shown["subject"] == "Về việc gửi, nhận văn bản điện tử"
    assert (shown["code_number"], shown["code_notation"]) == ("7816", "VPCP-TTĐT")
    assert (shown["business_type"], shown["priority"]) == (0, 1)
    data = b"%PDF-1.4 " + bytes(range(256))
    assert shown["attachments"] == [{"name": "cong-van.pdf", "content_type": "application/pdf", "size": len(data),
                                     "sha256": hashlib.sha256(data).hexdigest()}]

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace("gửi, nhận".encode(), b"gui, nhan"))
    bad = run(env, "envelope", "verify", "--cert", str(cert), str(tampered), check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("INVALID") and len(bad.stderr.strip().splitlines()) == 1

    run(env, "keys", "issue", "000.00.00.H29", "--out", str(tmp_path / "h29"))
    wrong = run(env, "envelope", "verify", "--cert", str(tmp_path / "h29" / "000.00.00.H29.cert.pem"), str(signed),
                check=False)
    assert wrong.returncode == 1


def test_cli_signature_verifies_with_xmlsec1_and_xmlsec1_signature_verifies_with_cli(
    env: dict[str, str], tmp_path: Path
) -> None:
    xmlsec1 = xmlsec1_or_skip()
    run(env, "keys", "issue", "000.00.00.G22", "--out", str(tmp_path / "g22"))
    key, cert = tmp_path / "g22" / "000.00.00.G22.key.pem", tmp_path / "g22" / "000.00.00.G22.cert.pem"
    ca = Path(env["AXIS_HOME"]) / "keys" / "dev-ca.cert.pem"
    unsigned = _sample(tmp_path)
    signed = tmp_path / "signed.xml"
    run(env, "envelope", "sign", "--key", str(key), "--cert", str(cert), str(unsigned), "-o", str(signed))
    done = subprocess.run([xmlsec1, "--verify", "--enabled-reference-uris", "empty", "--trusted-pem", str(ca),
                           str(signed)], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr

    identity = load_identity(tmp_path / "g22", "000.00.00.G22")
    by_xmlsec1 = tmp_path / "by-xmlsec1.xml"
    by_xmlsec1.write_bytes(xmlsec1_sign(xmlsec1, with_template(unsigned.read_bytes(), signature_template()),
                                        identity, tmp_path))
    assert run(env, "envelope", "verify", "--cert", str(cert), str(by_xmlsec1)).returncode == 0
