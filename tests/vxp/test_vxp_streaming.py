"""getEdoc and downloadEdoc stream a stored payload: never read whole, the bytes the same."""

from __future__ import annotations

import base64
import os

from envelope.model import Attachment
from tests.harness import Harness
from tests.vxp.conftest import sdk_for

A, B = "000.00.00.G22", "000.00.00.H29"


async def test_get_and_download_edoc_never_read_a_payload_whole(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    # Larger than one encoding step and not a multiple of 3: the pieces must join into one base64 text.
    scan = Attachment("cid:1", "ban-scan.pdf", "application/pdf", b"%PDF-1.4 " + os.urandom(3 * 1024 * 1024 + 1))
    _, signed = a.document([b], attachments=[scan])
    doc_id = (await sa.send_edoc(signed, {"from": A})).json()["DocId"]

    def whole(sha256: str) -> bytes:
        raise AssertionError("a /vxp read held a whole payload in memory")

    payloads = axis.ctx.payloads
    payloads.read = whole  # type: ignore[method-assign, assignment]
    try:
        got = await sb.call("getEdoc", {"docId": doc_id})
        assert got.status == 200 and int(got.headers["Content-Length"]) == len(got.body)
        body = got.json()
        assert (body["status"], body["ErrorCode"], body["DocId"]) == ("OK", "0", doc_id)
        assert base64.b64decode(body["data"], validate=True) == signed
        download = await sb.call("downloadEdoc", {"docId": doc_id}, method="GET")
        assert download.status == 200 and download.body == signed
    finally:
        del payloads.read  # type: ignore[attr-defined]
