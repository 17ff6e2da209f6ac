"""Fixtures for the web UI: a running axis with agencies and people, HTTP sessions, a real browser."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from axis.archive.sealing import seal_now
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import AuditEvent
from storage.people.accounts import add_user
from tests.databases import DatabaseTemplate
from tests.harness import Agent, Harness, server_settings, start_server

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"
PASSWORD = "mat-khau-rat-dai-2026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 768}
#: The README's screenshots; rewritten only when UPDATE_SCREENSHOTS is set to 1, so a test run leaves the tree clean.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = "AXIS_UPDATE_SCREENSHOTS"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class World:
    """A running axis with three agencies (A sends, B receives, C is an outsider) and their people."""

    axis: Harness
    a: Agent
    b: Agent
    c: Agent
    logins: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.axis.url

    async def add_user(self, login: str, agency_code: str, role: str = "clerk") -> str:
        """Create a person with the shared test password."""
        async with self.axis.ctx.sessions() as session, session.begin():
            await add_user(session, login, agency_code, role, PASSWORD, actor="test")
        self.logins[login] = agency_code
        return login

    async def send(self, to: list[Agent], subject: str = "Về việc triển khai văn bản điện tử",
                   attachments: list[Attachment] | None = None, **kw: Any) -> dict[str, Any]:
        """A sends a signed document over the API; returns the 202 body."""
        _, signed = self.a.document(to, subject=subject, attachments=attachments, **kw)
        async with self.a.client() as client:
            return await client.submit(signed)

    async def audit(self, action: str) -> list[AuditEvent]:
        """Audit entries with this action, oldest first."""
        await seal_now(self.axis.ctx.sessions)
        async with self.axis.ctx.sessions() as session:
            return list((await session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))).scalars())


async def start_world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                      identities: dict[str, IssuedIdentity], *, clock: Any = None,
                      **overrides: Any) -> AsyncIterator[World]:
    """Start a server (push failures give up after one second) with A, B, C and a clerk each.

    ``clock`` (a callable returning aware datetimes) replaces the server's wall clock.
    """
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, delivery_deadline_seconds=1.0, **overrides)
        harness, server = await start_server(settings, test_ca, identities,
                                             **({"clock": clock} if clock is not None else {}))
        try:
            world = World(harness, await harness.register(A), await harness.register(B), await harness.register(C))
            await world.add_user("vanthu.g22", A)
            await world.add_user("vanthu.h29", B)
            await world.add_user("vanthu.h41", C)
            yield world
        finally:
            await server.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ with AXIS_UPDATE_SCREENSHOTS=1, else this test's temp directory."""
    if os.environ.get(UPDATE_SCREENSHOTS) == "1":
        return SCREENSHOTS
    return tmp_path / "screenshots"


@pytest.fixture
async def world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    """The running axis with agencies A, B, C and clerks vanthu.g22, vanthu.h29, vanthu.h41."""
    async for w in start_world(tmp_path, db_template, test_ca, identities):
        yield w


def csrf_from(html: str) -> str:
    """The CSRF token a page's forms carry."""
    m = _CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


class Browser:
    """An HTTP client that keeps cookies like a browser and never follows redirects by itself."""

    def __init__(self, base: str) -> None:
        self.base = base
        # unsafe: the loopback server is addressed by IP, whose cookies aiohttp otherwise drops.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kw: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, allow_redirects=False, **kw) as r:
            return r.status, await r.text(errors="replace"), r

    async def get_bytes(self, path: str) -> tuple[int, bytes, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, allow_redirects=False) as r:
            return r.status, await r.read(), r

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]],
                   **kw: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(self.base + path, data=data, allow_redirects=False, **kw) as r:
            return r.status, await r.text(errors="replace"), r

    async def csrf(self, path: str = "/inbox") -> str:
        status, html, _ = await self.get(path)
        assert status == 200, (path, status)
        return csrf_from(html)

    async def login(self, login: str, password: str = PASSWORD) -> tuple[int, str, aiohttp.ClientResponse]:
        token = await self.csrf("/login")
        return await self.post("/login", {"csrf_token": token, "login": login, "password": password})

    def session_cookie(self) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == "axis_session":
                return cookie.value
        return None


@pytest.fixture
async def browser_for(world: World) -> AsyncIterator[Any]:
    """Make logged-in (or anonymous, with None) HTTP clients; all closed at the end."""
    made: list[Browser] = []

    async def make(login: str | None = None) -> Browser:
        b = Browser(world.url)
        made.append(b)
        if login is not None:
            status, _, r = await b.login(login)
            assert status == 303, status
            assert r.headers["Location"] in ("/inbox", "/admin")  # operators land on /admin
        return b

    yield make
    for b in made:
        await b.close()


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


# --- a real browser -------------------------------------------------------------


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, headless, for the whole run."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def new_page(chromium: Any) -> AsyncIterator[Any]:
    """Open pages in fresh browser contexts (separate cookies) at the office screen size."""
    contexts: list[Any] = []

    async def make() -> Any:
        context = await chromium.new_context(viewport=VIEWPORT, accept_downloads=True, locale="vi-VN")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return await context.new_page()

    yield make
    for context in contexts:
        await context.close()
