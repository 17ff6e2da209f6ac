"""Free text has limits: each edXML field, the non-attachment part of a streamed message, large passes at once.

A 200 MB body with a 190 MB Subject used to be copied several times per request and then ride in
every inbox poll. Each field is now capped (envelope.limits; 400 ``AXIS.Validation`` naming it,
nothing stored), a streamed message may hold only so much besides its attachments' base64 (413), and
only ``large_body_concurrency`` streamed passes run at once. Every case runs with bodies held in
memory and with every body streamed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from axis.agency.client import compose_status, sign_message
from axis.exchange import submission as submission_module
from envelope.builder import build_status
from envelope.codes import StatusCode
from envelope.errors import InvalidEnvelope
from envelope.limits import DEFAULT_FIELD_LIMIT, FIELD_LIMITS, MAX_NON_ATTACHMENT_CHARS, check_field_lengths
from envelope.model import Attachment, DocumentMessage, Organization, SignerInfo
from envelope.xml import parse_xml
from signing.keys import DevelopmentCA, IssuedIdentity
from signing.signer import sign_envelope
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Agent, Harness, server_settings, start_server

A, B = "000.00.00.G22", "000.00.00.H29"
DOCUMENTS, STATUSES = "/api/v1/documents", "/api/v1/statuses"
#: Bodies held in memory (the default threshold), or every body streamed.
SPOOL = {"in_memory": 4 * 1024 * 1024, "streamed": 0}
SUBJECT, CONTENT = FIELD_LIMITS["Subject"], FIELD_LIMITS["Content"]


@pytest.fixture(params=list(SPOOL))
async def axis(request: pytest.FixtureRequest, tmp_path: Path, db_template: DatabaseTemplate,
               test_ca: DevelopmentCA, identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, spool_threshold_bytes=SPOOL[request.param])
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


def _signed(sender: Agent, doc: DocumentMessage) -> bytes:
    return sign_message(doc, sender.identity.key, sender.identity.certificate)


def _doc(a: Agent, b: Agent, **changes: Any) -> DocumentMessage:
    doc, _ = a.document([b])
    return replace(doc, **changes)


#: (case, the field path the answer names, how to make the document from A to B).
OVER: list[tuple[str, str, Callable[[Agent, Agent], DocumentMessage]]] = [
    ("subject", "MessageHeader/Subject", lambda a, b: _doc(a, b, subject="Về việc " + "x" * SUBJECT)),
    ("content", "MessageHeader/Content", lambda a, b: _doc(a, b, content="Nội dung " * (CONTENT // 9 + 1))),
    ("recipient_name", "MessageHeader/To/OrganName", lambda a, b: _doc(
        a, b, to=(Organization(organ_id=b.code, organ_name="Ủ" * (DEFAULT_FIELD_LIMIT + 1)),))),
    ("signer_name", "MessageHeader/SignerInfo/FullName", lambda a, b: _doc(
        a, b, signer=SignerInfo("Thủ trưởng", "Chánh Văn phòng", "Nguyễn Văn A" * 100))),
    # Named where it first appears: the manifest's copy of the attachment's description.
    ("attachment_description", "edXMLBody/edXMLManifest/Reference/Description", lambda a, b: _doc(
        a, b, attachments=(Attachment("cid:1", "a.pdf", "application/pdf", b"%PDF-1.4 x",
                                      description="m" * (FIELD_LIMITS["Description"] + 1)),))),
]


@pytest.mark.parametrize("case", [c for c, _, _ in OVER])
async def test_a_field_over_its_limit_is_refused_naming_it_and_nothing_is_stored(axis: Harness, case: str) -> None:
    field, make = next((f, m) for c, f, m in OVER if c == case)
    a, b = await axis.register(A), await axis.register(B)
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=_signed(a, make(a, b)))
    problem = assert_problem(reply, 400, "AXIS.Validation")
    assert problem["field"] == field, problem
    assert field in problem["detail"] and "at most" in problem["detail"]
    await assert_nothing_stored(axis, before)


async def test_a_status_description_over_its_limit_is_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    before = await snapshot(axis)
    status = compose_status(sender=b.organization, document=doc, code=StatusCode.REFUSED,
                            description="Sai thẩm quyền. " * (FIELD_LIMITS["Description"] // 16 + 1))
    reply = await call(axis, "POST", STATUSES, token=b,
                       data=sign_envelope(build_status(status), b.identity.key, b.identity.certificate))
    assert assert_problem(reply, 400, "AXIS.Validation")["field"] == "MessageHeader/Description"
    await assert_nothing_stored(axis, before)


async def test_fields_at_their_limit_are_accepted(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    doc = _doc(a, b, subject="S" * SUBJECT, content="C" * CONTENT)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=_signed(a, doc))
    assert reply.status == 202, reply.body[:300]
    inbox = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()["items"]
    assert [len(i["subject"]) for i in inbox] == [SUBJECT]


async def test_a_streamed_message_with_a_huge_non_attachment_part_is_refused(axis: Harness) -> None:
    """An unsigned comment does not break the signature (c14n drops it), so only a bound on what is kept stops it."""
    a, b = await axis.register(A), await axis.register(B)
    _, signed = a.document([b])
    padding = b"<!--" + b"x" * (MAX_NON_ATTACHMENT_CHARS + 1) + b"-->"
    huge = signed.replace(b"</edXML:MessageHeader>", b"</edXML:MessageHeader>" + padding, 1)
    assert len(huge) > len(signed) + MAX_NON_ATTACHMENT_CHARS
    before = await snapshot(axis)
    # Larger than the default spool threshold too, so it is streamed on both servers.
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=huge)
    problem = assert_problem(reply, 413, "AXIS.SizeLimitExceeded")
    assert "without its attachments" in problem["detail"]
    await assert_nothing_stored(axis, before)


async def test_only_so_many_large_bodies_are_streamed_at_once(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity], monkeypatch: pytest.MonkeyPatch) -> None:
    """Six large submissions at once with ``large_body_concurrency=2``: never more than two streamed passes."""
    running, most = 0, 0
    lock = threading.Lock()
    original = submission_module.read_signed_stream

    def counted(*args: Any, **kw: Any) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return original(*args, **kw)
        finally:
            with lock:
                running -= 1

    # A hook counting the passes (the real pass runs inside it).
    monkeypatch.setattr(submission_module, "read_signed_stream", counted)
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, spool_threshold_bytes=0, large_body_concurrency=2)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            a, b = await harness.register(A), await harness.register(B)
            bodies = [a.document([b], attachments=[Attachment("cid:1", "lon.bin", "application/octet-stream",
                                                              bytes([n]) * (3 << 20))])[1] for n in range(6)]
            replies = await asyncio.gather(*(call(harness, "POST", DOCUMENTS, token=a, data=body) for body in bodies))
        finally:
            await server.close()
    assert [r.status for r in replies] == [202] * 6
    assert 1 <= most <= 2, most


def test_a_field_split_by_comments_counts_whole_and_base64_text_is_not_a_field() -> None:
    """Comments do not reset the count (the parser reads the text around them as one field)."""
    ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    piece = "Về việc " * 100  # 800 characters
    split = (f'<edXML xmlns="{ns}"><edXMLEnvelope><edXMLHeader><MessageHeader><Subject>'
             f"{piece}<!--a-->{piece}<!--b-->{piece}</Subject></MessageHeader></edXMLHeader></edXMLEnvelope>"
             f"<AttachmentEncoded><Attachment><ContentTransferEncoded>{'QUJD' * 100_000}</ContentTransferEncoded>"
             "</Attachment></AttachmentEncoded></edXML>")
    with pytest.raises(InvalidEnvelope) as refused:
        check_field_lengths(parse_xml(split.encode()))
    assert refused.value.field == "MessageHeader/Subject" and "2400 characters" in str(refused.value)
    check_field_lengths(parse_xml(split.replace(f"<!--b-->{piece}", "").encode()))  # 1,600: within the limit
