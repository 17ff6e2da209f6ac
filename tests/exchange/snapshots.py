"""Raw HTTP calls and "nothing was stored" checks for API error tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from storage.models import AuditEvent, AuditQueueEntry, Delivery, Message, Payload, PayloadChunk, StatusEvent
from tests.harness import Agent, Harness

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Reply:
    """What the server answered, unparsed except for JSON bodies."""

    status: int
    headers: Any
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    harness: Harness,
    method: str,
    path: str,
    *,
    token: str | Agent | None = None,
    data: bytes | AsyncIterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request to the running axis, with a bearer token when given."""
    sent = dict(headers or {})
    if isinstance(token, Agent):
        token = token.token
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}")
    if data is not None:
        sent.setdefault("Content-Type", "application/xml")
    async with aiohttp.ClientSession() as session, session.request(
        method, harness.url + path, data=data, headers=sent, params=params
    ) as r:
        return Reply(r.status, r.headers, await r.read())


def assert_problem(reply: Reply, status: int, code: str) -> dict[str, Any]:
    """The reply is an RFC 9457 problem with this HTTP status and axis code; return its body."""
    assert reply.status == status, (reply.status, reply.body[:500])
    assert reply.content_type == PROBLEM_JSON, reply.headers.get("Content-Type")
    problem = reply.json()
    assert problem["code"] == code, problem
    assert problem["status"] == status, problem
    assert problem.get("detail"), problem
    return problem


@dataclass(frozen=True)
class Snapshot:
    """Row counts, delivery states, payload rows and blob files: everything a refused request must leave alone."""

    messages: int
    payloads: int
    deliveries: int
    statuses: int
    audit_events: int
    delivery_states: tuple[tuple[int, str], ...]
    revoked: tuple[str, ...]
    blobs: frozenset[str]
    #: Rows of payload_chunks (the database backend's large payloads).
    payload_chunks: int = 0


def _blob_files(root: Path) -> frozenset[str]:
    # Every file, temp files included: a refused request leaves no partial write behind.
    if not root.exists():
        return frozenset()
    return frozenset(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def snapshot(harness: Harness) -> Snapshot:
    """What is stored right now."""
    async with harness.ctx.sessions() as session:
        async def count(model: Any) -> int:
            return (await session.execute(select(func.count()).select_from(model))).scalar_one()

        states = (await session.execute(select(Delivery.id, Delivery.state).order_by(Delivery.id))).all()
        revoked = (
            await session.execute(select(Message.id).where(Message.revoked_at.is_not(None)).order_by(Message.id))
        ).scalars().all()
        return Snapshot(
            messages=await count(Message),
            payloads=await count(Payload),
            deliveries=await count(Delivery),
            statuses=await count(StatusEvent),
            # Chained or still queued, counted in one statement (one snapshot): the sealer may move
            # entries from the queue into the chain between two statements.
            audit_events=(await session.execute(select(
                select(func.count()).select_from(AuditEvent).scalar_subquery()
                + select(func.count()).select_from(AuditQueueEntry).scalar_subquery()
            ))).scalar_one(),
            delivery_states=tuple((i, s) for i, s in states),
            revoked=tuple(revoked),
            blobs=_blob_files(harness.ctx.blobs.root),
            payload_chunks=await count(PayloadChunk),
        )


async def assert_nothing_stored(harness: Harness, before: Snapshot) -> None:
    """No message, delivery, status, audit entry, payload or blob appeared, and no state changed, since ``before``."""
    after = await snapshot(harness)
    assert after.blobs == before.blobs, f"new blob files: {sorted(after.blobs - before.blobs)}"
    assert after == before
