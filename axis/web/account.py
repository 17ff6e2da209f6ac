"""Signing in and out, and choosing the UI language."""

from __future__ import annotations

import asyncio
import time
from math import ceil

from aiohttp import web

from axis.appkeys import CONTEXT, SETTINGS
from axis.web.auth import (
    LANGUAGE_COOKIE,
    PRELOGIN_CSRF_COOKIE,
    checked_form,
    clear_session_cookie,
    current_user,
    language_of,
    safe_next,
    set_cookie,
    set_session_cookie,
)
from axis.web.client_address import client_address, trusted_networks
from axis.web.i18n import LANGUAGES, Translator
from axis.web.rendering import render
from storage.audit import append_event, queue_event
from storage.people.accounts import (
    close_session,
    normalise_login,
    open_session,
    password_matches,
    set_session_language,
    user_by_login,
)
from storage.people.throttle import (
    Throttled,
    ThrottleKeys,
    attempt_succeeded,
    claim_attempt,
    claim_unknown_account,
)

routes = web.RouteTableDef()

#: How long the last password check took: what an answer without one waits, so it reads the same.
_check_seconds = [0.05]


def _address(request: web.Request) -> str:
    # A proxy in front must be listed in trusted_proxies before X-Forwarded-For means anything.
    networks = trusted_networks(request.app[SETTINGS].trusted_proxies)
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), networks)


@routes.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    """The front door: the inbox for people who are signed in."""
    raise web.HTTPSeeOther("/inbox" if current_user(request) else "/login")


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    """The sign-in form."""
    if current_user(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query.get("next")), "error": None,
                                          "login": ""})


@routes.post("/login")
async def login_submit(request: web.Request) -> web.Response:
    """Check the password (throttled) and start a session."""
    form = await checked_form(request)
    login = normalise_login(form.get("login", ""))
    password = form.get("password", "")
    target = safe_next(form.get("next"))
    ctx = request.app[CONTEXT]
    address = _address(request)
    now = ctx.clock()
    t = Translator(language_of(request))

    keys = ThrottleKeys.of(login, address)
    try:
        # The attempt is counted before the password is checked, so parallel guesses share the count.
        async with ctx.sessions() as session, session.begin():
            await claim_attempt(session, keys, now)
    except Throttled as wait:
        page = render(request, "login.html", {"next": target, "login": login,
                                              "error": t("login.locked", until=t.when_seconds(wait.until))},
                      status=429)
        page.headers["Retry-After"] = str(max(1, ceil((wait.until - now).total_seconds())))
        return page

    async with ctx.sessions() as session:
        user = await user_by_login(session, login)
    spent = False
    if user is None:
        try:
            async with ctx.sessions() as session, session.begin():
                await claim_unknown_account(session, now)
        except Throttled:
            spent = True
    if spent:
        # The shared budget for unknown accounts is spent: no password hash is computed, yet the answer
        # takes as long and reads the same as any wrong password (it must not tell who exists).
        await asyncio.sleep(_check_seconds[0])
        ok = False
    else:
        started = time.perf_counter()
        ok = await password_matches(user, password)
        _check_seconds[0] = time.perf_counter() - started
    cookie: str | None = None
    async with ctx.sessions() as session, session.begin():
        if user is None or not ok:
            # Queued for the sealer, not chained here: a flood of failures must not serialise on the chain lock.
            await queue_event(session, actor=f"user:{login}"[:128], action="web.login_failed", subject=login[:128],
                              details={"address": address}, at=now)
        else:
            await attempt_succeeded(session, keys, now)
            cookie, _ = await open_session(session, user, now, language=language_of(request))
            await append_event(session, actor=f"user:{user.login}", action="web.login", subject=user.login,
                               details={"address": address}, at=now)
    if cookie is None:
        return render(request, "login.html", {"next": target, "login": login, "error": t("login.failed")},
                      status=401)
    response = web.HTTPSeeOther(target)
    set_session_cookie(request, response, cookie)
    response.del_cookie(PRELOGIN_CSRF_COOKIE, path="/")
    raise response


@routes.get("/logout")
async def logout_form(request: web.Request) -> web.Response:
    """Ask before logging out (logging out is a POST with a CSRF token)."""
    return render(request, "logout.html", {"done": current_user(request) is None})


@routes.post("/logout")
async def logout_submit(request: web.Request) -> web.Response:
    """End the session and forget the cookie."""
    await checked_form(request)
    user = current_user(request)
    if user is not None:
        ctx = request.app[CONTEXT]
        async with ctx.sessions() as session, session.begin():
            await close_session(session, user.session_id)
            await append_event(session, actor=user.actor, action="web.logout", subject=user.login, at=ctx.clock())
    response = web.HTTPSeeOther("/logout")
    clear_session_cookie(request, response)
    raise response


@routes.post("/language")
async def choose_language(request: web.Request) -> web.Response:
    """Switch the UI between Vietnamese and English."""
    form = await checked_form(request)
    lang = form.get("lang", "")
    if lang not in LANGUAGES:
        raise web.HTTPBadRequest()
    user = current_user(request)
    if user is not None:
        ctx = request.app[CONTEXT]
        async with ctx.sessions() as session, session.begin():
            await set_session_language(session, user.session_id, lang)
    response = web.HTTPSeeOther(safe_next(form.get("next"), "/login" if user is None else "/inbox"))
    # Also kept in a cookie, so the sign-in page speaks the same language after logout.
    set_cookie(request, response, LANGUAGE_COOKIE, lang, max_age=365 * 86400)
    raise response
