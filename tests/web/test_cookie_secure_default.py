"""Session and CSRF cookies are Secure by default, except when the axis listens on loopback only."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from axis.settings import Settings, load_settings
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.web.conftest import PASSWORD, csrf_from, start_world


@pytest.mark.parametrize(("host", "secure"), [
    ("127.0.0.1", False), ("127.8.9.10", False), ("::1", False), ("localhost", False),
    ("0.0.0.0", True), ("::", True), ("10.0.0.5", True), ("axis.gov.vn", True), ("", True),
])
def test_cookie_secure_defaults_to_on_unless_bound_to_loopback(host: str, secure: bool) -> None:
    assert Settings(host=host).secure_cookies is secure


def test_an_explicit_cookie_secure_wins_over_the_listen_address() -> None:
    assert Settings(host="127.0.0.1", cookie_secure=True).secure_cookies is True
    assert Settings(host="0.0.0.0", cookie_secure=False).secure_cookies is False


def test_shipped_config_and_environment_leave_cookie_secure_on_auto(tmp_path: Path) -> None:
    shipped = load_settings(environ={"AXIS_HOST": "0.0.0.0"})
    assert shipped.cookie_secure is None and shipped.secure_cookies is True
    assert load_settings(environ={"AXIS_HOST": "0.0.0.0", "AXIS_COOKIE_SECURE": "auto"}).secure_cookies is True
    assert load_settings(environ={"AXIS_HOST": "0.0.0.0", "AXIS_COOKIE_SECURE": "0"}).secure_cookies is False
    assert load_settings(environ={"AXIS_COOKIE_SECURE": "1"}).secure_cookies is True


async def test_axis_bound_to_every_interface_sets_secure_host_prefixed_cookies_without_being_told(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    async for w in start_world(tmp_path, db_template, test_ca, identities, host="0.0.0.0"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.get(w.url + "/login") as r:
                planted = r.cookies["axis_csrf"]
                assert planted["secure"]
                token = csrf_from(await r.text())
            async with http.post(w.url + "/login", allow_redirects=False,
                                 data={"csrf_token": token, "login": "vanthu.g22", "password": PASSWORD},
                                 headers={"Cookie": f"axis_csrf={planted.value}"}) as r:
                assert r.status == 303
                header = next(v for v in r.headers.getall("Set-Cookie") if "axis_session=" in v)
        assert header.startswith("__Host-axis_session=") and "Secure" in header
