"""Registers and reports as CSV, the form archivists and agencies open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: A text cell starting with one of these is read as a formula by spreadsheets (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


#: Signs that spreadsheets also take for the ASCII ones (the minus sign; NFKC maps fullwidth and small forms).
_LOOKALIKES = {"\u2212": "-"}


def _first_significant(value: str) -> str:
    """The first character a spreadsheet reads a formula from: past whitespace (NBSP too) and format characters."""
    for char in value:
        if char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp"):
            continue
        return _LOOKALIKES.get(char, unicodedata.normalize("NFKC", char)[:1])
    return ""


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, prefixed with an apostrophe; anything else as is.

    Subjects and type names come from senders: ``=HYPERLINK(...)`` in one would otherwise run in the
    recipient's register. Spreadsheets skip leading spaces and invisible characters and read
    fullwidth ``＝`` as ``=``, so the sign is looked for past them. Numbers (counts, durations) are
    not text and stay numbers.
    """
    if isinstance(value, str) and (value.startswith(FORMULA_TRIGGERS)
                                   or _first_significant(value) in FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV with a header line; None becomes an empty field and formula-like text is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else neutralise(row.get(c)) for c in columns])
    return out.getvalue()
