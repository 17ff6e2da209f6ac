"""The health page says when each job runs next; the report says when it was computed and can be recomputed."""

from __future__ import annotations

import re
from typing import Any

import lxml.html


async def test_health_page_says_when_each_job_runs_next_in_both_languages(world: Any, browser_for: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    for lang, heading, never in (("en", "Next run", "Never run"), ("vi", "Lần chạy tới", "Chưa chạy")):
        token = await operator.csrf("/admin")
        await operator.post("/language", {"csrf_token": token, "lang": lang, "next": "/admin"})
        _, html, _ = await operator.get("/admin")
        page = lxml.html.fromstring(html)
        assert heading in page.xpath("string(//table[@id='jobs']/thead)")
        cells = page.xpath("//td[@class='next-run']")
        assert cells, html
        for cell in cells:
            # Every job of this node has a time, even one that never ran yet.
            assert re.search(r"\d\d:\d\d:\d\d", cell.text_content()), (cell.get("data-job"), cell.text_content())
        assert never in html  # nothing ran yet in a fresh world: the time beside it says when it will


async def test_report_says_when_it_was_computed_and_an_archivist_recomputes_it(world: Any, browser_for: Any) -> None:
    await world.add_user("luutru", world.a.code, "archivist")
    archivist = await browser_for("luutru")
    status, html, r = await archivist.get("/reports")
    assert status == 200, r.headers.get("Location")
    month = re.findall(r'name="month" value="(\d{4}-\d\d)"', html)[0]
    _, html, _ = await archivist.get(f"/reports?month={month}")
    assert 'id="computed-at"' in html and "Số liệu tính lúc" in html and "Tính lại ngay" in html

    await world.send([world.b])  # after the figures were computed: not in them yet
    _, html, _ = await archivist.get(f"/reports?month={month}&agency={world.a.code}")
    sent = lxml.html.fromstring(html).xpath("string(//table[@id='monthly']//td[@data-col='sent']/@data-value)").strip()
    token = await archivist.csrf("/reports")
    status, _, r = await archivist.post("/reports/recompute",
                                        {"csrf_token": token, "month": month, "agency": world.a.code})
    assert status == 303 and r.headers["Location"] == f"/reports?month={month}&agency={world.a.code}"
    _, html, _ = await archivist.get(f"/reports?month={month}&agency={world.a.code}")
    after = lxml.html.fromstring(html).xpath("string(//table[@id='monthly']//td[@data-col='sent']/@data-value)").strip()
    assert int(after or 0) == int(sent or 0) + 1, (sent, after)

    clerk = await browser_for("vanthu.g22")
    assert "Tính lại ngay" not in (await clerk.get("/reports"))[1]
    token = await clerk.csrf("/reports")
    assert (await clerk.post("/reports/recompute", {"csrf_token": token, "month": month}))[0] == 403
