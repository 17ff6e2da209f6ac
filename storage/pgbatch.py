"""The group commit's batch as one PostgreSQL statement: every table's rows as arrays, no BEGIN nor COMMIT.

A single statement is atomic on its own, so the batch needs neither a transaction block nor the
two round trips that open and close it; each table's rows go in as parallel arrays
(``unnest``), so the statement's text (hence the server's prepared plan) is the same for any
number of messages. It is sent through the asyncpg connection under SQLAlchemy: no compiling,
one prepared statement per connection. Foreign keys are checked at the end of the statement,
when every row of the batch is there. SQLite, and batches with a change that needs a
transaction (``Rows.apply``), take the Core path (storage.committer.write_rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql

from storage.archive_models import Blob, RegisterEntry, RetentionAssignment
from storage.models import AuditQueueEntry, Delivery, DeliveryState, Message, Payload, StatusEvent

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_NO_VALUE = object()


@dataclass(frozen=True)
class _Columns:
    """The columns one INSERT names, with what fills a column a row leaves out."""

    table: Table
    names: tuple[str, ...]
    casts: tuple[str, ...]
    defaults: tuple[Callable[[], Any], ...]

    def arrays(self, rows: Sequence[dict[str, Any]], extra: Sequence[Any] = ()) -> list[list[Any]]:
        """The rows as one list per column (the statement's arrays), after ``extra`` leading arrays."""
        out: list[list[Any]] = [list(e) for e in extra]
        for name, default in zip(self.names, self.defaults, strict=True):
            column: list[Any] = []
            for row in rows:
                value = row.get(name, _NO_VALUE)
                column.append(default() if value is _NO_VALUE else value)
            out.append(column)
        return out


def _default(column: Column[Any]) -> Callable[[], Any]:
    # The Core INSERT applies a column's Python default to a row that leaves it out; so does this.
    default = column.default
    if default is None:
        if column.server_default is not None:
            raise TypeError(f"{column} has only a server default: give it a Python one too")
        return lambda: None
    if default.is_scalar:
        value = default.arg  # type: ignore[attr-defined]
        return lambda: value
    if default.is_callable:
        fn = default.arg  # type: ignore[attr-defined]
        return lambda: fn(None)
    raise TypeError(f"{column} has a default this statement cannot compute")


def _columns(table: Table, skip: Sequence[str] = ()) -> _Columns:
    auto = table.autoincrement_column
    cols = [c for c in table.columns if c is not auto and c.name not in skip]
    return _Columns(
        table,
        tuple(c.name for c in cols),
        tuple(f"{c.type.compile(dialect=_PG)}[]" for c in cols),
        tuple(_default(c) for c in cols),
    )


@dataclass(frozen=True)
class _Plan:
    """The statement and the columns of each of its arrays, built once."""

    sql: str
    messages: _Columns
    payloads: _Columns
    deliveries: _Columns
    statuses: _Columns
    blobs: _Columns
    registers: _Columns
    retentions: _Columns
    audit: _Columns


class _Params:
    """Numbers the statement's parameters ($1, $2 ...) as its parts are written."""

    def __init__(self) -> None:
        self.count = 0

    def unnest(self, casts: Sequence[str]) -> str:
        """``unnest($n::type[], ...)`` over the next parameters."""
        first = self.count + 1
        self.count += len(casts)
        return "unnest(" + ", ".join(f"${first + i}::{cast}" for i, cast in enumerate(casts)) + ")"


def _insert(p: _Params, cols: _Columns, conflict: str = "") -> str:
    names = ", ".join(cols.names)
    tail = f" ON CONFLICT ({conflict}) DO NOTHING" if conflict else ""
    return f"INSERT INTO {cols.table.name} ({names}) SELECT * FROM {p.unnest(cols.casts)}{tail}"


@cache
def plan() -> _Plan:
    """The batch statement (built on first use)."""
    p = _Params()
    messages, payloads = _columns(Message.__table__), _columns(Payload.__table__)
    deliveries, statuses = _columns(Delivery.__table__), _columns(StatusEvent.__table__)
    blobs, registers = _columns(Blob.__table__), _columns(RegisterEntry.__table__)
    retentions, audit = _columns(RetentionAssignment.__table__), _columns(AuditQueueEntry.__table__)
    parts = [
        f"m AS ({_insert(p, messages)})",
        f"p AS ({_insert(p, payloads, 'sha256')})",  # bytes already stored are left as they are
        f"d AS ({_insert(p, deliveries)})",
        f"s AS ({_insert(p, statuses)})",
        f"b AS ({_insert(p, blobs, 'sha256')})",  # identical bytes: the first arrival's row stands
        f"r AS ({_insert(p, registers)})",
        f"k AS ({_insert(p, retentions)})",
    ]
    # A status 01's effects. The state test makes only the first 01 deliver, even with concurrent repeats
    # (a waiting UPDATE re-reads the row) and whatever a refusal given first said.
    t = Delivery.__table__.name
    done = ", ".join(f"'{s.value}'" for s in (DeliveryState.DELIVERED, DeliveryState.REFUSED))
    receipt = p.unnest(("bigint[]", "timestamp with time zone[]", "varchar[]"))
    parts.append(
        f"delivered AS (UPDATE {t} AS t SET state = '{DeliveryState.DELIVERED.value}', delivered_at = v.at, "
        f"receipt_message_id = v.receipt, claimed_by = NULL, claimed_until = NULL "
        f"FROM {receipt} AS v(id, at, receipt) WHERE t.id = v.id AND t.state NOT IN ({done}) RETURNING t.id)"
    )
    # Then the recipient's incoming register entry (a repeated 01 takes no second number) ...
    reg_names = ", ".join(registers.names)
    reg_in = p.unnest(("bigint[]", *registers.casts))
    parts.append(
        f"ri AS (INSERT INTO {RegisterEntry.__table__.name} ({reg_names}) SELECT {reg_names} "
        f"FROM {reg_in} AS e(delivery_id, {reg_names}) JOIN delivered ON delivered.id = e.delivery_id "
        f"ON CONFLICT (agency_id, direction, message_id) DO NOTHING)"
    )
    # ... and its audit entry, with the messages' own entries in one INSERT.
    audit_names = ", ".join(audit.names)
    audit_rows = p.unnest(audit.casts)
    audit_in = p.unnest(("bigint[]", *audit.casts))
    parts.append(
        f"a AS (INSERT INTO {AuditQueueEntry.__table__.name} ({audit_names}) "
        f"SELECT * FROM {audit_rows} UNION ALL SELECT {audit_names} "
        f"FROM {audit_in} AS e(delivery_id, {audit_names}) JOIN delivered ON delivered.id = e.delivery_id)"
    )
    sql = "WITH " + ",\n".join(parts) + "\nSELECT 1"
    return _Plan(sql, messages, payloads, deliveries, statuses, blobs, registers, retentions, audit)


@dataclass
class Batch:
    """The rows of a batch by table, as the committer gathered them."""

    messages: list[dict[str, Any]]
    payloads: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    blobs: list[dict[str, Any]]
    registers: list[dict[str, Any]]
    retentions: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    #: Status 01s, one per delivery (the first): (delivery id, at, receipt id, register row, audit row).
    receipts: list[tuple[int, Any, str, dict[str, Any], dict[str, Any]]]


def arguments(batch: Batch) -> list[Any]:
    """The statement's parameters for ``batch``, in order."""
    q = plan()
    args: list[Any] = []
    args += q.messages.arrays(batch.messages)
    args += q.payloads.arrays(batch.payloads)
    args += q.deliveries.arrays(batch.deliveries)
    args += q.statuses.arrays(batch.statuses)
    args += q.blobs.arrays(batch.blobs)
    args += q.registers.arrays(batch.registers)
    args += q.retentions.arrays(batch.retentions)
    ids = [r[0] for r in batch.receipts]
    args += [ids, [r[1] for r in batch.receipts], [r[2] for r in batch.receipts]]
    args += q.registers.arrays([r[3] for r in batch.receipts], extra=[ids])
    args += q.audit.arrays(batch.audit)
    args += q.audit.arrays([r[4] for r in batch.receipts], extra=[ids])
    return args
