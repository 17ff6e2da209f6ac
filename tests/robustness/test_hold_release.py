"""A legal hold is released by two archivists, like a disposal list: one alone cannot lift it.

An archivist who wants a held document destroyed (or just makes a mistake) must not be able to
release a court's hold alone: the first request leaves the hold in force until a second, different
active archivist confirms; both steps are in the audit chain. Web UI and command line alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from axis.archive.holds import holds_on, place_hold
from axis.archive.sealing import seal_now
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.archive_models import LegalHold
from storage.audit import verify_chain
from storage.models import AuditEvent, User
from tests.archive.conftest import Cli
from tests.databases import DatabaseTemplate
from tests.web.conftest import A, B, Browser, World, csrf_from, start_world

MOT, HAI, BA = "luutru.mot", "luutru.hai", "luutru.ba"


@pytest.fixture
async def world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    async for w in start_world(tmp_path, db_template, test_ca, identities):
        await w.add_user(MOT, A, "archivist")
        await w.add_user(HAI, B, "archivist")
        await w.add_user(BA, A, "archivist")
        yield w


async def _held_document(world: World, name: str = "Vụ án 7/2026") -> tuple[str, int]:
    sent = await world.send([world.b], subject="Về việc hồ sơ vụ án")
    ctx = world.axis.ctx
    async with ctx.sessions() as session, session.begin():
        hold = await place_hold(session, name=name, authority="TAND TP Hà Nội", reason="Chứng cứ",
                                by=MOT, now=ctx.clock(), message_ids=[sent["id"]])
    return sent["id"], hold.id


async def _still_held(world: World, message_id: str) -> bool:
    async with world.axis.ctx.sessions() as session:
        return message_id in await holds_on(session, [message_id])


async def _login(world: World, login: str) -> Browser:
    browser = Browser(world.url)
    assert (await browser.login(login))[0] == 303
    return browser


async def _release(browser: Browser, hold_id: int) -> tuple[int, str]:
    _, page, _ = await browser.get("/archive/holds")
    status, html, r = await browser.post(f"/archive/holds/{hold_id}/release", {"csrf_token": csrf_from(page)})
    return status, (r.headers.get("Location", "") if status == 303 else html)


async def _audit(world: World) -> list[tuple[str, str, str]]:
    ctx = world.axis.ctx
    await seal_now(ctx.sessions)
    async with ctx.sessions() as session:
        assert (await verify_chain(session))[1] is None
        return [(e.action, e.actor, e.subject) for e in (await session.execute(
            select(AuditEvent).where(AuditEvent.action.like("hold.release%")).order_by(AuditEvent.id))).scalars()]


async def test_one_archivist_alone_cannot_release_a_hold_in_the_web_ui(world: World) -> None:
    message_id, hold_id = await _held_document(world)
    mot, hai = await _login(world, MOT), await _login(world, HAI)
    try:
        assert await _release(mot, hold_id) == (303, f"/archive/holds?requested={hold_id}")
        assert await _still_held(world, message_id), "a request alone lifts nothing"
        _, html, _ = await mot.get("/archive/holds")
        assert f'data-requested-by="{MOT}"' in html
        # The same archivist confirming their own request is refused, however often they try.
        for _ in range(2):
            status, html = await _release(mot, hold_id)
            assert status == 409 and "a second, different archivist must confirm" in html
        assert await _still_held(world, message_id)

        assert await _release(hai, hold_id) == (303, f"/archive/holds?released={hold_id}")
        assert not await _still_held(world, message_id)
        async with world.axis.ctx.sessions() as session:
            hold = await session.get(LegalHold, hold_id)
            assert hold is not None and (hold.release_requested_by, hold.released_by) == (MOT, HAI)
        assert await _audit(world) == [("hold.release_requested", MOT, str(hold_id)),
                                       ("hold.released", HAI, str(hold_id))]
    finally:
        await mot.close()
        await hai.close()


async def test_a_request_by_someone_no_longer_an_archivist_does_not_count(world: World) -> None:
    message_id, hold_id = await _held_document(world)
    mot, hai = await _login(world, MOT), await _login(world, HAI)
    try:
        assert (await _release(mot, hold_id))[0] == 303
        async with world.axis.ctx.sessions() as session, session.begin():
            await session.execute(update(User).where(User.login == MOT).values(active=False))
        # HAI's call is now a fresh request, not the second half of MOT's.
        assert await _release(hai, hold_id) == (303, f"/archive/holds?requested={hold_id}")
        assert await _still_held(world, message_id)
    finally:
        await mot.close()
        await hai.close()


async def test_one_archivist_alone_cannot_release_a_hold_from_the_command_line(world: World) -> None:
    message_id, hold_id = await _held_document(world)
    cli = Cli(world.axis)
    asked = await cli("retention", "hold", "release", hold_id, "--as", MOT)
    assert asked.exit_code == 0 and "requested" in asked.output and "second archivist" in asked.output
    again = await cli("retention", "hold", "release", hold_id, "--as", MOT)
    assert again.exit_code == 1 and "a second, different archivist must confirm" in again.output
    clerk = await cli("retention", "hold", "release", hold_id, "--as", "vanthu.g22")
    assert clerk.exit_code == 1 and "not an archivist" in clerk.output
    assert await _still_held(world, message_id)
    listed = await cli("retention", "hold", "list")
    assert f'"release_requested_by": "{MOT}"' in listed.output

    done = await cli("retention", "hold", "release", hold_id, "--as", BA)
    assert done.exit_code == 0 and f"legal hold {hold_id} released" in done.output
    assert not await _still_held(world, message_id)
    assert await _audit(world) == [("hold.release_requested", MOT, str(hold_id)), ("hold.released", BA, str(hold_id))]
