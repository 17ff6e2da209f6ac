"""Disposal: what is due, disposal lists approved by two archivists, their execution, and what remains after.

The only way a payload leaves the archive is :func:`execute_disposal`: a disposal list of due
documents under a ``destroy`` schedule, approved by two different archivists, re-checked for
legal holds at execution, whose payloads are deleted while the residual metadata (ids,
parties, digests, dates, schedule) stays and a destruction certificate signed by the axis key
is stored permanently.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from axis.archive.archivists import ARCHIVIST_ROLE, archivist
from axis.archive.calendar import vn_date
from axis.archive.destruction_certificates import (
    CertifiedApproval,
    CertifiedItem,
    DestructionCertificate,
    sign_certificate,
)
from axis.archive.errors import DisposalRefused, PayloadDisposed, UnknownRecord
from axis.archive.holds import holds_on
from axis.archive.schedules import Schedules
from signing.keys import Certificate, PrivateKey
from storage.archive_models import Blob, Disposal, DisposalApproval, DisposalItem, RetentionAssignment
from storage.audit import append_event
from storage.batches import chunks
from storage.db import rowcount
from storage.ledger import record_blob
from storage.models import Agency, Delivery, Message, Payload, PayloadChunk, User
from storage.payloads.store import PayloadStore, delete_payloads

# Disposal lists that still await approval or execution.
OPEN = "proposed"


# --- what is due ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    """An archived document whose retention period has run out."""

    message_id: str
    document_id: str
    sender: str
    subject: str
    schedule_code: str
    action: str
    due_date: date
    holds: tuple[str, ...]
    #: The open disposal list it is already on, if any.
    disposal_id: int | None


async def due_items(session: AsyncSession, schedules: Schedules, *, today: date) -> list[DueItem]:
    """Documents due on or before ``today`` and not yet disposed of, with their holds and open list."""
    open_item = (
        select(DisposalItem.message_id, func.max(DisposalItem.disposal_id).label("disposal_id"))
        .join(Disposal, Disposal.id == DisposalItem.disposal_id)
        .where(Disposal.state == OPEN)
        .group_by(DisposalItem.message_id)
        .subquery()
    )
    rows = (await session.execute(
        select(RetentionAssignment, Message.document_id, Message.subject, Agency.code, open_item.c.disposal_id)
        .join(Message, Message.id == RetentionAssignment.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .outerjoin(open_item, open_item.c.message_id == RetentionAssignment.message_id)
        .where(RetentionAssignment.disposed_at.is_(None), RetentionAssignment.due_date <= today)
        .order_by(RetentionAssignment.due_date, RetentionAssignment.message_id)
    )).all()
    holds = await holds_on(session, [r[0].message_id for r in rows])
    return [
        DueItem(a.message_id, document_id, code, subject, a.schedule_code, schedules.get(a.schedule_code).action,
                a.due_date, tuple(holds.get(a.message_id, ())), disposal_id)
        for a, document_id, subject, code, disposal_id in rows
    ]


# --- disposal lists ------------------------------------------------------------------------------


async def propose_disposal(
    session: AsyncSession, schedules: Schedules, *, by: str, today: date, now: datetime
) -> Disposal | None:
    """Put every due, unheld document under a destroy schedule on a new disposal list (None if there is none)."""
    user = await archivist(session, by)
    candidates = [i for i in await due_items(session, schedules, today=today)
                  if i.action == "destroy" and not i.holds and i.disposal_id is None]
    if not candidates:
        return None
    disposal = Disposal(state=OPEN, proposed_by=user.login, proposed_at=now)
    session.add(disposal)
    await session.flush()
    session.add_all(DisposalItem(disposal_id=disposal.id, message_id=i.message_id) for i in candidates)
    await session.flush()
    await append_event(session, actor=user.login, action="disposal.proposed", subject=str(disposal.id), at=now,
                       details={"documents": len(candidates), "as_of": today.isoformat()})
    return disposal


async def approve_disposal(session: AsyncSession, disposal_id: int, *, by: str, now: datetime) -> int:
    """Record an archivist's approval of a proposed list; return how many different archivists approved it."""
    user = await archivist(session, by)
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.state != OPEN:
        raise DisposalRefused(f"disposal list {disposal_id} is {disposal.state}, not awaiting approval")
    already = (await session.execute(select(DisposalApproval.id).where(
        DisposalApproval.disposal_id == disposal_id, DisposalApproval.user_id == user.id))).scalar()
    if already is not None:
        raise DisposalRefused(f"{user.login} has already approved disposal list {disposal_id}; "
                              "a second, different archivist must approve it")
    session.add(DisposalApproval(disposal_id=disposal_id, user_id=user.id, approved_at=now))
    await session.flush()
    count = len(await _valid_approvals(session, disposal_id))
    await append_event(session, actor=user.login, action="disposal.approved", subject=str(disposal_id), at=now,
                       details={"approvals": count})
    return count


async def _valid_approvals(session: AsyncSession, disposal_id: int) -> list[CertifiedApproval]:
    """Approvals by users who are still active archivists, one per person."""
    rows = (await session.execute(
        select(User.login, Agency.code, DisposalApproval.approved_at)
        .join(User, User.id == DisposalApproval.user_id)
        .join(Agency, Agency.id == User.agency_id)
        .where(DisposalApproval.disposal_id == disposal_id, User.active.is_(True), User.role == ARCHIVIST_ROLE)
        .order_by(DisposalApproval.approved_at, DisposalApproval.id)
    )).all()
    return [CertifiedApproval(login, code, at) for login, code, at in rows]


@dataclass(frozen=True)
class DisposalView:
    """A disposal list as archivists see it."""

    id: int
    state: str
    proposed_by: str
    proposed_at: datetime
    executed_at: datetime | None
    certificate_sha256: str | None
    approvals: tuple[CertifiedApproval, ...]
    #: (message id, document id, sender code, schedule, due date, outcome) per item.
    items: tuple[tuple[str, str, str, str, date | None, str | None], ...]


async def disposal_view(session: AsyncSession, disposal_id: int) -> DisposalView:
    """One disposal list with its approvals and items."""
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    items = (await session.execute(
        select(DisposalItem.message_id, Message.document_id, Agency.code, RetentionAssignment.schedule_code,
               RetentionAssignment.due_date, DisposalItem.outcome)
        .join(Message, Message.id == DisposalItem.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .join(RetentionAssignment, RetentionAssignment.message_id == DisposalItem.message_id)
        .where(DisposalItem.disposal_id == disposal_id)
        .order_by(DisposalItem.message_id)
    )).all()
    return DisposalView(disposal.id, disposal.state, disposal.proposed_by, disposal.proposed_at,
                        disposal.executed_at, disposal.certificate_sha256,
                        tuple(await _valid_approvals(session, disposal_id)), tuple(tuple(r) for r in items))


async def list_disposals(session: AsyncSession) -> list[tuple[Disposal, int, int]]:
    """Every disposal list, newest first, with its item and approval counts."""
    items = select(DisposalItem.disposal_id, func.count().label("n")).group_by(DisposalItem.disposal_id).subquery()
    approvals = (select(DisposalApproval.disposal_id, func.count().label("n"))
                 .group_by(DisposalApproval.disposal_id).subquery())
    rows = (await session.execute(
        select(Disposal, func.coalesce(items.c.n, 0), func.coalesce(approvals.c.n, 0))
        .outerjoin(items, items.c.disposal_id == Disposal.id)
        .outerjoin(approvals, approvals.c.disposal_id == Disposal.id)
        .order_by(Disposal.id.desc())
    )).all()
    return [(d, int(n), int(a)) for d, n, a in rows]


@dataclass
class DisposalResult:
    """What executing a disposal list did."""

    disposal_id: int
    state: str
    destroyed: list[str] = field(default_factory=list)
    #: Items left alone at execution, and why (held, not_due, already_disposed, not_destroy).
    refused: dict[str, str] = field(default_factory=dict)
    certificate_sha256: str | None = None
    certificate: bytes | None = None
    #: Payloads removed: database rows (with the record of their destruction) and files (just after).
    purged_blobs: int = 0


async def execute_disposal(
    sessions: async_sessionmaker[AsyncSession],
    store: PayloadStore,
    disposal_id: int,
    schedules: Schedules,
    *,
    key: PrivateKey,
    certificate: Certificate,
    now: datetime,
    actor: str = "axis",
) -> DisposalResult:
    """Execute an approved list: re-check holds, keep residual metadata, sign the certificate, delete payloads."""
    async with sessions() as session, session.begin():
        result, doomed = await _execute_in(session, store, disposal_id, schedules, key=key, certificate=certificate,
                                           now=now, actor=actor)
    # Inline payloads went in that transaction; files go only after it is committed: a crash in
    # between leaves files marked disposed but present, which purge_disposed_payloads finishes.
    result.purged_blobs += await store.delete_files(doomed)
    return result


async def _execute_in(
    session: AsyncSession, store: PayloadStore, disposal_id: int, schedules: Schedules, *,
    key: PrivateKey, certificate: Certificate, now: datetime, actor: str,
) -> tuple[DisposalResult, list[str]]:
    query = select(Disposal).where(Disposal.id == disposal_id)
    if session.bind.dialect.name == "postgresql":
        # Two nodes executing the same list: the second waits, then sees it executed.
        query = query.with_for_update()
    disposal = (await session.execute(query)).scalar_one_or_none()
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.state != OPEN:
        raise DisposalRefused(f"disposal list {disposal_id} is {disposal.state}, not awaiting execution")
    approvals = await _valid_approvals(session, disposal_id)
    approvers = {a.login for a in approvals}
    if len(approvers) < 2:
        raise DisposalRefused(f"disposal list {disposal_id} needs approval by two different archivists; "
                              f"it has {len(approvers)}")

    today = vn_date(now)
    rows = (await session.execute(
        select(DisposalItem, RetentionAssignment, Message, Agency.code)
        .join(RetentionAssignment, RetentionAssignment.message_id == DisposalItem.message_id)
        .join(Message, Message.id == DisposalItem.message_id)
        .join(Agency, Agency.id == Message.sender_id)
        .where(DisposalItem.disposal_id == disposal_id)
        .order_by(DisposalItem.message_id)
    )).all()
    # Holds are checked again now: one may have been placed since the list was proposed.
    holds = await holds_on(session, [r[0].message_id for r in rows])
    result = DisposalResult(disposal_id, "executed")
    destroyed: list[tuple[RetentionAssignment, Message, str]] = []
    for item, assignment, message, sender in rows:
        if assignment.disposed_at is not None:
            item.outcome = "already_disposed"
        elif item.message_id in holds:
            item.outcome = "held"
        elif assignment.due_date is None or assignment.due_date > today:
            item.outcome = "not_due"
        elif schedules.get(assignment.schedule_code).action != "destroy":
            item.outcome = "not_destroy"
        else:
            item.outcome = "destroyed"
            destroyed.append((assignment, message, sender))
            result.destroyed.append(item.message_id)
            continue
        result.refused[item.message_id] = item.outcome

    disposal.executed_at = now
    if not destroyed:
        disposal.state = result.state = "void"
        await session.flush()
        await append_event(session, actor=actor, action="disposal.void", subject=str(disposal_id), at=now,
                           details={"refused": result.refused})
        return result, []

    recipients = await _recipients_of(session, [m.id for _, m, _ in destroyed])
    for assignment, _, _ in destroyed:
        assignment.disposed_at, assignment.disposal_id = now, disposal_id
    await session.flush()
    doomed = await _unshared_digests(session, sorted({m.sha256 for _, m, _ in destroyed}))
    for chunk in chunks(doomed):
        for blob in (await session.execute(select(Blob).where(Blob.sha256.in_(chunk)))).scalars():
            blob.disposed_at = now
    # Payloads kept in the database leave with the record of their destruction, atomically.
    result.purged_blobs = await delete_payloads(session, doomed)
    used = sorted({a.schedule_code for a, _, _ in destroyed})
    cert = DestructionCertificate(
        disposal_id=disposal_id, executed_at=now, proposed_by=disposal.proposed_by, approvals=tuple(approvals),
        schedules=tuple(schedules.get(code).certified() for code in used),
        items=tuple(
            CertifiedItem(m.id, m.document_id, sender, tuple(recipients.get(m.id, ())), m.sha256, m.size,
                          m.received_at, m.promulgation_date or "", a.schedule_code, a.due_date)
            for a, m, sender in destroyed
        ),
    )
    signed = await asyncio.to_thread(sign_certificate, cert, key, certificate)
    # The certificate is a payload like any other (inline when small, committed with this list):
    # fixity-checked, and under no schedule, so kept for ever.
    cert_sha = await store.put(session, signed)
    await record_blob(session, cert_sha, len(signed), now)
    disposal.state, disposal.certificate_sha256 = "executed", cert_sha
    await session.flush()
    await append_event(session, actor=actor, action="disposal.executed", subject=str(disposal_id), at=now, details={
        "destroyed": len(destroyed), "refused": result.refused, "certificate_sha256": cert_sha,
        "approvers": sorted(approvers),
    })
    result.certificate_sha256, result.certificate = cert_sha, signed
    return result, doomed


async def _recipients_of(session: AsyncSession, message_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(list(message_ids)):
        for message_id, code in (await session.execute(
            select(Delivery.message_id, Agency.code).join(Agency, Agency.id == Delivery.recipient_id)
            .where(Delivery.message_id.in_(chunk)).order_by(Delivery.id)
        )).all():
            out[message_id].append(code)
    return out


async def _unshared_digests(session: AsyncSession, digests: Sequence[str]) -> list[str]:
    """Digests no kept message still needs (identical bytes are stored once for every message holding them)."""
    kept: set[str] = set()
    for chunk in chunks(list(digests)):
        kept.update((await session.execute(
            select(Message.sha256)
            .outerjoin(RetentionAssignment, RetentionAssignment.message_id == Message.id)
            .where(Message.sha256.in_(chunk), RetentionAssignment.disposed_at.is_(None))
        )).scalars())
    return [d for d in digests if d not in kept]


async def purge_disposed_payloads(session: AsyncSession, store: PayloadStore) -> int:
    """In ``session``'s transaction: delete payloads still present although their disposal was committed.

    Files are left by a crash between a disposal's commit and their deletion; rows cannot be
    (they go in that transaction) unless identical bytes were stored again since.
    """
    disposed = select(Blob.sha256).where(Blob.disposed_at.is_not(None))
    rows = rowcount(await session.execute(delete(Payload.__table__).where(Payload.sha256.in_(disposed))))
    chunked = PayloadChunk.sha256.in_(disposed)
    await session.execute(delete(PayloadChunk.__table__).where(chunked, PayloadChunk.seq > 0))
    rows += rowcount(await session.execute(delete(PayloadChunk.__table__).where(chunked, PayloadChunk.seq == 0)))
    digests = list((await session.execute(disposed)).scalars())
    return rows + await store.delete_files(digests)


async def certificate_of(session: AsyncSession, store: PayloadStore, disposal_id: int) -> bytes:
    """The signed destruction certificate of an executed disposal list."""
    disposal = await session.get(Disposal, disposal_id)
    if disposal is None:
        raise UnknownRecord(f"no disposal list {disposal_id}")
    if disposal.certificate_sha256 is None:
        raise UnknownRecord(f"disposal list {disposal_id} is {disposal.state}: it has no certificate")
    return await store.read(disposal.certificate_sha256)


async def check_payload_kept(session: AsyncSession, message: Message) -> None:
    """Raise PayloadDisposed when the message's payload was destroyed by a disposal."""
    if (disposed := await disposal_of_message(session, message)) is not None:
        raise PayloadDisposed(message.id, *disposed)


async def disposal_of_message(session: AsyncSession, message: Message) -> tuple[datetime, int | None] | None:
    """(when, disposal list) if the message's payload was destroyed, else None."""
    assignment = await session.get(RetentionAssignment, message.id)
    if assignment is not None and assignment.disposed_at is not None:
        return assignment.disposed_at, assignment.disposal_id
    blob_disposed = (await session.execute(
        select(Blob.disposed_at).where(Blob.sha256 == message.sha256)
    )).scalar_one_or_none()
    return (blob_disposed, None) if blob_disposed is not None else None
