"""The clerks' inbox and outbox listings: filters, pages of documents newest first, capped counts.

Shared by the web UI's pages and the benchmark, which times them as the pages run them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, Subquery, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer
from sqlalchemy.sql.elements import ColumnElement

from axis.exchange.outcome import delivery_outcome, message_outcome
from axis.exchange.redelivery import UNDELIVERED
from envelope.codes import VN_TZ, Priority
from storage.models import Agency, Delivery, DeliveryState, Message, MessageKind

PAGE_SIZE = 25
#: The states a clerk filters by; each stands for a set of delivery states.
STATE_CHOICES = ("pending", "delivered", "failed")
_MAX_TEXT = 200


@dataclass(frozen=True)
class Filters:
    """What the clerk asked to see."""

    date_from: date | None = None
    date_to: date | None = None
    counterpart: str = ""
    doc_type: str = ""
    priority: str = ""
    state: str = ""
    q: str = ""
    page: int = 1
    bad_date: bool = field(default=False, compare=False)
    #: What was typed in a date field that is not a date, kept to show it back beside the error.
    bad_from: str = field(default="", compare=False)
    bad_to: str = field(default="", compare=False)

    def query_string(self, **changes: Any) -> str:
        """The URL query for these filters (only what is set), with ``changes`` applied."""
        f = replace(self, **changes)
        pairs = {
            "from": f.date_from.isoformat() if f.date_from else "",
            "to": f.date_to.isoformat() if f.date_to else "",
            "counterpart": f.counterpart, "type": f.doc_type, "priority": f.priority, "state": f.state,
            "q": f.q, "page": str(f.page) if f.page > 1 else "",
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def any_set(self) -> bool:
        """True when some filter narrows the list."""
        return bool(self.date_from or self.date_to or self.counterpart or self.doc_type or self.priority
                    or self.state or self.q)


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def parse_day(raw: str) -> date:
    """A date typed as dd/mm/yyyy (also d/m/yyyy, with . or -) or as ISO yyyy-mm-dd; ValueError otherwise.

    Never mm/dd: 03/11/2026 is the 3rd of November, as Vietnamese write it.
    """
    text = raw.strip()
    m = _DMY.fullmatch(text)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    raise ValueError(f"not a date (dd/mm/yyyy): {raw!r}")


def _day(raw: str) -> tuple[date | None, bool]:
    if not raw:
        return None, False
    try:
        return parse_day(raw), False
    except ValueError:
        return None, True


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Read filters from the query string; anything malformed is ignored rather than refused."""
    date_from, bad_from = _day(query.get("from", "").strip())
    date_to, bad_to = _day(query.get("to", "").strip())
    priority = query.get("priority", "")
    if priority not in {"urgent", *(str(p.value) for p in Priority)}:
        priority = ""
    state = query.get("state", "")
    try:
        page = max(1, min(int(query.get("page", "1")), 100_000))
    except ValueError:
        page = 1
    return Filters(
        date_from=date_from, date_to=date_to, counterpart=query.get("counterpart", "").strip()[:13],
        doc_type=query.get("type", "").strip()[:128], priority=priority,
        state=state if state in STATE_CHOICES else "", q=query.get("q", "").strip()[:_MAX_TEXT], page=page,
        bad_date=bad_from or bad_to,
        bad_from=query.get("from", "").strip()[:40] if bad_from else "",
        bad_to=query.get("to", "").strip()[:40] if bad_to else "",
    )


def _local_midnight(d: date) -> datetime:
    # Clerks think in Vietnam days; the database holds UTC.
    return datetime.combine(d, time.min, tzinfo=VN_TZ)


def _common(f: Filters) -> list[ColumnElement[bool]]:
    """Conditions shared by inbox and outbox."""
    where: list[ColumnElement[bool]] = [Message.kind == MessageKind.EDOC.value]
    if f.date_from:
        where.append(Message.received_at >= _local_midnight(f.date_from))
    if f.date_to:
        where.append(Message.received_at < _local_midnight(f.date_to + timedelta(days=1)))
    if f.doc_type:
        where.append(Message.type_name == f.doc_type)
    if f.priority == "urgent":
        where.append(Message.priority >= Priority.URGENT.value)
    elif f.priority:
        where.append(Message.priority == int(f.priority))
    if f.q:
        where.append(or_(Message.subject.icontains(f.q, autoescape=True),
                         Message.document_id.icontains(f.q, autoescape=True)))
    return where


def _agency_id(code: str) -> ColumnElement[Any]:
    # A scalar subquery, evaluated once: the agency's id then serves as an index key
    # (NULL for an unknown code, which matches nothing).
    return select(Agency.id).where(Agency.code == code).scalar_subquery()


@dataclass(frozen=True)
class Row:
    """One line of the inbox or outbox."""

    message: Message
    counterparts: list[tuple[str, str]]  # (code, name)
    state: str  # a delivery state (queued, pushing, ...), or pending (recipients not all there yet), or revoked
    done: int = 0
    total: int = 0
    urgent: bool = False


@dataclass(frozen=True)
class Listing:
    """One page of rows and how many there are in all (at least, when ``more``)."""

    rows: list[Row]
    total: int
    page: int
    pages: int
    more: bool = False

    @property
    def total_label(self) -> str:
        """The count for the title: exact, or the cap and a plus."""
        return f"{self.total}+" if self.more else str(self.total)

    @property
    def pages_label(self) -> str:
        """The number of pages for the pager, with a plus when the count was capped."""
        return f"{self.pages}+" if self.more else str(self.pages)


#: Counting stops after this many documents (the title then says "1000+", and the pages stop
#: there): an exact count of a big agency's whole inbox read every document of it on every page
#: view (8.6 s at 10 million messages). Filters narrow a list down to where the count is exact.
COUNT_CAP = 1000


async def _page(session: AsyncSession, ids: Select[Any], f: Filters) -> tuple[Subquery, int, int, int, bool]:
    """The asked page of ``ids`` (a subquery to join the rows to) and the capped count.

    ``ids`` selects only ``Message.id``, newest first: the database skips to the page through
    the ids alone (index-only where the filters allow) and reads whole rows for this page only.
    """
    capped = ids.order_by(None).limit(COUNT_CAP + 1).subquery()
    counted = int((await session.execute(select(func.count()).select_from(capped))).scalar_one())
    more = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(f.page, pages)
    return ids.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).subquery(), total, page, pages, more


async def _page_in_one_pass(
    session: AsyncSession, ids: Select[Any], f: Filters
) -> tuple[list[str], int, int, int, bool]:
    """The asked page of ``ids`` and the capped count, from one ordered read of up to the cap.

    For the outbox, where the ids come in order from ix_messages_sender_received, reading up
    to the cap in order costs about what counting does, and the page is then a slice: one
    statement instead of a count and a page (a counterpart filter joins every delivery of the
    counterpart, which the two statements each did again).
    """
    found = list((await session.execute(ids.limit(COUNT_CAP + 1))).scalars())
    more = len(found) > COUNT_CAP
    total = min(len(found), COUNT_CAP)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(f.page, pages)
    return found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], total, page, pages, more


_NEWEST_FIRST = (Message.received_at.desc(), Message.id.desc())
#: A listing never shows the signed submission receipt: leave its bytes in the database.
_WITHOUT_RECEIPT = defer(Message.receipt_xml, raiseload=True)


def _inbox_state(delivery: Delivery, message: Message) -> str:
    # Every state is shown as itself, so the inbox and the document page name a delivery alike.
    return delivery_outcome(delivery.state, delivery.revoked_at, message.revoked_at)


async def inbox_listing(session: AsyncSession, agency: Agency, f: Filters) -> Listing:
    """Documents addressed to ``agency`` matching the filters, newest first."""
    where = _common(f)
    if f.counterpart:
        where.append(Message.sender_id == _agency_id(f.counterpart))
    addressed = and_(Delivery.message_id == Message.id, Delivery.recipient_id == agency.id)
    if f.state == "pending":
        where.append(Delivery.state.in_(UNDELIVERED))
    elif f.state:
        where.append(Delivery.state == f.state)
    ids = select(Message.id).join(Delivery, addressed).where(*where).order_by(*_NEWEST_FIRST)
    on_page, total, page, pages, more = await _page(session, ids, f)
    sender = aliased(Agency)
    rows = (
        await session.execute(
            select(Message, Delivery, sender.code, sender.name)
            .join(on_page, on_page.c.id == Message.id)
            .join(Delivery, addressed)
            .join(sender, sender.id == Message.sender_id)
            .options(_WITHOUT_RECEIPT)
            .order_by(*_NEWEST_FIRST)
        )
    ).all()
    return Listing(
        [Row(m, [(code, name)], _inbox_state(d, m), urgent=m.priority >= Priority.URGENT.value)
         for m, d, code, name in rows],
        total, page, pages, more,
    )


def _has_delivery(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Delivery.id).where(Delivery.message_id == Message.id, *conditions))


async def outbox_listing(session: AsyncSession, agency: Agency, f: Filters) -> Listing:
    """Documents ``agency`` sent matching the filters, newest first, with their recipients."""
    where = _common(f)
    where.append(Message.sender_id == agency.id)
    if f.counterpart:
        where.append(_has_delivery(Delivery.recipient_id == _agency_id(f.counterpart)))
    if f.state == "delivered":
        where.append(~_has_delivery(Delivery.state != DeliveryState.DELIVERED.value))
    elif f.state == "failed":
        where.append(_has_delivery(Delivery.state == DeliveryState.FAILED.value))
    elif f.state == "pending":
        where.append(_has_delivery(Delivery.state.in_(UNDELIVERED)))
    ids = select(Message.id).where(*where).order_by(*_NEWEST_FIRST)
    on_page, total, page, pages, more = await _page_in_one_pass(session, ids, f)
    messages = list(
        (
            await session.execute(
                select(Message).where(Message.id.in_(on_page)).options(_WITHOUT_RECEIPT).order_by(*_NEWEST_FIRST)
            )
        ).scalars()
    ) if on_page else []
    recipients: dict[str, list[tuple[str, str, str]]] = {m.id: [] for m in messages}
    if messages:
        for message_id, state, revoked_at, code, name in (
            await session.execute(
                select(Delivery.message_id, Delivery.state, Delivery.revoked_at, Agency.code, Agency.name)
                .join(Agency, Agency.id == Delivery.recipient_id)
                .where(Delivery.message_id.in_(list(recipients)))
                .order_by(Delivery.id)
            )
        ).all():
            recipients[message_id].append((code, name, delivery_outcome(state, revoked_at, None)))
    out: list[Row] = []
    for m in messages:
        states = [s for _, _, s in recipients[m.id]]
        done = sum(1 for s in states if s == DeliveryState.DELIVERED.value)
        state = message_outcome(states, m.revoked_at)
        out.append(Row(m, [(c, n) for c, n, _ in recipients[m.id]], state, done, len(states),
                       urgent=m.priority >= Priority.URGENT.value))
    return Listing(out, total, page, pages, more)
