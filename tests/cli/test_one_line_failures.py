"""Failures a person causes end in one line naming what to do, with an exit code of their own; --debug keeps the traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

AXIS = str(Path(sys.executable).with_name("axis"))


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the axis CLI as a user would."""
    return subprocess.run([AXIS, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd)


def one_line(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The failure is exactly one line on stderr, with ``code`` and every word in it."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")} | {"AXIS_HOME": str(tmp_path / "home")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(("url", "words"), [
    (f"postgresql+asyncpg://postgres@127.0.0.1:{_free_port()}/axis", ["cannot be reached", "AXIS_DATABASE_URL"]),
    ("postgres://postgres@127.0.0.1:5432/postgres", ["postgresql+asyncpg://"]),
    ("sqlite+aiosqlite:////proc/no-such-folder/axis.db", ["SQLite", "writable"]),
])
@pytest.mark.parametrize("command", [["agency", "list"], ["user", "list"], ["serve", "--port", "0"]])
def test_a_bad_database_url_is_one_line(env: dict[str, str], url: str, words: list[str], command: list[str]) -> None:
    done = run(env | {"AXIS_DATABASE_URL": url}, *command)
    one_line(done, 3, *words)


def test_a_missing_postgresql_database_is_one_line(env: dict[str, str]) -> None:
    done = run(env | {"AXIS_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/no_such_axis_db"},
               "agency", "list")
    if "cannot be reached" in done.stderr:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    one_line(done, 3, "does not exist", "createdb")


def test_debug_keeps_the_traceback(env: dict[str, str]) -> None:
    done = run(env | {"AXIS_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres"}, "--debug", "agency", "list")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_a_file_that_is_not_a_certificate_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("ghi chú, không phải chứng thư\n")
    one_line(run(env, "envelope", "verify", "--cert", str(note), str(note)), 4, "certificate", "PEM")


def test_a_second_server_on_a_busy_port_is_one_line(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as a multi-process axis holds it
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run(env, "serve", "--host", "127.0.0.1", "--port", str(port))
    one_line(done, 5, f"port {port}", "--port")
    assert "serving on" not in done.stdout


def test_from_another_folder_nothing_is_created_and_the_line_says_where_it_looked(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
    for command in (["agency", "list"], ["keys", "issue", "000.00.00.G22", "--out", str(tmp_path / "out")]):
        done = run(bare, *command, cwd=elsewhere)
        one_line(done, 1, str(elsewhere / "var"), "AXIS_HOME")
    assert list(elsewhere.iterdir()) == []
