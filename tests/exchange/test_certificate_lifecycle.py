"""Certificate lifecycle: rotation with overlap, expiry refused by date, the daily check, the metric."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select

from axis.agency.client import compose_document, sign_message
from axis.archive.sealing import seal_now
from axis.jobs.certificate_expiry import certificate_job
from signing.keys import IssuedIdentity, certificate_pem, fingerprint, generate_private_key, self_signed_certificate
from storage.models import Agency, AuditEvent
from storage.registry.agencies import add_next_certificate, register_agency, retire_certificate
from tests.exchange.snapshots import call
from tests.harness import Agent, Harness

A, B = "000.00.00.G22", "000.00.00.H29"
DAY = dt.timedelta(days=1)


def _identity(code: str, *, valid_from: dt.datetime, valid_until: dt.datetime) -> IssuedIdentity:
    key = generate_private_key("ec")
    return IssuedIdentity(key, self_signed_certificate(key, f"Cơ quan {code}", organ_id=code,
                                                       not_before=valid_from, not_after=valid_until))


async def _register(axis: Harness, code: str, identity: IssuedIdentity) -> Agent:
    async with axis.ctx.sessions() as session, session.begin():
        reg = await register_agency(session, code, f"Cơ quan {code}", certificate=certificate_pem(identity.certificate),
                                    actor="test")
    axis.ctx.registry.invalidate()
    agent = Agent(code, f"Cơ quan {code}", reg.token, identity, axis)
    axis.agents[code] = agent
    return agent


async def _send(axis: Harness, sender: Agent, to: Agent, signer: IssuedIdentity, subject: str) -> tuple[int, dict]:
    doc = compose_document(sender=sender.organization, recipients=[to.organization], subject=subject,
                           number=str(abs(hash(subject)) % 10000), notation="VPCP-TTĐT", attachments=[])
    reply = await call(axis, "POST", "/api/v1/documents", token=sender,
                       data=sign_message(doc, signer.key, signer.certificate))
    return reply.status, reply.json()


async def _audit(axis: Harness, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, subject, details) of each audit entry with this action, oldest first."""
    await seal_now(axis.ctx.sessions)
    async with axis.ctx.sessions() as session:
        events = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))).scalars()
        return [(e.actor, e.subject, json.loads(e.details)) for e in events]


async def test_a_next_certificate_verifies_beside_the_current_one_until_it_is_retired(axis: Harness) -> None:
    now = dt.datetime.now(dt.UTC)
    old = _identity(A, valid_from=now - 300 * DAY, valid_until=now + 10 * DAY)
    new = _identity(A, valid_from=now - DAY, valid_until=now + 700 * DAY)
    a = await _register(axis, A, old)
    b = await axis.register(B)

    status, body = await _send(axis, a, b, new, "Ký bằng chứng thư mới trước khi đăng ký")
    assert status == 422 and body["reason"] == "untrusted_certificate", body

    async with axis.ctx.sessions() as session, session.begin():
        await add_next_certificate(session, A, certificate_pem(new.certificate), actor="vanhanh")
    axis.ctx.registry.invalidate()
    assert (await _send(axis, a, b, old, "Ký bằng chứng thư cũ trong thời gian chuyển tiếp"))[0] == 202
    assert (await _send(axis, a, b, new, "Ký bằng chứng thư mới trong thời gian chuyển tiếp"))[0] == 202

    async with axis.ctx.sessions() as session, session.begin():
        await retire_certificate(session, A, actor="vanhanh", reason="đổi khóa")
    axis.ctx.registry.invalidate()
    status, body = await _send(axis, a, b, old, "Ký bằng chứng thư đã thu hồi")
    assert status == 422 and body["code"] == "AXIS.Signature" and body["reason"] == "untrusted_certificate", body
    assert (await _send(axis, a, b, new, "Ký bằng chứng thư mới sau khi thu hồi chứng thư cũ"))[0] == 202

    added = await _audit(axis, "agency.certificate_next_added")
    retired = await _audit(axis, "agency.certificate_retired")
    assert [(actor, subject, d["fingerprint"]) for actor, subject, d in added] == [
        ("vanhanh", A, fingerprint(new.certificate))]
    assert [(actor, d["retired"], d["current"], d["reason"]) for actor, _, d in retired] == [
        ("vanhanh", fingerprint(old.certificate), fingerprint(new.certificate), "đổi khóa")]


async def test_retiring_without_a_next_certificate_is_refused(axis: Harness) -> None:
    from storage.registry.agencies import RegistryError

    await axis.register(A)
    async with axis.ctx.sessions() as session, session.begin():
        with pytest.raises(RegistryError, match="no next certificate"):
            await retire_certificate(session, A)


async def test_a_document_signed_with_an_expired_certificate_is_refused_naming_the_expiry_date(
        axis: Harness) -> None:
    now = dt.datetime.now(dt.UTC)
    until = (now - 3 * DAY).replace(microsecond=0)
    expired = _identity(A, valid_from=now - 400 * DAY, valid_until=until)
    a = await _register(axis, A, expired)
    b = await axis.register(B)
    status, body = await _send(axis, a, b, expired, "Ký bằng chứng thư đã hết hạn")
    assert status == 422 and body["code"] == "AXIS.Signature" and body["reason"] == "expired", body
    assert f"expired at {until.isoformat()}" in body["detail"], body


async def test_the_daily_check_warns_and_lets_a_registered_next_certificate_take_over(
        axis: Harness, caplog: pytest.LogCaptureFixture) -> None:
    now = dt.datetime.now(dt.UTC)
    lapsed = _identity(A, valid_from=now - 400 * DAY, valid_until=now - DAY)
    successor = _identity(A, valid_from=now - DAY, valid_until=now + 700 * DAY)
    soon = _identity(B, valid_from=now - 300 * DAY, valid_until=now + 12 * DAY)
    a = await _register(axis, A, lapsed)
    b = await _register(axis, B, soon)
    async with axis.ctx.sessions() as session, session.begin():
        await add_next_certificate(session, A, certificate_pem(successor.certificate))
    axis.ctx.registry.invalidate()

    with caplog.at_level(logging.WARNING, logger="axis.certificate_expiry"):
        summary = await certificate_job(axis.ctx)
    assert "1 expired" not in summary  # the lapsed one was retired first: the successor took over
    assert f"next certificate took over for {A}" in summary
    assert "1 expiring within 30 days" in summary
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(B in w and "expires on" in w for w in warnings), warnings

    async with axis.ctx.sessions() as session:
        row = (await session.execute(select(Agency).where(Agency.code == A))).scalar_one()
    assert (row.certificate_fingerprint, row.next_certificate_pem) == (fingerprint(successor.certificate), None)
    [(actor, _, details)] = await _audit(axis, "agency.certificate_retired")
    assert (actor, details["reason"], details["retired"]) == (
        "axis", "expired", fingerprint(lapsed.certificate))
    assert (await _send(axis, a, b, successor, "Ký bằng chứng thư kế tiếp"))[0] == 202


async def test_the_expiry_metric_gives_seconds_left_per_certificate_without_a_query(axis: Harness) -> None:
    now = dt.datetime.now(dt.UTC)
    expiring = _identity(A, valid_from=now - DAY, valid_until=now + 10 * DAY)
    expired = _identity(B, valid_from=now - 100 * DAY, valid_until=now - 2 * DAY)
    await _register(axis, A, expiring)
    await _register(axis, B, expired)
    await axis.ctx.registry.snapshot()  # what a request would have done: the metric reads this snapshot
    text = (await call(axis, "GET", "/metrics")).body.decode()
    samples = {
        (m["agency"], m["role"], m["fp"]): float(m["value"])
        for m in re.finditer(r'^axis_certificate_expiry_seconds\{agency="(?P<agency>[^"]+)",'
                             r'fingerprint="(?P<fp>[0-9a-f]+)",role="(?P<role>[a-z]+)"\} (?P<value>\S+)$',
                             text, re.MULTILINE)
    }
    left = samples[(A, "current", fingerprint(expiring.certificate)[:16])]
    assert 9 * 86400 < left <= 10 * 86400
    assert samples[(B, "current", fingerprint(expired.certificate)[:16])] < -86400
    axis_fp = fingerprint(axis.ctx.identity.certificate)[:16]
    assert samples[(axis.ctx.settings.axis_code, "axis", axis_fp)] > 300 * 86400
