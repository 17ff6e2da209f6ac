"""Rendering pages: the shared template context, and error pages in the user's language."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from axis.web.auth import CSRF_FIELD, PRELOGIN_CSRF_COOKIE, csrf_token_for, current_user, language_of, set_cookie
from axis.web.i18n import Translator, size_text


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, active: str = "") -> web.Response:
    """Render ``template`` with the page frame's context (user, translator, CSRF token)."""
    lang = language_of(request)
    user = current_user(request)
    csrf = csrf_token_for(request)
    base: dict[str, Any] = {
        "t": Translator(lang),
        "lang": lang,
        "user": user,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf,
        "active": active,
        # Where the language switch returns to: this page, unless it answers a form post.
        "here": request.path_qs if request.method == "GET" else ("/inbox" if user else "/login"),
        "size_text": size_text,
    }
    base.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, base, status=status)
    if user is None and request.cookies.get(PRELOGIN_CSRF_COOKIE) != csrf:
        # First anonymous page: plant the double-submit cookie the forms are checked against.
        set_cookie(request, response, PRELOGIN_CSRF_COOKIE, csrf)
    return response


def render_error(request: web.Request, status: int, message_key: str | None = None) -> web.Response:
    """An error page; the message comes from the catalogue (error.<status> by default)."""
    key = message_key or f"error.{status}"
    t = Translator(language_of(request))
    try:
        t(key)
    except KeyError:
        key = "error.400" if status < 500 else "error.500"
    return render(request, "error.html", {"status": status, "message_key": key}, status=status)
