"""Push delivery through an endpoint outage, past the delivery deadline, and the backoff it uses."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from axis.agency.receiver import PATH, PushReceiver
from axis.appkeys import METRICS
from axis.exchange.delivery import backoff_seconds
from envelope.codes import StatusCode
from envelope.parser import parse_status
from signing.errors import SignatureError
from signing.keys import DevelopmentCA, IssuedIdentity
from signing.verifier import verify_envelope
from storage.archive_models import Blob
from storage.models import AuditEvent, AuditQueueEntry, Delivery, DeliveryState, Message, MessageKind
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, C = "000.00.00.G22", "000.00.00.H41"
AXIS_CODE = "000.00.00.A00"


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Poll an async predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def delivery_of(axis: Harness, message_id: str) -> Delivery:
    async with axis.ctx.sessions() as session:
        return (await session.execute(select(Delivery).where(Delivery.message_id == message_id))).scalar_one()


@pytest.fixture
async def push_endpoint(axis: Harness) -> AsyncIterator[tuple[PushReceiver, str]]:
    """C's reference push receiver on loopback, and its URL."""
    receiver = PushReceiver(organization=None, identity=axis.identity_for(C))  # type: ignore[arg-type]
    server = TestServer(receiver.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield receiver, str(server.make_url(PATH))
    finally:
        await server.close()


async def test_outage_then_recovery_delivers_exactly_once(
    axis: Harness, push_endpoint: tuple[PushReceiver, str]
) -> None:
    receiver, url = push_endpoint
    a = await axis.register(A)
    c = await axis.register(C, endpoint=url)
    receiver.organization = c.organization
    receiver.axis_certificate, receiver.senders = axis.ctx.axis_certificate, {A: a.identity.certificate}
    receiver.fail_next = 5  # the first five pushes meet a 503

    _, signed = a.document([c], subject="Gửi trong lúc hệ thống nhận đang bảo trì")
    async with a.client() as ac:
        reply = await ac.submit(signed)
        mid = reply["id"]

        async def delivered() -> bool:
            return (await delivery_of(axis, mid)).state == DeliveryState.DELIVERED.value

        await wait_for(delivered)
        # Give a stray retry time to show up if there were one (retry_max_seconds is 0.5).
        await asyncio.sleep(0.8)

        d = await delivery_of(axis, mid)
        assert d.state == DeliveryState.DELIVERED.value
        assert d.attempts == 6 and receiver.posts[mid] == 6  # 5 refused, the 6th accepted, none after
        assert d.receipt_message_id is not None and d.delivered_at is not None
        assert d.claimed_by is None and d.claimed_until is None
        assert d.last_error == "recipient endpoint answered HTTP 503"  # kept as history of the last failed attempt

        # One stored copy, the exact bytes; one receipt.
        assert receiver.received == {mid: signed}
        assert list(receiver.receipts) == [mid]
        async with axis.ctx.sessions() as session:
            receipts = (await session.execute(
                select(Message).where(Message.kind == MessageKind.STATUS.value, Message.response_for_id == mid)
            )).scalars().all()
        assert [(r.id, r.status_code) for r in receipts] == [(d.receipt_message_id, "01")]

        # The sender sees C's 01 once, in its inbox and on the trace.
        statuses = (await ac.inbox(kind="status"))["items"]
        assert [(s["from"], s["status_code"]) for s in statuses] == [(C, "01")]
        trace = await ac.trace(mid)
        assert [(r["organ_id"], r["state"]) for r in trace["recipients"]] == [(C, "delivered")]
        assert [(e["from"], e["status_code"]) for e in trace["timeline"]] == [(C, "01")]

    pushes = axis.app[METRICS].push_attempts
    assert pushes.labels("error")._value.get() == 5
    assert pushes.labels("delivered")._value.get() == 1


async def test_endpoint_down_past_deadline_fails_and_tells_the_sender(
    tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]
) -> None:
    receiver = PushReceiver(organization=None, identity=None, fail_next=10**9)  # type: ignore[arg-type]
    endpoint = TestServer(receiver.app(), host="127.0.0.1")
    await endpoint.start_server()
    try:
        async with db_template.clone(tmp_path) as db_url:
            settings = server_settings(tmp_path / "home", db_url, delivery_deadline_seconds=1.0)
            axis, server = await start_server(settings, test_ca, identities)
            try:
                await _deadline_scenario(axis, receiver, str(endpoint.make_url(PATH)))
            finally:
                await server.close()
    finally:
        await endpoint.close()


async def _deadline_scenario(axis: Harness, receiver: PushReceiver, url: str) -> None:
    a = await axis.register(A)
    c = await axis.register(C, endpoint=url)
    doc, signed = a.document([c], subject="Gửi tới hệ thống không bao giờ trả lời được")
    async with a.client() as ac:
        mid = (await ac.submit(signed))["id"]

        async def settled() -> bool:
            return (await delivery_of(axis, mid)).state == DeliveryState.FAILED.value

        await wait_for(settled)
        d = await delivery_of(axis, mid)
        assert d.last_error == "recipient endpoint answered HTTP 503"
        assert d.attempts > 1 and receiver.posts[mid] == d.attempts
        assert d.delivered_at is None and d.receipt_message_id is None
        assert d.claimed_by is None
        # Failed is final: no more pushes.
        await asyncio.sleep(0.8)
        assert receiver.posts[mid] == d.attempts
        assert receiver.received == {}

        # The sender's inbox holds one status 02 from the axis saying why.
        items = (await ac.inbox(kind="status"))["items"]
        assert len(items) == 1, items
        notice = items[0]
        assert notice["from"] == AXIS_CODE and notice["status_code"] == "02"
        assert notice["document_id"] == doc.document_id
        raw = await ac.fetch(notice["id"])

        verified = verify_envelope(raw, pinned=[axis.ctx.axis_certificate])
        assert verified.certificate == axis.ctx.axis_certificate
        st = parse_status(raw)
        assert st.status_code == StatusCode.REFUSED
        assert st.from_.organ_id == AXIS_CODE
        assert st.response_for.organ_id == A and st.response_for.document_id == doc.document_id
        assert C in st.description and "HTTP 503" in st.description

        # The trace shows the failure and the axis's 02 on the timeline.
        trace = await ac.trace(mid)
        assert [(r["organ_id"], r["state"]) for r in trace["recipients"]] == [(C, "failed")]
        assert [(e["from"], e["status_code"]) for e in trace["timeline"]] == [(AXIS_CODE, "02")]

        # The notice is not signed by the sender's or the recipient's key.
        with pytest.raises(SignatureError):
            verify_envelope(raw, pinned=[a.identity.certificate])

        # Stored like every message, in the same transaction: the ledger knows its bytes (fixity checks
        # them) and the audit says the axis issued it.
        async with axis.ctx.sessions() as session:
            sha256 = (await session.get(Message, notice["id"])).sha256  # type: ignore[union-attr]
            assert await session.get(Blob, sha256) is not None
            audit = (await session.execute(
                select(AuditQueueEntry.action).where(AuditQueueEntry.subject == notice["id"]))).scalars().all()
            chained = (await session.execute(
                select(AuditEvent.action).where(AuditEvent.subject == notice["id"]))).scalars().all()
            assert "status.issued" in [*audit, *chained]


class _FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    top = _FixedRandom(1.0 - 2**-53)  # random() never returns 1.0; this is its largest value
    steps = [backoff_seconds(n, 5.0, 600.0, top) for n in range(1, 11)]
    assert steps == pytest.approx([5, 10, 20, 40, 80, 160, 320, 600, 600, 600])
    # Zero or negative attempts count as the first.
    assert backoff_seconds(0, 5.0, 600.0, top) == pytest.approx(5.0)
    assert backoff_seconds(-3, 5.0, 600.0, top) == pytest.approx(5.0)
    # The cap holds for any number of attempts (a week-long deadline means well over 1000 of them).
    for n in (64, 1025, 10_000, 10**6):
        assert backoff_seconds(n, 5.0, 600.0, top) == pytest.approx(600.0)


def test_backoff_jitter_stays_within_half_and_full_step() -> None:
    bottom = _FixedRandom(0.0)
    assert [backoff_seconds(n, 1.0, 30.0, bottom) for n in (1, 2, 3, 6, 7, 50)] == [0.5, 1, 2, 15, 15, 15]

    rng = random.Random(20261120)
    for n in range(1, 15):
        step = min(30.0, 2.0 ** (n - 1))
        samples = [backoff_seconds(n, 1.0, 30.0, rng) for _ in range(400)]
        assert all(0.5 * step <= s <= step for s in samples)
        # Actually jittered: spread over the range, not one value.
        assert min(samples) < 0.55 * step and max(samples) > 0.95 * step
        assert len(set(samples)) > 300

    # Without an explicit generator it uses the module's, still within bounds.
    assert all(2.5 <= backoff_seconds(2, 2.5, 600.0) <= 5.0 for _ in range(100))
