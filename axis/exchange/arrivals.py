"""Inbox arrivals in this process: long-polling inbox reads wait here until something comes for their agency."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


class Arrivals:
    """Wakes the inbox long-polls of an agency when a message for it is accepted in this process.

    Arrivals accepted by another process or node do not pass through here: a waiting read also
    looks at the database again every few tenths of a second (see :func:`axis.exchange.pull.wait_for_inbox`).
    """

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def notify(self, codes: Iterable[str]) -> None:
        """Something arrived for each of these agency codes: wake whoever waits for them."""
        for code in codes:
            for event in self._waiting.get(code, ()):
                event.set()

    @contextmanager
    def watch(self, code: str) -> Iterator[asyncio.Event]:
        """An event set at each arrival for ``code`` while the ``with`` block runs."""
        event = asyncio.Event()
        self._waiting.setdefault(code, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiting.get(code)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[code]

    def waiting(self) -> int:
        """How many reads are waiting now (all agencies)."""
        return sum(len(events) for events in self._waiting.values())
