"""Dates and chart labels as a real browser shows them (Chromium in an English-US locale, which writes mm/dd)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.web.conftest import VIEWPORT, A, World
from tests.web.test_web_archive import exchange
from tests.web.test_web_browser import login


@pytest.fixture
async def us_page(chromium: Any) -> AsyncIterator[Any]:
    """A page in a browser set up for the United States (its own date pickers read mm/dd/yyyy)."""
    context = await chromium.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="America/New_York")
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_date_fields_read_day_first_whatever_the_browser_locale(world: World, us_page: Any) -> None:
    await world.send([world.b], subject="Về việc lọc theo ngày")
    page = us_page
    await login(page, world, "vanthu.h29")
    await page.goto(world.url + "/inbox")
    field = page.locator("#f-from")
    # A text field the page controls, not the browser's picker with its own month-first order.
    assert await field.get_attribute("type") == "text"
    assert await field.get_attribute("placeholder") == "nn/tt/nnnn"
    await field.fill("03/11/2026")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_load_state()
    assert "from=03%2F11%2F2026" in page.url
    assert await page.locator("#f-from").input_value() == "03/11/2026"
    # The chosen day is also written in words: the 3rd of November, not the 11th of March.
    assert await page.locator("#f-from-hint").inner_text() == "3 tháng 11, 2026"

    # A month-first date is no date: said so, and what was typed stays in the field.
    await page.locator("#f-from").fill("11/30/2026")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_load_state()
    assert "«11/30/2026» không phải là ngày" in await page.locator("p.alert-warn[role=alert]").inner_text()
    assert await page.locator("#f-from").input_value() == "11/30/2026"
    assert await page.locator("#f-from").get_attribute("aria-invalid") == "true"


async def test_chart_time_axis_labels_are_distinct_and_sub_second_medians_have_a_unit(
        world: World, us_page: Any) -> None:
    for subject in ("Về việc báo cáo quý", "Về việc tổng kết năm", "Về việc phúc đáp"):
        await exchange(world, world.a, [world.b], subject)
    page = us_page
    await login(page, world, "vanthu.g22")
    await page.goto(world.url + "/reports")
    labels = [t.strip() for t in await page.locator("#axis-time text.tick-right").all_text_contents()]
    assert len(labels) > 1 and len(labels) == len(set(labels)), labels
    median = (await page.locator(f"#monthly tr[data-agency='{A}'] td[data-col='median_receipt_s']").inner_text())
    assert median.strip() and not median.strip().startswith("0 "), median  # never "0 giây" for 0.06 s
    assert any(unit in median for unit in ("mili giây", "giây", "phút", "tiếng")), median
