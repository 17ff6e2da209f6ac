"""The clerks' UI in a real browser (Debian's Chromium, headless, driven by Playwright)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from envelope.codes import Priority, StatusCode
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Delivery
from tests.archive.conftest import TestClock
from tests.databases import DatabaseTemplate
from tests.harness import Agent
from tests.web.conftest import PASSWORD, World, start_world

PDF = b"%PDF-1.4\n% Cong van so hoa\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
SHEET = "Số liệu;Giá trị\nVăn bản đến;1250\n".encode()


async def login(page: Any, world: World, login: str, password: str = PASSWORD) -> Any:
    """Sign in through the form; return the answer to the form post."""
    await page.goto(world.url + "/login")
    await page.fill("#login", login)
    await page.fill("#password", password)
    async with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        await page.click("button[type=submit].primary")
    await page.wait_for_load_state()
    return await answer.value


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll an async predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def screenshot(page: Any, directory: Path, name: str) -> Path:
    """Save what a 1366×768 office screen shows (the README's pictures) and check a PNG was written."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    await page.screenshot(path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000, path
    return path


async def send_realistic_traffic(world: World) -> None:
    """A few documents from two agencies to B, so the inbox looks like a working day."""
    g14 = await world.axis.register("000.00.00.G14")
    samples: list[tuple[Agent, str, str, str, Priority]] = [
        (world.a, "Về việc báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026", "BC", "BC-VPCP", Priority.NORMAL),
        (g14, "Hướng dẫn quyết toán ngân sách nhà nước năm 2026", "HD", "HD-BTC", Priority.NORMAL),
        (world.a, "Giấy mời dự Hội nghị trực tuyến toàn quốc về chuyển đổi số", "GM", "GM-VPCP", Priority.URGENT),
        (g14, "Về việc phân bổ kinh phí phòng, chống thiên tai", "", "BTC-NSNN", Priority.VERY_URGENT),
    ]
    for agent, subject, abbreviation, notation, priority in samples:
        _, signed = agent.document([world.b], subject=subject, type_abbreviation=abbreviation, notation=notation,
                                   priority=priority, number=str(100 + len(subject)))
        async with agent.client() as client:
            await client.submit(signed)


async def test_document_sent_over_the_api_reaches_the_clerk_and_shows_delivered_to_the_sender(
        world: World, new_page: Any, screenshots: Path) -> None:
    await send_realistic_traffic(world)
    doc, signed = world.a.document(
        [world.b, world.c], subject="Về việc triển khai Nghị định số 30/2020/NĐ-CP về công tác văn thư",
        type_abbreviation="CĐ", notation="CĐ-TTg", priority=Priority.FLASH,
        attachments=[Attachment("cid:1", "Công điện 1234.pdf", "application/pdf", PDF, "Bản chính"),
                     Attachment("cid:2", "phụ lục số liệu.csv", "text/csv", SHEET, "Phụ lục")],
    )
    async with world.a.client() as client:
        reply = await client.submit(signed)
    doc_id = reply["id"]

    # B's clerk signs in and finds it at the top of the inbox, marked urgent.
    page = await new_page()
    answer = await login(page, world, "vanthu.h29")
    assert answer.status == 303
    assert page.url.endswith("/inbox")
    title = await page.text_content("#page-title")
    assert title is not None and "Văn bản đến (5)" in title
    assert (await page.title()).startswith("Văn bản đến (5)")
    row = page.locator(f"tr[data-id='{doc_id}']")
    assert await row.count() == 1
    assert "urgent" in (await row.get_attribute("class") or "")
    assert await page.locator("#inbox-table tbody tr").first.get_attribute("data-id") == doc_id  # newest first
    assert "Hỏa tốc" in await row.inner_text()
    await screenshot(page, screenshots, "inbox.png")

    # Open it: metadata in Vietnamese, a valid signature, its receipt, the recipients' states.
    await row.locator("td.c-number a").click()
    await page.wait_for_url(f"**/documents/{doc_id}")
    assert await page.text_content("#doc-subject") == doc.subject
    metadata = await page.inner_text("#metadata")
    assert "Số, ký hiệu" in metadata and doc.document_id in metadata and "Hỏa tốc" in metadata
    assert await page.get_attribute(".sig-verdict", "data-valid") == "true"
    assert "Chữ ký hợp lệ" in await page.inner_text("#signature")
    assert reply["sha256"] in await page.inner_text("#receipt")
    assert await page.locator("#deliveries tr[data-recipient]").count() == 2
    await screenshot(page, screenshots, "document.png")
    viewed = await world.audit("document.viewed")
    assert [(e.actor, e.subject) for e in viewed] == [("user:vanthu.h29", doc_id)]

    # Both attachments download byte for byte.
    for index, expected in ((1, PDF), (2, SHEET)):
        async with page.expect_download() as info:
            await page.click(f"#attachments tbody tr:nth-child({index}) a")
        download = await info.value
        assert Path(await download.path()).read_bytes() == expected
    assert (await page.context.cookies())  # still signed in after downloads
    assert len(await world.audit("document.attachment_downloaded")) == 2

    # B's DMS fetches it and posts its signed 01; C's arrives too.
    async with world.b.client() as bc, world.c.client() as cc:
        assert await bc.fetch(doc_id) == signed
        await bc.post_status(world.b.status(doc, StatusCode.ARRIVED, "Đã nhận văn bản"))
        await cc.post_status(world.c.status(doc, StatusCode.ARRIVED, "Đã nhận"))
        await bc.post_status(world.b.status(doc, StatusCode.ACCEPTED, "Đã vào sổ văn bản đến"))

    # A's clerk sees it delivered in the outbox, and the timeline on the document.
    sender = await new_page()
    await login(sender, world, "vanthu.g22")
    await sender.click("nav.main-nav a[href='/outbox']")
    await sender.wait_for_url("**/outbox")
    row = sender.locator(f"tr[data-id='{doc_id}']")
    assert await row.get_attribute("data-state") == "delivered"
    assert "Đã nhận (2/2)" in await row.inner_text()
    await row.locator("td.c-number a").click()
    await sender.wait_for_url(f"**/documents/{doc_id}")
    codes = await sender.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.code)")
    assert codes == ["01", "01", "03"]

    # Switch to English: the same page, now in English, and it sticks.
    await sender.click("#switch-language")
    await sender.wait_for_url(f"**/documents/{doc_id}")
    assert "Status timeline" in await sender.inner_text("main")
    assert await sender.get_attribute("html", "lang") == "en"
    await sender.goto(world.url + "/outbox")
    assert "Outbox (3)" in (await sender.text_content("#page-title") or "")
    assert "Delivered (2/2)" in await sender.locator(f"tr[data-id='{doc_id}']").inner_text()


async def test_clerk_of_another_agency_gets_not_found_on_the_document_url(world: World, new_page: Any) -> None:
    reply = await world.send([world.b])
    page = await new_page()
    await login(page, world, "vanthu.h41")
    answer = await page.goto(f"{world.url}/documents/{reply['id']}")
    assert answer is not None and answer.status == 404
    assert "Không tìm thấy" in await page.inner_text("#error-message")
    answer = await page.goto(f"{world.url}/admin")
    assert answer is not None and answer.status == 403


async def test_subject_with_a_script_tag_is_shown_as_text(world: World, new_page: Any) -> None:
    subject = 'Khẩn <script>alert("xss")</script> & <img src=x onerror=alert(2)>'
    reply = await world.send([world.b], subject=subject)
    page = await new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await login(page, world, "vanthu.h29")
    assert subject in await page.inner_text(f"tr[data-id='{reply['id']}'] .c-subject")
    await page.goto(f"{world.url}/documents/{reply['id']}")
    assert await page.text_content("#doc-subject") == subject
    # No script element and no image came from the subject; nothing ran.
    assert await page.locator("script").count() == 0
    assert await page.locator("img").count() == 0
    assert dialogs == []


async def test_form_posted_without_the_csrf_token_is_refused(world: World, new_page: Any) -> None:
    page = await new_page()
    await login(page, world, "vanthu.h29")
    # Strip the token from the logout form, as a forged form would lack it.
    await page.locator("form[action='/logout'] input[name=csrf_token]").evaluate("e => e.remove()")
    async with page.expect_response(lambda r: r.url.endswith("/logout") and r.request.method == "POST") as info:
        await page.click("#logout")
    assert (await info.value).status == 403
    assert "CSRF" in await page.inner_text("#error-message")
    # A cross-site style POST with the browser's cookies but no token is refused too.
    answer = await page.context.request.post(world.url + "/language", form={"lang": "en"})
    assert answer.status == 403
    await page.goto(world.url + "/inbox")
    assert page.url.endswith("/inbox")  # still signed in


@pytest.fixture
async def frozen_world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                       identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    """The usual world with its clock stopped, so the throttle's waits last the whole test."""
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async for w in start_world(tmp_path, db_template, test_ca, identities, clock=clock):
        yield w


async def test_wrong_passwords_throttle_the_login(frozen_world: World, new_page: Any) -> None:
    world = frozen_world
    page = await new_page()
    for attempt in range(4):
        answer = await login(page, world, "vanthu.h29", "mat-khau-sai-000")
        assert answer.status == (429 if attempt == 3 else 401)
    assert "tạm khóa" in await page.inner_text("#login-error")
    answer = await login(page, world, "vanthu.h29")
    assert answer.status == 429
    assert page.url.endswith("/login")
    assert "tạm khóa" in await page.inner_text("#login-error")


async def test_operator_resends_a_failed_delivery_with_a_reason(world: World, new_page: Any,
                                                                screenshots: Path) -> None:
    # H47 pushes to an endpoint nobody listens on: its delivery fails after the deadline (1 s here).
    dead = await world.axis.register("001.00.10.H47", endpoint="http://127.0.0.1:9/edxml")
    failed = await world.send([dead, world.b], subject="Về việc tăng cường công tác phòng chống dịch bệnh",
                              priority=Priority.URGENT)
    stuck = await world.send([world.c], subject="Thông báo lịch tiếp công dân tháng 12")

    async def failed_yet() -> bool:
        async with world.axis.ctx.sessions() as session:
            states = (await session.execute(select(Delivery.state).where(Delivery.message_id == failed["id"]))).all()
        return ("failed",) in states

    await wait_for(failed_yet)
    async with world.c.client() as client:
        await client.fetch(stuck["id"])  # fetched, never receipted (a document nobody pulled is not stuck)
    async with world.axis.ctx.sessions() as session, session.begin():
        late = (await session.execute(select(Delivery).where(Delivery.message_id == stuck["id"]))).scalar_one()
        late.created_at -= timedelta(hours=3)  # fetched three hours ago and still no 01: stuck
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")

    page = await new_page()
    await login(page, world, "vanhanh")
    await page.click("nav.main-nav a[href='/admin']")
    await page.wait_for_url("**/admin")
    assert int(await page.inner_text("#failed-count .tile-value")) == 1
    await page.click("nav.sub-nav a[href='/admin/deliveries']")
    await page.wait_for_url("**/admin/deliveries")
    rows = page.locator("#deliveries tbody tr")
    assert await rows.count() == 2
    failed_row = page.locator("#deliveries tr.failed")
    assert "001.00.10.H47" in await failed_row.inner_text()
    assert "stuck" in (await page.locator("#deliveries tr.stuck").get_attribute("class") or "")
    await screenshot(page, screenshots, "failed-deliveries.png")

    # No reason, no resend.
    await failed_row.locator("button[name=only]").click()
    assert await page.evaluate("document.querySelector('#reason').validity.valueMissing")
    delivery_id = await failed_row.get_attribute("data-delivery")
    await page.fill("#reason", "Cơ quan đã khắc phục máy chủ nhận văn bản")
    await failed_row.locator("button[name=only]").click()
    await page.wait_for_selector("#resent")
    assert "1" in await page.inner_text("#resent")
    resent = await world.audit("delivery.resent")
    assert len(resent) == 1 and resent[0].actor == "user:vanhanh"
    assert "Cơ quan đã khắc phục" in resent[0].details and f'"delivery":{delivery_id}' in resent[0].details

    # Bulk: tick both rows (the failed one may have failed again by now) and resend.
    await page.goto(world.url + "/admin/deliveries")
    for box in await page.locator("#deliveries input[name=ids]").all():
        await box.check()
    await page.fill("#reason", "Gửi lại hàng loạt sau sự cố mạng")
    await page.click("#resend-selected")
    await page.wait_for_selector("#resent")
    assert len(await world.audit("delivery.resent")) >= 2
