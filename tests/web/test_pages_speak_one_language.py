"""Pages in one language and one format each, in a real browser, Vietnamese then English.

Push errors worded from their code (the library's words folded away) and wrapped between words; dates,
months and byte counts one way per language; the axis's own row; operators landing on /admin; the stuck
threshold refused at 0; audit details as labelled values; a hold from a row of the due list.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from axis.archive.calendar import month_of
from axis.web.i18n import CATALOGUE
from storage.archive_models import LegalHoldItem
from storage.models import Delivery
from tests.web.conftest import A, C, World
from tests.web.test_web_archive import OLD, exchange
from tests.web.test_web_browser import login, screenshot, wait_for

VI, EN = 0, 1
UNREACHABLE = CATALOGUE["push.unreachable"]
#: A library's or Python's own error name, which a page must not show as its words.
RAW_ERROR = re.compile(r"\b[A-Z][A-Za-z]+Error\b|recipient endpoint")


async def to_english(page: Any) -> None:
    """Switch the page's language with the switch every page carries."""
    await page.click("#switch-language")
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"


async def _failed_push(world: World) -> tuple[str, Any]:
    """A sends to H47, whose endpoint nobody listens on (it fails after the 1 s deadline), and to B."""
    dead = await world.axis.register("001.00.10.H47", endpoint="http://127.0.0.1:9/edxml")
    sent = await world.send([dead, world.b], subject="Về việc tăng cường công tác phòng chống dịch bệnh")

    async def failed_yet() -> bool:
        async with world.axis.ctx.sessions() as session:
            states = (await session.execute(select(Delivery.state).where(Delivery.message_id == sent["id"]))).all()
        return ("failed",) in states

    await wait_for(failed_yet)
    return sent["id"], dead


async def test_push_errors_are_worded_in_the_page_language_and_wrap_between_words(
        world: World, new_page: Any, screenshots: Path) -> None:
    message_id, dead = await _failed_push(world)
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    page = await new_page()
    await login(page, world, "vanhanh")
    # An operator lands on the operators' pages, not on the axis agency's empty inbox.
    assert page.url == world.url + "/admin"

    await page.goto(world.url + "/admin/deliveries")
    row = page.locator(f"#deliveries tr[data-delivery]:has-text('{dead.code}')")
    assert (await row.locator(".push-words").inner_text()).strip() == UNREACHABLE[VI]
    assert not RAW_ERROR.search(await row.inner_text()), await row.inner_text()
    # The technical detail is there for the operator who opens it, and only then.
    detail = row.locator("details.push-detail code")
    assert not await detail.is_visible()
    await row.locator("details.push-detail summary").click()
    assert await detail.is_visible() and "127.0.0.1" in await detail.inner_text()
    # A sentence wraps between words: nothing cuts a word at the column's edge (word-break: break-all did).
    style = await row.locator(".push-error").evaluate(
        "e => [getComputedStyle(e).wordBreak, getComputedStyle(e).overflowWrap]")
    assert style == ["normal", "break-word"], style
    await screenshot(page, screenshots, "deliveries-push-error.png")

    await page.goto(world.url + f"/admin/messages/{message_id}")
    attempts = page.locator("#story-deliveries tr[data-state='failed'] li[data-outcome]")
    words = [w.strip() for w in await attempts.locator(".push-words").all_inner_texts()]
    assert words and set(words) == {UNREACHABLE[VI]}
    assert not RAW_ERROR.search(await page.locator("#story-deliveries").inner_text())
    # The audit details are labelled values, the error worded too, never a JSON object.
    failed_audit = page.locator("#story-audit tr[data-action='delivery.failed'] td.audit-details")
    text = await failed_audit.inner_text()
    assert "Lượt chuyển:" in text and f"Lỗi: {UNREACHABLE[VI]}" in text and "{" not in text, text
    await screenshot(page, screenshots, "message-attempts.png")
    # The trace's times are written as every other time on the page, not as ISO text.
    trace_times = await page.locator("#story-trace tbody td.nowrap").all_inner_texts()
    assert trace_times and all(re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", x.strip()) for x in trace_times)

    await to_english(page)
    words = [w.strip() for w in await attempts.locator(".push-words").all_inner_texts()]
    assert set(words) == {UNREACHABLE[EN]}
    trace_times = await page.locator("#story-trace tbody td.nowrap").all_inner_texts()
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", x.strip()) for x in trace_times), trace_times
    text = await failed_audit.inner_text()
    assert "Delivery:" in text and f"Error: {UNREACHABLE[EN]}" in text and "{" not in text, text

    # The sender's clerk reads the same fixed words, in each language, and no detail at all.
    clerk = await new_page()
    await login(clerk, world, "vanthu.g22")
    assert clerk.url == world.url + "/inbox"
    await clerk.goto(world.url + f"/documents/{message_id}")
    cell = clerk.locator(f"#deliveries tr[data-recipient='{dead.code}']")
    assert (await cell.locator(".push-words").inner_text()).strip() == UNREACHABLE[VI]
    assert await cell.locator("details").count() == 0
    await to_english(clerk)
    assert (await cell.locator(".push-words").inner_text()).strip() == UNREACHABLE[EN]


async def test_a_stuck_threshold_of_zero_is_refused_with_a_clear_line(world: World, new_page: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    page = await new_page()
    await login(page, world, "vanhanh")
    for minutes in ("0", "-5"):
        answer = await page.goto(world.url + f"/admin/deliveries?minutes={minutes}")
        assert answer is not None and answer.status == 400
        alert = await page.inner_text("#bad-threshold")
        assert f"«{minutes}»" in alert and "lớn hơn 0" in alert and "60 phút" in alert, alert
        assert await page.input_value("#d-minutes") == minutes
        assert await page.get_attribute("#d-minutes", "aria-invalid") == "true"
    answer = await page.goto(world.url + "/admin/deliveries?minutes=5")
    assert answer is not None and answer.status == 200 and await page.locator("#bad-threshold").count() == 0
    await page.goto(world.url + "/admin/deliveries?minutes=0")
    await to_english(page)
    assert "above 0" in await page.inner_text("#bad-threshold")


async def test_dates_months_and_sizes_are_one_format_per_language(
        world: World, new_page: Any, screenshots: Path) -> None:
    day = date(2026, 11, 3)
    sent = await exchange(world, world.a, [world.b], "Về việc báo cáo quý", promulgation_date=day)
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    month = month_of(world.axis.ctx.clock())
    vi_month, en_month = f"{month[5:]}/{month[:4]}", month

    page = await new_page()
    await login(page, world, "vanthu.h29")
    await page.goto(world.url + f"/documents/{sent['id']}")
    assert "03/11/2026" in await page.inner_text("main")
    await page.goto(world.url + "/registers/incoming")
    dates = [d.strip() for d in await page.locator("#register tbody td.c-date").all_inner_texts()]
    assert dates and all(re.fullmatch(r"\d\d/\d\d/\d{4}", d) for d in dates), dates
    assert "03/11/2026" in dates
    await screenshot(page, screenshots, "register.png")

    # The month is typed the page's way: a text field, not the browser's picker in the browser's language.
    await page.goto(world.url + "/reports")
    field = page.locator("#r-month")
    assert await field.get_attribute("type") == "text"
    assert await field.get_attribute("placeholder") == "tt/nnnn"
    assert await field.input_value() == vi_month
    assert (await page.inner_text("h1")).strip() == f"Báo cáo tháng {vi_month}"
    chart_title = await page.locator("#throughput-chart title").first.text_content() or ""
    assert chart_title.endswith(f"– {vi_month}"), chart_title
    series = [s.strip() for s in await page.locator("#series tbody th").all_inner_texts()]
    assert series[-1] == vi_month and all(re.fullmatch(r"\d\d/\d{4}", s) for s in series), series
    await field.fill("1/2026")
    await page.click("#report-filters button[type=submit]")
    await page.wait_for_load_state()
    assert (await page.inner_text("h1")).strip() == "Báo cáo tháng 01/2026"
    await field.fill("13/2026")
    await page.click("#report-filters button[type=submit]")
    await page.wait_for_load_state()
    assert "tháng/năm" in await page.inner_text("#bad-month") and await field.input_value() == "13/2026"

    await page.goto(world.url + "/reports")
    await to_english(page)
    assert await field.get_attribute("placeholder") == "yyyy-mm"
    assert await field.input_value() == en_month
    assert (await page.inner_text("h1")).strip() == f"Monthly report {en_month}"
    series = [s.strip() for s in await page.locator("#series tbody th").all_inner_texts()]
    assert all(re.fullmatch(r"\d{4}-\d\d", s) for s in series), series
    await screenshot(page, screenshots, "reports-en.png")
    await page.goto(world.url + f"/documents/{sent['id']}")
    assert "2026-11-03" in await page.inner_text("main") and "03/11/2026" not in await page.inner_text("main")
    await page.goto(world.url + "/registers/incoming")
    assert "2026-11-03" in [d.strip() for d in await page.locator("#register tbody td.c-date").all_inner_texts()]
    assert "1 document" in await page.inner_text("#register-agency")  # not "1 documents"

    # One placeholder per language for a typed date, on every page that asks for one; bytes in the plural.
    operator = await new_page()
    await login(operator, world, "vanhanh")
    await operator.goto(world.url + "/admin/messages")
    assert [await operator.get_attribute(f"#s-{k}", "placeholder") for k in ("from", "to")] == ["nn/tt/nnnn"] * 2
    await operator.goto(world.url + "/reports")
    await to_english(operator)
    await operator.goto(world.url + "/admin/messages")
    assert [await operator.get_attribute(f"#s-{k}", "placeholder") for k in ("from", "to")] == ["yyyy-mm-dd"] * 2
    await operator.goto(world.url + "/reports")
    nothing_in = operator.locator(f"#monthly tr[data-agency='{C}'] td[data-col='bytes_in']")
    assert (await nothing_in.inner_text()).strip() == "0 bytes"


async def test_the_axis_row_says_what_it_is_in_each_language(world: World, new_page: Any, screenshots: Path) -> None:
    axis_code = world.axis.ctx.settings.axis_code
    await world.add_user("vanhanh", axis_code, "operator")
    page = await new_page()
    await login(page, world, "vanhanh")
    await page.goto(world.url + "/admin/agencies")
    row = page.locator(f"#agencies tr[data-code='{axis_code}']")
    assert await row.get_attribute("data-state") == "axis"
    assert (await row.locator(".agency-state").inner_text()).strip() == CATALOGUE["agencies.state.axis"][VI]
    assert "Đã khóa" not in await row.inner_text()
    assert (await page.locator(f"tr[data-code='{A}'] .agency-state").inner_text()).strip() == "Hoạt động"
    await screenshot(page, screenshots, "agencies.png")
    await to_english(page)
    assert (await row.locator(".agency-state").inner_text()).strip() == \
        "The axis itself: signs notices, receives nothing"
    assert "Disabled" not in await row.inner_text()


async def test_a_row_of_the_due_list_opens_the_hold_form_with_what_the_archivist_sees(
        world: World, new_page: Any, screenshots: Path) -> None:
    old = await exchange(world, world.a, [world.b], "Về việc lưu trữ năm 2010", promulgation_date=OLD)
    await world.add_user("luutru.g22", A, "archivist")
    page = await new_page()
    await login(page, world, "luutru.g22")
    await page.goto(world.url + "/archive/due")
    row = page.locator(f"#due tr[data-id='{old['id']}']")
    action = row.locator("a.hold-action")
    assert (await action.inner_text()).strip() == "Tạm giữ"
    await screenshot(page, screenshots, "archive-due.png")
    await action.click()
    await page.wait_for_url(lambda url: "/archive/holds?documents=" in url)
    # Prefilled with the DocumentId the row shows, not a raw message id to copy.
    assert await page.input_value("#h-documents") == old["document_id"]
    await page.fill("#h-name", "Thanh tra 2010")
    await page.fill("#h-authority", "Thanh tra Chính phủ")
    await page.fill("#h-reason", "Hồ sơ phục vụ thanh tra")
    await page.click("#add-hold button[type=submit]")
    await page.wait_for_url("**/archive/holds?placed=*")
    async with world.axis.ctx.sessions() as session:
        held = (await session.execute(select(LegalHoldItem.message_id))).scalars().all()
    assert list(held) == [old["id"]]
    await page.goto(world.url + "/archive/due")
    assert await row.get_attribute("data-held") == "true"
    await to_english(page)
    assert (await row.locator("a.hold-action").inner_text()).strip() == "Hold"
