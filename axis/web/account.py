"""Signing in and out, one's own password (a set-password link, or the current one), the UI language."""

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
    require_user,
    safe_next,
    set_cookie,
    set_session_cookie,
)
from axis.web.client_address import client_address, trusted_networks
from axis.web.i18n import LANGUAGES, Translator
from axis.web.rendering import render
from storage.audit import append_event, queue_event
from storage.people.accounts import (
    MIN_PASSWORD_LENGTH,
    UserError,
    close_session,
    normalise_login,
    open_session,
    password_matches,
    set_session_language,
    user_by_login,
)
from storage.people.management import LinkRefused, change_own_password, link_is_live, set_own_password
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
    """The front door: a signed-in person's landing page, else the sign-in form."""
    user = current_user(request)
    raise web.HTTPSeeOther(landing(user.role) if user else "/login")


def landing(role: str) -> str:
    """Where a person lands after signing in: operators run the axis (their own agency receives nothing)."""
    return "/admin" if role == "operator" else "/inbox"


@routes.get("/login")
async def login_form(request: web.Request) -> web.Response:
    """The sign-in form."""
    user = current_user(request)
    if user is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next"), landing(user.role)))
    # No page asked for: the landing page follows the role, known only once signed in.
    return render(request, "login.html", {"next": safe_next(request.query.get("next"), ""), "error": None,
                                          "login": ""})


@routes.post("/login")
async def login_submit(request: web.Request) -> web.Response:
    """Check the password (throttled) and start a session."""
    form = await checked_form(request)
    login = normalise_login(form.get("login", ""))
    password = form.get("password", "")
    target = safe_next(form.get("next"), "")
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
    response = web.HTTPSeeOther(target or landing(user.role if user else ""))
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


def _password_page(request: web.Request, *, token: str = "", status: int = 200, error: str | None = None,
                   done: bool = False, link_dead: bool = False) -> web.Response:
    action = f"/account/set-password/{token}" if token else "/account/password"
    return render(request, "account_password.html", {
        "token": token, "action": action, "error": error, "done": done, "link_dead": link_dead,
        "min_length": MIN_PASSWORD_LENGTH,
    }, status=status)


def _link_token(request: web.Request) -> str:
    token = request.match_info["token"]
    # Links are token_urlsafe(32): anything else is not one, and is not looked up.
    if not 20 <= len(token) <= 64 or not token.replace("-", "").replace("_", "").isalnum():
        raise web.HTTPNotFound()
    return token


@routes.get("/account/set-password/{token}")
async def link_form(request: web.Request) -> web.Response:
    """The page a set-password link opens: choose a password (no sign-in needed, the link is the key)."""
    token = _link_token(request)
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session:
        live = await link_is_live(session, token, ctx.clock())
    return _password_page(request, token=token, status=200 if live else 410, link_dead=not live)


@routes.post("/account/set-password/{token}")
async def link_submit(request: web.Request) -> web.Response:
    """Set one's password with a link; the link is spent and the person signs in with the new password."""
    token = _link_token(request)
    form = await checked_form(request)
    password, again = form.get("password", ""), form.get("again", "")
    t = Translator(language_of(request))
    if password != again:
        return _password_page(request, token=token, status=400, error=t("account.mismatch"))
    ctx = request.app[CONTEXT]
    try:
        async with ctx.sessions() as session, session.begin():
            await set_own_password(session, token, password, ctx.clock())
    except LinkRefused:
        return _password_page(request, token=token, status=410, link_dead=True)
    except UserError as exc:
        return _password_page(request, token=token, status=400, error=str(exc))
    return _password_page(request, token=token, done=True)


@routes.get("/account/password")
async def own_password_form(request: web.Request) -> web.Response:
    """Every signed-in person's page to change their own password."""
    require_user(request)
    return _password_page(request, done=request.query.get("saved") == "1")


@routes.post("/account/password")
async def own_password_submit(request: web.Request) -> web.Response:
    """Change one's own password (the current one is asked again); other sessions end."""
    user = require_user(request)
    form = await checked_form(request)
    current, password, again = form.get("current", ""), form.get("password", ""), form.get("again", "")
    t = Translator(language_of(request))
    if password != again:
        return _password_page(request, status=400, error=t("account.mismatch"))
    ctx = request.app[CONTEXT]
    address = _address(request)
    keys = ThrottleKeys.of(user.login, address)
    now = ctx.clock()
    try:
        # The current password is a password check like a login's, so it is throttled like one.
        async with ctx.sessions() as session, session.begin():
            await claim_attempt(session, keys, now)
    except Throttled as wait:
        return _password_page(request, status=429, error=t("login.locked", until=t.when_seconds(wait.until)))
    async with ctx.sessions() as session:
        person = await user_by_login(session, user.login)
    if not await password_matches(person, current):
        async with ctx.sessions() as session, session.begin():
            await append_event(session, actor=user.actor, action="web.password_check_failed", subject=user.login,
                               details={"address": address}, at=now)
        return _password_page(request, status=400, error=t("account.wrong_current"))
    try:
        async with ctx.sessions() as session, session.begin():
            await attempt_succeeded(session, keys, now)
            await change_own_password(session, user.user_id, password, keep=user.session_id)
    except UserError as exc:
        return _password_page(request, status=400, error=str(exc))
    raise web.HTTPSeeOther("/account/password?saved=1")
