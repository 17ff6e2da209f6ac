"""Operator pages: the people of each agency — add, change role, disable, reset (set-password links),
and the requests a second operator confirms."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select

from axis.appkeys import CONTEXT
from axis.web.auth import checked_form, language_of, require_user
from axis.web.i18n import Translator
from axis.web.rendering import render
from storage.models import Agency
from storage.people.accounts import Role, UserError
from storage.people.management import (
    Outcome,
    UnknownPerson,
    add_person,
    cancel_request,
    change_role,
    confirm_request,
    pending_requests,
    people,
    people_per_agency,
    reset_password,
    set_person_active,
)

routes = web.RouteTableDef()
OPERATOR = Role.OPERATOR
ROLES = tuple(r.value for r in Role)


async def _people_page(request: web.Request, *, status: int = 200, error: str | None = None,
                       form: dict[str, str] | None = None) -> web.Response:
    ctx = request.app[CONTEXT]
    agency = request.query.get("agency", "").strip()[:13]
    async with ctx.sessions() as session:
        agencies = list((await session.execute(select(Agency.code, Agency.name).order_by(Agency.code))).all())
        listed = await people(session, agency or None)
        counts = await people_per_agency(session)
        waiting = await pending_requests(session)
    me = require_user(request, OPERATOR)
    return render(request, "admin_people.html", {
        "people": listed, "agencies": agencies, "counts": counts, "agency": agency, "roles": ROLES,
        "error": error, "form": form or {}, "saved": request.query.get("saved", "")[:64],
        "requested": request.query.get("requested", "")[:64], "pending": waiting, "me": me.actor,
    }, status=status, active="admin")


@routes.get("/admin/people")
async def people_page(request: web.Request) -> web.Response:
    """The users of one agency (or all), with a form to add one."""
    require_user(request, OPERATOR)
    return await _people_page(request)


def _link_page(request: web.Request, outcome: Outcome, *, added: bool) -> web.Response:
    link = f"{request.scheme}://{request.host}/account/set-password/{outcome.link}"
    return render(request, "admin_password.html", {
        "login": outcome.login, "agency": outcome.agency_code, "link": link, "added": added,
        "hours": request.app[CONTEXT].settings.password_link_hours,
    }, active="admin")


def _requested(outcome: Outcome) -> web.Response:
    raise web.HTTPSeeOther(f"/admin/people?{urlencode({'requested': outcome.login})}")


@routes.post("/admin/people")
async def person_add(request: web.Request) -> web.Response:
    """Add a person: an agency's first clerk at once (its link shown once), anyone else on request."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    fields = {k: form.get(k, "").strip()[:64] for k in ("login", "agency", "role")}
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            outcome = await add_person(session, fields["login"], fields["agency"], fields["role"],
                                       actor=user.actor, now=ctx.clock(),
                                       link_hours=ctx.settings.password_link_hours)
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc), form=fields)
    if outcome.link is None:
        return _requested(outcome)
    return _link_page(request, outcome, added=True)


def _back(login: str, form: MultiDict[str]) -> str:
    # Back to the list the operator was looking at (one agency, or all).
    shown = form.get("shown", "").strip()[:13]
    return f"/admin/people?{urlencode({'agency': shown, 'saved': login} if shown else {'saved': login})}"


@routes.post("/admin/people/{login}/role")
async def person_role(request: web.Request) -> web.Response:
    """Change a person's role (not one's own): lowering at once, a raise on request."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            outcome = await change_role(session, request.match_info["login"], form.get("role", ""),
                                        actor=user.actor, now=ctx.clock())
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    if outcome.request is not None:
        return _requested(outcome)
    raise web.HTTPSeeOther(_back(outcome.login, form))


@routes.post("/admin/people/{login}/active")
async def person_active(request: web.Request) -> web.Response:
    """Disable (their sessions end at once) or enable a person."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    try:
        async with request.app[CONTEXT].sessions() as session, session.begin():
            changed = await set_person_active(session, request.match_info["login"], form.get("active") == "1",
                                              actor=user.actor)
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    raise web.HTTPSeeOther(_back(changed.login, form))


@routes.post("/admin/people/{login}/password")
async def person_password(request: web.Request) -> web.Response:
    """Ask for a new set-password link for a person; a second operator confirms it."""
    user = require_user(request, OPERATOR)
    await checked_form(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            outcome = await reset_password(session, request.match_info["login"], actor=user.actor, now=ctx.clock())
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    return _requested(outcome)


def _request_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


@routes.post("/admin/people/requests/{id}/confirm")
async def request_confirm(request: web.Request) -> web.Response:
    """A second operator carries out a waiting request; a link it makes is shown to them once."""
    user = require_user(request, OPERATOR)
    await checked_form(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            outcome = await confirm_request(session, _request_id(request), actor=user.actor, now=ctx.clock(),
                                            link_hours=ctx.settings.password_link_hours)
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    if outcome.link is None:
        raise web.HTTPSeeOther(f"/admin/people?{urlencode({'saved': outcome.login})}")
    return _link_page(request, outcome, added=outcome.request is not None and outcome.request.kind == "add")


@routes.post("/admin/people/requests/{id}/cancel")
async def request_cancel(request: web.Request) -> web.Response:
    """Drop a waiting request."""
    user = require_user(request, OPERATOR)
    await checked_form(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            row = await cancel_request(session, _request_id(request), actor=user.actor, now=ctx.clock())
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    raise web.HTTPSeeOther(f"/admin/people?{urlencode({'saved': row.login})}")
