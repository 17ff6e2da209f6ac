"""Signed audit-chain heads: the axis key vouches for the chain so far, so a full rewrite shows.

The hash chain alone finds an edited, removed or reordered entry, but someone who can write
the table could recompute every hash after a change, or cut entries off the end. A head
signed by the axis key pins one entry's id and hash at a moment; a later rewrite or
truncation no longer matches it.

Wire form (namespace :data:`HEAD_NS`)::

    <AuditHead xmlns="urn:axis:audit-head:1">
      <EventId>1234</EventId>
      <Hash>hex sha256 of entry 1234</Hash>
      <SignedAt>2026-11-20T03:04:05Z</SignedAt>
      <ds:Signature>...</ds:Signature>
    </AuditHead>
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signing.errors import SignatureError
from signing.keys import Certificate, PrivateKey
from signing.receipt import format_utc
from signing.records import sign_record, verify_record
from storage.archive.models import AuditHead
from storage.audit import seal_queue
from storage.models import AuditEvent

HEAD_NS = "urn:axis:audit-head:1"
HEAD_TAG = f"{{{HEAD_NS}}}AuditHead"


def _h(local: str) -> str:
    return f"{{{HEAD_NS}}}{local}"


def head_element(event_id: int, hash_: str, signed_at: datetime) -> etree._Element:
    """The unsigned head record."""
    # A None prefix is lxml's way of naming the default namespace; lxml-stubs want str keys.
    root = etree.Element(HEAD_TAG, nsmap={None: HEAD_NS})  # type: ignore[dict-item]
    etree.SubElement(root, _h("EventId")).text = str(event_id)
    etree.SubElement(root, _h("Hash")).text = hash_
    etree.SubElement(root, _h("SignedAt")).text = format_utc(signed_at)
    return root


async def sign_head(
    session: AsyncSession, key: PrivateKey, certificate: Certificate, *, now: datetime
) -> AuditHead | None:
    """Sign the current chain head; None when the chain is empty or its head is already signed."""
    await seal_queue(session)  # what is queued belongs under this signature too
    last = (await session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    )).first()
    if last is None:
        return None
    signed = (await session.execute(select(AuditHead.event_id).order_by(AuditHead.id.desc()).limit(1))).scalar()
    if signed == last[0]:
        return None
    head = AuditHead(event_id=last[0], hash=last[1], signed_at=now,
                     signed_xml=sign_record(head_element(last[0], last[1], now), key, certificate))
    session.add(head)
    await session.flush()
    return head


@dataclass(frozen=True)
class HeadProblem:
    """A signed head that the chain (or the head itself) no longer matches."""

    head_id: int
    event_id: int | None
    reason: str


@dataclass(frozen=True)
class HeadCheck:
    """How many signed heads were checked, the newest one, and the first problem."""

    checked: int
    latest_event_id: int | None
    latest_signed_at: datetime | None
    problem: HeadProblem | None


def _read_head(root: etree._Element) -> tuple[int, str, datetime]:
    values = {etree.QName(c).localname: (c.text or "") for c in root if isinstance(c.tag, str)}
    signed_at = datetime.fromisoformat(values["SignedAt"].replace("Z", "+00:00")).astimezone(UTC)
    return int(values["EventId"]), values["Hash"], signed_at


async def verify_heads(session: AsyncSession, certificate: Certificate) -> HeadCheck:
    """Check every signed head: a valid axis signature, and the chain still holds the entry it pins."""
    heads = (await session.execute(select(AuditHead).order_by(AuditHead.id))).scalars().all()
    latest: tuple[int, datetime] | None = None
    for n, head in enumerate(heads):
        try:
            record = verify_record(head.signed_xml, certificate, root_tag=HEAD_TAG)
            event_id, hash_, signed_at = _read_head(record)
        except (SignatureError, KeyError, ValueError) as exc:
            return HeadCheck(n, None, None, HeadProblem(head.id, head.event_id,
                                                        f"signed head {head.id} does not verify: {exc}"))
        when = format_utc(signed_at)
        entry = await session.get(AuditEvent, event_id)
        if entry is None:
            return HeadCheck(n, None, None, HeadProblem(
                head.id, event_id, f"entry {event_id}, signed as the head at {when}, is gone (chain cut short)"))
        if entry.hash != hash_:
            return HeadCheck(n, None, None, HeadProblem(
                head.id, event_id, f"entry {event_id} differs from the head signed at {when} (chain rewritten)"))
        latest = (event_id, signed_at)
    return HeadCheck(len(heads), latest[0] if latest else None, latest[1] if latest else None, None)
