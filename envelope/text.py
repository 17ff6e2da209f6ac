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
        for f in fields(self):  # type: ignore[arg-type]  # a mixin: self is always a dataclass
            if f.metadata.get("verbatim"):
                continue  # e.g. base64 text: not prose, and possibly huge
            value = getattr(self, f.name)
            new = _normalised(value)
            if new is not value:
                object.__setattr__(self, f.name, new)
