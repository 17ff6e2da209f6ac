"""The operator console over HTTP and the CLI: hub-wide message search, a message's story with resend, people."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from envelope.codes import VN_TZ, StatusCode
from storage.models import Delivery, DeliveryAttempt, Message, PeopleRequest, User, WebSession
from storage.people.accounts import verify_password
from tests.web.conftest import A, B, C, World
from tests.web.test_web_browser import wait_for

AXIS = Path(sys.executable).with_name("axis")
_HIT = re.compile(r'<tr data-id="(\w+)" data-kind="(\w+)">')
_NEXT = re.compile(r'id="next-page" href="([^"]+)"|href="([^"]+)" id="next-page"')


def hits(html: str) -> list[str]:
    """Message ids of the result rows, in page order."""
    return [i for i, _ in _HIT.findall(html)]


async def _operator(world: World, browser_for: Any) -> Any:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    return await browser_for("vanhanh")


async def test_operator_searches_every_agency_by_each_filter(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    to_b = await world.send([world.b], subject="Về việc báo cáo tình hình kinh tế")
    to_c = await world.send([world.c], subject="Giấy mời họp trực tuyến")
    _, signed = world.b.document([world.c], subject="Công văn của Thành phố")
    async with world.b.client() as client:
        from_b = await client.submit(signed)
    async with world.c.client() as client:
        receipt = await client.post_status(world.c.status(signed, StatusCode.ARRIVED, "Đã nhận"))
    operator = await _operator(world, browser_for)

    async def found(query: str) -> list[str]:
        status, html, _ = await operator.get("/admin/messages?" + query)
        assert status == 200, (query, status)
        return hits(html)

    everything = await found("")
    assert everything[:4] == [receipt["id"], from_b["id"], to_c["id"], to_b["id"]]  # newest first, all agencies
    async with world.axis.ctx.sessions() as session:
        document_id = (await session.get(Message, to_c["id"])).document_id  # type: ignore[union-attr]
        sha = (await session.get(Message, from_b["id"])).sha256  # type: ignore[union-attr]
    assert await found(f"document_id={document_id}") == [to_c["id"]]
    assert await found(f"message_id={to_b['id'].lower()}") == [to_b["id"]]
    assert await found(f"sender={B}") == [from_b["id"]]
    assert await found(f"sender={A}&recipient={C}") == [to_c["id"]]
    assert await found(f"recipient={C}&kind=edoc") == [from_b["id"], to_c["id"]]
    assert await found("kind=status") == [receipt["id"]]
    assert await found(f"sha256={sha}") == [from_b["id"]]
    assert await found("text=tình+hình") == [to_b["id"]]
    assert await found("text=%25") == []  # LIKE wildcards are matched literally
    # Text is a document's subject; with kind=status, a status's description.
    assert receipt["id"] not in await found("text=nhận")
    assert await found("kind=status&text=nhận") == [receipt["id"]]
    assert await found("state=queued&kind=edoc") == [to_c["id"], to_b["id"]]
    assert await found("state=delivered&kind=edoc") == [from_b["id"]]  # C's 01 arrived
    today = world.axis.ctx.clock().astimezone(VN_TZ).date()
    assert await found(f"from={today:%d/%m/%Y}&to={today.isoformat()}&kind=edoc") == \
        [from_b["id"], to_c["id"], to_b["id"]]
    assert await found(f"to={today - timedelta(days=1)}") == []

    # Bad values are refused with the field named, nothing searched.
    for query, field in (("message_id=xyz", "message_id"), ("sha256=abc", "sha256"), ("from=31/02/2026", "from"),
                         ("kind=letter", "kind"), ("state=lost", "state"), ("after=%%%", "after")):
        status, html, _ = await operator.get("/admin/messages?" + query)
        assert status == 400 and 'id="search-error"' in html and field in html, query

    # Every search by the operator is an audit entry with its filters.
    searched = await world.audit("messages.searched")
    assert all(e.actor == "user:vanhanh" for e in searched)
    assert len(searched) == 16  # the refused ones searched nothing
    assert json.loads(searched[1].details)["filters"] == {"document_id": document_id}


async def test_search_pages_by_keyset_and_keeps_the_filters(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    sent = [await world.send([world.b], subject=f"Văn bản số {i}") for i in range(7)]
    await world.send([world.c], subject="Văn bản khác")
    operator = await _operator(world, browser_for)
    seen: list[str] = []
    path: str | None = f"/admin/messages?recipient={B}&limit=3"
    while path:
        status, html, _ = await operator.get(path.replace("&amp;", "&"))
        assert status == 200
        seen += hits(html)
        m = _NEXT.search(html)
        path = (m.group(1) or m.group(2)) if m else None
        if path:
            assert f"recipient={B}" in path and "limit=3" in path and "after=" in path
    assert len(await world.audit("messages.searched")) == 3
    assert seen == [s["id"] for s in reversed(sent)]


async def test_message_story_shows_attempts_statuses_audit_and_trace_and_resends(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    dead = await world.axis.register("001.00.10.H47", endpoint="http://127.0.0.1:9/edxml")
    _, signed = world.a.document([dead, world.b], subject="Về việc tăng cường phòng chống dịch bệnh")
    async with world.a.client() as client:
        sent = await client.submit(signed)
    async with world.b.client() as client:
        await client.fetch(sent["id"])
        await client.post_status(world.b.status(signed, StatusCode.ARRIVED, "Đã nhận văn bản"))

    async def failed_yet() -> bool:
        async with world.axis.ctx.sessions() as session:
            states = (await session.execute(select(Delivery.state).where(Delivery.message_id == sent["id"]))).all()
        return ("failed",) in states

    await wait_for(failed_yet)
    operator = await _operator(world, browser_for)
    status, html, _ = await operator.get(f"/admin/messages/{sent['id']}")
    assert status == 200
    failed_row = re.search(r'<tr data-delivery="(\d+)" data-state="failed" data-recipient="001.00.10.H47">(.*?)</tr>',
                           html, re.S)
    assert failed_row, html
    delivery_id = int(failed_row.group(1))
    # Each attempt with its time and error, the last one the one that gave up.
    async with world.axis.ctx.sessions() as session:
        tries = list((await session.execute(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id))).scalars())
    assert tries and tries[-1].outcome == "failed" and all(t.outcome == "retry" for t in tries[:-1])
    assert [t.attempt for t in tries] == list(range(1, len(tries) + 1))
    assert failed_row.group(2).count('data-outcome="') == len(tries)
    assert "Connect" in tries[-1].error or "refused" in tries[-1].error.lower() or tries[-1].error
    # Worded from its code in the page's language; the library's own words are the folded technical detail.
    shown = failed_row.group(2).replace("&#39;", "'").replace("&quot;", '"')
    assert "Không kết nối được tới địa chỉ nhận của nơi nhận" in shown
    assert tries[-1].error.split(": ", 1)[1] in shown and "recipient endpoint unreachable" not in shown
    assert 'data-recipient="000.00.00.H29"' in html and 'data-state="delivered"' in html
    # Statuses: B's 01 and the axis's 02 saying the delivery failed.
    codes = re.findall(r'<li class="status-(\d\d)" data-code="\d\d">', html)
    assert sorted(codes) == ["01", "02"]
    # The TraceHeaderList of the stored bytes, and the audit entries about the message.
    assert re.search(r'id="story-trace".*?<td class="mono">000.00.00.G22</td>', html, re.S)
    for action in ("delivery.retrieved", "delivery.delivered", "delivery.failed"):
        assert f'data-action="{action}"' in html, action
    viewed = await world.audit("message.viewed")
    assert [(e.actor, e.subject) for e in viewed] == [("user:vanhanh", sent["id"])]

    # Resend from the page: a reason is required; then it is queued again and audited.
    token = await operator.csrf(f"/admin/messages/{sent['id']}")
    status, html, _ = await operator.post(f"/admin/messages/{sent['id']}/resend",
                                          {"csrf_token": token, "delivery": str(delivery_id), "reason": " "})
    assert status == 400 and 'id="resend-error"' in html
    status, _, r = await operator.post(f"/admin/messages/{sent['id']}/resend",
                                       {"csrf_token": token, "delivery": str(delivery_id),
                                        "reason": "Máy chủ nhận đã sửa"})
    assert status == 303 and r.headers["Location"] == f"/admin/messages/{sent['id']}?resent=1"
    resent = await world.audit("delivery.resent")
    assert len(resent) == 1 and resent[0].actor == "user:vanhanh" and "Máy chủ nhận đã sửa" in resent[0].details
    # A delivery of another message cannot be resent from this page.
    other = await world.send([world.c])
    status, _, _ = await operator.post(f"/admin/messages/{other['id']}/resend",
                                       {"csrf_token": token, "delivery": str(delivery_id), "reason": "x"})
    assert status == 400
    assert (await operator.get("/admin/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV"))[0] == 404


async def test_clerks_and_archivists_cannot_search_or_read_other_agencies_messages(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    sent = await world.send([world.b])
    await world.add_user("luutru.g22", A, "archivist")
    for login in ("vanthu.h41", "vanthu.h29", "luutru.g22"):
        person = await browser_for(login)
        for path in ("/admin/messages", "/admin/messages?document_id=x", f"/admin/messages/{sent['id']}",
                     "/admin/people"):
            assert (await person.get(path))[0] == 403, (login, path)
        _, html, _ = await person.get("/inbox")
        assert "/admin/messages" not in html
    outsider = await browser_for("vanthu.h41")
    assert (await outsider.get(f"/documents/{sent['id']}"))[0] == 404
    assert await world.audit("messages.searched") == []


async def _confirm(world: World, second: Any, login: str) -> str | None:
    """The second operator confirms the waiting request about ``login``; the set-password link, if any."""
    async with world.axis.ctx.sessions() as session:
        request_id = (await session.execute(select(PeopleRequest.id).where(
            PeopleRequest.login == login, PeopleRequest.outcome.is_(None)))).scalar_one()
    status, html, _ = await second.post(f"/admin/people/requests/{request_id}/confirm",
                                        {"csrf_token": await second.csrf("/admin/people")})
    assert status in (200, 303), status
    link = re.search(r'id="set-password-link">[^<]*(/account/set-password/[^<]+)<', html)
    return link.group(1) if link else None


async def _choose(person: Any, link: str, password: str) -> None:
    status, html, _ = await person.post(link, {"csrf_token": await person.csrf(link), "password": password,
                                               "again": password})
    assert status == 200 and 'id="password-saved"' in html


async def test_operator_adds_a_person_changes_role_disables_and_resets_password(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    operator = await _operator(world, browser_for)
    await world.add_user("vanhanh.hai", world.axis.ctx.settings.axis_code, "operator")
    second = await browser_for("vanhanh.hai")
    token = await operator.csrf("/admin/people")
    status, html, r = await operator.post("/admin/people", {"csrf_token": token, "login": "VanThu.Moi",
                                                            "agency": B, "role": "clerk"})
    assert status == 303 and r.headers["Location"] == "/admin/people?requested=vanthu.moi"
    link = await _confirm(world, second, "vanthu.moi")
    assert link
    # The new person chooses a password with the link and signs in; the page lists them under their agency.
    newcomer = await browser_for()
    await _choose(newcomer, link, "cua-nguoi-moi-2026")
    assert (await newcomer.login("vanthu.moi", "cua-nguoi-moi-2026"))[0] == 303
    _, html, _ = await operator.get(f"/admin/people?agency={B}")
    assert 'data-login="vanthu.moi" data-role="clerk" data-active="true"' in html
    assert 'data-login="vanthu.g22"' not in html
    # Refusals: a login taken, a bad role, an unknown agency; nothing added.
    for fields in ({"login": "vanthu.moi", "agency": B, "role": "clerk"},
                   {"login": "khac.1", "agency": B, "role": "boss"},
                   {"login": "khac.2", "agency": "000.00.00.Z99", "role": "clerk"}):
        status, html, _ = await operator.post("/admin/people", {"csrf_token": token, **fields})
        assert status == 400 and 'id="people-error"' in html, fields

    # Raise the role: confirmed by the second operator, their session ends, the new role applies.
    status, _, r = await operator.post("/admin/people/vanthu.moi/role", {"csrf_token": token, "role": "archivist"})
    assert status == 303 and r.headers["Location"] == "/admin/people?requested=vanthu.moi"
    assert await _confirm(world, second, "vanthu.moi") is None
    assert (await newcomer.get("/inbox"))[0] == 303
    # Reset: a new link; the old password stops working at once, the stored hash is the person's choice.
    status, _, _ = await operator.post("/admin/people/vanthu.moi/password", {"csrf_token": token})
    assert status == 303
    fresh = await _confirm(world, second, "vanthu.moi")
    assert fresh and fresh != link
    assert (await newcomer.login("vanthu.moi", "cua-nguoi-moi-2026"))[0] == 401
    await _choose(newcomer, fresh, "lan-thu-hai-2026")
    async with world.axis.ctx.sessions() as session:
        stored = (await session.execute(select(User).where(User.login == "vanthu.moi"))).scalar_one()
    assert stored.role == "archivist" and verify_password("lan-thu-hai-2026", stored.password_hash)
    assert (await newcomer.login("vanthu.moi", "lan-thu-hai-2026"))[0] == 303
    # Disable: out at once, and cannot sign in; enable again.
    status, _, _ = await operator.post("/admin/people/vanthu.moi/active", {"csrf_token": token, "active": "0"})
    assert status == 303
    assert (await newcomer.get("/inbox"))[0] == 303
    async with world.axis.ctx.sessions() as session:
        left = (await session.execute(select(WebSession).join(User, User.id == WebSession.user_id)
                                      .where(User.login == "vanthu.moi"))).all()
    assert left == []
    assert (await newcomer.login("vanthu.moi", "lan-thu-hai-2026"))[0] == 401
    await operator.post("/admin/people/vanthu.moi/active", {"csrf_token": token, "active": "1"})
    assert (await newcomer.login("vanthu.moi", "lan-thu-hai-2026"))[0] == 303

    # Operators cannot lock themselves out; an unknown login is 404.
    status, html, _ = await operator.post("/admin/people/vanhanh/active", {"csrf_token": token, "active": "0"})
    assert status == 400
    status, _, _ = await operator.post("/admin/people/vanhanh/role", {"csrf_token": token, "role": "clerk"})
    assert status == 400
    assert (await operator.post("/admin/people/khong.ai/password", {"csrf_token": token}))[0] == 404

    # Every change is audited, with who did it; no password or link in any entry.
    actions = {a: await world.audit(a) for a in ("user.added", "user.role_changed", "user.password_reset",
                                                 "user.disabled", "user.enabled", "people.requested")}
    assert [e.subject for e in actions["user.added"] if e.actor == "user:vanhanh.hai"] == ["vanthu.moi"]
    for a in ("user.role_changed", "user.password_reset"):
        assert [(e.actor, e.subject) for e in actions[a]] == [("user:vanhanh.hai", "vanthu.moi")], a
    for a in ("user.disabled", "user.enabled"):
        assert [(e.actor, e.subject) for e in actions[a]] == [("user:vanhanh", "vanthu.moi")], a
    assert [e.actor for e in actions["people.requested"]] == ["user:vanhanh"] * 3
    changed = json.loads(actions["user.role_changed"][0].details)
    assert (changed["from"], changed["to"], changed["requested_by"]) == ("clerk", "archivist", "user:vanhanh")
    everything = " ".join(e.details for events in actions.values() for e in events)
    assert link.rsplit("/", 1)[1] not in everything and fresh.rsplit("/", 1)[1] not in everything


async def test_disabled_agency_users_are_listed_and_the_search_sees_revoked_copies(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    sent = await world.send([world.b])
    async with world.axis.ctx.sessions() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.message_id == sent["id"])
                              .values(state="failed", last_error="HTTP 503"))
    operator = await _operator(world, browser_for)
    status, html, _ = await operator.get("/admin/messages?state=failed")
    assert status == 200 and hits(html) == [sent["id"]]
    _, html, _ = await operator.get("/admin/people")
    for login in ("vanthu.g22", "vanthu.h29", "vanthu.h41", "vanhanh"):
        assert f'data-login="{login}"' in html


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    settings = world.axis.ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env.update(AXIS_HOME=str(settings.home), AXIS_DATABASE_URL=settings.resolved_database_url)
    return subprocess.run([str(AXIS), "messages", "search", *args], env=env, capture_output=True, text=True,
                          timeout=90)


async def test_cli_messages_search_prints_a_table_or_json_pages_and_is_audited(world: World) -> None:
    sent = [await world.send([world.b], subject=f"Về việc số {i}") for i in range(3)]
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    table = await asyncio.to_thread(_cli, world, "--recipient", B, "--limit", "2")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("received (VN)") and sent[2]["id"] in lines[1] and f"{B} (queued)" in lines[1]
    assert sent[0]["id"] not in table.stdout
    token = re.search(r"--after (\S+)$", lines[-1])
    assert lines[-1].startswith("2 messages, newest first") and token
    more = await asyncio.to_thread(_cli, world, "--recipient", B, "--limit", "2", "--after", token.group(1),
                                   "--json", "--as", "vanhanh")
    assert more.returncode == 0, more.stderr
    page = json.loads(more.stdout)
    assert [i["id"] for i in page["items"]] == [sent[0]["id"]] and page["next"] is None
    assert page["items"][0]["recipients"] == [{"organ_id": B, "state": "queued"}]
    refused = await asyncio.to_thread(_cli, world, "--message-id", "nope")
    assert refused.returncode == 2 and "--message-id" in refused.stderr
    not_operator = await asyncio.to_thread(_cli, world, "--as", "vanthu.h29")
    assert not_operator.returncode == 1 and "not an active operator" in not_operator.stderr
    searched = await world.audit("messages.searched")
    assert [e.actor for e in searched][1] == "user:vanhanh" and searched[0].actor.startswith("cli:")
    assert json.loads(searched[0].details)["filters"] == {"recipient": B}


async def test_console_pages_speak_english_when_the_operator_switches(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    sent = await world.send([world.b], subject="Về việc thử nghiệm")
    operator = await _operator(world, browser_for)
    token = await operator.csrf("/admin/messages")
    assert (await operator.post("/language", {"csrf_token": token, "lang": "en", "next": "/admin/messages"}))[0] == 303
    _, html, _ = await operator.get("/admin/messages")
    assert "<title>Search all messages" in html and ">People</a>" in html and "Vận hành" not in html
    _, html, _ = await operator.get(f"/admin/messages/{sent['id']}")
    assert f"<title>Message {sent['id']}" in html and "Deliveries (1)" in html and "Audit entries" in html
    _, html, _ = await operator.get("/admin/people")
    assert "<title>People (4)" in html and "Reset password" in html
