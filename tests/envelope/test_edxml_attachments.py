"""Attachments: base64 decoded in chunks, measured without a second copy, named safely."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope import (
    Attachment,
    DocumentMessage,
    InvalidEnvelope,
    ParsedAttachment,
    build_document,
    parse_document,
    safe_attachment_name,
)
from envelope.attachments import iter_base64_chunks


def _parsed(encoded: str) -> ParsedAttachment:
    return ParsedAttachment.from_encoded(
        content_id="cid:1",
        name="a.bin",
        content_type="application/octet-stream",
        description="",
        encoded=encoded,
        field="AttachmentEncoded/Attachment[1]/ContentTransferEncoded",
    )


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=600),
    st.integers(1, 40).map(lambda n: 4 * n),
    st.lists(st.sampled_from([" ", "\n", "\r\n", "\t"]), max_size=30),
    st.randoms(use_true_random=False),
)
def test_chunked_decoding_matches_whole_decoding_despite_whitespace(
    data: bytes, chunk_chars: int, spaces: list[str], rnd: object
) -> None:
    chars = list(base64.b64encode(data).decode())
    for space in spaces:
        chars.insert(rnd.randrange(len(chars) + 1), space)  # type: ignore[attr-defined]
    encoded = "".join(chars)
    assert b"".join(iter_base64_chunks(encoded, chunk_chars=chunk_chars)) == data
    parsed = _parsed(encoded)
    assert parsed.size == len(data)
    assert parsed.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(parsed.iter_chunks(chunk_chars=chunk_chars)) == data


def test_padding_in_an_earlier_chunk_is_refused() -> None:
    with pytest.raises(InvalidEnvelope) as err:
        list(iter_base64_chunks("QQ==QUJD", chunk_chars=4, field="x"))
    assert err.value.field == "x"


@pytest.mark.parametrize("encoded", ["Q", "QQ=", "Q===", "QUJD*", "QUJDü===", "QUJD\u00a0QUJD"])
def test_malformed_base64_is_refused_with_its_field(encoded: str) -> None:
    with pytest.raises(InvalidEnvelope) as err:
        _parsed(encoded)
    assert err.value.field == "AttachmentEncoded/Attachment[1]/ContentTransferEncoded"


def test_empty_attachment_is_allowed() -> None:
    parsed = _parsed("")
    assert (parsed.size, parsed.data()) == (0, b"")
    assert parsed.sha256 == hashlib.sha256(b"").hexdigest()


def test_parsed_attachment_converts_to_an_equal_attachment() -> None:
    att = Attachment("cid:1", "a.bin", "application/octet-stream", b"abc")
    parsed = _parsed(base64.b64encode(b"abc").decode())
    assert parsed.to_attachment() == att
    assert (parsed.size, parsed.sha256) == (att.size, att.sha256)


def test_parsed_attachment_repr_leaves_out_the_payload() -> None:
    assert "QUJD" not in repr(_parsed("QUJD"))
    assert "secret" not in repr(Attachment("cid:1", "a", "t", b"secret"))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/absolute/path/báo cáo.pdf", "báo cáo.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        (".bashrc", "bashrc"),
        ("bad\x00name\x1f.pdf", "badname.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override disguising .exe
        ("Quyết định số 12.pdf", "Quyết định số 12.pdf"),
    ],
)
def test_safe_name_strips_paths_and_control_characters(name: str, safe: str) -> None:
    assert safe_attachment_name(name) == safe
    assert Attachment("cid:1", name, "t", b"").safe_name == safe


def test_safe_name_keeps_the_extension_of_a_very_long_name() -> None:
    safe = safe_attachment_name("a" * 1000 + ".pdf")
    assert len(safe) <= 200 and safe.endswith(".pdf")


def test_name_is_kept_as_given_next_to_its_safe_form() -> None:
    parsed = ParsedAttachment.from_encoded(
        content_id="cid:1", name="../x.pdf", content_type="", description="", encoded=""
    )
    assert parsed.name == "../x.pdf"
    assert parsed.safe_name == "x.pdf"


def test_attachment_larger_than_libxml2_text_limit_round_trips(
    make_document: Callable[..., DocumentMessage],
) -> None:
    # libxml2 caps a text node at 10 MB unless huge_tree is on; base64 of 12 MB is 16 MB.
    blob = os.urandom(1024) * (12 * 1024)
    msg = make_document(attachments=(Attachment("cid:1", "scan.tif", "image/tiff", blob),))
    (parsed,) = parse_document(build_document(msg)).attachments
    assert parsed.size == len(blob)
    assert parsed.sha256 == hashlib.sha256(blob).hexdigest()
    assert sum(len(chunk) for chunk in parsed.iter_chunks()) == len(blob)
