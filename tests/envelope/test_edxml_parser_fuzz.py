"""Fuzzing: whatever bytes arrive, the parser answers with a message or an EnvelopeError."""

from __future__ import annotations

import contextlib
import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from envelope import DocumentMessage, EnvelopeError, StatusMessage, parse_message
from tests.envelope.sample_messages import ALL_SAMPLES, read_sample

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLES = [read_sample(name) for name in ALL_SAMPLES]
TREES = [etree.fromstring(s) for s in SAMPLES]
# Fragments that tend to hit edge cases: entities, CDATA, odd numbers, namespaces.
NASTY = st.sampled_from(
    [
        "&amp;",
        "<![CDATA[x]]>",
        "&#0;",
        "&#x1F600;",
        "-1",
        "99999999999",
        "2024/13/45",
        "=",
        "====",
        "cid:1",
        "000.00.00.G22",
        "\u0301",
        "\ud7ff",
        'xmlns="urn:x"',
        "<!DOCTYPE a>",
    ]
)


def _parse_or_refuse(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except EnvelopeError:
        return
    assert isinstance(msg, DocumentMessage | StatusMessage)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    _parse_or_refuse(data)


@FUZZ
@given(
    st.sampled_from(range(len(SAMPLES))),
    st.lists(
        st.tuples(
            st.floats(0, 1, exclude_max=True),
            st.integers(0, 3),
            st.binary(max_size=8) | NASTY.map(str.encode),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_byte_mutations_of_samples_are_refused_cleanly(
    which: int, edits: list[tuple[float, int, bytes]]
) -> None:
    data = bytearray(SAMPLES[which])
    for where, action, chunk in edits:
        pos = int(where * len(data))
        if action == 0:
            data[pos : pos + len(chunk)] = chunk  # overwrite
        elif action == 1:
            data[pos:pos] = chunk  # insert
        elif action == 2:
            del data[pos : pos + 1 + len(chunk)]  # delete
        else:
            data[pos : pos + 1] = bytes([data[pos] ^ 0x20])  # flip a bit
    _parse_or_refuse(bytes(data))


@FUZZ
@given(
    st.sampled_from(range(len(TREES))),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.text(max_size=20) | NASTY),
        min_size=1,
        max_size=5,
    ),
)
def test_structural_mutations_of_samples_are_refused_cleanly(
    which: int, edits: list[tuple[int, int, str]]
) -> None:
    root = copy.deepcopy(TREES[which])
    for index, action, text in edits:
        elements = list(root.iter())
        el = elements[index % len(elements)]
        parent = el.getparent()
        if action == 0 and parent is not None:
            parent.remove(el)
        elif action == 1 and parent is not None:
            el.addnext(copy.deepcopy(el))
        elif action == 2:
            # lxml refuses XML-incompatible text; nothing to test then.
            with contextlib.suppress(ValueError):
                el.text = text
        elif parent is not None:
            el.tag = f"{{urn:fuzz}}{etree.QName(el).localname}"
    _parse_or_refuse(etree.tostring(root, encoding="UTF-8"))
