"""What the pages say: plain page titles, one label per delivery state, no raw codes, the site icon,
the operator told "waiting to be pulled" from "stuck", and empty pages that say why they are empty."""

from __future__ import annotations

import re
from datetime import timedelta

import lxml.html
from sqlalchemy import select

from axis.web.i18n import CATALOGUE
from storage.models import Delivery
from tests.web.conftest import A, World
from tests.web.test_web_archive import exchange
from tests.web.test_web_matrix import LOGINS, WHO, _prepare, get_matrix

_TITLE = re.compile(r"<title>(.*?)</title>", re.S)


async def test_every_page_title_is_plain_text_for_every_kind_of_person(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    ids = await _prepare(world)
    pages = [path for _, path, _ in get_matrix(ids["doc"], ids["disposed"], ids["hold"], ids["listed"])
             if not path.startswith("/static") and path != "/favicon.ico"]
    checked = 0
    for who in WHO:
        person = await browser_for(LOGINS.get(who))
        for lang in ("vi", "en"):
            await person.post("/language", {"csrf_token": await person.csrf("/login" if who == "anonymous"
                                                                            else "/logout"), "lang": lang})
            for path in pages:
                status, html, r = await person.get(path)
                if not r.headers.get("Content-Type", "").startswith("text/html"):
                    continue
                [raw] = _TITLE.findall(html.split("</head>")[0])  # the page's, not the chart's SVG title
                # Neither markup nor escaped markup: a tab, history entry or bookmark shows words only.
                assert "<" not in raw and "&lt;" not in raw and "&#" not in raw, (who, lang, path, raw[:200])
                title = lxml.html.fromstring(html).findtext("./head/title")
                assert title and title.strip() == title and "\n" not in title and len(title) < 120, (who, path, title)
                checked += 1
    assert checked > 60


async def test_site_icon_is_served_cached_to_everyone(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    anonymous = await browser_for()
    status, body, r = await anonymous.get_bytes("/favicon.ico")
    assert status == 200 and r.headers["Content-Type"] == "image/x-icon"
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in r.headers["Cache-Control"] and "no-store" not in r.headers["Cache-Control"]
    _, html, _ = await anonymous.get("/login")
    assert '<link rel="icon" href="/favicon.ico"' in html


async def test_a_delivery_state_has_one_label_on_every_page(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await world.send([world.b], subject="Về việc một lượt chuyển đang chờ")
    clerk = await browser_for("vanthu.h29")
    sender = await browser_for("vanthu.g22")
    _, inbox, _ = await clerk.get("/inbox")
    _, outbox, _ = await sender.get("/outbox")
    _, document, _ = await clerk.get(f"/documents/{reply['id']}")

    def label(html: str) -> str:
        page = lxml.html.fromstring(html)
        return " ".join(page.xpath("(//span[contains(@class, 'state-queued')])[1]")[0].text_content().split())

    assert label(document) == "Chờ chuyển"
    assert label(inbox) == "Chờ chuyển"
    assert label(outbox).startswith("Chờ chuyển")
    # No label is shared by two different states.
    labels = [v for k, v in CATALOGUE.items() if k.startswith("state.") and k != "state.summary"]
    for lang in (0, 1):
        words = [v[lang] for v in labels]
        assert len(words) == len(set(words)), words


async def test_document_page_names_its_type_and_retention_in_the_readers_language(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    reply = await exchange(world, world.a, [world.b], "Về việc báo cáo quý", type_abbreviation="BC",
                           notation="BC-VPCP")
    clerk = await browser_for("vanthu.h29")
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    page = lxml.html.fromstring(html)
    shown = " ".join(page.xpath("//*[@id='doc-type']")[0].text_content().split())
    assert shown.startswith("Báo cáo mã edXML: Type") and "(" not in shown
    title = page.xpath("//*[@id='retention-title']")[0].text_content()
    assert title == "Kế hoạch, báo cáo, chương trình, đề án, phương án, dự án"
    assert not re.search(r"[A-Za-z]{4,}s\b", title)  # no English words in the Vietnamese title
    await clerk.post("/language", {"csrf_token": await clerk.csrf(), "lang": "en"})
    _, html, _ = await clerk.get(f"/documents/{reply['id']}")
    page = lxml.html.fromstring(html)
    assert page.xpath("//*[@id='retention-title']")[0].text_content() == "Plans, reports, programmes, projects"


async def test_admin_tells_waiting_to_be_pulled_from_stuck_and_shows_no_raw_codes(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    ctx = world.axis.ctx
    old = await world.send([world.b], subject="Văn bản chưa ai tải về")  # pull mode, never fetched
    fetched = await world.send([world.c], subject="Văn bản đã tải về nhưng chưa báo nhận")
    async with world.c.client() as client:
        await client.fetch(fetched["id"])
    async with ctx.sessions() as session, session.begin():
        for d in (await session.execute(select(Delivery))).scalars():
            d.created_at -= timedelta(hours=5)  # well past stuck_after_minutes
    await world.add_user("vanhanh", ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    _, html, _ = await operator.get("/admin")
    page = lxml.html.fromstring(html)

    def tile(id_: str) -> str:
        return page.xpath(f"//*[@id='{id_}']//*[@class='tile-value']")[0].text_content().strip()

    assert tile("waiting-pull") == "1" and tile("stuck-count") == "1" and tile("on-the-way") == "0"
    assert "không phải tồn đọng" in page.xpath("//*[@id='waiting-pull']")[0].text_content()
    per_state = page.xpath("//table[@id='per-state']")[0].text_content()
    for code in ("queued", "pushing", "retry_wait", "retrieved"):
        assert code not in per_state
    _, html, _ = await operator.get("/admin/deliveries")
    assert fetched["id"] in html  # fetched five hours ago and never receipted: stuck
    assert old["id"] not in html  # waiting on its recipient, not stuck


async def test_empty_registers_and_archive_pages_say_why(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.add_user("luutru.g22", A, "archivist")
    archivist = await browser_for("luutru.g22")
    for path, words in (("/registers/incoming", "báo nhận đã ký"), ("/archive/disposals", "tính bằng năm"),
                        ("/archive/due", "tính bằng năm"), ("/archive/holds", "cơ quan có thẩm quyền")):
        status, html, _ = await archivist.get(path)
        empty = lxml.html.fromstring(html).xpath("//*[@id='empty']")
        assert status == 200 and empty and words in empty[0].text_content(), path
