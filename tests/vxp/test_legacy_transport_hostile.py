"""Hostile signatures under `legacy-transport`: the transport vouches for the caller, never for someone else's key."""

from __future__ import annotations

import datetime as dt

from axis.agency.client import compose_status, sign_message
from envelope.codes import StatusCode
from envelope.parser import parse_document
from signing.keys import DevelopmentCA
from tests.exchange.snapshots import assert_nothing_stored, snapshot
from tests.harness import Harness
from tests.support.policy import sdk_for, set_policy

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.G01"


async def _refused(axis: Harness, code: str, raw: bytes, **params: str) -> None:
    sdk = await sdk_for(axis, axis.agents[code])
    before = await snapshot(axis)
    reply = (await sdk.send_edoc(raw, {"from": code, **params})).json()
    assert (reply["status"], reply.get("ErrorCode")) == ("FAIL", "AXIS.Signature"), reply
    await assert_nothing_stored(axis, before)


async def test_a_document_from_a_signed_with_b_registered_key_is_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await set_policy(axis, A, "legacy-transport")
    doc, _ = a.document([b], subject="Ký bằng khóa của đơn vị khác")
    await _refused(axis, A, sign_message(doc, b.identity.key, b.identity.certificate))


async def test_a_b_signed_document_retagged_from_a_with_a_new_subject_is_refused(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await set_policy(axis, A, "legacy-transport")
    _, raw = b.document([a], subject="Văn bản gốc của B")
    forged = raw.replace(B.encode(), A.encode()).replace("gốc của B".encode(), "giả mạo".encode())
    await _refused(axis, A, forged)


async def test_an_expired_certificate_of_a_with_changed_content_is_refused(axis: Harness, test_ca: DevelopmentCA
                                                                          ) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await set_policy(axis, A, "legacy-transport")
    now = dt.datetime.now(dt.UTC)
    old = test_ca.issue("Old key of A", organ_id=A, kind="rsa", not_before=now - dt.timedelta(days=900),
                        not_after=now - dt.timedelta(days=1))
    doc, _ = a.document([b], subject="Nội dung ban đầu")
    raw = sign_message(doc, old.key, old.certificate)
    await _refused(axis, A, raw.replace("ban đầu".encode(), "đã sửa".encode()))
    await _refused(axis, A, raw)  # unchanged, still no: an expired key may be in anyone's hands


async def test_a_status_signed_by_a_third_agency_is_refused(axis: Harness) -> None:
    a, b, c = await axis.register(A), await axis.register(B), await axis.register(C)
    await set_policy(axis, B, "legacy-transport")
    sa = await sdk_for(axis, a)
    _, raw = a.document([b])
    assert (await sa.send_edoc(raw, {"from": A})).json()["status"] == "OK"
    status = compose_status(sender=b.organization, document=parse_document(raw), code=StatusCode.ARRIVED)
    await _refused(axis, B, sign_message(status, c.identity.key, c.identity.certificate), messagetype="status")


async def test_an_untrusted_present_signature_is_checked_on_its_own_key(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await set_policy(axis, A, "legacy-transport")
    own = DevelopmentCA.create("Phần mềm cũ")  # a key the axis has never seen, naming no agency
    stray = own.issue("Phần mềm cũ của A", organ_id=None, kind="rsa")
    doc, _ = a.document([b], subject="Chữ ký chưa đăng ký")
    raw = sign_message(doc, stray.key, stray.certificate)
    sa = await sdk_for(axis, a)
    ok = (await sa.send_edoc(raw, {"from": A})).json()
    assert (ok["status"], ok["authentication"]) == ("OK", "transport"), ok
    doc2, _ = a.document([b], subject="Chữ ký chưa đăng ký lần hai")
    tampered = sign_message(doc2, stray.key, stray.certificate).replace("lần hai".encode(), "lần ba".encode())
    await _refused(axis, A, tampered)
    # A certificate naming another agency is that agency's signature, registered or not.
    named = own.issue("Mạo danh B", organ_id=B, kind="rsa")
    doc3, _ = a.document([b], subject="Mạo danh")
    await _refused(axis, A, sign_message(doc3, named.key, named.certificate))
