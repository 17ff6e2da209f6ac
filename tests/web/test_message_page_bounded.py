"""The operator's message page reads a payload's header, never the whole payload."""

from __future__ import annotations

import os
import re
from typing import Any

from sqlalchemy import delete

from envelope.model import Attachment
from storage.models import Message, PayloadChunk
from storage.payloads.files import CHUNK
from tests.web.conftest import A, World

_TRACE = re.compile(r'<table class="grid" id="story-trace">(.*?)</table>', re.S)


async def _spoil_all_but_the_first_mib(world: World, sha256: str) -> str:
    """Make every byte after the first MiB unreadable where the payload is kept; return where that is."""
    payloads = world.axis.ctx.payloads
    where = await payloads.where(sha256)
    if where == "filesystem":
        path = payloads.files.path_for(sha256)
        with path.open("r+b") as fh:
            fh.truncate(CHUNK)  # a whole read now ends mid-attachment: not well-formed XML
    else:
        assert where == "database", where
        async with world.axis.ctx.engine.begin() as conn:
            await conn.execute(delete(PayloadChunk.__table__).where(PayloadChunk.sha256 == sha256,
                                                                     PayloadChunk.seq > 0))
    return where


async def test_the_trace_of_a_large_document_comes_from_its_first_mib(world: World, browser_for: Any) -> None:
    sent = await world.send([world.b], attachments=[
        Attachment("cid:1", "ho-so.zip", "application/zip", os.urandom(3 * CHUNK))])
    async with world.axis.ctx.sessions() as session:
        message = await session.get(Message, sent["id"])
        assert message is not None and message.size > 3 * CHUNK
        sha256 = message.sha256
    # Only the first MiB is left readable: a page that read the whole payload could not show the trace
    # (the file's XML breaks off; the database's next row is gone).
    await _spoil_all_but_the_first_mib(world, sha256)
    await world.add_user("vanhanh", world.axis.ctx.settings.axis_code, "operator")
    operator = await browser_for("vanhanh")

    status, html, _ = await operator.get(f"/admin/messages/{sent['id']}")

    assert status == 200
    trace = _TRACE.search(html)
    assert trace is not None, "the TraceHeaderList is not shown"
    assert A in trace.group(1)  # the sender's hop, read from the header
    assert 'class="error-text"' not in html
