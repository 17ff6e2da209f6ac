"""`axis fixity check` re-hashes every blob, records one outcome each, and fails on a flipped byte or a lost file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from axis.archive.sealing import seal_now
from axis.jobs.archive import FIXITY, FixityFailed
from axis.jobs.runner import run_job
from envelope.codes import StatusCode
from storage.archive_models import Blob, FixityCheck
from storage.models import AuditEvent, Message
from tests.archive.conftest import A, B, Cli, D, damage_payload, move_payload_to_file, wait_failed
from tests.harness import Harness


async def _traffic(archive: Harness) -> tuple[str, list[str]]:
    """A sends a document to B, B confirms it: (the document's digest, every message digest)."""
    a, b = await archive.register(A), await archive.register(B)
    doc, signed = a.document([b], subject="Về việc kiểm tra toàn vẹn dữ liệu")
    async with a.client() as ac, b.client() as bc:
        reply = await ac.submit(signed)
        await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    async with archive.ctx.sessions() as session:
        digests = list((await session.execute(select(Message.sha256))).scalars())
    return reply["sha256"], digests


async def test_every_stored_message_is_in_the_blob_ledger(archive: Harness) -> None:
    _, digests = await _traffic(archive)
    async with archive.ctx.sessions() as session:
        ledger = {b.sha256: b for b in (await session.execute(select(Blob))).scalars()}
        sizes = dict((await session.execute(select(Message.sha256, Message.size))).all())
    assert set(digests) <= set(ledger)
    assert all(ledger[d].size == sizes[d] and ledger[d].disposed_at is None for d in digests)


async def test_untouched_blobs_pass_and_each_outcome_is_recorded(archive: Harness, axis_cli: Cli) -> None:
    _, digests = await _traffic(archive)
    result = await axis_cli("fixity", "check")
    assert result.exit_code == 0, result.output
    n = len(digests)
    assert result.output.splitlines() == [f"checked {n}", f"passed {n}", "failed 0", "not checked for 30 days 0"]
    assert "re-hashing" not in result.output  # no progress bar when stdout is not a terminal
    async with archive.ctx.sessions() as session:
        checks = (await session.execute(select(FixityCheck.sha256, FixityCheck.outcome))).all()
        outcomes = set((await session.execute(select(Blob.last_outcome))).scalars())
    assert sorted(checks) == sorted((d, "ok") for d in digests)
    assert outcomes == {"ok"}
    # Everything was checked a moment ago: nothing is older than a day.
    again = await axis_cli("fixity", "check", "--older-than", "1")
    assert again.exit_code == 0
    assert again.output.splitlines() == ["checked 0", "passed 0", "failed 0", "not checked for 1 days 0"]


@pytest.mark.parametrize("kept", ["in the database", "as a file"])
@pytest.mark.parametrize("damage", ["flip a byte", "remove"])
async def test_damaged_blob_fails_the_check_and_is_named(archive: Harness, axis_cli: Cli, damage: str,
                                                         kept: str) -> None:
    doc_sha, digests = await _traffic(archive)
    if kept == "as a file":
        await move_payload_to_file(archive, doc_sha)
    await damage_payload(archive, doc_sha, damage)
    outcome = "missing" if damage == "remove" else "mismatch"
    result = await axis_cli("fixity", "check")
    assert result.exit_code == 1
    assert f"checked {len(digests)}" in result.output and "failed 1" in result.output
    assert f"FAILED {outcome:<8} {doc_sha}" in result.output
    await seal_now(archive.ctx.sessions)
    async with archive.ctx.sessions() as session:
        blob = await session.get(Blob, doc_sha)
        failed = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == "fixity.failed"))).scalars().all()
    assert blob is not None and blob.last_outcome == outcome
    assert [(e.subject, outcome in e.details) for e in failed] == [(doc_sha, True)]
    # The finding is itself on the audit chain, which still verifies.
    assert (await axis_cli("audit", "verify")).exit_code == 0


async def test_fixity_job_run_is_an_error_that_axis_jobs_shows(archive: Harness, axis_cli: Cli) -> None:
    doc_sha, _ = await _traffic(archive)
    assert (await run_job(archive.ctx, FIXITY) or "").startswith("checked")
    await damage_payload(archive, doc_sha, "remove")
    # The job checks only blobs past their age; pretend a month went by.
    archive.ctx.clock.advance(days=31)  # type: ignore[attr-defined]
    with pytest.raises(FixityFailed, match="missing"):
        await run_job(archive.ctx, FIXITY)
    listed = await axis_cli("jobs")
    line = next(x for x in listed.output.splitlines() if x.startswith("archive.fixity"))
    assert "error" in line and "failed 1" in line


async def test_notices_stored_outside_submissions_join_the_ledger_at_the_next_check(
        archive: Harness, axis_cli: Cli) -> None:
    a = await archive.register(A)
    d = await archive.register(D, endpoint="http://127.0.0.1:9/nowhere")  # nobody listens: the push fails
    _, signed = a.document([d])
    async with a.client() as ac:
        reply = await ac.submit(signed)
    await wait_failed(archive, reply["id"], D)  # the axis signs and stores a 02 notice for A
    async with archive.ctx.sessions() as session:
        messages = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
    result = await axis_cli("fixity", "check")
    assert result.exit_code == 0 and f"checked {messages}" in result.output
