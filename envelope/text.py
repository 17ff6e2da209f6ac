"""Text normalisation shared by the edXML model classes."""

from __future__ import annotations

import unicodedata
from dataclasses import fields
from typing import Any


def nfc(s: str) -> str:
    """Return ``s`` in Unicode NFC, the form edXML text travels in."""
    # is_normalized is much cheaper than normalize for the common case.
    return s if unicodedata.is_normalized("NFC", s) else unicodedata.normalize("NFC", s)


def _normalised(value: Any) -> Any:
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list | tuple):
        # Lists become tuples so that frozen messages stay hashable and immutable.
        return tuple(nfc(v) if isinstance(v, str) else v for v in value)
    return value


class NfcFields:
    """Dataclass mixin: NFC-normalise str fields and freeze list fields into tuples.

    A field whose metadata has ``verbatim=True`` is left alone.
    """

    __slots__ = ()

    def __post_init__(self) -> None:
        """Normalise text fields in place (the dataclass is frozen, hence object.__setattr__)."""
        for name in _normalised_fields(type(self)):
            value = getattr(self, name)
            new = _normalised(value)
            if new is not value:
                object.__setattr__(self, name, new)


#: Per model class, the fields to normalise: a class's fields never change, so they are looked up once
#: per class, not once per instance (an envelope makes many).
_TEXT_FIELDS: dict[type, tuple[str, ...]] = {}


def _normalised_fields(cls: type) -> tuple[str, ...]:
    names = _TEXT_FIELDS.get(cls)
    if names is None:
        names = _TEXT_FIELDS[cls] = tuple(
            f.name for f in fields(cls)
            if not f.metadata.get("verbatim")  # e.g. base64 text: not prose, and possibly huge
        )
    return names
