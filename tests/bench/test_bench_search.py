"""The operators' search at scale, as `axis bench --scale` times it: every filter runs on bulk-loaded data
and finds what it should (figures only, no timing thresholds)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from axis.bench.scale import bulk_load
from axis.bench.search import FILTERS, time_search
from migrations.upgrade import upgrade
from storage.db import create_engine, session_factory
from storage.registry.agencies import register_agency
from tests.databases import fresh_database


async def test_bench_times_every_search_filter_on_bulk_loaded_messages(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as url:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, session.begin():
                queried = (await register_agency(session, "000.00.00.G22", "Văn phòng Chính phủ",
                                                 actor="test")).agency.id
            data = await bulk_load(url, 3000, queried)
            figures = await time_search(engine, data.trace_ids, data.counterparts, 3)
        finally:
            await engine.dispose()
    assert set(figures) == set(FILTERS)
    for name, f in figures.items():
        assert f["count"] == 3 and f["p95_ms"] > 0 and f["via"].startswith("axis.exchange.search"), name
    # Exact keys find their one message (a DocumentId: the document and its 01 receipt).
    assert figures["search_message_id"]["rows_per_page"] == 1
    assert figures["search_sha256"]["rows_per_page"] == 1
    assert figures["search_document_id"]["rows_per_page"] == 2
    # Broad filters fill a page; the failed deliveries made for the bench are found.
    for name in ("search_no_filter", "search_kind_status", "search_text_common", "search_deep_page",
                 "search_date_30d"):
        assert figures[name]["rows_per_page"] == 50, name
    for name in ("search_sender", "search_sender_kind", "search_recipient", "search_state_queued"):
        assert figures[name]["rows_per_page"] > 0, name
    assert figures["search_state_failed"]["failed_deliveries"] > 0
    assert figures["search_state_failed"]["rows_per_page"] == min(50, figures["search_state_failed"]["failed_deliveries"])
