"""Counts in English words, for what the CLI and the demo print (the web UI uses Babel)."""

from __future__ import annotations


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` with ``word`` in the right number: 1 status, 2 statuses, 0 documents."""
    return f"{n} {word if n == 1 else plural or _plural(word)}"


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


#: What the axis's own registry row is, in the CLI's words and the web UI's English: one wording everywhere.
AXIS_ROW_STATE = "the axis itself: signs notices, receives nothing"


def agency_state(code: str, active: bool, axis_code: str) -> str:
    """An agency row's machine state: ``axis`` (the axis's own row, which never receives), ``active``, ``disabled``."""
    if code == axis_code:
        return "axis"
    return "active" if active else "disabled"
