"""Calls that arrive while a batch is being written wait and go together in the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Together(Generic[K, R]):
    """Runs ``batch`` for every key waiting, one batch at a time; each caller gets its key's result.

    The push worker's attempts of one claimed batch reach their lease renewal (or their outcome) in the
    same turn of the event loop: one statement then serves them all. A key missing from the batch's
    result gets ``missing``; an exception of the batch is every waiting caller's.
    """

    def __init__(self, batch: Callable[[list[K]], Awaitable[Mapping[K, R]]], missing: R, name: str) -> None:
        self.batch = batch
        self.missing = missing
        self.name = name
        self._waiting: dict[K, asyncio.Future[R]] = {}
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> R:
        """``key``'s result from the next batch."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)
        return await future

    def close(self) -> None:
        """Stop the batch running now, if any (its callers see it cancelled)."""
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, {}
            try:
                results = await self.batch(list(waiting))
            except BaseException as exc:
                for future in waiting.values():
                    if not future.done():
                        if isinstance(exc, Exception):
                            future.set_exception(exc)
                        else:
                            future.cancel()
                if not isinstance(exc, Exception):
                    raise
                continue
            for key, future in waiting.items():
                if not future.done():  # its caller may have been cancelled meanwhile
                    future.set_result(results.get(key, self.missing))
