"""Every /vxp refusal answers FAIL with its stable ErrorCode and stores nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import Agency
from storage.registry.agencies import set_agency_active
from tests.exchange.snapshots import assert_nothing_stored, snapshot
from tests.harness import Harness
from tests.vxp.conftest import replays, sdk_for
from tests.vxp.sdk_client import SdkClient, SdkReply

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


def assert_fail(reply: SdkReply, code: str, status: int) -> dict:  # type: ignore[type-arg]
    body = reply.json()
    assert body["status"] == "FAIL" and body["ErrorCode"] == code, body
    assert body["ErrorDesc"], body
    assert reply.status == status, (reply.status, body)
    return body  # type: ignore[no-any-return]


async def _two(axis: Harness) -> tuple[SdkClient, SdkClient, bytes]:
    a, b = await axis.register(A), await axis.register(B)
    _, signed = a.document([b])
    return await sdk_for(axis, a), await sdk_for(axis, b), signed


async def test_wrong_hmac_is_refused_and_nothing_stored(axis: Harness) -> None:
    sa, _, signed = await _two(axis)
    before, seen = await snapshot(axis), await replays(axis)
    wrong = SdkClient(sa.endpoint, sa.system_id, "not-the-secret")
    assert_fail(await wrong.send_edoc(signed, {"from": A}), "VXP.BadHmac", 401)
    # A loose header changed beside a correctly signed sign-header is not what is read, and a
    # changed sign-header no longer matches its HMAC.
    headers = sa.headers({"from": A, "hash-file": hashlib.sha256(signed).hexdigest()}, "application/octet-stream")
    tampered = [(k, v.replace(A, B) if k == "XroadVnpt-sign-header" else v) for k, v in headers]
    assert_fail(await sa.send("POST", "sendEdoc", tampered, signed), "VXP.BadHmac", 401)
    await assert_nothing_stored(axis, before)
    assert await replays(axis) == seen


async def test_unknown_system_id_and_missing_headers_are_refused(axis: Harness) -> None:
    sa, _, signed = await _two(axis)
    before = await snapshot(axis)
    stranger = SdkClient(sa.endpoint, "khong-ton-tai", sa.secret)
    assert_fail(await stranger.send_edoc(signed, {"from": A}), "VXP.BadHmac", 401)
    bare = [(k, v) for k, v in sa.headers({}, "application/json") if k != "XroadVnpt-hash-header"]
    assert_fail(await sa.send("POST", "getReceivedEdocList", bare, b"{}"), "VXP.MissingHeader", 400)
    not_json = [(k, "[1]" if k == "XroadVnpt-sign-header" else v) for k, v in sa.headers({}, "application/json")]
    assert_fail(await sa.send("POST", "getReceivedEdocList", not_json, b"{}"), "VXP.MissingHeader", 400)
    await assert_nothing_stored(axis, before)


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
async def test_timestamp_outside_the_window_is_refused(axis: Harness, skew: timedelta) -> None:
    sa, _, signed = await _two(axis)
    before = await snapshot(axis)
    at = datetime.now(UTC) + skew
    assert_fail(await sa.send_edoc(signed, {"from": A}, at=at), "VXP.StaleTimestamp", 401)
    assert_fail(await sa.call("getReceivedEdocList", at=at), "VXP.StaleTimestamp", 401)
    await assert_nothing_stored(axis, before)


async def test_replayed_hash_header_is_refused_and_stores_nothing_more(axis: Harness) -> None:
    sa, _, signed = await _two(axis)
    assert (await sa.send_edoc(signed, {"from": A})).json()["status"] == "OK"
    before = await snapshot(axis)
    assert_fail(await sa.send("POST", "sendEdoc", sa.last_headers, signed + b"\r\n"), "VXP.Replay", 401)
    listing = await sa.call("getReceivedEdocList")
    assert listing.json()["status"] == "OK"
    assert_fail(await sa.send("POST", "getReceivedEdocList", sa.last_headers, b"{}"), "VXP.Replay", 401)
    await assert_nothing_stored(axis, before)


async def test_body_not_matching_hash_file_is_refused_and_nothing_stored(axis: Harness) -> None:
    sa, _, signed = await _two(axis)
    before = await snapshot(axis)
    assert_fail(await sa.send_edoc(signed, {"from": A}, hash_file=hashlib.sha256(b"other").hexdigest()),
                "VXP.HashFileMismatch", 400)
    headers = sa.headers({"from": A}, "application/octet-stream")  # signed, but no hash-file in it
    assert_fail(await sa.send("POST", "sendEdoc", headers, signed + b"\r\n"), "VXP.MissingHeader", 400)
    await assert_nothing_stored(axis, before)


async def test_from_not_the_system_ids_agency_is_refused_and_nothing_stored(axis: Harness) -> None:
    sa, sb, signed = await _two(axis)
    before = await snapshot(axis)
    assert_fail(await sb.send_edoc(signed, {"from": A}), "VXP.FromMismatch", 403)
    # No from header: the edXML's own From still has to be the caller's.
    assert_fail(await sb.send_edoc(signed, {"messagetype": "edoc"}), "AXIS.SenderMismatch", 403)
    await assert_nothing_stored(axis, before)


async def test_unknown_and_other_agencies_doc_ids_are_not_found_and_nothing_changes(axis: Harness) -> None:
    sa, sb, signed = await _two(axis)
    c = await axis.register(C)
    sc = await sdk_for(axis, c)
    doc_id = (await sa.send_edoc(signed, {"from": A})).json()["DocId"]
    before = await snapshot(axis)
    for docid in ("01J00000000000000000000000", "khong-co", ""):
        assert_fail(await sb.call("getEdoc", {"docId": docid}), "AXIS.NotFound", 404)
        assert_fail(await sb.call("updateStatus", {"docid": docid, "status": "done"}), "AXIS.NotFound", 404)
    # C neither sent nor received it: the same answer as for an id that does not exist.
    assert_fail(await sc.call("getEdoc", {"docId": doc_id}), "AXIS.NotFound", 404)
    assert_fail(await sc.call("downloadEdoc", {"docId": doc_id}, method="GET"), "AXIS.NotFound", 404)
    assert_fail(await sc.call("updateStatus", {"docid": doc_id, "status": "done"}), "AXIS.NotFound", 404)
    assert_fail(await sc.call("getSentEdocList", {"docId": doc_id}), "AXIS.NotFound", 404)
    assert_fail(await sb.call("updateStatus", {"docid": doc_id, "status": "read"}), "AXIS.Validation", 400)
    await assert_nothing_stored(axis, before)


async def test_rotated_secret_replaces_the_old_one_and_no_secret_is_stored_in_clear(axis: Harness) -> None:
    a = await axis.register(A)
    old = await sdk_for(axis, a)
    new = await sdk_for(axis, a)
    assert new.system_id == old.system_id == A and new.secret != old.secret
    assert_fail(await old.call("getReceivedEdocList"), "VXP.BadHmac", 401)
    assert (await new.call("getReceivedEdocList")).json()["status"] == "OK"
    async with axis.ctx.sessions() as session:
        stored = (await session.execute(select(Agency.vxp_secret).where(Agency.code == A))).scalar_one()
    assert stored and new.secret.encode() not in stored


async def test_disabled_agency_and_unknown_operation_are_refused(axis: Harness) -> None:
    sa, _, _ = await _two(axis)
    assert (await sa.call("deleteAgency")).status == 404  # not an operation of this axis
    async with axis.ctx.sessions() as session, session.begin():
        await set_agency_active(session, A, False, actor="test")
    axis.ctx.registry.invalidate()
    assert_fail(await sa.call("getReceivedEdocList"), "VXP.AgencyDisabled", 403)
