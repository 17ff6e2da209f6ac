"""The server under test: `axis serve` in a subprocess on a fresh database, and what it costs."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: The command that runs the axis CLI with this interpreter (no console script needed).
AXIS_COMMAND = (sys.executable, "-c", "from axis.cli import main; main()")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ProcessSample:
    """CPU time used so far and memory of a server's process tree."""

    cpu_seconds: float
    rss_mb: float
    #: Sum of each process's own peak (VmHWM): an upper bound, as the peaks need not coincide.
    peak_rss_mb: float
    #: The processes measured: the server first, then its descendants.
    pids: tuple[int, ...] = ()
    #: CPU seconds of each of ``pids``, in the same order.
    cpu_seconds_each: tuple[float, ...] = ()


def _stat_fields(pid: int) -> list[bytes]:
    # Fields after the command name (which may contain spaces): state is field 3, ppid 4, utime 14.
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rsplit(b")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _cpu_seconds_with_reaped(pid: int) -> float:
    # utime + stime, plus cutime + cstime: children the process has already waited for. A worker
    # that exits mid-phase then moves its CPU into its parent's figure instead of dropping out.
    fields = _stat_fields(pid)
    return sum(int(v) for v in fields[11:15]) / _CLOCK_TICKS


def _status_kb(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def _children_by_parent() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry))[1])
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        out.setdefault(ppid, []).append(int(entry))
    return out


def descendants(pid: int) -> list[int]:
    """Pids of every live descendant of ``pid`` (children first)."""
    try:
        task_dirs = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    if os.path.exists(f"/proc/{pid}/task/{task_dirs[0]}/children"):
        def children(parent: int) -> list[int]:
            found: list[int] = []
            with contextlib.suppress(OSError):
                for tid in os.listdir(f"/proc/{parent}/task"):
                    with contextlib.suppress(OSError), open(f"/proc/{parent}/task/{tid}/children") as fh:
                        found += [int(c) for c in fh.read().split()]
            return found
    else:
        # Kernels without CONFIG_PROC_CHILDREN: one scan of every process's parent.
        by_parent = _children_by_parent()

        def children(parent: int) -> list[int]:
            return by_parent.get(parent, [])
    out: list[int] = []
    queue = children(pid)
    while queue:
        child = queue.pop(0)
        if child not in out:
            out.append(child)
            queue += children(child)
    return out


class ProcessStats:
    """Reads the CPU time (all threads) and memory of a process and its descendants from /proc.

    `axis serve --workers N` is a parent serving requests and N - 1 child processes doing the
    same; the server's cost is the whole tree's. The tree is looked up again at each call, so
    workers started after this object are counted.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def pids(self) -> list[int]:
        """The server's pid, then its live descendants'."""
        return [self.pid, *descendants(self.pid)]

    def sample(self) -> ProcessSample:
        """CPU seconds so far, current RSS and summed peak RSS (VmHWM) in MB; ProcessLookupError once it exited."""
        if _stat_fields(self.pid)[0] in (b"Z", b"X"):
            raise ProcessLookupError(f"process {self.pid} has exited")
        rss_kb = peak_kb = 0.0
        seen: list[int] = []
        each: list[float] = []
        for pid in self.pids():
            try:
                cpu_pid = _cpu_seconds_with_reaped(pid)
                rss_pid, peak_pid = _status_kb(pid, "VmRSS"), _status_kb(pid, "VmHWM")
            except (OSError, IndexError, ValueError):
                if pid == self.pid:
                    raise
                continue  # a descendant that exited between the listing and the read
            each.append(cpu_pid)
            rss_kb += rss_pid
            peak_kb += peak_pid
            seen.append(pid)
        return ProcessSample(cpu_seconds=sum(each), rss_mb=rss_kb / 1024, peak_rss_mb=peak_kb / 1024,
                             pids=tuple(seen), cpu_seconds_each=tuple(each))

    def reset_peak(self) -> bool:
        """Reset each process's VmHWM to its current RSS (Linux: write 5 to clear_refs); False if not allowed."""
        ok = True
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as fh:
                    fh.write("5")
            except FileNotFoundError:
                continue  # exited meanwhile
            except OSError:
                ok = False
        return ok


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine spent busy (not idle or waiting on I/O) since boot."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already counted in user time.
    return (sum(fields[:8]) - idle) / _CLOCK_TICKS


def own_cpu_seconds() -> float:
    """CPU seconds of the calling process (all its threads)."""
    return _cpu_seconds(os.getpid())


def database_backends(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``database`` on this machine, by pid."""
    out: dict[int, float] = {}
    marker = f" {database} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                # A backend's title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE".
                title = fh.read().replace(b"\0", b" ")
            if not title.startswith(b"postgres: ") or marker not in title:
                continue
            out[int(entry)] = _cpu_seconds(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return out


class DatabaseCpu:
    """CPU used by one database's backends over a phase, sampled twice a second in a thread.

    Backends come and go with the connection pool, so a before/after pair of sums would
    lose the CPU of every backend that exits in between.
    """

    def __init__(self, database: str | None, interval: float = 0.5) -> None:
        self.database = database
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        assert self.database is not None
        for pid, cpu in database_backends(self.database).items():
            self._first.setdefault(pid, cpu if not self._started else 0.0)
            self._last[pid] = cpu

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        """Take the first sample and keep sampling."""
        if not self.database:
            return
        self._started = False
        self._sample()
        self._started = True
        self._thread = threading.Thread(target=self._run, name="database-cpu", daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; CPU seconds the database's backends used since start."""
        if not self.database or self._thread is None:
            return 0.0
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(self._last[pid] - first for pid, first in self._first.items())


@dataclass
class BenchDatabase:
    """The database the server under test runs on, and whether the bench must drop it."""

    url: str
    backend: str
    #: Name of a PostgreSQL database this bench created (and drops at the end).
    created: str | None = None
    admin_dsn: str | None = None


async def provision_database(requested: str | None, home: Path) -> BenchDatabase:
    """A fresh database: a SQLite file under ``home``, or a new PostgreSQL database.

    A PostgreSQL URL naming the ``postgres`` maintenance database (or none) is taken
    as a server: the bench creates ``axis_bench_<random>`` there and drops it at the
    end. Any other PostgreSQL URL is used as it is (it should be empty) and kept.
    """
    if not requested:
        return BenchDatabase(f"sqlite+aiosqlite:///{(home / 'axis.db').resolve()}", "sqlite")
    url = make_url(requested)
    if url.get_backend_name() == "sqlite":
        return BenchDatabase(requested, "sqlite")
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")
    if url.drivername != "postgresql+asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    if url.database not in (None, "", "postgres"):
        return BenchDatabase(url.render_as_string(hide_password=False), "postgresql")
    import asyncpg

    name = f"axis_bench_{secrets.token_hex(5)}"
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return BenchDatabase(url.set(database=name).render_as_string(hide_password=False), "postgresql",
                         created=name, admin_dsn=admin_dsn)


async def drop_database(db: BenchDatabase) -> None:
    """Drop the PostgreSQL database this bench created, if any."""
    if not db.created or not db.admin_dsn:
        return
    import asyncpg

    conn = await asyncpg.connect(db.admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{db.created}" WITH (FORCE)')
    finally:
        await conn.close()


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group ``pgid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry))
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            out.append(int(entry))
    return out


def kill_group(pgid: int, timeout: float = 10.0) -> None:
    """SIGKILL every process of group ``pgid`` and wait (up to ``timeout``) until none is left alive."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        if not group_members(pgid) or time.monotonic() > deadline:
            return
        time.sleep(0.02)


class ServerProcess:
    """One `axis serve` subprocess (with ``workers`` processes) on its own AXIS_HOME, database and port.

    The bench and the multi-process tests share it: start, wait for /healthz, stop (SIGTERM,
    then SIGKILL), or kill -9 and start again on the same port. Restarts append to the log.
    """

    def __init__(self, home: Path, database_url: str, log_path: Path, port: int | None = None,
                 extra_env: dict[str, str] | None = None, *, workers: int = 1, name: str = "axis serve") -> None:
        self.home = home
        self.name = name
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "AXIS_HOME": str(home),
            "AXIS_DATABASE_URL": database_url,
            "AXIS_HOST": "127.0.0.1",
            "AXIS_PORT": str(self.port),
            # Its push receivers are plain-HTTP listeners on loopback, which the axis refuses unless listed.
            "AXIS_PUSH_ALLOW_HTTP": "1",
            "AXIS_PUSH_ALLOWED_NETWORKS": "127.0.0.0/8,::1",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    def start(self) -> None:
        """Spawn the server (output goes to the log file; a restart appends to it)."""
        self._close_log()
        self._log = self.log_path.open("ab" if self.starts else "wb")
        if self.starts:
            self._log.write(f"\n===== start {self.starts + 1} =====\n".encode())
            self._log.flush()
        self.process = subprocess.Popen(
            [*AXIS_COMMAND, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.home,
            # Its own process group, holding its workers too: one killpg reaches them all even after
            # the parent is gone, and a Ctrl-C at the terminal reaches the bench, which stops it.
            start_new_session=True,
        )
        self.starts += 1

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until /healthz answers 200; raise RuntimeError with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.process.returncode if self.process else None
                raise RuntimeError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            with contextlib.suppress(urllib.error.URLError, OSError):
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the server and its worker processes: no cleanup, no flushing, no goodbye."""
        assert self.alive(), f"{self.name} is not running"
        self._kill_tree()
        self.kills += 1
        self._close_log()

    def stop(self) -> int | None:
        """Terminate the server (SIGTERM, then SIGKILL); return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._kill_tree()
        # A worker the parent did not wait for (it timed out, or died first) is still in the group.
        kill_group(self.process.pid)
        self._close_log()
        return self.process.returncode

    def _kill_tree(self) -> None:
        assert self.process is not None
        # Children first, found while the parent lives: once it is gone they are orphans
        # nobody can find, still serving the port.
        for pid in reversed(descendants(self.process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        kill_group(self.process.pid)
        self.process.kill()
        self.process.wait(timeout=10)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
