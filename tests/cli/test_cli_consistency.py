"""The CLI as people type it: defaults, --json, unknown agencies, URLs without a scheme, plain values."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from envelope.builder import build_document
from envelope.codes import VN_TZ
from envelope.model import Attachment, DocumentCode, DocumentMessage, DocumentType, Organization, PromulgationInfo


def test_report_monthly_defaults_to_the_last_complete_month_takes_json_and_says_when_it_was_computed(axis_server) -> None:  # type: ignore[no-untyped-def]
    today = datetime.now(VN_TZ)
    last_month = f"{today.year - 1}-12" if today.month == 1 else f"{today.year}-{today.month - 1:02d}"
    axis_code = axis_server.env.get("AXIS_AXIS_CODE", "000.00.00.A00")
    rows = axis_server.json("report", "monthly", "--json", "--agency", axis_code)
    assert isinstance(rows, list) and rows and all(r["month"] == last_month for r in rows), rows
    this_month = today.strftime("%Y-%m")
    table = axis_server.run("report", "monthly", "--month", this_month, "--refresh").stdout
    assert re.search(rf"{this_month} computed at \d\d:\d\d:\d\d \d\d/\d\d/\d{{4}} \(Vietnam time\)", table), table
    assert "--refresh" in table


def test_messages_search_refuses_an_agency_that_does_not_exist(axis_server) -> None:  # type: ignore[no-untyped-def]
    for option in ("--sender", "--recipient"):
        done = axis_server.run("messages", "search", option, "000.00.00.Z99", check=False)
        assert done.returncode == 2 and "no agency 000.00.00.Z99 is registered" in done.stderr, done.stderr
        assert "no messages match" not in done.stdout


def test_a_server_without_a_scheme_is_plain_http(axis_server) -> None:  # type: ignore[no-untyped-def]
    bare = axis_server.url.removeprefix("http://")
    done = axis_server.run("inbox", "--server", bare, "--as", "000.00.00.G22", "--token", "axis_wrong", check=False)
    # The axis answered (the token is wrong): the address was understood.
    assert done.returncode == 1 and "AXIS.Unauthorized" in done.stderr, done.stderr
    odd = axis_server.run("inbox", "--server", "ftp://x", "--as", "000.00.00.G22", "--token", "t", check=False)
    assert odd.returncode == 2 and "http://" in odd.stderr


def test_envelope_show_prints_values_not_python_reprs(axis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = DocumentMessage.new(
        from_=Organization("000.00.00.G22", "Văn phòng Chính phủ"),
        to=[Organization("000.00.00.H41", "UBND tỉnh Nghệ An"), Organization("000.00.00.G14", "Bộ Tài chính")],
        code=DocumentCode("12", "VPCP-TH"), promulgation=PromulgationInfo("Hà Nội", date(2026, 11, 20)),
        document_type=DocumentType.from_abbreviation(""), subject="Về việc thử",
        attachments=[Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 x")],
    )
    path = tmp_path / "doc.xml"
    path.write_bytes(build_document(doc))
    out = axis_server.run("envelope", "show", path).stdout
    assert "[" not in out and "{" not in out and "'" not in out, out
    assert re.search(r"to: 000\.00\.00\.H41, 000\.00\.00\.G14$", out, re.M), out
    assert "cong-van.pdf (application/pdf, 10 bytes, sha256 " in out
