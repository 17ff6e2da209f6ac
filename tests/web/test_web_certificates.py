"""Certificate warnings on /admin, in a real browser and over plain HTTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from signing.keys import certificate_pem, generate_private_key, self_signed_certificate
from storage.registry.agencies import add_next_certificate, replace_certificate
from tests.web.conftest import B, C, World
from tests.web.test_web_browser import login, screenshot

DAY = dt.timedelta(days=1)


def _pem(code: str, *, valid_from: dt.datetime, valid_until: dt.datetime) -> bytes:
    key = generate_private_key("ec")
    return certificate_pem(self_signed_certificate(key, f"Cơ quan {code}", organ_id=code,
                                                   not_before=valid_from, not_after=valid_until))


async def _age_certificates(world: World) -> None:
    """B's certificate expires in 12 days (a next one is registered); C's expired 3 days ago."""
    now = dt.datetime.now(dt.UTC)
    async with world.axis.ctx.sessions() as session, session.begin():
        await replace_certificate(session, B, _pem(B, valid_from=now - 300 * DAY, valid_until=now + 12 * DAY))
        await add_next_certificate(session, B, _pem(B, valid_from=now - DAY, valid_until=now + 800 * DAY))
        await replace_certificate(session, C, _pem(C, valid_from=now - 800 * DAY, valid_until=now - 3 * DAY))
    world.axis.ctx.registry.invalidate()


async def test_operator_sees_expired_and_expiring_certificates_on_admin(world: World, new_page: Any,
                                                                       screenshots: Path) -> None:
    await _age_certificates(world)
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    page = await new_page()
    await login(page, world, "vanhanh")
    await page.goto(world.url + "/admin")
    section = page.locator("#certificates")
    assert "30" in await section.locator("h2").inner_text()
    rows = section.locator("#certificate-warnings tbody tr")
    # Soonest first: C's expired one, then B's current one; B's next one and everyone else's are fine.
    assert [(await r.get_attribute("data-owner"), await r.get_attribute("data-role"),
             await r.get_attribute("data-state")) for r in await rows.all()] == [
        (C, "current", "expired"), (B, "current", "expiring")]
    assert "Đã hết hạn" in await rows.nth(0).inner_text()
    assert "Sắp hết hạn" in await rows.nth(1).inner_text()
    assert await rows.nth(1).locator("td.num").inner_text() in ("11", "12")
    await section.scroll_into_view_if_needed()
    await screenshot(page, screenshots, "admin-certificates.png")


async def test_admin_says_when_no_certificate_needs_attention(world: World, browser_for: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    status, html, _ = await operator.get("/admin")
    assert status == 200
    assert 'id="certificates-ok"' in html and 'id="certificate-warnings"' not in html
    # Three agencies, the test CA is not configured, and the axis's own certificate.
    assert "(4 chứng thư được theo dõi)" in html
