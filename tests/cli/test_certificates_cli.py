"""``axis agency certificates``, ``next-certificate`` and ``retire-certificate`` as an operator runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from signing.keys import certificate_pem, fingerprint, generate_private_key, self_signed_certificate
from tests.cli.test_foundation_cli import _sample, env, run  # noqa: F401 - env is a fixture

G22, H29 = "000.00.00.G22", "000.00.00.H29"


def _cert(path: Path, code: str, days_left: float) -> str:
    now = dt.datetime.now(dt.UTC)
    key = generate_private_key("ec")
    certificate = self_signed_certificate(key, code, organ_id=code, not_before=now - dt.timedelta(days=100),
                                          not_after=now + dt.timedelta(days=days_left))
    path.write_bytes(certificate_pem(certificate))
    return fingerprint(certificate)


def test_certificates_lists_soonest_first_and_filters_by_days(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    run(env, "keys", "init")
    soon = _cert(tmp_path / "g22.pem", G22, 9.5)
    gone = _cert(tmp_path / "h29.pem", H29, -2.5)
    run(env, "agency", "add", G22, "--name", "Văn phòng Chính phủ", "--cert", str(tmp_path / "g22.pem"))
    run(env, "agency", "add", H29, "--name", "UBND TP Hồ Chí Minh", "--cert", str(tmp_path / "h29.pem"))

    listed = json.loads(run(env, "agency", "certificates", "--expiring-within", "10", "--json").stdout)
    assert [(c["owner"], c["role"], c["fingerprint"], c["state"], c["days_left"]) for c in listed] == [
        (H29, "current", gone, "expired", -2), (G22, "current", soon, "expiring", 9)]
    assert json.loads(run(env, "agency", "certificates", "--expiring-within", "5", "--json").stdout)[0]["owner"] == H29
    every = json.loads(run(env, "agency", "certificates", "--json").stdout)
    assert {c["role"] for c in every} == {"current", "axis"}  # the axis's own certificate is watched too

    table = run(env, "agency", "certificates", "--expiring-within", "10").stdout.splitlines()
    assert table[0].split()[:3] == ["OWNER", "ROLE", "EXPIRES"]
    assert table[1].startswith(H29) and "expired" in table[1] and "UBND TP Hồ Chí Minh" in table[1]
    assert table[-1] == "2 certificates: 1 expired, 1 expiring within 10 days"


def test_next_certificate_then_retire_the_current_one(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    old = _cert(tmp_path / "old.pem", G22, 20)
    new = _cert(tmp_path / "new.pem", G22, 700)
    run(env, "agency", "add", G22, "--name", "Văn phòng Chính phủ", "--cert", str(tmp_path / "old.pem"))
    early = run(env, "agency", "retire-certificate", G22, check=False)
    assert early.returncode != 0 and "no next certificate" in early.stderr

    added = json.loads(run(env, "agency", "next-certificate", G22, "--cert", str(tmp_path / "new.pem"), "--json").stdout)
    assert (added["certificate_fingerprint"], added["next_certificate_fingerprint"]) == (old, new)
    roles = {c["role"]: c["fingerprint"] for c in json.loads(run(env, "agency", "certificates", "--json").stdout)}
    assert (roles["current"], roles["next"]) == (old, new)

    done = run(env, "agency", "retire-certificate", G22, "--reason", "đổi khóa").stdout
    assert done.strip() == f"{G22}: current certificate retired; signs with sha256 {new} only"
    listed = json.loads(run(env, "agency", "list", "--json").stdout)
    assert listed[0]["certificate_fingerprint"] == new


def test_envelope_verify_with_a_ca_requires_the_signer_to_be_the_from_agency(env: dict[str, str],  # noqa: F811
                                                                              tmp_path: Path) -> None:
    ca = Path(env["AXIS_HOME"]) / "keys" / "dev-ca.cert.pem"
    for code in (G22, H29):
        run(env, "keys", "issue", code, "--out", str(tmp_path / code))
    unsigned = _sample(tmp_path)  # From 000.00.00.G22
    signed = {}
    for code in (G22, H29):
        signed[code] = tmp_path / f"signed-by-{code}.xml"
        run(env, "envelope", "sign", "--key", str(tmp_path / code / f"{code}.key.pem"),
            "--cert", str(tmp_path / code / f"{code}.cert.pem"), str(unsigned), "-o", str(signed[code]))
    assert run(env, "envelope", "verify", "--ca", str(ca), str(signed[G22])).stdout.startswith("OK")
    forged = run(env, "envelope", "verify", "--ca", str(ca), str(signed[H29]), check=False)
    assert forged.returncode == 1
    assert forged.stderr.strip() == f"INVALID: SignerNotSender: signed by {H29}'s certificate; From is {G22}"
