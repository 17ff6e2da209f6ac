"""Refusals on Vietnamese pages are in Vietnamese, on English pages in English (the catalogue words them)."""

from __future__ import annotations

from typing import Any

import lxml.html

MISSING = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


def alert(html: str, element_id: str) -> str:
    """The text of the page's alert with this id."""
    found = lxml.html.fromstring(html).xpath(f"string(//*[@id='{element_id}'])")
    return " ".join(str(found).split())


async def _in(browser: Any, lang: str, path: str) -> None:
    token = await browser.csrf(path)
    await browser.post("/language", {"csrf_token": token, "lang": lang, "next": path})


async def test_people_and_holds_refusals_follow_the_page_language(world: Any, browser_for: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    await world.add_user("luutru", world.a.code, "archivist")
    operator, archivist = await browser_for("vanhanh"), await browser_for("luutru")
    cases = {
        "vi": ("đã có", "không dùng được làm tên đăng nhập", "Không có văn bản lưu trữ", "phải là một ngày"),
        "en": ("already exists", "is not a valid login", "No archived document", "must be a date"),
    }
    for lang, (exists, bad_login, no_doc, bad_date) in cases.items():
        await _in(operator, lang, "/admin/people")
        token = await operator.csrf("/admin/people")
        _, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": "vanthu.g22",
                                                           "agency": world.a.code, "role": "clerk"})
        assert exists in alert(html, "people-error") and "vanthu.g22" in alert(html, "people-error")
        if lang == "vi":
            assert "already exists" not in html
        _, html, _ = await operator.post("/admin/people", {"csrf_token": token, "login": "Bad Login!",
                                                           "agency": world.a.code, "role": "clerk"})
        assert bad_login in alert(html, "people-error")
        _, html, _ = await operator.get("/admin/messages?from=31/02/2026")
        assert bad_date in alert(html, "search-error"), alert(html, "search-error")

        await _in(archivist, lang, "/archive/holds")
        token = await archivist.csrf("/archive/holds")
        _, html, _ = await archivist.post("/archive/holds", {"csrf_token": token, "name": "Vụ án", "authority":
                                                             "Tòa án", "reason": "giữ", "documents": MISSING})
        assert no_doc in alert(html, "action-error") and MISSING in alert(html, "action-error")
