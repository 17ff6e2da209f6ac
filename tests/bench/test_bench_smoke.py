"""`axis bench --json` runs end to end with tiny counts and prints every figure (no timing thresholds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.databases import ENV

HEADLINE = ("submit_per_s", "roundtrip_per_s", "push_per_s", "submit_p99_ms", "large_peak_rss_mb",
            "large_attachment_mb")

pytestmark = pytest.mark.timeout(240)


def run_bench(*args: str) -> dict:
    command = [sys.executable, "-c", "from axis.cli import main; main()", "bench", "--json", *args]
    if os.environ.get(ENV):
        command += ["--database-url", os.environ[ENV]]  # a server URL: the bench makes and drops its database
    proc = subprocess.run(command, capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, f"axis bench exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_bench_json_reports_every_figure_as_a_positive_number() -> None:
    figures = run_bench("--count", "20", "--concurrency", "4", "--large-mb", "2", "--scale", "400",
                        "--scale-samples", "5")
    for key in HEADLINE:
        assert isinstance(figures[key], (int, float)) and figures[key] > 0, (key, figures[key])
    assert figures["large_attachment_mb"] == 2
    for name in ("submit", "submit_half_rate", "roundtrip", "push"):
        scenario = figures["scenarios"][name]
        assert scenario["errors"] == 0, scenario
        assert scenario["count"] > 0 and scenario["server_cpu_s_per_msg"] > 0
        assert 0 < scenario["p50_ms"] <= scenario["p95_ms"] <= scenario["p99_ms"]
    large = figures["scenarios"]["large"]
    assert large["accepted"] and large["delivered"], large
    scale = figures["scale"]
    assert scale["messages"] >= 350  # about the number asked for: documents and their receipts
    for name in ("inbox_page", "trace", "outbox_filter"):
        assert scale["queries"][name]["p95_ms"] > 0, scale["queries"][name]


def test_bench_with_two_workers_counts_the_cpu_of_every_server_process() -> None:
    figures = run_bench("--workers", "2", "--scenarios", "submit", "--no-half-rate", "--count", "20",
                        "--concurrency", "4")
    assert figures["workers"] == 2
    # The parent and its one worker child were both found and both used CPU (each imports and serves the app).
    assert len(figures["server_pids"]) == 2, figures["server_pids"]
    assert all(cpu > 0 for cpu in figures["server_cpu_s_each"]), figures["server_cpu_s_each"]
    assert figures["server_total_cpu_s"] >= sum(figures["server_cpu_s_each"]) - 0.05
    submit = figures["scenarios"]["submit"]
    assert submit["errors"] == 0 and submit["server_processes"] == 2, submit
    assert submit["server_cpu_s"] > 0 and submit["peak_rss_mb"] > 0
