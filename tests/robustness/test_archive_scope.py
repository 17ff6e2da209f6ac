"""Archive scope: the hub's archivists reach every document an archive page lists them.

Archivists are hub staff with hub-wide scope (the archive, its retention schedules
and its disposal lists belong to the axis; one disposal list approved by two archivists holds many
agencies' documents). So every link an archive page shows them leads somewhere: ``/archive/due``
lists another agency's document and its archive record opens, never a 404; the document page of
a document their own agency is no party to sends them to that record. The document's content stays
with its sender and recipients.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from axis.archive.calendar import vn_date
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.archive.conftest import Cli
from tests.databases import DatabaseTemplate
from tests.web.conftest import A, B, Browser, C, World, csrf_from, start_world
from tests.web.test_web_archive import exchange

ARCHIVIST, OPERATOR = "luutru.g22", "vanhanh"
SUBJECT = "Về việc bàn giao hồ sơ năm 2010 giữa hai tỉnh"
_RECORD_LINK = re.compile(r'href="(/archive/documents/[0-9A-Z]{26})"')


@pytest.fixture
async def world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    async for w in start_world(tmp_path, db_template, test_ca, identities):
        await w.add_user(ARCHIVIST, A, "archivist")
        await w.add_user(OPERATOR, w.axis.ctx.settings.axis_code, "operator")
        yield w


async def _login(world: World, login: str) -> Browser:
    browser = Browser(world.url)
    assert (await browser.login(login))[0] == 303
    return browser


async def test_every_document_an_archive_page_lists_opens_for_the_hubs_archivist(world: World) -> None:
    # B sends C a letter of 2010: due for disposal now, and the archivist's agency (A) is no party to it.
    sent = await exchange(world, world.b, [world.c], SUBJECT, promulgation_date=date(2010, 3, 1))
    record = f"/archive/documents/{sent['id']}"
    archivist, operator, clerk = (await _login(world, ARCHIVIST), await _login(world, OPERATOR),
                                  await _login(world, "vanthu.g22"))
    try:
        status, due, _ = await archivist.get("/archive/due")
        assert status == 200 and SUBJECT in due
        assert _RECORD_LINK.findall(due) == [record]

        for person in (archivist, operator):
            status, html, _ = await person.get(record)
            assert status == 200 and SUBJECT in html and B in html and C in html and sent["sha256"] in html
            assert 'id="open-document"' not in html  # no party: no link to the content
            status, _, r = await person.get(f"/documents/{sent['id']}")
            assert status == 303 and r.headers["Location"] == record
            for content in ("edxml", "attachments/1", "receipt"):
                assert (await person.get(f"/documents/{sent['id']}/{content}"))[0] == 404, content
        # A clerk of an agency that is no party learns nothing, as before.
        assert (await clerk.get(f"/documents/{sent['id']}"))[0] == 404
        assert (await clerk.get(record))[0] == 403

        # Proposed for disposal, the list links the same record.
        status, _, r = await archivist.post("/archive/disposals", {"csrf_token": csrf_from(due)})
        assert status == 303
        status, listed, _ = await archivist.get(r.headers["Location"])
        assert status == 200 and _RECORD_LINK.findall(listed) == [record]

        # The registers of any agency, as `axis register --agency` gives them; a clerk keeps their own.
        year = vn_date(world.axis.ctx.clock()).year
        status, html, _ = await archivist.get(f"/registers/incoming?agency={C}&year={year}")
        assert status == 200 and f'data-code="{C}"' in html and SUBJECT in html
        status, body, _ = await archivist.get_bytes(f"/registers/incoming.csv?agency={C}&year={year}")
        assert status == 200 and SUBJECT.encode() in body
        status, html, _ = await clerk.get(f"/registers/incoming?agency={C}&year={year}")
        assert status == 200 and f'data-code="{A}"' in html and SUBJECT not in html
    finally:
        for person in (archivist, operator, clerk):
            await person.close()

    # Every view of a record is audited under the person's name.
    assert [e.actor for e in await world.audit("archive.record_viewed")] == [f"user:{ARCHIVIST}", f"user:{OPERATOR}"]
    # The command line has the same scope.
    shown = await Cli(world.axis)("retention", "show", sent["id"])
    assert shown.exit_code == 0 and sent["id"] in shown.output
