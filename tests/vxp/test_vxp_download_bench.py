"""The large-download bench runs end to end on a real server and prints its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_download_bench_prints_latency_and_memory_for_both_operations() -> None:
    args = [sys.executable, "-m", "axis.bench.vxp_download", "--mb", "3", "--parallel", "2", "--rounds", "1",
            "--seconds", "0"]
    database = os.environ.get("AXIS_TEST_DATABASE_URL", "")
    if database.startswith("postgresql"):
        args += ["--database", database, "--blob-backend", os.environ.get("AXIS_TEST_BLOB_BACKEND", "filesystem")]
    run = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [f["operation"] for f in lines] == ["getEdoc", "downloadEdoc"]
    for figures in lines:
        assert figures["healthz_samples"] > 0 and figures["healthz_ms_max"] >= figures["healthz_ms_p99"] > 0
        # Peak is sampled during the calls; it may be below the idle figure once freed memory is returned.
        assert figures["rss_peak_mb"] > 0 and figures["rss_idle_mb"] > 0
        assert abs(figures["rss_growth_mb"] - (figures["rss_peak_mb"] - figures["rss_idle_mb"])) < 0.2
        assert isinstance(figures["growth_under_document"], bool)
        assert isinstance(figures["healthz_under_50ms"], bool)
    get_edoc, download = lines
    # Every call got the whole answer: the document in base64 (4/3 of it) and the document itself.
    assert abs(get_edoc["answer_mb_each"] - download["document_mb"] * 4 / 3) <= 0.1
    assert download["answer_mb_each"] == download["document_mb"]
