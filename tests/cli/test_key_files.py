"""The axis key and certificate can live anywhere a deployment puts them; a node never invents its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from axis.cli import cli
from axis.context import build_context
from axis.identity import AxisKeyMissing
from axis.settings import load_settings
from signing.keys import fingerprint, load_certificate


def _axis(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_keys_init_writes_the_key_and_certificate_where_asked_and_every_node_signs_with_them(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    key, cert = secrets / "axis.key.pem", secrets / "axis.cert.pem"
    code, out, err = _axis({"AXIS_HOME": str(tmp_path / "operator")},
                           "keys", "init", "--key-file", str(key), "--certificate-file", str(cert))
    assert code == 0, err
    assert f"created: {cert}" in out and f"axis key: {key}" in out
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "operator" / "keys" / "axis.key.pem").exists()

    # Two nodes with their own homes, configured through the environment: the same identity, nothing written.
    prints = []
    for node in ("node1", "node2"):
        settings = load_settings(environ={"AXIS_HOME": str(tmp_path / node), "AXIS_AXIS_KEY_FILE": str(key),
                                          "AXIS_AXIS_CERTIFICATE_FILE": str(cert)})
        assert settings.axis_key_path == key and settings.axis_certificate_path == cert
        ctx = build_context(settings)
        prints.append(fingerprint(ctx.identity.certificate))
        assert not (tmp_path / node / "keys").exists()
    assert prints == [fingerprint(load_certificate(cert.read_bytes()))] * 2

    # keys init with the setting pointing there finds them and changes nothing.
    code, out, _ = _axis({"AXIS_HOME": str(tmp_path / "node1"), "AXIS_AXIS_KEY_FILE": str(key),
                          "AXIS_AXIS_CERTIFICATE_FILE": str(cert)}, "keys", "init")
    assert code == 0 and f"exists: {cert}" in out


def test_a_node_whose_configured_key_is_missing_refuses_to_start_instead_of_making_one(tmp_path: Path) -> None:
    key, cert = tmp_path / "secrets" / "axis.key.pem", tmp_path / "secrets" / "axis.cert.pem"
    settings = load_settings(environ={"AXIS_HOME": str(tmp_path / "node"), "AXIS_AXIS_KEY_FILE": str(key),
                                      "AXIS_AXIS_CERTIFICATE_FILE": str(cert)})
    with pytest.raises(AxisKeyMissing, match="axis keys init"):
        build_context(settings)
    assert not key.exists() and not cert.exists() and not (tmp_path / "node" / "keys").exists()


def test_half_a_key_pair_is_never_completed_with_a_new_key(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    key, cert = secrets / "axis.key.pem", secrets / "axis.cert.pem"
    env = {"AXIS_HOME": str(tmp_path / "home")}
    assert _axis(env, "keys", "init", "--key-file", str(key), "--certificate-file", str(cert))[0] == 0
    cert.unlink()
    before = key.read_bytes()
    code, _, err = _axis(env, "keys", "init", "--key-file", str(key), "--certificate-file", str(cert))
    assert code == 1 and "only one of" in err
    assert key.read_bytes() == before and not cert.exists()
