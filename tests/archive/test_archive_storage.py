"""Storage-level archive pieces on a rolled-back session: ledger, signed heads, calendar, certificates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.audit_heads import sign_head, verify_heads
from axis.archive.calendar import add_years, month_bounds, month_of, shift_month
from axis.archive.destruction_certificates import (
    CertifiedApproval,
    CertifiedItem,
    CertifiedSchedule,
    DestructionCertificate,
    sign_certificate,
    verify_certificate,
)
from signing.errors import SignatureError
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.archive_models import Blob
from storage.audit import append_event
from storage.ledger import record_blob
from storage.models import AuditEvent

NOW = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def axis_identity(test_ca: DevelopmentCA) -> IssuedIdentity:
    return test_ca.issue("Trục liên thông (thử)", organ_id=None, kind="ec")


async def test_recording_a_blob_twice_keeps_its_first_row(session: AsyncSession) -> None:
    sha = "ab" * 32
    await record_blob(session, sha, 10, NOW)
    await record_blob(session, sha, 10, NOW.replace(year=2031))
    rows = (await session.execute(select(Blob).where(Blob.sha256 == sha))).scalars().all()
    assert [(r.size, r.stored_at) for r in rows] == [(10, NOW)]


async def test_a_signed_head_pins_its_entry(session: AsyncSession, axis_identity: IssuedIdentity) -> None:
    # A head is checked against its certificate's validity when it was signed: sign within it.
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(3):
        await append_event(session, actor="test", action="test.event", subject=str(n), at=NOW)
    head = await sign_head(session, axis_identity.key, axis_identity.certificate, now=now)
    assert head is not None
    assert await sign_head(session, axis_identity.key, axis_identity.certificate, now=now) is None
    check = await verify_heads(session, axis_identity.certificate)
    assert check.problem is None and check.latest_event_id == head.event_id and check.latest_signed_at == now
    await session.execute(update(AuditEvent).where(AuditEvent.id == head.event_id).values(hash="f" * 64))
    session.expire_all()
    problem = (await verify_heads(session, axis_identity.certificate)).problem
    assert problem is not None and problem.event_id == head.event_id and "rewritten" in problem.reason


def test_destruction_certificate_round_trips_and_refuses_another_signer(
        axis_identity: IssuedIdentity, test_ca: DevelopmentCA) -> None:
    cert = DestructionCertificate(
        disposal_id=3, executed_at=NOW, proposed_by="luutru.mot",
        approvals=(CertifiedApproval("luutru.mot", "000.00.00.G22", NOW),
                   CertifiedApproval("luutru.hai", "000.00.00.G22", NOW)),
        schedules=(CertifiedSchedule("CV-10", "Công văn", "Thông tư 10/2022/TT-BNV", "10", "document_date",
                                     "destroy"),),
        items=(CertifiedItem("01JD5Z9Q4W3X7Y8ZABCDEFGHJK", "000.00.00.G22,2010/03/01,1/VPCP", "000.00.00.G22",
                             ("000.00.00.H29", "000.00.00.H41"), "c" * 64, 1234, NOW, "2010-03-01", "CV-10",
                             date(2020, 3, 1)),),
    )
    signed = sign_certificate(cert, axis_identity.key, axis_identity.certificate)
    assert verify_certificate(signed, axis_identity.certificate) == cert
    other = test_ca.issue("Kẻ khác", organ_id=None, kind="ec")
    with pytest.raises(SignatureError):
        verify_certificate(signed, other.certificate)
    with pytest.raises(SignatureError):
        verify_certificate(signed.replace(b"c" * 64, b"d" * 64), axis_identity.certificate)


def test_months_and_years_are_vietnam_calendar() -> None:
    start, end = month_bounds("2027-01")
    assert start == datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert end == datetime(2027, 1, 31, 17, tzinfo=UTC)
    assert month_of(datetime(2026, 12, 31, 16, 59, tzinfo=UTC)) == "2026-12"
    assert month_of(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "2027-01"
    assert shift_month("2027-01", -1) == "2026-12" and shift_month("2026-12", 13) == "2028-01"
    assert add_years(date(2024, 2, 29), 10) == date(2034, 2, 28)
    for bad in ("2027-13", "2027-1", "27-01", "2027-00"):
        with pytest.raises(ValueError):
            month_bounds(bad)
