"""Archivist and operator commands of the ``axis`` CLI: audit, fixity, retention, reports, registers, jobs.

They work on the local database and blob store (AXIS_HOME, AXIS_DATABASE_URL), like the
server does. Imported at the bottom of :mod:`axis.cli`, which owns the ``cli`` group.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from axis.archive.archivists import archivist
from axis.archive.audit_heads import verify_heads
from axis.archive.calendar import month_of, parse_month, shift_month, vn_date
from axis.archive.csv_export import csv_text
from axis.archive.destruction_certificates import verify_certificate
from axis.archive.disposal import (
    OPEN,
    DisposalResult,
    DisposalView,
    DueItem,
    approve_disposal,
    certificate_of,
    disposal_view,
    due_items,
    execute_disposal,
    list_disposals,
    propose_disposal,
    purge_disposed_payloads,
)
from axis.archive.errors import ArchiveError
from axis.archive.fixity import run_fixity
from axis.archive.head_log import HeadLogError, check_logs
from axis.archive.holds import SEARCH_KEYS, list_holds, place_hold, release_hold
from axis.archive.registers import register_columns, register_rows
from axis.archive.reports import COLUMNS, compute_month, computed_at, monthly_report
from axis.archive.schedules import RetentionInfo, load_schedules, retention_of
from axis.archive.sealing import seal_now
from axis.cli.common import echo_fields, echo_json, echo_table, emit, json_option, settings_of
from axis.context import AxisContext, build_context
from axis.jobs.archive import audit_head_job
from axis.runtime import prepare_home
from axis.wording import counted
from envelope.codes import VN_TZ
from signing.keys import fingerprint
from storage.audit import verify_chain

T = TypeVar("T")


def _with_context(click_ctx: click.Context, work: Callable[[AxisContext], Awaitable[T]]) -> T:
    """Run ``work`` with a full axis context (database, blobs, axis key); archive refusals exit 1."""
    settings = settings_of(click_ctx)
    prepare_home(settings)

    async def main() -> T:
        ctx = await asyncio.to_thread(build_context, settings)
        try:
            return await work(ctx)
        finally:
            await ctx.engine.dispose()

    try:
        return asyncio.run(main())
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None


def _as_option(required: bool = True) -> Callable[..., Any]:
    return click.option("--as", "login", required=required, metavar="LOGIN",
                        help="Your login: an archivist user (see `axis user add`).")


# --- audit -------------------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify")
@click.option("--head-log", "head_logs", multiple=True, type=click.Path(path_type=Path), metavar="PATH",
              help="A head log to check the database against (repeat for each node's); "
                   "default: the audit_head_log setting.")
@click.pass_context
def audit_verify(ctx: click.Context, head_logs: tuple[Path, ...]) -> None:
    """Walk the audit chain, the signed heads and the head log; exit 1 naming the first bad entry or head."""
    settings = settings_of(ctx)
    logs = list(head_logs) or [settings.audit_head_log_path]

    async def work(actx: AxisContext) -> tuple[int, Any, Any, Any]:
        await seal_now(actx.sessions)  # entries still queued join the chain first
        async with actx.sessions() as session:
            checked, problem = await verify_chain(session)
            present = [p for p in logs if p.exists()]
            current = actx.axis_certificate
            own = frozenset({fingerprint(current), *settings.axis_retired_certificates})
            anchored = await check_logs(session, present, own,
                                        timedelta(seconds=2 * settings.audit_head_interval_seconds))
            heads = (await verify_heads(session, actx.axis_certificate, anchored.certificates)
                     if problem is None else None)
        missing = [p for p in logs if not p.exists()]
        return checked, problem, heads, (anchored, missing)

    try:
        checked, problem, heads, (anchored, missing) = _with_context(ctx, work)
    except HeadLogError as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    if problem is not None:
        click.echo(f"FAIL: entry {problem.event_id}: {problem.reason} ({checked} entries before it are intact)",
                   err=True)
        sys.exit(1)
    if heads.problem is not None:
        click.echo(f"FAIL: entry {heads.problem.event_id}: {heads.problem.reason}", err=True)
        sys.exit(1)
    if anchored.problem is not None:
        # The log is outside the database: what it holds the database must still reproduce.
        click.echo(f"FAIL: {anchored.problem}", err=True)
        sys.exit(1)
    if missing and (head_logs or heads.checked):
        named = ", ".join(str(p) for p in missing)
        click.echo(f"FAIL: head log {named} not found: the {heads.checked} signed heads in the database are "
                   "not anchored outside it (pass --head-log with each node's log)", err=True)
        sys.exit(1)
    latest = (f"; latest signed head: entry {heads.latest_event_id} at {heads.latest_signed_at.isoformat()}"
              if heads.latest_event_id is not None else "; no signed head yet (run: axis audit sign-head)")
    click.echo(f"OK: {checked} entries, chain intact; {heads.checked} signed heads verified{latest}; "
               f"{anchored.checked} heads in {len(logs)} head log(s) reproduced by the database")


@audit.command("sign-head")
@click.pass_context
def audit_sign_head(ctx: click.Context) -> None:
    """Sign the current chain head with the axis key now (the scheduler does it periodically), and log it."""

    try:
        # The scheduler's own job: one way to sign and log a head.
        click.echo(_with_context(ctx, audit_head_job))
    except HeadLogError as exc:
        raise click.ClickException(str(exc)) from None


# --- fixity ------------------------------------------------------------------------------------------


@click.group()
def fixity() -> None:
    """Fixity of the stored blobs."""


class _Progress:
    """A click progress bar on the terminal only; silent when output is piped or captured."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, total: int) -> None:
        """Open the bar once the number of blobs is known."""
        if sys.stdout.isatty() and total:
            self.bar = click.progressbar(length=total, label="re-hashing blobs", show_pos=True)
            self.bar.__enter__()

    def advance(self, n: int) -> None:
        """Count ``n`` more blobs done."""
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@fixity.command("check")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), metavar="DAYS",
              help="Only blobs not checked for DAYS days (or never); default: every blob.")
@click.option("--limit", type=click.IntRange(min=1), help="Check at most this many blobs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def fixity_check(ctx: click.Context, older_than: float | None, limit: int | None, as_json: bool) -> None:
    """Re-hash stored blobs, record each outcome, print a summary; exit 1 on any failure."""
    progress = _Progress()

    async def work(actx: AxisContext) -> Any:
        try:
            return await run_fixity(actx.sessions, actx.payloads, now=actx.clock(), older_than_days=older_than,
                                    stale_days=actx.settings.fixity_max_age_days, limit=limit, actor="cli",
                                    progress=progress.advance, on_selected=progress.start)
        finally:
            progress.finish()

    report = _with_context(ctx, work)
    if as_json:
        echo_json({"checked": report.checked, "passed": report.passed, "failed": report.failed,
                    "not_checked": report.not_checked, "not_checked_days": report.stale_days,
                    "failures": [{"sha256": s, "outcome": o.value} for s, o in report.failures]})
    else:
        click.echo(f"checked {report.checked}")
        click.echo(f"passed {report.passed}")
        click.echo(f"failed {report.failed}")
        click.echo(f"not checked for {report.stale_days} days {report.not_checked}")
        for sha, outcome in report.failures:
            click.echo(f"FAILED {outcome.value:<8} {sha}", err=True)
    if not report.ok:
        sys.exit(1)


# --- retention ---------------------------------------------------------------------------------------


@click.group("retention")
def retention_group() -> None:
    """Retention schedules, legal holds and disposal (two archivists approve every disposal list)."""


@retention_group.command("schedules")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def retention_schedules(ctx: click.Context, as_json: bool) -> None:
    """List the retention schedules in force (config/retention.toml)."""
    try:
        schedules = load_schedules(settings_of(ctx).retention_path)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [{"code": s.code, "title": s.title, "legal_basis": s.legal_basis, "period": s.period_label,
             "trigger": s.trigger, "action": s.action, "types": list(s.types),
             "default": s.code == schedules.default_code} for s in schedules]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        mark = " (default)" if r["default"] else ""
        click.echo(f"{r['code']:<10} {r['period']:>9}  {r['trigger']:<18} {r['action']:<8} {r['title']}{mark}")


@retention_group.command("show")
@click.argument("message_id")
@json_option
@click.pass_context
def retention_show(ctx: click.Context, message_id: str, as_json: bool) -> None:
    """Show a document's schedule, due date, holds and disposal."""

    async def work(actx: AxisContext) -> RetentionInfo:
        schedules = load_schedules(actx.settings.retention_path)
        async with actx.sessions() as session:
            return await retention_of(session, message_id, schedules)

    info = _with_context(ctx, work)
    shown: dict[str, Any] = {
        "message_id": info.message_id, "schedule": info.schedule.code, "title": info.schedule.title,
        "legal_basis": info.schedule.legal_basis, "period": info.schedule.period_label,
        "trigger": info.schedule.trigger, "action": info.schedule.action,
        "due_date": info.due_date.isoformat() if info.due_date else None,
        "holds": list(info.holds), "disposed_at": info.disposed_at, "disposal_id": info.disposal_id,
    }
    period = "permanent" if shown["period"] == "permanent" else f"{shown['period']} years"
    emit(shown, as_json, lambda: echo_fields([
        ("message", shown["message_id"]), ("schedule", f"{shown['schedule']} — {shown['title']}"),
        ("legal basis", shown["legal_basis"]), ("period", f"{period} from {shown['trigger']}"),
        ("when due", shown["action"]), ("due date", shown["due_date"] or "none"),
        ("holds", ", ".join(shown["holds"]) or "none"),
        ("disposed", f"{shown['disposed_at']} (list {shown['disposal_id']})" if shown["disposed_at"] else "no"),
    ]))


def _print_due(items: list[DueItem], as_json: bool, as_of: date) -> None:
    if as_json:
        echo_json([{"message_id": i.message_id, "document_id": i.document_id, "sender": i.sender,
                     "subject": i.subject, "schedule": i.schedule_code, "action": i.action,
                     "due_date": i.due_date.isoformat(), "holds": list(i.holds), "disposal_id": i.disposal_id}
                    for i in items])
        return
    for i in items:
        state = f"HELD ({', '.join(i.holds)})" if i.holds else (f"on list {i.disposal_id}" if i.disposal_id else "")
        click.echo(f"{i.due_date}  {i.action:<8} {i.schedule_code:<10} {i.message_id}  {i.document_id}  {state}")
    destroy = [i for i in items if i.action == "destroy"]
    held = [i for i in destroy if i.holds]
    click.echo(f"{len(items)} due as of {as_of}: {len(destroy)} to destroy ({len(held)} held), "
               f"{len(items) - len(destroy)} to transfer or review")


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Only list what is due; change nothing.")
@_as_option(required=False)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="With --dry-run: list what will be due on this date.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with --dry-run).")
@click.pass_context
def retention_run(ctx: click.Context, dry_run: bool, login: str | None, as_of: Any, as_json: bool) -> None:
    """List what is due (--dry-run); or execute approved disposal lists and propose a new one."""
    if as_of is not None and not dry_run:
        raise click.UsageError("--as-of only goes with --dry-run: nothing is destroyed before it is due")
    if not dry_run and not login:
        raise click.UsageError("a real run needs --as LOGIN (an archivist)")

    async def dry(actx: AxisContext) -> tuple[list[DueItem], date]:
        schedules = load_schedules(actx.settings.retention_path)
        today = as_of.date() if as_of is not None else vn_date(actx.clock())
        async with actx.sessions() as session:
            return await due_items(session, schedules, today=today), today

    if dry_run:
        items, today = _with_context(ctx, dry)
        _print_due(items, as_json, today)
        return

    async def real(actx: AxisContext) -> list[str]:
        schedules = load_schedules(actx.settings.retention_path)
        lines: list[str] = []
        async with actx.sessions() as session:
            await archivist(session, login or "")
            lists = [(d, n, a) for d, n, a in await list_disposals(session) if d.state == OPEN]
        for disposal, count, approvals in sorted(lists, key=lambda x: x[0].id):
            if approvals < 2:
                lines.append(f"disposal list {disposal.id} ({count} documents): {approvals} of 2 approvals; "
                             f"not executed (axis retention approve {disposal.id} --as LOGIN)")
                continue
            result = await execute_disposal(
                actx.sessions, actx.payloads, disposal.id, schedules, key=actx.identity.key,
                certificate=actx.identity.certificate, now=actx.clock(), actor=login or "cli")
            lines.append(_result_line(result))
        async with actx.sessions() as session, session.begin():
            proposed = await propose_disposal(session, schedules, by=login or "",
                                              today=vn_date(actx.clock()), now=actx.clock())
            if proposed is not None:
                n = len((await disposal_view(session, proposed.id)).items)
                lines.append(f"disposal list {proposed.id} proposed with {n} documents; it needs approval by two "
                             f"different archivists: axis retention approve {proposed.id} --as LOGIN")
        async with actx.sessions() as session, session.begin():
            purged = await purge_disposed_payloads(session, actx.payloads)
        if purged:
            lines.append(f"{purged} payloads left over by an interrupted disposal deleted")
        return lines or ["nothing due for destruction"]

    for line in _with_context(ctx, real):
        click.echo(line)


def _result_line(result: DisposalResult) -> str:
    refused = ", ".join(f"{m} {why}" for m, why in result.refused.items())
    if result.state == "void":
        return f"disposal list {result.disposal_id}: nothing destroyed ({refused})"
    line = (f"disposal list {result.disposal_id} executed: {len(result.destroyed)} destroyed, certificate "
            f"{result.certificate_sha256} (axis retention certificate {result.disposal_id} -o FILE)")
    return line + (f"; left alone: {refused}" if refused else "")


@retention_group.command("approve")
@click.argument("list_id", type=int)
@_as_option()
@click.pass_context
def retention_approve(ctx: click.Context, list_id: int, login: str) -> None:
    """Approve a disposal list as archivist LOGIN (two different archivists are needed)."""

    async def work(actx: AxisContext) -> int:
        async with actx.sessions() as session, session.begin():
            return await approve_disposal(session, list_id, by=login, now=actx.clock())

    count = _with_context(ctx, work)
    more = "it can now be executed: axis retention run --as LOGIN" if count >= 2 else "one more archivist must approve"
    click.echo(f"disposal list {list_id}: {count} of 2 approvals; {more}")


@retention_group.command("execute")
@click.argument("list_id", type=int)
@_as_option()
@click.pass_context
def retention_execute(ctx: click.Context, list_id: int, login: str) -> None:
    """Execute one approved disposal list now (refused without two archivists' approvals)."""

    async def work(actx: AxisContext) -> DisposalResult:
        schedules = load_schedules(actx.settings.retention_path)
        async with actx.sessions() as session:
            await archivist(session, login)
        return await execute_disposal(actx.sessions, actx.payloads, list_id, schedules,
                                      key=actx.identity.key, certificate=actx.identity.certificate,
                                      now=actx.clock(), actor=login)

    click.echo(_result_line(_with_context(ctx, work)))


@retention_group.command("disposals")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def retention_disposals(ctx: click.Context, as_json: bool) -> None:
    """List disposal lists, newest first."""

    async def work(actx: AxisContext) -> list[dict[str, Any]]:
        async with actx.sessions() as session:
            return [{"id": d.id, "state": d.state, "documents": n, "approvals": a, "proposed_by": d.proposed_by,
                     "proposed_at": d.proposed_at.isoformat(),
                     "executed_at": d.executed_at.isoformat() if d.executed_at else None,
                     "certificate_sha256": d.certificate_sha256}
                    for d, n, a in await list_disposals(session)]

    rows = _with_context(ctx, work)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']:>5}  {r['state']:<9} {r['documents']:>6} documents  {r['approvals']} approvals  "
                   f"proposed by {r['proposed_by']} {r['proposed_at'][:19]}")


@retention_group.command("disposal")
@click.argument("list_id", type=int)
@json_option
@click.pass_context
def retention_disposal(ctx: click.Context, list_id: int, as_json: bool) -> None:
    """Show one disposal list: approvals and items with their outcome."""

    async def work(actx: AxisContext) -> DisposalView:
        async with actx.sessions() as session:
            return await disposal_view(session, list_id)

    view = _with_context(ctx, work)
    shown = {
        "id": view.id, "state": view.state, "proposed_by": view.proposed_by, "proposed_at": view.proposed_at,
        "executed_at": view.executed_at, "certificate_sha256": view.certificate_sha256,
        "approvals": [{"login": a.login, "agency": a.agency, "approved_at": a.approved_at} for a in view.approvals],
        "items": [{"message_id": m, "document_id": d, "sender": s, "schedule": sc,
                   "due_date": due.isoformat() if due else None, "outcome": o} for m, d, s, sc, due, o in view.items],
    }
    emit(shown, as_json, lambda: _print_disposal(shown))


def _print_disposal(shown: dict[str, Any]) -> None:
    click.echo(f"disposal list {shown['id']}: {shown['state']}, {counted(len(shown['items']), 'document')}, "
               f"{counted(len(shown['approvals']), 'approval')}; proposed by {shown['proposed_by']} "
               f"at {shown['proposed_at']}" + (f", executed at {shown['executed_at']}" if shown["executed_at"] else ""))
    echo_table(["approved by", "agency", "at"], [[a["login"], a["agency"], a["approved_at"]]
                                                  for a in shown["approvals"]], empty="no approvals yet")
    echo_table(["message", "document", "sender", "schedule", "due", "outcome"],
               [[i["message_id"], i["document_id"], i["sender"], i["schedule"], i["due_date"], i["outcome"]]
                for i in shown["items"]])


@retention_group.command("certificate")
@click.argument("list_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the signed XML here (default: standard output).")
@click.pass_context
def retention_certificate(ctx: click.Context, list_id: int, output: Path | None) -> None:
    """Download the signed destruction certificate of an executed disposal list (verified first)."""

    async def work(actx: AxisContext) -> tuple[bytes, int]:
        async with actx.sessions() as session:
            data = await certificate_of(session, actx.payloads, list_id)
        # Hand out only what still verifies with the axis certificate.
        return data, len(verify_certificate(data, actx.axis_certificate).items)

    data, items = _with_context(ctx, work)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    output.write_bytes(data)
    click.echo(f"{output}: destruction certificate of list {list_id}, {items} documents, signature verified")


@retention_group.group("hold")
def hold_group() -> None:
    """Legal holds: documents under an active hold are never disposed of."""


@hold_group.command("add")
@click.option("--name", required=True, help="Name of the hold (e.g. the case).")
@click.option("--authority", required=True, help="Who ordered it (court, inspectorate...).")
@click.option("--reason", required=True, help="Why.")
@click.option("--document", "documents", multiple=True, metavar="MESSAGE_ID", help="A document to hold (repeat).")
@click.option("--search", metavar="JSON",
              help='A saved search whose matches are held, now and later, e.g. \'{"sender": "000.00.00.G22", '
                   '"date_from": "2024-01-01"}\'. Keys: ' + ", ".join(SEARCH_KEYS) + ".")
@_as_option()
@click.pass_context
def hold_add(ctx: click.Context, name: str, authority: str, reason: str, documents: tuple[str, ...],
             search: str | None, login: str) -> None:
    """Place a legal hold on documents and/or a saved search."""
    try:
        query = json.loads(search) if search else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--search") from None
    if query is not None and not isinstance(query, dict):
        raise click.BadParameter("a JSON object", param_hint="--search")

    async def work(actx: AxisContext) -> int:
        async with actx.sessions() as session, session.begin():
            hold = await place_hold(session, name=name, authority=authority, reason=reason, by=login,
                                    now=actx.clock(), message_ids=documents, search=query)
            return hold.id

    click.echo(f"legal hold {_with_context(ctx, work)} placed")


@hold_group.command("release")
@click.argument("hold_id", type=int)
@_as_option()
@click.pass_context
def hold_release(ctx: click.Context, hold_id: int, login: str) -> None:
    """Ask for a legal hold's release, or confirm another archivist's request (two archivists release a hold)."""

    async def work(actx: AxisContext) -> bool:
        async with actx.sessions() as session, session.begin():
            return (await release_hold(session, hold_id, by=login, now=actx.clock())).released

    if _with_context(ctx, work):
        click.echo(f"legal hold {hold_id} released")
    else:
        click.echo(f"release of legal hold {hold_id} requested; it stays in force until a second archivist "
                   f"confirms: axis retention hold release {hold_id} --as LOGIN")


@hold_group.command("list")
@click.option("--all", "include_released", is_flag=True, help="Include released holds.")
@click.pass_context
def hold_list(ctx: click.Context, include_released: bool) -> None:
    """List legal holds (JSON)."""

    async def work(actx: AxisContext) -> list[dict[str, Any]]:
        async with actx.sessions() as session:
            return [{"id": h.id, "name": h.name, "authority": h.authority, "reason": h.reason,
                     "documents": n, "search": json.loads(h.query) if h.query else None,
                     "created_by": h.created_by, "created_at": h.created_at, "released_by": h.released_by,
                     "released_at": h.released_at, "release_requested_by": h.release_requested_by,
                     "release_requested_at": h.release_requested_at}
                    for h, n in await list_holds(session, include_released=include_released)]

    echo_json(_with_context(ctx, work))


# --- monthly report ----------------------------------------------------------------------------------


@click.group()
def report() -> None:
    """Throughput reports."""


@report.command("monthly")
@click.option("--month", metavar="YYYY-MM", help="Calendar month, Vietnam time (default: the last complete month).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="table for people; json or csv for machines.")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option("--agency", metavar="CODE", help="Only this agency's row.")
@click.option("--refresh", is_flag=True, help="Recompute the month's aggregates first.")
@click.pass_context
def report_monthly(ctx: click.Context, month: str | None, fmt: str, as_json: bool, agency: str | None,
                   refresh: bool) -> None:
    """One row per agency: sent, received, delivered, refused, failed, receipt times, bytes, disposed."""
    if month is not None:
        try:
            parse_month(month)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--month") from None
    fmt = "json" if as_json else fmt

    async def work(actx: AxisContext) -> tuple[str, list[dict[str, Any]], datetime | None]:
        # The last complete month by default: its figures no longer move.
        chosen = month or shift_month(month_of(actx.clock()), -1)
        async with actx.sessions() as session, session.begin():
            if refresh:
                await compute_month(session, chosen, now=actx.clock())
            rows = await monthly_report(session, chosen, agency_code=agency)
        async with actx.sessions() as session:
            # No stored row (no agency active, no traffic): the month was read just now.
            return chosen, rows, await computed_at(session, chosen) or actx.clock()

    month, rows, stamp = _with_context(ctx, work)
    if fmt == "csv":
        click.echo(csv_text(COLUMNS, rows), nl=False)
    elif fmt == "json":
        echo_json(rows)
    else:
        echo_table(["agency", *[c for c in COLUMNS if c not in ("agency", "month")]],
                   [[r["agency"], *[r[c] for c in COLUMNS if c not in ("agency", "month")]] for r in rows],
                   empty=f"no traffic in {month}")
        if stamp is not None:
            every = settings_of(ctx).report_interval_seconds / 60
            when = stamp.astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y")
            click.echo(f"{month} computed at {when} (Vietnam time); documents since then appear at the next "
                       f"recompute (every {every:g} minutes) or now with --refresh")


# --- statutory registers -----------------------------------------------------------------------------


@click.command("register")
@click.argument("direction", type=click.Choice(["incoming", "outgoing"]))
@click.option("--agency", required=True, metavar="CODE", help="The agency whose register it is.")
@click.option("--year", required=True, type=click.IntRange(1, 9999), help="Calendar year, Vietnam time.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.pass_context
def register(ctx: click.Context, direction: str, agency: str, year: int, fmt: str) -> None:
    """Export an agency's register of incoming or outgoing documents (Decree 30/2020, Appendix IV)."""

    async def work(actx: AxisContext) -> list[dict[str, Any]]:
        await seal_now(actx.sessions)  # the last moments' entries get their numbers first
        async with actx.sessions() as session:
            return await register_rows(session, agency, direction, year)

    rows = _with_context(ctx, work)
    if fmt == "csv":
        click.echo(csv_text(register_columns(direction), rows), nl=False)
    else:
        echo_json(rows)


# --- scheduled jobs ----------------------------------------------------------------------------------


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def jobs(ctx: click.Context, as_json: bool) -> None:
    """Scheduled jobs with their last run and outcome (`axis jobs run NAME` runs one now)."""
    if ctx.invoked_subcommand is not None:
        return
    from axis.jobs.scheduler import JOBS
    from storage.jobs import last_runs

    async def work(actx: AxisContext) -> list[dict[str, Any]]:
        async with actx.sessions() as session:
            runs = await last_runs(session)
        out = []
        for spec in sorted(JOBS.values(), key=lambda s: s.name):
            run = runs.get(spec.name)
            out.append({"job": spec.name, "every_s": spec.interval_for(actx.settings),
                        "description": spec.description,
                        "last_started": run.started_at.isoformat() if run else None,
                        "last_finished": run.finished_at.isoformat() if run and run.finished_at else None,
                        "outcome": run.outcome if run else "never", "node": run.node if run else None,
                        "detail": run.detail if run else ""})
        return out

    rows = _with_context(ctx, work)
    emit(rows, as_json, lambda: echo_table(
        ["job", "every", "outcome", "last started", "detail"],
        [[r["job"], f"{r['every_s']:.0f} s", r["outcome"], (r["last_started"] or "never run")[:19], r["detail"]]
         for r in rows]))


@jobs.command("run")
@click.argument("name")
@click.pass_context
def jobs_run(ctx: click.Context, name: str) -> None:
    """Run one job now (under its lease: skipped if another node is running it)."""
    from axis.jobs.runner import run_job
    from axis.jobs.scheduler import JOBS

    spec = JOBS.get(name)
    if spec is None:
        raise click.BadParameter(f"no job {name!r}; known: {', '.join(sorted(JOBS))}", param_hint="NAME")

    async def work(actx: AxisContext) -> str | None:
        return await run_job(actx, spec)

    try:
        summary = _with_context(ctx, work)
    except Exception as exc:  # noqa: BLE001 - recorded as the run's outcome; say why and fail
        raise click.ClickException(f"{name} failed: {type(exc).__name__}: {exc}") from None
    click.echo(f"{name}: {summary}" if summary is not None else f"{name}: skipped, another node holds its lease")
