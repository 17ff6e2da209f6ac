"""``axis bench``: the built-in load benchmark's command line (the run itself is in ``axis.bench.run``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from axis.bench import report
from axis.bench.run import (
    ALL_SCENARIOS,
    DEFAULT_COUNTS,
    BenchFailed,
    BenchInterrupted,
    BenchOptions,
    run_bench,
)
from axis.runtime import default_workers


def _scenarios(value: str) -> tuple[str, ...]:
    if value.strip().lower() in ("", "none"):
        return ()
    names = tuple(dict.fromkeys(v.strip().lower() for v in value.split(",") if v.strip()))
    unknown = [n for n in names if n not in ALL_SCENARIOS]
    if unknown:
        raise click.BadParameter(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(ALL_SCENARIOS)}")
    return tuple(n for n in ALL_SCENARIOS if n in names)


@click.command("bench")
@click.option("--json", "as_json", is_flag=True, help="End with one line of JSON holding the figures.")
@click.option("--database-url",
              help="PostgreSQL server URL, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres (a fresh "
                   "database is created there and dropped); default: a fresh SQLite file.")
@click.option("--scenarios", "scenario_list", default=",".join(ALL_SCENARIOS), show_default=True,
              help="Comma-separated: submit, roundtrip, push, large (or 'none' with --scale).")
@click.option("--count", type=click.IntRange(min=1),
              help="Messages per scenario (default: 2000 submits, 1000 round trips, 1000 pushes).")
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True,
              help="Requests (or round trips) in flight.")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Run `axis serve --workers N` (default as serve: one per core on PostgreSQL, one on SQLite); "
                   "server CPU and peak RSS are summed over its processes.")
@click.option("--blob-backend", type=click.Choice(["filesystem", "database"]), default="filesystem",
              show_default=True, help="Where the server keeps large payloads (its blob_backend setting).")
@click.option("--pull", type=click.Choice(["batched", "single"]), default="batched", show_default=True,
              help="How the simulated DMSes pull: batched (inbox pages with the bytes, long-poll, acknowledgements "
                   "and statuses several per request) or single (one request per step per document).")
@click.option("--doc-kb", type=click.FloatRange(min=0), default=3.0, show_default=True,
              help="Attachment size of each document, KB (the signed envelope adds about 5.5 KB).")
@click.option("--large-mb", type=click.FloatRange(min=0.001), default=100.0, show_default=True,
              help="Attachment size of the large scenario's document, MB.")
@click.option("--max-seconds", type=click.FloatRange(min=1), default=40.0, show_default=True,
              help="Each scenario starts no new message after this long (keeps a run on a slow server bounded).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Recipients check each fetched or pushed document's XML signature (else only its digest).")
@click.option("--half-rate/--no-half-rate", default=True, show_default=True,
              help="After the submit maximum, measure latency in an open loop at half that rate.")
@click.option("--scale", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fill the archive with this many synthetic messages, then time inbox, trace, outbox, report.")
@click.option("--scale-samples", type=click.IntRange(min=1), default=50, show_default=True,
              help="Requests timed per query at scale.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the server's AXIS_HOME, keys and logs go (default: a temporary directory).")
@click.option("--keep", is_flag=True, help="Keep the work directory (and a PostgreSQL database the bench created).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=Path),
              help="Sample the server with py-spy during the scenarios into this file (.svg flame graph, "
                   ".json speedscope, anything else collapsed stacks).")
def bench(as_json: bool, database_url: str | None, scenario_list: str, count: int | None, concurrency: int,
          workers: int | None, doc_kb: float, large_mb: float, max_seconds: float, verify: bool, half_rate: bool,
          scale: int, scale_samples: int, workdir: Path | None, keep: bool, profile: Path | None,
          blob_backend: str = "filesystem", pull: str = "batched") -> None:
    """Built-in load benchmark: a real `axis serve`, driven over loopback HTTP from another process."""
    counts = {k: count or v for k, v in DEFAULT_COUNTS.items()}
    if workers is None:
        workers = default_workers(database_url or "sqlite://")
    options = BenchOptions(database_url, _scenarios(scenario_list), counts, concurrency, doc_kb, large_mb, verify,
                           half_rate, scale, scale_samples, max_seconds, workdir, keep, profile, workers,
                           blob_backend=blob_backend, pull=pull)
    if not options.scenarios and not scale:
        raise click.UsageError("nothing to do: give --scenarios or --scale")
    try:
        result = run_bench(options)
    except BenchFailed as exc:
        raise click.ClickException(str(exc)) from None
    except BenchInterrupted as exc:
        # Every process it started is stopped by now; exit as a process killed by that signal would.
        click.echo(f"axis bench: {exc}; its processes are stopped", err=True)
        raise SystemExit(128 + exc.signum) from None
    click.echo(report.render_text(result))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
