"""A document accepted in a deployed shape carries a badge and its notes on the clerk's and the operator's page."""

from __future__ import annotations

import html as html_text
import re
from typing import Any

from lxml import etree

from tests.vxp import deployed
from tests.web.conftest import World

_BADGE = re.compile(r'<span class="badge badge-warn" id="shape-badge" title="([^"]*)">([^<]*)</span>')
_NOTES = re.compile(r'<div class="alert alert-warn small" id="shape-notes">(.*?)</div>', re.S)


def zipped_on_the_way(root: etree._Element) -> None:
    """The attachment's own ContentType says zip, the manifest's still application/pdf (a gateway zipped it)."""
    found = root.find(".//e:AttachmentEncoded/e:Attachment/e:ContentType", deployed.E)
    assert found is not None
    found.text = "application/zip"


def _shape(page: str) -> tuple[str, str, str] | None:
    """(badge label, badge title, notes block) of a page, or None without a badge."""
    badge = _BADGE.search(page)
    if badge is None:
        assert _NOTES.search(page) is None, "notes without a badge"
        return None
    notes = _NOTES.search(page)
    assert notes is not None, "a badge without its notes"
    return html_text.unescape(badge.group(2)), html_text.unescape(badge.group(1)), html_text.unescape(notes.group(1))


async def test_the_badge_shows_for_a_deployed_shape_and_not_for_the_standard_one(
        world: World, browser_for: Any) -> None:
    async with world.a.client() as client:
        shaped = await client.submit(deployed.signed(world.a, [world.b], zipped_on_the_way))
    plain = await world.send([world.b])
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    clerk, operator = await browser_for("vanthu.h29"), await browser_for("vanhanh")

    for who, path in ((clerk, "/documents/{}"), (operator, "/admin/messages/{}")):
        status, page, _ = await who.get(path.format(shaped["id"]))
        assert status == 200, path
        found = _shape(page)
        assert found is not None, f"no badge on {path}"
        label, title, notes = found
        assert label == "Dạng gói tin thực tế"  # the Vietnamese catalogue (the default language)
        assert "ContentType application/zip where the manifest says application/pdf" in title
        assert "ContentType application/zip where the manifest says application/pdf" in notes
        assert "QCVN 102:2016" in notes

        status, page, _ = await who.get(path.format(plain["id"]))
        assert status == 200, path
        assert _shape(page) is None, f"a badge on a standard document's {path}"

    # The English catalogue has its own words.
    await clerk.post("/language", {"csrf_token": await clerk.csrf(), "lang": "en"})
    status, page, _ = await clerk.get(f"/documents/{shaped['id']}")
    found = _shape(page)
    assert status == 200 and found is not None and found[0] == "Deployed edXML shape", found
