"""`python -m axis.bench.soak`: a real `axis serve` under a steady rate of pushed documents, minute by minute.

Does the axis slow down or grow with the age of its process? The soak starts a server on a scratch
database as `axis bench` does, and a separate load process (`axis.bench.soak_load`) sends signed
documents at a fixed rate (open loop) to an agency whose endpoint answers each push with its signed
01, while the sender's DMS long-polls its inbox for those receipts and acknowledges them. Each
interval it prints the server-side submit latency (from the server's own access log), the client's
(from the scheduled send time), the server's RSS, what was delivered and the errors. ``--burst``
then sends documents at the maximum rate, waits, and reports RSS before, after and after an idle.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from axis.bench.run import (
    BenchFailed,
    _identities,
    _stoppable,
    run_load_process,
    scratch,
    stop_server,
)
from axis.bench.server import (
    BenchDatabase,
    ServerProcess,
    free_port,
)
from axis.runtime import default_workers

#: The agencies documents are pushed to, in turn: each its own endpoint (port), so the per-endpoint share of
#: push slots (push_endpoint_concurrency) does not cap the rate as one endpoint would.
RECIPIENTS = ("push_to", "roundtrip_to", "submit_to", "large_push_to")
#: Intervals left out of the trend as warm-up (imports, caches, the pool filling, JIT-less Python warming).
WARM_UP = 1
#: Intervals whose median p99 is compared at each end of the run (a single minute's p99 is a handful of requests).
TREND_WINDOW = 5


@dataclass(frozen=True)
class SoakOptions:
    """What the soak was asked to do."""

    database_url: str | None
    minutes: int
    rate: float = 50.0
    interval_seconds: float = 60.0
    workers: int = 1
    doc_kb: float = 3.0
    burst: int = 0
    burst_concurrency: int = 32
    idle_seconds: float = 60.0
    tracemalloc: Path | None = None
    pg_stat_statements: bool = False
    profile: Path | None = None
    workdir: Path | None = None
    keep: bool = False


def _say(message: str) -> None:
    click.echo(f"[soak] {message}", err=True)


async def _statements_available(db: BenchDatabase) -> str | None:
    """None when pg_stat_statements can be read in ``db`` (created there if need be), else why not."""
    if db.backend != "postgresql":
        return "pg_stat_statements is PostgreSQL's"
    import asyncpg

    conn = await asyncpg.connect(_dsn(db))
    try:
        preload = await conn.fetchval("SHOW shared_preload_libraries")
        if "pg_stat_statements" not in preload:
            return (f"pg_stat_statements is not in shared_preload_libraries ({preload or 'empty'}); "
                    "it needs a server restart to load, so the statement figures are skipped")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
    finally:
        await conn.close()
    return None


async def _register(url: str, parties: dict[str, dict[str, str]], ports: dict[str, int]) -> None:
    """Register the agencies (tokens go into ``parties``); each recipient pushed to on its own port."""
    from storage.db import create_engine, session_factory
    from storage.registry.agencies import register_agency

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            for role, p in parties.items():
                endpoint = f"http://127.0.0.1:{ports[role]}/edxml" if role in ports else None
                reg = await register_agency(session, p["code"], p["name"], certificate=Path(p["cert"]).read_bytes(),
                                            endpoint_url=endpoint, actor="soak", allow_http_endpoint=True)
                p["token"] = reg.token
    finally:
        await engine.dispose()


def _dsn(db: BenchDatabase) -> str:
    from sqlalchemy.engine import make_url

    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_soak(options: SoakOptions) -> dict[str, Any]:
    """Database, agencies, server, the load process; every process stopped and reaped before it returns."""
    with _stoppable():
        return _run_soak(options)


def _run_soak(options: SoakOptions) -> dict[str, Any]:
    started = time.perf_counter()
    with scratch("axis-soak-", options.database_url, options.workdir, options.keep, _say) as run:
        db, workdir = run.db, run.workdir
        notes: list[str] = []
        statements = options.pg_stat_statements
        if statements and (why := asyncio.run(_statements_available(db))):
            notes.append(why)
            statements = False
        parties = _identities(workdir / "agents")
        ports = {role: free_port() for role in RECIPIENTS}
        asyncio.run(_register(db.url, parties, ports))
        env = {}
        if options.tracemalloc:
            options.tracemalloc.mkdir(parents=True, exist_ok=True)
            env["AXIS_TRACEMALLOC"] = str(options.tracemalloc.resolve())
            env["AXIS_TRACEMALLOC_SECONDS"] = f"{options.interval_seconds:g}"
        server = run.server = ServerProcess(run.home, db.url, workdir / "server.log", workers=options.workers,
                                            extra_env=env)
        server.start()
        server.wait_ready()
        _say(f"axis serve pid {server.pid} on {server.url}, {options.workers} process(es)")
        spec = {
            "server_url": server.url, "server_pid": server.pid, "server_log": str(server.log_path),
            "receiver_ports": ports, "parties": parties, "rate": options.rate,
            "minutes": options.minutes, "interval_seconds": options.interval_seconds, "doc_kb": options.doc_kb,
            "burst": options.burst, "burst_concurrency": options.burst_concurrency,
            "idle_seconds": options.idle_seconds, "message_timeout": 120.0,
            "pg_stat_statements": statements, "database_dsn": _dsn(db) if db.backend == "postgresql" else None,
        }
        result = _run_load(options, workdir, server, spec)
        notes += stop_server(server, options.keep)
        out: dict[str, Any] = {
            "database": run.db_version, "workers": options.workers, "rate_per_s": options.rate,
            "interval_s": options.interval_seconds, "latency_source": (
                "server: the server's access-log time of each accepted POST /api/v1/documents; client: from "
                "each document's scheduled send time to its 202, in a separate load process"),
            **result, "trend": trend(result["minutes"]), "elapsed_s": round(time.perf_counter() - started, 1),
            "notes": notes + result.pop("notes", []),
        }
        if options.tracemalloc:
            out["tracemalloc_files"] = sorted(str(p) for p in options.tracemalloc.glob("tracemalloc-*.txt"))
        return out


def _run_load(options: SoakOptions, workdir: Path, server: ServerProcess, spec: dict[str, Any]) -> dict[str, Any]:
    timeout = (600.0 + options.minutes * options.interval_seconds * 1.5
               + (options.idle_seconds + 300.0 if options.burst else 0.0))
    return run_load_process("axis.bench.soak_load", spec, workdir / "soak-spec.json", server, timeout,
                            what="the soak's load process", profile=options.profile,
                            subprocesses=options.workers > 1)


def trend(minutes: list[dict[str, Any]]) -> dict[str, Any]:
    """Last against first, after the warm-up: median p99 of the first and last windows, RSS growth.

    A single interval's p99 at 50/s rests on its 30 slowest requests, and one noisy minute on a
    shared machine moves it by half; the median over ``TREND_WINDOW`` intervals at each end keeps a
    growing trend and drops a lone spike.
    """
    steady = minutes[WARM_UP:] if len(minutes) > WARM_UP + 1 else minutes
    window = max(1, min(TREND_WINDOW, len(steady) // 2))
    out: dict[str, Any] = {"warm_up_intervals": len(minutes) - len(steady), "window_intervals": window}
    for key in ("server_p99_ms", "client_p99_ms", "server_p50_ms", "server_cpu_ms_per_doc"):
        first = [m[key] for m in steady[:window] if m.get(key) is not None]
        last = [m[key] for m in steady[-window:] if m.get(key) is not None]
        if first and last:
            a, b = statistics.median(first), statistics.median(last)
            out[key] = {"first": round(a, 2), "last": round(b, 2), "ratio": round(b / a, 3) if a else None}
    if steady:
        a, b = steady[0]["rss_mb"], steady[-1]["rss_mb"]
        out["rss_mb"] = {"first": a, "last": b, "growth": round(b / a - 1, 4) if a else None}
    return out


def render_text(result: dict[str, Any]) -> str:
    """The per-interval table, the trend, the burst."""
    lines = [f"axis soak — {result['database']}, {result['workers']} server process(es), "
             f"{result['rate_per_s']:g}/s open loop, intervals of {result['interval_s']:g} s",
             "server = access-log time of each accepted submit; client = from the scheduled send time "
             "(separate process); e2e = to the sender seeing the pushed 01; cpu ms = server CPU per document sent", ""]
    header = (f"{'min':>4}{'sent':>7}{'srv p50':>9}{'srv p99':>9}{'cli p50':>9}{'cli p99':>9}{'e2e p99':>9}"
              f"{'RSS MB':>9}{'cpu ms':>8}{'delivered':>10}{'errors':>7}{'late':>6}")
    lines += [header, "-" * len(header)]
    for m in result["minutes"]:
        lines.append(f"{m['minute']:>4}{m['sent']:>7}{_f(m['server_p50_ms']):>9}{_f(m['server_p99_ms']):>9}"
                     f"{_f(m['client_p50_ms']):>9}{_f(m['client_p99_ms']):>9}{_f(m['end_to_end_p99_ms']):>9}"
                     f"{m['rss_mb']:>9.1f}{_f(m.get('server_cpu_ms_per_doc')):>8}{m['delivered']:>10}{m['errors']:>7}"
                     f"{m['late_sends']:>6}")
    t = result["trend"]
    for key in ("server_p99_ms", "client_p99_ms", "server_cpu_ms_per_doc"):
        if key in t:
            lines.append(f"{key}: median of the first {t['window_intervals']} intervals after "
                         f"{t['warm_up_intervals']} of warm-up {t[key]['first']} ms, of the last "
                         f"{t[key]['last']} ms (× {t[key]['ratio']})")
    if "rss_mb" in t:
        growth = t["rss_mb"]["growth"]
        lines.append(f"RSS after warm-up {t['rss_mb']['first']} MB, at the end {t['rss_mb']['last']} MB "
                     f"({'-' if growth is None else f'{growth * 100:+.1f} %'})")
    burst = result.get("burst")
    if burst:
        lines.append(f"burst: {burst['delivered']}/{burst['count']} delivered in {burst['seconds']} s "
                     f"({burst['per_s']}/s, server p99 {burst['server_p99_ms']} ms); RSS {burst['baseline_rss_mb']} MB "
                     f"before, {burst['after_burst_rss_mb']} MB after, {burst['after_idle_rss_mb']} MB after "
                     f"{burst['idle_seconds']:g} s idle")
    for s in result.get("statements", []):
        lines.append(f"statement {s['mean_ms_first']} → {s['mean_ms_last']} ms/call, "
                     f"{s['calls_first']} → {s['calls_last']} calls: {s['query'][:120]}")
    for path in result.get("tracemalloc_files", []):
        lines.append(f"tracemalloc: {path}")
    lines.append(f"delivered after the last interval: {result.get('delivered_after_intervals')}; undelivered at "
                 f"the end: {result.get('undelivered_at_end')}; endpoint {result.get('endpoint')}")
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


@click.command("soak")
@click.option("--database-url", help="PostgreSQL server URL (a scratch database is created there and dropped) "
                                     "or a SQLite URL; default: a fresh SQLite file.")
@click.option("--minutes", type=click.IntRange(min=1), default=10, show_default=True, help="Intervals to run.")
@click.option("--rate", type=click.FloatRange(min=0.1), default=50.0, show_default=True,
              help="Documents per second, sent on a fixed schedule whatever the answers take.")
@click.option("--interval", "interval_seconds", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds per reported interval (a 'minute').")
@click.option("--workers", type=click.IntRange(1, 64), help="`axis serve --workers N` (default as serve).")
@click.option("--doc-kb", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Attachment size of each document, KB.")
@click.option("--burst", type=click.IntRange(min=0), default=0, show_default=True,
              help="After the steady phase, send this many documents at the maximum rate, then idle.")
@click.option("--idle-seconds", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Idle time after the burst before RSS is read again.")
@click.option("--tracemalloc", type=click.Path(file_okay=False, path_type=Path),
              help="Start the server with AXIS_TRACEMALLOC=DIR: each process writes its allocation growth "
                   "every interval to DIR/tracemalloc-PID.txt (slows the server: compare trends only).")
@click.option("--pg-stat-statements", is_flag=True,
              help="Report the statements whose mean time grows (needs pg_stat_statements preloaded).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=Path), help="py-spy record into this file.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", is_flag=True, help="Keep the work directory and the scratch database.")
@click.option("--json", "as_json", is_flag=True, help="End with one line of JSON holding the figures.")
def main(database_url: str | None, minutes: int, rate: float, interval_seconds: float, workers: int | None,
         doc_kb: float, burst: int, idle_seconds: float, tracemalloc: Path | None, pg_stat_statements: bool,
         profile: Path | None, workdir: Path | None, keep: bool, as_json: bool) -> None:
    """Soak a real `axis serve` at a steady rate and print its latency and memory per interval."""
    if workers is None:
        workers = default_workers(database_url or "sqlite://")
    options = SoakOptions(database_url, minutes, rate, interval_seconds, workers, doc_kb, burst,
                          idle_seconds=idle_seconds, tracemalloc=tracemalloc, pg_stat_statements=pg_stat_statements,
                          profile=profile, workdir=workdir, keep=keep)
    try:
        result = run_soak(options)
    except BenchFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(render_text(result))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
