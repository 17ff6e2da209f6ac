"""Real /vxp answers validate against the OpenAPI document's description of them."""

from __future__ import annotations

from axis.api.openapi import openapi_document
from axis.vxp import openapi as vxp_openapi
from envelope.codes import StatusCode
from tests.exchange.test_openapi import check
from tests.harness import Harness
from tests.vxp.conftest import sdk_for

A, B = "000.00.00.G22", "000.00.00.H29"


async def test_real_vxp_answers_validate_against_the_description(axis: Harness) -> None:
    doc = openapi_document(vxp_openapi.part())
    a, b = await axis.register(A), await axis.register(B)
    sa, sb = await sdk_for(axis, a), await sdk_for(axis, b)
    document, signed = a.document([b])

    def ok(path: str, reply, method: str = "post") -> dict:  # type: ignore[no-untyped-def, type-arg]
        assert reply.status == 200, reply.body[:300]
        check(doc, reply.json(), path, method, 200)
        return reply.json()  # type: ignore[no-any-return]

    doc_id = ok("/vxp/sendEdoc", await sa.send_edoc(signed, {"from": A}))["DocId"]
    ok("/vxp/getReceivedEdocList", await sb.call("getReceivedEdocList", {"messagetype": "edoc"}))
    ok("/vxp/getEdoc", await sb.call("getEdoc", {"docId": doc_id}))
    ok("/vxp/countReceiveEdoc", await sb.call("countReceiveEdoc", method="GET"), "get")
    ok("/vxp/updateStatus", await sb.call("updateStatus", {"docid": doc_id, "status": "processing"}))
    ok("/vxp/sendEdoc", await sb.send_edoc(b.status(document, StatusCode.ARRIVED), {"messagetype": "status"}))
    ok("/vxp/getReceivedEdocList", await sa.call("getReceivedEdocList", {"messagetype": "status"}))
    ok("/vxp/countReceiveStatus", await sa.call("countReceiveStatus", method="GET"), "get")
    ok("/vxp/getSentEdocList", await sa.call("getSentEdocList"))
    ok("/vxp/getAgenciesList", await sa.call("getAgenciesList"))
    refused = await sa.call("getEdoc", {"docId": "01J00000000000000000000000"})
    assert refused.status == 404
    check(doc, refused.json(), "/vxp/getEdoc", "post", 404)
