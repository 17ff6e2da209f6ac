"""The reference push receiver answers 01 only to the axis, and only for a message its sender signed.

Real HTTP on loopback to a real ``PushReceiver``; real keys from the test CA. Each hostile push is
refused with nothing stored and no receipt given out; the genuine one is answered with a signed 01.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from lxml import etree

from axis.agency.client import compose_document, sign_message
from axis.agency.receiver import PATH, PushReceiver
from envelope.model import Organization
from envelope.parser import parse_status
from signing.keys import DevelopmentCA, IssuedIdentity
from signing.push_request import HEADER, sign_push_request
from signing.verifier import verify_envelope
from storage.ids import new_id

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


@dataclass
class Parties:
    axis: IssuedIdentity
    a: IssuedIdentity
    b: IssuedIdentity
    c: IssuedIdentity


@pytest.fixture(scope="module")
def parties(test_ca: DevelopmentCA) -> Parties:
    """The axis and three agencies, each with its own key and certificate from the test CA."""
    return Parties(axis=test_ca.issue("Trục liên thông", organ_id="000.00.00.A00", kind="ec"),
                   a=test_ca.issue("Văn phòng Chính phủ", organ_id=A, kind="ec"),
                   b=test_ca.issue("UBND Thành phố Hồ Chí Minh", organ_id=B, kind="ec"),
                   c=test_ca.issue("UBND tỉnh Nghệ An", organ_id=C, kind="ec"))


@pytest.fixture
async def endpoint(parties: Parties) -> AsyncIterator[tuple[PushReceiver, str]]:
    """C's receiver, given the axis certificate and A's and B's certificates."""
    receiver = PushReceiver(Organization(C, "UBND tỉnh Nghệ An"), parties.c, axis_certificate=parties.axis.certificate,
                            senders={A: parties.a.certificate, B: parties.b.certificate})
    server = TestServer(receiver.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield receiver, str(server.make_url(PATH))
    finally:
        await server.close()


def _document(sender: str, signer: IssuedIdentity | None, to: str = C) -> bytes:
    doc = compose_document(sender=Organization(sender, "Cơ quan gửi"), recipients=[to],
                           subject="Về việc kiểm tra nơi nhận", number="12", notation="VPCP-TTĐT")
    if signer is None:
        from envelope.builder import build_document
        return build_document(doc)
    return sign_message(doc, signer.key, signer.certificate)


def _headers(signer: IssuedIdentity | None, body: bytes, message_id: str, recipient: str = C) -> dict[str, str]:
    headers = {"Content-Type": "application/xml", "X-Axis-Message-Id": message_id}
    if signer is not None:
        headers[HEADER] = sign_push_request(signer.key, recipient, message_id, hashlib.sha256(body).hexdigest())
    return headers


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.read()


def _tampered(signed: bytes) -> bytes:
    root = etree.fromstring(signed)
    subject = next(e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "Subject")
    subject.text = "Về việc chuyển tiền gấp"
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


async def test_a_genuine_push_is_answered_with_a_signed_01(endpoint: tuple[PushReceiver, str],
                                                          parties: Parties) -> None:
    receiver, url = endpoint
    body, mid = _document(A, parties.a), new_id()
    status, answer = await _post(url, body, _headers(parties.axis, body, mid))
    assert status == 200
    verify_envelope(answer, pinned=[parties.c.certificate])
    assert parse_status(answer).status_code == "01"
    assert receiver.received == {mid: body} and not receiver.refused


@pytest.mark.parametrize("case", [
    "no_axis_signature", "signed_by_an_agency_not_the_axis", "axis_signature_for_another_body",
    "axis_signature_for_another_recipient", "axis_signature_for_another_message", "garbage_axis_signature",
])
async def test_a_push_not_from_the_axis_is_refused(endpoint: tuple[PushReceiver, str], parties: Parties,
                                                   case: str) -> None:
    receiver, url = endpoint
    body, mid = _document(A, parties.a), new_id()
    headers = {
        "no_axis_signature": lambda: _headers(None, body, mid),
        "signed_by_an_agency_not_the_axis": lambda: _headers(parties.a, body, mid),
        "axis_signature_for_another_body": lambda: _headers(parties.axis, _document(B, parties.b), mid),
        "axis_signature_for_another_recipient": lambda: _headers(parties.axis, body, mid, recipient=B),
        "axis_signature_for_another_message": lambda: {**_headers(parties.axis, body, new_id()),
                                                       "X-Axis-Message-Id": mid},
        "garbage_axis_signature": lambda: {**_headers(None, body, mid), HEADER: "not base64 !!"},
    }[case]()
    status, answer = await _post(url, body, headers)
    assert status == 401 and b"EDXML" not in answer.upper()
    assert receiver.received == {} and receiver.receipts == {} and receiver.refused == {"caller": 1}


@pytest.mark.parametrize("case", ["unsigned", "tampered_after_signing", "signed_by_another_agency",
                                  "from_an_agency_it_has_no_certificate_for"])
async def test_a_document_its_sender_did_not_sign_is_refused_even_from_the_axis(
        endpoint: tuple[PushReceiver, str], parties: Parties, case: str) -> None:
    receiver, url = endpoint
    body = {
        "unsigned": lambda: _document(A, None),
        "tampered_after_signing": lambda: _tampered(_document(A, parties.a)),
        "signed_by_another_agency": lambda: _document(A, parties.b),
        "from_an_agency_it_has_no_certificate_for": lambda: _document("000.00.00.G14", parties.a),
    }[case]()
    mid = new_id()
    status, _ = await _post(url, body, _headers(parties.axis, body, mid))
    assert status == 422
    assert receiver.received == {} and receiver.receipts == {} and receiver.refused == {"signature": 1}


async def test_a_document_for_another_agency_is_refused(endpoint: tuple[PushReceiver, str], parties: Parties) -> None:
    receiver, url = endpoint
    body, mid = _document(A, parties.a, to=B), new_id()
    status, _ = await _post(url, body, _headers(parties.axis, body, mid))
    assert status == 422 and receiver.received == {} and receiver.refused == {"not_addressed": 1}


async def test_a_receiver_without_the_axis_certificate_refuses_everything(parties: Parties) -> None:
    receiver = PushReceiver(Organization(C, "UBND tỉnh Nghệ An"), parties.c, senders={A: parties.a.certificate})
    server = TestServer(receiver.app(), host="127.0.0.1")
    await server.start_server()
    try:
        body, mid = _document(A, parties.a), new_id()
        status, _ = await _post(str(server.make_url(PATH)), body, _headers(parties.axis, body, mid))
    finally:
        await server.close()
    assert status == 401 and receiver.received == {}
