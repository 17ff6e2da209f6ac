"""Id lists cut into chunks that fit one ``IN (...)`` clause."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

#: Bound on ids in one IN (...) list: well under SQLite's and asyncpg's parameter limits.
CHUNK = 1000


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    """``items`` in consecutive slices of at most :data:`CHUNK`."""
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
