"""/vxp transport: answers the SDK can parse, nested sign-headers, headers bound to one call, zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness import Harness
from tests.vxp.conftest import sdk_for
from tests.vxp.sdk_client import SDK_READS, SdkClient, read_as_sdk

A, B = "000.00.00.G22", "000.00.00.H29"


@pytest.mark.parametrize("operation", sorted(SDK_READS))
async def test_every_refusal_of_every_method_parses_as_the_sdk_parses_it(axis: Harness, operation: str) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    wrong = SdkClient(sa.endpoint, sa.system_id, "not-the-secret")
    if operation == "sendEdoc":
        reply = await wrong.send_edoc(b"<x/>", {"from": A})
    else:
        reply = await wrong.call(operation, {"docId": "x", "docid": "x"})
    seen = read_as_sdk(operation, reply)
    assert (seen["status"], seen["ErrorCode"]) == ("FAIL", "VXP.BadHmac")
    # A refusal of the exchange (not the transport) too: an unknown document.
    if operation in ("getEdoc", "updateStatus"):
        seen = read_as_sdk(operation, await sa.call(operation, {"docId": "nope", "docid": "nope"}))
        assert seen["status"] == "FAIL" and seen["ErrorCode"].startswith("AXIS."), seen


async def test_hash_mismatch_parses_as_the_sdk_parses_it(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa = await sdk_for(axis, a)
    _, signed = a.document([b])
    seen = read_as_sdk("sendEdoc", await sa.send_edoc(signed, {"from": A}, hash_file="ab" * 32))
    assert (seen["ErrorCode"], seen["DocId"]) == ("VXP.HashFileMismatch", "")


async def test_unknown_system_and_bad_hmac_answer_alike(axis: Harness) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    unknown = (await SdkClient(sa.endpoint, "khong-ton-tai", sa.secret).call("getReceivedEdocList")).json()
    bad = (await SdkClient(sa.endpoint, sa.system_id, "wrong").call("getReceivedEdocList")).json()
    assert unknown == bad and bad["ErrorCode"] == "VXP.BadHmac"


@pytest.mark.parametrize("depth", [9, 4000])
async def test_nested_sign_header_is_refused_with_a_code(axis: Harness, depth: int) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    headers = sa.headers({}, "application/json")
    nested = '{"XroadVnpt-x":' + "[" * depth + "]" * depth + "}"
    crafted = [(k, nested if k == "XroadVnpt-sign-header" else v) for k, v in headers]
    reply = await sa.send("POST", "getReceivedEdocList", crafted, b"{}")
    assert reply.status == 400 and reply.json()["ErrorCode"] == "VXP.BadSignHeader", reply.body[:300]
    assert (await sa.call("getReceivedEdocList")).json()["status"] == "OK"  # still serving


async def test_a_captured_header_serves_one_operation_only(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    _, signed = a.document([b])
    doc_id = (await sa.send_edoc(signed, {"from": A})).json()["DocId"]
    got = await sb.call("getEdoc", {"docId": doc_id})
    assert got.json()["status"] == "OK"
    captured = sb.last_headers
    for operation in ("downloadEdoc", "getReceivedEdocList", "countReceiveEdoc", "getEdoc"):
        again = await sb.send("POST", operation, captured, b"{}")
        assert again.json()["ErrorCode"] == "VXP.Replay", (operation, again.body[:200])
    # The documented pair: the getEdoc header, held by a long-lived SDK object, serves updateStatus once.
    sticky = SdkClient(sb.endpoint, sb.system_id, sb.secret, sticky=True)
    headers = sticky.headers({"docid": doc_id, "status": "done"}, "application/json")
    assert (await sticky.send("POST", "getEdoc", headers, b"{}")).json()["status"] == "OK"
    assert (await sticky.send("POST", "updateStatus", headers, b"{}")).json()["status"] == "OK"
    assert (await sticky.send("POST", "updateStatus", headers, b"{}")).json()["ErrorCode"] == "VXP.Replay"
    # An updateStatus header is spent for every other operation.
    fresh = sb.headers({"docid": doc_id, "status": "done"}, "application/json")
    assert (await sb.send("POST", "updateStatus", fresh, b"{}")).json()["status"] == "OK"
    assert (await sb.send("POST", "downloadEdoc", fresh, b"{}")).json()["ErrorCode"] == "VXP.Replay"


async def test_utc_clock_connects_and_its_header_is_no_replay_seven_hours_later(axis: Harness) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    now = datetime.now(UTC)
    # A JVM in UTC writes the UTC wall clock with no zone: the client writes Vietnam wall clock, so shift it.
    utc_wall = now - timedelta(hours=7)
    reply = await sa.call("getReceivedEdocList", at=utc_wall)
    assert reply.json()["status"] == "OK", reply.body
    captured = sa.last_headers
    # With the axis clock seven hours back, the same wall-clock reading is fresh as Vietnam time: still a replay.
    object.__setattr__(axis.ctx, "clock", lambda: datetime.now(UTC) - timedelta(hours=7))
    try:
        again = await sa.send("POST", "getReceivedEdocList", captured, b"{}")
        assert again.json()["ErrorCode"] == "VXP.Replay", again.body
    finally:
        object.__setattr__(axis.ctx, "clock", lambda: datetime.now(UTC))


async def test_a_clock_hours_off_is_refused_naming_what_was_read(axis: Harness) -> None:
    a = await axis.register(A)
    sa = await sdk_for(axis, a)
    reply = await sa.call("getReceivedEdocList", at=datetime.now(UTC) - timedelta(hours=3))
    body = reply.json()
    assert body["ErrorCode"] == "VXP.StaleTimestamp"
    assert "read as UTC+7 is 3 h 0 min behind the axis" in body["ErrorDesc"] or \
        "read as UTC+7 is 2 h 59 min behind the axis" in body["ErrorDesc"], body["ErrorDesc"]
    assert json.dumps(body).isascii()
