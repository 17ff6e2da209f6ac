"""People management cannot hand one operator an agency's content or a two-person rule.

Each test plays the operator who tries it alone: a clerk of an agency that has people, two archivists,
a password reset whose result the operator keeps. Then what a second operator and the person do.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from storage.models import PeopleRequest, User
from storage.people.accounts import verify_password
from storage.registry.agencies import register_agency

#: The world fixture's receiving agency and the password it gives its people.
B = "000.00.00.H29"
PASSWORD = "mat-khau-rat-dai-2026"
World = Any

LINK_RE = re.compile(r'id="set-password-link">[^<]*/account/set-password/([A-Za-z0-9_-]+)<')
#: What the old code showed an operator: a password they could sign in with.
SHOWN_PASSWORD_RE = re.compile(r'id="one-time-password">([^<]+)<')
D = "000.00.00.H53"


async def _operators(world: World, browser_for: Any) -> tuple[Any, Any]:
    code = world.axis.ctx.settings.axis_code
    await world.add_user("vanhanh", code, "operator")
    await world.add_user("vanhanh.hai", code, "operator")
    return await browser_for("vanhanh"), await browser_for("vanhanh.hai")


async def _user(world: World, login: str) -> User | None:
    async with world.axis.ctx.sessions() as session:
        return (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()


async def _pending(world: World) -> list[PeopleRequest]:
    async with world.axis.ctx.sessions() as session:
        return list((await session.execute(select(PeopleRequest).where(PeopleRequest.outcome.is_(None))
                                           .order_by(PeopleRequest.id))).scalars())


def _secret_on(html: str) -> str | None:
    found = SHOWN_PASSWORD_RE.search(html) or LINK_RE.search(html)
    return found.group(1) if found else None


async def test_one_operator_cannot_become_a_clerk_of_an_agency_with_people_and_read_its_documents(
        world: World, browser_for: Any) -> None:
    sent = await world.send([world.b], subject="Về việc bí mật của Thành phố")
    operator, _ = await _operators(world, browser_for)
    token = await operator.csrf("/admin/people")
    status, html, r = await operator.post("/admin/people", {"csrf_token": token, "login": "gian.h29",
                                                            "agency": B, "role": "clerk"})
    # Nothing to sign in with reaches the operator: the request waits for a second operator.
    assert _secret_on(html) is None
    assert status == 303 and r.headers["Location"] == "/admin/people?requested=gian.h29"
    assert await _user(world, "gian.h29") is None
    [waiting] = await _pending(world)
    assert (waiting.kind, waiting.login, waiting.requested_by) == ("add", "gian.h29", "user:vanhanh")
    # The requester cannot confirm it; the page offers them no confirm button either.
    status, html, _ = await operator.post(f"/admin/people/requests/{waiting.id}/confirm", {"csrf_token": token})
    assert status == 400 and _secret_on(html) is None and await _user(world, "gian.h29") is None
    _, html, _ = await operator.get("/admin/people")
    assert f"/admin/people/requests/{waiting.id}/confirm" not in html
    # Nor can they reset the agency's clerk and sign in as her: the reset waits too, her password stands.
    status, html, _ = await operator.post("/admin/people/vanthu.h29/password", {"csrf_token": token})
    assert status == 303 and _secret_on(html) is None
    clerk = await _user(world, "vanthu.h29")
    assert clerk is not None and verify_password(PASSWORD, clerk.password_hash)
    # So no session of the operator's making opens B's document.
    anyone = await browser_for()
    for login in ("gian.h29", "vanthu.h29"):
        assert (await anyone.login(login, "doan-mo-mat-khau-1"))[0] == 401
    # The operator reaches only the archive record (metadata), never the document page itself.
    assert (await operator.get(f"/documents/{sent['id']}"))[0] != 200
    requested = await world.audit("people.requested")
    assert [(e.actor, e.subject) for e in requested] == [("user:vanhanh", "gian.h29"), ("user:vanhanh", "vanthu.h29")]


async def test_one_operator_cannot_make_two_archivists_or_raise_a_role(world: World, browser_for: Any) -> None:
    operator, second = await _operators(world, browser_for)
    token = await operator.csrf("/admin/people")
    for login in ("luutru.mot", "luutru.hai"):
        status, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": login,
                                                                "agency": B, "role": "archivist"})
        assert status == 303 and _secret_on(html) is None
    status, _, r = await operator.post("/admin/people/vanthu.h29/role", {"csrf_token": token, "role": "archivist"})
    assert status == 303 and r.headers["Location"] == "/admin/people?requested=vanthu.h29"
    # A new operator (who could then confirm the rest) is a request as well.
    status, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": "vanhanh.ba",
                                                            "agency": world.axis.ctx.settings.axis_code,
                                                            "role": "operator"})
    assert status == 303 and _secret_on(html) is None
    async with world.axis.ctx.sessions() as session:
        raised = await session.scalar(select(func.count(User.id)).where(User.role != "clerk"))
    assert raised == 2  # the two operators, nobody else
    clerk = await _user(world, "vanthu.h29")
    assert clerk is not None and clerk.role == "clerk"
    requests = await _pending(world)
    assert [(p.kind, p.login) for p in requests] == [("add", "luutru.mot"), ("add", "luutru.hai"),
                                                      ("role", "vanthu.h29"), ("add", "vanhanh.ba")]
    for p in requests:
        status, _, _ = await operator.post(f"/admin/people/requests/{p.id}/confirm", {"csrf_token": token})
        assert status == 400
    assert len(await _pending(world)) == 4
    # Lowering a role needs nobody else (it takes power away), and is audited.
    await world.add_user("luutru.cu", B, "archivist")
    status, _, _ = await operator.post("/admin/people/luutru.cu/role", {"csrf_token": token, "role": "clerk"})
    lowered = await _user(world, "luutru.cu")
    assert status == 303 and lowered is not None and lowered.role == "clerk"
    # A second operator confirms the raise: it applies, and the audit names both.
    other = await second.csrf("/admin/people")
    status, _, _ = await second.post(f"/admin/people/requests/{requests[2].id}/confirm", {"csrf_token": other})
    assert status == 303
    clerk = await _user(world, "vanthu.h29")
    assert clerk is not None and clerk.role == "archivist"
    [confirmed] = await world.audit("people.confirmed")
    assert confirmed.actor == "user:vanhanh.hai" and json.loads(confirmed.details)["requested_by"] == "user:vanhanh"
    # Cancelling drops a request for good.
    status, _, _ = await operator.post(f"/admin/people/requests/{requests[3].id}/cancel", {"csrf_token": token})
    assert status == 303 and [p.login for p in await _pending(world)] == ["luutru.mot", "luutru.hai"]
    status, _, _ = await second.post(f"/admin/people/requests/{requests[3].id}/confirm", {"csrf_token": other})
    assert status == 400 and await _user(world, "vanhanh.ba") is None
    # A request stops counting once its requester is no longer an active operator.
    await world.add_user("vanhanh.cu", world.axis.ctx.settings.axis_code, "operator")
    former = await browser_for("vanhanh.cu")
    status, _, _ = await former.post("/admin/people/luutru.cu/role", {"csrf_token": await former.csrf("/admin/people"),
                                                                      "role": "archivist"})
    assert status == 303
    await operator.post("/admin/people/vanhanh.cu/active", {"csrf_token": token, "active": "0"})
    stale = [p for p in await _pending(world) if p.login == "luutru.cu"]
    status, _, _ = await second.post(f"/admin/people/requests/{stale[0].id}/confirm", {"csrf_token": other})
    lowered = await _user(world, "luutru.cu")
    assert status == 400 and lowered is not None and lowered.role == "clerk"
    await second.post(f"/admin/people/requests/{stale[0].id}/cancel", {"csrf_token": other})
    # /admin shows the waiting requests and the decisions to every operator.
    _, html, _ = await second.get("/admin")
    assert 'id="people-notices"' in html
    assert 'data-kind="add" data-login="luutru.mot" data-outcome="pending"' in html
    assert 'data-kind="role" data-login="vanthu.h29" data-outcome="confirmed"' in html
    assert 'data-kind="add" data-login="vanhanh.ba" data-outcome="cancelled"' in html


async def test_a_reset_password_is_never_known_to_an_operator(world: World, browser_for: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="axis")
    operator, second = await _operators(world, browser_for)
    clerk = await browser_for("vanthu.h29")
    token = await operator.csrf("/admin/people")
    status, html, _ = await operator.post("/admin/people/vanthu.h29/password", {"csrf_token": token})
    assert status == 303 and _secret_on(html) is None
    [waiting] = await _pending(world)
    # The second operator gets a one-time link, not a password: nothing on the page signs anyone in.
    status, html, _ = await second.post(f"/admin/people/requests/{waiting.id}/confirm",
                                        {"csrf_token": await second.csrf("/admin/people")})
    assert status == 200 and SHOWN_PASSWORD_RE.search(html) is None
    link = LINK_RE.search(html)
    assert link is not None
    stored = await _user(world, "vanthu.h29")
    assert stored is not None and stored.must_set_password and stored.password_link_hash
    assert link.group(1) not in stored.password_link_hash
    # The old password and the clerk's open session end at once.
    assert (await clerk.get("/inbox"))[0] == 303
    anyone = await browser_for()
    assert (await anyone.login("vanthu.h29", PASSWORD))[0] == 401
    # The clerk chooses her own password with the link; the link then stops working.
    person = await browser_for()
    path = f"/account/set-password/{link.group(1)}"
    form_token = await person.csrf(path)
    status, html, _ = await person.post(path, {"csrf_token": form_token, "password": "cua-rieng-toi-2026",
                                               "again": "khac-hoan-toan-2026"})
    assert status == 400 and 'id="password-error"' in html
    status, html, _ = await person.post(path, {"csrf_token": form_token, "password": "cua-rieng-toi-2026",
                                               "again": "cua-rieng-toi-2026"})
    assert status == 200 and 'id="password-saved"' in html
    assert (await person.post(path, {"csrf_token": form_token, "password": "lan-thu-hai-2026",
                                     "again": "lan-thu-hai-2026"}))[0] == 410
    assert (await person.get(path))[0] == 410
    stored = await _user(world, "vanthu.h29")
    assert stored is not None and not stored.must_set_password and stored.password_link_hash is None
    assert verify_password("cua-rieng-toi-2026", stored.password_hash)
    assert (await person.login("vanthu.h29", "cua-rieng-toi-2026"))[0] == 303
    [reset] = await world.audit("user.password_reset")
    [chosen] = await world.audit("user.password_set")
    assert reset.actor == "user:vanhanh.hai" and chosen.actor == "user:vanthu.h29"
    assert link.group(1) not in reset.details and "cua-rieng" not in chosen.details
    # The request log names the route, not the link (whoever reads the logs does not get it).
    assert "/account/set-password/{token}" in caplog.text and link.group(1) not in caplog.text
    # An unknown or malformed link is refused without a lookup.
    assert (await person.get("/account/set-password/" + "x" * 43))[0] == 410
    assert (await person.get("/account/set-password/%3Cscript%3E"))[0] == 404


async def test_an_expired_link_is_refused(world: World, browser_for: Any) -> None:
    operator, second = await _operators(world, browser_for)
    await operator.post("/admin/people/vanthu.h41/password", {"csrf_token": await operator.csrf("/admin/people")})
    [waiting] = await _pending(world)
    _, html, _ = await second.post(f"/admin/people/requests/{waiting.id}/confirm",
                                   {"csrf_token": await second.csrf("/admin/people")})
    link = LINK_RE.search(html)
    assert link is not None
    async with world.axis.ctx.sessions() as session, session.begin():
        await session.execute(update(User).where(User.login == "vanthu.h41").values(
            password_link_expires_at=world.axis.ctx.clock() - timedelta(seconds=1)))
    person = await browser_for()
    path = f"/account/set-password/{link.group(1)}"
    status, html, _ = await person.get(path)
    assert status == 410 and 'id="link-dead"' in html
    status, _, _ = await person.post(path, {"csrf_token": await person.csrf("/login"),
                                            "password": "qua-han-roi-2026", "again": "qua-han-roi-2026"})
    stored = await _user(world, "vanthu.h41")
    assert status == 410 and stored is not None and not verify_password("qua-han-roi-2026", stored.password_hash)


async def test_an_agency_with_nobody_gets_one_first_clerk_from_one_operator(world: World, browser_for: Any) -> None:
    async with world.axis.ctx.sessions() as session, session.begin():
        await register_agency(session, D, "Sở Nội vụ", actor="test", allow_http_endpoint=True)
    operator, second = await _operators(world, browser_for)
    token = await operator.csrf("/admin/people")
    status, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": "vanthu.h53",
                                                            "agency": D, "role": "clerk"})
    assert status == 200 and LINK_RE.search(html) and 'id="added"' in html
    first = await _user(world, "vanthu.h53")
    assert first is not None and first.must_set_password
    # Only one: the next clerk of the agency, and an archivist for it, are requests.
    for login, role in (("vanthu2.h53", "clerk"), ("luutru.h53", "archivist")):
        status, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": login,
                                                                "agency": D, "role": role})
        assert status == 303 and _secret_on(html) is None and await _user(world, login) is None
    # The other operators see it on /admin.
    _, html, _ = await second.get("/admin")
    assert 'data-kind="first_clerk" data-login="vanthu.h53" data-outcome="done"' in html
    assert [e.actor for e in await world.audit("people.first_clerk")] == ["user:vanhanh"]


async def test_everyone_changes_their_own_password(world: World, browser_for: Any) -> None:
    clerk = await browser_for("vanthu.g22")
    other_tab = await browser_for("vanthu.g22")
    status, html, _ = await clerk.get("/inbox")
    assert 'href="/account/password"' in html
    token = await clerk.csrf("/account/password")
    status, html, _ = await clerk.post("/account/password", {"csrf_token": token, "current": "sai-mat-khau-2026",
                                                             "password": "mat-khau-moi-2026",
                                                             "again": "mat-khau-moi-2026"})
    assert status == 400 and 'id="password-error"' in html
    status, _, _ = await clerk.post("/account/password", {"csrf_token": token, "current": PASSWORD,
                                                          "password": "ngan", "again": "ngan"})
    assert status == 400
    status, _, r = await clerk.post("/account/password", {"csrf_token": token, "current": PASSWORD,
                                                          "password": "mat-khau-moi-2026",
                                                          "again": "mat-khau-moi-2026"})
    assert status == 303 and r.headers["Location"] == "/account/password?saved=1"
    assert (await clerk.get("/inbox"))[0] == 200
    assert (await other_tab.get("/inbox"))[0] == 303
    anyone = await browser_for()
    assert (await anyone.login("vanthu.g22", PASSWORD))[0] == 401
    assert (await anyone.login("vanthu.g22", "mat-khau-moi-2026"))[0] == 303
    nobody = await browser_for()
    assert (await nobody.get("/account/password"))[0] == 303
