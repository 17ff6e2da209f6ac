"""The operator's health page lists push endpoints in trouble with their circuit."""

from __future__ import annotations

from typing import Any

from axis.appkeys import PUSH_ENDPOINTS
from axis.exchange.endpoint_gate import endpoint_key


async def test_admin_shows_an_open_circuit(world: Any, browser_for: Any) -> None:
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")
    status, html, _ = await operator.get("/admin")
    assert status == 200 and 'id="push-endpoints"' not in html  # nothing in trouble: no section

    gate = world.axis.app[PUSH_ENDPOINTS]
    key = endpoint_key("https://treo.example.vn/axis/push")
    for _ in range(gate.circuit_failures):
        assert gate.acquire(key)
        gate.release(key, unreachable=True)
    status, html, _ = await operator.get("/admin")
    assert status == 200 and 'id="push-endpoints"' in html
    assert 'data-circuit="open"' in html and "https://treo.example.vn:443" in html
    assert "Tạm ngừng gửi" in html
