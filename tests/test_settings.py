"""Settings: the shipped file says exactly what the code's defaults are, in tables; variables keep their names."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from axis.settings import DEFAULT_CONFIG, SECTIONS, Settings, load_settings, setting_fields


def _shipped() -> dict[str, tuple[str, object]]:
    """Every key of config/axis.toml with its table ("" for the top level)."""
    with DEFAULT_CONFIG.open("rb") as fh:
        document = tomllib.load(fh)
    found: dict[str, tuple[str, object]] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            found.update({name: (key, inner) for name, inner in value.items()})
        else:
            found[key] = ("", value)
    return found


def test_every_setting_is_in_the_shipped_file_in_its_table() -> None:
    shipped = _shipped()
    fields = setting_fields()
    assert set(shipped) == set(fields), set(shipped) ^ set(fields)
    for name, (table, _) in shipped.items():
        assert table == fields[name].metadata["section"], name
    assert {f.metadata["section"] for f in fields.values()} == set(SECTIONS)


def test_the_shipped_values_are_the_code_defaults() -> None:
    from_file = load_settings(DEFAULT_CONFIG, environ={})
    defaults = Settings()
    for name in setting_fields():
        assert getattr(from_file, name) == getattr(defaults, name), name


def test_variables_keep_their_names_whatever_the_table(tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_CONFIG, environ={"AXIS_PUSH_CONCURRENCY": "3", "AXIS_PORT": "9090",
                                                      "AXIS_COOKIE_SECURE": "auto", "AXIS_LEGACY_SHA1": "yes"})
    assert (settings.push_concurrency, settings.port, settings.cookie_secure, settings.legacy_sha1) == (3, 9090, None, True)
    assert "AXIS_PUSH_CONCURRENCY" in settings.sources


def test_a_setting_in_the_wrong_table_is_refused_naming_its_table(tmp_path: Path) -> None:
    config = tmp_path / "axis.toml"
    config.write_text("[push]\nport = 9000\n")
    with pytest.raises(ValueError, match=r"port .* belongs in \[server\], not \[push\]"):
        load_settings(config, environ={})
    config.write_text("[server]\nprot = 9000\n")
    with pytest.raises(ValueError, match=r"unknown setting \[server\] prot"):
        load_settings(config, environ={})


def test_a_flat_file_written_before_the_tables_still_loads(tmp_path: Path) -> None:
    config = tmp_path / "axis.toml"
    config.write_text('port = 9000\npush_concurrency = 2\ntrusted_proxies = ["10.0.0.0/24"]\n')
    settings = load_settings(config, environ={})
    assert (settings.port, settings.push_concurrency, settings.trusted_proxies) == (9000, 2, ("10.0.0.0/24",))


def test_a_bad_value_names_its_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^port: "):
        load_settings(DEFAULT_CONFIG, environ={"AXIS_PORT": "eighty"})
    with pytest.raises(ValueError, match="^trusted_proxies: 'nowhere' is not an IP address"):
        load_settings(DEFAULT_CONFIG, environ={"AXIS_TRUSTED_PROXIES": "10.0.0.1,nowhere"})


def test_relative_ca_files_are_under_home(tmp_path: Path) -> None:
    settings = load_settings(DEFAULT_CONFIG, environ={"AXIS_HOME": str(tmp_path), "AXIS_CA_CERTIFICATES": "ca.pem,/etc/x.pem"})
    assert settings.ca_certificates == (tmp_path / "ca.pem", Path("/etc/x.pem"))
