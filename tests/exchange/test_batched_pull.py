"""The batched pull: an inbox page with the bytes, acknowledgements and statuses several at once, long-polling."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from sqlalchemy import select

from axis.api.openapi import openapi_document
from axis.appkeys import INBOX_ARRIVALS
from axis.archive.sealing import seal_now
from axis.exchange import pull
from axis.vxp import openapi as vxp_openapi
from envelope.codes import StatusCode
from envelope.model import Attachment
from signing.receipt import verify_submission_receipt
from storage.audit import audit_details
from storage.models import AuditEvent, Delivery
from tests.exchange.snapshots import assert_problem, call
from tests.exchange.test_openapi import check
from tests.harness import Agent, Harness

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


async def _audited(axis: Harness, action: str, subject: str) -> int:
    await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        return len((await session.execute(
            select(AuditEvent.id).where(AuditEvent.action == action, AuditEvent.subject == subject))).all())


async def _send(sender: Agent, to: Agent, n: int, **kw: object) -> list[tuple[str, bytes, bytes]]:
    """``n`` documents from ``sender`` to ``to``: (message id, signed bytes, the recipient's signed 01)."""
    out = []
    async with sender.client() as client:
        for _ in range(n):
            doc, signed = sender.document([to], **kw)  # type: ignore[arg-type]
            out.append(((await client.submit(signed))["id"], signed, to.status(doc, StatusCode.ARRIVED)))
    return out


async def test_an_inbox_page_with_bodies_carries_the_bytes_a_fetch_returns(
        axis: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = await axis.register(A), await axis.register(B)
    small = await _send(a, b, 3)
    big = await _send(a, b, 1, attachments=[Attachment("cid:1", "lon.pdf", "application/pdf", b"%PDF-1.4 " * 4000)])
    # Anything over the small ones' size stays a separate fetch.
    monkeypatch.setattr(pull, "BODY_MAX_BYTES", max(len(s) for _, s, _ in small))
    reply = await call(axis, "GET", "/api/v1/inbox", token=b, params={"include": "bodies", "kind": "edoc"})
    assert reply.status == 200
    items = reply.json()["items"]
    check(openapi_document(vxp_openapi.part()), reply.json(), "/api/v1/inbox", "get", 200)
    assert [i["id"] for i in items] == [m for m, _, _ in small + big]
    for (message_id, signed, _), item in zip(small, items, strict=False):
        fetched = await call(axis, "GET", f"/api/v1/messages/{message_id}", token=b)
        assert base64.b64decode(item["body"]) == fetched.body == signed
        assert item["sha256"] == fetched.headers["ETag"].strip('"')
    assert "body" not in items[3]
    # The page counted as the first read of each document it carried: retrieved, audited once each.
    for message_id, _, _ in small:
        assert await _audited(axis, "delivery.retrieved", message_id) == 1
        trace = (await call(axis, "GET", f"/api/v1/documents/{message_id}/trace", token=a)).json()
        assert trace["recipients"][0]["state"] == "retrieved"
    assert await _audited(axis, "delivery.retrieved", big[0][0]) == 0
    # The client puts the page and the separate fetch together.
    async with b.client() as bc:
        pulled, cursor = await bc.pull(kind="edoc")
    assert cursor is None
    assert [(item["id"], raw) for item, raw in pulled] == [(m, s) for m, s, _ in small + big]
    assert all("body" not in item for item, _ in pulled)


async def test_a_batch_of_statuses_with_a_bad_one_answers_each_and_keeps_the_good_ones(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sent = await _send(a, b, 2)
    async with b.client() as bc:
        results = await bc.post_statuses([sent[0][2], b"<not-edxml/>", sent[1][2]])
    assert [r["status"] for r in results] == [202, 400, 202]
    check(openapi_document(vxp_openapi.part()), {"results": results}, "/api/v1/statuses/batch", "post", 200)
    assert results[1]["problem"]["code"] == "AXIS.Validation"
    # Each status its own message and its own receipt, signed by the axis.
    replies = [results[0]["reply"], results[2]["reply"]]
    assert replies[0]["id"] != replies[1]["id"] and replies[0]["receipt"] != replies[1]["receipt"]
    axis_certificate = axis.ctx.identity.certificate
    for r in replies:
        receipt = verify_submission_receipt(r["receipt"].encode(), axis_certificate)
        assert (receipt.message_id, receipt.sender, receipt.recipients) == (r["id"], B, (A,))
    for (message_id, _, _), result in zip(sent, replies, strict=True):
        trace = (await call(axis, "GET", f"/api/v1/documents/{message_id}/trace", token=a)).json()
        assert [(r["state"], r["receipt_id"]) for r in trace["recipients"]] == [("delivered", result["id"])]
    # The same batch again: the same answers, nothing stored twice.
    async with b.client() as bc:
        again = await bc.post_statuses([sent[0][2], sent[1][2]])
    assert [(r["status"], r["reply"]) for r in again] == [(200, replies[0]), (200, replies[1])]


async def test_a_batch_of_acks_with_bad_ids_answers_each_and_takes_the_good_ones_off(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sent = await _send(a, b, 3)
    async with b.client() as bc:
        await bc.post_statuses([s for _, _, s in sent])
    async with a.client() as ac:
        statuses = [i["id"] for i in (await ac.inbox(kind="status"))["items"]]
        assert len(statuses) == 3
        results = await ac.ack_many([statuses[0], "no-such-id", sent[0][0], statuses[1]])
        check(openapi_document(vxp_openapi.part()), {"results": results}, "/api/v1/inbox/ack", "post", 200)
        assert results[0] == {"id": statuses[0], "state": "delivered"}
        assert results[1]["id"] == "no-such-id" and results[1]["problem"]["code"] == "AXIS.NotFound"
        # A document it sent is not an inbox item of its own.
        assert results[2]["problem"]["code"] == "AXIS.NotFound"
        assert results[3] == {"id": statuses[1], "state": "delivered"}
        assert [i["id"] for i in (await ac.inbox(kind="status"))["items"]] == [statuses[2]]
        # Repeating is harmless, and each acknowledgement was audited once.
        assert (await ac.ack_many([statuses[0]]))[0] == {"id": statuses[0], "state": "delivered"}
    for message_id in statuses[:2]:
        assert await _audited(axis, "delivery.acknowledged", message_id) == 1


async def test_another_agency_cannot_ack_or_answer_in_a_batch(axis: Harness) -> None:
    a, b, c = await axis.register(A), await axis.register(B), await axis.register(C)
    sent = await _send(a, b, 2)
    async with b.client() as bc:
        await bc.post_statuses([sent[0][2]])
    async with a.client() as ac:
        status_id = (await ac.inbox(kind="status"))["items"][0]["id"]
    async with c.client() as cc:
        # A's status item and B's document, taken off by C: refused as if they did not exist.
        acks = await cc.ack_many([status_id, sent[1][0]])
        assert [r["problem"]["code"] for r in acks] == ["AXIS.NotFound", "AXIS.NotFound"]
        # B's signed 01 posted by C, and C's own 01 about a document it never received.
        own = c.status(sent[1][1], StatusCode.ARRIVED)
        answers = await cc.post_statuses([sent[1][2], own])
        assert all(r["status"] >= 400 for r in answers), answers
        assert answers[0]["problem"]["code"] == "AXIS.SenderMismatch"
        # C's own inbox with bodies holds nothing of theirs.
        assert (await cc.inbox(bodies=True))["items"] == []
    async with a.client() as ac:
        assert [i["id"] for i in (await ac.inbox(kind="status"))["items"]] == [status_id]
        trace = await ac.trace(sent[1][0])
    assert trace["recipients"][0]["state"] == "queued" and trace["timeline"] == []
    assert await _audited(axis, "delivery.retrieved", sent[1][0]) == 0


async def test_a_long_poll_answers_at_the_arrival_and_after_its_wait_when_nothing_comes(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    async with b.client() as bc:
        started = time.monotonic()
        empty = await bc.inbox(wait=1)
        waited = time.monotonic() - started
        assert empty["items"] == [] and 1.0 <= waited < 3.0, waited

        waiting = asyncio.create_task(bc.pull(wait=20))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        sent = await _send(a, b, 1)
        arrived = time.monotonic()
        pulled, _ = await asyncio.wait_for(waiting, 10)
        told = time.monotonic() - arrived
    assert [(item["id"], raw) for item, raw in pulled] == [(sent[0][0], sent[0][1])]
    assert told < 1.0, told


async def test_a_long_poll_hears_of_an_arrival_through_another_process(
        axis: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = await axis.register(A), await axis.register(B)
    arrivals = axis.app[INBOX_ARRIVALS]
    # As if accepted by another process or node: this one is told nothing, the database alone knows.
    told: list[list[str]] = []
    monkeypatch.setattr(arrivals, "notify", lambda codes: told.append(list(codes)))
    monkeypatch.setattr(pull, "RECHECK_SECONDS", 30.0)  # no waiting read's own backstop either
    async with b.client() as bc:
        waiting = asyncio.create_task(bc.inbox(wait=20))
        await asyncio.sleep(0.5)
        assert not waiting.done() and arrivals.waiting() == 1
        sent = await _send(a, b, 1)
        arrived = time.monotonic()
        page = await asyncio.wait_for(waiting, 10)
        told_after = time.monotonic() - arrived
    assert [i["id"] for i in page["items"]] == [sent[0][0]]
    assert told == [[B]], told  # the accepting route did try to tell
    assert told_after < 1.0, told_after
    assert arrivals.waiting() == 0


@pytest.mark.parametrize(("params", "field"), [
    ({"wait": "soon"}, "wait"), ({"wait": "-1"}, "wait"), ({"include": "everything"}, "include"),
])
async def test_bad_batched_inbox_parameters_are_problems(axis: Harness, params: dict[str, str], field: str) -> None:
    b = await axis.register(B)
    problem = assert_problem(await call(axis, "GET", "/api/v1/inbox", token=b, params=params), 400,
                             "AXIS.Validation")
    assert problem["field"] == field


async def test_bad_batch_bodies_are_problems(axis: Harness) -> None:
    b = await axis.register(B)
    json_type = {"Content-Type": "application/json"}
    assert_problem(await call(axis, "POST", "/api/v1/inbox/ack", token=b, data=b'{"ids": "x"}', headers=json_type),
                   400, "AXIS.Validation")
    assert_problem(await call(axis, "POST", "/api/v1/inbox/ack", token=b, data=b"[", headers=json_type),
                   400, "AXIS.Validation")
    assert_problem(await call(axis, "POST", "/api/v1/statuses/batch", token=b, data=b'{"statuses": []}',
                              headers=json_type), 400, "AXIS.Validation")
    assert_problem(await call(axis, "POST", "/api/v1/inbox/ack", data=b'{"ids": []}', headers=json_type),
                   401, "AXIS.Unauthorized")
    reply = await call(axis, "POST", "/api/v1/statuses/batch", token=b, data=b'{"statuses": ["***"]}',
                       headers=json_type)
    assert reply.status == 200 and reply.json()["results"][0]["problem"]["code"] == "AXIS.Validation"


async def test_a_page_and_a_batch_of_acks_audit_each_delivery_as_a_single_read_and_ack_would(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sent = await _send(a, b, 2)
    reply = await call(axis, "GET", "/api/v1/inbox", token=b, params={"include": "bodies", "kind": "edoc"})
    assert [i["id"] for i in reply.json()["items"]] == [m for m, _, _ in sent]
    async with b.client() as bc:
        await bc.post_statuses([s for _, _, s in sent])
    async with a.client() as ac:
        statuses = [i["id"] for i in (await ac.inbox(kind="status"))["items"]]
        await ac.ack_many(statuses)
    await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        deliveries = dict((await session.execute(
            select(Delivery.message_id, Delivery.id).where(Delivery.message_id.in_([*statuses, *(m for m, _, _ in sent)]))
        )).tuples().all())
        entries = (await session.execute(
            select(AuditEvent.action, AuditEvent.subject, AuditEvent.actor, AuditEvent.details)
            .where(AuditEvent.action.in_(["delivery.retrieved", "delivery.acknowledged"]))
        )).tuples().all()
    expected = {("delivery.retrieved", m, B, audit_details({"delivery": deliveries[m]})) for m, _, _ in sent}
    expected |= {("delivery.acknowledged", s, A, audit_details({"delivery": deliveries[s]})) for s in statuses}
    assert len(entries) == len(expected) == 4
    assert set(entries) == expected
