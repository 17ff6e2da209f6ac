"""log_format = "json": `axis serve` writes one JSON object per line, requests with their fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from axis.bench.server import free_port

AXIS = Path(sys.executable).with_name("axis")


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    env.update(AXIS_HOME=str(tmp_path / "home"), AXIS_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(AXIS), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                env=env, stdout=subprocess.DEVNULL, stderr=out, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger"} <= set(line) for line in lines)
    health = [line for line in lines if line.get("path") == "/healthz"]
    assert health and health[0]["status"] == 200 and health[0]["client"] == "127.0.0.1"
