"""The operators' hub-wide message search: every agency's messages, filtered, newest first, keyset-paged.

Newest first means by message id: ids are ULIDs made when the axis accepts a message, so they sort
by arrival, and every index below can hand rows over in that order. Pages are keyset pages: the
next page starts below the last id shown, so page 10,000 costs what page 1 does; there is no
total count (at 10 million messages an exact count of a broad filter would read most of them).

Which filters an index answers (revision 0010 and before):

- message id: the primary key; DocumentId: ``ix_messages_document_id``; SHA-256: ``ix_messages_sha256``;
- sender: ``ix_messages_sender_id`` (sender, id); recipient: ``ix_deliveries_recipient_message``
  (recipient, message id), both read backwards from the cursor;
- no filter, kind: the primary key read backwards (kind: half the rows match);
- date range: ``received_at`` for the exact bounds, and the id range of those days (ten minutes' margin
  either side) so that the primary key is read only over those days;
- delivery state: ``ix_deliveries_due`` for the rare states (failed, retry_wait, pushing, queued);
  delivered matches most rows read in id order;
- text in subject (documents; with kind=status, the statuses' descriptions): ``ix_messages_subject_trgm``
  (pg_trgm GIN over documents, ILIKE) on PostgreSQL for rare words; a common word is found reading in
  id order until a page is full; on SQLite a LIKE does that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import exists, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from axis.exchange.errors import InvalidRequest
from axis.exchange.outcome import delivery_outcome
from envelope.codes import VN_TZ
from storage.ids import is_id
from storage.models import Agency, Delivery, DeliveryState, Message, MessageKind

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_MAX_TEXT = 200
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CODE_RE = re.compile(r"^[0-9A-Za-z.]{1,13}$")
KINDS = tuple(k.value for k in MessageKind)
STATES = (*(s.value for s in DeliveryState), "revoked")
#: A message's id and its received_at are taken from the same node's clock at the same moment; a date
#: filter's id range is this much wider on each side all the same (a clock stepped by NTP, a slow commit).
#: Every row in the margin is read and dropped, so it stays small (at 10 M messages, ~200 rows).
CLOCK_MARGIN = timedelta(minutes=10)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_floor(at: datetime) -> str:
    """The smallest message id made at ``at`` (time part of the ULID, random part zero)."""
    value = max(0, int(at.timestamp() * 1000)) << 80
    chars = []
    for _ in range(26):
        value, rem = divmod(value, 32)
        chars.append(_CROCKFORD[rem])
    return "".join(reversed(chars))


class SearchRefused(InvalidRequest):
    """A filter value that cannot name anything (a malformed id, digest, code, date or cursor)."""


@dataclass(frozen=True)
class SearchQuery:
    """What the operator asked for; empty fields do not filter."""

    document_id: str = ""
    message_id: str = ""
    sender: str = ""
    recipient: str = ""
    date_from: date | None = None
    date_to: date | None = None
    kind: str = ""
    state: str = ""
    sha256: str = ""
    text: str = ""
    after: str = ""  # the last message id of the page before
    limit: int = PAGE_SIZE

    def filters(self) -> dict[str, str]:
        """The set filters by name (for the audit entry and the links)."""
        values = {
            "document_id": self.document_id, "message_id": self.message_id, "sender": self.sender,
            "recipient": self.recipient, "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "", "kind": self.kind, "state": self.state,
            "sha256": self.sha256, "text": self.text,
        }
        return {k: v for k, v in values.items() if v}

    def query_string(self, after: str = "") -> str:
        """The URL query for these filters (and a page size other than the default), starting after ``after``."""
        pairs = self.filters()
        if self.limit != PAGE_SIZE:
            pairs["limit"] = str(self.limit)
        if after:
            pairs["after"] = after
        return urlencode(pairs)


def _day(raw: str, name: str) -> date | None:
    if not raw:
        return None
    for parse in (date.fromisoformat, lambda s: datetime.strptime(s, "%d/%m/%Y").date()):
        try:
            return parse(raw)
        except ValueError:
            continue
    refused = SearchRefused(f"{name} must be a date (YYYY-MM-DD or DD/MM/YYYY), not {raw[:40]!r}", field=name)
    refused.wording = ("err.bad_date", {"field": name, "value": raw[:40]})
    raise refused


def parse_query(values: Mapping[str, str], *, limit: int = PAGE_SIZE) -> SearchQuery:
    """Read a search from named values (query string or CLI options); SearchRefused names a bad field."""
    def get(name: str, cap: int = 255) -> str:
        return (values.get(name) or "").strip()[:cap]

    message_id = get("message_id", 64).upper()
    if message_id and not is_id(message_id):
        raise SearchRefused(f"{message_id[:40]!r} is not a message id", field="message_id")
    sha = get("sha256", 128).lower()
    if sha and not _SHA256_RE.fullmatch(sha):
        raise SearchRefused("sha256 must be 64 hexadecimal digits", field="sha256")
    for name in ("sender", "recipient"):
        if get(name, 64) and not _CODE_RE.fullmatch(get(name, 64)):
            raise SearchRefused(f"{name} must be an agency code such as 000.00.00.G22", field=name)
    kind = get("kind")
    if kind and kind not in KINDS:
        raise SearchRefused(f"kind must be one of {', '.join(KINDS)}", field="kind")
    state = get("state")
    if state and state not in STATES:
        raise SearchRefused(f"state must be one of {', '.join(STATES)}", field="state")
    date_from, date_to = _day(get("from"), "from"), _day(get("to"), "to")
    if date_from and date_to and date_from > date_to:
        raise SearchRefused("the date range ends before it starts", field="to")
    try:
        limit = int(get("limit", 8) or limit)
    except ValueError:
        raise SearchRefused("limit must be a number of messages", field="limit") from None
    after = get("after", 64).upper()
    if after and not is_id(after):
        raise SearchRefused("the page token is not valid", field="after")
    return SearchQuery(
        document_id=get("document_id"), message_id=message_id, sender=get("sender", 13),
        recipient=get("recipient", 13), date_from=date_from, date_to=date_to, kind=kind, state=state,
        sha256=sha, text=get("text", _MAX_TEXT), after=after,
        limit=max(1, min(limit, MAX_PAGE_SIZE)),
    )


@dataclass(frozen=True)
class Hit:
    """One message found, with its recipients' delivery states."""

    id: str
    kind: str
    document_id: str
    sender_code: str
    sender_name: str
    subject: str
    received_at: datetime
    sha256: str
    size: int
    status_code: str | None
    code: str
    recipients: list[tuple[str, str]] = field(default_factory=list)  # (code, delivery state)

    def as_json(self) -> dict[str, Any]:
        """The hit as the CLI's --json prints it."""
        return {
            "id": self.id, "kind": self.kind, "document_id": self.document_id, "from": self.sender_code,
            "subject": self.subject, "received_at": self.received_at.isoformat(), "sha256": self.sha256,
            "size": self.size, "status_code": self.status_code, "code": self.code,
            "recipients": [{"organ_id": c, "state": s} for c, s in self.recipients],
        }


@dataclass(frozen=True)
class SearchPage:
    """One page of hits and, when more follow, where the next page starts."""

    hits: list[Hit]
    next: str | None  # the ``after`` of the next page, if there is one


def _agency_id(code: str) -> ColumnElement[Any]:
    # Evaluated once; the id then serves as an index key (NULL for an unknown code: no match).
    return select(Agency.id).where(Agency.code == code).scalar_subquery()


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=VN_TZ)


def _conditions(q: SearchQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if q.message_id:
        where.append(Message.id == q.message_id)
    if q.document_id:
        where.append(Message.document_id == q.document_id)
    if q.sha256:
        where.append(Message.sha256 == q.sha256)
    if q.sender:
        where.append(Message.sender_id == _agency_id(q.sender))
    if q.kind:
        where.append(Message.kind == q.kind)
    if q.date_from:
        start = _local_midnight(q.date_from)
        where += [Message.received_at >= start, Message.id >= id_floor(start - CLOCK_MARGIN)]
    if q.date_to:
        end = _local_midnight(q.date_to + timedelta(days=1))
        where += [Message.received_at < end, Message.id < id_floor(end + CLOCK_MARGIN)]
    if q.text:
        # ILIKE on the column itself (not lower(subject), as icontains writes it): the trigram index answers it.
        escaped = q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Message.subject.ilike(f"%{escaped}%", escape="\\"))
        if not q.kind:
            # Text is a document's subject (the index holds documents only); with kind=status it is
            # the statuses' descriptions, read without an index.
            # A literal, not a parameter: the planner matches the partial index's predicate only to a constant.
            where.append(Message.kind == literal_column("'edoc'"))
    delivery: list[ColumnElement[bool]] = []
    if q.recipient:
        delivery.append(Delivery.recipient_id == _agency_id(q.recipient))
    if q.state == "revoked":
        where.append(or_(Message.revoked_at.is_not(None),
                         exists(select(Delivery.id).where(Delivery.message_id == Message.id,
                                                          Delivery.revoked_at.is_not(None)))))
    elif q.state:
        # A revoked document's deliveries read "revoked", whatever state they stopped in.
        delivery += [Delivery.state == q.state, Delivery.revoked_at.is_(None)]
        where.append(Message.revoked_at.is_(None))
    if delivery:
        if q.after:
            # The same bound on the deliveries' side lets the recipient index start at the cursor too.
            delivery.append(Delivery.message_id < q.after)
        where.append(exists(select(Delivery.id).where(Delivery.message_id == Message.id, *delivery)))
    if q.after:
        where.append(Message.id < q.after)
    return where


async def search_messages(session: AsyncSession, q: SearchQuery) -> SearchPage:
    """One page of messages of every agency matching ``q``, newest first."""
    sender = aliased(Agency)
    rows = (
        await session.execute(
            select(Message.id, Message.kind, Message.document_id, sender.code, sender.name, Message.subject,
                   Message.received_at, Message.sha256, Message.size, Message.status_code, Message.code_number,
                   Message.code_notation, Message.revoked_at)
            .join(sender, sender.id == Message.sender_id)
            .where(*_conditions(q))
            .order_by(Message.id.desc())
            .limit(q.limit + 1)
        )
    ).all()
    more = len(rows) > q.limit
    rows = rows[:q.limit]
    revoked = {r[0]: r[12] for r in rows}
    hits = [
        Hit(id=r[0], kind=r[1], document_id=r[2], sender_code=r[3], sender_name=r[4], subject=r[5],
            received_at=r[6], sha256=r[7], size=r[8], status_code=r[9],
            code=f"{r[10]}/{r[11]}" if r[10] else "")
        for r in rows
    ]
    if hits:
        by_id = {h.id: h for h in hits}
        for message_id, code, state, revoked_at in (
            await session.execute(
                select(Delivery.message_id, Agency.code, Delivery.state, Delivery.revoked_at)
                .join(Agency, Agency.id == Delivery.recipient_id)
                .where(Delivery.message_id.in_(list(by_id)))
                .order_by(Delivery.id)
            )
        ).all():
            by_id[message_id].recipients.append((code, delivery_outcome(state, revoked_at, revoked[message_id])))
    return SearchPage(hits, hits[-1].id if more and hits else None)
