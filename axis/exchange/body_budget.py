"""The ceiling on request bodies in flight: bytes held in memory, bytes in spool files, uploads per agency.

One ``BodyBudget`` per process. Each submission takes a ``BodyHold`` once its caller is known
(refused when the agency already has its share of uploads in flight) and draws memory and spool
bytes from the budget while its body streams in; everything returns when the request ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from pathlib import Path

from axis.exchange.errors import BodiesBusy, TooManyUploads

GIB = 1024 * 1024 * 1024
#: Seconds a client is told to wait when the budget is spent (bodies in flight finish or are cut by then).
BUSY_RETRY_AFTER = 5
#: Seconds an agency over its share of uploads is told to wait.
UPLOADS_RETRY_AFTER = 1


#: Bytes of bodies held at the peak of a burst from which, once all are released, freed memory is handed back.
TRIM_AFTER_BYTES = 32 * 1024 * 1024


#: glibc's mallopt parameter: allocations from this size on get their own mapping, returned when freed.
_M_MMAP_THRESHOLD = -3
#: Fixed rather than glibc's sliding default, which rises to the size of the largest block freed (up to
#: 32 MiB) and then serves every body buffer from a heap that fragments and is never given back.
MMAP_THRESHOLD = 256 * 1024


def _malloc_trim() -> Callable[[], None]:
    """glibc's malloc_trim(0), or nothing elsewhere: freed body buffers otherwise stay in the process's heap.

    Also fixes glibc's mmap threshold (``MMAP_THRESHOLD``), so that large buffers are mapped and unmapped.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = libc.malloc_trim if libc else None
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return lambda: None
    return lambda: trim(0)


def physical_memory() -> int:
    """Bytes of RAM this process may use: the machine's, or its cgroup's limit when lower."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(raw)) if raw.isdigit() else total


def default_memory_budget() -> int:
    """The memory ceiling when none is configured: an eighth of RAM, at most 1 GiB."""
    return min(GIB, physical_memory() // 8)


class BodyBudget:
    """What all requests of this process may hold of bodies at once."""

    def __init__(self, *, memory_bytes: int, spool_bytes: int, uploads_per_agency: int) -> None:
        self.memory_bytes = memory_bytes if memory_bytes > 0 else default_memory_budget()
        self.spool_bytes = spool_bytes
        self.uploads_per_agency = max(1, uploads_per_agency)
        self.memory_in_use = 0
        self.spool_in_use = 0
        self.uploads: dict[str, int] = {}
        #: The most bytes held in memory since the budget was last empty.
        self.memory_peak = 0
        self._trim = _malloc_trim()

    def settled(self) -> None:
        """Called when a request gives its bytes back: after a large burst, return the freed memory to the system."""
        if self.memory_in_use == 0 and self.memory_peak >= TRIM_AFTER_BYTES:
            self.memory_peak = 0
            # Hundreds of 4 MB bodies leave a heap the allocator keeps, fragmented, after they are freed:
            # without this the RSS of a burst stays for the life of the process.
            self._trim()

    def hold(self, agency: str) -> BodyHold:
        """Start one upload of ``agency``; ``TooManyUploads`` when it already has its share in flight."""
        count = self.uploads.get(agency, 0)
        if count >= self.uploads_per_agency:
            raise TooManyUploads(f"agency {agency} already has {count} submissions in flight "
                                 f"(at most {self.uploads_per_agency}); retry when one ends",
                                 retry_after=UPLOADS_RETRY_AFTER)
        self.uploads[agency] = count + 1
        return BodyHold(self, agency)

    def busy(self, what: str) -> BodiesBusy:
        """The refusal for a body that finds no room (``what`` says which ceiling)."""
        return BodiesBusy(f"the axis holds as many request bodies as it may ({what}); retry in a moment",
                          retry_after=BUSY_RETRY_AFTER)


class BodyHold:
    """What one request draws from the budget; ``release`` gives it all back (once)."""

    def __init__(self, budget: BodyBudget | None, agency: str = "") -> None:
        self.budget = budget
        self.agency = agency
        self.memory = 0
        self.spool = 0
        self.released = False

    @classmethod
    def unbounded(cls) -> BodyHold:
        """A hold with no budget behind it (tools and tests reading a body on their own)."""
        return cls(None)

    def take_memory(self, n: int) -> bool:
        """Reserve ``n`` more bytes of memory; False (nothing reserved) when the ceiling would be passed."""
        b = self.budget
        if b is not None:
            if b.memory_in_use + n > b.memory_bytes:
                return False
            b.memory_in_use += n
            b.memory_peak = max(b.memory_peak, b.memory_in_use)
        self.memory += n
        return True

    def give_memory(self, n: int) -> None:
        """Return up to ``n`` bytes of memory (what was written to the spool file, say)."""
        n = min(n, self.memory)
        self.memory -= n
        if self.budget is not None:
            self.budget.memory_in_use -= n

    def take_spool(self, n: int) -> bool:
        """Reserve ``n`` more bytes of spool files; False when the disk ceiling would be passed."""
        b = self.budget
        if b is not None:
            if b.spool_in_use + n > b.spool_bytes:
                return False
            b.spool_in_use += n
        self.spool += n
        return True

    def busy(self, what: str) -> BodiesBusy:
        """The refusal when this request finds no room for its body."""
        if self.budget is not None:
            return self.budget.busy(what)
        return BodiesBusy(f"no room for the body ({what})", retry_after=BUSY_RETRY_AFTER)

    def release(self) -> None:
        """Give back everything this request held and end its upload (idempotent)."""
        if self.released:
            return
        self.released = True
        b = self.budget
        if b is None:
            return
        b.memory_in_use -= self.memory
        b.spool_in_use -= self.spool
        self.memory = self.spool = 0
        left = b.uploads.get(self.agency, 1) - 1
        if left > 0:
            b.uploads[self.agency] = left
        else:
            # Drop the key: a map of every agency ever seen would only grow.
            b.uploads.pop(self.agency, None)
        b.settled()
