"""The head log: every signed audit head also written outside the database, one JSON line each.

Signed heads kept only in the database can be deleted along with the entries they pin, and
the chain recomputed: nothing left in the database would disagree. The head log is an
append-only file (by default ``$AXIS_HOME/audit-heads.jsonl``; better, write-once storage)
that the database cannot rewrite; ``axis audit verify`` checks that the database still
reproduces every head in it. Each line carries the signed head and the certificate that
signed it, so a line stays checkable after the axis key is rotated or its certificate expires.

Line fields: ``seq`` (the head's id), ``event_id``, ``hash``, ``signed_at``,
``certificate_sha256``, ``signature`` (the signed head record, base64) and ``certificate``
(DER, base64).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.archive.audit_heads import head_certificate, verify_head_record
from signing.errors import SignatureError
from signing.keys import Certificate, fingerprint
from signing.receipt import format_utc
from storage.archive_models import AuditHead
from storage.models import AuditEvent

# The tail read to find the last line: a line is a few kilobytes.
_TAIL_BYTES = 64 * 1024


class HeadLogError(Exception):
    """The head log cannot be read or written."""


def head_line(head: AuditHead, certificate: Certificate) -> str:
    """One head as its log line (no newline)."""
    return json.dumps({
        "seq": head.id, "event_id": head.event_id, "hash": head.hash, "signed_at": format_utc(head.signed_at),
        "certificate_sha256": fingerprint(certificate),
        "signature": base64.b64encode(head.signed_xml).decode("ascii"),
        "certificate": base64.b64encode(certificate.public_bytes(Encoding.DER)).decode("ascii"),
    }, separators=(",", ":"))


@dataclass(frozen=True)
class LoggedHead:
    """A head as read back from a log line."""

    source: str  # "path:line"
    seq: int
    event_id: int
    hash: str
    signed_at: datetime
    signed_xml: bytes
    certificate: Certificate


def parse_line(text: str, source: str) -> LoggedHead:
    """Read one log line (HeadLogError naming ``source`` when it is not one)."""
    try:
        raw: dict[str, Any] = json.loads(text)
        certificate = x509.load_der_x509_certificate(base64.b64decode(raw["certificate"], validate=True))
        if fingerprint(certificate) != raw["certificate_sha256"]:
            raise ValueError("certificate does not match its fingerprint")
        return LoggedHead(
            source=source, seq=int(raw["seq"]), event_id=int(raw["event_id"]), hash=str(raw["hash"]),
            signed_at=datetime.fromisoformat(str(raw["signed_at"]).replace("Z", "+00:00")).astimezone(UTC),
            signed_xml=base64.b64decode(raw["signature"], validate=True), certificate=certificate,
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise HeadLogError(f"{source} is not a head log line: {exc}") from None


def read_log(path: Path) -> list[LoggedHead]:
    """Every head in a log file, in order."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HeadLogError(f"cannot read the head log {path}: {exc.strerror or exc}") from None
    return [parse_line(line, f"{path}:{n}") for n, line in enumerate(lines, 1) if line.strip()]


def last_seq(path: Path) -> int:  # kept for operators' scripts; anchoring no longer relies on it
    """The ``seq`` of the log's last line, 0 when the log is empty or missing."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return 0
    lines = [line for line in tail.splitlines() if line.strip()]
    return parse_line(lines[-1], f"{path} (last line)").seq if lines else 0


def append_lines(path: Path, lines: list[str]) -> None:
    """Append lines and fsync: the log is only ever appended to."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # One write with O_APPEND: lines from two processes never interleave.
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise HeadLogError(f"cannot append to the head log {path}: {exc.strerror or exc}") from None


def logged_heads(path: Path) -> set[tuple[int, str]]:
    """The (entry id, hash) of every head in the log; empty when the log is missing."""
    if not path.exists():
        return set()
    return {(head.event_id, head.hash) for head in read_log(path)}


async def anchor_heads(session: AsyncSession, path: Path, signer: Certificate) -> int:
    """Append every database head the log does not hold yet that ``signer`` (this axis's certificate) signed.

    Heads are told apart by the entry they pin, not by their row id: a row written under a huge id
    must not hide the heads signed after it. Heads under any other certificate are left out: a head
    someone wrote into the database with a key of their own must not be put in the log. Each head is
    verified before it is written, so the log only ever holds heads the axis signed.
    """
    logged = logged_heads(path)
    heads = (await session.execute(select(AuditHead).order_by(AuditHead.id))).scalars().all()
    mine = fingerprint(signer)
    lines = []
    for head in heads:
        if (head.event_id, head.hash) in logged:
            continue
        certificate = head_certificate(head, signer)
        if fingerprint(certificate) != mine:
            continue
        try:
            verify_head_record(head.signed_xml, certificate, head.event_id, head.hash, head.signed_at)
        except SignatureError:
            continue  # `axis audit verify` names it from the database
        logged.add((head.event_id, head.hash))
        lines.append(head_line(head, certificate))
    if lines:
        append_lines(path, lines)
    return len(lines)


@dataclass(frozen=True)
class LogCheck:
    """How many logged heads the database reproduced, and the first one it did not."""

    checked: int
    problem: str | None
    logged: frozenset[tuple[int, str]]
    certificates: dict[str, Certificate]


async def check_logs(session: AsyncSession, paths: list[Path], own: frozenset[str] = frozenset(),
                     stale_after: timedelta | None = None) -> LogCheck:
    """Check the database against every head in the logs: the head is still there and the chain still holds it.

    Each line must be signed by one of ``own`` (the axis's certificate fingerprints, current and
    retired, from its settings: never the certificate a line carries alone) and its signature must
    verify at its signing time; a line that fails means someone wrote to the log. A ``seq`` lower
    than the line before it means head rows were renumbered. With ``stale_after``, entries written
    more than that after the newest logged head mean the log stopped following the database.
    """
    checked = 0
    logged: set[tuple[int, str]] = set()
    certificates: dict[str, Certificate] = {}
    newest: LoggedHead | None = None
    db_heads = {(int(e), str(h)) for e, h in (await session.execute(select(AuditHead.event_id, AuditHead.hash))).all()}

    def failed(problem: str) -> LogCheck:
        return LogCheck(checked, problem, frozenset(logged), certificates)

    for path in paths:
        previous = 0
        for head in read_log(path):
            what = (f"signed head {head.seq} (entry {head.event_id}, signed at {format_utc(head.signed_at)}) "
                    f"in {head.source}")
            if own and fingerprint(head.certificate) not in own:
                return failed(f"{what} is signed by a certificate (sha256 {fingerprint(head.certificate)[:16]}…) "
                              "that is not one of the axis's own (axis_retired_certificates)")
            if head.seq < previous:
                return failed(f"{what}: seq goes backwards (the line before has {previous}): "
                              "head rows were renumbered")
            previous = head.seq
            try:
                verify_head_record(head.signed_xml, head.certificate, head.event_id, head.hash, head.signed_at)
            except SignatureError as exc:
                return failed(f"{what} does not verify: {exc}")
            entry = (await session.execute(
                select(AuditEvent.hash).where(AuditEvent.id == head.event_id))).scalar()
            if entry is None:
                return failed(f"{what}: the database no longer has entry {head.event_id} (chain cut short)")
            if entry != head.hash:
                return failed(f"{what}: the database's entry {head.event_id} differs (chain rewritten)")
            if (head.event_id, head.hash) not in db_heads:
                return failed(f"{what}: the signed head is missing from the database (deleted)")
            logged.add((head.event_id, head.hash))
            certificates[fingerprint(head.certificate)] = head.certificate
            if newest is None or head.event_id > newest.event_id:
                newest = head
            checked += 1
    if stale_after is not None and newest is not None:
        latest = (await session.execute(
            select(AuditEvent.id, AuditEvent.at).where(AuditEvent.id > newest.event_id)
            .order_by(AuditEvent.at.desc()).limit(1))).first()
        if latest is not None and _utc(latest[1]) - newest.signed_at > stale_after:
            return failed(f"entry {latest[0]} was written at {format_utc(_utc(latest[1]))}, more than "
                          f"{stale_after} after the newest logged head (entry {newest.event_id}, signed at "
                          f"{format_utc(newest.signed_at)}): the head log stopped following the database")
    return LogCheck(checked, None, frozenset(logged), certificates)


def _utc(when: datetime) -> datetime:
    # SQLite hands back naive datetimes; the axis writes UTC.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
