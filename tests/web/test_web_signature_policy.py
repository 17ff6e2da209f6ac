"""The operator issues SDK credentials and sets the signature policy; clerks see unsigned documents marked."""

from __future__ import annotations

from typing import Any

from tests.vxp import deployed
from tests.vxp.sdk_client import SdkClient
from tests.web.conftest import World, csrf_from
from tests.web.test_web_browser import login


async def test_operator_issues_sdk_secret_and_sets_policy_and_the_clerk_sees_the_unsigned_badge(
        world: World, browser_for: Any, new_page: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    a = world.a
    status, html, _ = await operator.get("/admin/agencies")
    assert status == 200 and f'/admin/agencies/{a.code}/vxp-secret' in html
    token = csrf_from(html)

    # The secret is shown once, and it works on /vxp at once.
    status, html, _ = await operator.post(f"/admin/agencies/{a.code}/vxp-secret",
                                          {"csrf_token": token, "system_id": "vpcp-eoffice"})
    assert status == 200, html
    secret = html.split('id="vxp-secret">', 1)[1].split("<", 1)[0]
    assert 'id="system-id">vpcp-eoffice<' in html and len(secret) > 30
    sdk = SdkClient(world.url + "/vxp", "vpcp-eoffice", secret)
    assert (await sdk.call("countReceiveEdoc", method="GET")).json()["status"] == "OK"
    _, again, _ = await operator.get("/admin/agencies")
    assert secret not in again  # shown once only

    status, _, r = await operator.post(f"/admin/agencies/{a.code}/signature-policy",
                                       {"csrf_token": token, "policy": "legacy-transport"})
    assert status == 303, status
    world.axis.ctx.registry.invalidate()
    assert (await world.audit("agency.signature_policy"))

    sent = (await sdk.send_edoc(deployed.unsigned(a, [world.b]), {"from": a.code})).json()
    assert sent["status"] == "OK" and sent["authentication"] == "transport", sent

    # The recipient's clerk sees the badge in a real browser.
    page = await new_page()
    await login(page, world, "vanthu.h29")
    await page.goto(f"{world.url}/documents/{sent['DocId']}")
    badge = page.locator("#unsigned-badge")
    assert await badge.is_visible()
    assert "chữ ký" in (await badge.inner_text()).lower()
    assert await page.locator("#unsigned-note").is_visible()
