"""Push delivery: claim due deliveries, POST the exact bytes, record the outcome."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from axis.context import AxisContext
from axis.exchange import push_errors
from axis.exchange.endpoint_gate import EndpointGate, endpoint_key
from axis.exchange.errors import ExchangeError
from axis.exchange.push_errors import PushFailure
from axis.exchange.statuses import submit_status
from axis.exchange.submission import Party, accept
from axis.exchange.together import Together
from axis.faults import ENDPOINT, FaultStreak
from axis.metrics import Metrics
from envelope.builder import build_status
from envelope.codes import StatusCode
from envelope.errors import EnvelopeError
from envelope.model import Organization, ResponseFor, StaffInfo, StatusMessage
from envelope.parser import parse_status
from signing.errors import SignatureError
from signing.push_request import HEADER as PUSH_SIGNATURE_HEADER
from signing.push_request import sign_push_request
from signing.signer import sign_envelope
from storage.claims import Failure, claim_batch, mark_pushed, record_failures, renew_claims
from storage.db import read_session
from storage.errors import Superseded
from storage.ids import new_id
from storage.models import (
    Agency,
    Message,
    MessageKind,
)
from storage.payloads.backends import PayloadBody, PayloadStream
from storage.registry.agencies import InvalidEndpoint, check_endpoint_url
from storage.registry.vxp import SIGNATURE_REQUIRED

log = logging.getLogger("axis.exchange.delivery")

#: How often an idle worker looks for due retries even without a wake-up.
IDLE_POLL_SECONDS = 1.0


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter in [50 %, 100 %] of the step."""
    # Past 2**62 steps every sane cap is reached; a larger power would overflow a float.
    step = min(cap, base * 2.0 ** min(max(0, attempts - 1), 62))
    return step * (0.5 + 0.5 * (rng or random).random())


@dataclass(frozen=True)
class PushAnswer:
    """What a recipient's endpoint answered: the HTTP status, at most the allowed body bytes, any redirect target."""

    status: int
    body: bytes
    location: str | None = None


class PushTransport(Protocol):
    """POSTs bytes to an agency's endpoint (the HTTP client lives in ``axis.jobs.push``).

    It never follows a redirect (it returns the 3xx with its ``location``), and raises
    ``PushFailure`` for an unreachable endpoint or an answer longer than ``max_answer``.
    """

    async def __call__(self, url: str, body: PayloadBody, headers: dict[str, str], *, timeout: float,
                       max_answer: int, connect_timeout: float | None = None,
                       first_byte_timeout: float | None = None) -> PushAnswer:
        """Send ``body`` to ``url``; return the answer, or raise ``PushFailure``."""
        ...


class LeaseLapsed(Exception):
    """Our claim on a delivery lapsed before its POST (the node was paused): another worker may have it now."""


@dataclass(frozen=True)
class Job:
    """Everything one push attempt needs, read in the claiming transaction."""

    delivery_id: int
    message_id: str
    kind: str
    document_id: str
    sha256: str
    created_at: datetime
    attempts: int
    recipient_code: str
    endpoint: str
    #: The payload's bytes when it is kept in the database (small ones), read with the claim; else None.
    inline: bytes | None = None


class PushWorker:
    """Delivers queued push deliveries of one axis process."""

    def __init__(self, ctx: AxisContext, metrics: Metrics, wakeup: asyncio.Event, transport: PushTransport,
                 *, gate: EndpointGate | None = None) -> None:
        self.ctx = ctx
        self.metrics = metrics
        self.wakeup = wakeup
        self.transport = transport
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self.limit = max(1, ctx.settings.push_concurrency)
        self.in_flight: set[asyncio.Task[None]] = set()
        self.claim_faults = FaultStreak(log, "claiming deliveries", metrics)
        #: Deliveries this worker is attempting now: never claimed again until their attempt ends.
        self.attempting: set[int] = set()
        self.slot_free = asyncio.Event()
        self._published: set[str] = set()
        #: Lease renewals (and delivered marks) of attempts at the same moment: one statement for them all.
        self._renewals: Together[int, bool] = Together(self._renew_batch, False, "push-lease-renewal")
        self._delivered: Together[tuple[int, str], bool] = Together(self._mark_delivered_batch, False,
                                                                    "push-delivered")
        self._failures: Together[Failure, bool] = Together(self._record_failure_batch, False, "push-failures")
        settings = ctx.settings
        self.gate = gate or EndpointGate(concurrency=settings.push_endpoint_concurrency,
                                 circuit_failures=settings.push_circuit_failures,
                                 circuit_open_seconds=settings.push_circuit_open_seconds)

    async def run(self) -> None:
        """Keep up to ``push_concurrency`` pushes going, claiming more as each one ends; loop until cancelled."""
        try:
            while True:
                # Cleared before claiming: new work or a slot freed meanwhile triggers the next round.
                self.wakeup.clear()
                self.slot_free.clear()
                await self._fill()
                waits = [asyncio.ensure_future(self.wakeup.wait()), asyncio.ensure_future(self.slot_free.wait())]
                try:
                    await asyncio.wait(waits, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
        finally:
            for task in self.in_flight:
                task.cancel()
            self._renewals.close()
            self._delivered.close()
            self._failures.close()

    async def _fill(self) -> int:
        """Claim as many due deliveries as there are free slots and start them; return how many."""
        free = self.limit - len(self.in_flight)
        if free <= 0:
            return 0
        try:
            jobs = await self._claim(free)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a database blip must not stop delivery
            self.claim_faults.failed(exc)
            return 0
        self.claim_faults.succeeded()
        for job in jobs:
            self.attempting.add(job.delivery_id)
            task = asyncio.create_task(self._attempt(job), name=f"push-{job.delivery_id}")
            self.in_flight.add(task)
            task.add_done_callback(self._finished)
        self._publish_endpoints()
        return len(jobs)

    async def _skipped_recipients(self) -> set[int]:
        """Recipients whose endpoint has no free share now (busy or its circuit open): not claimed this round."""
        blocked = self.gate.blocked()
        if not blocked:
            return set()
        snapshot = await self.ctx.registry.snapshot()
        return {agency_id for agency_id, agency in snapshot.by_id.items()
                if agency.endpoint_url and endpoint_key(agency.endpoint_url) in blocked}

    def _publish_endpoints(self) -> None:
        gauge = self.metrics.push_circuit_open
        seen = set()
        for state in self.gate.states():
            gauge.labels(state.key).set(1 if state.circuit == "open" else 0)
            seen.add(state.key)
        for key in self._published - seen:
            gauge.labels(key).set(0)
        self._published = seen

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("push task failed", exc_info=task.exception())

    async def _claim(self, limit: int) -> list[Job]:
        """Claim up to ``limit`` due deliveries that their endpoints have a free share for, taking those shares.

        One transaction reads the deliveries with their messages and small payloads and claims the ones
        taken: a delivery beyond its endpoint's share in this round is left as it was, nothing to hand back.
        """
        now = self.ctx.clock()
        lease = timedelta(seconds=self.ctx.settings.claim_lease_seconds)
        snapshot = await self.ctx.registry.snapshot()
        skip = await self._skipped_recipients()
        taken: list[str] = []  # endpoint shares acquired, given back if the claim does not commit
        missed = False

        def take(recipient_id: int) -> bool:
            nonlocal missed
            recipient = snapshot.by_id.get(recipient_id)
            if recipient is None:
                missed = True  # registered after this snapshot: claimed next round, once the registry is re-read
                return False
            if not recipient.endpoint_url:
                return True  # fails at once and takes no share
            key = endpoint_key(recipient.endpoint_url)
            if not self.gate.acquire(key):
                return False
            taken.append(key)
            return True

        try:
            async with self.ctx.sessions() as session, session.begin():
                claimed = await claim_batch(session, worker=self.worker_id, now=now, lease=lease, limit=limit,
                                            take=take, skip_recipients=skip, skip_ids=set(self.attempting))
        except BaseException:
            for key in taken:
                self.gate.release(key, unreachable=False, neutral=True)
            raise
        if missed:
            await self.ctx.registry.after_miss()
            self.wakeup.set()
        jobs = []
        for c in claimed:
            recipient = snapshot.by_id[c.recipient_id]
            jobs.append(Job(c.delivery_id, c.message_id, c.kind, c.document_id, c.sha256, c.created_at, c.attempts,
                            recipient.code, recipient.endpoint_url or "", c.inline))
        return jobs

    async def _attempt(self, job: Job) -> None:
        try:
            await self._attempt_once(job)
        finally:
            self.attempting.discard(job.delivery_id)

    async def _attempt_once(self, job: Job) -> None:
        error: str | None = None
        unreachable = False
        lapsed = False
        try:
            await self._push(job)
        except LeaseLapsed:
            lapsed = True
        except PushFailure as exc:
            error = exc.stored
            unreachable = exc.public == push_errors.UNREACHABLE
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt
            error = f"{push_errors.GENERIC}: {type(exc).__name__}: {exc}"
        finally:
            if job.endpoint:
                key = endpoint_key(job.endpoint)
                if self.gate.release(key, unreachable=unreachable, neutral=lapsed):
                    log.warning(json.dumps({"event": "push.circuit_open", "endpoint": key,
                                            "seconds": self.ctx.settings.push_circuit_open_seconds}))
                self._publish_endpoints()
        if lapsed:
            # Nothing was sent: whoever holds the delivery now (or the next claim) makes the attempt.
            log.warning(json.dumps({"event": "push.lease_lapsed", "delivery": job.delivery_id,
                                    "message": job.message_id, "to": job.recipient_code}))
            return
        outcome = "delivered" if error is None else "error"
        self.metrics.push_attempts.labels(outcome).inc()
        if error is not None:
            self.metrics.push_errors.labels(job.recipient_code).inc()
        if unreachable:
            self.metrics.faults.labels(ENDPOINT).inc()
        # An unreachable endpoint is an expected fault: the same one line, at warning level, no traceback.
        log.log(logging.WARNING if unreachable else logging.INFO, json.dumps({
            "event": "push", "delivery": job.delivery_id, "message": job.message_id, "to": job.recipient_code,
            "attempt": job.attempts, "outcome": outcome, "error": error,
        }, ensure_ascii=False))
        if error is not None:
            await self._record_failure(job, error)

    async def _push(self, job: Job) -> None:
        """POST the exact stored bytes and record the delivery; raise ``PushFailure`` saying why not."""
        settings = self.ctx.settings
        if not job.endpoint:
            raise PushFailure(push_errors.NO_ENDPOINT)
        try:
            # Checked again here: the URL may predate the rule, or the operator may have turned http off.
            check_endpoint_url(job.endpoint, allow_http=settings.push_allow_http)
        except InvalidEndpoint as exc:
            raise PushFailure(push_errors.NOT_ALLOWED, str(exc)) from None
        deadline = await self._renew_lease(job)
        # Streamed, never held whole: a large payload is read from its file or its rows as it is sent.
        body: PayloadBody = job.inline if job.inline is not None else await self.ctx.payloads.open(job.sha256)
        headers = {
            "Content-Type": "application/xml",
            # Recipients drop a message id they already have, which makes a re-push harmless.
            "X-Axis-Message-Id": job.message_id,
            "X-Axis-Kind": job.kind,
            "X-Axis-Document-Id": job.document_id,
            # Proves the axis sent it: the endpoint checks it against the axis certificate.
            PUSH_SIGNATURE_HEADER: sign_push_request(self.ctx.identity.key, job.recipient_code, job.message_id,
                                                     job.sha256),
        }
        if isinstance(body, PayloadStream):
            headers["Content-Length"] = str(body.size)
        try:
            reply = await self.transport(job.endpoint, body, headers, timeout=deadline,
                                         max_answer=settings.push_max_answer_bytes,
                                         connect_timeout=settings.push_connect_timeout_seconds,
                                         first_byte_timeout=settings.push_first_byte_timeout_seconds)
        finally:
            await _close(body)
        status, answer = reply.status, reply.body
        if 300 <= status < 400:
            # Following it would POST the document wherever the endpoint points (internal hosts, metadata services).
            raise PushFailure(push_errors.REDIRECTED, f"HTTP {status} from {job.endpoint} to {reply.location!r}")
        if job.kind == MessageKind.STATUS.value:
            if not 200 <= status < 300:
                raise push_errors.answered(status)
            await self._mark_delivered(job)
            return
        if status != 200:
            raise push_errors.answered(status)
        await self._accept_receipt(job, answer)

    async def _renew_lease(self, job: Job) -> float:
        """Confirm the claim is still ours and unexpired, extend it for sending, and return this attempt's deadline.

        A node paused (SIGSTOP, a VM freeze) between claim and POST finds its lease lapsed here and sends
        nothing: the delivery may already be another worker's. Once the POST may have gone out, the claim is
        held for twice the lease (on the database's clock): a node paused with a POST in flight keeps its
        delivery through a pause as long as a lease, reads the answer when it resumes and records it, instead
        of another node sending the document again. The attempt itself ends well inside the first lease.
        Attempts about to POST at the same moment (a claimed batch) are renewed by one statement together.
        """
        settings = self.ctx.settings
        lease = settings.claim_lease_seconds
        if not await self._renewals(job.delivery_id):
            raise LeaseLapsed(job.delivery_id)
        # A margin for recording the outcome after the answer.
        return max(1.0, min(settings.push_timeout_seconds, lease * 0.8))

    async def _renew_batch(self, ids: list[int]) -> dict[int, bool]:
        """Renew the claims of every attempt about to POST now, in one statement: True for those still ours."""
        lease = timedelta(seconds=2 * self.ctx.settings.claim_lease_seconds)
        renewed = await renew_claims(self.ctx.engine, ids=ids, worker=self.worker_id, now=self.ctx.clock(),
                                     lease=lease)
        return dict.fromkeys(renewed, True)

    async def _accept_receipt(self, job: Job, answer: bytes) -> None:
        """The recipient answered with its signed status 01: record it as if it had posted it."""
        bad = push_errors.BAD_RECEIPT
        try:
            st = parse_status(answer, max_size=self.ctx.settings.push_max_answer_bytes)
        except Exception as exc:  # noqa: BLE001 - a bad answer is a failed attempt
            raise PushFailure(bad, f"answer is not a status message: {exc}") from None
        if st.status_code != StatusCode.ARRIVED or st.response_for.document_id != job.document_id:
            raise PushFailure(bad, f"answer is status {st.status_code} for {st.response_for.document_id}, "
                                   f"not 01 for {job.document_id}")
        recipient = (await self.ctx.registry.snapshot()).by_code.get(job.recipient_code)
        if recipient is None:
            raise PushFailure(push_errors.NOT_REGISTERED, job.recipient_code)
        # A receipt must be the recipient's own signature, whatever its policy: `legacy-transport` is for
        # what a DMS submits on its authenticated transport, and a push answer comes from an address only.
        if recipient.signature_policy != SIGNATURE_REQUIRED:
            recipient = replace(recipient, signature_policy=SIGNATURE_REQUIRED)
        try:
            await submit_status(self.ctx, recipient, answer)
        except (ExchangeError, EnvelopeError, SignatureError) as exc:
            raise PushFailure(bad, f"receipt refused: {type(exc).__name__}: {exc}") from None

    async def _mark_delivered(self, job: Job) -> None:
        await self._delivered((job.delivery_id, job.message_id))

    async def _mark_delivered_batch(self, deliveries: list[tuple[int, str]]) -> dict[tuple[int, str], bool]:
        """Mark the pushes that just succeeded delivered, one transaction for all of them."""
        async with self.ctx.sessions() as session, session.begin():
            marked = await mark_pushed(session, deliveries=deliveries, worker=self.worker_id, now=self.ctx.clock())
        return {d: d[0] in marked for d in deliveries}

    async def _record_failure(self, job: Job, error: str) -> None:
        settings = self.ctx.settings
        now = self.ctx.clock()
        give_up = now - job.created_at >= timedelta(seconds=settings.delivery_deadline_seconds)
        retry_at = None if give_up else now + timedelta(
            seconds=backoff_seconds(job.attempts, settings.retry_base_seconds, settings.retry_max_seconds))
        failure = Failure(job.delivery_id, job.message_id, job.attempts, error, give_up, retry_at)

        if give_up and job.kind == MessageKind.EDOC.value:
            async def record(session: AsyncSession) -> bool:
                # False: our lease lapsed and another worker has it now.
                return bool(await record_failures(session, failures=[failure], worker=self.worker_id, now=now))

            # The sender reads only the fixed words: the detail may name the recipient's internal hosts.
            await notify_sender_of_failure(self.ctx, job.message_id, job.recipient_code,
                                           push_errors.public_error(error) or push_errors.GENERIC, record)
            return
        if await self._failures(failure) and not give_up:
            self.metrics.retries.inc()

    async def _record_failure_batch(self, failures: list[Failure]) -> dict[Failure, bool]:
        """Record the failed attempts that ended at the same moment (an endpoint gone down), one transaction."""
        async with self.ctx.sessions() as session, session.begin():
            recorded = await record_failures(session, failures=failures, worker=self.worker_id, now=self.ctx.clock())
        return {f: f.delivery_id in recorded for f in failures}


async def _close(body: PayloadBody) -> None:
    """Release a body the transport may not have read to its end (a refused connection, a timeout)."""
    if isinstance(body, PayloadStream):
        await body.aclose()
    elif not isinstance(body, bytes):
        body.close()



#: Runs in the notice's storing transaction: records the failed delivery, False when its lease lapsed.
RecordFailure = Callable[[AsyncSession], Awaitable[bool]]


async def notify_sender_of_failure(
    ctx: AxisContext, message_id: str, recipient_code: str, reason: str, record: RecordFailure
) -> bool:
    """Put an axis-signed status 02 in the sender's inbox saying why a delivery failed.

    Stored like every message (``accept``: payload, ledger, register, audit), in one transaction with
    ``record``; False, and nothing stored, when ``record`` finds the delivery is no longer this worker's.
    """
    settings = ctx.settings
    async with read_session(ctx.engine) as session:
        doc = await session.get(Message, message_id)
        assert doc is not None
        sender = await session.get(Agency, doc.sender_id)
        assert sender is not None
    axis_agency = await ctx.registry.agency_by_code(settings.axis_code)
    assert axis_agency is not None
    now = ctx.clock()
    st = StatusMessage.new(
        from_=Organization(organ_id=settings.axis_code, organ_name=settings.axis_name),
        response_for=ResponseFor(
            organ_id=sender.code,
            code=f"{doc.code_number}/{doc.code_notation}",
            promulgation_date=date.fromisoformat(doc.promulgation_date) if doc.promulgation_date else now.date(),
            document_id=doc.document_id,
        ),
        status_code=StatusCode.REFUSED,
        description=f"Không chuyển được văn bản tới {recipient_code} (delivery failed): {reason}"[:1000],
        staff_info=StaffInfo(department=settings.axis_name),
        timestamp=now,
    )
    raw = sign_envelope(build_status(st), ctx.identity.key, ctx.identity.certificate)
    document_message_id, axis_id = doc.id, axis_agency.id

    def event(notice_id: str, at: datetime) -> dict[str, Any]:
        return {"document_message_id": document_message_id, "status_message_id": notice_id, "agency_id": axis_id,
                "status_code": StatusCode.REFUSED.value, "description": st.description, "stated_at": at,
                "received_at": at}

    async def apply(session: AsyncSession, notice_id: str, at: datetime) -> None:
        if not await record(session):
            raise Superseded(f"delivery of {message_id} to {recipient_code} is no longer this worker's")

    try:
        await accept(
            ctx, axis_agency, raw, hashlib.sha256(raw).hexdigest(),
            [Party(sender.id, sender.code, sender.delivery_mode)],
            fields={"kind": MessageKind.STATUS.value, "document_id": doc.document_id, "business_type": 0,
                    "subject": st.description[:500], "status_code": StatusCode.REFUSED.value,
                    "response_for_id": document_message_id},
            audit={"document_message_id": document_message_id, "status_code": StatusCode.REFUSED.value,
                   "to": sender.code},
            status_event=event, apply=apply, action="status.issued",
        )
    except Superseded:
        return False
    return True
