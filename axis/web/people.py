"""Operator pages: the people of each agency — add (one-time password), change role, disable, reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from axis.appkeys import CONTEXT
from axis.web.auth import checked_form, language_of, require_user
from axis.web.i18n import Translator
from axis.web.rendering import render
from storage.models import Agency, User
from storage.people.accounts import Role, UserError
from storage.people.management import (
    UnknownPerson,
    add_person,
    change_role,
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
    return render(request, "admin_people.html", {
        "people": listed, "agencies": agencies, "counts": counts, "agency": agency, "roles": ROLES,
        "error": error, "form": form or {}, "saved": request.query.get("saved", "")[:64],
    }, status=status, active="admin")


@routes.get("/admin/people")
async def people_page(request: web.Request) -> web.Response:
    """The users of one agency (or all), with a form to add one."""
    require_user(request, OPERATOR)
    return await _people_page(request)


def _password_page(request: web.Request, login: str, agency: str, password: str, *, added: bool) -> web.Response:
    return render(request, "admin_password.html", {
        "login": login, "agency": agency, "password": password, "added": added,
    }, active="admin")


@routes.post("/admin/people")
async def person_add(request: web.Request) -> web.Response:
    """Add a person with a generated password, shown on this one answer only."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    fields = {k: form.get(k, "").strip()[:64] for k in ("login", "agency", "role")}
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            added, password = await add_person(session, fields["login"], fields["agency"], fields["role"],
                                               actor=user.actor)
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc), form=fields)
    return _password_page(request, added.login, fields["agency"], password, added=True)


def _back(login: str, form: MultiDict[str]) -> str:
    # Back to the list the operator was looking at (one agency, or all).
    shown = form.get("shown", "").strip()[:13]
    return f"/admin/people?{urlencode({'agency': shown, 'saved': login} if shown else {'saved': login})}"


#: A change to one person: (session, login, form, actor) → the person changed.
PersonChange = Callable[[AsyncSession, str, MultiDict[str], str], Awaitable[User]]


async def _change_person(request: web.Request, change: PersonChange) -> web.Response:
    """Apply ``change`` to the person in the path as the operator, then back to the list they came from."""
    user = require_user(request, OPERATOR)
    form = await checked_form(request)
    try:
        async with request.app[CONTEXT].sessions() as session, session.begin():
            changed = await change(session, request.match_info["login"], form, user.actor)
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    raise web.HTTPSeeOther(_back(changed.login, form))


@routes.post("/admin/people/{login}/role")
async def person_role(request: web.Request) -> web.Response:
    """Change a person's role (not one's own)."""
    return await _change_person(request, lambda session, login, form, actor: change_role(
        session, login, form.get("role", ""), actor=actor))


@routes.post("/admin/people/{login}/active")
async def person_active(request: web.Request) -> web.Response:
    """Disable (their sessions end at once) or enable a person."""
    return await _change_person(request, lambda session, login, form, actor: set_person_active(
        session, login, form.get("active") == "1", actor=actor))


@routes.post("/admin/people/{login}/password")
async def person_password(request: web.Request) -> web.Response:
    """Give a person a new generated password, shown once."""
    user = require_user(request, OPERATOR)
    await checked_form(request)
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            changed, password = await reset_password(session, request.match_info["login"], actor=user.actor)
            agency = await session.get(Agency, changed.agency_id)
    except UnknownPerson:
        raise web.HTTPNotFound() from None
    except UserError as exc:
        return await _people_page(request, status=400, error=Translator(language_of(request)).error(exc))
    return _password_page(request, changed.login, agency.code if agency else "", password, added=False)
