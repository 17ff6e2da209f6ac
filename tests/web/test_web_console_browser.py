"""The operator console in a real browser: find a failed delivery by DocumentId and resend it; manage people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from envelope.codes import Priority, StatusCode
from storage.models import Delivery, User
from tests.web.conftest import B, World
from tests.web.test_web_browser import login, screenshot, send_realistic_traffic, wait_for


async def test_operator_finds_a_failed_delivery_by_document_id_and_resends_it_from_the_message_page(
        world: World, new_page: Any, screenshots: Path) -> None:
    await send_realistic_traffic(world)
    dead = await world.axis.register("001.00.10.H47", endpoint="http://127.0.0.1:9/edxml")
    doc, signed = world.a.document([dead, world.b], subject="Về việc tăng cường công tác phòng chống dịch bệnh",
                                   priority=Priority.URGENT, type_abbreviation="", notation="VPCP-KGVX")
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
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")

    page = await new_page()
    await login(page, world, "vanhanh")
    await page.click("nav.main-nav a[href='/admin']")
    await page.click("nav.sub-nav a[href='/admin/messages']")
    await page.wait_for_url("**/admin/messages")
    assert await page.locator("#results tbody tr").count() >= 6  # every agency's messages, newest first

    # The DMS operator at H47 phoned with a DocumentId: find it.
    await page.fill("#s-document-id", doc.document_id)
    await page.click("#search-submit")
    await page.wait_for_url("**/admin/messages?document_id=*")
    rows = page.locator("#results tbody tr")
    ids = await rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sent["id"] in ids
    row = page.locator(f"#results tr[data-id='{sent['id']}']")
    assert "001.00.10.H47" in await row.inner_text() and "Không chuyển được" in await row.inner_text()
    await screenshot(page, screenshots, "search.png")

    await row.locator("a").first.click()
    await page.wait_for_url(f"**/admin/messages/{sent['id']}")
    assert await page.text_content("#story-document-id") == doc.document_id
    failed = page.locator("#story-deliveries tr[data-state='failed']")
    assert await failed.get_attribute("data-recipient") == "001.00.10.H47"
    outcomes = await failed.locator("li[data-outcome]").evaluate_all("items => items.map(i => i.dataset.outcome)")
    assert outcomes and outcomes[-1] == "failed"
    assert await page.locator("#story-deliveries tr[data-state='delivered']").count() == 1
    assert await page.locator("#story-trace tbody tr").count() >= 1
    assert await page.locator("#story-statuses li[data-code='01']").count() == 1
    assert await page.locator("#story-audit tr[data-action='delivery.failed']").count() == 1
    await screenshot(page, screenshots, "message.png")

    # Resend it from here: a reason is required and audited.
    await failed.locator("button[type=submit]").click()
    assert await failed.locator("input[name=reason]").evaluate("e => e.validity.valueMissing")
    await failed.locator("input[name=reason]").fill("Cơ quan đã khắc phục máy chủ nhận văn bản")
    await failed.locator("button[type=submit]").click()
    await page.wait_for_selector("#resent")
    resent = await world.audit("delivery.resent")
    assert len(resent) == 1 and resent[0].actor == "user:vanhanh" and resent[0].subject == sent["id"]
    assert await page.locator("#story-audit tr[data-action='delivery.resent']").count() == 1
    searched = await world.audit("messages.searched")
    assert len(searched) == 2 and doc.document_id in searched[1].details
    assert len(await world.audit("message.viewed")) >= 2


async def _set_password(page: Any, link: str, password: str) -> None:
    await page.goto(link)
    await page.fill("#new-password", password)
    await page.fill("#again", password)
    await page.click("#password-submit")
    await page.wait_for_selector("#password-saved")


async def test_operator_adds_a_person_changes_the_role_disables_and_resets_the_password(
        world: World, new_page: Any, screenshots: Path) -> None:
    await world.add_user("luutru.h29", B, "archivist")
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    await world.add_user("vanhanh.hai", world.axis.ctx.settings.axis_code, "operator")
    page, second = await new_page(), await new_page()
    await login(page, world, "vanhanh")
    await login(second, world, "vanhanh.hai")
    await page.goto(world.url + "/admin/people")
    await page.select_option("#p-agency", B)
    await page.click("#people-filter button[type=submit]")
    await page.wait_for_url(f"**/admin/people?agency={B}")
    assert await page.locator("#people tbody tr").count() == 2

    # Add: B has people, so the addition waits for a second operator; the requester cannot confirm it.
    await page.fill("#n-login", "vanthu2.h29")
    await page.select_option("#n-agency", B)
    await page.select_option("#n-role", "clerk")
    await page.click("#add-person-submit")
    await page.wait_for_selector("#requested")
    assert await page.locator("#pending tr[data-login='vanthu2.h29'] .confirm-form").count() == 0

    async def confirm(login: str) -> str | None:
        await second.goto(world.url + "/admin/people")
        await second.locator(f"#pending tr[data-login='{login}'] .confirm-form button").click()
        await second.wait_for_load_state()
        if await second.locator("#set-password-link").count():
            return (await second.text_content("#set-password-link") or "").strip()
        return None

    link = await confirm("vanthu2.h29")
    assert link and "/account/set-password/" in link
    newcomer = await new_page()
    await _set_password(newcomer, link, "cua-toi-thoi-2026")
    assert (await login(newcomer, world, "vanthu2.h29", "cua-toi-thoi-2026")).status == 303
    assert newcomer.url.endswith("/inbox")

    # Raise the role: it too waits for the second operator.
    await page.goto(f"{world.url}/admin/people?agency={B}")
    row = page.locator("#people tr[data-login='vanthu2.h29']")
    await row.locator("select[name=role]").select_option("archivist")
    await row.locator(".role-form button").click()
    await page.wait_for_selector("#requested")
    await screenshot(page, screenshots, "people.png")
    assert await confirm("vanthu2.h29") is None
    await page.goto(f"{world.url}/admin/people?agency={B}")
    assert await page.locator("#people tr[data-login='vanthu2.h29']").get_attribute("data-role") == "archivist"

    # Disable: the person is signed out at once.
    await page.locator("#people tr[data-login='vanthu2.h29'] .active-form button").click()
    await page.wait_for_selector("#saved")
    assert await page.locator("#people tr[data-login='vanthu2.h29']").get_attribute("data-active") == "false"
    await newcomer.goto(world.url + "/inbox")
    assert "/login" in newcomer.url

    # Enable and reset the password: a new link once confirmed; the old password no longer works.
    await page.locator("#people tr[data-login='vanthu2.h29'] .active-form button").click()
    await page.wait_for_selector("#saved")
    await page.locator("#people tr[data-login='vanthu2.h29'] .password-form button").click()
    await page.wait_for_selector("#requested")
    fresh = await confirm("vanthu2.h29")
    assert fresh and fresh != link
    assert (await login(newcomer, world, "vanthu2.h29", "cua-toi-thoi-2026")).status == 401
    await _set_password(newcomer, fresh, "lan-nay-moi-2026")
    assert (await login(newcomer, world, "vanthu2.h29", "lan-nay-moi-2026")).status == 303

    async with world.axis.ctx.sessions() as session:
        person = (await session.execute(select(User).where(User.login == "vanthu2.h29"))).scalar_one()
    assert person.role == "archivist" and person.active
    expected = {"user.added": "user:vanhanh.hai", "user.role_changed": "user:vanhanh.hai",
                "user.disabled": "user:vanhanh", "user.enabled": "user:vanhanh",
                "user.password_reset": "user:vanhanh.hai", "people.requested": "user:vanhanh"}
    for action, actor in expected.items():
        entries = [e for e in await world.audit(action) if e.subject == "vanthu2.h29"]
        assert entries and {e.actor for e in entries} == {actor}, action
