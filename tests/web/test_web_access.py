"""Who may see which page, CSRF, login throttling, sessions and security headers — over plain HTTP."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select
from yarl import URL

from storage.models import LoginThrottle, WebSession
from storage.people.throttle import ADDRESS, PAIR
from tests.web.conftest import PASSWORD, A, B, World

PAGES = ["/inbox", "/outbox", "/reports", "/registers/incoming", "/registers/outgoing", "/archive/disposals", "/archive/due",
         "/archive/holds", "/admin", "/admin/agencies", "/admin/deliveries"]
ADMIN_PAGES = ["/admin", "/admin/agencies", "/admin/deliveries"]


async def test_anonymous_visitors_are_sent_to_login_with_their_destination(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b])
    anonymous = await browser_for()
    for path in [*PAGES, f"/documents/{reply['id']}", f"/documents/{reply['id']}/attachments/1", "/inbox?q=x"]:
        status, _, r = await anonymous.get(path)
        assert status == 303, path
        target = URL(r.headers["Location"])
        assert target.path == "/login" and target.query["next"] == path, path
    status, _, r = await anonymous.get("/")
    assert status == 303 and r.headers["Location"] == "/login"
    status, html, _ = await anonymous.get("/login")
    assert status == 200 and 'name="password"' in html


async def test_clerk_of_another_agency_gets_not_found_for_a_document(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b])
    outsider = await browser_for("vanthu.h41")
    for suffix in ("", "/attachments/1", "/edxml", "/receipt"):
        status, html, r = await outsider.get(f"/documents/{reply['id']}{suffix}")
        assert status == 404, suffix
        assert r.content_type == "text/html"
        assert reply["document_id"] not in html
    # A made-up id and a malformed one answer the same.
    for bad in ("01J00000000000000000000000", "not-an-id"):
        assert (await outsider.get(f"/documents/{bad}"))[0] == 404
    # The sender and the recipient can open it.
    for login in ("vanthu.g22", "vanthu.h29"):
        reader = await browser_for(login)
        status, html, _ = await reader.get(f"/documents/{reply['id']}")
        assert status == 200 and reply["document_id"] in html


async def test_clerks_are_forbidden_the_operator_pages_and_operators_may_use_them(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for("vanthu.g22")
    for path in ADMIN_PAGES:
        status, html, _ = await clerk.get(path)
        assert status == 403, path
        assert "không có quyền" in html
    token = await clerk.csrf()
    status, _, _ = await clerk.post("/admin/deliveries/resend", {"csrf_token": token, "reason": "x", "ids": "1"})
    assert status == 403
    status, _, _ = await clerk.post("/admin/agencies", {"csrf_token": token, "code": "000.00.00.G14", "name": "X"})
    assert status == 403

    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    for path in [*PAGES]:
        status, _, _ = await operator.get(path)
        assert status == 200, path


async def test_archivist_sees_own_agency_pages_but_not_administration(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.add_user("luutru.g22", A, "archivist")
    archivist = await browser_for("luutru.g22")
    for path in ("/inbox", "/outbox", "/reports"):
        assert (await archivist.get(path))[0] == 200, path
    assert (await archivist.get("/admin"))[0] == 403


async def test_forms_without_the_csrf_token_are_refused(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for("vanthu.h29")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged-token-forged-token-forged-token"}):
        status, html, _ = await clerk.post("/logout", data)
        assert status == 403
        assert "CSRF" in html
    status, _, _ = await clerk.post("/language", {"lang": "en"})
    assert status == 403
    # Still signed in: none of the refused forms did anything.
    assert (await clerk.get("/inbox"))[0] == 200
    # The right token from another origin is refused as well.
    token = await clerk.csrf()
    status, _, _ = await clerk.post("/logout", {"csrf_token": token}, headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, r = await clerk.post("/logout", {"csrf_token": token}, headers={"Origin": world.url})
    assert status == 303
    status, _, r = await clerk.get("/inbox")
    assert status == 303 and r.headers["Location"].startswith("/login")


async def test_login_form_needs_its_double_submit_token(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = await browser_for()
    status, _, _ = await anonymous.post("/login", {"login": "vanthu.h29", "password": PASSWORD})
    assert status == 403
    await anonymous.get("/login")  # plants the cookie, but the form still has to carry the token
    status, _, _ = await anonymous.post("/login", {"login": "vanthu.h29", "password": PASSWORD,
                                                    "csrf_token": "x" * 43})
    assert status == 403
    status, _, _ = await anonymous.login("vanthu.h29")
    assert status == 303


async def test_wrong_passwords_make_the_login_wait_then_success_forgets_them(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    guesser = await browser_for()
    for _ in range(PAIR.burst):
        status, html, _ = await guesser.login("vanthu.h29", "sai-mat-khau-123")
        assert status == 401 and "không đúng" in html
    status, html, r = await guesser.login("vanthu.h29", "sai-mat-khau-123")
    assert status == 429 and "tạm khóa" in html and int(r.headers["Retry-After"]) >= 1
    # Even the right password waits, from this address, for this login.
    assert (await guesser.login("vanthu.h29"))[0] == 429
    # Another person is not held back by it.
    assert (await (await browser_for()).login("vanthu.g22"))[0] == 303
    assert len(await world.audit("web.login_failed")) == PAIR.burst

    # When the wait has passed, the login opens again and success forgets the failures.
    async with world.axis.ctx.sessions() as session, session.begin():
        for row in (await session.execute(select(LoginThrottle))).scalars():
            row.next_at -= timedelta(minutes=16)
    assert (await guesser.login("vanthu.h29"))[0] == 303
    async with world.axis.ctx.sessions() as session:
        left = (await session.execute(select(LoginThrottle.key).where(LoginThrottle.key.like("%vanthu.h29%")))).all()
    assert left == []


async def test_many_failures_from_one_address_make_that_address_wait(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    async with world.axis.ctx.sessions() as session, session.begin():
        now = world.axis.ctx.clock()
        session.add(LoginThrottle(key="address:127.0.0.1", failures=ADDRESS.burst + 3,
                                  next_at=now + timedelta(minutes=1), updated_at=now))
    status, html, _ = await (await browser_for()).login("vanthu.g22")
    assert status == 429 and "tạm khóa" in html


async def test_session_cookie_is_http_only_same_site_and_stored_only_as_a_hash(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for()
    status, _, r = await clerk.login("vanthu.g22")
    assert status == 303
    header = next(v for v in r.headers.getall("Set-Cookie") if v.startswith("axis_session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # cookie_secure is off on plain-HTTP loopback
    cookie = clerk.session_cookie()
    assert cookie
    async with world.axis.ctx.sessions() as session:
        ids = (await session.execute(select(WebSession.id))).scalars().all()
    assert ids == [hashlib.sha256(cookie.encode()).hexdigest()]
    assert cookie not in ids


async def test_secure_cookie_setting_marks_the_cookie_secure_with_the_host_prefix(
        tmp_path, db_template, test_ca, identities) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    from tests.web.conftest import csrf_from, start_world

    async for w in start_world(tmp_path, db_template, test_ca, identities, cookie_secure=True):
        # A cookie jar rightly keeps Secure cookies off plain HTTP: carry the pre-login cookie by hand,
        # as a browser would over HTTPS.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.get(w.url + "/login") as r:
                planted = r.cookies["axis_csrf"]
                assert planted["secure"] and planted["httponly"]
                token = csrf_from(await r.text())
            async with http.post(w.url + "/login", allow_redirects=False,
                                 data={"csrf_token": token, "login": "vanthu.g22", "password": PASSWORD},
                                 headers={"Cookie": f"axis_csrf={planted.value}"}) as r:
                assert r.status == 303
                header = next(v for v in r.headers.getall("Set-Cookie") if "axis_session=" in v)
        assert header.startswith("__Host-axis_session=") and "Secure" in header and "HttpOnly" in header


async def test_logout_ends_the_session_on_the_server(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for("vanthu.g22")
    cookie = clerk.session_cookie()
    status, _, _ = await clerk.post("/logout", {"csrf_token": await clerk.csrf()})
    assert status == 303
    async with world.axis.ctx.sessions() as session:
        assert (await session.execute(select(WebSession))).all() == []
    # Replaying the old cookie gets nowhere.
    replay = await browser_for()
    replay.http.cookie_jar.update_cookies({"axis_session": cookie})
    status, _, r = await replay.get("/inbox")
    assert status == 303 and r.headers["Location"].startswith("/login")
    assert len(await world.audit("web.logout")) == 1


async def test_expired_and_idle_sessions_are_refused(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for("vanthu.g22")
    async with world.axis.ctx.sessions() as session, session.begin():
        for ws in (await session.execute(select(WebSession))).scalars():
            ws.last_seen_at -= timedelta(hours=3)
    status, _, _ = await clerk.get("/inbox")
    assert status == 303


async def test_pages_carry_the_security_headers(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b])
    clerk = await browser_for("vanthu.h29")
    for path in ("/login", "/inbox", f"/documents/{reply['id']}", "/admin", "/documents/nothing"):
        _, _, r = await clerk.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"]
        assert r.headers["Cache-Control"] == "no-store"
    _, css, r = await clerk.get("/static/axis.css")
    assert r.status == 200 and "--red" in css and r.headers["X-Content-Type-Options"] == "nosniff"
    # Downloads are sandboxed and never rendered as pages of the site.
    _, _, r = await clerk.get(f"/documents/{reply['id']}/attachments/1")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in r.headers["Content-Security-Policy"]


async def test_api_errors_stay_problem_json(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = await browser_for()
    status, _, r = await anonymous.get("/api/v1/inbox")
    assert status == 401 and r.content_type == "application/problem+json"
    status, _, r = await anonymous.get("/api/v1/nothing")
    assert status == 404 and r.content_type == "application/problem+json"


async def test_disabled_agency_clerk_is_signed_out_but_operator_stays(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    from storage.registry.agencies import set_agency_active

    clerk = await browser_for("vanthu.h29")
    async with world.axis.ctx.sessions() as session, session.begin():
        await set_agency_active(session, B, False, actor="test")
    status, _, _ = await clerk.get("/inbox")
    assert status == 303


async def test_oversized_forms_are_refused_before_they_are_read(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = await browser_for()
    token = await anonymous.csrf("/login")
    status, html, _ = await anonymous.post("/login", {"csrf_token": token, "login": "x" * (2 << 20), "password": "y"})
    assert status == 413 and "quá lớn" in html
