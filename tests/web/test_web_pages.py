"""What the pages show and do: inbox/outbox filters and paging, document detail, operator actions.

The archive's pages (reports, registers, disposal, holds) are in test_web_archive.py.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text, update

import axis.exchange.listings
from axis.appkeys import JOB_INTERVALS
from axis.exchange.redelivery import resend_deliveries
from envelope.codes import VN_TZ, Priority, StatusCode
from signing.keys import certificate_pem, fingerprint
from storage.jobs import finish_run, start_run
from storage.models import Agency, Delivery, Payload
from storage.registry.agencies import replace_certificate
from tests.web.conftest import B, C, World, sha256

TEMPLATES = Path(__file__).resolve().parents[2] / "axis" / "web" / "templates"
_ROW = re.compile(r'<tr class="[^"]*" data-id="(\w+)" data-state="(\w+)"')


def rows(html: str) -> list[tuple[str, str]]:
    """(message id, state) of each table row, in page order."""
    return _ROW.findall(html)


async def test_inbox_filters_by_priority_text_type_sender_state_and_date(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    g14 = await world.axis.register("000.00.00.G14")
    plain = await world.send([world.b], subject="Về việc báo cáo tình hình kinh tế", number="7816")
    urgent = await world.send([world.b], subject="Giấy mời họp khẩn", type_abbreviation="GM", notation="GM-VPCP",
                              priority=Priority.VERY_URGENT)
    _, signed = g14.document([world.b], subject="Hướng dẫn quyết toán ngân sách 100%_năm", notation="HD-BTC",
                             type_abbreviation="HD")
    async with g14.client() as client:
        budget = await client.submit(signed)
    _, other = world.a.document([world.c], subject="Chỉ gửi cho Nghệ An")
    async with world.a.client() as client:
        await client.submit(other)

    clerk = await browser_for("vanthu.h29")
    _, html, _ = await clerk.get("/inbox")
    assert "<title>Văn bản đến (3)" in html
    assert [i for i, _ in rows(html)] == [budget["id"], urgent["id"], plain["id"]]  # newest first

    async def ids(query: str) -> list[str]:
        status, page, _ = await clerk.get("/inbox?" + query)
        assert status == 200, query
        return [i for i, _ in rows(page)]

    assert await ids("priority=urgent") == [urgent["id"]]
    assert await ids("priority=2") == [urgent["id"]]
    assert await ids("priority=0") == [budget["id"], plain["id"]]
    assert await ids("q=ngân+sách") == [budget["id"]]
    assert await ids("q=100%25_") == [budget["id"]]  # LIKE wildcards are matched literally
    assert await ids("q=%25") == [budget["id"]]
    assert await ids("q=7816") == [plain["id"]]  # the number, via the DocumentId
    assert await ids("type=Giấy+mời") == [urgent["id"]]
    assert await ids("counterpart=000.00.00.G14") == [budget["id"]]
    assert await ids("state=pending") == [budget["id"], urgent["id"], plain["id"]]
    assert await ids("state=delivered") == []

    async with world.b.client() as bc:
        doc, _ = world.a.document([world.b], subject="Về việc báo cáo tình hình kinh tế", number="7816")
        await bc.post_status(world.b.status(doc, StatusCode.ARRIVED))
    assert await ids("state=delivered") == [plain["id"]]

    today = world.axis.ctx.clock().astimezone(VN_TZ).date()
    assert len(await ids(f"from={today}&to={today}")) == 3
    assert await ids(f"from={today + timedelta(days=1)}") == []
    assert await ids(f"to={today - timedelta(days=1)}") == []
    # Dates are typed day/month/year (ISO also works); a month-first date is no date and is said so.
    assert len(await ids(f"from={today:%d/%m/%Y}&to={today:%d/%m/%Y}")) == 3
    assert await ids(f"from={today + timedelta(days=1):%d/%m/%Y}") == []
    status, page, _ = await clerk.get("/inbox?from=12/31/2026&state=bogus&priority=9")
    assert status == 200 and len(rows(page)) == 3
    assert "«12/31/2026» không phải là ngày" in page and "ví dụ 03/11/2026" in page
    assert 'value="12/31/2026" aria-invalid="true"' in page  # what was typed stays in the field


async def test_outbox_lists_recipients_and_how_far_delivery_got(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    doc, signed = world.a.document([world.b, world.c], subject="Gửi hai nơi")
    async with world.a.client() as client:
        sent = await client.submit(signed)
    clerk = await browser_for("vanthu.g22")

    async def outbox(query: str = "") -> str:
        return (await clerk.get("/outbox" + query))[1]

    html = await outbox()
    assert "<title>Văn bản đi (1)" in html
    assert rows(html) == [(sent["id"], "pending")]
    assert "UBND Thành phố Hồ Chí Minh" in html and "UBND tỉnh Nghệ An" in html and "(0/2)" in html
    async with world.b.client() as bc:
        await bc.post_status(world.b.status(doc, StatusCode.ARRIVED))
    html = await outbox()
    assert rows(html) == [(sent["id"], "pending")] and "(1/2)" in html
    async with world.c.client() as cc:
        await cc.post_status(world.c.status(doc, StatusCode.ARRIVED))
    html = await outbox("?state=delivered")
    assert rows(html) == [(sent["id"], "delivered")] and "Đã nhận (2/2)" in html
    assert rows(await outbox("?state=pending")) == []
    assert rows(await outbox(f"?counterpart={C}")) == [(sent["id"], "delivered")]
    assert rows(await outbox("?counterpart=000.00.00.G14")) == []
    # B's outbox is empty: it only received.
    assert "Văn bản đi (0)" in (await (await browser_for("vanthu.h29")).get("/outbox"))[1]


async def test_inbox_pages_newest_first_and_keeps_the_filters(world: World, browser_for,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(axis.exchange.listings, "PAGE_SIZE", 2)
    sent = [await world.send([world.b], subject=f"Văn bản số {i}") for i in range(5)]
    newest_first = [s["id"] for s in reversed(sent)]
    clerk = await browser_for("vanthu.h29")
    _, page1, _ = await clerk.get("/inbox?q=V%C4%83n+b%E1%BA%A3n")
    assert [i for i, _ in rows(page1)] == newest_first[:2]
    assert "Trang 1/3" in page1 and 'href="/inbox?q=' in page1 and "page=2" in page1
    _, page2, _ = await clerk.get("/inbox?q=V%C4%83n+b%E1%BA%A3n&page=2")
    assert [i for i, _ in rows(page2)] == newest_first[2:4]
    _, last, _ = await clerk.get("/inbox?page=99")
    assert [i for i, _ in rows(last)] == newest_first[4:] and "Trang 3/3" in last


async def test_a_big_box_counts_up_to_the_cap_and_pages_stop_there(world: World, browser_for,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(axis.exchange.listings, "PAGE_SIZE", 2)
    monkeypatch.setattr(axis.exchange.listings, "COUNT_CAP", 3)
    sent = [await world.send([world.b], subject=f"Văn bản số {i}") for i in range(5)]
    newest_first = [s["id"] for s in reversed(sent)]
    for login, box, title in (("vanthu.h29", "inbox", "Văn bản đến"), ("vanthu.g22", "outbox", "Văn bản đi")):
        clerk = await browser_for(login)
        _, page1, _ = await clerk.get(f"/{box}")
        assert f"<title>{title} (3+)" in page1 and "Trang 1/2+" in page1, box
        assert [i for i, _ in rows(page1)] == newest_first[:2]
        _, page2, _ = await clerk.get(f"/{box}?page=2")
        assert [i for i, _ in rows(page2)] == newest_first[2:4] and 'rel="next"' not in page2
        _, beyond, _ = await clerk.get(f"/{box}?page=99")
        assert [i for i, _ in rows(beyond)] == newest_first[2:4] and "Trang 2/2+" in beyond
        # Narrowed below the cap, the count is exact again.
        _, narrowed, _ = await clerk.get(f"/{box}?q=s%E1%BB%91+4")
        assert f"<title>{title} (1)" in narrowed and [i for i, _ in rows(narrowed)] == newest_first[:1]


async def test_outbox_pages_newest_first_and_keeps_the_filters(world: World, browser_for,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(axis.exchange.listings, "PAGE_SIZE", 2)
    sent = [await world.send([world.b, world.c] if i % 2 else [world.b], subject=f"Văn bản số {i}")
            for i in range(5)]
    clerk = await browser_for("vanthu.g22")
    _, page1, _ = await clerk.get(f"/outbox?counterpart={B}")
    assert "<title>Văn bản đi (5)" in page1 and "Trang 1/3" in page1
    assert [i for i, _ in rows(page1)] == [s["id"] for s in reversed(sent)][:2]
    _, page3, _ = await clerk.get(f"/outbox?counterpart={B}&page=3")
    assert [i for i, _ in rows(page3)] == [sent[0]["id"]] and "Trang 3/3" in page3
    _, to_c, _ = await clerk.get(f"/outbox?counterpart={C}&page=2")
    assert "<title>Văn bản đi (2)" in to_c and [i for i, _ in rows(to_c)] == [sent[3]["id"], sent[1]["id"]]
    _, nobody, _ = await clerk.get("/outbox?counterpart=000.00.00.G14")
    assert "<title>Văn bản đi (0)" in nobody and rows(nobody) == []


async def test_document_page_shows_the_signed_metadata_and_the_check_made_at_acceptance(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b], subject="Về việc kiểm tra chữ ký", priority=Priority.URGENT)
    clerk = await browser_for("vanthu.h29")
    status, html, _ = await clerk.get(f"/documents/{reply['id']}")
    assert status == 200
    for label in ("Số, ký hiệu", "Mã văn bản (DocumentId)", "Nơi ban hành", "Ngày ban hành", "Trích yếu nội dung",
                  "Độ khẩn", "Mã định danh", "Tệp đính kèm", "Chữ ký hợp lệ", "Biên nhận có chữ ký hợp lệ của Trục",
                  "Diễn biến xử lý", "Chưa có trạng thái nào.", "cong-van.pdf", "Khẩn"):
        assert label in html, label
    assert 'data-valid="true"' in html

    # The signed edXML and the receipt download byte for byte.
    status, raw, r = await clerk.get_bytes(f"/documents/{reply['id']}/edxml")
    assert status == 200 and sha256(raw) == reply["sha256"]
    status, receipt, _ = await clerk.get_bytes(f"/documents/{reply['id']}/receipt")
    assert status == 200 and receipt == reply["receipt"].encode()
    assert (await clerk.get(f"/documents/{reply['id']}/attachments/2"))[0] == 404
    downloads = [e.action for e in await world.audit("document.downloaded")]
    assert downloads == ["document.downloaded"]

    # The page shows the check made when the axis accepted the document (no re-verification
    # of the whole blob per view): a later change of the sender's certificate does not make it invalid.
    assert 'data-checked="acceptance"' in html and fingerprint(world.a.identity.certificate) in html
    other = world.axis.identity_for("000.00.00.G14")
    async with world.axis.ctx.sessions() as session, session.begin():
        await replace_certificate(session, world.a.code, certificate_pem(other.certificate), actor="test")
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    assert 'data-valid="true"' in html and 'data-checked="acceptance"' in html
    assert fingerprint(world.a.identity.certificate) in html and fingerprint(other.certificate) not in html

    # A document stored before the check was kept (no signature_check) is verified as before, against the
    # sender's registered certificate: now another key's, so flagged.
    async with world.axis.ctx.sessions() as session, session.begin():
        kept = (await session.execute(text("SELECT signature_check FROM messages WHERE id = :id"),
                                      {"id": reply["id"]})).scalar_one()
        await session.execute(text("UPDATE messages SET signature_check = NULL WHERE id = :id"), {"id": reply["id"]})
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    assert 'data-checked="now"' in html and 'data-valid="false"' in html
    async with world.axis.ctx.sessions() as session, session.begin():
        await replace_certificate(session, world.a.code, certificate_pem(world.a.identity.certificate), actor="test")
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    assert 'data-checked="now"' in html and 'data-valid="true"' in html
    async with world.axis.ctx.sessions() as session, session.begin():
        await session.execute(text("UPDATE messages SET signature_check = :kept WHERE id = :id"),
                              {"kept": kept, "id": reply["id"]})

    # Stored bytes altered behind the axis's back no longer match the digest taken at acceptance: flagged.
    async with world.axis.ctx.sessions() as session, session.begin():
        await session.execute(update(Payload).where(Payload.sha256 == reply["sha256"])
                              .values(data=raw.replace("kiểm tra chữ ký".encode(), "kiểm tra chữ kÝ".encode())))
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    assert "Chữ ký KHÔNG hợp lệ" in html and 'data-valid="false"' in html and "no longer match the digest" in html
    assert len(await world.audit("document.viewed")) == 5


async def test_status_messages_have_no_document_page(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    doc, signed = world.a.document([world.b])
    async with world.a.client() as ac, world.b.client() as bc:
        await ac.submit(signed)
        status_reply = await bc.post_status(world.b.status(doc, StatusCode.ARRIVED))
    clerk = await browser_for("vanthu.g22")
    assert (await clerk.get(f"/documents/{status_reply['id']}"))[0] == 404


async def test_operator_registers_an_agency_and_its_token_is_shown_once(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    token = await operator.csrf("/admin/agencies")
    status, html, r = await operator.post("/admin/agencies", {
        "csrf_token": token, "code": "000.00.00.G14", "name": "Bộ Tài chính", "endpoint": "", "certificate": "",
    })
    assert status == 200 and r.headers["Cache-Control"] == "no-store"
    issued = re.search(r'<code class="token" id="token">([^<]+)</code>', html)
    assert issued and "MỘT LẦN" in html
    async with aiohttp.ClientSession() as http:
        async with http.get(world.url + "/api/v1/agencies",
                            headers={"Authorization": f"Bearer {issued.group(1)}"}) as answer:
            assert answer.status == 200
    _, listing, _ = await operator.get("/admin/agencies")
    assert "000.00.00.G14" in listing and issued.group(1) not in listing

    for bad in ({"code": "G14", "name": "x"}, {"code": "000.00.00.G14", "name": "again"}):
        status, html, _ = await operator.post("/admin/agencies", {"csrf_token": token, **bad})
        assert status == 400 and "Không thực hiện được" in html


async def test_operator_disables_issues_a_new_token_and_replaces_a_certificate(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    token = await operator.csrf("/admin/agencies")

    async def api_status(bearer: str) -> int:
        async with aiohttp.ClientSession() as http:
            async with http.get(world.url + "/api/v1/inbox", headers={"Authorization": f"Bearer {bearer}"}) as r:
                return r.status

    status, _, r = await operator.post(f"/admin/agencies/{B}/active", {"csrf_token": token, "active": "0"})
    assert status == 303 and r.headers["Location"] == f"/admin/agencies?saved={B}"
    assert await api_status(world.b.token) == 403
    await operator.post(f"/admin/agencies/{B}/active", {"csrf_token": token, "active": "1"})
    assert await api_status(world.b.token) == 200

    status, html, _ = await operator.post(f"/admin/agencies/{B}/token", {"csrf_token": token})
    new = re.search(r'id="token">([^<]+)<', html)
    assert status == 200 and new
    assert await api_status(world.b.token) == 401 and await api_status(new.group(1)) == 200

    replacement = world.axis.identity_for("001.00.10.H47")
    from signing.keys import certificate_pem, fingerprint

    status, _, _ = await operator.post(f"/admin/agencies/{C}/certificate", {
        "csrf_token": token, "certificate": certificate_pem(replacement.certificate).decode()})
    assert status == 303
    async with world.axis.ctx.sessions() as session:
        c = (await session.execute(select(Agency).where(Agency.code == C))).scalar_one()
    assert c.certificate_fingerprint == fingerprint(replacement.certificate)
    status, html, _ = await operator.post(f"/admin/agencies/{C}/certificate",
                                          {"csrf_token": token, "certificate": "not a certificate"})
    assert status == 400 and "Không thực hiện được" in html
    assert (await operator.post("/admin/agencies/000.00.00.Z99/token", {"csrf_token": token}))[0] == 404
    # The axis's own row is not managed from the page.
    axis_code = world.axis.ctx.settings.axis_code
    assert (await operator.post(f"/admin/agencies/{axis_code}/active", {"csrf_token": token, "active": "1"}))[0] == 404
    actions = {e.action for e in await world.audit("agency.disabled")} | \
        {e.action for e in await world.audit("agency.token_rotated")} | \
        {e.action for e in await world.audit("agency.certificate_replaced")}
    assert actions == {"agency.disabled", "agency.token_rotated", "agency.certificate_replaced"}


async def test_resend_needs_a_reason_and_queues_again_keeping_attempts(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b])
    ctx = world.axis.ctx
    async with ctx.sessions() as session, session.begin():
        d = (await session.execute(select(Delivery).where(Delivery.message_id == reply["id"]))).scalar_one()
        d.state, d.attempts, d.last_error = "retrieved", 3, "lấy về nhưng không báo nhận"
        d.created_at -= timedelta(hours=5)
        delivery_id = d.id
    await world.add_user("vanhanh", ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    _, html, _ = await operator.get("/admin/deliveries")
    assert f'data-delivery="{delivery_id}"' in html and "Tồn đọng" in html
    token = await operator.csrf("/admin/deliveries")

    status, html, _ = await operator.post("/admin/deliveries/resend", {"csrf_token": token, "only": str(delivery_id),
                                                                       "reason": "   "})
    assert status == 400 and "Cần nhập lý do" in html
    status, html, _ = await operator.post("/admin/deliveries/resend", {"csrf_token": token, "reason": "x"})
    assert status == 400 and "Chưa chọn" in html
    assert (await operator.post("/admin/deliveries/resend", {"csrf_token": token, "reason": "x", "ids": "abc"}))[0] == 400

    before = ctx.clock()
    status, _, r = await operator.post("/admin/deliveries/resend", [
        ("csrf_token", token), ("ids", str(delivery_id)), ("reason", "Cơ quan yêu cầu gửi lại")])
    assert status == 303 and r.headers["Location"] == "/admin/deliveries?resent=1"
    async with ctx.sessions() as session:
        d = await session.get(Delivery, delivery_id)
    assert d is not None and d.state == "queued" and d.attempts == 3 and d.last_error is None
    assert d.next_attempt_at is not None and d.next_attempt_at >= before
    [event] = await world.audit("delivery.resent")
    assert event.actor == "user:vanhanh" and event.subject == reply["id"]
    assert '"reason":"Cơ quan yêu cầu gửi lại"' in event.details and '"previous_state":"retrieved"' in event.details

    # A delivered delivery is never resent.
    async with ctx.sessions() as session, session.begin():
        d = await session.get(Delivery, delivery_id)
        assert d is not None
        d.state = "delivered"
    async with ctx.sessions() as session, session.begin():
        assert await resend_deliveries(session, [delivery_id], reason="x", actor="test", now=ctx.clock()) == []


async def test_health_panel_shows_queue_states_and_last_job_runs(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.send([world.b, world.c])
    ctx = world.axis.ctx
    run = await start_run(ctx.sessions, "fixity", "node-1", ctx.clock())
    await finish_run(ctx.sessions, run, "ok", "checked 12 blobs", ctx.clock())
    await world.add_user("vanhanh", ctx.settings.axis_code, "operator")
    _, html, _ = await (await browser_for("vanhanh")).get("/admin")
    assert re.search(r'id="queue-depth"><div class="tile-value">2<', html)
    assert '<tr data-state="queued">' in html
    assert "fixity" in html and "checked 12 blobs" in html and "node-1" in html
    # Every scheduled job is listed with the interval these settings give it (not the code's default).
    intervals = world.axis.app[JOB_INTERVALS]
    assert intervals["archive.audit_head"] == ctx.settings.audit_head_interval_seconds
    for name, seconds in intervals.items():
        assert re.search(rf'<td class="mono">{re.escape(name)}</td>\s*<td class="num">{int(seconds)}</td>', html), name


async def test_language_choice_follows_the_person_and_the_sign_in_page(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = await browser_for()
    token = await anonymous.csrf("/login")
    status, _, r = await anonymous.post("/language", {"csrf_token": token, "lang": "en", "next": "/login"})
    assert status == 303 and r.headers["Location"] == "/login"
    _, html, _ = await anonymous.get("/login")
    assert 'lang="en"' in html and "Sign in" in html
    await anonymous.login("vanthu.h29")
    _, html, _ = await anonymous.get("/inbox")
    assert "<title>Inbox (0)" in html
    token = await anonymous.csrf()
    await anonymous.post("/language", {"csrf_token": token, "lang": "vi", "next": "https://evil.example/"})
    _, html, _ = await anonymous.get("/inbox")
    assert "<title>Văn bản đến (0)" in html
    status, _, r = await anonymous.post("/language", {"csrf_token": token, "lang": "fr"})
    assert status == 400


def test_every_string_the_templates_use_is_in_the_catalogue_in_both_languages() -> None:
    from axis.archive.disposal import OPEN
    from axis.archive.holds import SEARCH_KEYS
    from axis.archive.schedules import ACTIONS, TRIGGERS
    from axis.exchange.listings import STATE_CHOICES
    from axis.web.i18n import CATALOGUE
    from storage.models import DeliveryMode, DeliveryState, MessageKind
    from storage.people.accounts import Role

    # What axis.archive.disposal writes into disposal lists and their items.
    DISPOSAL_STATES = (OPEN, "executed", "void")
    DISPOSAL_OUTCOMES = ("destroyed", "held", "not_due", "already_disposed", "not_destroy")
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", template.read_text()))
    assert used, "no catalogue keys found in the templates"
    # Keys completed at render time ("state." ~ row.state) must exist for every value they can take.
    dynamic = {k for k in used if k.endswith(".")}
    assert dynamic <= {"state.", "dlv.mode.", "sig.trust.", "kind.", "role.", "disposal.state.", "disposal.outcome.",
                       "retention.action.", "retention.trigger.", "people.kind.", "health.people.",
                       "health.circuit.", "agencies.state.", "push."}
    expected = {f"state.{s.value}" for s in DeliveryState} | {f"state.{s}" for s in STATE_CHOICES} | \
        {"state.revoked"} | {f"dlv.mode.{m.value}" for m in DeliveryMode} | {"sig.trust.pinned", "sig.trust.ca"} | \
        {f"kind.{k.value}" for k in MessageKind} | {f"role.{r.value}" for r in Role} | \
        {f"disposal.state.{s}" for s in DISPOSAL_STATES} | {f"disposal.outcome.{o}" for o in DISPOSAL_OUTCOMES} | \
        {f"retention.action.{a}" for a in ACTIONS} | {f"retention.trigger.{t}" for t in TRIGGERS} | \
        {f"holds.s_{k}" for k in SEARCH_KEYS} | \
        {f"people.kind.{k}" for k in ("add", "reset", "role", "first_clerk")} | \
        {f"health.people.{o}" for o in ("pending", "confirmed", "cancelled", "done")} | \
        {f"health.circuit.{c}" for c in ("open", "half-open", "closed")} | \
        {f"agencies.state.{s}" for s in ("axis", "active", "disabled")} | \
        {f"push.{c}" for c in ("unreachable", "redirected", "not_allowed", "address_refused", "answer_too_large",
                               "bad_receipt",
                               "no_endpoint", "not_registered", "answered", "generic")}
    missing = sorted(k for k in (used - dynamic) | expected if k not in CATALOGUE)
    assert missing == []
    for key, (vi, en) in CATALOGUE.items():
        assert vi.strip() and en.strip(), key
        assert sorted(re.findall(r"\{(\w+)\}", vi)) == sorted(re.findall(r"\{(\w+)\}", en)), key
