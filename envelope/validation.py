"""edXML rules a message must keep, checked before building and after parsing."""

from __future__ import annotations

import re
from collections.abc import Iterable

from envelope.codes import BusinessType, StatusCode, is_agency_code, parse_document_id
from envelope.errors import InvalidEnvelope
from envelope.model import (
    DocumentMessage,
    Organization,
    ResponseFor,
    StatusMessage,
    TraceHeader,
)

#: Largest whole number a numeric edXML field may carry (nine digits).
MAX_NUMBER = 999_999_999
#: Longest CodeNumber, CodeNotation and TypeName, in characters: they are identifiers and
#: code-list names the archive indexes, not prose (DocumentId stays under 255 characters).
MAX_CODE_NUMBER = 64
MAX_CODE_NOTATION = 128
MAX_TYPE_NAME = 128
#: Longest DocumentId (the column holding it).
MAX_DOCUMENT_ID = 255
#: An agency code at the start of a DocumentId (then it must be the sender's, whatever follows).
_LEADING_AGENCY_CODE = re.compile(r"^\s*(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})(?![0-9A-Za-z])", re.ASCII)


def validate_document(msg: DocumentMessage) -> None:
    """Raise InvalidEnvelope (with the field at fault) if the document breaks an edXML rule."""
    _organization(msg.from_, "MessageHeader/From", name_required=True)
    if not msg.to:
        raise InvalidEnvelope("a document needs at least one recipient", field="MessageHeader/To")
    for i, org in enumerate(msg.to, 1):
        _organization(org, f"MessageHeader/To[{i}]", name_required=False)
    _required(msg.code.code_number, "MessageHeader/Code/CodeNumber")
    if "/" in msg.code.code_number:
        # DocumentId splits Number/Notation at the first slash.
        raise InvalidEnvelope(
            "CodeNumber must not contain '/'", field="MessageHeader/Code/CodeNumber"
        )
    _required(msg.code.code_notation, "MessageHeader/Code/CodeNotation")
    _max_length(msg.code.code_number, MAX_CODE_NUMBER, "MessageHeader/Code/CodeNumber")
    _max_length(msg.code.code_notation, MAX_CODE_NOTATION, "MessageHeader/Code/CodeNotation")
    _max_length(msg.document_type.type_name, MAX_TYPE_NAME, "MessageHeader/DocumentType/TypeName")
    _required(msg.subject, "MessageHeader/Subject")
    _document_id(msg)
    for i, ref in enumerate(msg.response_for, 1):
        _response_for(ref, f"MessageHeader/ResponseFor[{i}]")
    if msg.business_type != BusinessType.NEW and not msg.response_for:
        # Revoke, update and replace must say which earlier document they act on: in ResponseFor,
        # or where deployed software writes it, Bussiness/DocumentId (one meaning: noted).
        if not msg.bussiness.document_id.strip():
            raise InvalidEnvelope(
                f"business type {int(msg.business_type)} needs a ResponseFor or a Bussiness/DocumentId",
                field="MessageHeader/ResponseFor",
            )
        _max_length(msg.bussiness.document_id, MAX_DOCUMENT_ID, "TraceHeaderList/Bussiness/DocumentId")
    _numbers(msg)
    if not msg.trace_headers:
        raise InvalidEnvelope(
            "a document needs at least one TraceHeader", field="TraceHeaderList/TraceHeader"
        )
    _trace_headers(msg.trace_headers)
    _attachments(msg)


def validate_status(msg: StatusMessage) -> None:
    """Raise InvalidEnvelope (with the field at fault) if the status breaks an edXML rule."""
    _organization(msg.from_, "MessageHeader/From", name_required=True)
    _response_for(msg.response_for, "MessageHeader/ResponseFor")
    if msg.status_code == StatusCode.REFUSED and not msg.description.strip():
        raise InvalidEnvelope("a refusal must give its reason", field="MessageHeader/Description")
    _trace_headers(msg.trace_headers)


def _required(value: str, field: str) -> None:
    if not value.strip():
        raise InvalidEnvelope(f"{field} is empty", field=field)


def _max_length(value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise InvalidEnvelope(f"{field} is {len(value)} characters long, at most {limit} allowed", field=field)


def _agency_code(value: str, field: str) -> None:
    if not is_agency_code(value):
        raise InvalidEnvelope(f"{value!r} is not an agency code like 000.00.00.G22", field=field)


def _organization(org: Organization, path: str, *, name_required: bool) -> None:
    _agency_code(org.organ_id, f"{path}/OrganId")
    if name_required:
        _required(org.organ_name, f"{path}/OrganName")


def _document_id(msg: DocumentMessage) -> None:
    # Deployed software writes UUIDs, or a date other than PromulgationDate: those are
    # recorded (document_notes), not refused. Uniqueness is per sender, so no agency can squat
    # another's; an id that starts with an agency code must still name the sender.
    field = "MessageHeader/DocumentId"
    _required(msg.document_id, field)
    _max_length(msg.document_id, MAX_DOCUMENT_ID, field)
    named = _LEADING_AGENCY_CODE.match(msg.document_id)
    if named is not None and named.group(1) != msg.from_.organ_id:
        raise InvalidEnvelope(
            f"DocumentId {msg.document_id!r} names agency {named.group(1)}, not the sender {msg.from_.organ_id}",
            field=field,
        )


def document_notes(msg: DocumentMessage) -> list[str]:
    """What an accepted document does differently from the standard's letter (recorded, not refused)."""
    notes: list[str] = []
    try:
        _, day, number, notation = parse_document_id(msg.document_id)
    except InvalidEnvelope:
        notes.append("DocumentId is not in the OrganId,yyyy/MM/dd,Number/Notation form")
    else:
        if day != msg.promulgation.promulgation_date:
            notes.append("DocumentId date differs from PromulgationDate")
        if (number, notation) != (msg.code.code_number, msg.code.code_notation):
            notes.append("DocumentId Number/Notation differs from Code")
    for i, th in enumerate(msg.trace_headers, 1):
        if not is_agency_code(th.organ_id):
            notes.append(f"TraceHeader[{i}] OrganId {th.organ_id[:40]!r} is not an agency code")
    for i, ref in enumerate(msg.response_for, 1):
        try:
            parse_document_id(ref.document_id)
        except InvalidEnvelope:
            notes.append(f"ResponseFor[{i}] DocumentId is not in the OrganId,yyyy/MM/dd,Number/Notation form")
    if msg.business_type != BusinessType.NEW and not msg.response_for:
        notes.append("the original is named by Bussiness/DocumentId, not ResponseFor")
        try:
            parse_document_id(msg.bussiness.document_id)
        except InvalidEnvelope:
            notes.append(f"Bussiness/DocumentId {msg.bussiness.document_id[:80]!r} is not in the "
                         "OrganId,yyyy/MM/dd,Number/Notation form or its date is not a calendar date; kept as text")
    for att in msg.attachments:
        manifest_type = getattr(att, "manifest_content_type", "")
        if manifest_type:
            notes.append(f"attachment {att.content_id[:60]!r}: ContentType {att.content_type} where the manifest "
                         f"says {manifest_type}")
    return notes


def _response_for(ref: ResponseFor, path: str) -> None:
    _agency_code(ref.organ_id, f"{path}/OrganId")
    # Matched against the DocumentId the earlier document was stored under, whatever its form.
    _required(ref.document_id, f"{path}/DocumentId")
    _max_length(ref.document_id, MAX_DOCUMENT_ID, f"{path}/DocumentId")


def _numbers(msg: DocumentMessage) -> None:
    checks = (
        (msg.other_info.promulgation_amount, "MessageHeader/OtherInfo/PromulgationAmount"),
        (msg.other_info.page_amount, "MessageHeader/OtherInfo/PageAmount"),
        (msg.steering_type, "MessageHeader/SteeringType"),
        (msg.document_type.type, "MessageHeader/DocumentType/Type"),
        (msg.document_type.type_detail, "MessageHeader/DocumentType/TypeDetail"),
        (msg.bussiness.paper, "TraceHeaderList/Bussiness/Paper"),
    )
    for value, field in checks:
        if value is not None and not 0 <= value <= MAX_NUMBER:
            raise InvalidEnvelope(f"{field} must be between 0 and {MAX_NUMBER}", field=field)


def _trace_headers(headers: Iterable[TraceHeader]) -> None:
    # Trace headers are history, not routing: deployed software writes codes in other formats,
    # recorded by document_notes. Only a size bound applies.
    for i, th in enumerate(headers, 1):
        _max_length(th.organ_id, MAX_DOCUMENT_ID, f"TraceHeaderList/TraceHeader[{i}]/OrganId")


def _attachments(msg: DocumentMessage) -> None:
    seen: set[str] = set()
    for i, att in enumerate(msg.attachments, 1):
        path = f"edXMLManifest/Reference[{i}]"
        _required(att.content_id, f"{path}/ContentId")
        _required(att.name, f"{path}/AttachmentName")
        if att.content_id in seen:
            raise InvalidEnvelope(
                f"ContentId {att.content_id!r} is used twice", field=f"{path}/ContentId"
            )
        seen.add(att.content_id)
