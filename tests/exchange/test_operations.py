"""What an operator watches: /healthz, /metrics, the axis certificate, the audit trail of an exchange."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from axis.archive.sealing import seal_now
from signing.keys import fingerprint, load_certificate
from storage.audit import verify_chain
from storage.models import AuditEvent
from tests.harness import Harness


async def test_healthz_checks_the_database(axis: Harness) -> None:
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/healthz") as r:
        assert r.status == 200
        assert (await r.json()) == {"status": "ok", "database": "ok", "large_bodies": "ok"}
    # Readiness for large bodies: the spool directory is writable and has room for the largest body.
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/healthz?for=large-bodies") as r:
        assert r.status == 200


async def test_metrics_count_submissions_and_deliveries_by_state(axis: Harness) -> None:
    a = await axis.register("000.00.00.G22")
    b = await axis.register("000.00.00.H29")
    _, signed = a.document([b])
    async with a.client() as ac:
        await ac.submit(signed)
        await ac.submit(signed)  # a repeat is counted apart
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/metrics") as r:
        text = await r.text()
    assert 'axis_submissions_total{kind="edoc",outcome="accepted"} 1.0' in text
    assert 'axis_submissions_total{kind="edoc",outcome="repeated"} 1.0' in text
    assert 'axis_deliveries{state="queued"} 1.0' in text
    assert "axis_request_seconds_bucket" in text and "axis_submit_seconds_bucket" in text


async def test_axis_certificate_is_served_as_pem(axis: Harness) -> None:
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/api/v1/certificate") as r:
        cert = load_certificate(await r.read())
    assert fingerprint(cert) == fingerprint(axis.ctx.axis_certificate)


async def test_every_step_of_an_exchange_is_in_the_audit_chain(axis: Harness) -> None:
    a = await axis.register("000.00.00.G22")
    b = await axis.register("000.00.00.H29")
    doc, signed = a.document([b])
    async with a.client() as ac, b.client() as bc:
        reply = await ac.submit(signed)
        await bc.fetch(reply["id"])
        status = await bc.post_status(b.status(doc, "01"))
        await ac.ack(status["id"])
    await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        actions = list((await session.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars())
        checked, problem = await verify_chain(session)
    assert problem is None and checked == len(actions)
    for expected in ("agency.registered", "edoc.received", "delivery.retrieved", "status.received",
                     "delivery.delivered", "delivery.acknowledged"):
        assert expected in actions
