"""Destruction certificates: what a disposal destroyed, under which schedules, approved by whom, signed by the axis.

Wire form (namespace :data:`CERTIFICATE_NS`, signed enveloped by the axis key)::

    <DestructionCertificate xmlns="urn:axis:destruction-certificate:1">
      <DisposalId>7</DisposalId>
      <ExecutedAt>2040-01-02T03:04:05Z</ExecutedAt>
      <ProposedBy>archivist1</ProposedBy>
      <Approvals>
        <Approval><Login>..</Login><Agency>000.00.00.G22</Agency><ApprovedAt>..Z</ApprovedAt></Approval>
      </Approvals>
      <Schedules>
        <Schedule><Code/><Title/><LegalBasis/><Period>10</Period><Trigger/><Action>destroy</Action></Schedule>
      </Schedules>
      <Items>
        <Item>
          <MessageId/><DocumentId/><Sender/><Recipients><Recipient/>...</Recipients>
          <SHA256/><Size/><ReceivedAt/><DocumentDate/><Schedule/><DueDate/>
        </Item>
      </Items>
      <ds:Signature>...</ds:Signature>
    </DestructionCertificate>
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from lxml import etree

from signing.keys import Certificate, PrivateKey
from signing.receipt import format_utc
from signing.records import sign_record, verify_record

CERTIFICATE_NS = "urn:axis:destruction-certificate:1"
CERTIFICATE_TAG = f"{{{CERTIFICATE_NS}}}DestructionCertificate"
#: Certificates list every destroyed item; allow far more than a record's default size.
MAX_CERTIFICATE_SIZE = 256 * 1024 * 1024


def _c(local: str) -> str:
    return f"{{{CERTIFICATE_NS}}}{local}"


@dataclass(frozen=True)
class CertifiedApproval:
    """One archivist's approval of the disposal list."""

    login: str
    agency: str
    approved_at: datetime


@dataclass(frozen=True)
class CertifiedSchedule:
    """The retention schedule an item was destroyed under, as it stood at execution."""

    code: str
    title: str
    legal_basis: str
    period: str
    trigger: str
    action: str


@dataclass(frozen=True)
class CertifiedItem:
    """One destroyed document: its residual metadata."""

    message_id: str
    document_id: str
    sender: str
    recipients: tuple[str, ...]
    sha256: str
    size: int
    received_at: datetime
    document_date: str
    schedule: str
    due_date: date | None


@dataclass(frozen=True)
class DestructionCertificate:
    """What the axis attests about one executed disposal."""

    disposal_id: int
    executed_at: datetime
    proposed_by: str
    approvals: tuple[CertifiedApproval, ...]
    schedules: tuple[CertifiedSchedule, ...]
    items: tuple[CertifiedItem, ...]


def _text(parent: etree._Element, tag: str, value: str) -> None:
    etree.SubElement(parent, _c(tag)).text = value


def certificate_element(cert: DestructionCertificate) -> etree._Element:
    """Build the unsigned certificate element."""
    # A None prefix is lxml's way of naming the default namespace; lxml-stubs want str keys.
    root = etree.Element(CERTIFICATE_TAG, nsmap={None: CERTIFICATE_NS})  # type: ignore[dict-item]
    _text(root, "DisposalId", str(cert.disposal_id))
    _text(root, "ExecutedAt", format_utc(cert.executed_at))
    _text(root, "ProposedBy", cert.proposed_by)
    approvals = etree.SubElement(root, _c("Approvals"))
    for a in cert.approvals:
        el = etree.SubElement(approvals, _c("Approval"))
        _text(el, "Login", a.login)
        _text(el, "Agency", a.agency)
        _text(el, "ApprovedAt", format_utc(a.approved_at))
    schedules = etree.SubElement(root, _c("Schedules"))
    for s in cert.schedules:
        el = etree.SubElement(schedules, _c("Schedule"))
        for tag, value in (("Code", s.code), ("Title", s.title), ("LegalBasis", s.legal_basis),
                           ("Period", s.period), ("Trigger", s.trigger), ("Action", s.action)):
            _text(el, tag, value)
    items = etree.SubElement(root, _c("Items"))
    for i in cert.items:
        el = etree.SubElement(items, _c("Item"))
        _text(el, "MessageId", i.message_id)
        _text(el, "DocumentId", i.document_id)
        _text(el, "Sender", i.sender)
        recipients = etree.SubElement(el, _c("Recipients"))
        for code in i.recipients:
            _text(recipients, "Recipient", code)
        _text(el, "SHA256", i.sha256)
        _text(el, "Size", str(i.size))
        _text(el, "ReceivedAt", format_utc(i.received_at))
        _text(el, "DocumentDate", i.document_date)
        _text(el, "Schedule", i.schedule)
        _text(el, "DueDate", i.due_date.isoformat() if i.due_date else "")
    return root


def sign_certificate(cert: DestructionCertificate, key: PrivateKey, certificate: Certificate) -> bytes:
    """Build the certificate and sign it with the axis key."""
    return sign_record(certificate_element(cert), key, certificate)


def _children(el: etree._Element) -> dict[str, etree._Element]:
    return {etree.QName(c).localname: c for c in el if isinstance(c.tag, str)}


def _t(el: etree._Element, name: str) -> str:
    return _children(el)[name].text or ""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _parse(root: etree._Element) -> DestructionCertificate:
    top = _children(root)
    approvals = tuple(
        CertifiedApproval(_t(a, "Login"), _t(a, "Agency"), _time(_t(a, "ApprovedAt")))
        for a in top["Approvals"] if isinstance(a.tag, str)
    )
    schedules = tuple(
        CertifiedSchedule(_t(s, "Code"), _t(s, "Title"), _t(s, "LegalBasis"), _t(s, "Period"), _t(s, "Trigger"),
                          _t(s, "Action"))
        for s in top["Schedules"] if isinstance(s.tag, str)
    )
    items = []
    for i in top["Items"]:
        tag: object = i.tag  # lxml-stubs say str; comments and PIs have a function here
        if not isinstance(tag, str):
            continue
        due = _t(i, "DueDate")
        items.append(CertifiedItem(
            message_id=_t(i, "MessageId"), document_id=_t(i, "DocumentId"), sender=_t(i, "Sender"),
            recipients=tuple(r.text or "" for r in _children(i)["Recipients"] if isinstance(r.tag, str)),
            sha256=_t(i, "SHA256"), size=int(_t(i, "Size")), received_at=_time(_t(i, "ReceivedAt")),
            document_date=_t(i, "DocumentDate"), schedule=_t(i, "Schedule"),
            due_date=date.fromisoformat(due) if due else None,
        ))
    return DestructionCertificate(
        disposal_id=int(top["DisposalId"].text or "0"), executed_at=_time(top["ExecutedAt"].text or ""),
        proposed_by=top["ProposedBy"].text or "", approvals=approvals, schedules=schedules, items=tuple(items),
    )


def verify_certificate(
    data: bytes, axis_certificate: Certificate, *, at: datetime | None = None
) -> DestructionCertificate:
    """Verify a destruction certificate against the axis certificate (pinned) and return what it states."""
    root = verify_record(data, axis_certificate, root_tag=CERTIFICATE_TAG, at=at, max_size=MAX_CERTIFICATE_SIZE)
    return _parse(root)
