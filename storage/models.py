"""SQLAlchemy models: agencies, messages, deliveries, statuses, payloads, users, audit log."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime}
    # Every model maps one table (no joined or selectable mappings): Core statements use it as such.
    __table__: ClassVar[Table]


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class DeliveryMode(str, enum.Enum):
    """How an agency receives its documents."""

    PUSH = "push"
    PULL = "pull"


class MessageKind(str, enum.Enum):
    """A document (edoc) or a status message."""

    EDOC = "edoc"
    STATUS = "status"


class DeliveryState(str, enum.Enum):
    """Life cycle of one (message, recipient) delivery."""

    QUEUED = "queued"
    PUSHING = "pushing"
    RETRY_WAIT = "retry_wait"
    RETRIEVED = "retrieved"
    DELIVERED = "delivered"
    FAILED = "failed"
    # The recipient answered with a signed status 02: an outcome, so never resent nor counted as on its way.
    REFUSED = "refused"


class Agency(Base):
    """A registered agency (mã định danh) with its certificate and token."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    organization_in_charge: Mapped[str] = mapped_column(String(255), default="")
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    certificate_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: A certificate registered ahead of the current one's expiry (rotation with overlap): both verify.
    next_certificate_pem: Mapped[str | None] = mapped_column(Text)
    next_certificate_fingerprint: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_url: Mapped[str | None] = mapped_column(String(1024))
    delivery_mode: Mapped[str] = mapped_column(String(8), default=DeliveryMode.PULL.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # National SDK transport (/vxp): the system id the DMS sends and its HMAC secret,
    # encrypted under the axis's transport key (storage.registry.vxp); never stored in clear.
    vxp_system_id: Mapped[str | None] = mapped_column(String(64))
    vxp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "required" (a valid XML-DSig by the agency) or "legacy-transport" (an operator's audited choice).
    signature_policy: Mapped[str] = mapped_column(String(16), default="required", server_default="required")

    __table_args__ = (Index("uq_agencies_vxp_system_id", "vxp_system_id", unique=True),)


class RegistryVersion(Base):
    """One row: a counter that moves with every change to ``agencies`` (database triggers, revision 0004)."""

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class Message(Base):
    """One received edXML message; its bytes are a payload by sha256 (storage.payloads.store: inline or a blob file)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("sender_id", "sha256", name="uq_messages_sender_sha256"),
        Index("ix_messages_sender_document", "sender_id", "document_id"),
        # A sender's documents newest first, ids included: the outbox pages and counts read the index
        # alone and probe deliveries with the ids, without visiting the messages themselves.
        Index("ix_messages_sender_received", "sender_id", "kind", "received_at", "id"),
        Index("ix_messages_received_at", "received_at"),
        Index("ix_messages_response_for", "response_for_id"),
        # A sender's DocumentId names one new document; revokes and updates refer to it.
        Index(
            "uq_messages_new_document",
            "sender_id",
            "document_id",
            unique=True,
            postgresql_where=text("kind = 'edoc' AND business_type = 0"),
            sqlite_where=text("kind = 'edoc' AND business_type = 0"),
        ),
        # The operators' hub-wide search (revision 0010): exact keys, and a sender's messages of any kind
        # newest first (ids sort by arrival); subject text through trigrams on PostgreSQL (a plain index on
        # SQLite, unused by LIKE).
        Index("ix_messages_document_id", "document_id"),
        Index("ix_messages_sha256", "sha256"),
        Index("ix_messages_sender_id", "sender_id", "id"),
        # Documents only: a status's subject is its description, and each indexed subject costs the submission.
        Index("ix_messages_subject_trgm", "subject", postgresql_using="gin",
              postgresql_ops={"subject": "gin_trgm_ops"}, postgresql_where=text("kind = 'edoc'"),
              sqlite_where=text("kind = 'edoc'")),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    document_id: Mapped[str] = mapped_column(String(255))
    sender_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    business_type: Mapped[int] = mapped_column(SmallInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Search metadata copied from the verified header (documents only).
    subject: Mapped[str] = mapped_column(Text, default="")
    code_number: Mapped[str] = mapped_column(String(64), default="")
    code_notation: Mapped[str] = mapped_column(String(128), default="")
    type_name: Mapped[str] = mapped_column(String(128), default="")
    type_abbreviation: Mapped[str] = mapped_column(String(16), default="")
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    promulgation_date: Mapped[str | None] = mapped_column(String(10))
    attachment_count: Mapped[int] = mapped_column(Integer, default=0)
    # Status messages: their code; documents of types 1-3 and statuses: what they answer.
    status_code: Mapped[str | None] = mapped_column(String(2))
    response_for_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    # The axis-signed submission receipt returned to the sender.
    receipt_xml: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Set when the sender takes the document back (13) or a revoke is agreed (15).
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The signature check done at acceptance (JSON: signer certificate, algorithms, trust path), shown by the
    # web document page instead of verifying the stored bytes again; deferred: lists never read it.
    signature_check: Mapped[str | None] = mapped_column(Text, deferred=True)
    # "signature" (its XML-DSig verified) or "transport" (accepted unsigned under legacy-transport).
    authenticated_by: Mapped[str] = mapped_column(String(16), default="signature", server_default="signature")

    sender: Mapped[Agency] = relationship(lazy="raise")


@dataclass(frozen=True)
class MessageRow:
    """The column values of a new ``messages`` row: the write path builds this, not an ORM instance."""

    id: str
    kind: str
    document_id: str
    sender_id: int
    sha256: str
    size: int
    received_at: datetime
    business_type: int = 0
    subject: str = ""
    code_number: str = ""
    code_notation: str = ""
    type_name: str = ""
    type_abbreviation: str = ""
    priority: int = 0
    promulgation_date: str | None = None
    attachment_count: int = 0
    status_code: str | None = None
    response_for_id: str | None = None
    receipt_xml: bytes | None = None
    revoked_at: datetime | None = None
    signature_check: str | None = None
    authenticated_by: str = "signature"

    def values(self) -> dict[str, Any]:
        """Every column by name, as a multi-row INSERT wants them (each row names the same columns)."""
        return dict(self.__dict__)


class Delivery(Base):
    """One message for one recipient agency, with its own state machine."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient_id", name="uq_deliveries_message_recipient"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_inbox", "recipient_id", "state", "message_id"),
        # The pull inbox: only waiting items, already in page order.
        Index(
            "ix_deliveries_waiting",
            "recipient_id",
            "message_id",
            postgresql_where=text("state IN ('queued', 'retrieved') AND mode = 'pull'"),
            sqlite_where=text("state IN ('queued', 'retrieved') AND mode = 'pull'"),
        ),
        # The operators' search by recipient, newest message first (revision 0010).
        Index("ix_deliveries_recipient_message", "recipient_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    mode: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retrieved_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    # The recipient's signed status 01 that proves delivery.
    receipt_message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    # Set when this recipient agreed (15) to revoke the document: its copy is frozen.
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The national SDK's hub-level acknowledgement (updateStatus: processing, done, fail); "done"
    # takes a document off getReceivedEdocList. Delivery itself still needs the signed status 01.
    sdk_status: Mapped[str | None] = mapped_column(String(16))

    message: Mapped[Message] = relationship(foreign_keys=[message_id], lazy="raise")
    recipient: Mapped[Agency] = relationship(lazy="raise")


class DeliveryAttempt(Base):
    """One push attempt that did not deliver: when, what came of it, and why (revision 0010).

    A successful attempt needs no row: the delivery's ``delivered_at`` and ``attempts`` tell it.
    """

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column()
    # retry: another attempt is scheduled; failed: the deadline passed and the delivery gave up.
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")


class StatusEvent(Base):
    """A status (01-06, 13, 15, 16) recorded on a document's timeline."""

    __tablename__ = "statuses"
    __table_args__ = (Index("ix_statuses_document", "document_message_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    document_message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    status_message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    status_code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    # Time the agency stated in its status (edXML Timestamp) and time the axis got it.
    stated_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person using the web UI on behalf of an agency."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set while nobody knows the password: the account waits for its owner to use a set-password link.
    must_set_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SHA-256 of the one-time set-password link, so a database reader cannot use a pending link.
    password_link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_link_expires_at: Mapped[datetime | None] = mapped_column()


class PeopleRequest(Base):
    """A people change one operator asked for and a second operator must confirm (or anyone cancel)."""

    __tablename__ = "people_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # add, reset, role
    login: Mapped[str] = mapped_column(String(64), index=True)
    agency_code: Mapped[str] = mapped_column(String(13))
    role: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(16))  # confirmed, cancelled; None while pending


class _AuditFields:
    """What an audit entry says, queued or chained."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")


class AuditEvent(_AuditFields, Base):
    """Append-only, hash-chained record of every state change and person's read."""

    __tablename__ = "audit_events"
    # A message's story lists the entries about it (revision 0010).
    __table_args__ = (Index("ix_audit_events_subject", "subject"),)

    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditQueueEntry(_AuditFields, Base):
    """An audit entry committed with its state change and not yet chained (see storage.audit)."""

    __tablename__ = "audit_queue"


class WebSession(Base):
    """A logged-in browser: only the hash of the cookie value is stored."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """One throttled key (an account, a client address, or the pair): failures and when the next try may run.

    A login claims its keys with one atomic upsert before the password is checked (see
    storage/throttle.py), so parallel attempts and several nodes share the same count.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_updated", "updated_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    next_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class VxpReplay(Base):
    """A national-SDK hash-header already accepted: the same one again inside the window is a replay."""

    __tablename__ = "vxp_replays"
    __table_args__ = (Index("ix_vxp_replays_seen_at", "seen_at"),)

    hash_header: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column()


class VxpClock(Base):
    """The zone an agency's SDK clock was last read in, when not the first of vxp_clock_zones.

    Kept apart from agencies: writing it must not bump the registry version.
    """

    __tablename__ = "vxp_clocks"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), primary_key=True)
    #: The accepted zone's UTC offset, minutes.
    offset_minutes: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column()


class JobRun(Base):
    """One run of a scheduled job on some node, with its outcome."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job", "job", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[str] = mapped_column(Text, default="")


class JobLease(Base):
    """Which node may run a job right now: a claim in the database, not an in-memory flag."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    until: Mapped[datetime | None] = mapped_column()


class Payload(Base):
    """A small payload kept in the database, committed with its message; larger ones are files in the blob store."""

    __tablename__ = "payloads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class PayloadChunk(Base):
    """One piece (``seq`` from 0) of a large payload kept in the database (``blob_backend = "database"``)."""

    __tablename__ = "payload_chunks"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
