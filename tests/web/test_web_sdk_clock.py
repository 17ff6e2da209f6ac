"""The registry page shows an agency whose SDK clock is read in another zone, with the offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storage.registry.vxp import issue_vxp_secret
from tests.vxp.sdk_client import SdkClient


async def test_registry_page_shows_an_sdk_clock_hours_off(world: Any, browser_for: Any) -> None:
    axis = world.axis
    async with axis.ctx.sessions() as session, session.begin():
        system_id, secret = await issue_vxp_secret(session, world.a.code, axis.ctx.vxp_cipher, actor="test")
    axis.ctx.registry.invalidate()
    sdk = SdkClient(axis.url + "/vxp", system_id, secret)
    await world.add_user("vanhanh", axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")

    # In Vietnam time: nothing to show.
    assert (await sdk.call("countReceiveEdoc")).json()["status"] == "OK"
    status, html, _ = await operator.get("/admin/agencies")
    assert status == 200 and "data-sdk-clock" not in html
    # A JVM in UTC writes UTC wall-clock time (the client writes Vietnam wall clock: shift it).
    assert (await sdk.call("countReceiveEdoc", at=datetime.now(UTC) - timedelta(hours=7))).json()["status"] == "OK"
    status, html, _ = await operator.get("/admin/agencies")
    assert 'data-sdk-clock="0"' in html and "UTC+0" in html, html[:2000]
    # Fixed: back in Vietnam time, the mark goes.
    assert (await sdk.call("countReceiveEdoc")).json()["status"] == "OK"
    status, html, _ = await operator.get("/admin/agencies")
    assert "data-sdk-clock" not in html
