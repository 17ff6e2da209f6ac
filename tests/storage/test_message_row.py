"""The write path's MessageRow names exactly the columns of ``messages``, with the same defaults."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.sql.schema import ScalarElementColumnDefault

from storage.models import Message, MessageRow


def test_message_row_has_every_column_of_messages_and_nothing_else() -> None:
    assert {f.name for f in dataclasses.fields(MessageRow)} == {c.key for c in Message.__table__.columns}


def test_message_row_defaults_are_the_column_defaults() -> None:
    for f in dataclasses.fields(MessageRow):
        column = Message.__table__.columns[f.name]
        if isinstance(column.default, ScalarElementColumnDefault):
            assert f.default == column.default.arg, f.name
        elif f.default is not dataclasses.MISSING:
            assert f.default is None and column.nullable, f.name


def test_values_name_every_column_once() -> None:
    row = MessageRow(id="01J", kind="edoc", document_id="d", sender_id=1, sha256="0" * 64, size=1,
                     received_at=datetime.now(UTC))
    assert set(row.values()) == {c.key for c in Message.__table__.columns}
