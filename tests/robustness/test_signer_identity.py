"""The signer must be the ``From`` agency, on a server that trusts a CA.

Holding agency A's token, nobody may sign ``From=A`` with B's certificate, a personal certificate
from the same CA, or B's pinned certificate: each is refused with 422 ``AXIS.Signature`` and a
detail saying what did not match, and nothing is stored. Statuses likewise. A's own registered
certificate, and a new CA-issued one naming A (rotation at the CA), are still accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from axis.agency.client import compose_document, compose_status, sign_message
from envelope.codes import StatusCode
from envelope.model import DocumentMessage
from signing.keys import (
    DevelopmentCA,
    IssuedIdentity,
    certificate_pem,
    generate_private_key,
    self_signed_certificate,
)
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import Reply, assert_problem, call, snapshot
from tests.harness import Agent, Harness, server_settings, start_server

A, B, C = "000.00.00.G22", "000.00.00.H41", "000.00.00.H29"


@dataclass
class World:
    axis: Harness
    a: Agent
    b: Agent
    c: Agent


@pytest.fixture
async def world(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    """An axis trusting the test CA (``ca_certificates``), with A, B and C registered by CA-issued certificates."""
    ca_file = tmp_path / "trusted-ca.pem"
    ca_file.write_bytes(certificate_pem(test_ca.certificate))
    async with db_template.clone(tmp_path) as url:
        axis, server = await start_server(
            server_settings(tmp_path / "home", url, ca_certificates=(ca_file,)), test_ca, identities)
        try:
            assert axis.ctx.policy.ca_certificates, "the CA path must be configured for these tests"
            a, b, c = [await axis.register(code) for code in (A, B, C)]
            yield World(axis, a, b, c)
        finally:
            await server.close()


def _document(sender: Agent, to: Agent, subject: str) -> DocumentMessage:
    return compose_document(sender=sender.organization, recipients=[to.organization], subject=subject,
                            number="17", notation="VPCP-TTĐT", attachments=[])


async def _post(axis: Harness, path: str, token: Agent, body: bytes) -> Reply:
    return await call(axis, "POST", path, token=token, data=body,
                      headers={"Content-Type": "application/xml"})


async def _refused(world: World, path: str, token: Agent, body: bytes, detail: str) -> None:
    before = await snapshot(world.axis)
    problem = assert_problem(await _post(world.axis, path, token, body), 422, "AXIS.Signature")
    assert problem["detail"] == detail, problem
    assert problem["reason"] == "signer_not_sender", problem
    assert await snapshot(world.axis) == before  # nothing stored, nothing queued


def _issued_with_subject(ca: DevelopmentCA, attributes: list[x509.NameAttribute]) -> IssuedIdentity:
    """A CA-issued signing certificate with exactly this subject (what a CA might issue to anyone)."""
    key = generate_private_key("ec")
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(x509.Name(attributes)).issuer_name(ca.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return IssuedIdentity(key, certificate)


async def test_a_document_from_a_signed_with_bs_ca_issued_certificate_is_refused(world: World) -> None:
    signed = sign_message(_document(world.a, world.c, "Ký bằng chứng thư của cơ quan khác"),
                          world.b.identity.key, world.b.identity.certificate)
    await _refused(world, "/api/v1/documents", world.a, signed, f"signed by {B}'s certificate; From is {A}")


async def test_a_certificate_the_ca_issued_to_an_unregistered_agency_cannot_sign_as_a(world: World,
                                                                                      test_ca: DevelopmentCA) -> None:
    stranger = test_ca.issue("Sở Nội vụ", organ_id="000.00.00.K07", kind="ec")
    signed = sign_message(_document(world.a, world.c, "Ký bằng chứng thư lạ"), stranger.key, stranger.certificate)
    await _refused(world, "/api/v1/documents", world.a, signed, f"signed by 000.00.00.K07's certificate; From is {A}")


async def test_a_personal_ca_certificate_without_an_agency_code_is_refused(world: World,
                                                                           test_ca: DevelopmentCA) -> None:
    person = test_ca.issue("Nguyễn Văn An", organ_id=None, kind="ec")
    signed = sign_message(_document(world.a, world.c, "Ký bằng chứng thư cá nhân"), person.key, person.certificate)
    await _refused(world, "/api/v1/documents", world.a, signed,
                   f"signed by a certificate that names no agency ({person.certificate.subject.rfc4514_string()}); "
                   f"From is {A}")


async def test_the_agency_code_in_another_subject_field_binds_nothing(world: World, test_ca: DevelopmentCA) -> None:
    # The code in commonName, organizationalUnit or organization: only serialNumber counts.
    named = _issued_with_subject(test_ca, [
        x509.NameAttribute(NameOID.COMMON_NAME, A),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, A),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, A),
    ])
    signed = sign_message(_document(world.a, world.c, "Mã ở trường khác"), named.key, named.certificate)
    await _refused(world, "/api/v1/documents", world.a, signed,
                   f"signed by a certificate that names no agency ({named.certificate.subject.rfc4514_string()}); "
                   f"From is {A}")


async def test_a_subject_naming_two_agencies_names_none(world: World, test_ca: DevelopmentCA) -> None:
    both = _issued_with_subject(test_ca, [
        x509.NameAttribute(NameOID.COMMON_NAME, "Hai cơ quan"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, B),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, A),
    ])
    signed = sign_message(_document(world.a, world.c, "Hai mã"), both.key, both.certificate)
    await _refused(world, "/api/v1/documents", world.a, signed,
                   f"signed by a certificate that names no agency ({both.certificate.subject.rfc4514_string()}); "
                   f"From is {A}")


async def test_bs_pinned_self_signed_certificate_is_refused_saying_whose_it_is(world: World) -> None:
    # Not CA-issued: trusted only as B's pin. Registered to another agency is what the refusal says.
    key = generate_private_key("ec")
    pinned_for_b = self_signed_certificate(key, "UBND tỉnh Nghệ An", organ_id=B)
    from storage.registry.agencies import replace_certificate

    async with world.axis.ctx.sessions() as session, session.begin():
        await replace_certificate(session, B, certificate_pem(pinned_for_b), actor="test")
    world.axis.ctx.registry.invalidate()
    signed = sign_message(_document(world.a, world.c, "Ký bằng chứng thư đã đăng ký cho cơ quan khác"),
                          key, pinned_for_b)
    await _refused(world, "/api/v1/documents", world.a, signed,
                   f"signed with the certificate registered to {B}; From is {A}")


async def test_a_status_signed_with_another_agencys_certificate_is_refused(world: World) -> None:
    doc, signed = world.a.document([world.b], subject="Văn bản để trả lời")
    assert (await _post(world.axis, "/api/v1/documents", world.a, signed)).status == 202
    forged = sign_message(compose_status(sender=world.b.organization, document=doc, code=StatusCode.ARRIVED),
                          world.c.identity.key, world.c.identity.certificate)
    await _refused(world, "/api/v1/statuses", world.b, forged, f"signed by {C}'s certificate; From is {B}")


async def test_a_status_signed_with_a_personal_certificate_is_refused(world: World, test_ca: DevelopmentCA) -> None:
    doc, signed = world.a.document([world.b], subject="Văn bản để trả lời")
    assert (await _post(world.axis, "/api/v1/documents", world.a, signed)).status == 202
    person = test_ca.issue("Trần Thị Bình", organ_id=None, kind="ec")
    forged = sign_message(compose_status(sender=world.b.organization, document=doc, code=StatusCode.ARRIVED),
                          person.key, person.certificate)
    await _refused(world, "/api/v1/statuses", world.b, forged,
                   f"signed by a certificate that names no agency ({person.certificate.subject.rfc4514_string()}); "
                   f"From is {B}")


async def test_the_from_agency_itself_is_still_accepted(world: World, test_ca: DevelopmentCA) -> None:
    # Its registered certificate (pinned, and CA-issued naming it) ...
    doc, signed = world.a.document([world.b], subject="Văn bản hợp lệ")
    assert (await _post(world.axis, "/api/v1/documents", world.a, signed)).status == 202
    # ... a new certificate from the CA naming it, not registered yet (trusted through the CA) ...
    renewed = test_ca.issue("Văn phòng Chính phủ", organ_id=A, kind="ec")
    again = sign_message(_document(world.a, world.b, "Ký bằng chứng thư mới do CA cấp"),
                         renewed.key, renewed.certificate)
    assert (await _post(world.axis, "/api/v1/documents", world.a, again)).status == 202
    # ... and its status, signed by itself.
    receipt = world.b.status(doc, StatusCode.ARRIVED, "Đã nhận")
    assert (await _post(world.axis, "/api/v1/statuses", world.b, receipt)).status == 202


async def test_without_a_ca_anothers_registered_certificate_is_named_as_registered_elsewhere(axis: Harness) -> None:
    # Sending as H41 with G22's registered certificate used to say "neither registered nor
    # issued by a configured CA"; it is registered, to another agency.
    g22, h41, h29 = [await axis.register(code) for code in (A, B, C)]
    doc = _document(h41, h29, "Gửi bằng chứng thư của cơ quan khác")
    signed = sign_message(doc, g22.identity.key, g22.identity.certificate)
    problem = assert_problem(await _post(axis, "/api/v1/documents", h41, signed), 422, "AXIS.Signature")
    assert problem["detail"] == f"signed with the certificate registered to {A}; From is {B}"
    assert "neither registered" not in problem["detail"]
