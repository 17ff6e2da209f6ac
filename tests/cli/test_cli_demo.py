"""`axis demo`: idempotent registration, sample traffic through a running axis, token recovery."""

from __future__ import annotations

import json
import stat

import pytest

from axis.agency.client import AxisApiError, AxisClient
from axis.agency.demo import AGENCIES, G14, G22, H29, H41
from tests.cli.conftest import Axis, free_port


async def test_demo_registers_then_sends_traffic_twice_and_recovers_lost_tokens(axis_server: Axis) -> None:
    axis = axis_server
    tokens_file = axis.home / "demo" / "tokens.json"
    nobody = {"AXIS_PORT": str(free_port())}  # the default server the demo probes: nothing listens there

    first = axis.run("demo", env=nobody).stdout
    assert "registered only" in first
    assert all(f"{code}  registered" in first for code, _ in AGENCIES)
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    tokens = json.loads(tokens_file.read_text())
    assert set(tokens) >= {code for code, _ in AGENCIES}

    second = axis.run("demo", "--server", axis.url).stdout
    assert "sent 6 documents" in second and f"{G22}  existing" in second

    # Lost tokens: the demo issues new ones (the old ones stop working) and sends again.
    tokens_file.unlink()
    third = axis.run("demo", "--server", axis.url).stdout
    assert "sent 6 documents" in third
    assert all(f"{code}  token rotated" in third for code, _ in AGENCIES)
    fresh = json.loads(tokens_file.read_text())
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600

    async with AxisClient(axis.url, tokens[G14]) as old, AxisClient(axis.url, fresh[G14]) as g14:
        with pytest.raises(AxisApiError) as refused:
            await old.inbox()
        assert refused.value.code == "AXIS.Unauthorized"
        items = (await g14.inbox(limit=500))["items"]
    documents = [i for i in items if i["kind"] == "edoc"]
    assert len(documents) == 6  # three per run stay unanswered in the Ministry of Finance's inbox
    assert {d["from"] for d in documents} == {G22, H41, H29}
    assert {d["priority"] for d in documents} >= {0, 1}
    assert any(i["kind"] == "status" and i["status_code"] == "15" for i in items)
