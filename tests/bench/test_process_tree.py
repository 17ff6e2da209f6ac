"""The bench measures a server as its whole process tree: the parent and every worker it started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from axis.bench.server import ProcessStats, descendants

# A parent that starts a child which burns CPU, then both sleep until killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time\\nend = time.process_time() + 0.3\\n"
                          "while time.process_time() < end: pass\\nprint('busy', flush=True)\\ntime.sleep(60)"],
                         stdout=sys.stdout)
time.sleep(60)
"""


def test_process_stats_sum_cpu_and_peak_memory_over_the_children() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    children: list[int] = []
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "busy"
        stats = ProcessStats(parent.pid)
        sample = stats.sample()
        children = descendants(parent.pid)
        assert len(children) == 1 and sample.pids == (parent.pid, *children)
        # The child's 0.3 s of CPU is in the total, which the parent alone could not reach.
        assert sample.cpu_seconds_each[1] >= 0.25 and sample.cpu_seconds >= 0.25
        assert sample.peak_rss_mb >= sample.rss_mb > 0
        assert stats.reset_peak()
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
