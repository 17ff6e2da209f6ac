"""Retention: documents age past their period on a driven clock, holds block, two archivists dispose of the rest."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete, select, update

from axis.api.openapi import openapi_document
from axis.archive.calendar import add_years, vn_date
from axis.archive.destruction_certificates import verify_certificate
from axis.archive.disposal import (
    DisposalResult,
    approve_disposal,
    disposal_view,
    due_items,
    execute_disposal,
    propose_disposal,
)
from axis.archive.errors import DisposalRefused, NotAnArchivist, RetentionConfigError
from axis.archive.fixity import run_fixity
from axis.archive.holds import list_holds, place_hold, release_hold
from axis.archive.registers import register_rows
from axis.archive.schedules import Schedules, load_schedules, parse_schedules
from axis.archive.sealing import seal_now
from axis.jobs.archive import RETENTION
from axis.jobs.runner import run_job
from axis.vxp import openapi as vxp_openapi
from envelope.codes import DOCUMENT_TYPES, StatusCode
from storage.archive_models import Blob, RetentionAssignment
from storage.audit import verify_chain
from storage.errors import ArchiveImmutable
from storage.models import AuditEvent, Delivery, Message
from tests.archive.conftest import A, B, Cli, TestClock, add_people, vn
from tests.exchange.test_openapi import check
from tests.harness import Agent, Harness

MOT, HAI, CLERK = "luutru.mot", "luutru.hai", "vanthu.g22"


async def _send(a: Agent, b: Agent, subject: str, **kw: Any) -> tuple[Any, dict[str, Any]]:
    """A sends one document to B; B downloads it and confirms with a signed 01."""
    doc, signed = a.document([b], subject=subject, **kw)
    async with a.client() as ac, b.client() as bc:
        reply = await ac.submit(signed)
        await bc.fetch(reply["id"])
        await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    return doc, reply


async def _http_get(url: str, token: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        if r.content_type.endswith("json"):
            return r.status, await r.json(content_type=None)
        return r.status, await r.read()


def _schedules(archive: Harness) -> Schedules:
    return load_schedules(archive.ctx.settings.retention_path)


async def test_documents_age_out_a_hold_blocks_one_and_two_archivists_dispose_of_the_rest(
        archive: Harness, clock: TestClock, axis_cli: Cli, tmp_path: Path) -> None:
    ctx = archive.ctx
    a, b = await archive.register(A), await archive.register(B)
    await add_people(archive, A, **{MOT: "archivist", HAI: "archivist", CLERK: "clerk"})
    issued = vn_date(clock())
    sent: dict[str, dict[str, Any]] = {}
    for key, subject in (("d1", "Về việc báo cáo tháng"), ("d2", "Về việc thanh tra"),
                         ("d3", "Về việc dự án cầu Thủ Thiêm"), ("d5", "Về việc lịch họp")):
        sent[key] = (await _send(a, b, subject, promulgation_date=issued))[1]
    sent["d4"] = (await _send(a, b, "Quyết định ban hành quy chế", type_abbreviation="QĐ", notation="QĐ-VPCP",
                              promulgation_date=issued))[1]
    ids = {k: v["id"] for k, v in sent.items()}

    # Each document got exactly one schedule from its type; the due date is computed and shown.
    shown = await axis_cli("retention", "show", ids["d1"], "--json")
    assert shown.exit_code == 0 and '"schedule": "CV-10"' in shown.output
    assert f'"due_date": "{add_years(issued, 10).isoformat()}"' in shown.output
    permanent = await axis_cli("retention", "show", ids["d4"], "--json")
    assert '"schedule": "VBQP-VV"' in permanent.output and '"due_date": null' in permanent.output
    schedules = _schedules(archive)
    async with ctx.sessions() as session:
        assert await due_items(session, schedules, today=vn_date(clock())) == []

    # Ten years and a day later the four letters are due; the permanent decision never is.
    due_day = add_years(issued, 10)
    clock.set(vn(due_day.year, due_day.month, due_day.day, 10))
    clock.advance(days=1)
    today = vn_date(clock())
    async with ctx.sessions() as session:
        due = await due_items(session, schedules, today=today)
    assert {i.message_id for i in due} == {ids[k] for k in ("d1", "d2", "d3", "d5")}
    assert {i.action for i in due} == {"destroy"} and {i.schedule_code for i in due} == {"CV-10"}

    # A hold on d2 (document by document); a clerk may not place one.
    async with ctx.sessions() as session, session.begin():
        with pytest.raises(NotAnArchivist):
            await place_hold(session, name="x", authority="y", reason="z", by=CLERK, now=clock(),
                             message_ids=[ids["d2"]])
    async with ctx.sessions() as session, session.begin():
        await place_hold(session, name="Vụ án 12/2036", authority="TAND TP Hà Nội",
                         reason="Chứng cứ vụ án", by=MOT, now=clock(), message_ids=[ids["d2"]])
    async with ctx.sessions() as session, session.begin():
        proposal = await propose_disposal(session, schedules, by=MOT, today=today, now=clock())
    assert proposal is not None
    async with ctx.sessions() as session:
        view = await disposal_view(session, proposal.id)
    assert {i[0] for i in view.items} == {ids["d1"], ids["d3"], ids["d5"]}  # d2 is held

    # After the proposal, a hold on a saved search catches d3: execution checks holds again.
    async with ctx.sessions() as session, session.begin():
        await place_hold(session, name="Thanh tra dự án", authority="Thanh tra Chính phủ",
                         reason="Thanh tra dự án cầu", by=HAI, now=clock(), search={"text": "Thủ Thiêm"})

    async def execute() -> DisposalResult:
        return await execute_disposal(ctx.sessions, ctx.payloads, proposal.id, schedules,
                                      key=ctx.identity.key, certificate=ctx.identity.certificate,
                                      now=clock(), actor=HAI)

    # One archivist is not enough, approving twice does not count twice, a clerk cannot approve.
    async with ctx.sessions() as session, session.begin():
        assert await approve_disposal(session, proposal.id, by=MOT, now=clock()) == 1
    with pytest.raises(DisposalRefused, match="two different archivists"):
        await execute()
    async with ctx.sessions() as session, session.begin():
        with pytest.raises(DisposalRefused, match="already approved"):
            await approve_disposal(session, proposal.id, by=MOT, now=clock())
        with pytest.raises(NotAnArchivist):
            await approve_disposal(session, proposal.id, by=CLERK, now=clock())
    assert all([await ctx.payloads.exists(v["sha256"]) for v in sent.values()])

    clock.advance(minutes=5)
    async with ctx.sessions() as session, session.begin():
        assert await approve_disposal(session, proposal.id, by=HAI, now=clock()) == 2
    clock.advance(minutes=5)
    result = await execute()
    assert sorted(result.destroyed) == sorted([ids["d1"], ids["d5"]])
    assert result.refused == {ids["d3"]: "held"}
    with pytest.raises(DisposalRefused, match="executed"):
        await execute()

    # The certificate verifies with the axis certificate and lists items, digests, schedule, approvers, time.
    assert result.certificate is not None
    cert = verify_certificate(result.certificate, ctx.axis_certificate)
    assert cert.disposal_id == proposal.id and cert.executed_at == clock()
    assert [(i.message_id, i.sha256, i.schedule, i.sender, i.recipients) for i in cert.items] == sorted(
        [(ids[k], sent[k]["sha256"], "CV-10", A, (B,)) for k in ("d1", "d5")])
    assert [s.code for s in cert.schedules] == ["CV-10"] and cert.schedules[0].period == "10"
    assert [x.login for x in cert.approvals] == [MOT, HAI] and cert.proposed_by == MOT
    out = tmp_path / "chung-nhan-huy.xml"
    downloaded = await axis_cli("retention", "certificate", proposal.id, "-o", out)
    assert downloaded.exit_code == 0 and "signature verified" in downloaded.output
    assert out.read_bytes() == result.certificate
    assert await ctx.payloads.exists(result.certificate_sha256 or "")  # kept, as a blob under no schedule

    # Payloads gone; held and permanent ones kept; residual metadata remains.
    for key in ("d1", "d5"):
        assert not await ctx.payloads.exists(sent[key]["sha256"])
    for key in ("d2", "d3", "d4"):
        assert await ctx.payloads.exists(sent[key]["sha256"])
    await seal_now(ctx.sessions)  # register entries are numbered by the sealer
    async with ctx.sessions() as session:
        d1 = await session.get(Message, ids["d1"])
        assignment = await session.get(RetentionAssignment, ids["d1"])
        blob = await session.get(Blob, sent["d1"]["sha256"])
        recipients = (await session.execute(select(Delivery.recipient_id).where(
            Delivery.message_id == ids["d1"]))).scalars().all()
        outgoing = await register_rows(session, A, "outgoing", issued.year)
    assert d1 is not None and d1.sha256 == sent["d1"]["sha256"] and d1.document_id == sent["d1"]["document_id"]
    assert len(recipients) == 1
    assert assignment is not None and assignment.disposed_at == clock() and assignment.disposal_id == proposal.id
    assert assignment.schedule_code == "CV-10" and blob is not None and blob.disposed_at == clock()
    row = next(r for r in outgoing if r["message_id"] == ids["d1"])
    assert f"theo danh sách {proposal.id} (disposed)" in row["notes"]

    # The exchange answers 410 AXIS.Disposed for the payload; the trace (metadata) stays readable.
    status, problem = await _http_get(f"{archive.url}/api/v1/messages/{ids['d1']}", b.token)
    assert status == 410 and problem["code"] == "AXIS.Disposed" and problem["disposal_id"] == proposal.id
    check(openapi_document(vxp_openapi.part()), problem, "/api/v1/messages/{id}", "get", 410, "application/problem+json")
    status, trace = await _http_get(f"{archive.url}/api/v1/documents/{ids['d1']}/trace", a.token)
    assert status == 200 and trace["recipients"][0]["receipt_id"]
    status, _ = await _http_get(f"{archive.url}/api/v1/messages/{ids['d2']}", b.token)
    assert status == 200

    # Fixity does not count destroyed payloads as missing; the audit chain holds every step.
    report = await run_fixity(ctx.sessions, ctx.payloads, now=clock())
    assert report.ok and report.checked > 0
    await seal_now(ctx.sessions)
    async with ctx.sessions() as session:
        assert (await verify_chain(session))[1] is None
        actions = list((await session.execute(select(AuditEvent.action).where(
            AuditEvent.action.like("hold.%") | AuditEvent.action.like("disposal.%")).order_by(AuditEvent.id))).scalars())
    assert actions == ["hold.placed", "disposal.proposed", "hold.placed", "disposal.approved", "disposal.approved",
                       "disposal.executed"]

    # Releasing d2's hold puts it on the next list.
    async with ctx.sessions() as session, session.begin():
        holds = await list_holds(session)
        await release_hold(session, holds[0][0].id, by=MOT, now=clock())  # asks; a second archivist confirms
        await release_hold(session, holds[0][0].id, by=HAI, now=clock())
        again = await propose_disposal(session, schedules, by=HAI, today=today, now=clock())
        assert again is not None
        assert [i[0] for i in (await disposal_view(session, again.id)).items] == [ids["d2"]]


async def test_disposal_from_the_command_line(archive: Harness, axis_cli: Cli, tmp_path: Path) -> None:
    a, b = await archive.register(A), await archive.register(B)
    await add_people(archive, A, **{MOT: "archivist", HAI: "archivist", CLERK: "clerk"})
    # Letters dated 2010 under a ten-year schedule are due today by the real clock.
    ids = [(await _send(a, b, f"Về việc năm 2010 số {n}", promulgation_date=date(2010, 3, 1)))[1]["id"]
           for n in range(3)]

    dry = await axis_cli("retention", "run", "--dry-run")
    assert dry.exit_code == 0 and "3 due as of" in dry.output and "3 to destroy (0 held)" in dry.output
    assert (await axis_cli("retention", "run")).exit_code == 2  # a real run needs --as
    held = await axis_cli("retention", "hold", "add", "--name", "Khiếu nại 2026", "--authority", "Thanh tra Bộ",
                          "--reason", "Đang giải quyết khiếu nại", "--document", ids[2], "--as", MOT)
    assert held.exit_code == 0, held.output

    proposed = await axis_cli("retention", "run", "--as", MOT)
    assert "disposal list 1 proposed with 2 documents" in proposed.output
    waiting = await axis_cli("retention", "run", "--as", MOT)
    assert "disposal list 1 (2 documents): 0 of 2 approvals; not executed" in waiting.output

    assert "1 of 2 approvals" in (await axis_cli("retention", "approve", 1, "--as", MOT)).output
    single = await axis_cli("retention", "execute", 1, "--as", MOT)
    assert single.exit_code == 1 and "two different archivists" in single.output
    twice = await axis_cli("retention", "approve", 1, "--as", MOT)
    assert twice.exit_code == 1 and "already approved" in twice.output
    clerk = await axis_cli("retention", "approve", 1, "--as", CLERK)
    assert clerk.exit_code == 1 and "not an archivist" in clerk.output
    assert all([await archive.ctx.payloads.exists(s) for s in await _digests(archive, ids)])

    assert "2 of 2 approvals" in (await axis_cli("retention", "approve", 1, "--as", HAI)).output
    executed = await axis_cli("retention", "run", "--as", HAI)
    assert "disposal list 1 executed: 2 destroyed" in executed.output, executed.output
    digests = await _digests(archive, ids)
    assert [await archive.ctx.payloads.exists(s) for s in digests] == [False, False, True]

    out = tmp_path / "cert.xml"
    assert (await axis_cli("retention", "certificate", 1, "-o", out)).exit_code == 0
    assert {i.message_id for i in verify_certificate(out.read_bytes(), archive.ctx.axis_certificate).items} == set(
        ids[:2])
    shown = await axis_cli("retention", "disposal", 1, "--json")
    people = await axis_cli("retention", "disposal", 1)
    assert people.output.startswith("disposal list 1: executed, 2 documents, 2 approvals") and "{" not in people.output
    assert shown.output.count('"outcome": "destroyed"') == 2 and shown.output.count('"login"') == 2
    listing = await axis_cli("retention", "disposals")
    assert "executed" in listing.output and "2 approvals" in listing.output
    after = await axis_cli("retention", "run", "--dry-run")
    assert "1 due as of" in after.output and "HELD (Khiếu nại 2026)" in after.output
    holds = await axis_cli("retention", "hold", "list")
    assert "Khiếu nại 2026" in holds.output
    assert "nothing due for destruction" in (await axis_cli("retention", "run", "--as", MOT)).output


async def _digests(archive: Harness, ids: list[str]) -> list[str]:
    async with archive.ctx.sessions() as session:
        found = dict((await session.execute(select(Message.id, Message.sha256).where(Message.id.in_(ids)))).all())
    return [found[i] for i in ids]


async def test_a_later_event_starts_the_period_and_the_job_assigns_what_lacks_a_schedule(
        archive: Harness, clock: TestClock) -> None:
    a, b = await archive.register(A), await archive.register(B)
    doc, reply = await _send(a, b, "Hợp đồng cung cấp dịch vụ", type_abbreviation="HĐ", notation="HĐ-VPCP")
    async with archive.ctx.sessions() as session:
        assignment = await session.get(RetentionAssignment, reply["id"])
    assert assignment is not None and assignment.schedule_code == "HD-10" and assignment.due_date is None

    clock.advance(days=40)
    async with b.client() as bc:
        await bc.post_status(b.status(doc, StatusCode.COMPLETED, "Đã thanh lý hợp đồng"))
    # Someone removed the assignment of another document: the job gives it back.
    _, other = await _send(a, b, "Về việc khác")
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(delete(RetentionAssignment).where(RetentionAssignment.message_id == other["id"]))
    summary = await run_job(archive.ctx, RETENTION)
    assert summary is not None and summary.startswith("assigned 1, due dates set 1")
    async with archive.ctx.sessions() as session:
        contract = await session.get(RetentionAssignment, reply["id"])
        restored = await session.get(RetentionAssignment, other["id"])
    assert contract is not None and contract.due_date == add_years(vn_date(clock()), 10)
    assert restored is not None and restored.schedule_code == "CV-10"
    assert (await run_job(archive.ctx, RETENTION) or "").startswith("assigned 0, due dates set 0")


async def test_archived_messages_cannot_be_deleted_or_rewritten_outside_disposal(archive: Harness) -> None:
    a, b = await archive.register(A), await archive.register(B)
    _, reply = await _send(a, b, "Về việc bất biến")
    async with archive.ctx.sessions() as session:
        with pytest.raises(ArchiveImmutable):
            async with session.begin():
                await session.delete(await session.get(Message, reply["id"]))
    async with archive.ctx.sessions() as session:
        with pytest.raises(ArchiveImmutable):
            async with session.begin():
                await session.execute(delete(Message).where(Message.id == reply["id"]))
    async with archive.ctx.sessions() as session:
        with pytest.raises(ArchiveImmutable):
            async with session.begin():
                await session.execute(update(Message).where(Message.id == reply["id"]).values(sha256="0" * 64))
    async with archive.ctx.sessions() as session:
        with pytest.raises(ArchiveImmutable):
            async with session.begin():
                (await session.get(Message, reply["id"])).subject = "sửa trộm"  # type: ignore[union-attr]
    # What the exchange itself changes on a stored message, the moment it is revoked, still goes through.
    async with archive.ctx.sessions() as session, session.begin():
        (await session.get(Message, reply["id"])).revoked_at = archive.ctx.clock()  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        async with http.delete(f"{archive.url}/api/v1/messages/{reply['id']}",
                               headers={"Authorization": f"Bearer {a.token}"}) as r:
            assert r.status == 405
    assert await archive.ctx.payloads.exists(reply["sha256"])


def test_shipped_schedules_give_every_document_type_exactly_one_schedule() -> None:
    schedules = load_schedules()
    for t in DOCUMENT_TYPES:
        found = schedules.for_type(t.abbreviation, t.name_vi)
        owners = [s.code for s in schedules if t.abbreviation in s.types or t.name_vi in s.types]
        assert len(owners) <= 1 and (not owners or owners == [found.code])
    assert schedules.for_type("", "Công văn").code == "CV-10"
    assert schedules.for_type("XYZ", "Loại lạ").code == schedules.default_code
    assert schedules.for_type("QĐ").permanent and schedules.for_type("QĐ").action == "transfer"


@pytest.mark.parametrize("change, message", [
    ({"period": "forever"}, "period"),
    ({"trigger": "someday"}, "trigger"),
    ({"action": "shred"}, "action"),
    ({"period": "permanent", "action": "destroy"}, "permanent schedule cannot destroy"),
    ({"types": ["CV"]}, "already under"),
])
def test_inconsistent_schedules_are_refused(change: dict[str, Any], message: str) -> None:
    base = {"code": "X", "title": "t", "legal_basis": "b", "period": 5, "trigger": "document_date",
            "action": "destroy", "types": ["CV"]}
    bad = {**base, "code": "Y", **change}
    with pytest.raises(RetentionConfigError, match=message):
        parse_schedules({"default": "X", "schedules": [base, bad]})
    with pytest.raises(RetentionConfigError, match="default"):
        parse_schedules({"default": "Z", "schedules": [base]})
