"""`axis agency vxp-secret` and `axis agency signature-policy`, run as an operator would."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import text

from storage.db import create_engine
from tests.cli.test_foundation_cli import env, run  # noqa: F401 - the fixture is used by name

A = "000.00.00.G22"


async def _stored(url: str) -> list[tuple[str, bytes, str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT vxp_system_id, vxp_secret, signature_policy FROM agencies WHERE code = :c"), {"c": A})).all()
            audit = (await conn.execute(text("SELECT details FROM audit_events"))).scalars().all()
    finally:
        await engine.dispose()
    return [(r[0], bytes(r[1]), r[2]) for r in rows] + [("audit", "\n".join(audit).encode(), "")]


def test_vxp_secret_is_printed_once_stored_encrypted_and_rotates(env: dict[str, str],  # noqa: F811
                                                                  tmp_path: Path) -> None:
    run(env, "agency", "add", A, "--name", "Văn phòng Chính phủ")
    first = json.loads(run(env, "agency", "vxp-secret", A).stdout)
    assert set(first) == {"system_id", "secret"} and first["system_id"] == A and len(first["secret"]) >= 40
    second = json.loads(run(env, "agency", "vxp-secret", A, "--system-id", "vpcp-eoffice").stdout)
    assert second["system_id"] == "vpcp-eoffice" and second["secret"] != first["secret"]
    (system_id, secret, policy), (_, audit, _) = asyncio.run(_stored(env["AXIS_DATABASE_URL"]))
    assert (system_id, policy) == ("vpcp-eoffice", "required")
    for shown in (first["secret"], second["secret"]):
        assert shown.encode() not in secret and shown.encode() not in audit
    key = Path(env["AXIS_HOME"]) / "keys" / "vxp-secrets.key"
    assert key.stat().st_mode & 0o077 == 0  # the key file is the owner's only
    unknown = run(env, "agency", "vxp-secret", "000.00.00.H29", check=False)
    assert unknown.returncode != 0 and "000.00.00.H29" in unknown.stderr


def test_signature_policy_is_set_and_checked(env: dict[str, str]) -> None:  # noqa: F811
    run(env, "agency", "add", A, "--name", "Văn phòng Chính phủ")
    out = json.loads(run(env, "agency", "signature-policy", A, "legacy-transport").stdout)
    assert out == {"code": A, "signature_policy": "legacy-transport"}
    assert run(env, "agency", "signature-policy", A, "none", check=False).returncode != 0
