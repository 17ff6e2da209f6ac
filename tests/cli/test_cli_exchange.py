"""send → inbox → fetch → status → trace → ack through the CLI, against a real `axis serve`."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from axis.agency.client import AxisClient
from axis.identity import KeyFiles, issue_agency_identity
from envelope.parser import parse_document
from signing.keys import certificate_pem
from storage.db import create_engine, session_factory
from storage.registry.agencies import register_agency
from tests.cli.conftest import Axis

SENDER = ("000.00.00.G01", "Cơ quan thử nghiệm gửi")
RECIPIENT = ("000.00.00.G02", "Cơ quan thử nghiệm nhận")


@dataclass
class Registered:
    """A registered agency as its clerk uses the CLI: token and development key files."""

    code: str
    token: str
    key: Path
    cert: Path

    def connection(self, axis: Axis) -> list[str]:
        return ["--server", axis.url, "--as", self.code, "--token", self.token]

    def signing(self) -> list[str]:
        return ["--key", str(self.key), "--cert", str(self.cert)]


@pytest.fixture(scope="module")
async def agencies(axis_server: Axis) -> tuple[Registered, Registered]:
    """Sender and recipient, registered in-process (`agency add` has its own tests) with pinned certificates."""
    out = axis_server.home / "agency-keys"
    engine = create_engine(axis_server.database_url)
    registered = []
    try:
        for code, name in (SENDER, RECIPIENT):
            ident = await asyncio.to_thread(issue_agency_identity, KeyFiles(axis_server.home / "keys"), code,
                                            name, out)
            async with session_factory(engine)() as session, session.begin():
                reg = await register_agency(session, code, name, certificate=certificate_pem(ident.certificate),
                                            actor="test")
            registered.append(Registered(code, reg.token, out / f"{code}.key.pem", out / f"{code}.cert.pem"))
    finally:
        await engine.dispose()
    return registered[0], registered[1]


async def test_sent_document_is_listed_fetched_byte_identical_and_receipted(
    axis_server: Axis, agencies: tuple[Registered, Registered], tmp_path: Path
) -> None:
    axis, (sender, recipient) = axis_server, agencies
    pdf = tmp_path / "tờ-trình.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% noi dung to trinh\n" * 50)
    note = tmp_path / "ghi-chú.txt"
    note.write_text("Nội dung tóm tắt: đề nghị phê duyệt.\n", encoding="utf-8")

    reply = axis.json("send", *sender.connection(axis), *sender.signing(), "--to", recipient.code,
                      "--subject", "Về việc phê duyệt kế hoạch chuyển đổi số", "--type", "TTr",
                      "--priority", "1", pdf, note, "--json")
    assert [r["organ_id"] for r in reply["recipients"]] == [recipient.code]
    message_id = reply["id"]
    assert reply["document_id"].startswith(f"{sender.code},")
    assert reply["document_id"].endswith("/TTr-G01")  # the default notation: TYPE-Xnn

    # The recipient's inbox lists it, as a table and as the API's JSON (here from AXIS_* variables).
    table = axis.run("inbox", *recipient.connection(axis)).stdout
    assert message_id in table and "Về việc phê duyệt kế hoạch chuyển đổi số" in table and "Urgent" in table
    page = axis.json("inbox", "--json", env={"AXIS_SERVER": axis.url, "AXIS_AS": recipient.code,
                                             "AXIS_TOKEN": recipient.token})
    item = next(i for i in page["items"] if i["id"] == message_id)
    assert item["kind"] == "edoc" and item["from"] == sender.code and item["sha256"] == reply["sha256"]

    # fetch -o writes exactly the bytes the axis holds and serves.
    target = tmp_path / "received.xml"
    axis.run("fetch", *recipient.connection(axis), message_id, "-o", target)
    fetched = target.read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == reply["sha256"] == item["sha256"]
    async with AxisClient(axis.url, sender.token) as client:
        assert await client.fetch(message_id) == fetched
    doc = parse_document(fetched)
    assert [(a.content_id, a.name, a.content_type) for a in doc.attachments] == [
        ("cid:1", "tờ-trình.pdf", "application/pdf"), ("cid:2", "ghi-chú.txt", "text/plain")]
    assert doc.attachments[0].data() == pdf.read_bytes()
    assert doc.document_type.type_name == "Tờ trình" and int(doc.priority) == 1

    # The recipient's signed 01 marks its copy delivered; the sender's trace shows it.
    status = axis.json("status", *recipient.connection(axis), *recipient.signing(), message_id, "01", "--json")
    assert status["kind"] == "status"
    trace = axis.json("trace", *sender.connection(axis), message_id, "--json")
    assert [(r["organ_id"], r["state"]) for r in trace["recipients"]] == [(recipient.code, "delivered")]
    assert [(e["status_code"], e["from"]) for e in trace["timeline"]] == [("01", recipient.code)]

    # The receipt waits in the sender's inbox until acknowledged.
    statuses = axis.json("inbox", *sender.connection(axis), "--kind", "status", "--json")["items"]
    receipt = next(s for s in statuses if s["response_for"] == message_id)
    assert receipt["status_code"] == "01"
    assert axis.json("ack", *sender.connection(axis), receipt["id"], "--json")["state"] == "delivered"
    async with AxisClient(axis.url, sender.token) as s, AxisClient(axis.url, recipient.token) as r:
        assert receipt["id"] not in [i["id"] for i in (await s.inbox())["items"]]
        assert message_id not in [i["id"] for i in (await r.inbox())["items"]]


def test_api_problems_exit_non_zero_with_their_code(
    axis_server: Axis, agencies: tuple[Registered, Registered], tmp_path: Path
) -> None:
    axis, (sender, _) = axis_server, agencies
    attachment = tmp_path / "cong-van.txt"
    attachment.write_text("Công văn thử\n", encoding="utf-8")
    proc = axis.run("send", *sender.connection(axis), *sender.signing(), "--to", "000.00.00.H99",
                    "--subject", "Gửi nhầm nơi", attachment, check=False)
    assert proc.returncode != 0
    assert "AXIS.UnknownRecipient" in proc.stderr and "000.00.00.H99" in proc.stderr
    assert proc.stdout == ""

    proc = axis.run("fetch", *sender.connection(axis), "0" * 26, "-o", tmp_path / "x.xml", check=False)
    assert proc.returncode != 0 and "AXIS.NotFound" in proc.stderr
    assert not (tmp_path / "x.xml").exists()


def test_commands_print_for_people_by_default_and_json_with_the_flag(
    axis_server: Axis, agencies: tuple[Registered, Registered], tmp_path: Path
) -> None:
    axis, (sender, recipient) = axis_server, agencies
    note = tmp_path / "thong-bao.txt"
    note.write_text("Thông báo lịch họp.\n", encoding="utf-8")
    sent = axis.run("send", *sender.connection(axis), *sender.signing(), "--to", recipient.code,
                    "--subject", "Thông báo lịch họp", note).stdout
    lines = sent.splitlines()
    # One summary line naming the message id, then the recipients; never the signed receipt's XML.
    assert lines[0].startswith("accepted document ") and " as message " in lines[0] and "1 recipient " in lines[0]
    message_id = lines[0].split(" as message ")[1].split()[0]
    assert len(message_id) == 26 and "<" not in sent and "Signature" not in sent
    assert lines[1].split() == ["RECIPIENT", "STATE"] and lines[2].split() == [recipient.code, "queued"]

    answered = axis.run("status", *recipient.connection(axis), *recipient.signing(), message_id, "01").stdout
    assert answered.startswith("accepted status 01 ") and "<" not in answered

    traced = axis.run("trace", *sender.connection(axis), message_id).stdout
    assert not traced.lstrip().startswith("{")  # not raw JSON
    assert f"message: {message_id}" in traced
    assert re.search(rf"^{re.escape(recipient.code)}\s+pull\s+delivered\s+", traced, re.M), traced
    assert re.search(rf"^01\s+.*{re.escape(recipient.code)}", traced, re.M), traced

    # The axis's own registry row says why it receives nothing, instead of a bare "disabled".
    listed = axis.run("agency", "list").stdout
    own = next(line for line in listed.splitlines() if line.startswith(axis.env.get("AXIS_AXIS_CODE", "000.00.00.A00")))
    assert "the axis itself" in own and "disabled" not in own
    assert listed.splitlines()[0].split()[:3] == ["CODE", "DELIVERY", "STATE"]
    assert any(a["state"] == "axis" for a in axis.json("agency", "list", "--json"))  # a machine value


async def test_fetch_inbox_takes_every_waiting_message_and_ack_takes_several_off(
    axis_server: Axis, agencies: tuple[Registered, Registered], tmp_path: Path
) -> None:
    axis, (sender, recipient) = axis_server, agencies
    note = tmp_path / "cong-van.txt"
    note.write_text("Công văn gửi kèm.\n", encoding="utf-8")
    ids = [axis.json("send", *sender.connection(axis), *sender.signing(), "--to", recipient.code,
                     "--subject", f"Công văn số {n}", "--number", f"90{n}", note, "--json")["id"] for n in (1, 2)]
    inbox_dir = tmp_path / "inbox"
    axis.run("fetch", *recipient.connection(axis), "--inbox", "--kind", "edoc", "-o", inbox_dir)
    async with AxisClient(axis.url, sender.token) as client:
        for message_id in ids:
            assert (inbox_dir / f"{message_id}.xml").read_bytes() == await client.fetch(message_id)
    for message_id in ids:
        axis.run("status", *recipient.connection(axis), *recipient.signing(), message_id, "01")
    statuses = [s["id"] for s in axis.json("inbox", *sender.connection(axis), "--kind", "status", "--json")["items"]
                if s.get("response_for") in ids]
    assert len(statuses) == 2
    proc = axis.run("ack", *sender.connection(axis), *statuses, "0" * 26, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == [f"message {s}: delivered" for s in statuses]
    assert lines[2].startswith(f"message {'0' * 26}: AXIS.NotFound")
    left = [s["id"] for s in axis.json("inbox", *sender.connection(axis), "--kind", "status", "--json")["items"]]
    assert not set(statuses) & set(left)
