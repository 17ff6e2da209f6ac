"""Every API endpoint against every kind of caller: no token, a wrong token, another agency,
the right agency, a disabled agency.

The answers, one cell each:

- no token, wrong token: 401 ``AXIS.Unauthorized`` (with ``WWW-Authenticate: Bearer``);
- disabled agency: 403 ``AXIS.Forbidden``, whatever it asks;
- another agency: 404 ``AXIS.NotFound`` for what it neither sent nor received (the same answer as
  an id that does not exist), ``AXIS.SenderMismatch`` for a message signed by someone else,
  and lists (inbox, reports, registers) holding only its own items;
- the right agency: the answer the endpoint exists for.

Public endpoints (axis certificate, OpenAPI description, health, metrics) answer everyone,
and ignore whatever token comes along. Web pages have their own matrix: tests/web/test_web_matrix.py
(every page and form × anonymous, clerk of another agency, clerk, archivist, operator; archive scope too).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update

from axis.archive.calendar import vn_date
from envelope.codes import StatusCode
from signing.keys import DevelopmentCA, IssuedIdentity
from storage.models import Agency
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import Reply, assert_problem, call
from tests.harness import Agent, Harness, server_settings, start_server

A, B, C, D = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41", "000.00.00.G14"
CALLERS = ("no_token", "wrong_token", "other_agency", "right_agency", "disabled_agency")


@dataclass
class World:
    axis: Harness
    a: Agent  # sends
    b: Agent  # receives
    c: Agent  # neither: the other agency
    d: Agent  # disabled

    async def exchange(self) -> dict[str, Any]:
        """A fresh document A -> B, and B's signed 01 about it (a status item in A's inbox)."""
        doc, signed = self.a.document([self.b], subject="Văn bản cho ma trận phân quyền")
        sent = await call(self.axis, "POST", "/api/v1/documents", token=self.a, data=signed)
        assert sent.status == 202, sent.body
        receipt = await call(self.axis, "POST", "/api/v1/statuses", token=self.b,
                             data=self.b.status(doc, StatusCode.ARRIVED, "Đã nhận"))
        assert receipt.status == 202, receipt.body
        return {"doc": doc, "signed": signed, "id": sent.json()["id"], "status_id": receipt.json()["id"]}


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                identities: dict[str, IssuedIdentity]) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("authz")
    async with db_template.clone(tmp) as url:
        axis, server = await start_server(server_settings(tmp / "home", url), test_ca, identities)
        try:
            a, b, c, d = [await axis.register(code) for code in (A, B, C, D)]
            async with axis.ctx.sessions() as session, session.begin():
                await session.execute(update(Agency).where(Agency.code == D).values(active=False))
            axis.ctx.registry.invalidate()  # changed behind the registry's back, as an operator's SQL would
            yield World(axis, a, b, c, d)
        finally:
            await server.close()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    params: dict[str, str] | None = None


#: Per endpoint: build the request a caller makes (given the world and the caller's Agent).
Build = Callable[[World, Agent | None, dict[str, Any]], Call]
#: Per endpoint: check the right agency's (and for lists, the other agency's) successful answer.
Check = Callable[[World, Reply, dict[str, Any], str], Awaitable[None] | None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str
    build: Build
    check: Check
    public: bool = False
    #: Answer to another agency, when it is not 404 (e.g. lists answer 200 with its own items).
    other: tuple[int, str | None] = (404, "AXIS.NotFound")
    #: Who the right agency is: "a" (the sender) or "b" (the recipient).
    right: str = "a"


def _month() -> str:
    return vn_date(dt.datetime.now(dt.UTC)).strftime("%Y-%m")


def _post_document(w: World, caller: Agent | None, ctx: dict[str, Any]) -> Call:
    # Each caller submits a document signed as the right agency; the disabled one its own.
    author = w.d if caller is w.d else w.a
    return Call("POST", "/api/v1/documents", author.document([w.b], subject="Gửi trong ma trận")[1])


def _check_post_document(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    assert reply.status == 202 and reply.json()["recipients"] == [{"organ_id": B, "state": "queued"}]


def _post_status(w: World, caller: Agent | None, ctx: dict[str, Any]) -> Call:
    # The recipient answers the document; another agency answers it with its own signed status.
    author = caller if caller in (w.c, w.d) else w.b
    return Call("POST", "/api/v1/statuses", author.status(ctx["doc"], StatusCode.ACCEPTED, "Đã tiếp nhận"))


def _check_post_status(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    assert reply.status == 202 and reply.json()["status_code"] == "03"


async def _check_inbox(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    ids = [i["id"] for i in reply.json()["items"]]
    if who == "right_agency":
        assert ctx["status_id"] in ids
    else:
        assert ctx["status_id"] not in ids and ctx["id"] not in ids
        assert all(i["from"] != B for i in reply.json()["items"]), "C never had anything from B"


def _check_message(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    assert reply.body == ctx["signed"] and reply.headers["Content-Type"].startswith("application/xml")


def _check_ack(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    assert reply.json() == {"id": ctx["status_id"], "state": "delivered"}


def _ack_batch(w: World, caller: Agent | None, ctx: dict[str, Any]) -> Call:
    return Call("POST", "/api/v1/inbox/ack", json.dumps({"ids": [ctx["status_id"]]}).encode())


def _check_ack_batch(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    # Another agency's batch is answered item by item: the item is not found, and stays in A's inbox.
    results = reply.json()["results"]
    if who == "right_agency":
        assert results == [{"id": ctx["status_id"], "state": "delivered"}]
    else:
        assert results[0]["id"] == ctx["status_id"] and results[0]["problem"]["code"] == "AXIS.NotFound"


def _status_batch(w: World, caller: Agent | None, ctx: dict[str, Any]) -> Call:
    signed = _post_status(w, caller, ctx).body
    assert signed is not None
    return Call("POST", "/api/v1/statuses/batch",
                json.dumps({"statuses": [base64.b64encode(signed).decode()]}).encode())


def _check_status_batch(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    (result,) = reply.json()["results"]
    if who == "right_agency":
        assert result["status"] == 202 and result["reply"]["status_code"] == "03"
    else:
        assert result["status"] == 404 and result["problem"]["code"] == "AXIS.NotFound"


def _check_trace(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    trace = reply.json()
    assert trace["id"] == ctx["id"] and [r["organ_id"] for r in trace["recipients"]] == [B]


def _check_agencies(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    items = reply.json()["items"]
    assert {A, B, C, D} <= {i["code"] for i in items}
    assert all("token" not in json.dumps(i).lower() for i in items), "no token (nor its hash) leaves the axis"


def _check_report(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    agencies = {row["agency"] for row in reply.json()["items"]}
    assert agencies == ({A} if who == "right_agency" else {C})


def _check_register(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
    body = reply.json()
    assert body["agency"] == (A if who == "right_agency" else C)
    text = json.dumps(body["items"], ensure_ascii=False)
    assert (ctx["doc"].document_id in text) == (who == "right_agency")


def _public(holds: Callable[[Reply], bool]) -> Check:
    def run(w: World, reply: Reply, ctx: dict[str, Any], who: str) -> None:
        assert holds(reply), reply.body[:300]
    return run


ENDPOINTS = [
    Endpoint("POST", "/api/v1/documents", _post_document, _check_post_document,
             other=(403, "AXIS.SenderMismatch")),
    Endpoint("POST", "/api/v1/statuses", _post_status, _check_post_status, right="b"),
    Endpoint("GET", "/api/v1/inbox", lambda w, c, x: Call("GET", "/api/v1/inbox"), _check_inbox,
             other=(200, None)),
    Endpoint("GET", "/api/v1/messages/{id}", lambda w, c, x: Call("GET", f"/api/v1/messages/{x['id']}"),
             _check_message, right="b"),
    Endpoint("POST", "/api/v1/inbox/{id}/ack", lambda w, c, x: Call("POST", f"/api/v1/inbox/{x['status_id']}/ack"),
             _check_ack),
    Endpoint("POST", "/api/v1/inbox/ack", _ack_batch, _check_ack_batch, other=(200, None)),
    Endpoint("POST", "/api/v1/statuses/batch", _status_batch, _check_status_batch, other=(200, None), right="b"),
    Endpoint("GET", "/api/v1/documents/{id}/trace",
             lambda w, c, x: Call("GET", f"/api/v1/documents/{x['id']}/trace"), _check_trace),
    Endpoint("GET", "/api/v1/agencies", lambda w, c, x: Call("GET", "/api/v1/agencies"), _check_agencies,
             other=(200, None)),
    Endpoint("GET", "/api/v1/reports/monthly",
             lambda w, c, x: Call("GET", "/api/v1/reports/monthly", params={"month": _month()}), _check_report,
             other=(200, None)),
    Endpoint("GET", "/api/v1/registers/{direction}",
             lambda w, c, x: Call("GET", "/api/v1/registers/outgoing", params={"year": _month()[:4]}),
             _check_register, other=(200, None)),
    Endpoint("GET", "/api/v1/certificate", lambda w, c, x: Call("GET", "/api/v1/certificate"),
             _public(lambda r: r.body.startswith(b"-----BEGIN CERTIFICATE-----")),
             public=True),
    Endpoint("GET", "/api/v1/certificate/chain", lambda w, c, x: Call("GET", "/api/v1/certificate/chain"),
             _public(lambda r: r.body.count(b"-----BEGIN CERTIFICATE-----") == 2), public=True),
    Endpoint("GET", "/api/v1/openapi.json", lambda w, c, x: Call("GET", "/api/v1/openapi.json"),
             _public(lambda r: r.json()["openapi"].startswith("3.")), public=True),
    Endpoint("GET", "/healthz", lambda w, c, x: Call("GET", "/healthz"),
             _public(lambda r: r.json()["status"] == "ok"), public=True),
    Endpoint("GET", "/metrics", lambda w, c, x: Call("GET", "/metrics"),
             _public(lambda r: b"axis_" in r.body), public=True),
]


def test_the_matrix_covers_every_api_route_of_the_application(world: World) -> None:
    routes = {
        (route.method, route.resource.canonical)
        for route in world.axis.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
        and (route.resource.canonical.startswith("/api/") or route.resource.canonical in ("/healthz", "/metrics"))
    }
    assert routes == {(e.method, e.route) for e in ENDPOINTS}


def _token(w: World, who: str) -> tuple[str | None, Agent | None]:
    return {
        "no_token": (None, None),
        "wrong_token": ("axis_" + secrets.token_urlsafe(32), None),
        "other_agency": (w.c.token, w.c),
        "right_agency": (None, None),  # filled in per endpoint
        "disabled_agency": (w.d.token, w.d),
    }[who]


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.route}")
async def test_endpoint_answers_each_kind_of_caller(world: World, endpoint: Endpoint, who: str) -> None:
    token, agent = _token(world, who)
    if who == "right_agency":
        agent = world.a if endpoint.right == "a" else world.b
        token = agent.token
    ctx = await world.exchange()
    request = endpoint.build(world, agent, ctx)
    reply = await call(world.axis, request.method, request.path, token=token, data=request.body,
                       params=request.params)

    if endpoint.public:
        assert reply.status == 200, (reply.status, reply.body[:300])
        endpoint.check(world, reply, ctx, who)
        return
    if who in ("no_token", "wrong_token"):
        assert_problem(reply, 401, "AXIS.Unauthorized")
        assert reply.headers.get("WWW-Authenticate", "").startswith("Bearer")
        return
    if who == "disabled_agency":
        problem = assert_problem(reply, 403, "AXIS.Forbidden")
        assert D in problem["detail"]
        return
    if who == "other_agency" and endpoint.other[1] is not None:
        assert_problem(reply, *endpoint.other)
        return
    expected = (200,) if who == "other_agency" else (200, 202)
    assert reply.status in expected, (reply.status, reply.body[:300])
    result = endpoint.check(world, reply, ctx, who)
    if result is not None:
        await result
