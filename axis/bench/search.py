"""The operators' hub-wide message search at scale: p50/p95 per filter, through ``axis.exchange.search``.

Each filter is timed as the web page and ``axis messages search`` run it (one page of 50 and its
recipients), without the HTML. Values are drawn from the loaded data: ids, DocumentIds and digests
of real messages, agencies, 30-day windows, and subject words both rare and in every document.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from axis.bench.report import latency_summary
from axis.exchange.search import SearchQuery, id_floor, search_messages
from envelope.codes import VN_TZ
from storage.db import session_factory
from storage.models import Agency, Delivery, Message, utcnow

#: Waiting deliveries turned into failed ones before timing (an operator's failed list).
FAILED_DELIVERIES = 200

#: name → (indexed on PostgreSQL, what it asks)
FILTERS: dict[str, tuple[bool, str]] = {
    "search_message_id": (True, "message id (primary key)"),
    "search_document_id": (True, "DocumentId (ix_messages_document_id)"),
    "search_sha256": (True, "SHA-256 (ix_messages_sha256)"),
    "search_sender": (True, "one sender, any kind (ix_messages_sender_id)"),
    "search_sender_kind": (True, "one sender, documents (ix_messages_sender_id, half the rows match)"),
    "search_recipient": (True, "one recipient (ix_deliveries_recipient_message)"),
    "search_date_30d": (True, "a 30-day window (primary key over the id range of those days)"),
    "search_kind_status": (True, "status messages (primary key, half the rows match)"),
    "search_state_failed": (True, "a failed delivery (ix_deliveries_due)"),
    "search_state_queued": (True, "a delivery waiting to be pulled (ix_deliveries_due)"),
    "search_no_filter": (True, "newest first, first page (primary key)"),
    "search_deep_page": (True, "no filter, a keyset page half a year back (primary key)"),
    "search_text_rare": (True, "a distinctive word in a handful of subjects (pg_trgm GIN; SQLite: LIKE)"),
    "search_text_mixed": (False, "common words and a rare number: every trigram list but one is long"),
    "search_text_common": (False, "a subject phrase in every document (read in id order until a page fills)"),
    "search_text_sender": (False, "text and sender together"),
}


async def _mark_failed(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        ids = list((await conn.execute(
            select(Delivery.id).where(Delivery.state == "queued").order_by(Delivery.id).limit(2 * FAILED_DELIVERIES)
        )).scalars())
        ids = ids[:min(FAILED_DELIVERIES, len(ids) // 2)]  # leave some waiting: the queued filter needs them
        if ids:
            await conn.execute(update(Delivery).where(Delivery.id.in_(ids))
                               .values(state="failed", last_error="HTTP 503 (bench)"))
    return len(ids)


async def time_search(engine: AsyncEngine, message_ids: list[str], agency_ids: list[int],
                      samples: int) -> dict[str, dict[str, Any]]:
    """p50/p95 of one search page per filter."""
    rng = random.Random(17)
    failed = await _mark_failed(engine)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE deliveries"))
    async with engine.connect() as conn:
        codes = {i: c for i, c in (await conn.execute(select(Agency.id, Agency.code))).all()}
        picked = rng.sample(message_ids, min(samples, len(message_ids)))
        rows = (await conn.execute(
            select(Message.id, Message.document_id, Message.sha256).where(Message.id.in_(picked)))).all()
    if not rows:
        return {"search": {"skipped": "no messages to look for"}}
    agencies = [codes[a] for a in agency_ids if a in codes]
    now = utcnow()
    middle = now - timedelta(days=182)

    def window(i: int) -> SearchQuery:
        first = (now - timedelta(days=rng.randint(30, 360))).astimezone(VN_TZ).date()
        return SearchQuery(date_from=first, date_to=first + timedelta(days=29))

    queries: dict[str, Callable[[int], SearchQuery]] = {
        "search_message_id": lambda i: SearchQuery(message_id=rows[i % len(rows)][0]),
        "search_document_id": lambda i: SearchQuery(document_id=rows[i % len(rows)][1]),
        "search_sha256": lambda i: SearchQuery(sha256=rows[i % len(rows)][2]),
        "search_sender": lambda i: SearchQuery(sender=rng.choice(agencies)),
        "search_sender_kind": lambda i: SearchQuery(sender=rng.choice(agencies), kind="edoc"),
        "search_recipient": lambda i: SearchQuery(recipient=rng.choice(agencies)),
        "search_date_30d": window,
        "search_kind_status": lambda i: SearchQuery(kind="status"),
        "search_state_failed": lambda i: SearchQuery(state="failed"),
        "search_state_queued": lambda i: SearchQuery(state="queued"),
        "search_no_filter": lambda i: SearchQuery(),
        "search_deep_page": lambda i: SearchQuery(after=id_floor(middle - timedelta(minutes=i))),
        "search_text_rare": lambda i: SearchQuery(text=str(rng.randint(100_000, 999_999))),
        "search_text_mixed": lambda i: SearchQuery(text=f"định kỳ số {rng.randint(100_000, 999_999)}"),
        "search_text_common": lambda i: SearchQuery(text="báo cáo định kỳ"),
        "search_text_sender": lambda i: SearchQuery(text="báo cáo", sender=rng.choice(agencies)),
    }
    sessions = session_factory(engine)
    out: dict[str, dict[str, Any]] = {}
    for name, make in queries.items():
        # One untimed call: the first query of a kind pays for planning and cold caches.
        async with sessions() as session:
            await search_messages(session, make(0))
        latencies: list[float] = []
        found = 0
        for i in range(samples):
            q = make(i)
            started = time.perf_counter()
            async with sessions() as session:
                found += len((await search_messages(session, q)).hits)
            latencies.append(time.perf_counter() - started)
        indexed, via = FILTERS[name]
        out[name] = {"count": len(latencies), **latency_summary(latencies),
                     "rows_per_page": round(found / max(1, samples), 1), "indexed": indexed,
                     "via": f"axis.exchange.search.search_messages: {via}"}
    out["search_state_failed"]["failed_deliveries"] = failed
    return out
