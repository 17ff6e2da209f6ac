"""Known traffic across two months; every figure of the monthly report, through the CLI, the API and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select

from axis.api.openapi import openapi_document
from axis.archive.calendar import month_bounds, month_of, shift_month, vn_date
from axis.archive.disposal import approve_disposal, execute_disposal, propose_disposal
from axis.archive.reports import COLUMNS, median, monthly_report, p95, report_series
from axis.archive.schedules import load_schedules
from axis.jobs.archive import REPORTS
from axis.jobs.runner import run_job
from axis.vxp import openapi as vxp_openapi
from envelope.codes import StatusCode
from storage.archive_models import MonthlyStat
from storage.models import Agency, Message
from tests.archive.conftest import A, B, C, Cli, D, TestClock, add_people, vn, wait_failed
from tests.exchange.test_openapi import check
from tests.harness import Harness

AXIS = "000.00.00.A00"


def _zero(code: str, month: str) -> dict[str, Any]:
    return {"agency": code, "month": month, "sent": 0, "received": 0, "delivered": 0, "refused": 0, "failed": 0,
            "median_receipt_s": None, "p95_receipt_s": None, "bytes_in": 0, "storage_growth_bytes": 0,
            "disposed": 0, "unsigned": 0}


def _at(month: str, day: int, hour: int, minute: int = 0) -> Any:
    year, mon = (int(x) for x in month.split("-"))
    return vn(year, mon, day, hour, minute)


async def _api(url: str, token: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, r.content_type, await r.text()


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _as_csv(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]


async def test_every_figure_of_two_months_of_known_traffic(archive: Harness, clock: TestClock, axis_cli: Cli) -> None:
    ctx = archive.ctx
    m1 = shift_month(month_of(clock()), 1)
    m2 = shift_month(m1, 1)
    a, b, c = await archive.register(A), await archive.register(B), await archive.register(C)
    d = await archive.register(D, endpoint="http://127.0.0.1:9/nowhere")  # every push to D fails at once
    size: dict[str, int] = {}

    # --- month 1 ------------------------------------------------------------------------------------
    clock.set(_at(m1, 10, 9))
    doc1, raw = a.document([b, c], subject="Về việc tổng kết năm", promulgation_date=date(2010, 1, 5))
    size["doc1"] = len(raw)
    async with a.client() as ac, b.client() as bc, c.client() as cc:
        id1 = (await ac.submit(raw))["id"]
        clock.advance(seconds=100)
        st = b.status(doc1, StatusCode.ARRIVED, "Đã nhận")
        size["b01"] = len(st)
        await bc.post_status(st)
        clock.advance(seconds=200)
        st = c.status(doc1, StatusCode.ARRIVED, "Đã nhận")
        size["c01"] = len(st)
        await cc.post_status(st)

        clock.advance(seconds=700)
        doc2, raw = a.document([b], subject="Về việc gửi nhầm")
        size["doc2"] = len(raw)
        await ac.submit(raw)
        clock.advance(seconds=50)
        st = b.status(doc2, StatusCode.REFUSED, "Gửi nhầm nơi nhận")
        size["b02"] = len(st)
        await bc.post_status(st)

        clock.advance(seconds=950)
        doc3, raw = b.document([a, d], subject="Về việc phối hợp")
        size["doc3"] = len(raw)
        id3 = (await bc.submit(raw))["id"]
        await wait_failed(archive, id3, D)  # the axis gives up on D and signs a 02 notice for B
        clock.advance(seconds=40)
        st = a.status(doc3, StatusCode.ARRIVED, "Đã nhận")
        size["a01_doc3"] = len(st)
        await ac.post_status(st)

        # One minute before midnight (Vietnam time) on the last day of month 1; its receipt comes in month 2.
        clock.set(month_bounds(m2)[0] - timedelta(minutes=1))
        doc5, raw = c.document([a], subject="Về việc cuối tháng")
        size["doc5"] = len(raw)
        await cc.submit(raw)
        clock.advance(seconds=120)
        assert month_of(clock()) == m2
        st = a.status(doc5, StatusCode.ARRIVED, "Đã nhận")
        size["a01_doc5"] = len(st)
        await ac.post_status(st)

        # --- month 2 --------------------------------------------------------------------------------
        clock.set(_at(m2, 15, 10))
        doc4, raw = a.document([c], subject="Về việc tháng sau")
        size["doc4"] = len(raw)
        await ac.submit(raw)
        clock.advance(seconds=60)
        st = c.status(doc4, StatusCode.ARRIVED, "Đã nhận")
        size["c01_doc4"] = len(st)
        await cc.post_status(st)

    # doc1 (dated 2010, ten-year schedule) is disposed of in month 2 by two archivists.
    await add_people(archive, A, **{"luutru.mot": "archivist", "luutru.hai": "archivist"})
    schedules = load_schedules(ctx.settings.retention_path)
    clock.advance(hours=1)
    async with ctx.sessions() as session, session.begin():
        proposal = await propose_disposal(session, schedules, by="luutru.mot", today=vn_date(clock()),
                                          now=clock())
        assert proposal is not None
        for login in ("luutru.mot", "luutru.hai"):
            await approve_disposal(session, proposal.id, by=login, now=clock())
    result = await execute_disposal(ctx.sessions, ctx.payloads, proposal.id, schedules,
                                    key=ctx.identity.key, certificate=ctx.identity.certificate,
                                    now=clock())
    assert result.destroyed == [id1]

    async with ctx.sessions() as session:
        axis_id = (await session.execute(select(Agency.id).where(Agency.code == AXIS))).scalar_one()
        notice = (await session.execute(select(Message.size).where(Message.sender_id == axis_id))).scalar_one()

    expected = {
        m1: [
            {**_zero(AXIS, m1), "bytes_in": notice, "storage_growth_bytes": notice},
            {**_zero(D, m1), "received": 1},
            {"agency": A, "month": m1, "sent": 2, "received": 2, "delivered": 2, "refused": 1, "failed": 0,
             "median_receipt_s": 200.0, "p95_receipt_s": 300.0,
             "bytes_in": size["doc1"] + size["doc2"] + size["a01_doc3"],
             "storage_growth_bytes": size["doc1"] + size["doc2"] + size["a01_doc3"], "disposed": 0,
             "unsigned": 0},
            {"agency": B, "month": m1, "sent": 1, "received": 2, "delivered": 1, "refused": 0, "failed": 1,
             "median_receipt_s": 40.0, "p95_receipt_s": 40.0,
             "bytes_in": size["doc3"] + size["b01"] + size["b02"],
             "storage_growth_bytes": size["doc3"] + size["b01"] + size["b02"], "disposed": 0, "unsigned": 0},
            {"agency": C, "month": m1, "sent": 1, "received": 1, "delivered": 1, "refused": 0, "failed": 0,
             "median_receipt_s": 120.0, "p95_receipt_s": 120.0, "bytes_in": size["doc5"] + size["c01"],
             "storage_growth_bytes": size["doc5"] + size["c01"], "disposed": 0, "unsigned": 0},
        ],
        m2: [
            _zero(D, m2),
            {"agency": A, "month": m2, "sent": 1, "received": 0, "delivered": 1, "refused": 0, "failed": 0,
             "median_receipt_s": 60.0, "p95_receipt_s": 60.0, "bytes_in": size["doc4"] + size["a01_doc5"],
             "storage_growth_bytes": size["doc4"] + size["a01_doc5"] - size["doc1"], "disposed": 1,
             "unsigned": 0},
            _zero(B, m2),
            {**_zero(C, m2), "received": 1, "bytes_in": size["c01_doc4"], "storage_growth_bytes": size["c01_doc4"]},
        ],
    }

    # The scheduled job keeps the current and the previous month; reports read the aggregates.
    assert await run_job(ctx, REPORTS) == f"recomputed {m1}, {m2}"
    for month, rows in expected.items():
        async with ctx.sessions() as session:
            assert await monthly_report(session, month) == rows

        cli_json = await axis_cli("report", "monthly", "--month", month, "--format", "json")
        assert cli_json.exit_code == 0 and json.loads(cli_json.output) == rows
        cli_csv = await axis_cli("report", "monthly", "--month", month, "--format", "csv")
        assert cli_csv.output.splitlines()[0] == ",".join(COLUMNS)
        assert _csv_rows(cli_csv.output) == _as_csv(rows)
        cli_one = await axis_cli("report", "monthly", "--month", month, "--agency", A, "--format", "json")
        assert json.loads(cli_one.output) == [r for r in rows if r["agency"] == A]
        table = (await axis_cli("report", "monthly", "--month", month, "--agency", A)).output.splitlines()
        assert table[0].split()[:3] == ["AGENCY", "SENT", "RECEIVED"] and table[1].split()[0] == A

        # The API answers an agency with its own row only, as JSON and as CSV.
        for agent in (a, b, c):
            own = [r for r in rows if r["agency"] == agent.code]
            status, ctype, body = await _api(f"{archive.url}/api/v1/reports/monthly?month={month}", agent.token)
            assert (status, ctype) == (200, "application/json")
            assert json.loads(body) == {"month": month, "items": own}
            check(openapi_document(vxp_openapi.part()), json.loads(body), "/api/v1/reports/monthly", "get", 200)
            status, ctype, body = await _api(f"{archive.url}/api/v1/reports/monthly?month={month}&format=csv",
                                             agent.token)
            assert (status, ctype) == (200, "text/csv") and _csv_rows(body) == _as_csv(own)

    # A month never computed is computed on first request, and kept.
    m0 = shift_month(m1, -1)
    async with ctx.sessions() as session:
        assert (await session.execute(select(MonthlyStat).where(MonthlyStat.month == m0))).first() is None
    status, _, body = await _api(f"{archive.url}/api/v1/reports/monthly?month={m0}", a.token)
    assert status == 200 and json.loads(body)["items"] == [_zero(A, m0)]
    async with ctx.sessions() as session:
        assert len((await session.execute(select(MonthlyStat).where(MonthlyStat.month == m0))).all()) == 4
        series = await report_series(session, A, until=m2, months=3)
        totals = await report_series(session, None, until=m2, months=3)
    assert series == [_zero(A, m0), expected[m1][2], expected[m2][1]]
    assert [t["sent"] for t in totals] == [0, 4, 1] and totals[1]["agency"] is None
    assert totals[1]["median_receipt_s"] is None and totals[2]["disposed"] == 1

    for query in ("month=2026-13", "month=26-01", f"month={m1}&format=xml", ""):
        status, _, body = await _api(f"{archive.url}/api/v1/reports/monthly?{query}", a.token)
        assert status == 400 and json.loads(body)["code"] == "AXIS.Validation"


def test_median_and_p95_follow_their_stated_definitions() -> None:
    assert median([]) is None and p95([]) is None
    assert median([5.0]) == 5.0 and p95([5.0]) == 5.0
    assert median([1, 2, 3, 10]) == 2.5
    values = [float(v) for v in range(1, 21)]  # 1..20: nearest rank ceil(0.95 * 20) = 19
    assert p95(values) == 19.0 and median(values) == 10.5
    assert p95([float(v) for v in range(1, 101)]) == 95.0


async def test_a_month_computed_for_a_reader_without_a_transaction_is_kept(archive: Harness) -> None:
    await archive.register(A)
    async with archive.ctx.sessions() as session:  # as a read-only page would: no explicit transaction
        rows = await monthly_report(session, "2029-04")
        series = await report_series(session, A, until="2029-04", months=2)
    assert rows == [_zero(A, "2029-04")] and series == [_zero(A, "2029-03"), _zero(A, "2029-04")]
    async with archive.ctx.sessions() as session:
        kept = (await session.execute(select(MonthlyStat.month).distinct())).scalars().all()
    assert sorted(kept) == ["2029-03", "2029-04"]
