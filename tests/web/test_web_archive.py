"""The archive's pages: monthly report with its chart, statutory registers, disposal with two archivists, holds."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import lxml.html
import pytest
from sqlalchemy import or_, select

import axis.web.registers
from axis.api.archive import csv_text
from axis.archive.calendar import month_of, shift_month, vn_date
from axis.archive.destruction_certificates import CERTIFICATE_NS, CERTIFICATE_TAG
from axis.archive.disposal import approve_disposal, certificate_of, propose_disposal
from axis.archive.holds import place_hold
from axis.archive.registers import register_columns, register_rows
from axis.archive.reports import COLUMNS, monthly_report
from axis.archive.schedules import load_schedules
from axis.archive.sealing import seal_now
from envelope.codes import StatusCode
from signing.records import verify_record
from storage.archive_models import LegalHold
from storage.models import AuditEvent, Message
from tests.archive.conftest import Cli, TestClock
from tests.harness import Agent
from tests.web.conftest import A, B, World, csrf_from, start_world
from tests.web.test_web_browser import login, screenshot

MOT, HAI = "luutru.mot", "luutru.hai"
OLD = date(2010, 3, 1)  # under the ten-year letters schedule (CV-10), due long ago


def tree(html: str) -> Any:
    """The page parsed, for XPath."""
    return lxml.html.fromstring(html)


def cells(row: Any) -> dict[str, str]:
    """data-col → data-value of one report table row."""
    return {td.get("data-col"): td.get("data-value") for td in row.xpath("./td[@data-value]")}


def day_vi(value: Any) -> str:
    """A register date (ISO text or a date) as a Vietnamese page writes it: dd/mm/yyyy."""
    return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y") if value else ""


def as_text(row: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in row.items()}


async def exchange(world: World, sender: Agent, recipients: list[Agent], subject: str, *, confirm: bool = True,
                   **kw: Any) -> dict[str, Any]:
    """``sender`` submits a document; each recipient fetches it and (with ``confirm``) posts its signed 01."""
    doc, signed = sender.document(recipients, subject=subject, **kw)
    async with sender.client() as client:
        reply = await client.submit(signed)
    if confirm:
        for r in recipients:
            async with r.client() as rc:
                await rc.fetch(reply["id"])
                await rc.post_status(r.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    return reply


async def form_token(browser: Any, path: str) -> str:
    """The CSRF token of the forms on ``path``."""
    status, html, _ = await browser.get(path)
    assert status == 200, (path, status)
    return csrf_from(html)


# --- reports ----------------------------------------------------------------------------------------


async def test_reports_page_shows_the_monthly_report_figures_and_a_twelve_month_chart(
        world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await exchange(world, world.a, [world.b], "Về việc báo cáo quý")
    await exchange(world, world.a, [world.b, world.c], "Về việc tổng kết năm")
    await exchange(world, world.a, [world.b], "Về việc chưa báo nhận", confirm=False)
    await exchange(world, world.b, [world.a], "Về việc phúc đáp")
    month = month_of(world.axis.ctx.clock())
    await world.add_user(MOT, A, "archivist")

    clerk = await browser_for("vanthu.g22")
    status, html, _ = await clerk.get("/reports")
    assert status == 200
    page = tree(html)
    async with world.axis.ctx.sessions() as session, session.begin():
        expected = await monthly_report(session, month, agency_code=A)
        everyone = await monthly_report(session, month)
    # A clerk sees only their own agency's row, with the same figures as the archive's report.
    rows = page.xpath("//table[@id='monthly']/tbody/tr")
    assert [r.get("data-agency") for r in rows] == [A]
    shown = cells(rows[0])
    assert shown == {k: v for k, v in as_text(expected[0]).items() if k not in ("agency", "month")}
    assert (shown["sent"], shown["delivered"], shown["received"]) == ("3", "3", "1")
    assert not page.xpath("//select[@id='r-agency']")  # no agency filter for clerks
    # Translated column headings.
    heads = [th.text_content() for th in page.xpath("//table[@id='monthly']/thead//th")]
    assert heads[:4] == ["Cơ quan", "Văn bản gửi đi", "Văn bản đến", "Có báo nhận (01)"]

    # The chart: an accessible SVG with the last twelve months, oldest first, and labelled axes.
    svg = page.xpath("//svg[@id='throughput-chart']")[0]
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "chart-title chart-desc"
    assert svg.xpath("./title")[0].text_content().startswith("Lưu lượng văn bản 12 tháng")
    assert svg.xpath("./desc")[0].text_content()
    months = [g.get("data-month") for g in svg.xpath(".//g[@class='chart-month']")]
    assert months == [shift_month(month, -back) for back in range(11, -1, -1)]
    assert len(svg.xpath(".//g[@class='chart-month']/rect")) == 36  # sent, received, delivered each month
    titles = [t.text_content() for t in svg.xpath(".//text[contains(@class, 'axis-title')]")]
    # The time axis's unit follows the measured receipt times (loopback: usually milliseconds).
    assert titles[0::2] == ["Số văn bản", "Tháng"] and titles[1] in {
        "Báo nhận trung vị (mili giây)", "Báo nhận trung vị (giây)", "Báo nhận trung vị (phút)"}
    right = [t.text_content() for t in svg.xpath(".//text[@class='tick-right']")]
    assert len(right) == len(set(right)) > 1, right  # every tick of the time axis says something different
    last = svg.xpath(f".//g[@data-month='{month}']/rect/title")
    assert [t.text_content() for t in last] == [
        f"Văn bản gửi đi {month[5:]}/{month[:4]}: 3", f"Văn bản đến {month[5:]}/{month[:4]}: 1",
        f"Có báo nhận (01) {month[5:]}/{month[:4]}: 3"]
    assert len(svg.xpath(".//polyline[@class='line-median']")) == 1
    assert len(page.xpath("//table[@id='series']/tbody/tr")) == 12
    assert "<script" not in html and "style=" not in html

    # CSV: the same bytes as `axis report monthly --format csv --agency A`, and the download is audited.
    status, body, r = await clerk.get_bytes(f"/reports.csv?month={month}")
    assert status == 200 and r.headers["Content-Disposition"].startswith("attachment;")
    assert body == csv_text(COLUMNS, expected).encode()
    cli = await Cli(world.axis)("report", "monthly", "--month", month, "--format", "csv", "--agency", A)
    assert cli.exit_code == 0 and cli.stdout_bytes == body
    downloads = await world.audit("report.downloaded")
    assert [(e.actor, e.subject) for e in downloads] == [("user:vanthu.g22", month)]
    # A clerk cannot widen the scope by asking for another agency.
    _, body, _ = await clerk.get_bytes(f"/reports.csv?month={month}&agency={B}")
    assert [row["agency"] for row in csv.DictReader(io.StringIO(body.decode()))] == [A]

    # Archivists see every agency, with totals, and may narrow it to one.
    archivist = await browser_for(MOT)
    _, html, _ = await archivist.get(f"/reports?month={month}")
    page = tree(html)
    assert [r.get("data-agency") for r in page.xpath("//table[@id='monthly']/tbody/tr")] == [
        row["agency"] for row in everyone]
    assert page.xpath("//table[@id='monthly']/tfoot//td[@data-col='sent']")[0].text_content() == str(
        sum(row["sent"] for row in everyone))
    assert not page.xpath("//polyline")  # totals carry no receipt time
    _, html, _ = await archivist.get(f"/reports?month={month}&agency={B}")
    rows = tree(html).xpath("//table[@id='monthly']/tbody/tr")
    assert [r.get("data-agency") for r in rows] == [B]
    _, body, _ = await archivist.get_bytes(f"/reports.csv?month={month}")
    assert body == csv_text(COLUMNS, everyone).encode()

    # Bad input is reported, not a crash; English headings on request.
    status, html, _ = await clerk.get("/reports?month=2026-13")
    assert status == 200 and "Tháng không hợp lệ" in html
    assert (await clerk.get("/reports.csv?month=2026-13"))[0] == 400
    status, html, _ = await archivist.get("/reports?agency=999.99.99.Z99")
    assert status == 200 and "Không có cơ quan mã 999.99.99.Z99" in html
    await clerk.post("/language", {"csrf_token": await clerk.csrf(), "lang": "en"})
    _, html, _ = await clerk.get("/reports")
    assert "Median time to receipt" in html and "Delivered (signed 01)" in html


# --- statutory registers ----------------------------------------------------------------------------


async def test_register_pages_and_csv_match_the_archive_registers(
        world: World, browser_for, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first = await exchange(world, world.a, [world.b], "Về việc ban hành quy chế", type_abbreviation="QĐ",
                           notation="QĐ-VPCP")
    second = await exchange(world, world.a, [world.b, world.c], "Về việc góp ý dự thảo")
    year = vn_date(world.axis.ctx.clock()).year
    await seal_now(world.axis.ctx.sessions)  # register entries are numbered by the sealer
    async with world.axis.ctx.sessions() as session:
        incoming = await register_rows(session, B, "incoming", year)
        outgoing = await register_rows(session, A, "outgoing", year)
    assert [r["message_id"] for r in incoming] == [first["id"], second["id"]]

    clerk = await browser_for("vanthu.h29")
    status, html, _ = await clerk.get("/registers/incoming")
    assert status == 200
    page = tree(html)
    assert page.xpath("//h1")[0].text_content() == f"Sổ đăng ký văn bản đến năm {year}"
    heads = [th.text_content() for th in page.xpath("//table[@id='register']/thead//th")]
    assert heads == ["Ngày đến", "Số đến", "Tác giả", "Số, ký hiệu", "Ngày tháng văn bản",
                     "Tên loại và trích yếu nội dung", "Đơn vị hoặc người nhận", "Ghi chú"]
    rows = page.xpath("//table[@id='register']/tbody/tr")
    for row, expected in zip(rows, incoming, strict=True):
        texts = [td.text_content().strip() for td in row.xpath("./td")]
        # The same entries, their dates written the Vietnamese way (the CSV keeps ISO dates).
        assert texts == [day_vi(expected[c]) if c in ("arrival_date", "date") else str(expected[c])
                         for c in ("arrival_date", "arrival_number", "author", "number_and_symbol",
                                   "date", "type_and_summary", "receiving_unit", "notes")]
        assert row.get("data-id") == expected["message_id"]

    # The CSV export is byte-identical to `axis register incoming --format csv` for the same agency and year.
    status, body, r = await clerk.get_bytes(f"/registers/incoming.csv?year={year}")
    assert status == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert body == csv_text(register_columns("incoming"), incoming).encode()
    cli = await Cli(world.axis)("register", "incoming", "--agency", B, "--year", year, "--format", "csv")
    assert cli.exit_code == 0 and cli.stdout_bytes == body
    downloads = await world.audit("register.downloaded")
    assert [(e.actor, e.subject) for e in downloads] == [("user:vanthu.h29", B)]

    # The sender's outgoing register, paged.
    monkeypatch.setattr(axis.web.registers, "PAGE_SIZE", 1)
    sender = await browser_for("vanthu.g22")
    _, html, _ = await sender.get(f"/registers/outgoing?year={year}")
    page = tree(html)
    assert [r.get("data-number") for r in page.xpath("//table[@id='register']/tbody/tr")] == ["1"]
    assert "Trang 1/2" in html
    _, html, _ = await sender.get(f"/registers/outgoing?year={year}&page=2")
    row = tree(html).xpath("//table[@id='register']/tbody/tr")[0]
    assert [td.text_content().strip() for td in row.xpath("./td")] == [
        day_vi(outgoing[1][c]) if c in ("date", "sent_date") else str(outgoing[1][c])
        for c in ("number", "number_and_symbol", "date", "type_and_summary", "recipients", "copies", "sent_date",
                  "notes")]
    _, body, _ = await sender.get_bytes(f"/registers/outgoing.csv?year={year}")
    assert body == csv_text(register_columns("outgoing"), outgoing).encode()

    # Every agency sees only its own registers; other years and bad years are handled.
    outsider = await browser_for("vanthu.h41")
    _, html, _ = await outsider.get("/registers/incoming")
    assert [r.get("data-id") for r in tree(html).xpath("//table[@id='register']/tbody/tr")] == [second["id"]]
    _, html, _ = await outsider.get("/registers/outgoing")
    assert 'id="empty"' in html and first["id"] not in html
    _, html, _ = await clerk.get("/registers/incoming?year=2001")
    assert 'id="empty"' in html
    status, html, _ = await clerk.get("/registers/incoming?year=20x6")
    assert status == 200 and "Năm không hợp lệ" in html
    assert (await clerk.get("/registers/incoming.csv?year=20x6"))[0] == 400
    assert (await clerk.get("/registers/sideways"))[0] == 404


# --- disposal ------------------------------------------------------------------------------------


async def test_clerks_are_forbidden_every_archive_page_and_action(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    clerk = await browser_for("vanthu.h29")
    for path in ("/archive/disposals", "/archive/disposals/1", "/archive/disposals/1/certificate", "/archive/due",
                 "/archive/holds"):
        status, html, _ = await clerk.get(path)
        assert status == 403 and "không có quyền" in html, path
    token = await clerk.csrf()
    for path in ("/archive/disposals", "/archive/disposals/1/approve", "/archive/disposals/1/execute",
                 "/archive/holds", "/archive/holds/1/release"):
        status, _, _ = await clerk.post(path, {"csrf_token": token, "name": "x", "authority": "y", "reason": "z",
                                               "documents": "x"})
        assert status == 403, path
    _, html, _ = await clerk.get("/inbox")
    assert 'href="/archive/disposals"' not in html and 'href="/registers/incoming"' in html


async def _approve(browser: Any, disposal_id: int) -> tuple[int, str]:
    token = await form_token(browser, f"/archive/disposals/{disposal_id}")
    status, html, r = await browser.post(f"/archive/disposals/{disposal_id}/approve", {"csrf_token": token})
    return status, (r.headers.get("Location", "") if status == 303 else html)


async def _execute(browser: Any, disposal_id: int) -> tuple[int, str]:
    token = await form_token(browser, f"/archive/disposals/{disposal_id}")
    status, html, r = await browser.post(f"/archive/disposals/{disposal_id}/execute", {"csrf_token": token})
    return status, (r.headers.get("Location", "") if status == 303 else html)


async def test_two_archivists_approve_and_execute_a_disposal_list_held_documents_are_left_alone(
        world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    ctx = world.axis.ctx
    await world.add_user(MOT, A, "archivist")
    await world.add_user(HAI, B, "archivist")
    await world.add_user("vanhanh", ctx.settings.axis_code, "operator")
    sent = {key: await exchange(world, world.a, [world.b], subject, promulgation_date=OLD)
            for key, subject in (("d1", "Về việc năm 2010 số một"), ("d2", "Về việc năm 2010 số hai"),
                                 ("held", "Về việc vụ án năm 2010"), ("later", "Về việc dự án cầu Thủ Thiêm"))}
    ids = {k: v["id"] for k, v in sent.items()}
    mot, hai = await browser_for(MOT), await browser_for(HAI)

    # A hold on one document, placed from the holds page.
    token = await form_token(mot, "/archive/holds")
    status, _, r = await mot.post("/archive/holds", {
        "csrf_token": token, "name": "Vụ án 12/2026", "authority": "TAND TP Hà Nội", "reason": "Chứng cứ vụ án",
        "documents": f"{ids['held']}\n"})
    assert status == 303 and r.headers["Location"] == "/archive/holds?placed=1"
    _, html, _ = await mot.get("/archive/holds")
    assert "Vụ án 12/2026" in html and "1 tài liệu" in html
    # Incomplete or wrong holds are refused with a reason, nothing placed.
    status, html, _ = await mot.post("/archive/holds", {"csrf_token": token, "name": "x", "authority": "",
                                                        "reason": "z", "documents": ids["d1"]})
    assert status == 400 and "a hold needs a name, an authority and a reason" in html
    status, html, _ = await mot.post("/archive/holds", {"csrf_token": token, "name": "x", "authority": "y",
                                                        "reason": "z", "documents": "01J00000000000000000000000"})
    assert status == 400 and "Không có văn bản lưu trữ 01J00000000000000000000000" in html  # the page's language

    # The dry run: four due, one held; proposing puts the three unheld ones on list 1.
    _, html, _ = await mot.get("/archive/due")
    page = tree(html)
    due = {r.get("data-id"): r.get("data-held") for r in page.xpath("//table[@id='due']/tbody/tr")}
    assert due == {ids["d1"]: "false", ids["d2"]: "false", ids["held"]: "true", ids["later"]: "false"}
    assert "4 tài liệu thuộc diện hủy (1 đang bị tạm giữ)" in html
    status, _, r = await mot.post("/archive/disposals", {"csrf_token": await form_token(mot, "/archive/due")})
    assert status == 303 and r.headers["Location"] == "/archive/disposals/1?done=proposed"
    _, html, _ = await mot.get("/archive/disposals/1")
    page = tree(html)
    items = {r.get("data-id") for r in page.xpath("//table[@id='items']/tbody/tr")}
    assert items == {ids["d1"], ids["d2"], ids["later"]}
    for key in ("d1", "d2", "later"):
        assert sent[key]["sha256"] in html  # each item with its digest
    assert "CV-10" in html and "Thông tư 10/2022/TT-BNV" in page.xpath("//section[@id='schedules']")[0].text_content()
    # Nothing left to propose now.
    status, _, r = await mot.post("/archive/disposals", {"csrf_token": await form_token(mot, "/archive/due")})
    assert status == 303 and r.headers["Location"] == "/archive/due?nothing=1"

    # After the proposal, a hold on a saved search catches one of the listed documents.
    status, _, _ = await hai.post("/archive/holds", {
        "csrf_token": await form_token(hai, "/archive/holds"), "name": "Thanh tra dự án", "authority":
        "Thanh tra Chính phủ", "reason": "Thanh tra dự án cầu", "text": "Thủ Thiêm"})
    assert status == 303

    # One archivist approves; the page says who. Executing now, or approving twice, is refused.
    status, where = await _approve(mot, 1)
    assert status == 303 and where == "/archive/disposals/1?done=approved"
    _, html, _ = await mot.get("/archive/disposals/1")
    page = tree(html)
    assert [r.get("data-login") for r in page.xpath("//table[@id='approvers']/tbody/tr")] == [MOT]
    assert not page.xpath("//form[@id='approve-form']") and not page.xpath("//form[@id='execute-form']")
    assert page.xpath("//*[@id='you-approved']")
    status, html = await _execute(mot, 1)
    assert status == 409 and "two different archivists" in html
    status, html = await _approve(mot, 1)
    assert status == 409 and "already approved" in html
    assert all([await ctx.payloads.exists(v["sha256"]) for v in sent.values()])

    # Operators may look but not act.
    operator = await browser_for("vanhanh")
    status, html, _ = await operator.get("/archive/disposals/1")
    assert status == 200 and MOT in html and 'id="approve-form"' not in html and 'id="read-only"' in html
    status, _, _ = await operator.post("/archive/disposals/1/approve", {"csrf_token": await operator.csrf()})
    assert status == 403

    # A second, different archivist approves and executes.
    status, _ = await _approve(hai, 1)
    assert status == 303
    _, html, _ = await hai.get("/archive/disposals/1")
    page = tree(html)
    assert [r.get("data-login") for r in page.xpath("//table[@id='approvers']/tbody/tr")] == [MOT, HAI]
    assert page.xpath("//form[@id='execute-form']")
    status, where = await _execute(hai, 1)
    assert status == 303 and where == "/archive/disposals/1?done=executed"
    _, html, _ = await hai.get(where)
    page = tree(html)
    outcomes = {r.get("data-id"): r.get("data-outcome") for r in page.xpath("//table[@id='items']/tbody/tr")}
    assert outcomes == {ids["d1"]: "destroyed", ids["d2"]: "destroyed", ids["later"]: "held"}
    assert "hủy 2 tài liệu, giữ lại 1" in html
    assert page.xpath("//*[@id='disposal-state']")[0].get("data-state") == "executed"
    assert (await _execute(hai, 1))[0] == 409

    # Payloads gone, held ones kept; the API answers 410 for what was destroyed.
    assert [await ctx.payloads.exists(sent[k]["sha256"]) for k in ("d1", "d2", "held", "later")] == [
        False, False, True, True]
    async with aiohttp.ClientSession() as http:
        for key, expected in (("d1", 410), ("held", 200), ("later", 200)):
            async with http.get(f"{world.url}/api/v1/messages/{ids[key]}",
                                headers={"Authorization": f"Bearer {world.b.token}"}) as r:
                assert r.status == expected, key
                if expected == 410:
                    assert (await r.json(content_type=None))["code"] == "AXIS.Disposed"

    # The certificate: the stored signed XML, byte for byte, verifying with the axis certificate.
    status, body, r = await hai.get_bytes("/archive/disposals/1/certificate")
    assert status == 200 and r.headers["Content-Disposition"].startswith("attachment;")
    async with ctx.sessions() as session:
        stored = await certificate_of(session, ctx.payloads, 1)
    assert body == stored
    signed = verify_record(body, ctx.axis_certificate, root_tag=CERTIFICATE_TAG)
    listed = {e.text for e in signed.iter(f"{{{CERTIFICATE_NS}}}MessageId")}
    assert listed == {ids["d1"], ids["d2"]}
    assert {e.text for e in signed.iter(f"{{{CERTIFICATE_NS}}}Login")} == {MOT, HAI}
    assert (await operator.get_bytes("/archive/disposals/1/certificate"))[1] == stored
    assert (await hai.get("/archive/disposals/2/certificate"))[0] == 404

    # The recipient's clerk sees the disposal on the document page; payload downloads are gone.
    clerk = await browser_for("vanthu.h29")
    status, html, _ = await clerk.get(f"/documents/{ids['d1']}")
    assert status == 200 and 'data-state="disposed"' in html and "danh sách hủy số 1" in html
    for suffix in ("/edxml", "/attachments/1"):
        status, html, _ = await clerk.get(f"/documents/{ids['d1']}{suffix}")
        assert status == 410 and "đã bị hủy" in html
    status, html, _ = await clerk.get(f"/documents/{ids['held']}")
    assert status == 200 and "Vụ án 12/2026" in html and 'data-state="kept"' in html

    # Every step is audited exactly once, by the backend, under the archivists' names.
    events = [(e.action, e.actor) for e in await _audit_like(world, ("hold.", "disposal."))]
    assert events == [("hold.placed", MOT), ("disposal.proposed", MOT), ("hold.placed", HAI),
                      ("disposal.approved", MOT), ("disposal.approved", HAI), ("disposal.executed", HAI),
                      ("disposal.certificate_downloaded", f"user:{HAI}"),
                      ("disposal.certificate_downloaded", "user:vanhanh")]

    # Releasing the first hold takes two archivists: one asks, another confirms; it then shows who released it.
    status, _, r = await mot.post("/archive/holds/1/release", {"csrf_token": await form_token(mot, "/archive/holds")})
    assert status == 303 and r.headers["Location"] == "/archive/holds?requested=1"
    status, html, _ = await mot.post("/archive/holds/1/release", {"csrf_token": await form_token(mot, "/archive/holds")})
    assert status == 409 and "a second, different archivist must confirm" in html
    status, _, r = await hai.post("/archive/holds/1/release", {"csrf_token": await form_token(hai, "/archive/holds")})
    assert status == 303 and r.headers["Location"] == "/archive/holds?released=1"
    status, html, _ = await mot.post("/archive/holds/1/release", {"csrf_token": await form_token(mot, "/archive/holds")})
    assert status == 409 and "already released" in html
    _, html, _ = await mot.get("/archive/holds?all=1")
    assert f"Gỡ bởi {HAI}" in html
    assert [e.actor for e in await world.audit("hold.release_requested")] == [MOT]
    assert [e.actor for e in await world.audit("hold.released")] == [HAI]


async def _audit_like(world: World, prefixes: tuple[str, ...]) -> list[Any]:
    """Audit entries whose action starts with one of ``prefixes``, oldest first."""
    async with world.axis.ctx.sessions() as session:
        return list((await session.execute(
            select(AuditEvent).where(or_(*(AuditEvent.action.startswith(p) for p in prefixes)))
            .order_by(AuditEvent.id))).scalars())


# --- the document page ----------------------------------------------------------------------------


async def test_document_page_shows_schedule_due_date_holds_and_revocation(world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    letter = await exchange(world, world.a, [world.b], "Về việc lịch công tác", promulgation_date=date(2026, 11, 20))
    decision = await exchange(world, world.a, [world.b], "Quyết định ban hành quy chế", type_abbreviation="QĐ",
                              notation="QĐ-VPCP")
    clerk = await browser_for("vanthu.h29")
    status, html, _ = await clerk.get(f"/documents/{letter['id']}")
    section = tree(html).xpath("//section[@id='retention']")[0]
    text = section.text_content()
    assert status == 200 and "CV-10" in text and "10 năm" in text and "Từ ngày văn bản" in text
    assert section.xpath(".//*[@id='retention-due']")[0].text_content() == "20/11/2036"
    assert "Không có" in section.xpath(".//*[@id='retention-holds']")[0].text_content()
    assert section.xpath(".//*[@data-state='kept']") and not section.xpath(".//*[@data-state='revoked']")
    _, html, _ = await clerk.get(f"/documents/{decision['id']}")
    section = tree(html).xpath("//section[@id='retention']")[0]
    assert "Vĩnh viễn" in section.text_content()
    assert section.xpath(".//*[@id='retention-due']")[0].text_content() == "Không hết hạn"

    await world.add_user(MOT, A, "archivist")
    async with world.axis.ctx.sessions() as session, session.begin():
        await place_hold(session, name="Thanh tra 2026", authority="Thanh tra Bộ", reason="Thanh tra",
                         by=MOT, now=world.axis.ctx.clock(), search={"sender": A})
        (await session.get(Message, letter["id"])).revoked_at = world.axis.ctx.clock()  # type: ignore[union-attr]
    _, html, _ = await clerk.get(f"/documents/{letter['id']}")
    section = tree(html).xpath("//section[@id='retention']")[0]
    assert "Thanh tra 2026" in section.xpath(".//*[@id='retention-holds']")[0].text_content()
    assert section.xpath(".//*[@data-state='revoked']")
    await clerk.post("/language", {"csrf_token": await clerk.csrf(), "lang": "en"})
    _, html, _ = await clerk.get(f"/documents/{letter['id']}")
    assert "Retention" in html and "2036-11-20" in html and "From the document date" in html


# --- in a real browser ----------------------------------------------------------------------------


def _month_start(month: str) -> datetime:
    year, mon = (int(x) for x in month.split("-"))
    return datetime(year, mon, 10, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam


@pytest.fixture
async def aged_world(tmp_path: Path, db_template, test_ca, identities) -> Any:  # type: ignore[no-untyped-def]
    """A world whose clock the test drives, starting now."""
    clock = TestClock(datetime.now(UTC).replace(microsecond=0))
    async for w in start_world(tmp_path, db_template, test_ca, identities, clock=clock):
        yield w, clock


async def test_archivist_reads_the_reports_chart_and_approves_a_disposal_list(  # type: ignore[no-untyped-def]
        aged_world, new_page, screenshots) -> None:
    world, clock = aged_world
    g14 = await world.axis.register("000.00.00.G14")
    # A year of traffic: month by month, more documents and slower receipts as the year goes on.
    first = month_of(clock())
    for k in range(12):
        if k:
            clock.set(_month_start(shift_month(first, k)))
        for n in range(4 + (k * 5) % 7):
            sender, to = ((world.a, [world.b]) if n % 3 else (g14, [world.a, world.c]))
            doc, signed = sender.document(to, subject=f"Về việc báo cáo tháng {k + 1} số {n + 1}")
            async with sender.client() as client:
                reply = await client.submit(signed)
            if n % 4 != 3:
                clock.advance(minutes=12 + 9 * k + n)
                for r in to:
                    async with r.client() as rc:
                        await rc.fetch(reply["id"])
                        await rc.post_status(r.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    last = month_of(clock())
    for n in range(3):
        await exchange(world, world.a, [world.b], f"Về việc lưu trữ năm 2010 số {n + 1}", promulgation_date=OLD)
    await world.add_user(MOT, A, "archivist")
    await world.add_user(HAI, B, "archivist")
    async with world.axis.ctx.sessions() as session, session.begin():
        schedules = load_schedules(world.axis.ctx.settings.retention_path)
        proposal = await propose_disposal(session, schedules, by=MOT, today=vn_date(clock()), now=clock())
        assert proposal is not None
        await approve_disposal(session, proposal.id, by=MOT, now=clock())

    page = await new_page()
    answer = await login(page, world, HAI)
    assert answer.status == 303
    await page.click("nav.main-nav a[href='/reports']")
    await page.wait_for_url("**/reports")
    await page.select_option("#r-agency", A)
    await page.click("#report-filters button[type=submit]")
    # The month field is typed the page's way (12/2026 on a Vietnamese page), never the browser's picker.
    vi_month = f"{last[5:]}%2F{last[:4]}"
    await page.wait_for_url(lambda url: url.endswith(f"/reports?month={vi_month}&agency={A}"))
    chart = page.locator("#throughput-chart")
    assert await chart.is_visible()
    assert await chart.locator("g.chart-month").count() == 12
    assert await chart.locator("polyline.line-median").count() >= 1
    assert "Lưu lượng văn bản 12 tháng" in (await chart.locator("title").first.text_content() or "")
    await screenshot(page, screenshots, "reports.png")

    # To the archive: the list MOT proposed and approved; HAI approves it, then executes it.
    await page.click("nav.main-nav a[href='/archive/disposals']")
    await page.wait_for_url("**/archive/disposals")
    await page.click(f"#disposals tr[data-id='{proposal.id}'] a")
    await page.wait_for_url(f"**/archive/disposals/{proposal.id}")
    assert await page.locator("#approvers tr[data-login]").count() == 1
    assert await page.locator("#execute").count() == 0
    await page.click("#approve")
    await page.wait_for_selector("#done")
    logins = await page.locator("#approvers tr[data-login]").evaluate_all("rows => rows.map(r => r.dataset.login)")
    assert logins == [MOT, HAI]
    await page.click("#execute")
    await page.wait_for_url("**done=executed")
    assert await page.get_attribute("#disposal-state", "data-state") == "executed"
    assert await page.locator("#items tr[data-outcome='destroyed']").count() == 3
    async with page.expect_download() as info:
        await page.click("#certificate")
    data = Path(await (await info.value).path()).read_bytes()
    verify_record(data, world.axis.ctx.axis_certificate, root_tag=CERTIFICATE_TAG)


async def test_a_saved_search_hold_reads_its_dates_day_first_never_as_the_browser_orders_them(
        world: World, browser_for) -> None:  # type: ignore[no-untyped-def]
    await world.add_user(MOT, A, "archivist")
    mot = await browser_for(MOT)
    token = await form_token(mot, "/archive/holds")
    _, html, _ = await mot.get("/archive/holds")
    # Plain text fields with the day-first hint, not the browser's date picker (mm/dd/yyyy in an en-US browser).
    fields = tree(html).xpath("//input[@name='date_from' or @name='date_to']")
    assert [(f.get("type"), f.get("placeholder")) for f in fields] == [("text", "nn/tt/nnnn")] * 2
    hold = {"csrf_token": token, "name": "Thanh tra 2026", "authority": "Thanh tra Chính phủ",
            "reason": "Thanh tra", "sender": A}
    status, _, _ = await mot.post("/archive/holds", {**hold, "date_from": "03/11/2026", "date_to": "2026-11-30"})
    assert status == 303
    async with world.axis.ctx.sessions() as session:
        query = json.loads((await session.execute(select(LegalHold.query))).scalar_one())
    assert (query["date_from"], query["date_to"]) == ("2026-11-03", "2026-11-30")
    # Month first is no date: refused, naming the field, nothing placed.
    status, html, _ = await mot.post("/archive/holds", {**hold, "name": "x", "date_to": "12/31/2026"})
    assert status == 400 and "date_to" in html
    async with world.axis.ctx.sessions() as session:
        assert len((await session.execute(select(LegalHold.id))).all()) == 1
