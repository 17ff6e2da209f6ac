"""The aiohttp application factory: API, middlewares, workers, scheduler."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web, web_response
from sqlalchemy.exc import IntegrityError

from axis.api import setup_api
from axis.api.auth import AGENCY_KEY
from axis.api.openapi import OPENAPI_PARTS
from axis.api.problems import (
    ApiProblem,
    InternalProblem,
    MethodNotAllowedProblem,
    NotFoundProblem,
    SizeLimitProblem,
    UnavailableProblem,
    problem_for,
    problem_response,
)
from axis.appkeys import (
    BODY_BUDGET,
    CONTEXT,
    GAUGES,
    INBOX_ARRIVALS,
    JOB_INTERVALS,
    METRICS,
    NEXT_RUNS,
    PUSH_ENDPOINTS,
    PUSH_WAKEUP,
    SETTINGS,
    NextRuns,
)
from axis.certificate_expiry import WatchedCertificates, current_records, log_attention
from axis.context import AxisContext, Clock, build_context, system_clock
from axis.exchange.arrivals import Arrivals
from axis.exchange.body_budget import BodyBudget
from axis.exchange.endpoint_gate import EndpointGate
from axis.faults import report
from axis.gauges import GaugeRefresher
from axis.jobs.push import delivery_worker_ctx
from axis.jobs.scheduler import JOBS, scheduler_ctx
from axis.jobs.sealer import sealer_ctx
from axis.logformat import Fields
from axis.metrics import Metrics
from axis.settings import Settings
from axis.vxp import openapi as vxp_openapi
from axis.vxp.routes import routes as vxp_routes
from axis.web import setup_web
from axis.web.client_address import client_address, trusted_networks
from signing.keys import certificate_pem
from storage.db import STORAGE_UNAVAILABLE
from storage.ids import new_id
from storage.registry.agencies import ensure_axis_agency

log = logging.getLogger("axis.access")
errors_log = logging.getLogger("axis.errors")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _problem_of(request: web.Request, exc: Exception) -> web.Response:
    """The problem+json answer for an error a handler raised (an HTTP error of aiohttp's, or any other)."""
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        problem: ApiProblem = SizeLimitProblem(exc.text or "body too large")
    elif isinstance(exc, web.HTTPNotFound):
        problem = NotFoundProblem(f"no such resource: {request.path}")
    elif isinstance(exc, web.HTTPMethodNotAllowed):
        problem = MethodNotAllowedProblem(f"{request.method} is not allowed on {request.path}")
        response = problem_response(problem, instance=request.path)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))  # RFC 9110 §15.5.6
        return response
    elif isinstance(exc, web.HTTPException):
        problem = ApiProblem(exc.reason)
        problem.status = exc.status  # type: ignore[misc]  # a one-off problem with aiohttp's own status
    elif isinstance(exc, STORAGE_UNAVAILABLE):
        # Database or disk trouble: refuse the work, acknowledge nothing; one line for the operator.
        request_id = request.headers.get("X-Request-Id") or new_id()
        if not report(errors_log, f"unavailable: {request.method} {request.path}", exc,
                      metrics=request.app[METRICS], where=request.app[CONTEXT].blobs.root / "tmp",
                      request_id=request_id):
            errors_log.warning("unavailable: %s %s: %r [request %s]", request.method, request.path, exc, request_id)
        problem = UnavailableProblem("storage is unavailable; retry later", request_id=request_id)
    else:
        mapped = problem_for(exc)
        if mapped is None:
            errors_log.exception("unhandled error on %s %s", request.method, request.path, exc_info=exc)
            mapped = InternalProblem("internal error; it has been logged")
        problem = mapped
    return problem_response(problem, instance=request.path)


#: Routes whose path is itself a credential (a set-password link): logged by route, never by path.
SECRET_PATH_ROUTES = frozenset({"/account/set-password/{token}"})


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything per request in one place: errors as problem+json, the security headers, timing,
    the latency metric and one structured access line.

    One middleware rather than three nested ones: each layer costs a coroutine and a frame per request.
    """
    started = time.perf_counter()
    # Anything that escapes as a non-HTTP exception becomes aiohttp's 500.
    status = 500
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                # Redirects (and other non-errors) travel as exceptions: passed on as they are.
                status = exc.status
                raise
            response = _problem_of(request, exc)
        except Exception as exc:  # noqa: BLE001 - the server must keep serving
            response = _problem_of(request, exc)
        status = response.status
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        return response
    finally:
        elapsed = time.perf_counter() - started
        resource = request.match_info.route.resource
        route = resource.canonical if resource else "unmatched"
        request.app[METRICS].requests.labels(route, request.method, str(status)).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            agency = request.get(AGENCY_KEY)
            # Behind a TLS proxy the peer is the proxy; the client is what a trusted proxy forwarded.
            client = client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                                    trusted_networks(request.app[SETTINGS].trusted_proxies))
            log.info(Fields({
                "event": "request", "method": request.method,
                "path": route if route in SECRET_PATH_ROUTES else request.path, "status": status,
                "ms": round(elapsed * 1000, 2), "agency": agency.code if agency is not None else None,
                "client": client,
            }))


#: What the ``Server`` header says: no Python or aiohttp version for a scanner to match against advisories.
SERVER_NAME = "axis"


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME


async def register_axis_itself(ctx: AxisContext) -> None:
    """Make sure the registry knows the axis's own code (the signer of its notices)."""
    for _ in range(3):
        try:
            async with ctx.sessions() as session, session.begin():
                await ensure_axis_agency(session, ctx.settings.axis_code, ctx.settings.axis_name,
                                         certificate_pem(ctx.identity.certificate))
            return
        except IntegrityError:
            continue  # another node registered it at the same moment


async def watch_certificates(app: web.Application, ctx: AxisContext) -> None:
    """Feed the expiry metric from memory and warn now about certificates expired or expiring soon."""
    app[METRICS].certificate_expiry.watch(
        WatchedCertificates(lambda: ctx.registry.current, ctx.policy.ca_certificates, ctx.settings.axis_code,
                            ctx.identity.certificate),
        ctx.clock,
    )
    log_attention(await current_records(ctx), ctx.clock(), ctx.settings.cert_warning_days)


def create_app(settings: Settings, *, clock: Clock = system_clock, workers: bool = True) -> web.Application:
    """Build the axis application; engine and workers live in ``cleanup_ctx``."""
    # aiohttp's own limit backs ours up; bodies are also counted while streaming.
    app = web.Application(
        # Problems, security headers, timing, metrics and the access line (the UI adds its own, inside).
        middlewares=[request_middleware],
        client_max_size=settings.max_message_bytes + 1,
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app.on_response_prepare.append(_server_header)
    # Responses aiohttp writes itself (a request line it cannot parse) get no app signal: its default goes too.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]  # aiohttp private, pinned below 4
    app[PUSH_WAKEUP] = asyncio.Event()
    app[INBOX_ARRIVALS] = Arrivals()
    app.on_shutdown.append(lambda app: app[INBOX_ARRIVALS].close())
    app[JOB_INTERVALS] = {name: spec.interval_for(settings) for name, spec in JOBS.items()}
    app[PUSH_ENDPOINTS] = EndpointGate(concurrency=settings.push_endpoint_concurrency,
                                       circuit_failures=settings.push_circuit_failures,
                                       circuit_open_seconds=settings.push_circuit_open_seconds)

    async def context_ctx(app: web.Application) -> AsyncIterator[None]:
        settings.home.mkdir(parents=True, exist_ok=True)
        ctx = await asyncio.to_thread(build_context, settings, clock)
        swept = await asyncio.to_thread(ctx.blobs.sweep_temp)
        if swept:
            errors_log.warning("removed %d temp files left by an interrupted blob write", swept)
        await register_axis_itself(ctx)
        app[CONTEXT] = ctx
        app[GAUGES] = GaugeRefresher(ctx, app[METRICS], settings.metrics_refresh_seconds)
        await watch_certificates(app, ctx)
        yield
        await ctx.committer.close()
        await ctx.engine.dispose()

    budget = app[BODY_BUDGET] = BodyBudget(memory_bytes=settings.body_memory_bytes,
                                           spool_bytes=settings.spool_max_bytes,
                                           uploads_per_agency=settings.uploads_per_agency)
    app[METRICS].body_bytes.labels("memory").set_function(lambda: budget.memory_in_use)
    app[METRICS].body_bytes.labels("spool").set_function(lambda: budget.spool_in_use)

    app[NEXT_RUNS] = NextRuns()
    app.cleanup_ctx.append(context_ctx)
    app.cleanup_ctx.append(sealer_ctx)
    if workers:
        app.cleanup_ctx.append(delivery_worker_ctx)
        app.cleanup_ctx.append(scheduler_ctx)
    setup_api(app)
    app.add_routes(vxp_routes)
    app[OPENAPI_PARTS] = (vxp_openapi.part(),)
    setup_web(app)
    return app
