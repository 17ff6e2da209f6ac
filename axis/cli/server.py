"""``axis serve`` and ``axis db``: running the axis and its database schema."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import subprocess
import sys

import click

from axis.cli.common import redact, settings_of
from axis.cli.failures import EXIT_ADDRESS, EXIT_DATABASE, OneLine
from axis.wording import counted
from migrations.locks import DEFAULT_LOCK_TIMEOUT_SECONDS, DEFAULT_LOCK_WAIT_SECONDS, MigrationLockError
from migrations.upgrade import upgrade


@click.command()
@click.option("--host", help="Listen address (default from settings).")
@click.option("--port", type=int, help="Listen port (default from settings).")
@click.option("--workers", type=click.IntRange(1, 64),
              help="Processes sharing the port (default: one per core on PostgreSQL, one on SQLite). Database "
                   "claims and job leases keep them from doing the same work, exactly as with several nodes.")
@click.option("--reuse-port", is_flag=True, hidden=True)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, reuse_port: bool) -> None:
    """Run the API, the web UI, the delivery workers and the scheduler."""
    from aiohttp import web

    from axis.app import create_app
    from axis.logformat import configure_logging
    from axis.runtime import default_workers, prepare_home

    settings = settings_of(ctx)
    configure_logging(settings.log_format)
    host = host or settings.host
    port = port or settings.port
    if not reuse_port:
        _refuse_a_busy_port(host, port)
    prepare_home(settings)
    # The listen address decides settings that depend on it (Secure cookies unless on loopback).
    settings = dataclasses.replace(settings, host=host, port=port)
    if reuse_port:
        workers = 1  # a child of a parent that spreads the port over several processes
    elif workers is None:
        workers = default_workers(settings.resolved_database_url)
    # One Python process uses one core; more processes on one port (SO_REUSEPORT, the
    # kernel spreads connections) use the others.
    children = [
        subprocess.Popen([sys.executable, "-c", "from axis.cli import main; main()", "serve", "--host", host,
                          "--port", str(port), "--reuse-port"], preexec_fn=_die_with_parent)
        for _ in range(workers - 1)
    ]
    if not reuse_port:
        click.echo(f"axis serving on http://{host}:{port} ({counted(workers, 'process', 'processes')}); "
                   f"home {settings.home}, database {redact(settings.resolved_database_url)}")
    try:
        web.run_app(create_app(settings), host=host, port=port, access_log=None, print=None,
                    reuse_port=reuse_port or workers > 1)
    finally:
        _stop(children)


#: Seconds the workers get to finish their requests after the parent is told to stop.
STOP_GRACE_SECONDS = 30.0


def _die_with_parent() -> None:
    """In a worker before it runs: the kernel sends it SIGTERM when the parent dies, even by SIGKILL."""
    import ctypes
    import signal

    # Without this a killed parent leaves its workers serving the port, orphaned to init.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Ask every worker to stop, wait for them together, and kill those still running after the grace."""
    import time

    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _refuse_a_busy_port(host: str, port: int) -> None:
    """One line when another server holds the port, before anything starts or prints "serving on"."""
    import socket

    # A plain bind (no SO_REUSEPORT) fails even beside a server whose own processes share the port.
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return  # an address that does not resolve is aiohttp's to report
    for family, kind, proto, _, address in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise OneLine(f"address already in use: port {port} on {host} (is an axis already running?); "
                                  "stop it or choose another with --port", EXIT_ADDRESS) from None
                raise


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--lock-wait", type=click.FloatRange(min=0), default=DEFAULT_LOCK_WAIT_SECONDS, show_default=True,
              help="PostgreSQL: seconds to wait for another node's `axis db upgrade` to finish.")
@click.option("--lock-timeout", type=click.FloatRange(min=0.001), default=DEFAULT_LOCK_TIMEOUT_SECONDS,
              show_default=True, help="PostgreSQL: seconds one statement of a migration may wait for a table lock "
                                      "before the run gives up (instead of holding up requests behind it).")
@click.pass_context
def db_upgrade(ctx: click.Context, lock_wait: float, lock_timeout: float) -> None:
    """Apply pending migrations (one node at a time; a migration never queues requests behind it for long)."""
    settings = settings_of(ctx)
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.resolved_database_url, lock_wait=lock_wait, lock_timeout=lock_timeout)
    except MigrationLockError as exc:
        raise OneLine(str(exc), EXIT_DATABASE) from None
    click.echo(f"database at head ({redact(settings.resolved_database_url)})")
