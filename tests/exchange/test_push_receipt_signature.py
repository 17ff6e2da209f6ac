"""A push answer is the recipient's receipt only when the recipient signed it, whatever its signature policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from axis.agency.client import compose_status, sign_message
from envelope.builder import build_status
from envelope.codes import StatusCode
from envelope.parser import parse_document
from storage.models import Delivery, DeliveryState
from tests.harness import Agent, Harness
from tests.support.policy import set_policy

A, C = "000.00.00.G22", "000.00.00.H41"


class Endpoint:
    """C's endpoint answering every push with a 01, signed by C or not."""

    def __init__(self) -> None:
        self.agent: Agent | None = None
        self.signed = False

    async def handle(self, request: web.Request) -> web.Response:
        assert self.agent is not None
        doc = parse_document(await request.read())
        status = compose_status(sender=self.agent.organization, document=doc, code=StatusCode.ARRIVED)
        body = (sign_message(status, self.agent.identity.key, self.agent.identity.certificate) if self.signed
                else build_status(status))
        return web.Response(body=body, content_type="application/xml")


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[Endpoint, str]]:
    ep = Endpoint()
    app = web.Application()
    app.router.add_post("/push", ep.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield ep, str(server.make_url("/push"))
    finally:
        await server.close()


async def _delivery(axis: Harness, message_id: str) -> Delivery:
    async with axis.ctx.sessions() as session:
        return (await session.execute(select(Delivery).where(Delivery.message_id == message_id))).scalar_one()


async def test_an_unsigned_01_in_a_push_answer_is_no_receipt_under_legacy_transport(
        axis: Harness, endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    a = await axis.register(A)
    ep.agent = c = await axis.register(C, endpoint=url)
    await set_policy(axis, C, "legacy-transport")
    _, signed = a.document([c], subject="Biên nhận không ký")
    async with a.client() as ac:
        mid = (await ac.submit(signed))["id"]
    for _ in range(200):
        d = await _delivery(axis, mid)
        if d.attempts >= 1 and d.last_error:
            break
        await asyncio.sleep(0.05)
    assert d.state != DeliveryState.DELIVERED.value and d.receipt_message_id is None, d.last_error
    assert "receipt refused" in (d.last_error or ""), d.last_error
    # C's own signed 01 is its receipt, as always.
    ep.signed = True
    for _ in range(200):
        d = await _delivery(axis, mid)
        if d.state == DeliveryState.DELIVERED.value:
            break
        await asyncio.sleep(0.05)
    assert d.state == DeliveryState.DELIVERED.value and d.receipt_message_id is not None
