"""The /vxp part of the OpenAPI document: the national SDK's operations and answers (docs/national-sdk.md)."""

from __future__ import annotations

from functools import cache
from typing import Any

from axis.api.openapi import OpenApiPart
from axis.vxp import transport as sdk_transport
from axis.vxp.mailbox import SDK_STATUSES

Schema = dict[str, Any]

#: The stable ErrorCodes of /vxp refusals besides the AXIS.* problem codes of the exchange.
TRANSPORT_CODES = (
    sdk_transport.MISSING_HEADER, sdk_transport.BAD_SIGN_HEADER, sdk_transport.BAD_HMAC,
    sdk_transport.STALE_TIMESTAMP, sdk_transport.REPLAY, sdk_transport.HASH_FILE_MISMATCH,
    sdk_transport.FROM_MISMATCH, sdk_transport.AGENCY_DISABLED,
)

SECURITY_SCHEME: Schema = {
    "type": "apiKey", "in": "header", "name": "XroadVnpt-hash-header",
    "description": "The national SDK's request signature: `XroadVnpt-sign-header` is a JSON object of the "
                   "`XroadVnpt-*` headers (systemid, timestamp `ddMMyyyy'T'HHmmss+SSSS` in Vietnam time, "
                   "Content-Type and the call's parameters), and `XroadVnpt-hash-header` the hex "
                   "HMAC-SHA256 of that string, as sent, under the secret from `axis agency vxp-secret`. "
                   "Parameters are read from the signed JSON only. A timestamp more than "
                   "`vxp_timestamp_window_seconds` (300) off, or a hash-header seen before, is refused.",
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(properties: Schema, required: tuple[str, ...] = ()) -> Schema:
    return {
        "type": "object",
        "required": ["status", "ErrorCode", "ErrorDesc", *required],
        "properties": {"status": {"const": "OK"}, "ErrorCode": {"const": "0"}, "ErrorDesc": {"type": "string"},
                       **properties},
    }


def schemas() -> dict[str, Schema]:
    """The /vxp answer schemas."""
    text: Schema = {"type": "string"}
    return {
        "VxpFail": {
            "type": "object",
            "required": ["status", "ErrorCode", "ErrorDesc"],
            "properties": {
                "status": {"const": "FAIL"},
                "ErrorCode": {"type": "string", "description": "A VXP.* transport code or the AXIS.* code of "
                              "the refusal (as on /api/v1).", "examples": list(TRANSPORT_CODES)},
                "ErrorDesc": {"type": "string", "description": "Vietnamese, then the detail."},
                "ErrorField": {"type": "string", "description": "The edXML field or parameter at fault."},
            },
        },
        "VxpSent": _ok({"DocId": text, "DocumentId": text, "sha256": text,
                        "authentication": {"enum": ["signature", "transport"]},
                        "receipt": {"type": "string", "description": "The axis-signed submission receipt."}},
                       ("DocId", "receipt")),
        "VxpEdoc": _ok({"DocId": text, "data": {"type": "string", "contentEncoding": "base64",
                                                "description": "The exact stored bytes."}}, ("data",)),
        "VxpReceivedList": _ok({"data": {"type": "array", "maxItems": 500, "items": {
            "type": "object",
            "required": ["docId", "serviceType", "messageType", "created_time", "updated_time", "from", "to",
                         "status", "status_desc"],
            "properties": {"docId": text, "serviceType": text, "messageType": {"enum": ["edoc", "status"]},
                           "created_time": text, "updated_time": text, "from": text, "to": text,
                           "status": text, "status_desc": text, "statusCode": text, "documentId": text,
                           "title": text},
        }}}, ("data",)),
        "VxpSentList": _ok({"data": {"type": "array", "maxItems": 500, "items": {
            "type": "object",
            "required": ["senderDocId", "toCode", "receiveStatus"],
            "properties": {k: text for k in (
                "serviceType", "messageType", "senderDocId", "receiverDocId", "fromCode", "toCode", "title",
                "notation", "documentId", "sentTime", "receivedTime", "sendStatus", "sendStatusDesc",
                "receiveStatus", "receiveStatusDesc")},
        }}}, ("data",)),
        "VxpCount": _ok({"count": {"type": "integer", "minimum": 0}}, ("count",)),
        "VxpUpdated": _ok({"DocId": text, "state": text}, ("DocId",)),
        "VxpAgencies": _ok({"data": {"type": "array", "items": {
            "type": "object", "required": ["id", "code", "name"],
            "properties": {"id": text, "pid": text, "code": text, "name": text, "mail": text},
        }}}, ("data",)),
    }


#: (operation, answer schema, summary, description); the GET-and-POST ones are in ``_ALSO_GET``.
_CALLS: tuple[tuple[str, str, str, str], ...] = (
    ("sendEdoc", "VxpSent", "Submit a signed edXML document, or with `messagetype: status` a status package",
     "Body: the file's bytes (the SDK appends CRLF; either form is accepted), `application/octet-stream`. "
     "Signed parameters: `hash-file` (SHA-256 hex, standard or unpadded), `from`, `messagetype` "
     "(edoc|status), `servicetype`. The same checks as POST /api/v1/documents and /api/v1/statuses."),
    ("getReceivedEdocList", "VxpReceivedList", "Documents (or with `messagetype: status` statuses) waiting",
     "Oldest first, at most 500 a call; an item leaves the list with `updateStatus` done (a status item) or "
     "done/its signed 01 (a document)."),
    ("getEdoc", "VxpEdoc", "A message the caller sent or received, base64", "Signed parameter `docId`."),
    ("downloadEdoc", "", "A message the caller sent or received, its raw bytes", "Signed parameter `docId`."),
    ("updateStatus", "VxpUpdated", "The DMS's hub-level status of an item it received",
     f"Signed parameters `docid` and `status` ({' | '.join(SDK_STATUSES)}). `done` on a status item "
     "acknowledges it; on a document it takes it off the list (delivery still needs the signed 01)."),
    ("getSentEdocList", "VxpSentList", "The caller's sent documents with each recipient's state",
     "Newest first, at most 500 rows; or the one named by `docId`."),
    ("getAgenciesList", "VxpAgencies", "The active agencies of the registry", ""),
    ("countReceiveEdoc", "VxpCount", "How many documents wait", ""),
    ("countReceiveStatus", "VxpCount", "How many statuses wait", ""),
)


#: Operations the SDK calls with GET (its own code POSTs some of them too: both are served).
_ALSO_GET = ("downloadEdoc", "countReceiveEdoc", "countReceiveStatus")


def paths() -> dict[str, Schema]:
    """The /vxp operations (POST; GET and POST for those in ``_ALSO_GET``)."""
    fail = {"description": "Refused: FAIL with a stable ErrorCode.",
            "content": {"application/json": {"schema": _ref("VxpFail")}}}
    out: dict[str, Schema] = {}
    for name, answer, summary, description in _CALLS:
        content = ({"application/xml": {"schema": {"type": "string"}}} if not answer
                   else {"application/json": {"schema": _ref(answer)}})
        responses = {"200": {"description": "OK.", "content": content},
                     **{status: fail for status in ("400", "401", "403", "404", "409", "410", "413", "422",
                                                    "500", "503")}}
        op = {"tags": ["national SDK"], "summary": summary, "description": description,
              "security": [{"sdkHmac": []}], "responses": responses}
        item = {"post": {**op, "operationId": f"vxp_{name}"}}
        if name in _ALSO_GET:
            item["get"] = {**op, "operationId": f"vxp_{name}_get"}
        out[f"/vxp/{name}"] = item
    return out


@cache
def part() -> OpenApiPart:
    """The /vxp tag, paths, schemas and security scheme for the API's OpenAPI document."""
    return OpenApiPart(
        tag={"name": "national SDK",
             "description": "/vxp: the wire protocol of the national SDK (SDKVXP), answers `status` OK/FAIL with an "
                            "`ErrorCode`."},
        paths=paths(), schemas=schemas(), security_schemes={"sdkHmac": SECURITY_SCHEME})
