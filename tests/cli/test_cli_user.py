"""`axis user add` / `axis user list` against a real `axis serve`, then signing in with that password."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from tests.cli.conftest import Axis

AGENCY = ("099.00.00.W88", "Sở Thông tin và Truyền thông thử nghiệm")
PASSWORD = "Mat-khau-van-thu-2026"


@pytest.fixture(scope="module")
def agency(axis_server: Axis) -> str:
    """The agency the people of these tests work for."""
    axis_server.run("agency", "add", AGENCY[0], "--name", AGENCY[1])
    return AGENCY[0]


async def test_user_add_from_the_environment_password_can_sign_in(axis_server: Axis, agency: str) -> None:
    added = axis_server.json("user", "add", "VanThu.W88", "--agency", AGENCY[0], "--role", "clerk", "--json",
                             env={"AXIS_PASSWORD": PASSWORD})
    assert added == {"login": "vanthu.w88", "agency": AGENCY[0], "role": "clerk"}
    listed = axis_server.json("user", "list", "--json")
    assert {"login": "vanthu.w88", "agency": AGENCY[0], "role": "clerk", "active": True} in listed

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(axis_server.url + "/login") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text())
            assert token
        form = {"csrf_token": token.group(1), "login": "vanthu.w88", "password": PASSWORD}
        async with http.post(axis_server.url + "/login", data=form, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/inbox"
        async with http.get(axis_server.url + "/inbox") as r:
            assert r.status == 200 and AGENCY[1] in await r.text()


async def test_user_add_refuses_bad_input_with_a_clear_message(axis_server: Axis, agency: str) -> None:
    env = {"AXIS_PASSWORD": PASSWORD}
    short = axis_server.run("user", "add", "ngan.mk", "--agency", AGENCY[0], "--role", "clerk",
                            env={"AXIS_PASSWORD": "ngan"}, check=False)
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    unknown = axis_server.run("user", "add", "ai.do", "--agency", "000.00.00.Z99", "--role", "clerk", env=env,
                              check=False)
    assert unknown.returncode != 0 and "no agency 000.00.00.Z99" in unknown.stderr
    role = axis_server.run("user", "add", "ai.do", "--agency", AGENCY[0], "--role", "boss", env=env, check=False)
    assert role.returncode != 0 and "boss" in role.stderr
    bad_login = axis_server.run("user", "add", "a b", "--agency", AGENCY[0], "--role", "clerk", env=env, check=False)
    assert bad_login.returncode != 0 and "not a valid login" in bad_login.stderr
    axis_server.run("user", "add", "lap.lai", "--agency", AGENCY[0], "--role", "archivist", env=env, check=False)
    again = axis_server.run("user", "add", "lap.lai", "--agency", AGENCY[0], "--role", "clerk", env=env, check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert not any(json.dumps(u).count(PASSWORD) for u in axis_server.json("user", "list", "--json"))


async def test_user_add_prompts_for_the_password_when_not_in_the_environment(axis_server: Axis, agency: str) -> None:
    import subprocess

    from tests.cli.conftest import AXIS

    env = {k: v for k, v in axis_server.env.items() if k != "AXIS_PASSWORD"}
    proc = subprocess.run([str(AXIS), "user", "add", "hoi.mk", "--agency", AGENCY[0], "--role", "clerk", "--json"],
                          input=f"{PASSWORD}\n{PASSWORD}\n", env=env, capture_output=True, text=True, timeout=90,
                          cwd=axis_server.home)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout[proc.stdout.index("{"):])["login"] == "hoi.mk"
