"""Someone with write access to the database erases the signed audit heads: the head log outside it tells.

Each case tampers the way an insider would (delete heads, recompute the chain so it is
consistent again) and checks that the database alone no longer notices, then that
`axis audit verify` does, naming the head from the log that the database no longer reproduces.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from axis.appkeys import SETTINGS
from axis.archive.audit_heads import sign_head, verify_heads
from axis.archive.head_log import anchor_heads
from axis.archive.sealing import seal_now
from axis.identity import AXIS_COMMON_NAME, KeyFiles
from envelope.codes import StatusCode
from signing.keys import DevelopmentCA, fingerprint, save_identity
from storage.archive_models import AuditHead
from storage.audit import event_hash, verify_chain
from storage.models import AuditEvent
from tests.archive.conftest import A, B, Cli, archive, axis_cli, clock  # noqa: F401 - fixtures used here
from tests.harness import Harness


async def _traffic(archive: Harness, rounds: int = 2) -> list[AuditEvent]:  # noqa: F811
    """A sends documents to B, which fetches them and confirms with 01; return the whole chain."""
    a, b = await archive.register(A), await archive.register(B)
    async with a.client() as ac, b.client() as bc:
        for n in range(rounds):
            doc, signed = a.document([b], subject=f"Về việc neo chuỗi nhật ký {n}")
            reply = await ac.submit(signed)
            await bc.fetch(reply["id"])
            await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    return await _chain(archive)


async def _chain(archive: Harness) -> list[AuditEvent]:  # noqa: F811
    await seal_now(archive.ctx.sessions)
    async with archive.ctx.sessions() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())


async def _more_entries(archive: Harness, codes: list[str]) -> list[AuditEvent]:  # noqa: F811
    for code in codes:
        await archive.register(code)
    return await _chain(archive)


async def _rewrite_from(archive: Harness, events: list[AuditEvent], first: int) -> None:  # noqa: F811
    """Edit entry ``first`` and recompute every hash after it: the chain alone agrees again."""
    async with archive.ctx.sessions() as session, session.begin():
        prev = events[first - 2].hash
        for ev in events[first - 1:]:
            actor = "kẻ giả mạo" if ev.id == first else ev.actor
            new = event_hash(ev.id, prev, ev.at, actor, ev.action, ev.subject, ev.details)
            await session.execute(update(AuditEvent).where(AuditEvent.id == ev.id)
                                  .values(actor=actor, prev_hash=prev, hash=new))
            prev = new


async def _database_alone_agrees(archive: Harness) -> None:  # noqa: F811
    """What `axis audit verify` checked before the head log: chain and in-database heads say nothing."""
    async with archive.ctx.sessions() as session:
        assert (await verify_chain(session))[1] is None
        assert (await verify_heads(session, archive.ctx.identity.certificate)).problem is None


def _log(archive: Harness) -> Path:  # noqa: F811
    return archive.app[SETTINGS].audit_head_log_path


async def test_deleting_every_head_and_rewriting_the_chain_fails_against_the_head_log(
        archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    events = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    line = json.loads(_log(archive).read_text().splitlines()[0])
    assert line["event_id"] == events[-1].id and line["hash"] == events[-1].hash
    assert line["certificate_sha256"] == fingerprint(archive.ctx.identity.certificate)

    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead))
    await _rewrite_from(archive, events, 3)
    await _database_alone_agrees(archive)

    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"FAIL: signed head {line['seq']} (entry {events[-1].id}," in result.output
    assert f"{_log(archive)}:1" in result.output and "chain rewritten" in result.output


async def test_deleting_the_newest_heads_and_rewriting_after_the_older_ones_fails(
        archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    first = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    events = await _more_entries(archive, ["000.00.00.H41", "000.00.00.G14"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    assert len(_log(archive).read_text().splitlines()) == 2

    # The older head still pins an untouched entry; everything after it is rewritten and its heads dropped.
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead).where(AuditHead.event_id > first[-1].id))
    await _rewrite_from(archive, events, first[-1].id + 1)
    await _database_alone_agrees(archive)

    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"FAIL: signed head 2 (entry {events[-1].id}," in result.output and "chain rewritten" in result.output


async def test_deleting_the_newest_heads_alone_is_named(archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    events = await _more_entries(archive, ["000.00.00.H41"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead).where(AuditHead.event_id == events[-1].id))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"FAIL: signed head 2 (entry {events[-1].id}," in result.output and "deleted" in result.output


async def test_cutting_the_chain_and_its_heads_off_the_end_fails(archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    first = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    events = await _more_entries(archive, ["000.00.00.H41"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead).where(AuditHead.event_id > first[-1].id))
        await session.execute(delete(AuditEvent).where(AuditEvent.id > first[-1].id))
    await _database_alone_agrees(archive)
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert f"no longer has entry {events[-1].id} (chain cut short)" in result.output


async def test_each_nodes_head_log_is_checked(
        archive: Harness, axis_cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    events = await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    ok = await axis_cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "1 signed heads verified" in ok.output and "1 heads in 1 head log(s) reproduced" in ok.output
    # Node 2 keeps its own log elsewhere; verify reads both.
    other = tmp_path / "node2" / "audit-heads.jsonl"
    other.parent.mkdir()
    shutil.copy(_log(archive), other)
    await _rewrite_from(archive, events, 2)
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(AuditHead))
    both = await axis_cli("audit", "verify", "--head-log", other, "--head-log", _log(archive))
    assert both.exit_code == 1 and f"{other}:1" in both.output


async def test_a_missing_head_log_is_not_taken_for_a_clean_one(archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    _log(archive).unlink()
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1 and f"head log {_log(archive)} not found" in result.output


async def test_heads_signed_under_an_expired_or_rotated_axis_certificate_still_verify(
        archive: Harness, axis_cli: Cli, test_ca: DevelopmentCA, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    await _traffic(archive)
    # An earlier axis certificate, expired since yesterday, signed a head while it was valid.
    now = datetime.now(UTC).replace(microsecond=0)
    expired = test_ca.issue(AXIS_COMMON_NAME, organ_id=None, kind="ec",
                            not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    async with archive.ctx.sessions() as session, session.begin():
        assert await sign_head(session, expired.key, expired.certificate, now=now - timedelta(days=2)) is not None
    async with archive.ctx.sessions() as session:
        # What the node signing with it then did; a node with another certificate would not log this head.
        assert await anchor_heads(session, _log(archive), archive.ctx.identity.certificate) == 0
        assert await anchor_heads(session, _log(archive), expired.certificate) == 1
    # Then the current key signs one, and then the operator rotates the key and the new one signs.
    await _more_entries(archive, ["000.00.00.H41"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    rotated = test_ca.issue(AXIS_COMMON_NAME, organ_id=None, kind="ec")
    # The operator names the earlier certificates as the axis's own: the log cannot vouch for them.
    retired = [fingerprint(expired.certificate), fingerprint(archive.ctx.identity.certificate)]
    monkeypatch.setenv("AXIS_AXIS_RETIRED_CERTIFICATES", ",".join(retired[:1]))
    save_identity(KeyFiles(archive.app[SETTINGS].keys_dir).root, "axis", rotated)
    await _more_entries(archive, ["000.00.00.G14"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0

    async with archive.ctx.sessions() as session:
        certs = [h.certificate for h in (await session.execute(select(AuditHead).order_by(AuditHead.id))).scalars()]
    assert len(set(certs)) == 3
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1 and "neither the axis's nor named in the head log" in result.output, result.output
    monkeypatch.setenv("AXIS_AXIS_RETIRED_CERTIFICATES", ",".join(retired))
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "3 signed heads verified" in result.output and "3 heads in 1 head log(s) reproduced" in result.output


async def test_a_head_under_a_certificate_the_log_never_named_fails(
        archive: Harness, axis_cli: Cli, test_ca: DevelopmentCA) -> None:  # noqa: F811
    # Someone with the database (not the log) signs a head with a key of their own.
    await _traffic(archive)
    intruder = test_ca.issue(AXIS_COMMON_NAME, organ_id=None, kind="ec")
    async with archive.ctx.sessions() as session, session.begin():
        await sign_head(session, intruder.key, intruder.certificate, now=datetime.now(UTC))
    # The axis's own head-signing run does not copy it into the log (which would make its certificate trusted).
    await _more_entries(archive, ["000.00.00.H41"])
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    assert len(_log(archive).read_text().splitlines()) == 1
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1
    assert "neither the axis's nor named in the head log" in result.output


async def test_a_damaged_head_log_line_is_named(archive: Harness, axis_cli: Cli) -> None:  # noqa: F811
    await _traffic(archive)
    assert (await axis_cli("audit", "sign-head")).exit_code == 0
    with _log(archive).open("a") as fh:
        fh.write('{"seq": 2, "event_id": 1, "hash": "00"}\n')
    result = await axis_cli("audit", "verify")
    assert result.exit_code == 1 and f"{_log(archive)}:2 is not a head log line" in result.output
