"""Archive tables: blob ledger, fixity, audit heads, retention, holds, disposal, reports, registers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class Blob(Base):
    """Every stored byte stream, by digest: size, when stored, last fixity outcome, disposal."""

    __tablename__ = "blobs"
    __table_args__ = (Index("ix_blobs_checked", "last_checked_at"), Index("ix_blobs_stored", "stored_at"))

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime | None] = mapped_column()
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    disposed_at: Mapped[datetime | None] = mapped_column()


class FixityCheck(Base):
    """One re-hash of one blob: ok, mismatch or missing."""

    __tablename__ = "fixity_checks"
    __table_args__ = (Index("ix_fixity_checks_blob", "sha256", "checked_at"),)

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class AuditHead(Base):
    """The audit chain head at some moment, signed by the axis key."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_xml: Mapped[bytes] = mapped_column(LargeBinary)
    # The axis certificate (DER) that signed it, so a head outlives a key rotation; None before 0007.
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary)


class RetentionAssignment(Base):
    """The one retention schedule of an archived document and when it falls due."""

    __tablename__ = "retention_assignments"
    __table_args__ = (Index("ix_retention_due", "due_date"),)

    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    schedule_code: Mapped[str] = mapped_column(String(32))
    # None: permanent, or waiting for the trigger event.
    due_date: Mapped[date | None] = mapped_column(Date)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    disposed_at: Mapped[datetime | None] = mapped_column()
    disposal_id: Mapped[int | None] = mapped_column(ForeignKey("disposals.id"))


class LegalHold(Base):
    """A legal hold: documents under it cannot be disposed of."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    authority: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    # A saved search (JSON) whose matches are held, for holds not placed document by document.
    query: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column()
    # The first archivist's request to release it; a second, different archivist releases it.
    release_requested_by: Mapped[str | None] = mapped_column(String(64))
    release_requested_at: Mapped[datetime | None] = mapped_column()


class LegalHoldItem(Base):
    """A document placed under a hold."""

    __tablename__ = "legal_hold_items"

    hold_id: Mapped[int] = mapped_column(ForeignKey("legal_holds.id"), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), primary_key=True)


class Disposal(Base):
    """A disposal list: proposed, approved by two archivists, executed with a certificate."""

    __tablename__ = "disposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    executed_at: Mapped[datetime | None] = mapped_column()
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))


class DisposalItem(Base):
    """A document on a disposal list."""

    __tablename__ = "disposal_items"

    disposal_id: Mapped[int] = mapped_column(ForeignKey("disposals.id"), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    outcome: Mapped[str | None] = mapped_column(String(16))


class DisposalApproval(Base):
    """One archivist's approval of a disposal list (two different people are needed)."""

    __tablename__ = "disposal_approvals"
    __table_args__ = (UniqueConstraint("disposal_id", "user_id", name="uq_disposal_approvals_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disposal_id: Mapped[int] = mapped_column(ForeignKey("disposals.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonthlyStat(Base):
    """Maintained throughput figures of one agency in one month."""

    __tablename__ = "monthly_stats"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    received: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    median_receipt_s: Mapped[float | None] = mapped_column()
    p95_receipt_s: Mapped[float | None] = mapped_column()
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    storage_growth_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    disposed: Mapped[int] = mapped_column(Integer, default=0)
    # Documents accepted without a valid XML signature (legacy-transport policy).
    unsigned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegisterEntry(Base):
    """A line of an agency's statutory register of incoming or outgoing documents."""

    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("agency_id", "direction", "year", "number", name="uq_register_entries_number"),
        UniqueConstraint("agency_id", "direction", "message_id", name="uq_register_entries_message"),
        # The sealer's work list: entries still waiting for their number (few at any time).
        Index("ix_register_entries_pending", "registered_at", "id",
              postgresql_where=text("number IS NULL"), sqlite_where=text("number IS NULL")),
    )

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    direction: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    #: None for the moments between the entry and the sealer numbering it (see registers.number_pending).
    number: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
