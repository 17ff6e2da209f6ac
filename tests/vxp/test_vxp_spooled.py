"""A body above the spool threshold goes through /vxp the same way: the SDK's CRLF is cut from the spooled file."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from envelope.model import Attachment
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.exchange.snapshots import assert_nothing_stored, snapshot
from tests.harness import Harness, server_settings, start_server
from tests.vxp import deployed
from tests.vxp.conftest import sdk_for, set_policy

A, B = "000.00.00.G22", "000.00.00.H29"


@pytest.fixture
async def spooling(tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
                   identities: dict[str, IssuedIdentity]) -> AsyncIterator[Harness]:
    """An axis that spools every body above 4 KiB to a file."""
    async with db_template.clone(tmp_path) as url:
        harness, server = await start_server(server_settings(tmp_path / "home", url, spool_threshold_bytes=4096),
                                             test_ca, identities)
        try:
            yield harness
        finally:
            await server.close()


async def test_large_sdk_documents_signed_or_legacy_are_stored_without_the_crlf(spooling: Harness) -> None:
    axis = spooling
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    scan = Attachment("cid:1", "ban-scan.pdf", "application/pdf", b"%PDF-1.4 " + bytes(range(256)) * 200)
    _, signed = a.document([b], attachments=[scan])
    assert len(signed) > 4096
    sent = (await sa.send_edoc(signed, {"from": A})).json()
    assert sent["status"] == "OK" and sent["sha256"] == hashlib.sha256(signed).hexdigest(), sent
    got = (await sb.call("getEdoc", {"docId": sent["DocId"]})).json()
    assert base64.b64decode(got["data"]) == signed

    before = await snapshot(axis)
    mismatch = (await sa.send_edoc(signed + b"x", {"from": A}, hash_file=hashlib.sha256(signed).hexdigest())).json()
    assert (mismatch["status"], mismatch["ErrorCode"]) == ("FAIL", "VXP.HashFileMismatch")
    await assert_nothing_stored(axis, before)  # no spool file left behind either

    await set_policy(axis, A, "legacy-transport")
    raw = deployed.unsigned(a, [b], attachments=[scan])
    assert len(raw) > 4096
    unsigned = (await sa.send_edoc(raw, {"from": A})).json()
    assert (unsigned["status"], unsigned["authentication"]) == ("OK", "transport"), unsigned
    assert base64.b64decode((await sb.call("getEdoc", {"docId": unsigned["DocId"]})).json()["data"]) == raw
