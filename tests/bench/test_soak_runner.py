"""`python -m axis.bench.soak` runs end to end with tiny counts and prints every figure (no timing thresholds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from axis.bench.soak import trend
from tests.databases import ENV

pytestmark = pytest.mark.timeout(240)

PER_MINUTE = ("server_p50_ms", "server_p99_ms", "client_p50_ms", "client_p99_ms", "end_to_end_p99_ms", "rss_mb",
              "server_cpu_s")


def run_soak(*args: str) -> dict:
    command = [sys.executable, "-m", "axis.bench.soak", "--json", *args]
    if os.environ.get(ENV):
        command += ["--database-url", os.environ[ENV]]  # a server URL: the soak makes and drops its database
    proc = subprocess.run(command, capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, f"soak exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_soak_reports_each_interval_the_trend_and_the_burst() -> None:
    result = run_soak("--minutes", "3", "--interval", "5", "--rate", "8", "--workers", "1", "--burst", "20",
                      "--idle-seconds", "1", "--pg-stat-statements")
    minutes = result["minutes"]
    assert [m["minute"] for m in minutes] == [1, 2, 3]
    for m in minutes:
        assert m["errors"] == 0 and m["sent"] > 0, m
        # An interval in which no submit finished (a very busy machine) has no latency to report.
        keys = PER_MINUTE if m["submits_logged"] and m["delivered"] else ("rss_mb", "server_cpu_s")
        for key in keys:
            assert isinstance(m[key], (int, float)) and m[key] > 0, (key, m)
    assert any(m["submits_logged"] and m["delivered"] for m in minutes), minutes
    sent = sum(m["sent"] for m in minutes)
    assert sum(m["submits_logged"] for m in minutes) == sent  # every accepted submit found in the access log
    burst = result["burst"]
    assert burst["delivered"] == burst["count"] == 20 and burst["errors"] == 0, burst
    for key in ("baseline_rss_mb", "after_burst_rss_mb", "after_idle_rss_mb"):
        assert burst[key] > 0, burst
    assert result["undelivered_at_end"] == 0
    assert result["endpoint"]["refused"] == 0
    # Every document was pushed once and its 01 seen by the sender: in the intervals or the burst.
    delivered = sum(m["delivered"] for m in minutes) + result["delivered_after_intervals"] + burst["delivered"]
    assert delivered == sent + burst["count"]
    assert "rss_mb" in result["trend"]
    # Statement figures where pg_stat_statements is loaded; otherwise a note says why there are none.
    assert "statements" in result or any("pg_stat_statements" in note for note in result["notes"]), result["notes"]


def test_trend_compares_medians_after_the_warm_up() -> None:
    minutes = [{"server_p99_ms": p, "client_p99_ms": p, "server_p50_ms": p / 2, "rss_mb": r}
               for p, r in [(500, 90), (10, 100), (12, 100), (11, 101), (40, 103), (20, 104), (21, 105)]]
    t = trend(minutes)
    assert t["warm_up_intervals"] == 1 and t["window_intervals"] == 3
    assert t["server_p99_ms"] == {"first": 11, "last": 21, "ratio": round(21 / 11, 3)}
    assert t["rss_mb"] == {"first": 100, "last": 105, "growth": 0.05}


def test_tracemalloc_growth_is_written_when_asked_for(tmp_path: Path) -> None:
    script = ("import time\nfrom axis.memtrace import start_from_environment\nstart_from_environment()\n"
              "kept = []\nfor _ in range(400):\n    kept.append(bytearray(4000))\n    time.sleep(0.005)\n")
    env = {**os.environ, "AXIS_TRACEMALLOC": str(tmp_path), "AXIS_TRACEMALLOC_SECONDS": "0.5"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    (written,) = tmp_path.glob("tracemalloc-*.txt")
    text = written.read_text()
    assert "baseline" in text and "<string>:6" in text, text[:2000]
