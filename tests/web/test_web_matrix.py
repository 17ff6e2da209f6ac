"""Every page and form of the web UI × {anonymous, clerk of another agency, clerk, archivist, operator}.

The matrix must name every route the UI serves: a new page without a row here fails the test.

Archive scope: archivists (and operators, who may look) are hub staff with hub-wide
scope. Every archive page lists and reaches every agency's archived documents: their archive record
(``/archive/documents/{id}``) answers them for any document, and the document page of one their own
agency neither sent nor received sends them there (``RECORD``) instead of a 404; the content
(attachments, signed edXML, receipt) stays with the sender and recipients.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from yarl import URL

from axis.archive.calendar import vn_date
from axis.archive.disposal import approve_disposal, execute_disposal, propose_disposal
from axis.archive.holds import place_hold
from axis.archive.schedules import load_schedules
from axis.web import is_web_path
from tests.web.conftest import A, World
from tests.web.test_web_archive import exchange

#: The people, in the order of the expected statuses below.
WHO = ("anonymous", "other clerk", "clerk", "archivist", "operator")
# Who they are: the document is sent by A (the archivist's agency) to B (the clerk's); C is another agency.
LOGINS = {"other clerk": "vanthu.h41", "clerk": "vanthu.h29", "archivist": "luutru.g22", "operator": "vanhanh"}
LOGIN = 303  # anonymous visitors are sent to the sign-in page
RECORD = -303  # a 303 to the document's archive record (/archive/documents/{id})


def get_matrix(doc: str, disposed: str, hold: int, listed: int,
               foreign: str = "") -> list[tuple[str, str, tuple[int, ...]]]:
    """(route as registered, concrete path, expected status for each of WHO).

    ``foreign`` is a document B sends to C: the archivist's agency (A) is no party to it.
    """
    return [
        ("/", "/", (303, 303, 303, 303, 303)),
        ("/login", "/login", (200, 303, 303, 303, 303)),
        ("/logout", "/logout", (200, 200, 200, 200, 200)),
        ("/inbox", "/inbox", (LOGIN, 200, 200, 200, 200)),
        ("/outbox", "/outbox", (LOGIN, 200, 200, 200, 200)),
        ("/documents/{id}", f"/documents/{doc}", (LOGIN, 404, 200, 200, RECORD)),
        ("/documents/{id}", f"/documents/{disposed}", (LOGIN, 404, 200, 200, RECORD)),
        ("/documents/{id}", f"/documents/{foreign}", (LOGIN, 200, 200, RECORD, RECORD)),
        ("/documents/{id}/edxml", f"/documents/{foreign}/edxml", (LOGIN, 200, 200, 404, 404)),
        ("/archive/documents/{id}", f"/archive/documents/{doc}", (LOGIN, 403, 403, 200, 200)),
        ("/archive/documents/{id}", f"/archive/documents/{foreign}", (LOGIN, 403, 403, 200, 200)),
        ("/archive/documents/{id}", f"/archive/documents/{disposed}", (LOGIN, 403, 403, 200, 200)),
        ("/archive/documents/{id}", "/archive/documents/01JAAAAAAAAAAAAAAAAAAAAAAA", (LOGIN, 403, 403, 404, 404)),
        ("/documents/{id}/attachments/{n}", f"/documents/{doc}/attachments/1", (LOGIN, 404, 200, 200, 404)),
        ("/documents/{id}/attachments/{n}", f"/documents/{disposed}/attachments/1", (LOGIN, 404, 410, 410, 404)),
        ("/documents/{id}/edxml", f"/documents/{doc}/edxml", (LOGIN, 404, 200, 200, 404)),
        ("/documents/{id}/edxml", f"/documents/{disposed}/edxml", (LOGIN, 404, 410, 410, 404)),
        ("/documents/{id}/receipt", f"/documents/{doc}/receipt", (LOGIN, 404, 200, 200, 404)),
        ("/registers/{direction}", "/registers/incoming", (LOGIN, 200, 200, 200, 200)),
        ("/registers/{direction}", "/registers/outgoing", (LOGIN, 200, 200, 200, 200)),
        # Clerks always get their own agency's register; the hub's staff any agency's (unknown: 404).
        ("/registers/{direction}", "/registers/incoming?agency=000.00.00.H41", (LOGIN, 200, 200, 200, 200)),
        ("/registers/{direction}", "/registers/incoming?agency=000.00.00.X99", (LOGIN, 200, 200, 404, 404)),
        ("/registers/{direction}.csv", "/registers/incoming.csv", (LOGIN, 200, 200, 200, 200)),
        ("/registers/{direction}.csv", "/registers/outgoing.csv", (LOGIN, 200, 200, 200, 200)),
        ("/reports", "/reports", (LOGIN, 200, 200, 200, 200)),
        ("/reports.csv", "/reports.csv", (LOGIN, 200, 200, 200, 200)),
        ("/archive/disposals", "/archive/disposals", (LOGIN, 403, 403, 200, 200)),
        ("/archive/disposals/{id}", f"/archive/disposals/{listed}", (LOGIN, 403, 403, 200, 200)),
        ("/archive/disposals/{id}/certificate", f"/archive/disposals/{listed}/certificate",
         (LOGIN, 403, 403, 200, 200)),
        ("/archive/due", "/archive/due", (LOGIN, 403, 403, 200, 200)),
        ("/archive/holds", "/archive/holds", (LOGIN, 403, 403, 200, 200)),
        ("/admin", "/admin", (LOGIN, 403, 403, 403, 200)),
        ("/admin/agencies", "/admin/agencies", (LOGIN, 403, 403, 403, 200)),
        ("/admin/deliveries", "/admin/deliveries", (LOGIN, 403, 403, 403, 200)),
        ("/admin/messages", "/admin/messages", (LOGIN, 403, 403, 403, 200)),
        ("/admin/messages", f"/admin/messages?document_id={doc}", (LOGIN, 403, 403, 403, 200)),
        ("/admin/messages/{id}", f"/admin/messages/{doc}", (LOGIN, 403, 403, 403, 200)),
        ("/admin/messages/{id}", f"/admin/messages/{disposed}", (LOGIN, 403, 403, 403, 200)),
        ("/admin/people", "/admin/people", (LOGIN, 403, 403, 403, 200)),
        ("/account/password", "/account/password", (LOGIN, 200, 200, 200, 200)),
        # A link that is not one of the axis's: the same answer for everyone, whoever is signed in.
        ("/account/set-password/{token}", "/account/set-password/" + "x" * 43, (410, 410, 410, 410, 410)),
        ("/static", "/static/axis.css", (200, 200, 200, 200, 200)),
        ("/favicon.ico", "/favicon.ico", (200, 200, 200, 200, 200)),
    ]


def post_matrix(listed: int, hold: int, doc: str) -> list[tuple[str, str, dict[str, str], tuple[int, ...]]]:
    """(route, concrete path, form fields besides the CSRF token, expected status for each of WHO).

    Forms that would change something for good are posted so that the allowed person gets a
    harmless refusal (400/409) or a no-op, and everyone else is refused before anything happens.
    """
    spare = "000.00.00.G14"
    return [
        ("/archive/disposals", "/archive/disposals", {}, (LOGIN, 403, 403, 303, 403)),
        ("/archive/disposals/{id}/approve", f"/archive/disposals/{listed}/approve", {}, (LOGIN, 403, 403, 409, 403)),
        ("/archive/disposals/{id}/execute", f"/archive/disposals/{listed}/execute", {}, (LOGIN, 403, 403, 409, 403)),
        ("/archive/holds", "/archive/holds", {"name": "", "authority": "", "reason": ""},
         (LOGIN, 403, 403, 400, 403)),
        ("/archive/holds/{id}/release", f"/archive/holds/{hold}/release", {}, (LOGIN, 403, 403, 303, 403)),
        ("/admin/agencies", "/admin/agencies", {"code": "bad", "name": ""}, (LOGIN, 403, 403, 403, 400)),
        ("/admin/agencies/{code}/active", f"/admin/agencies/{spare}/active", {"active": "1"},
         (LOGIN, 403, 403, 403, 303)),
        ("/admin/agencies/{code}/token", f"/admin/agencies/{spare}/token", {}, (LOGIN, 403, 403, 403, 200)),
        ("/admin/agencies/{code}/certificate", f"/admin/agencies/{spare}/certificate", {"certificate": "x"},
         (LOGIN, 403, 403, 403, 400)),
        ("/admin/agencies/{code}/vxp-secret", f"/admin/agencies/{spare}/vxp-secret", {"system_id": "x" * 65},
         (LOGIN, 403, 403, 403, 400)),
        ("/admin/agencies/{code}/signature-policy", f"/admin/agencies/{spare}/signature-policy",
         {"policy": "none"}, (LOGIN, 403, 403, 403, 400)),
        ("/admin/deliveries/resend", "/admin/deliveries/resend", {"reason": "x"}, (LOGIN, 403, 403, 403, 400)),
        ("/admin/messages/{id}/resend", f"/admin/messages/{doc}/resend", {"delivery": "x", "reason": "x"},
         (LOGIN, 403, 403, 403, 400)),
        ("/admin/people", "/admin/people", {"login": "", "agency": "", "role": ""}, (LOGIN, 403, 403, 403, 400)),
        ("/admin/people/{login}/role", "/admin/people/luutru.hai/role", {"role": "boss"},
         (LOGIN, 403, 403, 403, 400)),
        ("/admin/people/{login}/active", "/admin/people/luutru.hai/active", {"active": "1"},
         (LOGIN, 403, 403, 403, 303)),
        ("/admin/people/{login}/password", "/admin/people/khong.co/password", {}, (LOGIN, 403, 403, 403, 404)),
        ("/admin/people/requests/{id}/confirm", "/admin/people/requests/999/confirm", {},
         (LOGIN, 403, 403, 403, 404)),
        ("/admin/people/requests/{id}/cancel", "/admin/people/requests/999/cancel", {},
         (LOGIN, 403, 403, 403, 404)),
        ("/account/password", "/account/password", {"current": "x", "password": "a" * 12, "again": "b" * 12},
         (LOGIN, 400, 400, 400, 400)),
        ("/account/set-password/{token}", "/account/set-password/" + "x" * 43,
         {"password": "a" * 12, "again": "a" * 12}, (410, 410, 410, 410, 410)),
        ("/reports/recompute", "/reports/recompute", {"month": "13/2026"}, (LOGIN, 403, 403, 400, 400)),
        ("/language", "/language", {"lang": "vi", "next": "/inbox"}, (303, 303, 303, 303, 303)),
        # Last: logging out ends each person's session.
        ("/logout", "/logout", {}, (303, 303, 303, 303, 303)),
    ]


async def _prepare(world: World) -> dict[str, Any]:
    """A kept document and a disposed one (A → B), an executed disposal list, a legal hold."""
    await world.add_user("luutru.g22", A, "archivist")
    await world.add_user("luutru.hai", A, "archivist")
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    await world.axis.register("000.00.00.G14")
    kept = await exchange(world, world.a, [world.b], "Về việc còn lưu")
    old = await exchange(world, world.a, [world.b], "Về việc năm 2010", promulgation_date=date(2010, 3, 1))
    ctx = world.axis.ctx
    schedules = load_schedules(ctx.settings.retention_path)
    async with ctx.sessions() as session, session.begin():
        listed = await propose_disposal(session, schedules, by="luutru.g22", today=vn_date(ctx.clock()),
                                        now=ctx.clock())
        assert listed is not None
        for login in ("luutru.g22", "luutru.hai"):
            await approve_disposal(session, listed.id, by=login, now=ctx.clock())
    await execute_disposal(ctx.sessions, ctx.payloads, listed.id, schedules, key=ctx.identity.key,
                           certificate=ctx.identity.certificate, now=ctx.clock())
    async with ctx.sessions() as session, session.begin():
        hold = await place_hold(session, name="Vụ án", authority="TAND", reason="Chứng cứ",
                                by="luutru.g22", now=ctx.clock(), message_ids=[kept["id"]])
    foreign = await exchange(world, world.b, [world.c], "Về việc giữa hai tỉnh")
    return {"doc": kept["id"], "disposed": old["id"], "listed": listed.id, "hold": hold.id, "foreign": foreign["id"]}


def _routes(world: World) -> set[tuple[str, str]]:
    """(method, route) of everything the UI answers."""
    out = set()
    for resource in world.axis.app.router.resources():
        path = resource.canonical
        if not is_web_path(path):
            continue
        for route in resource:
            if route.method in ("GET", "POST"):
                out.add((route.method, path))
    return out


async def test_every_page_and_form_answers_each_kind_of_person_as_expected(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    ids = await _prepare(world)
    gets = get_matrix(ids["doc"], ids["disposed"], ids["hold"], ids["listed"], ids["foreign"])
    posts = post_matrix(ids["listed"], ids["hold"], ids["doc"])
    # The matrix covers every route of the UI, no more and no less.
    covered = {("GET", route) for route, _, _ in gets} | {("POST", route) for route, _, _, _ in posts} | \
        {("POST", "/login")}
    assert covered == _routes(world)

    people = {who: await browser_for(LOGINS.get(who)) for who in WHO}
    failures: list[str] = []
    for _, path, expected in gets:
        for who, want in zip(WHO, expected, strict=True):
            status, _, r = await people[who].get(path)
            if want == RECORD:
                record = "/archive/documents/" + path.rsplit("/", 1)[1]
                if status != 303 or r.headers.get("Location") != record:
                    failures.append(f"GET {path} as {who}: {status} {r.headers.get('Location')}, expected {record}")
            elif status != want:
                failures.append(f"GET {path} as {who}: {status}, expected {want}")
            elif status == 303 and want == LOGIN and path not in ("/", "/login"):
                if URL(r.headers["Location"]).path != "/login":
                    failures.append(f"GET {path} as {who}: redirected to {r.headers['Location']}")
    for _, path, fields, expected in posts:
        for who, want in zip(WHO, expected, strict=True):
            browser = people[who]
            token = await browser.csrf("/login" if who == "anonymous" else "/logout")
            status, _, _ = await browser.post(path, {"csrf_token": token, **fields})
            if status != want:
                failures.append(f"POST {path} as {who}: {status}, expected {want}")
    assert failures == []


async def test_sign_in_form_answers_every_kind_of_person(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    """The one form the matrix leaves out: POST /login (its answers depend on the password, not the person)."""
    await world.add_user("luutru.g22", A, "archivist")
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    for login in LOGINS.values():
        anonymous = await browser_for()
        status, _, r = await anonymous.login(login)
        # Operators land where their work is; everyone else on their agency's inbox.
        assert status == 303 and r.headers["Location"] == ("/admin" if login == "vanhanh" else "/inbox"), login
    stranger = await browser_for()
    assert (await stranger.login("khong.ai", "sai-mat-khau-000"))[0] == 401
