"""The edXML message model: documents and status messages as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from envelope.attachments import Attachment, ParsedAttachment
from envelope.codes import (
    DOCUMENT_TYPES,
    VN_TZ,
    BusinessType,
    Priority,
    StatusCode,
    document_type_by_abbreviation,
    format_document_id,
)
from envelope.text import NfcFields

__all__ = [
    "Attachment",
    "Bussiness",
    "DocumentCode",
    "DocumentMessage",
    "DocumentType",
    "Organization",
    "OtherInfo",
    "ParsedAttachment",
    "PromulgationInfo",
    "ResponseFor",
    "SignerInfo",
    "StaffInfo",
    "StatusMessage",
    "TraceHeader",
    "wire_time",
]


def wire_time(dt: datetime | None = None) -> datetime:
    """Return ``dt`` (default: now) as it travels: Vietnam time, whole seconds."""
    if dt is None:
        dt = datetime.now(VN_TZ)
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("edXML timestamps need a timezone-aware datetime")
    return dt.astimezone(VN_TZ).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Organization(NfcFields):
    """An agency as named in From or To."""

    organ_id: str
    organ_name: str
    organization_in_charge: str = ""
    organ_add: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True, slots=True)
class DocumentCode(NfcFields):
    """The document's number and symbol, e.g. 7816 / VPCP-TTĐT."""

    code_number: str
    code_notation: str

    def __str__(self) -> str:
        """Return ``Number/Notation`` as written on the document."""
        return f"{self.code_number}/{self.code_notation}"


@dataclass(frozen=True, slots=True)
class PromulgationInfo(NfcFields):
    """Where and when the document was issued."""

    place: str
    promulgation_date: date


@dataclass(frozen=True, slots=True)
class DocumentType(NfcFields):
    """The document's type (Type, TypeDetail, TypeName)."""

    type: int
    type_detail: int
    type_name: str

    @classmethod
    def from_abbreviation(cls, abbr: str = "") -> DocumentType:
        """Return the administrative-document type for a symbol abbreviation ("" is Công văn)."""
        info = document_type_by_abbreviation(abbr)
        return cls(type=1, type_detail=DOCUMENT_TYPES.index(info), type_name=info.name_vi)


@dataclass(frozen=True, slots=True)
class SignerInfo(NfcFields):
    """Who signed the paper document."""

    competence: str
    position: str
    full_name: str


@dataclass(frozen=True, slots=True)
class OtherInfo(NfcFields):
    """Priority, distribution and physical details of the document."""

    priority: Priority = Priority.NORMAL
    sphere_of_promulgation: str = ""
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: str = ""
    appendixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Normalise text and turn a plain int priority into a Priority."""
        NfcFields.__post_init__(self)
        object.__setattr__(self, "priority", Priority(self.priority))


@dataclass(frozen=True, slots=True)
class ResponseFor(NfcFields):
    """A reference to an earlier document (answered, revoked, or reported on)."""

    organ_id: str
    code: str
    promulgation_date: date
    document_id: str

    @classmethod
    def to_document(cls, doc: DocumentMessage) -> ResponseFor:
        """Return the reference that points at ``doc``."""
        return cls(
            organ_id=doc.from_.organ_id,
            code=str(doc.code),
            promulgation_date=doc.promulgation.promulgation_date,
            document_id=doc.document_id,
        )


@dataclass(frozen=True, slots=True)
class TraceHeader(NfcFields):
    """One hop of the message: an agency and when it handled the message."""

    organ_id: str
    timestamp: datetime

    def __post_init__(self) -> None:
        """Normalise text and keep the timestamp as it travels (Vietnam time, seconds)."""
        NfcFields.__post_init__(self)
        object.__setattr__(self, "timestamp", wire_time(self.timestamp))


@dataclass(frozen=True, slots=True)
class StaffInfo(NfcFields):
    """The clerk or officer responsible."""

    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""


@dataclass(frozen=True, slots=True)
class Bussiness(NfcFields):
    """What the message does (new, revoke, update, replace) and why; the standard's spelling.

    ``replacement_info_list`` holds the DocumentIds of the documents replaced.
    """

    bussiness_doc_type: BusinessType = BusinessType.NEW
    bussiness_doc_reason: str = ""
    paper: int = 0
    staff_info: StaffInfo | None = None
    bussiness_document_info: str = ""
    replacement_info_list: tuple[str, ...] = ()
    #: Deployed software's ``Bussiness/DocumentId``: the document acted on, when ResponseFor is absent.
    document_id: str = ""

    def __post_init__(self) -> None:
        """Normalise text and turn a plain int type into a BusinessType."""
        NfcFields.__post_init__(self)
        object.__setattr__(self, "bussiness_doc_type", BusinessType(self.bussiness_doc_type))


@dataclass(frozen=True, slots=True)
class DocumentMessage(NfcFields):
    """An edXML document: header fields and attachments.

    Build one with :meth:`new`, which derives ``document_id`` and a first trace
    header; the plain constructor takes every field exactly as on the wire.
    """

    from_: Organization
    to: tuple[Organization, ...]
    document_id: str
    code: DocumentCode
    promulgation: PromulgationInfo
    document_type: DocumentType
    subject: str
    content: str = ""
    signer: SignerInfo | None = None
    due_date: date | None = None
    to_places: tuple[str, ...] = ()
    other_info: OtherInfo = field(default_factory=OtherInfo)
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = None
    trace_headers: tuple[TraceHeader, ...] = ()
    bussiness: Bussiness = field(default_factory=Bussiness)
    attachments: tuple[Attachment | ParsedAttachment, ...] = ()

    @classmethod
    def new(
        cls,
        *,
        from_: Organization,
        to: Iterable[Organization],
        code: DocumentCode,
        promulgation: PromulgationInfo,
        document_type: DocumentType,
        subject: str,
        attachments: Iterable[Attachment | ParsedAttachment] = (),
        response_for: Iterable[ResponseFor] = (),
        trace_headers: Iterable[TraceHeader] | None = None,
        sent_at: datetime | None = None,
        **others: object,
    ) -> DocumentMessage:
        """Make a document, deriving DocumentId and, unless given, a trace header for the sender."""
        if trace_headers is None:
            trace_headers = (TraceHeader(from_.organ_id, wire_time(sent_at)),)
        return cls(
            from_=from_,
            to=tuple(to),
            document_id=format_document_id(
                from_.organ_id,
                promulgation.promulgation_date,
                code.code_number,
                code.code_notation,
            ),
            code=code,
            promulgation=promulgation,
            document_type=document_type,
            subject=subject,
            attachments=tuple(attachments),
            response_for=tuple(response_for),
            trace_headers=tuple(trace_headers),
            **others,  # type: ignore[arg-type]  # optional fields by name; the dataclass checks them
        )

    @property
    def business_type(self) -> BusinessType:
        """New, revoke, update or replace."""
        return self.bussiness.bussiness_doc_type

    @property
    def priority(self) -> Priority:
        """The document's urgency."""
        return self.other_info.priority

    @property
    def recipient_codes(self) -> tuple[str, ...]:
        """Agency codes of the recipients, in message order."""
        return tuple(o.organ_id for o in self.to)


@dataclass(frozen=True, slots=True)
class StatusMessage(NfcFields):
    """An edXML status message about a document (01 is the delivery receipt)."""

    from_: Organization
    response_for: ResponseFor
    staff_info: StaffInfo
    status_code: StatusCode
    description: str
    timestamp: datetime
    trace_headers: tuple[TraceHeader, ...] = ()

    def __post_init__(self) -> None:
        """Normalise text, coerce the status code, keep the timestamp as it travels."""
        NfcFields.__post_init__(self)
        object.__setattr__(self, "status_code", StatusCode(self.status_code))
        object.__setattr__(self, "timestamp", wire_time(self.timestamp))

    @classmethod
    def new(
        cls,
        *,
        from_: Organization,
        response_for: ResponseFor,
        status_code: StatusCode,
        description: str = "",
        staff_info: StaffInfo | None = None,
        timestamp: datetime | None = None,
        trace_headers: Iterable[TraceHeader] | None = None,
    ) -> StatusMessage:
        """Make a status message stamped now (or at ``timestamp``), traced to its sender."""
        at = wire_time(timestamp)
        if trace_headers is None:
            trace_headers = (TraceHeader(from_.organ_id, at),)
        return cls(
            from_=from_,
            response_for=response_for,
            staff_info=staff_info or StaffInfo(),
            status_code=StatusCode(status_code),
            description=description,
            timestamp=at,
            trace_headers=tuple(trace_headers),
        )
