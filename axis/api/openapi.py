"""The OpenAPI 3.1 description of the agency API, served at /api/v1/openapi.json.

The document is built here in Python so that its enumerations (problem codes, status codes,
delivery states and modes, priorities, business types) come from the code that produces the
values. ``tests/exchange/test_openapi.py`` checks that it is a valid OpenAPI 3.1 document, that
it names exactly the routes of the application, and that real answers validate against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web

from axis.api.problems import PROBLEM_TYPE_BASE, ApiProblem
from axis.exchange.pull import BODY_MAX_BYTES, MAX_BATCH, MAX_WAIT_SECONDS, PAGE_BODY_BUDGET
from envelope.codes import BusinessType, Priority, StatusCode
from storage.models import DeliveryMode, DeliveryState, MessageKind

AGENCY_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
MESSAGE_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

Schema = dict[str, Any]


def _ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _object(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), **extra: Any) -> Schema:
    """A closed object whose properties are all required unless named in ``optional``."""
    return {
        "type": "object",
        "required": [k for k in properties if k not in optional],
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


def _nullable(schema: Schema) -> Schema:
    """``schema`` or null (JSON Schema 2020-12 type list)."""
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    return out


def _message_id_string() -> Schema:
    return {"type": "string", "pattern": MESSAGE_ID_PATTERN}


def _sha256_string() -> Schema:
    return {"type": "string", "pattern": SHA256_PATTERN}


def _problem_codes() -> list[str]:
    """Every ``code`` an ApiProblem (or a subclass) can carry."""
    codes: set[str] = set()
    stack: list[type[ApiProblem]] = [ApiProblem]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    return sorted(codes)


def _schemas() -> dict[str, Schema]:
    date_time: Schema = {"type": "string", "format": "date-time"}
    status_code: Schema = {
        "type": "string",
        "enum": [c.value for c in StatusCode],
        "description": "edXML status code: 01 arrived, 02 refused, 03 accepted, 04 assigned, 05 being handled, "
                       "06 completed, 13 taken back, 15 revoke/update/replace agreed, 16 ... refused.",
    }
    inbox_common: dict[str, Schema] = {
        "id": _ref("MessageId"),
        "document_id": _ref("DocumentId"),
        "from": _ref("AgencyCode"),
        "subject": {"type": "string", "description": "Document subject; for a status, its description "
                                                     "(first 500 characters)."},
        "priority": {"type": "integer", "enum": [int(p) for p in Priority],
                     "description": "edXML priority (0 normal ... 4 flash at a time); 0 for statuses."},
        "received_at": date_time,
        "sha256": _ref("Sha256"),
        "size": {"type": "integer", "minimum": 0, "description": "Size of the signed edXML in bytes."},
    }
    body_in_page: Schema = {
        "type": "string", "contentEncoding": "base64", "contentMediaType": "application/xml",
        "description": "With `include=bodies`: the signed edXML, byte for byte, base64-encoded. Absent for a "
                       f"message over {BODY_MAX_BYTES // 1024} KiB or past the page's {PAGE_BODY_BUDGET >> 20} MiB "
                       "of bodies: fetch it with GET /api/v1/messages/{id}.",
    }
    submission_common: dict[str, Schema] = {
        "id": _ref("MessageId"),
        "document_id": _ref("DocumentId"),
        "sha256": _ref("Sha256"),
        "received_at": date_time,
        "recipients": {
            "type": "array",
            "description": "The agencies the message was routed to, in routing order.",
            "items": _object({
                "organ_id": _ref("AgencyCode"),
                "state": {**_ref("DeliveryState"),
                          "description": "Always `queued`: the state at acceptance (a re-sent copy gets the "
                                         "original reply again); follow the trace for the current state."},
            }),
        },
        "receipt": {
            "type": "string",
            "contentMediaType": "application/xml",
            "description": "The submission receipt signed by the axis (verify it with GET /api/v1/certificate).",
        },
    }
    return {
        "AgencyCode": {
            "type": "string",
            "pattern": AGENCY_CODE_PATTERN,
            "description": "Agency identifier (mã định danh), NNN.NN.NN.Xnn.",
            "examples": ["000.00.00.G22"],
        },
        "MessageId": {
            "type": "string",
            "pattern": MESSAGE_ID_PATTERN,
            "description": "Time-ordered message id assigned by the axis (ULID layout, Crockford base32).",
            "examples": ["01JD5Z9Q4W3X7Y8ZABCDEFGHJK"],
        },
        "Sha256": {"type": "string", "pattern": SHA256_PATTERN,
                   "description": "Lowercase hex SHA-256 of the exact signed bytes."},
        "DocumentId": {
            "type": "string",
            "minLength": 1,
            "description": "edXML DocumentId: `OrganId,yyyy/MM/dd,Number/Notation`.",
            "examples": ["000.00.00.G22,2026/11/20,1/VPCP-TTĐT"],
        },
        "StatusCode": status_code,
        "DeliveryState": {
            "type": "string",
            "enum": [s.value for s in DeliveryState],
            "description": "queued → (pushing → retry_wait)* → delivered | failed for push agencies; "
                           "queued → retrieved → delivered for pull agencies.",
        },
        "DeliveryMode": {"type": "string", "enum": [m.value for m in DeliveryMode]},
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details with a stable `code`. Other members may be added.",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string", "format": "uri",
                         "description": f"{PROBLEM_TYPE_BASE}<code without the AXIS. prefix>"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "code": {"type": "string", "enum": _problem_codes()},
                "field": {"type": "string", "description": "The field (edXML path or query parameter) at fault."},
                "instance": {"type": "string", "format": "uri-reference", "description": "The request path."},
                "reason": {"type": "string", "description": "AXIS.Signature: why the signature was refused."},
                "recipients": {"type": "array", "items": {"type": "string"},
                               "description": "AXIS.UnknownRecipient: the codes not registered or not active."},
                "message_id": {**_ref("MessageId"),
                               "description": "AXIS.Duplicate: the message already sent under this DocumentId; "
                                              "AXIS.Disposed: the disposed message."},
                "disposed_at": {"type": "string", "format": "date-time",
                                "description": "AXIS.Disposed: when the payload was destroyed."},
                "disposal_id": {"type": ["integer", "null"],
                                "description": "AXIS.Disposed: the disposal list it was destroyed under."},
                "request_id": {"type": "string", "description": "AXIS.Unavailable: the id the server's log line "
                                                                "carries (X-Request-Id when the client sent one)."},
            },
            "additionalProperties": True,
        },
        "Submission": {
            **_object(
                {
                    **submission_common,
                    "kind": {"type": "string", "enum": [k.value for k in MessageKind]},
                    "status_code": status_code,
                    "authenticated_by": {"type": "string", "const": "transport",
                                         "description": "Present when accepted without a valid XML signature "
                                                        "(legacy-transport); the receipt states it too."},
                },
                optional=("status_code", "authenticated_by"),
            ),
            "description": "The reply to an accepted submission (202), repeated identically (200) when the "
                           "same bytes are sent again. `status_code` is present for statuses only.",
        },
        "DocumentSubmission": {
            "allOf": [_ref("Submission")],
            "properties": {"kind": {"const": MessageKind.EDOC.value}},
            "not": {"required": ["status_code"]},
        },
        "StatusSubmission": {
            "allOf": [_ref("Submission")],
            "properties": {"kind": {"const": MessageKind.STATUS.value}},
            "required": ["status_code"],
        },
        "InboxDocumentItem": _object({
            **inbox_common,
            "kind": {"type": "string", "const": MessageKind.EDOC.value},
            "response_for": {**_ref("MessageId"),
                             "description": "Revoke, update or replace: the message id of the earlier document."},
            "body": body_in_page,
        }, optional=("response_for", "body")),
        "InboxStatusItem": _object({
            **inbox_common,
            "kind": {"type": "string", "const": MessageKind.STATUS.value},
            "status_code": status_code,
            "response_for": {**_ref("MessageId"), "description": "The message id of the document it is about."},
            "body": body_in_page,
        }, optional=("body",)),
        "InboxItem": {
            "oneOf": [_ref("InboxDocumentItem"), _ref("InboxStatusItem")],
            "discriminator": {
                "propertyName": "kind",
                "mapping": {
                    MessageKind.EDOC.value: "#/components/schemas/InboxDocumentItem",
                    MessageKind.STATUS.value: "#/components/schemas/InboxStatusItem",
                },
            },
        },
        "InboxPage": _object({
            "items": {"type": "array", "items": _ref("InboxItem"), "description": "Oldest first."},
            "next_cursor": {**_nullable(_message_id_string()),
                            "description": "Pass as `cursor` for the next page; null on the last page."},
        }),
        "Ack": _object({
            "id": _ref("MessageId"),
            "state": {"type": "string", "const": DeliveryState.DELIVERED.value},
        }),
        "AckRequest": _object({
            "ids": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": {"type": "string"},
                    "description": "Message ids of status items in this agency's inbox."},
        }),
        "AckResults": _object({
            "results": {"type": "array", "description": "One per id, in the order given.", "items": {
                "oneOf": [_ref("Ack"), _object({
                    "id": {"type": "string"},
                    "problem": {**_ref("Problem"), "description": "What the single acknowledgement would "
                                                                  "have answered (404, 409)."},
                })],
            }},
        }),
        "StatusBatchRequest": _object({
            "statuses": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                         "items": {"type": "string", "contentEncoding": "base64",
                                   "contentMediaType": "application/xml"},
                         "description": "Signed edXML statuses, each base64-encoded byte for byte."},
        }),
        "StatusBatchResults": _object({
            "results": {"type": "array", "description": "One per status, in the order given.", "items": {
                "oneOf": [
                    _object({"status": {"enum": [200, 202], "description": "202 stored now, 200 stored before."},
                             "reply": {**_ref("StatusSubmission"),
                                       "description": "What POST /api/v1/statuses would have answered."}}),
                    _object({"status": {"type": "integer", "minimum": 400},
                             "problem": {**_ref("Problem"), "description": "What POST /api/v1/statuses would "
                                                                           "have answered for this status."}}),
                ],
            }},
        }),
        "TraceRecipient": _object({
            "organ_id": _ref("AgencyCode"),
            "mode": _ref("DeliveryMode"),
            "state": _ref("DeliveryState"),
            "outcome": {"type": "string",
                        "enum": ["queued", "pushing", "retry_wait", "retrieved", "delivered", "refused", "failed",
                                 "revoked"],
                        "description": "What became of the delivery as the pages and the CLI say it: the state, "
                                       "or revoked when the document or this copy was taken back."},
            "attempts": {"type": "integer", "minimum": 0, "description": "Push attempts made."},
            "retrieved_at": _nullable(date_time),
            "delivered_at": _nullable(date_time),
            "receipt_id": {**_nullable(_message_id_string()),
                           "description": "The recipient's signed status 01 that proves delivery."},
            "revoked_at": {**_nullable(date_time),
                           "description": "Set when this recipient agreed (15) to a revoke: its copy is frozen."},
            "last_error": {**_nullable({"type": "string"}),
                           "description": "Why the last push attempt failed, in fixed words (e.g. \"recipient "
                                          "endpoint unreachable\"); the detail is for the axis operator."},
        }),
        "TraceEvent": _object({
            "status_code": status_code,
            "label": {"type": "string", "description": "English label of the status code."},
            "from": _ref("AgencyCode"),
            "description": {"type": "string"},
            "stated_at": {**_nullable(date_time), "description": "The time the agency stated in its status."},
            "received_at": date_time,
            "message_id": {**_ref("MessageId"), "description": "The status message."},
            "document_message_id": {**_ref("MessageId"),
                                    "description": "The document (or revoke/update/replace of it) it is about."},
        }),
        "Trace": _object({
            "id": _ref("MessageId"),
            "document_id": _ref("DocumentId"),
            "from": _ref("AgencyCode"),
            "subject": {"type": "string"},
            "business_type": {"type": "integer", "enum": [int(b) for b in BusinessType],
                              "description": "0 new, 1 revoke, 2 update, 3 replace."},
            "received_at": date_time,
            "revoked_at": {**_nullable(date_time), "description": "Set when the sender took it back (13)."},
            "authenticated_by": {"type": "string", "enum": ["signature", "transport"],
                                 "description": "`transport`: accepted without a valid XML signature under the "
                                                "sender's legacy-transport policy."},
            "recipients": {"type": "array", "items": _ref("TraceRecipient")},
            "timeline": {"type": "array", "items": _ref("TraceEvent"),
                         "description": "Statuses about the document and its revokes/updates, in arrival order."},
        }),
        "Agency": _object({
            "code": _ref("AgencyCode"),
            "name": {"type": "string"},
            "active": {"type": "boolean"},
            "certificate_fingerprint": {**_nullable(_sha256_string()),
                                        "description": "SHA-256 of the registered certificate (DER)."},
            "delivery_mode": _ref("DeliveryMode"),
        }),
        "AgencyList": _object({"items": {"type": "array", "items": _ref("Agency"),
                                         "description": "Ordered by code."}}),
        "MonthlyReportRow": _object({
            "agency": _ref("AgencyCode"),
            "month": {"type": "string", "pattern": MONTH_PATTERN},
            **{name: {"type": "integer", "minimum": 0, "description": text} for name, text in (
                ("sent", "Documents the agency submitted in the month."),
                ("received", "Deliveries to the agency of documents submitted in the month."),
                ("delivered", "Deliveries of its documents of the month that have the recipient's signed 01."),
                ("refused", "Deliveries of its documents of the month refused with a status 02."),
                ("failed", "Deliveries of its documents of the month the axis gave up on."),
                ("bytes_in", "Bytes of every message the agency submitted in the month."),
                ("disposed", "Its documents whose payload was disposed of in the month."),
                ("unsigned", "Its documents of the month accepted without a valid XML signature "
                             "(legacy-transport signature policy)."),
            )},
            "median_receipt_s": {**_nullable({"type": "number"}),
                                 "description": "Median seconds from submission to the signed 01."},
            "p95_receipt_s": {**_nullable({"type": "number"}),
                              "description": "95th percentile (nearest rank) of the same."},
            "storage_growth_bytes": {"type": "integer",
                                     "description": "bytes_in minus the payload bytes disposed of in the month."},
        }),
        "MonthlyReport": _object({
            "month": {"type": "string", "pattern": MONTH_PATTERN},
            "items": {"type": "array", "items": _ref("MonthlyReportRow"),
                      "description": "The calling agency's row (months are Vietnam time, UTC+7)."},
        }),
        "RegisterEntry": {
            "type": "object",
            "description": "One line of a register (Decree 30/2020, Appendix IV). Incoming: arrival_date, "
                           "arrival_number, author, number_and_symbol, date, type_and_summary, receiving_unit, "
                           "notes. Outgoing: number, number_and_symbol, date, type_and_summary, recipients, "
                           "copies, sent_date, notes. Both: document_id, message_id.",
            "required": ["number_and_symbol", "date", "type_and_summary", "notes", "document_id", "message_id"],
            "properties": {
                "arrival_date": {"type": "string", "format": "date"},
                "arrival_number": {"type": "integer", "minimum": 1},
                "author": {"type": "string"},
                "receiving_unit": {"type": "string"},
                "number": {"type": "integer", "minimum": 1},
                "recipients": {"type": "string"},
                "copies": {"type": "integer", "minimum": 0},
                "sent_date": {"type": "string", "format": "date"},
                "number_and_symbol": {"type": "string"},
                "date": {"type": "string"},
                "type_and_summary": {"type": "string"},
                "notes": {"type": "string"},
                "document_id": _ref("DocumentId"),
                "message_id": _ref("MessageId"),
            },
            "additionalProperties": False,
        },
        "Register": _object({
            "agency": _ref("AgencyCode"),
            "direction": {"type": "string", "enum": ["incoming", "outgoing"]},
            "year": {"type": "integer"},
            "items": {"type": "array", "items": _ref("RegisterEntry"),
                      "description": "By number: consecutive from 1 within the agency, direction and year."},
        }),
        "HealthOk": _object({
            "status": {"type": "string", "const": "ok"},
            "database": {"type": "string", "const": "ok"},
            "large_bodies": {"type": "string", "description": "\"ok\", or why a body over the spool threshold "
                                                              "cannot be stored now (spool unwritable, disk full)."},
        }),
        "HealthUnhealthy": _object({
            "status": {"type": "string", "const": "unhealthy"},
            "database": {"type": "string", "description": "The class name of the database error, or \"ok\"."},
            "large_bodies": {"type": "string", "description": "Why large bodies cannot be stored now."},
        }, optional=("large_bodies",)),
    }


def _problem_response(description: str, status: int, codes: list[str], headers: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
    code: Schema = {"const": codes[0]} if len(codes) == 1 else {"enum": codes}
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": {"allOf": [_ref("Problem")],
                           "properties": {"status": {"const": status}, "code": code}},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def _responses() -> dict[str, Any]:
    return {
        "BadRequest": _problem_response("The request or the edXML is not valid.", 400, ["AXIS.Validation"]),
        "Unauthorized": _problem_response(
            "Missing or unknown bearer token.", 401, ["AXIS.Unauthorized"],
            {"WWW-Authenticate": {"schema": {"type": "string", "const": 'Bearer realm="axis"'}}},
        ),
        "Forbidden": _problem_response("The calling agency is disabled.", 403, ["AXIS.Forbidden"]),
        "SubmitForbidden": _problem_response(
            "From is not the calling agency (AXIS.SenderMismatch), or the agency is disabled or may not send "
            "this status (AXIS.Forbidden).", 403, ["AXIS.SenderMismatch", "AXIS.Forbidden"],
        ),
        "NotFound": _problem_response("No such message, or not one the calling agency sent or received.",
                                      404, ["AXIS.NotFound"]),
        "Duplicate": _problem_response("A different message already has this DocumentId.", 409, ["AXIS.Duplicate"]),
        "Conflict": _problem_response("The request conflicts with the current state.", 409, ["AXIS.Conflict"]),
        "TooLarge": _problem_response("The body exceeds the configured size limit.", 413,
                                      ["AXIS.SizeLimitExceeded"]),
        "MethodNotAllowed": _problem_response(
            "Any method not listed for a path is answered 405 with this problem.", 405, ["AXIS.MethodNotAllowed"],
        ),
        "InternalError": _problem_response("Unexpected error (logged on the server).", 500, ["AXIS.Internal"]),
        "Unavailable": _problem_response("The database or the blob store is unavailable; retry later.", 503,
                                         ["AXIS.Unavailable"]),
    }


def _r(name: str) -> Schema:
    return _ref(name, "responses")


def _json(description: str, schema: Schema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


AGENCY_ERRORS = {"401": _r("Unauthorized"), "403": _r("Forbidden"), "500": _r("InternalError"),
                 "503": _r("Unavailable")}


def _submit_operation(kind: str) -> dict[str, Any]:
    is_doc = kind == MessageKind.EDOC.value
    reply = _ref("DocumentSubmission" if is_doc else "StatusSubmission")
    location = {"Location": {"description": "/api/v1/messages/{id} of the stored message.",
                             "schema": {"type": "string", "format": "uri-reference"}}}
    what = "document" if is_doc else "status"
    retry_after = {"Retry-After": {"description": "Seconds to wait before sending again.",
                                   "schema": {"type": "integer", "minimum": 0}}}
    responses: dict[str, Any] = {
        "200": _json("The same bytes were already accepted from this agency: the original reply.", reply, location),
        "202": _json(f"Accepted: the {what} is stored and routed.", reply, location),
        "400": _r("BadRequest"),
        "401": _r("Unauthorized"),
        "403": _r("SubmitForbidden"),
        "404": _problem_response(
            "The document that ResponseFor names was not found." if is_doc else
            "No document the status is about that this agency sent or received.", 404, ["AXIS.NotFound"]),
        "409": _r("Duplicate"),
        "413": _r("TooLarge"),
        "422": _problem_response(
            "The signature is not acceptable (AXIS.Signature) or a recipient is unknown or inactive "
            "(AXIS.UnknownRecipient)." if is_doc else "The signature is not acceptable.",
            422, ["AXIS.Signature", "AXIS.UnknownRecipient"] if is_doc else ["AXIS.Signature"],
        ),
        "408": _problem_response("The body stopped arriving, or came slower than the configured rate; the "
                                 "connection is closed.", 408, ["AXIS.BodyTimeout"]),
        "429": _problem_response("This agency already has as many submissions in flight as it may.", 429,
                                 ["AXIS.TooManyUploads"], retry_after),
        "500": _r("InternalError"),
        "503": _problem_response("The storage is unavailable (AXIS.Unavailable), or the axis holds as many "
                                 "request bodies as it may (AXIS.Busy, with Retry-After); retry later.", 503,
                                 ["AXIS.Unavailable", "AXIS.Busy"], retry_after),
    }
    return {
        "operationId": "submitDocument" if is_doc else "submitStatus",
        "tags": ["messages"],
        "summary": "Submit a signed edXML document" if is_doc else "Submit a signed edXML status",
        "description": (
            "Send a signed edXML document (new, or a revoke/update/replace with ResponseFor). Re-sending the "
            "same bytes returns 200 and the same body."
            if is_doc else
            "Send a signed edXML status about a document this agency received (any code but 13) or sent (13). "
            "Status 01 marks the sender's copy delivered to this agency."
        ) + " The body size is checked before the credentials, so 400 and 413 may come before 401.",
        "security": [{"bearerAuth": []}],
        "requestBody": {
            "required": True,
            "description": "The signed edXML, byte for byte (the Content-Type is not checked).",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        "responses": responses,
    }


def _paths() -> dict[str, Any]:
    message_id_param = {"name": "id", "in": "path", "required": True, "schema": _ref("MessageId")}
    etag = {"description": "Entity tag of the stored bytes, for If-None-Match.", "schema": {"type": "string"}}
    return {
        "/api/v1/documents": {"post": _submit_operation(MessageKind.EDOC.value)},
        "/api/v1/statuses": {"post": _submit_operation(MessageKind.STATUS.value)},
        "/api/v1/inbox": {
            "get": {
                "operationId": "listInbox",
                "tags": ["inbox"],
                "summary": "Items waiting for the calling agency, oldest first",
                "description": "Documents this agency has not yet confirmed with a signed 01, and statuses it "
                               "has not acknowledged. Paged by message id. With `include=bodies` each small "
                               "message carries its signed bytes (a first read, as a fetch is); with `wait` an "
                               "empty inbox answers as soon as something arrives, or after that many seconds.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    {"name": "kind", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": [k.value for k in MessageKind]}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
                    {"name": "cursor", "in": "query", "required": False,
                     "description": "The `next_cursor` of the previous page.", "schema": _ref("MessageId")},
                    {"name": "include", "in": "query", "required": False,
                     "description": "`bodies`: put each small message's signed edXML in its item (`body`).",
                     "schema": {"type": "string", "enum": ["bodies"]}},
                    {"name": "wait", "in": "query", "required": False,
                     "description": "Long-poll: when nothing waits, answer at the first arrival or after this "
                                    f"many seconds (at most {MAX_WAIT_SECONDS:.0f}; more is taken as that).",
                     "schema": {"type": "number", "minimum": 0, "default": 0}},
                ],
                "responses": {
                    "200": _json("One page of the inbox.", _ref("InboxPage")),
                    "400": _r("BadRequest"),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/messages/{id}": {
            "get": {
                "operationId": "getMessage",
                "tags": ["inbox"],
                "summary": "The signed edXML exactly as it was submitted",
                "description": "Only the sender and the recipients may read a message; for others it does not "
                               "exist. A recipient's first download marks its delivery retrieved.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    message_id_param,
                    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "The signed edXML, byte-identical to what was submitted.",
                        "headers": {"ETag": etag,
                                    "X-Axis-Message-Id": {"schema": _ref("MessageId")}},
                        "content": {"application/xml": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified: If-None-Match matched.", "headers": {"ETag": etag}},
                    "404": _r("NotFound"),
                    "410": _problem_response("The payload was destroyed by an approved disposal under a retention "
                                             "schedule; its residual metadata (trace) remains.", 410,
                                             ["AXIS.Disposed"]),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/inbox/{id}/ack": {
            "post": {
                "operationId": "ackInboxItem",
                "tags": ["inbox"],
                "summary": "Take a status item off the inbox",
                "description": "Documents leave the inbox when this agency posts their signed status 01.",
                "security": [{"bearerAuth": []}],
                "parameters": [message_id_param],
                "responses": {
                    "200": _json("Acknowledged (repeating an acknowledgement is harmless).", _ref("Ack")),
                    "404": _problem_response("No such message in this agency's inbox.", 404, ["AXIS.NotFound"]),
                    "409": _problem_response("The item is a document, not a status.", 409, ["AXIS.Conflict"]),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/inbox/ack": {
            "post": {
                "operationId": "ackInboxItems",
                "tags": ["inbox"],
                "summary": "Take several status items off the inbox",
                "description": "Each id is acknowledged as POST /api/v1/inbox/{id}/ack would; one answer per id. "
                               "A bad id is its own answer: the others are taken off.",
                "security": [{"bearerAuth": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("AckRequest")}}},
                "responses": {
                    "200": _json("One result per id.", _ref("AckResults")),
                    "400": _r("BadRequest"),
                    "413": _r("TooLarge"),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/statuses/batch": {
            "post": {
                "operationId": "submitStatuses",
                "tags": ["messages"],
                "summary": "Submit several signed edXML statuses",
                "description": "Each status is checked, stored and receipted as POST /api/v1/statuses would: "
                               "its own signature, its own message, its own signed receipt. A refused status is "
                               "its own answer: the others are stored.",
                "security": [{"bearerAuth": []}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("StatusBatchRequest")}}},
                "responses": {
                    "200": _json("One result per status.", _ref("StatusBatchResults")),
                    "400": _r("BadRequest"),
                    "413": _r("TooLarge"),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/documents/{id}/trace": {
            "get": {
                "operationId": "traceDocument",
                "tags": ["messages"],
                "summary": "Per-recipient delivery state and the status timeline of a document",
                "security": [{"bearerAuth": []}],
                "parameters": [message_id_param],
                "responses": {
                    "200": _json("The trace.", _ref("Trace")),
                    "404": _problem_response("No such document that this agency sent or received (a status "
                                             "message id is also 404).", 404, ["AXIS.NotFound"]),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/agencies": {
            "get": {
                "operationId": "listAgencies",
                "tags": ["registry"],
                "summary": "The registry of agencies",
                "security": [{"bearerAuth": []}],
                "responses": {"200": _json("All agencies, ordered by code.", _ref("AgencyList")), **AGENCY_ERRORS},
            }
        },
        "/api/v1/reports/monthly": {
            "get": {
                "operationId": "monthlyReport",
                "tags": ["archive"],
                "summary": "Throughput of the calling agency in one month",
                "description": "Figures are kept as aggregates, recomputed for the current and previous month by a "
                               "scheduled job and computed on first request for any other month.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    {"name": "month", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": MONTH_PATTERN}},
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
                ],
                "responses": {
                    "200": {
                        "description": "The report: JSON, or CSV with a header line (same columns as a row).",
                        "content": {"application/json": {"schema": _ref("MonthlyReport")},
                                    "text/csv": {"schema": {"type": "string"}}},
                    },
                    "400": _r("BadRequest"),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/registers/{direction}": {
            "get": {
                "operationId": "register",
                "tags": ["archive"],
                "summary": "The calling agency's register of incoming or outgoing documents for one year",
                "description": "Outgoing numbers are taken when the axis accepts a document; incoming (arrival) "
                               "numbers when the agency's signed status 01 is recorded.",
                "security": [{"bearerAuth": []}],
                "parameters": [
                    {"name": "direction", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": ["incoming", "outgoing"]}},
                    {"name": "year", "in": "query", "required": True,
                     "schema": {"type": "string", "pattern": r"^\d{4}$"}},
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
                ],
                "responses": {
                    "200": {
                        "description": "The register: JSON, or CSV with a header line.",
                        "content": {"application/json": {"schema": _ref("Register")},
                                    "text/csv": {"schema": {"type": "string"}}},
                    },
                    "400": _r("BadRequest"),
                    "404": _problem_response("No such register (incoming or outgoing only).", 404,
                                             ["AXIS.NotFound"]),
                    **AGENCY_ERRORS,
                },
            }
        },
        "/api/v1/certificate": {
            "get": {
                "operationId": "getCertificate",
                "tags": ["registry"],
                "summary": "The axis certificate (PEM) that signs submission receipts",
                "security": [],
                "responses": {
                    "200": {"description": "PEM certificate.",
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}}},
                    "500": _r("InternalError"),
                },
            }
        },
        "/api/v1/certificate/chain": {
            "get": {
                "operationId": "getCertificateChain",
                "tags": ["registry"],
                "summary": "The axis certificate followed by its issuing CA chain (PEM bundle)",
                "description": "Trust the last certificate (the CA) to verify receipts with "
                               "`xmlsec1 --verify --trusted-pem CA.pem`, instead of pinning the axis certificate.",
                "security": [],
                "responses": {
                    "200": {"description": "PEM certificates, the axis's first.",
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}}},
                    "500": _r("InternalError"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["operations"],
                "summary": "This OpenAPI 3.1 description",
                "security": [],
                "responses": {
                    "200": _json("The OpenAPI document.", {"type": "object"}),
                    "500": _r("InternalError"),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["operations"],
                "summary": "Liveness with a database round trip",
                "description": "With `for=large-bodies`, readiness to store large bodies: 503 also when the "
                               "spool directory is unwritable or its disk has no room for the largest body.",
                "security": [],
                "parameters": [{"name": "for", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": ["large-bodies"]}}],
                "responses": {
                    "200": _json("Healthy.", _ref("HealthOk")),
                    "503": _json("The database cannot be reached (or, with for=large-bodies, large bodies cannot "
                                 "be stored).", _ref("HealthUnhealthy")),
                    "500": _r("InternalError"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics (text exposition format)",
                "description": "Open unless the operator sets `metrics_token`; then a scrape sends "
                               "`Authorization: Bearer <metrics_token>` (not an agency token; else 401). "
                               "Gauges read from the database are refreshed at most every "
                               "`metrics_refresh_seconds`.",
                "security": [],
                "responses": {
                    "200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "500": _r("InternalError"),
                    "503": _r("Unavailable"),
                },
            }
        },
    }


@dataclass(frozen=True, eq=False)  # hashed by identity: the document is cached per set of parts
class OpenApiPart:
    """What another adapter adds to the document (the national SDK's ``/vxp``): tag, paths, schemas, scheme."""

    tag: dict[str, str]
    paths: dict[str, Any]
    schemas: dict[str, Any]
    security_schemes: dict[str, Any]


#: What adapters besides /api/v1 add to the document (the national SDK's /vxp), set by the app factory.
OPENAPI_PARTS = web.AppKey("openapi_parts", tuple[OpenApiPart, ...])


@cache
def openapi_document(*parts: OpenApiPart) -> dict[str, Any]:
    """The OpenAPI document served at /api/v1/openapi.json, with ``parts`` (built once; do not mutate it)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "National Document Axis",
            "version": "1",
            "summary": "Agency API of the national interagency edXML document exchange.",
            "description": (
                "Agencies submit signed edXML documents and statuses, pull their inbox and follow delivery. "
                "Agency calls carry `Authorization: Bearer <token>`. Every error is "
                "`application/problem+json` (RFC 9457) with a stable `code`; a method not listed for a path "
                "is answered 405 (AXIS.MethodNotAllowed) and an unknown path 404 (AXIS.NotFound). "
                "Every GET also answers HEAD."
            ),
        },
        "tags": [
            {"name": "messages", "description": "Submitting documents and statuses, tracing documents."},
            {"name": "inbox", "description": "What waits for the calling agency."},
            {"name": "registry", "description": "Agencies and the axis certificate."},
            {"name": "archive", "description": "Monthly throughput report and statutory registers."},
            {"name": "operations", "description": "Health, metrics and this description."},
            *(part.tag for part in parts),
        ],
        "security": [{"bearerAuth": []}],
        "paths": {**_paths(), **{k: v for part in parts for k, v in part.paths.items()}},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "The agency token issued at registration."},
                **{k: v for part in parts for k, v in part.security_schemes.items()},
            },
            "schemas": {**_schemas(), **{k: v for part in parts for k, v in part.schemas.items()}},
            "responses": _responses(),
        },
    }
