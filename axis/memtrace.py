"""Allocation growth of a long-running process, for the soak: tracemalloc snapshots compared over time.

Off unless ``AXIS_TRACEMALLOC=DIR`` is set when `axis serve` starts (each of its processes writes
``DIR/tracemalloc-PID.txt`` every ``AXIS_TRACEMALLOC_SECONDS``; ``AXIS_TRACEMALLOC_FRAMES`` above 1
adds tracebacks). A diagnostic, not a setting: tracing every allocation slows the server several
times over, and each snapshot holds the interpreter while it is taken.
"""

from __future__ import annotations

import linecache
import os
import threading
import time
import tracemalloc
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

#: Lines of growth written per snapshot, and how many of them with their whole traceback.
TOP = 25
TRACEBACKS = 5
#: Left out: tracing's own allocations, imports, and the source lines read to print tracebacks.
_IGNORED = (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"), tracemalloc.Filter(False, "<unknown>"))


def start_from_environment(environ: Mapping[str, str] = os.environ) -> threading.Thread | None:
    """Start tracing and a snapshot thread when AXIS_TRACEMALLOC names a directory; None otherwise."""
    directory = environ.get("AXIS_TRACEMALLOC")
    if not directory:
        return None
    interval = float(environ.get("AXIS_TRACEMALLOC_SECONDS", "60"))
    # One frame is cheap enough to leave the server serving; more give tracebacks but slow it to a crawl.
    frames = max(1, int(environ.get("AXIS_TRACEMALLOC_FRAMES", "1")))
    path = Path(directory) / f"tracemalloc-{os.getpid()}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(frames)
    thread = threading.Thread(target=_watch, args=(path, interval), name="tracemalloc", daemon=True)
    thread.start()
    return thread


def _snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot().filter_traces(_IGNORED)


def _watch(path: Path, interval: float) -> None:
    # The first interval is warm-up (imports, pools, caches filling): growth is counted from its end.
    time.sleep(interval)
    baseline = _snapshot()
    previous = baseline
    with path.open("a") as out:
        out.write(f"# pid {os.getpid()}: baseline at {_now()}, {_mb(tracemalloc.get_traced_memory()[0])} traced\n")
        out.flush()
        while True:
            time.sleep(interval)
            current = _snapshot()
            write_growth(out, current, baseline, previous)
            out.flush()
            previous = current


def write_growth(out: TextIO, current: tracemalloc.Snapshot, baseline: tracemalloc.Snapshot,
                 previous: tracemalloc.Snapshot) -> None:
    """Append the lines whose allocations grew most since ``baseline`` (and since ``previous``) to ``out``."""
    write = out.write
    traced, peak = tracemalloc.get_traced_memory()
    write(f"\n## {_now()}: traced {_mb(traced)} (peak {_mb(peak)})\n")
    since_baseline = current.compare_to(baseline, "lineno")
    since_previous = {s.traceback: s for s in current.compare_to(previous, "lineno")}
    for stat in since_baseline[:TOP]:
        last = since_previous.get(stat.traceback)
        write(f"{stat.size_diff / 1024:+10.1f} KiB {stat.count_diff:+8d} blocks "
              f"(last interval {0 if last is None else last.size_diff / 1024:+.1f} KiB)  {stat.traceback[0]}\n")
    if tracemalloc.get_traceback_limit() < 2:
        return
    write("### tracebacks of the largest growth\n")
    for stat in current.compare_to(baseline, "traceback")[:TRACEBACKS]:
        write(f"{stat.size_diff / 1024:+.1f} KiB {stat.count_diff:+d} blocks\n")
        for line in stat.traceback.format(most_recent_first=True)[:2 * 8]:
            write(f"    {line}\n")


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
