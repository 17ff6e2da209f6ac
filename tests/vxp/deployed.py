"""Our own fixtures in the shapes deployed DMS software writes: built, changed, then signed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from lxml import etree

from axis.agency.client import compose_document
from envelope.builder import build_document
from envelope.model import Attachment, DocumentMessage
from envelope.namespaces import EDXML_NS
from signing.signer import sign_envelope
from tests.harness import Agent

E = {"e": EDXML_NS}
MH = "e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader"
Change = Callable[[etree._Element], None]


def unsigned(agent: Agent, to: Sequence[Agent | str], change: Change | None = None, **kw: Any) -> bytes:
    """An unsigned document from ``agent``, changed by ``change`` the way deployed software writes it."""
    agent._counter += 1
    doc: DocumentMessage = compose_document(
        sender=agent.organization,
        recipients=[t.organization if isinstance(t, Agent) else t for t in to],
        subject=kw.pop("subject", "Về việc kết nối phần mềm quản lý văn bản"),
        number=str(kw.pop("number", 500 + agent._counter)), notation=kw.pop("notation", "UBND-VP"),
        attachments=kw.pop("attachments", None)
        or [Attachment("cid:1", "cong-van.pdf", "application/pdf", b"%PDF-1.4 ban trien khai " * 10)],
        promulgation_date=kw.pop("promulgation_date", date(2026, 11, 20)), **kw,
    )
    raw = build_document(doc)
    if change is None:
        return raw
    root = etree.fromstring(raw)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def signed(agent: Agent, to: Sequence[Agent | str], change: Change | None = None, **kw: Any) -> bytes:
    """As ``unsigned``, then signed by the agency's key (the change is covered by the signature)."""
    return sign_envelope(unsigned(agent, to, change, **kw), agent.identity.key, agent.identity.certificate)


def _one(root: etree._Element, path: str) -> etree._Element:
    found = root.find(path, E)
    assert found is not None, path
    return found


def set_document_id(value: str) -> Change:
    """DocumentId replaced by ``value`` (e.g. a UUID)."""
    def change(root: etree._Element) -> None:
        _one(root, f"{MH}/e:DocumentId").text = value
    return change


def uuid_document_id() -> Change:
    """A DocumentId that is a UUID, as some DMS software writes."""
    return set_document_id(str(uuid.uuid4()))


def empty_response_for(root: etree._Element) -> None:
    """An empty ``<edXML:ResponseFor />`` for "answers nothing"."""
    mh = _one(root, MH)
    _one(root, f"{MH}/e:Subject").addprevious(etree.Element(f"{{{EDXML_NS}}}ResponseFor"))
    assert mh.find("e:ResponseFor", E) is not None


def other_trace_codes(root: etree._Element) -> None:
    """Trace headers whose codes are in other formats (an old code, a system name)."""
    trace = _one(root, "e:edXMLEnvelope/e:edXMLHeader/e:TraceHeaderList/e:TraceHeader")
    _one(trace, "e:OrganId").text = "G22"
    extra = etree.Element(f"{{{EDXML_NS}}}TraceHeader")
    etree.SubElement(extra, f"{{{EDXML_NS}}}OrganId").text = "VPCP.QLVB-EOFFICE"
    etree.SubElement(extra, f"{{{EDXML_NS}}}Timestamp").text = _one(trace, "e:Timestamp").text
    trace.addnext(extra)


def missing_type_detail(root: etree._Element) -> None:
    """DocumentType without TypeDetail."""
    detail = _one(root, f"{MH}/e:DocumentType/e:TypeDetail")
    detail.getparent().remove(detail)  # type: ignore[union-attr]
