"""Statutory registers: consecutive numbers per agency and year, taken in the storing transaction, under load too."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Any

import aiohttp
from sqlalchemy import select

from axis.agency.client import AxisClient
from axis.api.openapi import openapi_document
from axis.appkeys import SETTINGS
from axis.archive.calendar import vn_date
from axis.archive.registers import INCOMING_COLUMNS, OUTGOING_COLUMNS, register_rows
from axis.archive.sealing import seal_now
from axis.vxp import openapi as vxp_openapi
from envelope.codes import StatusCode
from storage.archive_models import RegisterEntry
from tests.archive.conftest import A, B, C, Cli, TestClock, vn
from tests.exchange.test_openapi import check
from tests.harness import NAMES, Harness, start_server


async def _get(url: str, token: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, r.content_type, await r.text()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _as_text(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: str(v) for k, v in r.items()} for r in rows]


async def test_registers_number_documents_in_arrival_order_with_the_decree_columns(
        archive: Harness, clock: TestClock, axis_cli: Cli) -> None:
    a, b, c = await archive.register(A), await archive.register(B), await archive.register(C)
    year = vn_date(clock()).year
    decision, decision_signed = a.document([b, c], subject="Về việc ban hành quy chế lưu trữ",
                                           type_abbreviation="QĐ", notation="QĐ-VPCP",
                                           promulgation_date=date(year, 1, 5))
    letter, letter_signed = a.document([b, c], subject="Về việc góp ý dự thảo")
    sent_at = clock()
    async with a.client() as ac, b.client() as bc, c.client() as cc:
        first = await ac.submit(decision_signed)
        second = await ac.submit(letter_signed)
        clock.advance(hours=2)
        await bc.post_status(b.status(letter, StatusCode.ARRIVED, "Đã nhận"))
        clock.advance(hours=1)
        await bc.post_status(b.status(decision, StatusCode.ARRIVED, "Đã nhận"))
        await bc.post_status(b.status(decision, StatusCode.ARRIVED, "Đã nhận lần hai"))  # no second number
        await cc.post_status(c.status(decision, StatusCode.ARRIVED, "Đã nhận"))

    await seal_now(archive.ctx.sessions)  # register entries are numbered by the sealer
    async with archive.ctx.sessions() as session:
        outgoing = await register_rows(session, A, "outgoing", year)
        incoming_b = await register_rows(session, B, "incoming", year)
        incoming_c = await register_rows(session, C, "incoming", year)
        assert await register_rows(session, A, "incoming", year) == []
    assert [(r["number"], r["message_id"]) for r in outgoing] == [(1, first["id"]), (2, second["id"])]
    assert outgoing[0] == {
        "number": 1, "number_and_symbol": "1/QĐ-VPCP", "date": f"{year}-01-05",
        "type_and_summary": "Quyết định: Về việc ban hành quy chế lưu trữ",
        "recipients": f"{NAMES[B]} ({B}); {NAMES[C]} ({C})", "copies": 2,
        "sent_date": vn_date(sent_at).isoformat(),
        "notes": "", "document_id": first["document_id"], "message_id": first["id"],
    }
    assert list(outgoing[0]) == list(OUTGOING_COLUMNS)
    assert [(r["arrival_number"], r["message_id"]) for r in incoming_b] == [(1, second["id"]), (2, first["id"])]
    assert incoming_b[1] == {
        "arrival_date": vn_date(clock()).isoformat(), "arrival_number": 2, "author": f"{NAMES[A]} ({A})",
        "number_and_symbol": "1/QĐ-VPCP", "date": f"{year}-01-05",
        "type_and_summary": "Quyết định: Về việc ban hành quy chế lưu trữ", "receiving_unit": NAMES[B],
        "notes": "", "document_id": first["document_id"], "message_id": first["id"],
    }
    assert [r["arrival_number"] for r in incoming_c] == [1]

    # The same register through the CLI (CSV and JSON) and the API (JSON and CSV), for the calling agency only.
    cli_csv = await axis_cli("register", "incoming", "--agency", B, "--year", year)
    assert cli_csv.exit_code == 0
    assert cli_csv.output.splitlines()[0] == ",".join(INCOMING_COLUMNS)
    assert _csv(cli_csv.output) == _as_text(incoming_b)
    cli_json = await axis_cli("register", "outgoing", "--agency", A, "--year", year, "--format", "json")
    assert '"number_and_symbol": "1/QĐ-VPCP"' in cli_json.output
    status, ctype, body = await _get(f"{archive.url}/api/v1/registers/incoming?year={year}", b.token)
    assert (status, ctype) == (200, "application/json")
    assert json.loads(body) == {"agency": B, "direction": "incoming", "year": year, "items": incoming_b}
    check(openapi_document(vxp_openapi.part()), json.loads(body), "/api/v1/registers/{direction}", "get", 200)
    status, _, body = await _get(f"{archive.url}/api/v1/registers/outgoing?year={year}", a.token)
    assert status == 200 and json.loads(body)["items"] == outgoing
    check(openapi_document(vxp_openapi.part()), json.loads(body), "/api/v1/registers/{direction}", "get", 200)
    status, ctype, body = await _get(f"{archive.url}/api/v1/registers/incoming?year={year}&format=csv", b.token)
    assert (status, ctype) == (200, "text/csv") and body.replace("\r\n", "\n") == cli_csv.output.replace("\r\n", "\n")
    status, _, body = await _get(f"{archive.url}/api/v1/registers/incoming?year={year}&format=csv", c.token)
    assert [r["message_id"] for r in _csv(body)] == [first["id"]]
    for query, expected in (("year=26", 400), (f"year={year}&format=xml", 400)):
        assert (await _get(f"{archive.url}/api/v1/registers/incoming?{query}", b.token))[0] == expected
    assert (await _get(f"{archive.url}/api/v1/registers/sideways?year={year}", b.token))[0] == 404
    assert (await _get(f"{archive.url}/api/v1/registers/incoming?year={year}", "axis_wrong"))[0] == 401


async def test_numbers_restart_with_the_year_in_vietnam_time(archive: Harness, clock: TestClock) -> None:
    a, b = await archive.register(A), await archive.register(B)
    year = vn_date(clock()).year
    replies = []
    async with a.client() as ac:
        for when in (vn(year, 12, 31, 23, 58), vn(year, 12, 31, 23, 59), vn(year + 1, 1, 1, 0, 1)):
            clock.set(when)
            replies.append(await ac.submit(a.document([b])[1]))
    await seal_now(archive.ctx.sessions)  # register entries are numbered by the sealer
    async with archive.ctx.sessions() as session:
        entries = (await session.execute(select(RegisterEntry.year, RegisterEntry.number, RegisterEntry.message_id)
                                         .order_by(RegisterEntry.id))).all()
    assert entries == [(year, 1, replies[0]["id"]), (year, 2, replies[1]["id"]), (year + 1, 1, replies[2]["id"])]


async def test_concurrent_submissions_and_receipts_on_two_servers_get_consecutive_unique_numbers(
        archive: Harness, clock: TestClock) -> None:
    a, b = await archive.register(A), await archive.register(B)
    # A second axis on the same database and home: two processes' worth of connections competing.
    other, server = await start_server(archive.app[SETTINGS], archive.ca, archive.identities, clock=clock)
    try:
        n = 24
        docs = [a.document([b], subject=f"Về việc số {i}") for i in range(n)]

        async def submit(i: int) -> dict[str, Any]:
            base = archive.url if i % 2 else other.url
            async with AxisClient(base, a.token) as client:
                return await client.submit(docs[i][1])

        replies = await asyncio.gather(*(submit(i) for i in range(n)))

        async def confirm(i: int) -> None:
            base = other.url if i % 2 else archive.url
            async with AxisClient(base, b.token) as client:
                await client.post_status(b.status(docs[i][0], StatusCode.ARRIVED, "Đã nhận"))

        await asyncio.gather(*(confirm(i) for i in range(n)))
    finally:
        await server.close()
    year = vn_date(clock()).year
    await seal_now(archive.ctx.sessions)  # register entries are numbered by the sealer
    async with archive.ctx.sessions() as session:
        outgoing = await register_rows(session, A, "outgoing", year)
        incoming = await register_rows(session, B, "incoming", year)
    assert [r["number"] for r in outgoing] == list(range(1, n + 1))
    assert [r["arrival_number"] for r in incoming] == list(range(1, n + 1))
    assert {r["message_id"] for r in outgoing} == {r["message_id"] for r in incoming} == {r["id"] for r in replies}
