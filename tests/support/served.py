"""A real `axis serve` in a subprocess on a free loopback port, on its own SQLite home."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

AXIS = Path(sys.executable).with_name("axis")


@dataclass(frozen=True)
class Served:
    """The server's URL and the environment a CLI call or script shares with it."""

    url: str
    home: Path
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def axis_serve(root: Path, timeout: float = 60.0) -> Iterator[Served]:
    """Start `axis serve` with AXIS_HOME under ``root`` (embedded SQLite), wait until healthy, stop it after."""
    home = root / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    port = _free_port()
    env.update(AXIS_HOME=str(home), PYTHONUNBUFFERED="1", AXIS_SERVER=f"http://127.0.0.1:{port}")
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(AXIS), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"axis serve exited {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"axis serve not healthy in {timeout} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Served(url, home, env)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
