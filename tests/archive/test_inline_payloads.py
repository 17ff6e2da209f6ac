"""Small payloads live in the database, committed with their message; larger ones are files. Both behave alike."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from axis.agency.receiver import PATH, PushReceiver
from axis.archive.calendar import add_years, vn_date
from axis.archive.disposal import approve_disposal, execute_disposal, propose_disposal, purge_disposed_payloads
from axis.archive.fixity import Outcome, run_fixity
from axis.archive.schedules import load_schedules
from envelope.codes import StatusCode
from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.archive_models import Blob, RetentionAssignment
from storage.models import Message, Payload, PayloadChunk
from tests.archive.conftest import PASSWORD, A, B, C, TestClock, add_people, damage_payload, vn, wait_for
from tests.databases import DatabaseTemplate
from tests.harness import Harness, blob_backend, server_settings, start_server
from tests.web.conftest import Browser

#: Small enough that a document with a 16 KB attachment is over it, while an ordinary one (about 6 KB) is under.
LIMIT = 8192
MOT, HAI, CLERK = "luutru.mot", "luutru.hai", "vanthu.h29"


@pytest.fixture
async def archive(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                  identities: dict[str, IssuedIdentity], clock: TestClock) -> AsyncIterator[Harness]:
    """The archive tests' server (driven clock), with payloads of at most LIMIT bytes kept in the database."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, delivery_deadline_seconds=0.0,
                                   inline_payload_max_bytes=LIMIT)
        harness, server = await start_server(settings, test_ca, identities, clock=clock)
        try:
            yield harness
        finally:
            await server.close()


#: Where a payload over the limit goes: a blob file, or chunk rows on the database backend.
LARGE = "chunks" if blob_backend() == "database" else "file"


async def _where(archive: Harness, sha256: str) -> set[str]:
    """Where a payload is kept: "database" (a payloads row), "chunks" (payload_chunks rows), "file", or none."""
    async with archive.ctx.sessions() as session:
        row = (await session.execute(select(Payload.sha256).where(Payload.sha256 == sha256))).first()
        chunk = (await session.execute(select(PayloadChunk.seq).where(PayloadChunk.sha256 == sha256))).first()
    return (({"database"} if row is not None else set()) | ({"chunks"} if chunk is not None else set())
            | ({"file"} if archive.ctx.blobs.exists(sha256) else set()))


async def _get(url: str, token: str) -> tuple[int, bytes, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.read(), r.headers


async def test_payloads_under_and_over_the_inline_limit_are_fetched_pushed_checked_and_disposed_of_alike(
        archive: Harness, clock: TestClock) -> None:
    ctx = archive.ctx
    receiver = PushReceiver(organization=None, identity=archive.identity_for(C))  # type: ignore[arg-type]
    endpoint = TestServer(receiver.app(), host="127.0.0.1")
    await endpoint.start_server()
    try:
        a, b = await archive.register(A), await archive.register(B)
        c = await archive.register(C, endpoint=str(endpoint.make_url(PATH)))
        receiver.organization = c.organization
        receiver.axis_certificate, receiver.senders = ctx.axis_certificate, {A: a.identity.certificate}
        await add_people(archive, A, **{MOT: "archivist", HAI: "archivist"})
        await add_people(archive, B, **{CLERK: "clerk"})
        issued = vn_date(clock())
        attachment = bytes(range(256)) * 64  # 16 KB
        documents: dict[str, tuple[Any, bytes]] = {
            "small": a.document([b, c], subject="Về việc văn bản nhỏ", promulgation_date=issued),
            "large": a.document([b, c], subject="Về việc văn bản lớn", promulgation_date=issued, attachments=[
                Attachment("cid:1", "phu-luc.pdf", "application/pdf", attachment)]),
        }
        assert len(documents["small"][1]) <= LIMIT < len(documents["large"][1])

        # Submitted over HTTP: the small one is a row committed with its message, the large one a file.
        sent: dict[str, dict[str, Any]] = {}
        async with a.client() as ac:
            for key, (_, signed) in documents.items():
                sent[key] = await ac.submit(signed)
        assert await _where(archive, sent["small"]["sha256"]) == {"database"}
        assert await _where(archive, sent["large"]["sha256"]) == {LARGE}
        async with ctx.sessions() as session:
            ledger = {r.sha256: r for r in (await session.execute(select(Blob))).scalars()}
        for key, (_, signed) in documents.items():
            assert ledger[sent[key]["sha256"]].size == len(signed)  # one ledger row per digest, either kind
            assert await ctx.payloads.read(sent[key]["sha256"]) == signed

        # B fetches both byte for byte (ETag = digest) and confirms; C was pushed both and answered 01.
        async with b.client() as bc:
            for key, (doc, signed) in documents.items():
                status, body, headers = await _get(f"{archive.url}/api/v1/messages/{sent[key]['id']}", b.token)
                assert status == 200 and body == signed and headers["ETag"] == f'"{sent[key]["sha256"]}"'
                assert headers["Content-Type"] == "application/xml"
                await bc.post_status(b.status(doc, StatusCode.ARRIVED, "Đã nhận"))

        async def pushed() -> bool:
            return len(receiver.received) == 2

        await wait_for(pushed)
        assert receiver.received == {sent[k]["id"]: documents[k][1] for k in documents}

        async def receipts_stored() -> list[str]:
            async with ctx.sessions() as session:
                return list((await session.execute(
                    select(Message.sha256).where(Message.status_code == "01"))).scalars())

        async def four_receipts() -> bool:
            # C's answers are stored a moment after its endpoint has them.
            return len(await receipts_stored()) == 4

        await wait_for(four_receipts)
        # Statuses are small: the 01s of B (posted) and C (its push answer) are rows too.
        receipts = await receipts_stored()
        assert len(receipts) == 4 and all([await _where(archive, s) == {"database"} for s in receipts])

        # The web UI reads both: document page (signature re-checked), the edXML, the attachment.
        clerk = Browser(archive.url)
        try:
            assert (await clerk.login(CLERK, PASSWORD))[0] == 303
            for key, (_, signed) in documents.items():
                status, html, _ = await clerk.get(f"/documents/{sent[key]['id']}")
                assert status == 200 and 'data-valid="true"' in html
                status, raw, _ = await clerk.get_bytes(f"/documents/{sent[key]['id']}/edxml")
                assert status == 200 and raw == signed
            status, raw, _ = await clerk.get_bytes(f"/documents/{sent['large']['id']}/attachments/1")
            assert status == 200 and raw == attachment

            # Fixity passes on both; a flipped byte in the database row or in the file is a mismatch.
            report = await run_fixity(ctx.sessions, ctx.payloads, now=clock())
            async with ctx.sessions() as session:
                messages = len((await session.execute(select(Message.id))).all())
            assert report.ok and report.checked == messages
            for key in documents:
                await damage_payload(archive, sent[key]["sha256"], "flip a byte")
            report = await run_fixity(ctx.sessions, ctx.payloads, now=clock())
            assert sorted(report.failures) == sorted((sent[k]["sha256"], Outcome.MISMATCH) for k in documents)
            async with ctx.sessions() as session:
                checked = [await session.get(Blob, sent[k]["sha256"]) for k in documents]
            assert [x.last_outcome if x is not None else None for x in checked] == ["mismatch", "mismatch"]

            # Ten years and a day on, both are due under CV-10; two archivists dispose of them.
            due = add_years(issued, 10)
            clock.set(vn(due.year, due.month, due.day, 10))
            clock.advance(days=1)
            schedules = load_schedules(ctx.settings.retention_path)
            async with ctx.sessions() as session, session.begin():
                proposal = await propose_disposal(session, schedules, by=MOT, today=vn_date(clock()), now=clock())
                assert proposal is not None
                for login in (MOT, HAI):
                    await approve_disposal(session, proposal.id, by=login, now=clock())
            result = await execute_disposal(ctx.sessions, ctx.payloads, proposal.id, schedules, key=ctx.identity.key,
                                            certificate=ctx.identity.certificate, now=clock(), actor=HAI)
            assert sorted(result.destroyed) == sorted(s["id"] for s in sent.values())
            assert result.purged_blobs == 2  # one row, one file
            assert (await clerk.login(CLERK, PASSWORD))[0] == 303  # ten years on: a new web session

            # Payloads gone, row and file alike; residual metadata kept; 410 on every read path.
            for key in documents:
                sha = sent[key]["sha256"]
                assert await _where(archive, sha) == set() and not await ctx.payloads.exists(sha)
                async with ctx.sessions() as session:
                    message = await session.get(Message, sent[key]["id"])
                    assignment = await session.get(RetentionAssignment, sent[key]["id"])
                    blob = await session.get(Blob, sha)
                assert message is not None and message.sha256 == sha and message.size == len(documents[key][1])
                assert assignment is not None and assignment.disposal_id == proposal.id
                assert blob is not None and blob.disposed_at == clock()
                status, body, _ = await _get(f"{archive.url}/api/v1/messages/{sent[key]['id']}", b.token)
                assert status == 410 and b'"AXIS.Disposed"' in body
                assert (await clerk.get_bytes(f"/documents/{sent[key]['id']}/edxml"))[0] == 410
        finally:
            await clerk.close()

        # The destruction certificate is a payload like the others, read through the same store.
        assert result.certificate is not None and result.certificate_sha256 is not None
        assert await _where(archive, result.certificate_sha256) == (
            {"database"} if len(result.certificate) <= LIMIT else {LARGE})
        assert await ctx.payloads.read(result.certificate_sha256) == result.certificate
        assert hashlib.sha256(result.certificate).hexdigest() == result.certificate_sha256
        # Fixity skips what was destroyed; nothing is left over for the retention job to purge.
        report = await run_fixity(ctx.sessions, ctx.payloads, now=clock())
        assert report.ok and not {sha for sha, _ in report.failures} & {s["sha256"] for s in sent.values()}
        async with ctx.sessions() as session, session.begin():
            assert await purge_disposed_payloads(session, ctx.payloads) == 0
    finally:
        await endpoint.close()


async def test_a_payload_stored_as_a_file_before_stays_readable(archive: Harness) -> None:
    a, b = await archive.register(A), await archive.register(B)
    _, signed = a.document([b])
    async with a.client() as ac:
        reply = await ac.submit(signed)
    sha = reply["sha256"]
    # As a blob written by an older axis: a file, no row.
    async with archive.ctx.sessions() as session, session.begin():
        await session.execute(Payload.__table__.delete().where(Payload.__table__.c.sha256 == sha))
    archive.ctx.blobs.put(signed)
    assert await _where(archive, sha) == {"file"}
    status, body, _ = await _get(f"{archive.url}/api/v1/messages/{reply['id']}", b.token)
    assert status == 200 and body == signed
    assert await archive.ctx.payloads.exists(sha) and await archive.ctx.payloads.read(sha) == signed
    assert await archive.ctx.payloads.delete(sha) and await _where(archive, sha) == set()
    assert not await archive.ctx.payloads.delete(sha)
