"""The OpenAPI description: a valid 3.1 document, the same routes as the app, true to real answers."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import axis.api.problems
from axis.api.openapi import AGENCY_CODE_PATTERN, MESSAGE_ID_PATTERN, SHA256_PATTERN, openapi_document
from axis.app import create_app
from axis.settings import Settings
from axis.vxp import openapi as vxp_openapi
from axis.web import is_web_path
from envelope.codes import StatusCode
from storage.ids import new_id
from tests.harness import Harness

A, B = "000.00.00.G22", "000.00.00.H29"
DOC_URI = "urn:axis:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PUBLIC = {"/api/v1/certificate", "/api/v1/certificate/chain", "/api/v1/openapi.json", "/healthz", "/metrics"}


# --- helpers -------------------------------------------------------------------------------------

def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Follow a local ``$ref`` one step: (target, its JSON pointer) or (node, None)."""
    ref = node.get("$ref")
    if ref is None:
        return node, None
    assert ref.startswith("#/"), ref
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target, ref[1:]


def schema_pointer(doc: dict[str, Any], path: str, method: str, status: int | str,
                   media: str = "application/json") -> str:
    """The JSON pointer of the schema of one documented response."""
    response = doc["paths"][path][method]["responses"][str(status)]
    pointer = f"/paths/{_escape(path)}/{method}/responses/{status}"
    response, target = _resolve(doc, response)
    pointer = target or pointer
    assert media in response["content"], (path, method, status, list(response["content"]))
    return f"{pointer}/content/{_escape(media)}/schema"


def validator_for(doc: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A 2020-12 validator for the schema at ``pointer``, with ``$ref`` resolved against the document."""
    registry: Registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def check(doc: dict[str, Any], body: Any, path: str, method: str, status: int,
          media: str = "application/json") -> None:
    """Assert that ``body`` is valid for the documented response."""
    validator = validator_for(doc, schema_pointer(doc, path, method, status, media))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{method.upper()} {path} {status}: {errors}"


async def call(http: aiohttp.ClientSession, method: str, url: str, token: str | None = None,
               **kw: Any) -> tuple[int, str, Any, Any]:
    headers = dict(kw.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with http.request(method, url, headers=headers, **kw) as r:
        raw = await r.read()
        body: Any = raw
        if r.content_type in ("application/json", "application/problem+json"):
            body = await r.json(content_type=None)
        return r.status, r.content_type, body, r.headers


# --- the document itself -------------------------------------------------------------------------

def test_document_is_valid_openapi_31() -> None:
    doc = openapi_document(vxp_openapi.part())
    assert doc["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(doc).validate()
    assert openapi_document(vxp_openapi.part()) is doc  # built once


def test_paths_are_exactly_the_routes_of_the_app(tmp_path: Path) -> None:
    app = create_app(Settings(home=tmp_path / "home"), workers=False)
    routed: dict[str, set[str]] = {}
    for route in app.router.routes():
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical)
        if is_web_path(path):
            continue  # the clerks' HTML pages are not part of the agency API
        routed.setdefault(path, set()).add(route.method.lower())
    for path, methods in routed.items():
        # aiohttp answers HEAD for every GET route by itself; OpenAPI leaves HEAD implied.
        if "head" in methods:
            assert "get" in methods, f"HEAD without GET on {path}"
            methods.discard("head")
    documented = {
        path: {m for m in item if m in HTTP_METHODS} for path, item in openapi_document(vxp_openapi.part())["paths"].items()
    }
    assert documented == routed


def test_security_applies_to_agency_endpoints_only() -> None:
    doc = openapi_document(vxp_openapi.part())
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path in PUBLIC:
                assert op["security"] == [], (path, method)
                assert "401" not in op["responses"]
            elif path.startswith("/vxp/"):  # the national SDK's HMAC (tests/vxp)
                assert op["security"] == [{"sdkHmac": []}], (path, method)
            else:
                assert op["security"] == [{"bearerAuth": []}], (path, method)
                assert {"401", "403", "500", "503"} <= set(op["responses"]), (path, method)


def test_every_error_is_a_problem_and_every_code_is_listed() -> None:
    doc = openapi_document(vxp_openapi.part())
    codes = {
        obj.code for obj in vars(axis.api.problems).values()
        if isinstance(obj, type) and issubclass(obj, axis.api.problems.ApiProblem)
    }
    assert set(doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]) == codes
    assert {"AXIS.Validation", "AXIS.Signature", "AXIS.UnknownRecipient", "AXIS.SenderMismatch",
            "AXIS.Duplicate", "AXIS.SizeLimitExceeded", "AXIS.Unauthorized", "AXIS.Forbidden",
            "AXIS.NotFound"} <= codes  # the documented problem codes
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                response, _ = _resolve(doc, response)
                if path.startswith("/vxp/"):
                    continue  # the national SDK's FAIL answers (tests/vxp/test_vxp_openapi.py)
                if int(status) >= 400 and not (path == "/healthz" and status == "503"):
                    assert list(response["content"]) == ["application/problem+json"], (path, method, status)


def test_patterns_match_the_values_the_code_makes() -> None:
    for _ in range(50):
        assert re.fullmatch(MESSAGE_ID_PATTERN, new_id())
    for letter in "ILOU":
        assert not re.fullmatch(MESSAGE_ID_PATTERN, letter + new_id()[1:])
    assert re.fullmatch(SHA256_PATTERN, hashlib.sha256(b"x").hexdigest())
    assert re.fullmatch(AGENCY_CODE_PATTERN, "000.00.00.G22")
    assert not re.fullmatch(AGENCY_CODE_PATTERN, "000.00.00.g22")


def test_the_helper_rejects_what_the_schema_forbids() -> None:
    doc = openapi_document(vxp_openapi.part())
    trace_ptr = schema_pointer(doc, "/api/v1/documents/{id}/trace", "get", 200)
    assert not validator_for(doc, trace_ptr).is_valid({"id": new_id()})
    item = {"id": new_id(), "kind": "status", "document_id": "x", "from": A, "subject": "", "priority": 0,
            "received_at": "2026-11-20T08:00:00+00:00", "sha256": "0" * 64, "size": 1}
    inbox = validator_for(doc, schema_pointer(doc, "/api/v1/inbox", "get", 200))
    assert not inbox.is_valid({"items": [item], "next_cursor": None})  # a status item needs status_code
    item.update(status_code="01", response_for=new_id())
    assert inbox.is_valid({"items": [item], "next_cursor": None})
    assert not inbox.is_valid({"items": [{**item, "received_at": "yesterday"}], "next_cursor": None})


# --- real answers --------------------------------------------------------------------------------

async def test_real_answers_validate_against_the_description(axis: Harness) -> None:
    doc = openapi_document(vxp_openapi.part())
    a = await axis.register(A)
    b = await axis.register(B)
    base = axis.url
    document, signed = a.document([b], subject="Về việc kiểm tra mô tả OpenAPI")

    async with aiohttp.ClientSession() as http:
        status, ctype, served, _ = await call(http, "GET", f"{base}/api/v1/openapi.json")
        assert (status, ctype) == (200, "application/json") and served == doc

        # Submit: 202, then the same bytes again: 200 with the same body.
        xml = {"Content-Type": "application/xml"}
        status, _, reply, headers = await call(http, "POST", f"{base}/api/v1/documents", a.token, data=signed,
                                               headers=xml)
        assert status == 202
        check(doc, reply, "/api/v1/documents", "post", 202)
        assert headers["Location"] == f"/api/v1/messages/{reply['id']}"
        status, _, again, _ = await call(http, "POST", f"{base}/api/v1/documents", a.token, data=signed,
                                         headers=xml)
        assert status == 200 and again == reply
        check(doc, again, "/api/v1/documents", "post", 200)
        doc_id = reply["id"]

        # B's inbox holds the document.
        status, _, inbox, _ = await call(http, "GET", f"{base}/api/v1/inbox", b.token)
        assert status == 200 and [i["id"] for i in inbox["items"]] == [doc_id]
        check(doc, inbox, "/api/v1/inbox", "get", 200)
        status, _, page, _ = await call(http, "GET", f"{base}/api/v1/inbox?kind=edoc&limit=1", b.token)
        check(doc, page, "/api/v1/inbox", "get", 200)

        # The message itself, and a conditional GET.
        status, ctype, body, headers = await call(http, "GET", f"{base}/api/v1/messages/{doc_id}", b.token)
        assert (status, ctype, body) == (200, "application/xml", signed)
        assert headers["X-Axis-Message-Id"] == doc_id and headers["ETag"]
        status, _, _, _ = await call(http, "GET", f"{base}/api/v1/messages/{doc_id}", b.token,
                                     headers={"If-None-Match": headers["ETag"]})
        assert status == 304

        # B confirms with a signed 01: a status submission.
        status, _, st_reply, _ = await call(http, "POST", f"{base}/api/v1/statuses", b.token,
                                            data=b.status(document, StatusCode.ARRIVED, "Đã nhận"), headers=xml)
        assert status == 202 and st_reply["status_code"] == "01"
        check(doc, st_reply, "/api/v1/statuses", "post", 202)

        # A's inbox holds the status item (with status_code and response_for); ack takes it off.
        status, _, a_inbox, _ = await call(http, "GET", f"{base}/api/v1/inbox?kind=status", a.token)
        assert [i.get("response_for") for i in a_inbox["items"]] == [doc_id]
        check(doc, a_inbox, "/api/v1/inbox", "get", 200)
        status, _, acked, _ = await call(http, "POST", f"{base}/api/v1/inbox/{st_reply['id']}/ack", a.token)
        assert status == 200
        check(doc, acked, "/api/v1/inbox/{id}/ack", "post", 200)

        # The trace, seen by the sender and by the recipient.
        for agent in (a, b):
            status, _, trace, _ = await call(http, "GET", f"{base}/api/v1/documents/{doc_id}/trace", agent.token)
            assert status == 200 and trace["timeline"] and trace["recipients"][0]["delivered_at"]
            check(doc, trace, "/api/v1/documents/{id}/trace", "get", 200)

        status, _, agencies, _ = await call(http, "GET", f"{base}/api/v1/agencies", a.token)
        assert status == 200 and {A, B} <= {x["code"] for x in agencies["items"]}
        check(doc, agencies, "/api/v1/agencies", "get", 200)

        # Public endpoints.
        status, ctype, pem, _ = await call(http, "GET", f"{base}/api/v1/certificate")
        assert (status, ctype) == (200, "application/x-pem-file") and pem.startswith(b"-----BEGIN CERTIFICATE")
        status, _, health, _ = await call(http, "GET", f"{base}/healthz")
        assert status == 200
        check(doc, health, "/healthz", "get", 200)
        status, ctype, _, _ = await call(http, "GET", f"{base}/metrics")
        assert (status, ctype) == (200, "text/plain")

        # Problems, each against the response it is documented as.
        status, ctype, problem, headers = await call(http, "GET", f"{base}/api/v1/inbox")
        assert (status, ctype) == (401, "application/problem+json") and "WWW-Authenticate" in headers
        check(doc, problem, "/api/v1/inbox", "get", 401, "application/problem+json")
        status, _, problem, _ = await call(http, "GET", f"{base}/api/v1/inbox?limit=0", a.token)
        assert status == 400
        check(doc, problem, "/api/v1/inbox", "get", 400, "application/problem+json")
        status, _, problem, _ = await call(http, "GET", f"{base}/api/v1/documents/{new_id()}/trace", a.token)
        assert status == 404
        check(doc, problem, "/api/v1/documents/{id}/trace", "get", 404, "application/problem+json")
        status, _, problem, _ = await call(http, "POST", f"{base}/api/v1/inbox/{doc_id}/ack", b.token)
        assert status == 409
        check(doc, problem, "/api/v1/inbox/{id}/ack", "post", 409, "application/problem+json")
        _, other = a.document([b], number=document.code.code_number, subject="Khác nội dung")
        status, _, problem, _ = await call(http, "POST", f"{base}/api/v1/documents", a.token, data=other,
                                           headers=xml)
        assert status == 409 and problem["message_id"] == doc_id
        check(doc, problem, "/api/v1/documents", "post", 409, "application/problem+json")
        status, _, problem, _ = await call(http, "POST", f"{base}/api/v1/documents", b.token, data=signed,
                                           headers=xml)
        assert status == 403 and problem["code"] == "AXIS.SenderMismatch"
        check(doc, problem, "/api/v1/documents", "post", 403, "application/problem+json")
        status, _, problem, _ = await call(http, "POST", f"{base}/api/v1/documents", a.token, data=b"<x/>",
                                           headers=xml)
        assert status == 400
        check(doc, problem, "/api/v1/documents", "post", 400, "application/problem+json")
        status, _, problem, _ = await call(http, "GET", f"{base}/api/v1/documents", a.token)
        assert status == 405
        validator_for(doc, "/components/responses/MethodNotAllowed/content/application~1problem+json/schema"
                      ).validate(problem)


@pytest.mark.parametrize("limit", ["1", "500"])
async def test_inbox_limit_bounds_are_those_documented(axis: Harness, limit: str) -> None:
    a = await axis.register(A)
    params = {p["name"]: p["schema"] for p in openapi_document(vxp_openapi.part())["paths"]["/api/v1/inbox"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 500)
    async with aiohttp.ClientSession() as http:
        assert (await call(http, "GET", f"{axis.url}/api/v1/inbox?limit={limit}", a.token))[0] == 200
        over = str(int(limit) - 1 if limit == "1" else int(limit) + 1)
        assert (await call(http, "GET", f"{axis.url}/api/v1/inbox?limit={over}", a.token))[0] == 400
