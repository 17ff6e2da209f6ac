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

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signing.errors import SignatureError, SignatureMalformed
from signing.keys import Certificate, PrivateKey, fingerprint
from signing.receipt import format_utc
from signing.records import sign_record, verify_record
from storage.archive_models import AuditHead
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
                     signed_xml=sign_record(head_element(last[0], last[1], now), key, certificate),
                     certificate=certificate.public_bytes(Encoding.DER))
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


def head_certificate(head: AuditHead, fallback: Certificate) -> Certificate:
    """The certificate that signed ``head``; heads from before it was stored use ``fallback``."""
    return x509.load_der_x509_certificate(head.certificate) if head.certificate else fallback


def verify_head_record(signed_xml: bytes, certificate: Certificate, event_id: int, hash_: str,
                       signed_at: datetime) -> None:
    """Check a signed head against the certificate that signed it, valid at its signing time, and what it pins.

    SignatureError when the signature fails or the record says something else than ``event_id``,
    ``hash_`` and ``signed_at``: an expired or since rotated certificate still vouches for its past heads.
    """
    record = verify_record(signed_xml, certificate, root_tag=HEAD_TAG, at=signed_at)
    try:
        pinned = _read_head(record)
    except (KeyError, ValueError) as exc:
        raise SignatureMalformed(f"not a head record: {exc}", reason="unexpected_record") from None
    if pinned != (event_id, hash_, signed_at.astimezone(UTC)):
        raise SignatureMalformed("the signed record pins another entry or time than stored beside it",
                                 reason="head_mismatch")


async def verify_heads(session: AsyncSession, certificate: Certificate,
                       known: dict[str, Certificate] | None = None) -> HeadCheck:
    """Check every signed head: an axis signature, and the chain still holds the entry it pins.

    A head counts as the axis's when its certificate is ``certificate`` (the current one) or
    among ``known`` (those named by the head log, kept outside the database): a certificate
    written into the database next to a head vouches for nothing by itself.
    """
    trusted = {fingerprint(certificate), *(known or {})}
    heads = (await session.execute(select(AuditHead).order_by(AuditHead.id))).scalars().all()
    latest: tuple[int, datetime] | None = None
    for n, head in enumerate(heads):
        try:
            signer = head_certificate(head, certificate)
        except ValueError as exc:
            return HeadCheck(n, None, None, HeadProblem(head.id, head.event_id,
                                                        f"signed head {head.id} has an unreadable certificate: {exc}"))
        if fingerprint(signer) not in trusted:
            return HeadCheck(n, None, None, HeadProblem(
                head.id, head.event_id, f"signed head {head.id} is signed by a certificate (sha256 "
                f"{fingerprint(signer)[:16]}…) that is neither the axis's nor named in the head log"))
        try:
            verify_head_record(head.signed_xml, signer, head.event_id, head.hash, head.signed_at)
        except SignatureError as exc:
            return HeadCheck(n, None, None, HeadProblem(head.id, head.event_id,
                                                        f"signed head {head.id} does not verify: {exc}"))
        when = format_utc(head.signed_at)
        entry = await session.get(AuditEvent, head.event_id)
        if entry is None:
            return HeadCheck(n, None, None, HeadProblem(
                head.id, head.event_id,
                f"entry {head.event_id}, signed as the head at {when}, is gone (chain cut short)"))
        if entry.hash != head.hash:
            return HeadCheck(n, None, None, HeadProblem(
                head.id, head.event_id,
                f"entry {head.event_id} differs from the head signed at {when} (chain rewritten)"))
        latest = (head.event_id, head.signed_at)
    return HeadCheck(len(heads), latest[0] if latest else None, latest[1] if latest else None, None)
