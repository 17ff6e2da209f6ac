"""Operator pages: health panel, agency registry, failed and stuck deliveries with resend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDict
from sqlalchemy.ext.asyncio import AsyncSession

from axis.appkeys import CONTEXT, JOB_INTERVALS, NEXT_RUNS, PUSH_ENDPOINTS, PUSH_WAKEUP
from axis.exchange.redelivery import (
    UNDELIVERED,
    ResendError,
    backlog,
    delivery_counts,
    resend_deliveries,
    troubled_deliveries,
)
from axis.web.auth import checked_form, require_user
from axis.web.certificate_expiry import certificate_section
from axis.web.rendering import render
from axis.wording import agency_state
from storage.jobs import last_runs
from storage.models import Agency
from storage.people.accounts import Role
from storage.people.management import people_notices
from storage.registry.agencies import (
    RegistryError,
    agency_by_code,
    list_agencies,
    register_agency,
    replace_certificate,
    rotate_token,
    set_agency_active,
)
from storage.registry.vxp import (
    LEGACY_TRANSPORT,
    SIGNATURE_POLICIES,
    clock_offsets,
    issue_vxp_secret,
    set_signature_policy,
)

routes = web.RouteTableDef()
OPERATOR = Role.OPERATOR


@routes.get("/admin")
async def health_page(request: web.Request) -> web.Response:
    """Queue depth, deliveries per state and the last run of each scheduled job."""
    require_user(request, OPERATOR)
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        counts = await delivery_counts(session)
        waiting = await backlog(session, ctx.clock(), timedelta(minutes=ctx.settings.stuck_after_minutes))
        runs = await last_runs(session)
        # A week of people changes: a single operator's first-clerk addition stays in view of the others.
        notices = await people_notices(session, ctx.clock() - timedelta(days=7))
    intervals = request.app[JOB_INTERVALS]
    jobs = sorted(set(intervals) | set(runs))
    return render(request, "admin_health.html", {
        "counts": counts,
        "queue": sum(counts.get(s, 0) for s in UNDELIVERED),
        "backlog": waiting,
        "stuck_minutes": ctx.settings.stuck_after_minutes,
        "jobs": [(name, intervals.get(name), runs.get(name)) for name in jobs],
        "next_runs": request.app.get(NEXT_RUNS) or {},
        "certificates": await certificate_section(ctx),
        "people_notices": notices,
        "endpoints": request.app[PUSH_ENDPOINTS].states(),
    }, active="admin")


async def _registry(request: web.Request, *, status: int = 200, error: str | None = None,
                    form: dict[str, str] | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        agencies = await list_agencies(session)
        clocks = await clock_offsets(session)
    return render(request, "admin_agencies.html", {
        "agencies": agencies, "axis_code": ctx.settings.axis_code, "error": error, "sdk_clocks": clocks,
        "agency_state": agency_state,
        "saved": request.query.get("saved", "")[:13], "form": form or {}, "legacy": LEGACY_TRANSPORT,
    }, status=status, active="admin")


@routes.get("/admin/agencies")
async def agencies_page(request: web.Request) -> web.Response:
    """The registry, with a form to register an agency."""
    require_user(request, OPERATOR)
    return await _registry(request)


def _token_page(request: web.Request, agency: Agency, token: str, *, registered: bool) -> web.Response:
    return render(request, "admin_token.html", {"agency": agency, "token": token, "registered": registered},
                  active="admin")


@routes.post("/admin/agencies")
async def agency_add(request: web.Request) -> web.Response:
    """Register an agency; its token is shown on this one answer only."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    ctx = request.app[CONTEXT]
    fields = {k: form.get(k, "").strip() for k in ("code", "name", "endpoint", "certificate")}
    try:
        async with ctx.sessions() as session, session.begin():
            reg = await register_agency(
                session, fields["code"], fields["name"], certificate=fields["certificate"] or None,
                endpoint_url=fields["endpoint"] or None, actor=user.actor,
                allow_http_endpoint=ctx.settings.push_allow_http,
            )
    except RegistryError as exc:
        return await _registry(request, status=400, error=str(exc), form=fields)
    ctx.registry.invalidate()  # this process sees it at once; other nodes within their refresh
    return _token_page(request, reg.agency, reg.token, registered=True)


async def _agency_or_404(request: web.Request) -> Agency:
    ctx = request.app[CONTEXT]
    code = request.match_info["code"]
    async with ctx.sessions() as session:
        agency = await agency_by_code(session, code)
    # The axis's own row is managed by the axis, not from this page.
    if agency is None or agency.code == ctx.settings.axis_code:
        raise web.HTTPNotFound()
    return agency


#: A registry change to one agency: (session, its code, the form, the actor) → what the page shows.
AgencyChange = Callable[[AsyncSession, str, MultiDict[str], str], Awaitable[Any]]


async def _change_agency(request: web.Request, change: AgencyChange) -> tuple[Agency, Any] | web.Response:
    """Apply ``change`` to the agency in the path as the operator; the registry page with the reason if refused."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    agency = await _agency_or_404(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            result = await change(session, agency.code, form, user.actor)
    except (RegistryError, ValueError) as exc:
        return await _registry(request, status=400, error=f"{agency.code}: {exc}")
    ctx.registry.invalidate()  # this node sees the change at once; the others within registry_refresh_seconds
    return agency, result


def _saved(done: tuple[Agency, Any] | web.Response) -> web.Response:
    if isinstance(done, web.Response):
        return done
    raise web.HTTPSeeOther(f"/admin/agencies?saved={done[0].code}")


@routes.post("/admin/agencies/{code}/active")
async def agency_active(request: web.Request) -> web.Response:
    """Disable or enable an agency."""
    return _saved(await _change_agency(request, lambda session, code, form, actor: set_agency_active(
        session, code, form.get("active") == "1", actor=actor)))


@routes.post("/admin/agencies/{code}/token")
async def agency_token(request: web.Request) -> web.Response:
    """Issue a new token (the old one stops working); shown once."""
    done = await _change_agency(request, lambda session, code, form, actor: rotate_token(session, code, actor=actor))
    if isinstance(done, web.Response):
        return done
    return _token_page(request, done[0], done[1], registered=False)


@routes.post("/admin/agencies/{code}/certificate")
async def agency_certificate(request: web.Request) -> web.Response:
    """Pin a new signing certificate for an agency."""
    return _saved(await _change_agency(request, lambda session, code, form, actor: replace_certificate(
        session, code, form.get("certificate", "").strip(), actor=actor)))


@routes.post("/admin/agencies/{code}/vxp-secret")
async def agency_vxp_secret(request: web.Request) -> web.Response:
    """Issue or rotate the agency's national SDK system id and secret; the secret is shown once."""
    cipher = request.app[CONTEXT].vxp_cipher
    done = await _change_agency(request, lambda session, code, form, actor: issue_vxp_secret(
        session, code, cipher, system_id=form.get("system_id", "").strip() or None, actor=actor))
    if isinstance(done, web.Response):
        return done
    (agency, (system_id, secret)) = done
    return render(request, "admin_vxp_secret.html", {"agency": agency, "system_id": system_id, "secret": secret},
                  active="admin")


@routes.post("/admin/agencies/{code}/signature-policy")
async def agency_signature_policy(request: web.Request) -> web.Response:
    """Set whether the agency's documents must carry a valid signature (audited)."""

    async def change(session: AsyncSession, code: str, form: MultiDict[str], actor: str) -> Any:
        policy = form.get("policy", "")
        if policy not in SIGNATURE_POLICIES:
            raise web.HTTPBadRequest()
        return await set_signature_policy(session, code, policy, actor=actor)

    return _saved(await _change_agency(request, change))


#: The longest stuck threshold a person may ask for (a year, in minutes).
MAX_THRESHOLD_MINUTES = 60 * 24 * 365


def _threshold(request: web.Request) -> tuple[float, str]:
    """The stuck threshold asked for, or the configured one and what was typed when it was refused.

    Zero or less is refused rather than read: "stuck after 0 minutes" would call every delivery on its way
    stuck, and silently showing the default instead hid that the value was not used.
    """
    default = request.app[CONTEXT].settings.stuck_after_minutes
    raw = request.query.get("minutes", "").strip()
    if not raw:
        return default, ""
    try:
        minutes = float(raw)
    except ValueError:
        return default, raw[:20]
    if not 0 < minutes <= MAX_THRESHOLD_MINUTES:
        return default, raw[:20]
    return minutes, ""


async def _deliveries(request: web.Request, *, status: int = 200, error_key: str | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    minutes, refused = _threshold(request)
    if refused and status == 200:
        status = 400
    async with ctx.sessions() as session:
        rows = await troubled_deliveries(session, ctx.clock(), timedelta(minutes=minutes))
    try:
        resent = int(request.query.get("resent", ""))
    except ValueError:
        resent = None
    return render(request, "admin_deliveries.html", {
        "rows": rows, "minutes": minutes, "resent": resent, "error_key": error_key,
        "bad_threshold": refused, "max_minutes": MAX_THRESHOLD_MINUTES,
    }, status=status, active="admin")


@routes.get("/admin/deliveries")
async def deliveries_page(request: web.Request) -> web.Response:
    """Deliveries that failed or are stuck past the threshold."""
    require_user(request, OPERATOR)
    return await _deliveries(request)


@routes.post("/admin/deliveries/resend")
async def deliveries_resend(request: web.Request) -> web.Response:
    """Queue one (the row's button) or the selected deliveries again; the reason is audited."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    only = form.get("only", "")
    raw_ids = [only] if only else form.getall("ids", [])
    try:
        ids = sorted({int(i) for i in raw_ids})
    except ValueError:
        raise web.HTTPBadRequest() from None
    reason = form.get("reason", "")
    if not ids:
        return await _deliveries(request, status=400, error_key="failed.need_selection")
    if not reason.strip():
        return await _deliveries(request, status=400, error_key="failed.need_reason")
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            resent = await resend_deliveries(session, ids, reason=reason, actor=user.actor, now=ctx.clock())
    except ResendError:
        return await _deliveries(request, status=400, error_key="failed.need_reason")
    if resent:
        request.app[PUSH_WAKEUP].set()
    raise web.HTTPSeeOther(f"/admin/deliveries?resent={len(resent)}")
