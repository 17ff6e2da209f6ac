"""Who may read what, over real HTTP: another agency's messages are invisible, reads are exact."""

from __future__ import annotations

import hashlib

from envelope.codes import StatusCode
from storage.ids import new_id
from tests.exchange.snapshots import assert_nothing_stored, assert_problem, call, snapshot
from tests.harness import Agent, Harness

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


async def _sent(axis: Harness, sender: Agent, to: list[Agent], **kw: object) -> tuple[str, object, bytes]:
    """Submit a new document; return its message id, model and signed bytes."""
    doc, signed = sender.document(to, **kw)  # type: ignore[arg-type]
    reply = await call(axis, "POST", "/api/v1/documents", token=sender, data=signed)
    assert reply.status == 202, reply.body
    return reply.json()["id"], doc, signed


async def _status(axis: Harness, agent: Agent, doc: object, code: StatusCode) -> str:
    reply = await call(axis, "POST", "/api/v1/statuses", token=agent, data=agent.status(doc, code))  # type: ignore[arg-type]
    assert reply.status == 202, reply.body
    return reply.json()["id"]


# --- another agency's messages ------------------------------------------------------------------------------


async def test_outsider_cannot_read_ack_trace_or_answer_another_agencys_messages(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    c = await axis.register(C)
    doc_id, doc, _ = await _sent(axis, a, [b])
    receipt_id = await _status(axis, b, doc, StatusCode.ARRIVED)  # a status item in A's inbox
    before = await snapshot(axis)

    for message_id in (doc_id, receipt_id):
        for method, path in (
            ("GET", f"/api/v1/messages/{message_id}"),
            ("POST", f"/api/v1/inbox/{message_id}/ack"),
            ("GET", f"/api/v1/documents/{message_id}/trace"),
        ):
            reply = await call(axis, method, path, token=c)
            problem = assert_problem(reply, 404, "AXIS.NotFound")
            assert problem["detail"] == f"no message {message_id}", "an outsider learns nothing about the id"
    # Nor can it answer a document it never received.
    reply = await call(axis, "POST", "/api/v1/statuses", token=c, data=c.status(doc, StatusCode.ACCEPTED))
    assert_problem(reply, 404, "AXIS.NotFound")

    # And none of it shows up in the outsider's inbox.
    inbox = await call(axis, "GET", "/api/v1/inbox", token=c)
    assert inbox.status == 200 and inbox.json()["items"] == []
    await assert_nothing_stored(axis, before)


async def test_outsider_answer_looks_the_same_as_an_unknown_id(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    c = await axis.register(C)
    doc_id, _, _ = await _sent(axis, a, [b])
    unknown = new_id()
    for path in ("/api/v1/messages/{}", "/api/v1/documents/{}/trace"):
        theirs = (await call(axis, "GET", path.format(doc_id), token=c)).json()
        missing = (await call(axis, "GET", path.format(unknown), token=c)).json()
        for p in (theirs, missing):
            p.pop("detail"), p.pop("instance")
        assert theirs == missing


async def test_unknown_well_formed_id_and_garbage_id_are_not_found(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    await _sent(axis, a, [b])
    before = await snapshot(axis)
    for message_id in (new_id(), "not-an-id", "0" * 26 + "0", "%2e%2e%2fetc%2fpasswd", "'; DROP TABLE messages;--"):
        for method, path in (
            ("GET", f"/api/v1/messages/{message_id}"),
            ("POST", f"/api/v1/inbox/{message_id}/ack"),
            ("GET", f"/api/v1/documents/{message_id}/trace"),
        ):
            assert_problem(await call(axis, method, path, token=a), 404, "AXIS.NotFound")
    await assert_nothing_stored(axis, before)


async def test_recipient_and_sender_may_read_and_trace_the_document(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    doc_id, _, signed = await _sent(axis, a, [b])
    for agent in (a, b):
        got = await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=agent)
        assert got.status == 200 and got.body == signed
        trace = await call(axis, "GET", f"/api/v1/documents/{doc_id}/trace", token=agent)
        assert trace.status == 200 and trace.json()["id"] == doc_id


async def test_requests_without_a_valid_token_read_nothing(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    doc_id, _, _ = await _sent(axis, a, [b])
    for token in (None, "wrong-token"):
        for method, path in (
            ("GET", "/api/v1/inbox"),
            ("GET", f"/api/v1/messages/{doc_id}"),
            ("POST", f"/api/v1/inbox/{doc_id}/ack"),
            ("GET", f"/api/v1/documents/{doc_id}/trace"),
            ("GET", "/api/v1/agencies"),
        ):
            assert_problem(await call(axis, method, path, token=token), 401, "AXIS.Unauthorized")


# --- ack ----------------------------------------------------------------------------------------------------


async def test_ack_of_a_document_is_conflict_and_leaves_it_in_the_inbox(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    doc_id, _, _ = await _sent(axis, a, [b])
    before = await snapshot(axis)
    reply = await call(axis, "POST", f"/api/v1/inbox/{doc_id}/ack", token=b)
    assert_problem(reply, 409, "AXIS.Conflict")
    await assert_nothing_stored(axis, before)
    inbox = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()
    assert [i["id"] for i in inbox["items"]] == [doc_id]


async def test_ack_of_a_status_by_its_own_sender_is_not_found(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    _, doc, _ = await _sent(axis, a, [b])
    receipt_id = await _status(axis, b, doc, StatusCode.ARRIVED)
    before = await snapshot(axis)
    # B sent the status; only A has it in the inbox.
    assert_problem(await call(axis, "POST", f"/api/v1/inbox/{receipt_id}/ack", token=b), 404, "AXIS.NotFound")
    await assert_nothing_stored(axis, before)
    ok = await call(axis, "POST", f"/api/v1/inbox/{receipt_id}/ack", token=a)
    assert ok.status == 200 and ok.json() == {"id": receipt_id, "state": "delivered"}
    again = await call(axis, "POST", f"/api/v1/inbox/{receipt_id}/ack", token=a)
    assert again.status == 200 and again.json() == ok.json()


# --- routes -------------------------------------------------------------------------------------------------


async def test_unknown_route_is_a_not_found_problem(axis: Harness) -> None:
    a = await axis.register(A)
    for path in ("/api/v1/nothing-here", "/api/v2/documents", "/nothing-here"):
        reply = await call(axis, "GET", path, token=a)
        problem = assert_problem(reply, 404, "AXIS.NotFound")
        assert problem["instance"] == path


async def test_wrong_method_is_a_method_not_allowed_problem(axis: Harness) -> None:
    a = await axis.register(A)
    for method, path in (
        ("GET", "/api/v1/documents"),
        ("PUT", "/api/v1/statuses"),
        ("DELETE", f"/api/v1/messages/{new_id()}"),
        ("GET", f"/api/v1/inbox/{new_id()}/ack"),
        ("POST", "/api/v1/inbox"),
    ):
        reply = await call(axis, method, path, token=a)
        assert_problem(reply, 405, "AXIS.MethodNotAllowed")
        assert reply.headers.get("Allow")


# --- reading a message --------------------------------------------------------------------------------------


async def test_message_is_served_byte_identical_with_sha256_etag_and_if_none_match_gives_304(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    doc_id, _, signed = await _sent(axis, a, [b], subject="Về việc ký số <văn bản> & \"lưu trữ\"")
    etag = f'"{hashlib.sha256(signed).hexdigest()}"'

    got = await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=b)
    assert got.status == 200
    assert got.body == signed
    assert got.content_type == "application/xml"
    assert got.headers["ETag"] == etag
    assert got.headers["X-Axis-Message-Id"] == doc_id

    cached = await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=b, headers={"If-None-Match": etag})
    assert cached.status == 304 and cached.body == b""
    assert cached.headers["ETag"] == etag

    stale = await call(axis, "GET", f"/api/v1/messages/{doc_id}", token=b, headers={"If-None-Match": '"0000"'})
    assert stale.status == 200 and stale.body == signed and stale.headers["ETag"] == etag


# --- inbox paging -------------------------------------------------------------------------------------------


async def test_inbox_pages_with_limit_1_walk_every_item_oldest_first_and_kind_filters(axis: Harness) -> None:
    a = await axis.register(A)
    b = await axis.register(B)
    c = await axis.register(C)
    first_id, first_doc, _ = await _sent(axis, a, [b], subject="Văn bản thứ nhất")
    second_id, _, _ = await _sent(axis, c, [b], subject="Văn bản thứ hai")
    third_id, _, _ = await _sent(axis, a, [b, c], subject="Văn bản thứ ba")
    taken_back = await _status(axis, a, first_doc, StatusCode.TAKEN_BACK)  # a status item for B
    expected = [first_id, second_id, third_id, taken_back]

    walked: list[dict] = []
    cursor: str | None = None
    for _ in range(10):
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = await call(axis, "GET", "/api/v1/inbox", token=b, params=params)
        assert page.status == 200 and page.content_type == "application/json"
        body = page.json()
        assert len(body["items"]) <= 1
        walked += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [i["id"] for i in walked] == expected
    assert [i["kind"] for i in walked] == ["edoc", "edoc", "edoc", "status"]
    assert [i["from"] for i in walked] == [A, C, A, A]
    assert walked[3]["status_code"] == "13" and walked[3]["response_for"] == first_id
    received = [i["received_at"] for i in walked]
    assert received == sorted(received)

    whole = (await call(axis, "GET", "/api/v1/inbox", token=b)).json()
    assert [i["id"] for i in whole["items"]] == expected and whole["next_cursor"] is None
    edocs = (await call(axis, "GET", "/api/v1/inbox", token=b, params={"kind": "edoc"})).json()
    assert [i["id"] for i in edocs["items"]] == [first_id, second_id, third_id]
    statuses = (await call(axis, "GET", "/api/v1/inbox", token=b, params={"kind": "status"})).json()
    assert [i["id"] for i in statuses["items"]] == [taken_back]
    two = (await call(axis, "GET", "/api/v1/inbox", token=b, params={"kind": "edoc", "limit": "2"})).json()
    assert [i["id"] for i in two["items"]] == [first_id, second_id] and two["next_cursor"] == second_id
    rest = (await call(axis, "GET", "/api/v1/inbox", token=b,
                       params={"kind": "edoc", "limit": "2", "cursor": two["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [third_id] and rest["next_cursor"] is None

    # C sees only what was sent to C.
    c_items = (await call(axis, "GET", "/api/v1/inbox", token=c)).json()["items"]
    assert [i["id"] for i in c_items] == [third_id]


async def test_inbox_with_bad_limit_cursor_or_kind_is_a_validation_problem(axis: Harness) -> None:
    b = await axis.register(B)
    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": "99999999999999999999999"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "' OR 1=1 --"}, "cursor"),
        ({"kind": "everything"}, "kind"),
    ):
        reply = await call(axis, "GET", "/api/v1/inbox", token=b, params=params)
        problem = assert_problem(reply, 400, "AXIS.Validation")
        assert problem["field"] == field, (params, problem)


async def test_server_still_healthy_after_bad_reads(axis: Harness) -> None:
    a = await axis.register(A)
    for method, path in (
        ("GET", "/api/v1/messages/x"), ("POST", "/api/v1/inbox/x/ack"), ("GET", "/api/v1/inbox?limit=x"),
        ("GET", "/api/v1/nope"), ("PATCH", "/api/v1/documents"), ("GET", "/api/v1/documents/%00/trace"),
    ):
        reply = await call(axis, method, path, token=a)
        assert 400 <= reply.status < 500 and reply.content_type == "application/problem+json"
    health = await call(axis, "GET", "/healthz")
    assert health.status == 200 and health.json() == {"status": "ok", "database": "ok", "large_bodies": "ok"}
