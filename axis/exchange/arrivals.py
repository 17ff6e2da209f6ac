"""Inbox arrivals: long-polling inbox reads wait here until something comes for their agency."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("axis.errors")

#: Given agency ids, what waits for each (any value that changes when something arrives), for those with anything.
Heads = Callable[[Sequence[int]], Awaitable[dict[int, Any]]]


class Arrivals:
    """Wakes the inbox long-polls of an agency when a message for it arrives.

    A message accepted by this process wakes its recipients' reads at once (:meth:`notify`). One
    accepted by another process or node is seen by one watcher per process, which asks the database
    every ``interval`` seconds, while anyone waits, what waits for the waiting agencies: one small
    query per process, however many reads wait.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._ids: dict[str, int] = {}
        self._watcher: asyncio.Task[None] | None = None

    def notify(self, codes: Iterable[str]) -> None:
        """Something arrived for each of these agency codes: wake whoever waits for them."""
        for code in codes:
            self._wake(code)

    def _wake(self, code: str) -> None:
        for event in self._waiting.get(code, ()):
            event.set()

    @contextmanager
    def watch(self, code: str, agency_id: int, heads: Heads | None = None) -> Iterator[asyncio.Event]:
        """An event set at each arrival for ``code`` while the ``with`` block runs.

        With ``heads``, arrivals through other processes are looked for in the database too.
        """
        event = asyncio.Event()
        self._waiting.setdefault(code, set()).add(event)
        self._ids[code] = agency_id
        if heads is not None and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.create_task(self._watch(heads), name="inbox-arrivals")
        try:
            yield event
        finally:
            waiting = self._waiting.get(code)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[code]
                    del self._ids[code]

    def waiting(self) -> int:
        """How many reads are waiting now (all agencies)."""
        return sum(len(events) for events in self._waiting.values())

    async def _watch(self, heads: Heads) -> None:
        seen: dict[int, Any] = {}
        while self._waiting:
            await asyncio.sleep(self.interval)
            codes = {agency_id: code for code, agency_id in self._ids.items()}
            if not codes:
                return
            try:
                now = await heads(list(codes))
            except Exception:  # noqa: BLE001 - a waiting read still looks again by itself
                log.warning("could not look for inbox arrivals", exc_info=True)
                continue
            for agency_id in list(seen):
                if agency_id not in now:
                    del seen[agency_id]  # emptied: whatever comes next is news
            for agency_id, head in now.items():
                if seen.get(agency_id) != head:
                    seen[agency_id] = head
                    self._wake(codes[agency_id])

    async def close(self) -> None:
        """Stop the watcher (the application is shutting down)."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
