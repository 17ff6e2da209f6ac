"""A database insider tries to switch the head log off, or to make a key of their own trusted by it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from axis.appkeys import SETTINGS
from axis.archive.audit_heads import sign_head
from axis.archive.head_log import anchor_heads, append_lines, head_line
from axis.archive.sealing import seal_now
from axis.identity import AXIS_COMMON_NAME
from signing.keys import DevelopmentCA
from storage.archive_models import AuditHead
from storage.audit import append_event, event_hash
from storage.models import AuditEvent
from tests.harness import Harness


async def _entries(archive: Harness, codes: list[str]) -> list[AuditEvent]:
    for code in codes:
        await archive.register(code)
    await seal_now(archive.ctx.sessions)
    async with archive.ctx.sessions() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


async def test_a_head_row_under_a_huge_id_does_not_stop_the_log(archive: Harness, axis_cli: Any) -> None:
    log = archive.app[SETTINGS].audit_head_log_path
    await _entries(archive, ["000.00.00.G22", "000.00.00.H29"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    # The insider copies the newest signed head under id 1000000000.
    async with archive.ctx.sessions() as session, session.begin():
        newest = (await session.execute(select(AuditHead).order_by(AuditHead.id.desc()).limit(1))).scalar_one()
        await session.execute(insert(AuditHead).values(
            id=1_000_000_000, event_id=newest.event_id, hash=newest.hash, signed_at=newest.signed_at,
            signed_xml=newest.signed_xml, certificate=newest.certificate))
    # The axis's next run logs what it takes for new; the insider then removes the row (the original with
    # the same entry and hash stays, so nothing is missing) and later heads get small ids again.
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead).where(AuditHead.id == 1_000_000_000))
    events = await _entries(archive, ["000.00.00.H41", "000.00.00.G14"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["event_id"] == events[-1].id, "the head signed after the huge row was not logged"
    # Then the rewrite after the last honestly logged head, with the heads that pin it deleted.
    async with archive.ctx.sessions() as session, session.begin():
        first = newest.event_id + 1
        prev = next(e.hash for e in events if e.id == first - 1)
        for ev in (e for e in events if e.id >= first):
            actor = "kẻ giả mạo" if ev.id == first else ev.actor
            new = event_hash(ev.id, prev, ev.at, actor, ev.action, ev.subject, ev.details)
            await session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                                  .values(actor=actor, prev_hash=prev, hash=new))
            prev = new
        await session.execute(delete(AuditHead).where(AuditHead.event_id > newest.event_id))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "chain rewritten" in result.output or "missing from the database" in result.output


async def test_a_log_line_signed_by_a_key_of_the_insiders_own_fails(
        archive: Harness, axis_cli: Any, test_ca: DevelopmentCA) -> None:
    log = archive.app[SETTINGS].audit_head_log_path
    await _entries(archive, ["000.00.00.G22"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    await _entries(archive, ["000.00.00.H29"])
    # The insider signs a head with their own certificate (even named like the axis's) and appends its line.
    intruder = test_ca.issue(AXIS_COMMON_NAME, organ_id=None, kind="ec")
    async with archive.ctx.sessions() as session, session.begin():
        head = await sign_head(session, intruder.key, intruder.certificate, now=datetime.now(UTC))
        assert head is not None
        append_lines(log, [head_line(head, intruder.certificate)])
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "neither the axis's nor named in the head log" in result.output


async def test_entries_long_after_the_newest_logged_head_fail(archive: Harness, axis_cli: Any, clock: Any) -> None:
    await _entries(archive, ["000.00.00.G22"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    assert (await axis_cli("audit", "verify")).exit_code == 0
    # The log stops being written (its writer switched off); the database carries on for an hour.
    later = clock.advance(seconds=3 * archive.app[SETTINGS].audit_head_interval_seconds)
    async with archive.ctx.sessions() as session, session.begin():
        await append_event(session, actor="operator", action="agency.updated", subject="000.00.00.G22", at=later)
    async with archive.ctx.sessions() as session, session.begin():
        await sign_head(session, archive.ctx.identity.key, archive.ctx.identity.certificate, now=later)
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "the head log stopped following the database" in result.output
    # The writer back: the head it had missed is logged and verify passes again.
    async with archive.ctx.sessions() as session:
        assert await anchor_heads(session, archive.app[SETTINGS].audit_head_log_path,
                                  archive.ctx.identity.certificate) == 1
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 0, result.output


async def test_a_seq_going_backwards_in_the_log_fails(archive: Harness, axis_cli: Any) -> None:
    log = archive.app[SETTINGS].audit_head_log_path
    await _entries(archive, ["000.00.00.G22"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    await _entries(archive, ["000.00.00.H29"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    first, second = log.read_text().splitlines()
    # Head rows renumbered (the later one under a lower id than the earlier): the log says so.
    moved = json.loads(first)
    moved["seq"] = 1_000_000_000
    log.write_text(json.dumps(moved, separators=(",", ":")) + "\n" + second + "\n")
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1 and "seq goes backwards" in result.output, result.output
