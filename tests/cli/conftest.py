"""A real `axis serve` subprocess on a fresh database, and a helper to run the CLI against it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from axis.bench.server import free_port
from migrations.upgrade import upgrade
from tests.databases import fresh_database

AXIS = Path(sys.executable).with_name("axis")
#: Seconds one CLI call may take.
CALL_TIMEOUT = 90


@dataclass
class Axis:
    """The running server and the environment every CLI call shares with it."""

    url: str
    home: Path
    database_url: str
    env: dict[str, str]

    def run(self, *args: str | Path, env: Mapping[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``axis ARGS`` in a subprocess; with ``check``, fail the test on a non-zero exit."""
        proc = subprocess.run(
            [str(AXIS), *map(str, args)], env={**self.env, **(env or {})}, capture_output=True, text=True,
            timeout=CALL_TIMEOUT, cwd=self.home,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"axis {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args: str | Path, env: Mapping[str, str] | None = None) -> Any:
        """Run ``axis ARGS`` and parse its standard output as JSON."""
        return json.loads(self.run(*args, env=env).stdout)


class PortTaken(Exception):
    """The server could not bind its port: someone took it between choosing and binding."""


def _check_alive(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is not None:
        text = log.read_text(errors="replace")
        if "address already in use" in text.lower():
            raise PortTaken(text)
        pytest.fail(f"axis serve exited {proc.returncode}:\n{text}")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc, log)
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    # Still ours? A process that lost the port race exits right after start-up.
                    time.sleep(0.3)
                    _check_alive(proc, log)
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    pytest.fail(f"axis serve did not become healthy in {timeout} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
async def axis_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Axis]:
    """`axis serve` on a free loopback port, its AXIS_HOME and a fresh migrated database."""
    root = tmp_path_factory.mktemp("cli")
    home = root / "home"
    async with fresh_database(root) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
        env.update(AXIS_HOME=str(home), AXIS_DATABASE_URL=url, PYTHONUNBUFFERED="1")
        home.mkdir()
        await asyncio.to_thread(upgrade, url)  # `axis serve` migrates only the embedded SQLite
        log = root / "serve.log"
        for attempt in range(3):
            port = free_port()
            axis = Axis(f"http://127.0.0.1:{port}", home, url, env)
            with log.open("wb") as out:
                proc = subprocess.Popen([str(AXIS), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                        env=env, stdout=out, stderr=subprocess.STDOUT, cwd=home)
            try:
                _wait_healthy(axis.url, proc, log)
                break
            except PortTaken:
                _stop(proc)
                if attempt == 2:
                    raise
            except BaseException:
                _stop(proc)
                raise
        try:
            yield axis
        finally:
            _stop(proc)
