"""Archived messages are never deleted nor rewritten through the ORM; only a disposal removes a payload.

Listeners on every SQLAlchemy session refuse an ORM delete of a message, and any change to
a stored message other than the moment it was revoked (13 / 15). Raw SQL is not stopped here:
the audit chain, the signed heads and fixity checks are what reveal such changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.errors import ArchiveImmutable
from storage.models import Message

#: The only message columns that may change after a message is stored.
MUTABLE = frozenset({"revoked_at"})


def _is_message(state: ORMExecuteState) -> bool:
    mapper = state.bind_mapper
    return mapper is not None and mapper.class_ is Message


def _updated_columns(state: ORMExecuteState) -> set[str]:
    names: set[str] = set()
    values: dict[Any, Any] | None = getattr(state.statement, "_values", None)
    for column in values or {}:
        names.add(getattr(column, "key", str(column)))
    params = state.parameters
    for row in params if isinstance(params, list) else [params] if params else []:
        names.update(str(k) for k in row if k not in ("id",))
    return names


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_delete or state.is_update) or not _is_message(state):
        return
    if state.is_delete:
        raise ArchiveImmutable("archived messages cannot be deleted; payloads leave only by disposal")
    frozen = _updated_columns(state) - MUTABLE
    if frozen:
        raise ArchiveImmutable(f"archived messages cannot be altered ({', '.join(sorted(frozen))})")


@event.listens_for(Session, "before_flush")
def _refuse_unit_of_work_changes(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Message):
            raise ArchiveImmutable(f"message {obj.id} cannot be deleted; payloads leave only by disposal")
    for obj in session.dirty:
        if not isinstance(obj, Message):
            continue
        changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()} - MUTABLE
        if changed:
            raise ArchiveImmutable(f"message {obj.id} cannot be altered ({', '.join(sorted(changed))})")
