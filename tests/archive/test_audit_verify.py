"""`axis audit verify` names the first edited, removed or reordered entry; signed heads catch rewrites and cuts."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from axis.archive.sealing import seal_now
from axis.jobs.archive import AUDIT_HEAD
from axis.jobs.runner import run_job
from envelope.codes import StatusCode
from storage.archive_models import AuditHead
from storage.audit import event_hash, verify_chain
from storage.models import AuditEvent
from tests.archive.conftest import A, B, Cli
from tests.harness import Harness


async def _traffic(archive: Harness) -> list[AuditEvent]:
    """A sends two documents to B, which fetches them and confirms with 01: a chain of a dozen entries."""
    a, b = await archive.register(A), await archive.register(B)
    async with a.client() as ac, b.client() as bc:
        for n in range(2):
            doc, signed = a.document([b], subject=f"Về việc kiểm tra nhật ký {n}")
            reply = await ac.submit(signed)
            await bc.fetch(reply["id"])
            await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    sealed = await seal_now(archive.ctx.sessions)  # the busy paths queue their entries
    assert sealed.register_entries + sealed.audit_entries >= 0
    async with archive.ctx.sessions() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


async def test_untouched_chain_verifies_with_its_signed_head(archive: Harness, axis_cli: Cli) -> None:
    events = await _traffic(archive)
    signed = await axis_cli("audit", "sign-head")
    assert signed.exit_code == 0 and f"entry {events[-1].id}" in signed.output
    assert "unchanged" in (await axis_cli("audit", "sign-head")).output
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"OK: {len(events)} entries, chain intact; 1 signed heads verified" in result.output


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
async def test_tampered_entry_is_named_and_verify_fails(archive: Harness, axis_cli: Cli, tamper: str) -> None:
    events = await _traffic(archive)
    target = events[len(events) // 2]
    async with archive.ctx.sessions() as session, session.begin():
        if tamper == "edit":
            await session.execute(update(AuditEvent).where(AuditEvent.id == target.id)
                                  .values(details='{"document_id":"đã sửa"}'))
        elif tamper == "delete":
            await session.execute(delete(AuditEvent).where(AuditEvent.id == target.id))
        else:
            # Swap the contents of two neighbours, keeping their ids: the order is what changed.
            nxt = events[len(events) // 2 + 1]
            fields = ("at", "actor", "action", "subject", "details", "prev_hash", "hash")
            mine = {f: getattr(target, f) for f in fields}
            theirs = {f: getattr(nxt, f) for f in fields}
            await session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(hash="x" * 64))
            await session.execute(update(AuditEvent).where(AuditEvent.id == nxt.id).values(**mine))
            await session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(**theirs))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1
    assert f"FAIL: entry {target.id}:" in result.output
    reason = {"edit": "altered", "delete": "missing", "reorder": "removed or reordered"}[tamper]
    assert reason in result.output


async def test_rewriting_the_whole_chain_is_caught_by_the_signed_head(archive: Harness, axis_cli: Cli) -> None:
    events = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    # Someone with write access edits entry 3 and recomputes every hash after it: the chain alone agrees.
    async with archive.ctx.sessions() as session, session.begin():
        prev = events[1].hash
        for ev in events[2:]:
            actor = "kẻ giả mạo" if ev.id == events[2].id else ev.actor
            new = event_hash(ev.id, prev, ev.at, actor, ev.action, ev.subject, ev.details)
            await session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                                  .values(actor=actor, prev_hash=prev, hash=new))
            prev = new
    async with archive.ctx.sessions() as session:
        assert (await verify_chain(session))[1] is None
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1
    assert f"FAIL: entry {events[-1].id}:" in result.output and "chain rewritten" in result.output


async def test_cutting_entries_off_the_end_is_caught_by_the_signed_head(archive: Harness, axis_cli: Cli) -> None:
    events = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditEvent).where(AuditEvent.id >= events[-2].id))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1
    assert f"FAIL: entry {events[-1].id}:" in result.output and "cut short" in result.output


async def test_a_forged_head_does_not_verify(archive: Harness, axis_cli: Cli) -> None:
    events = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    async with archive.ctx.sessions() as session, session.begin():
        head = (await session.execute(select(AuditHead))).scalar_one()
        forged = head.signed_xml.replace(events[-1].hash.encode(), b"0" * 64)
        await session.execute(update(AuditHead).where(AuditHead.id == head.id).values(signed_xml=forged))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1 and "does not verify" in result.output


async def test_head_signing_job_signs_only_when_the_chain_moved(archive: Harness) -> None:
    await _traffic(archive)
    assert (await run_job(archive.ctx, AUDIT_HEAD) or "").startswith("signed head at entry")
    assert await run_job(archive.ctx, AUDIT_HEAD) == "head unchanged"
    await archive.register("000.00.00.H41")  # one more entry
    assert (await run_job(archive.ctx, AUDIT_HEAD) or "").startswith("signed head at entry")
    async with archive.ctx.sessions() as session:
        assert len((await session.execute(select(AuditHead))).scalars().all()) == 2
