"""Every way a submission can be refused, over real HTTP: the right problem+json, and nothing stored.

The cases follow the order the pipeline checks them: body size, token, edXML
structure, message kind, signature, sender, recipients, repeat / DocumentId,
what a revoke or status refers to, and who may send which status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from envelope.builder import build_document
from envelope.codes import BusinessType, StatusCode
from envelope.model import Attachment, ResponseFor
from envelope.namespaces import EDXML_NS
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Agency, Message
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Agent, Harness, server_settings, start_server

A, B, C, D = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41", "000.00.00.G14"
UNREGISTERED = "000.00.00.G99"
DOCUMENTS, STATUSES = "/api/v1/documents", "/api/v1/statuses"
SMALL_LIMIT = 16 * 1024


async def _agencies(axis: Harness) -> tuple[Agent, Agent, Agent]:
    return await axis.register(A), await axis.register(B), await axis.register(C)


async def _set_active(axis: Harness, code: str, active: bool) -> None:
    async with axis.ctx.sessions() as session, session.begin():
        await session.execute(update(Agency).where(Agency.code == code).values(active=active))
    axis.ctx.registry.invalidate()  # changed behind the registry's back, as an operator's SQL would


async def _message_rows(axis: Harness) -> int:
    async with axis.ctx.sessions() as session:
        return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


def _big_attachment() -> list[Attachment]:
    # Base64 makes it about 27 KB on the wire: well over SMALL_LIMIT.
    return [Attachment("cid:1", "phu-luc.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 20_000)]


@pytest.fixture
async def small_axis(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                     identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """A running axis that accepts request bodies of at most SMALL_LIMIT bytes."""
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, max_message_bytes=SMALL_LIMIT)
        harness, server = await start_server(settings, test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


# --- 413: size is checked first, before the token and before parsing ----------------------------------------


async def test_body_over_the_size_limit_is_refused_with_413_and_nothing_stored(small_axis: Harness) -> None:
    a = await small_axis.register(A)
    b = await small_axis.register(B)
    _, big = a.document([b], attachments=_big_attachment())
    assert len(big) > SMALL_LIMIT
    before = await snapshot(small_axis)

    for path in (DOCUMENTS, STATUSES):
        reply = await call(small_axis, "POST", path, token=a, data=big)
        problem = assert_problem(reply, 413, "AXIS.SizeLimitExceeded")
        assert str(SMALL_LIMIT) in problem["detail"]

    # The size is refused before the token is even looked at.
    assert_problem(await call(small_axis, "POST", DOCUMENTS, data=big), 413, "AXIS.SizeLimitExceeded")
    await assert_nothing_stored(small_axis, before)


async def test_chunked_body_without_content_length_over_the_limit_is_refused_with_413_and_nothing_stored(
    small_axis: Harness,
) -> None:
    a = await small_axis.register(A)
    b = await small_axis.register(B)
    _, big = a.document([b], attachments=_big_attachment())
    before = await snapshot(small_axis)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    reply = await call(small_axis, "POST", DOCUMENTS, token=a, data=chunks())
    assert_problem(reply, 413, "AXIS.SizeLimitExceeded")
    await assert_nothing_stored(small_axis, before)


async def test_document_under_the_size_limit_is_accepted_on_a_small_limit_server(small_axis: Harness) -> None:
    a = await small_axis.register(A)
    b = await small_axis.register(B)
    _, signed = a.document([b])
    assert len(signed) < SMALL_LIMIT
    reply = await call(small_axis, "POST", DOCUMENTS, token=a, data=signed)
    assert reply.status == 202, reply.body


# --- 401 / 403: who is calling ------------------------------------------------------------------------------


async def test_submission_without_token_is_refused_with_401_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    before = await snapshot(axis)
    for path in (DOCUMENTS, STATUSES):
        reply = await call(axis, "POST", path, data=signed)
        assert_problem(reply, 401, "AXIS.Unauthorized")
        assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
    await assert_nothing_stored(axis, before)


@pytest.mark.parametrize(
    "header",
    ["Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Bearer", "Bearer    ", "Token abc", "bearer-abc", "Bearer\tabc"],
)
async def test_submission_with_malformed_authorization_header_is_refused_with_401_and_nothing_stored(
    axis: Harness, header: str
) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, data=signed, headers={"Authorization": header})
    assert_problem(reply, 401, "AXIS.Unauthorized")
    await assert_nothing_stored(axis, before)


async def test_submission_with_wrong_token_is_refused_with_401_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    before = await snapshot(axis)
    for token in ("not-a-real-token", a.token + "x", a.token[:-1], b.token.upper()):
        reply = await call(axis, "POST", DOCUMENTS, token=token, data=signed)
        assert_problem(reply, 401, "AXIS.Unauthorized")
    await assert_nothing_stored(axis, before)


async def test_disabled_agency_token_is_refused_with_403_forbidden_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    await _set_active(axis, A, False)
    before = await snapshot(axis)
    for path, body in ((DOCUMENTS, signed), (STATUSES, b.status(doc, StatusCode.ARRIVED))):
        reply = await call(axis, "POST", path, token=a, data=body)
        problem = assert_problem(reply, 403, "AXIS.Forbidden")
        assert A in problem["detail"]
    assert_problem(await call(axis, "GET", "/api/v1/inbox", token=a), 403, "AXIS.Forbidden")
    await assert_nothing_stored(axis, before)


# --- 400: not edXML ---------------------------------------------------------------------------------------


async def test_empty_body_is_refused_as_validation_and_nothing_stored(axis: Harness) -> None:
    a, _, _ = await _agencies(axis)
    before = await snapshot(axis)
    for path in (DOCUMENTS, STATUSES):
        assert_problem(await call(axis, "POST", path, token=a, data=b""), 400, "AXIS.Validation")
    await assert_nothing_stored(axis, before)


async def test_malformed_xml_is_refused_as_validation_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    before = await snapshot(axis)
    for garbage in (signed[: len(signed) // 2], b"this is not xml", b"<edXML><unclosed></edXML>", b"\xff\xfe\x00<"):
        for path in (DOCUMENTS, STATUSES):
            reply = await call(axis, "POST", path, token=a, data=garbage)
            assert_problem(reply, 400, "AXIS.Validation")
    await assert_nothing_stored(axis, before)


XXE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML xmlns="{EDXML_NS}">&xxe;</edXML>""".encode()

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<edXML xmlns="{EDXML_NS}">&lol3;</edXML>""".encode()


async def test_xxe_and_dtd_are_refused_as_validation_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    # A DTD slipped in after a long comment, past any quick look at the first bytes.
    head, rest = signed.split(b"\n", 1)
    late_dtd = head + b"\n<!--" + b" " * 8192 + b"-->\n<!DOCTYPE edXML [<!ENTITY e \"x\">]>\n" + rest
    before = await snapshot(axis)
    for hostile in (XXE, BILLION_LAUGHS, late_dtd):
        for path in (DOCUMENTS, STATUSES):
            reply = await call(axis, "POST", path, token=a, data=hostile)
            problem = assert_problem(reply, 400, "AXIS.Validation")
            assert "passwd" not in json.dumps(problem) and "root:" not in json.dumps(problem)
    await assert_nothing_stored(axis, before)


async def test_wrong_namespace_is_refused_as_validation_naming_the_root_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    foreign = signed.replace(EDXML_NS.encode(), b"urn:example:not-edxml")
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=foreign)
    problem = assert_problem(reply, 400, "AXIS.Validation")
    assert problem["field"] == "edXML"
    await assert_nothing_stored(axis, before)


async def test_missing_required_field_is_refused_as_validation_naming_the_field_and_nothing_stored(
    axis: Harness,
) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b], subject="Về việc thiếu trích yếu")
    subject = f"<edXML:Subject>{doc.subject}</edXML:Subject>".encode()
    assert subject in signed
    document_id = f"<edXML:DocumentId>{doc.document_id}</edXML:DocumentId>".encode()
    before = await snapshot(axis)

    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed.replace(subject, b""))
    assert assert_problem(reply, 400, "AXIS.Validation")["field"] == "MessageHeader/Subject"
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed.replace(document_id, b""))
    assert assert_problem(reply, 400, "AXIS.Validation")["field"] == "MessageHeader/DocumentId"
    await assert_nothing_stored(axis, before)


async def test_status_posted_to_documents_is_refused_as_validation_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=b, data=b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
    problem = assert_problem(reply, 400, "AXIS.Validation")
    assert "statuses" in problem["detail"] and problem["field"] == "StatusCode"
    await assert_nothing_stored(axis, before)


async def test_document_posted_to_statuses_is_refused_as_validation_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b])
    before = await snapshot(axis)
    reply = await call(axis, "POST", STATUSES, token=a, data=signed)
    problem = assert_problem(reply, 400, "AXIS.Validation")
    assert "documents" in problem["detail"] and problem["field"] == "StatusCode"
    await assert_nothing_stored(axis, before)


# --- 422: signature ---------------------------------------------------------------------------------------


async def test_unsigned_document_is_refused_as_signature_missing_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, _ = a.document([b])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=build_document(doc))
    assert assert_problem(reply, 422, "AXIS.Signature")["reason"] == "missing"
    await assert_nothing_stored(axis, before)


async def test_document_signed_by_another_agency_is_refused_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    # From says A, but B's (registered, valid) key signed it.
    forged = Agent(A, a.name, a.token, b.identity, axis)
    _, signed = forged.document([b])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    problem = assert_problem(reply, 422, "AXIS.Signature")
    assert problem["reason"] == "signer_not_sender"
    assert problem["detail"] == f"signed with the certificate registered to {B}; From is {A}"
    await assert_nothing_stored(axis, before)


async def test_subject_changed_after_signing_is_refused_as_tampered_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b], subject="Về việc cấp kinh phí 100 triệu đồng")
    tampered = signed.replace("100 triệu".encode(), "900 triệu".encode())
    assert tampered != signed
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=tampered)
    assert assert_problem(reply, 422, "AXIS.Signature")["reason"] == "digest_mismatch"
    await assert_nothing_stored(axis, before)


async def test_status_signed_by_another_agency_is_refused_and_nothing_stored(axis: Harness) -> None:
    a, b, c = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    forged = Agent(B, b.name, b.token, c.identity, axis)
    before = await snapshot(axis)
    reply = await call(axis, "POST", STATUSES, token=b, data=forged.status(doc, StatusCode.ARRIVED))
    problem = assert_problem(reply, 422, "AXIS.Signature")
    assert problem["reason"] == "signer_not_sender"
    assert problem["detail"] == f"signed with the certificate registered to {c.code}; From is {B}"
    await assert_nothing_stored(axis, before)


# --- 403: the message is another agency's -------------------------------------------------------------------


async def test_document_from_another_agency_submitted_with_callers_token_is_sender_mismatch_and_nothing_stored(
    axis: Harness,
) -> None:
    a, b, c = await _agencies(axis)
    # B's own, correctly signed document, replayed by A.
    _, signed_by_b = b.document([c])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed_by_b)
    problem = assert_problem(reply, 403, "AXIS.SenderMismatch")
    assert problem["field"] == "MessageHeader/From/OrganId"
    assert A in problem["detail"] and B in problem["detail"]
    await assert_nothing_stored(axis, before)


async def test_status_from_another_agency_submitted_with_callers_token_is_sender_mismatch_and_nothing_stored(
    axis: Harness,
) -> None:
    a, b, c = await _agencies(axis)
    doc, signed = a.document([b, c])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    before = await snapshot(axis)
    reply = await call(axis, "POST", STATUSES, token=c, data=b.status(doc, StatusCode.ARRIVED))
    assert_problem(reply, 403, "AXIS.SenderMismatch")
    await assert_nothing_stored(axis, before)


# --- 422: recipients --------------------------------------------------------------------------------------


async def test_unknown_recipient_is_refused_naming_it_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    _, signed = a.document([b, UNREGISTERED])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    problem = assert_problem(reply, 422, "AXIS.UnknownRecipient")
    assert problem["recipients"] == [UNREGISTERED]
    await assert_nothing_stored(axis, before)


async def test_inactive_recipient_is_refused_naming_it_and_nothing_stored(axis: Harness) -> None:
    a, b, c = await _agencies(axis)
    await axis.register(D)
    await _set_active(axis, C, False)
    await _set_active(axis, D, False)
    _, signed = a.document([b, c, D, UNREGISTERED])
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    problem = assert_problem(reply, 422, "AXIS.UnknownRecipient")
    assert problem["recipients"] == [C, D, UNREGISTERED]
    await assert_nothing_stored(axis, before)


# --- repeats and DocumentId --------------------------------------------------------------------------------


async def test_same_bytes_again_answer_200_with_the_first_body_and_store_one_message(axis: Harness) -> None:
    a, b, c = await _agencies(axis)
    _, signed = a.document([b, c])
    first = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert first.status == 202 and first.content_type == "application/json"
    stored = await snapshot(axis)
    assert stored.messages == 1 and stored.deliveries == 2

    for _ in range(2):
        again = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
        assert again.status == 200
        assert again.json() == first.json()
        assert again.headers["Location"] == first.headers["Location"]
    await assert_nothing_stored(axis, stored)
    assert await _message_rows(axis) == 1


async def test_same_status_bytes_again_answer_200_with_the_first_body_and_store_one_status(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    arrived = b.status(doc, StatusCode.ARRIVED, "Đã nhận")
    first = await call(axis, "POST", STATUSES, token=b, data=arrived)
    assert first.status == 202
    stored = await snapshot(axis)
    again = await call(axis, "POST", STATUSES, token=b, data=arrived)
    assert again.status == 200 and again.json() == first.json()
    await assert_nothing_stored(axis, stored)


async def test_resending_same_bytes_after_a_recipient_was_disabled_still_answers_200(axis: Harness) -> None:
    # A DMS that lost the first answer must get its receipt back, not a refusal.
    a, b, c = await _agencies(axis)
    _, signed = a.document([b, c])
    first = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert first.status == 202
    await _set_active(axis, C, False)
    stored = await snapshot(axis)
    again = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert again.status == 200, again.body
    assert again.json() == first.json()
    await assert_nothing_stored(axis, stored)


async def test_same_document_id_with_different_bytes_is_duplicate_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b], number=42, subject="Bản gốc")
    first = await call(axis, "POST", DOCUMENTS, token=a, data=signed)
    assert first.status == 202
    other, other_signed = a.document([b], number=42, subject="Bản khác, cùng số")
    assert other.document_id == doc.document_id and other_signed != signed
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=other_signed)
    problem = assert_problem(reply, 409, "AXIS.Duplicate")
    assert problem["message_id"] == first.json()["id"]
    await assert_nothing_stored(axis, before)


# --- 404: what a revoke or a status refers to ----------------------------------------------------------------


async def test_revoke_of_a_document_id_never_sent_is_not_found_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    never = ResponseFor(organ_id=A, code="999/VPCP-TTĐT", promulgation_date=date(2026, 1, 5),
                        document_id=f"{A},2026/01/05,999/VPCP-TTĐT")
    _, revoke = a.document([b], subject="Thu hồi văn bản", business_type=BusinessType.REVOKE,
                           response_for=[never], reason="Ban hành nhầm")
    before = await snapshot(axis)
    reply = await call(axis, "POST", DOCUMENTS, token=a, data=revoke)
    problem = assert_problem(reply, 404, "AXIS.NotFound")
    assert problem["field"] == "MessageHeader/ResponseFor/DocumentId"
    await assert_nothing_stored(axis, before)


async def test_revoke_of_another_agencys_document_is_not_found_and_nothing_stored(axis: Harness) -> None:
    a, b, c = await _agencies(axis)
    doc_b, signed_b = b.document([c])
    assert (await call(axis, "POST", DOCUMENTS, token=b, data=signed_b)).status == 202
    _, revoke = a.document([c], subject="Thu hồi văn bản", business_type=BusinessType.REVOKE,
                           response_for=[ResponseFor.to_document(doc_b)], reason="Không phải của mình")
    before = await snapshot(axis)
    assert_problem(await call(axis, "POST", DOCUMENTS, token=a, data=revoke), 404, "AXIS.NotFound")
    await assert_nothing_stored(axis, before)


async def test_status_for_a_document_the_caller_never_received_is_not_found_and_nothing_stored(
    axis: Harness,
) -> None:
    a, b, c = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    never_sent, _ = a.document([c])
    before = await snapshot(axis)
    # C was not a recipient of doc; and never_sent was never submitted at all.
    for target in (doc, never_sent):
        reply = await call(axis, "POST", STATUSES, token=c, data=c.status(target, StatusCode.ARRIVED, "Đã nhận"))
        problem = assert_problem(reply, 404, "AXIS.NotFound")
        assert problem["field"] == "MessageHeader/ResponseFor/DocumentId"
    await assert_nothing_stored(axis, before)


# --- 403: who may send which status ------------------------------------------------------------------------


async def test_recipient_sending_status_13_is_forbidden_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    before = await snapshot(axis)
    reply = await call(axis, "POST", STATUSES, token=b, data=b.status(doc, StatusCode.TAKEN_BACK, "Thu về"))
    assert assert_problem(reply, 403, "AXIS.Forbidden")["field"] == "StatusCode"
    await assert_nothing_stored(axis, before)


async def test_sender_sending_status_01_is_forbidden_and_nothing_stored(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
    before = await snapshot(axis)
    reply = await call(axis, "POST", STATUSES, token=a, data=a.status(doc, StatusCode.ARRIVED, "Tự nhận"))
    assert assert_problem(reply, 403, "AXIS.Forbidden")["field"] == "StatusCode"
    await assert_nothing_stored(axis, before)


# --- the server survives ------------------------------------------------------------------------------------


async def test_server_still_healthy_and_accepting_after_a_barrage_of_bad_requests(axis: Harness) -> None:
    a, b, _ = await _agencies(axis)
    doc, signed = a.document([b])
    bad = [
        (DOCUMENTS, None, signed), (DOCUMENTS, "wrong", signed), (DOCUMENTS, a.token, b"<"),
        (DOCUMENTS, a.token, XXE), (DOCUMENTS, a.token, BILLION_LAUGHS), (STATUSES, a.token, signed),
        (DOCUMENTS, a.token, build_document(doc)), (DOCUMENTS, a.token, b"\x00" * 1000),
        (DOCUMENTS, a.token, b"<a>" * 100 + b"</a>" * 100),
    ]
    before = await snapshot(axis)
    for path, token, body in bad:
        reply = await call(axis, "POST", path, token=token, data=body)
        assert 400 <= reply.status < 500 and reply.content_type == "application/problem+json"
    await assert_nothing_stored(axis, before)

    health = await call(axis, "GET", "/healthz")
    assert health.status == 200 and health.json()["status"] == "ok"
    assert (await call(axis, "POST", DOCUMENTS, token=a, data=signed)).status == 202
