"""`axis bench` stops and reaps every process it starts: after a run, and when killed in the middle of one."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import pytest

from tests.databases import ENV

pytestmark = pytest.mark.timeout(240)

MARK = "AXIS_BENCH_REAP_MARK"


def marked(mark: str) -> list[int]:
    """Live processes carrying ``MARK=mark`` in their environment: the bench and everything it started."""
    needle = f"{MARK}={mark}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    out.append(int(entry))
        except OSError:
            continue  # exited, a zombie, or another user's
    return out


def bench(mark: str, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from axis.cli import main; main()", "bench", *args]
    if os.environ.get(ENV):
        command += ["--database-url", os.environ[ENV]]
    return subprocess.Popen(command, env={**os.environ, MARK: mark}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_finished_bench_leaves_no_process() -> None:
    mark = secrets.token_hex(6)
    proc = bench(mark, "--scenarios", "submit", "--count", "5", "--no-half-rate", "--concurrency", "2",
                 "--workers", "2")
    out, err = proc.communicate(timeout=220)
    assert proc.returncode == 0, err[-3000:]
    assert "submit" in out
    # Right at its exit, not after a grace: the bench waits for its processes before it returns.
    assert marked(mark) == [], [open(f"/proc/{p}/cmdline").read() for p in marked(mark)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_bench_killed_mid_run_leaves_no_process(signum: int) -> None:
    mark = secrets.token_hex(6)
    # Enough messages that signing is still under way when the signal comes.
    proc = bench(mark, "--scenarios", "submit,roundtrip", "--count", "4000", "--workers", "2")
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "signing" in line:
                break
        else:
            pytest.fail("the bench never started signing:\n" + "".join(seen[-30:]))
        # The bench, the server and its worker, the load process and its signing pool are all up.
        deadline = time.monotonic() + 30
        while len(marked(mark)) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        running = marked(mark)
        assert len(running) >= 5, running
        proc.send_signal(signum)  # to the bench alone, as `kill` would: its children get no signal of their own
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    expected = 128 + signum if signum == signal.SIGTERM else 1  # Ctrl-C ends as click's "Aborted!"
    assert proc.returncode == expected, err[-3000:]
    left = marked(mark)
    assert left == [], [open(f"/proc/{p}/cmdline").read() for p in left]
