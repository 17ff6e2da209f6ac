"""Sample messages and tree edits for the edXML tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lxml import etree

SAMPLES = Path(__file__).parent / "samples"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
E = {"e": NS}

CONG_VAN = "cong_van_g22_to_two_agencies.xml"
STATUS_01 = "status_01_arrived.xml"
REVOKE = "revoke_decision_type_1.xml"
ALL_SAMPLES = (CONG_VAN, STATUS_01, REVOKE)


def read_sample(name: str) -> bytes:
    """Bytes of a hand-written sample message."""
    return (SAMPLES / name).read_bytes()


def mutate(data: bytes, change: Callable[[etree._Element], object]) -> bytes:
    """Parse, let ``change`` edit the tree in place, serialise again."""
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def find(root: etree._Element, path: str) -> etree._Element:
    """The first element at a path using prefix ``e`` for edXML, e.g. ``.//e:From/e:OrganId``."""
    found = root.find(path, E)
    assert found is not None, path
    return found


def remove(root: etree._Element, path: str) -> None:
    """Remove the first element at ``path``."""
    el = find(root, path)
    parent = el.getparent()
    assert parent is not None
    parent.remove(el)


def duplicate(root: etree._Element, path: str) -> None:
    """Insert a copy of the first element at ``path`` right after it."""
    el = find(root, path)
    el.addnext(etree.fromstring(etree.tostring(el)))


def set_text(root: etree._Element, path: str, text: str) -> None:
    """Replace the text of the first element at ``path``."""
    find(root, path).text = text
