"""A document signed outside the project, by xmlsec1, is accepted and delivered byte-identical."""

from __future__ import annotations

from pathlib import Path

from envelope.builder import build_document
from tests.harness import Harness
from tests.signing.xmlsec1_interop import signature_template, with_template, xmlsec1_or_skip, xmlsec1_sign


async def test_document_signed_by_xmlsec1_is_accepted_and_delivered_byte_identical(
    axis: Harness, tmp_path: Path
) -> None:
    xmlsec1 = xmlsec1_or_skip()
    a = await axis.register("000.00.00.G22")
    b = await axis.register("000.00.00.H41")
    doc, _ = a.document([b], subject="Văn bản ký bằng phần mềm khác (xmlsec1)")
    signed = xmlsec1_sign(xmlsec1, with_template(build_document(doc), signature_template()), a.identity, tmp_path)

    async with a.client() as ac, b.client() as bc:
        reply = await ac.submit(signed)
        assert [r["organ_id"] for r in reply["recipients"]] == [b.code]
        items = (await bc.inbox())["items"]
        assert [i["id"] for i in items] == [reply["id"]]
        assert await bc.fetch(reply["id"]) == signed
