"""`axis bench`: a real server, a separate load process, the figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from axis.bench import report
from axis.bench.server import (
    BenchDatabase,
    ProcessStats,
    ServerProcess,
    drop_database,
    free_port,
    kill_group,
    provision_database,
)

#: The simulated agencies, by the part each plays.
ROLES = {
    "sender": ("000.00.00.G22", "Văn phòng Chính phủ"),
    "submit_to": ("000.00.00.G14", "Bộ Tài chính"),
    "roundtrip_to": ("000.00.00.H29", "UBND Thành phố Hồ Chí Minh"),
    "push_to": ("000.00.00.H41", "UBND tỉnh Nghệ An"),
    "large_to": ("001.00.10.H47", "UBND huyện Duy Xuyên, tỉnh Quảng Nam"),
    "large_push_to": ("000.00.00.H47", "UBND tỉnh Quảng Nam"),
}
ALL_SCENARIOS = ("submit", "roundtrip", "push", "large")
DEFAULT_COUNTS = {"submit": 2000, "roundtrip": 1000, "push": 1000}


@dataclass(frozen=True)
class BenchOptions:
    """What `axis bench` was asked to do."""

    database_url: str | None
    scenarios: tuple[str, ...]
    counts: dict[str, int]
    concurrency: int
    doc_kb: float
    large_mb: float
    verify: bool
    half_rate: bool
    scale: int
    scale_samples: int
    max_seconds: float
    workdir: Path | None
    keep: bool
    profile: Path | None
    #: Processes of `axis serve --workers N`; its CPU and memory are measured over all of them.
    workers: int = 1
    #: Where the server keeps large payloads (its blob_backend setting): "filesystem" or "database".
    blob_backend: str = "filesystem"
    #: How the simulated DMSes pull: "batched" (pages with bytes, long-poll, batched acks and statuses)
    #: or "single" (one request per step per document).
    pull: str = "batched"


class BenchFailed(Exception):
    """The benchmark could not run (server did not start, load process crashed)."""


class BenchInterrupted(BaseException):
    """The bench received SIGTERM or SIGHUP: unwinds like Ctrl-C, so every process it started is stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


#: Signals that end a bench run early; each unwinds through the clean-up that stops its processes.
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupted(signum: int, frame: object) -> None:
    raise BenchInterrupted(signum)


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into an exception for the run's duration (Ctrl-C already is one)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; a caller elsewhere keeps its own
        return
    previous = {sig: signal.signal(sig, _interrupted) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Hold off SIGINT, SIGTERM and SIGHUP while processes are being stopped, so clean-up runs to its end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *_STOP_SIGNALS)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say(message: str) -> None:
    click.echo(f"[bench] {message}", err=True)


@dataclass
class Scratch:
    """What a bench or soak run stands on: a work folder, a migrated scratch database, later its server."""

    workdir: Path
    home: Path
    db: BenchDatabase
    db_version: str
    server: ServerProcess | None = None


@contextlib.contextmanager
def scratch(prefix: str, database_url: str | None, workdir: Path | None, keep: bool,
            say: Callable[[str], None] = _say) -> Iterator[Scratch]:
    """A migrated scratch database and work folder; on leaving, the server stopped and both removed (unless kept)."""
    folder = workdir or Path(tempfile.mkdtemp(prefix=prefix))
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    db: BenchDatabase | None = None
    run: Scratch | None = None
    try:
        db = asyncio.run(provision_database(database_url, home))
        from migrations.upgrade import upgrade

        upgrade(db.url)
        run = Scratch(folder, home, db, asyncio.run(_database_version(db.url)))
        say(f"fresh {run.db_version} database" + (f" {db.created}" if db.created else ""))
        yield run
    except (RuntimeError, OSError) as exc:
        raise BenchFailed(str(exc)) from exc
    finally:
        with _shielded():
            if run is not None and run.server is not None:
                run.server.stop()
            if db is not None and not keep:
                asyncio.run(drop_database(db))
            if not keep and workdir is None:
                shutil.rmtree(folder, ignore_errors=True)
            elif keep:
                say(f"kept {folder}" + (f" and database {db.created}" if db and db.created else ""))


def stop_server(server: ServerProcess, keep: bool) -> list[str]:
    """Stop the server; notes on what its log and exit code say went wrong."""
    notes = []
    exit_code = server.stop()
    tracebacks = server.log_path.read_text(errors="replace").count("Traceback")
    if tracebacks:
        notes.append(f"the server logged {tracebacks} traceback(s); see {server.log_path}"
                     + ("" if keep else " (use --keep to keep it)"))
    if exit_code not in (0, -signal.SIGTERM, None):
        notes.append(f"the server exited with {exit_code}")
    return notes


def machine() -> str:
    """CPU count and model, memory, Python version."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    return (f"{os.cpu_count()} CPU {model or platform.machine()}, {mem_kb / 2**20:.0f} GB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


async def _database_version(url: str) -> str:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if url.startswith("sqlite"):
                return "SQLite " + str((await conn.execute(text("select sqlite_version()"))).scalar_one())
            return "PostgreSQL " + str((await conn.execute(text("show server_version"))).scalar_one()).split()[0]
    finally:
        await engine.dispose()


def _identities(agents_dir: Path) -> dict[str, dict[str, str]]:
    """A development CA and one key and certificate per simulated agency, written as PEM files."""
    from signing.keys import DevelopmentCA, save_identity

    ca = DevelopmentCA.create(common_name="Axis Bench CA")
    out = {}
    for role, (code, name) in ROLES.items():
        key_path, cert_path = save_identity(agents_dir, code, ca.issue(name, organ_id=code, kind="rsa"))
        out[role] = {"code": code, "name": name, "key": str(key_path), "cert": str(cert_path)}
    return out


async def _register(url: str, parties: dict[str, dict[str, str]], receiver_port: int) -> dict[str, int]:
    """Register the simulated agencies with their certificates; tokens go into ``parties``."""
    from storage.db import create_engine, session_factory
    from storage.registry.agencies import register_agency

    engine = create_engine(url)
    ids = {}
    try:
        async with session_factory(engine)() as session, session.begin():
            for role, p in parties.items():
                endpoint = {"push_to": f"http://127.0.0.1:{receiver_port}/edxml",
                            "large_push_to": f"http://127.0.0.1:{receiver_port}/large"}.get(role)
                reg = await register_agency(session, p["code"], p["name"],
                                            certificate=Path(p["cert"]).read_bytes(), endpoint_url=endpoint,
                                            actor="bench", allow_http_endpoint=True)
                p["token"] = reg.token
                ids[role] = reg.agency.id
    finally:
        await engine.dispose()
    return ids


def _start_profiler(pid: int, out: Path, subprocesses: bool = False) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        _say("py-spy not found (pip install py-spy): no profile")
        return None
    fmt = {".svg": "flamegraph", ".json": "speedscope"}.get(out.suffix, "raw")
    _say(f"profiling the server with py-spy into {out}")
    command = [spy, "record", "--pid", str(pid), "--rate", "100", "--format", fmt, "-o", str(out)]
    return subprocess.Popen(command + (["--subprocesses"] if subprocesses else []),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Set up database, agencies and server; run the load process and the scale phase; tear down.

    Every process it starts (the server and its workers, the load process and its signers, the
    profiler) is stopped and reaped before it returns, also on Ctrl-C, SIGTERM, SIGHUP or a timeout.
    """
    with _stoppable():
        return _run_bench(options)


def _run_bench(options: BenchOptions) -> dict[str, Any]:
    started = time.perf_counter()
    with scratch("axis-bench-", options.database_url, options.workdir, options.keep) as run:
        db, workdir = run.db, run.workdir
        parties = _identities(workdir / "agents")
        receiver_port = free_port()
        agency_ids = asyncio.run(_register(db.url, parties, receiver_port))
        server = run.server = ServerProcess(run.home, db.url, workdir / "server.log", workers=options.workers,
                                            extra_env={"AXIS_BLOB_BACKEND": options.blob_backend})
        server.start()
        server.wait_ready()
        workers = ProcessStats(server.pid).pids()[1:]
        _say(f"axis serve pid {server.pid} on {server.url}" + (f", worker pids {' '.join(map(str, workers))}"
                                                               if workers else ""))
        notes: list[str] = []
        result: dict[str, Any] = {"scenarios": {}}
        if options.scenarios:
            result = _run_load(options, workdir, server, db, parties, receiver_port)
            notes += result.pop("notes", [])
        scale_result = None
        if options.scale:
            scale_result = _run_scale(options, server, db, parties, agency_ids)
        stats = ProcessStats(server.pid).sample() if server.alive() else None
        notes += stop_server(server, options.keep)
        out: dict[str, Any] = report.headline(result["scenarios"])
        out.update({
            "database": run.db_version,
            "concurrency": options.concurrency,
            "workers": options.workers,
            "blob_backend": options.blob_backend,
            "pull": options.pull,
            "machine": machine(),
            "verify": options.verify,
            "scenarios": result["scenarios"],
            "presign_s": result.get("presign_s"),
            "server_total_cpu_s": round(stats.cpu_seconds, 2) if stats else None,
            "server_peak_rss_mb_run": round(stats.peak_rss_mb, 1) if stats else None,
            # The server's processes (parent first) and each one's CPU over the run.
            "server_pids": list(stats.pids) if stats else None,
            "server_cpu_s_each": [round(c, 2) for c in stats.cpu_seconds_each] if stats else None,
            "elapsed_s": round(time.perf_counter() - started, 1),
            "notes": notes,
        })
        if scale_result is not None:
            out["scale"] = scale_result
        out["targets"] = report.targets(out)
        return out


def _run_load(options: BenchOptions, workdir: Path, server: ServerProcess, db: BenchDatabase,
              parties: dict[str, dict[str, str]], receiver_port: int) -> dict[str, Any]:
    """Run `python -m axis.bench.load` and read its figures."""
    spec = {
        "server_url": server.url,
        "server_pid": server.pid,
        "database_name": _database_name(db),
        "receiver_port": receiver_port,
        "workdir": str(workdir),
        "parties": parties,
        "scenarios": list(options.scenarios),
        "counts": options.counts,
        "concurrency": options.concurrency,
        "doc_kb": options.doc_kb,
        "large_mb": options.large_mb,
        "verify": options.verify,
        "half_rate": options.half_rate,
        "max_seconds": options.max_seconds,
        "pull": options.pull,
    }
    def signed() -> bool:
        return _signed(workdir, server)

    # Attach the profiler once signing is over, so the profile holds the scenarios only.
    return run_load_process("axis.bench.load", spec, workdir / "spec.json", server, load_timeout(options),
                            what="the load process", profile=options.profile, subprocesses=options.workers > 1,
                            profile_when=signed)


def run_load_process(module: str, spec: dict[str, Any], spec_path: Path, server: ServerProcess, timeout: float, *,
                     what: str, profile: Path | None = None, subprocesses: bool = False,
                     profile_when: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run ``python -m module SPEC RESULT`` in its own process group; its result, every process reaped.

    The profiler (if asked) attaches to the server once ``profile_when`` says so (at once without it).
    """
    result_path = spec_path.with_name(spec_path.name.replace("spec", "result"))
    spec_path.write_text(json.dumps(spec, ensure_ascii=False))
    profiler = None
    # Its own process group, with the signing processes it spawns: one killpg stops them all.
    load = subprocess.Popen([sys.executable, "-m", module, str(spec_path), str(result_path)],
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        if profile:
            while (profile_when is not None and load.poll() is None and not profile_when()
                   and time.monotonic() < deadline):
                time.sleep(0.2)
            profiler = _start_profiler(server.pid, profile, subprocesses=subprocesses)
        try:
            code = load.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise BenchFailed(f"{what} did not finish within {timeout:.0f} s; "
                              f"server log tail:\n{server.log_tail()}") from None
    finally:
        with _shielded():
            if load.poll() is None:
                load.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    load.wait(timeout=10)
            kill_group(load.pid)
            load.wait()
            _stop_profiler(profiler)
    if code != 0 or not result_path.exists():
        raise BenchFailed(f"{what} exited with {code}; server log tail:\n{server.log_tail()}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    return result


def load_timeout(options: BenchOptions) -> float:
    """How long the load process may run: signing, each scenario's time limit with room, the large document."""
    return 300.0 + 4 * options.max_seconds * max(1, len(options.scenarios)) + 10 * options.large_mb

def _database_name(db: BenchDatabase) -> str | None:
    """The PostgreSQL database name (its backends' CPU is measured), None on SQLite."""
    if db.backend != "postgresql":
        return None
    from sqlalchemy.engine import make_url

    return make_url(db.url).database


def _signed(workdir: Path, server: ServerProcess) -> bool:
    # The load process starts timing with the first request after signing; the server log tells.
    try:
        return "/api/v1/documents" in server.log_path.read_text(errors="replace")[-20000:]
    except OSError:
        return False


def _run_scale(options: BenchOptions, server: ServerProcess, db: BenchDatabase, parties: dict[str, dict[str, str]],
               agency_ids: dict[str, int]) -> dict[str, Any]:
    from axis.bench import scale

    queried = agency_ids["roundtrip_to"]
    _say(f"scale: loading {options.scale:,} synthetic messages")
    data = asyncio.run(scale.bulk_load(db.url, options.scale, queried))
    phases = ", ".join(f"{k} {v} s" for k, v in data.phases_s.items())
    _say(f"scale: {data.messages:,} messages in {data.load_s} s{f' ({phases})' if phases else ''}; timing queries")
    queries = asyncio.run(scale.measure(server.url, parties["roundtrip_to"]["token"], db.url, queried, data,
                                        options.scale_samples))
    waiting = asyncio.run(scale.waiting_count(db.url, queried))
    return scale.summary(data, queries, waiting)
