"""Rendering pages: the shared template context, and error pages in the user's language."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from axis.web.auth import (
    CSRF_FIELD,
    PRELOGIN_CSRF_COOKIE,
    csrf_token_for,
    current_user,
    language_of,
    set_cookie,
)
from axis.web.i18n import Translator
from storage.payloads.backends import PayloadBody, PayloadStream

# Declared content types are echoed only when they look like a plain MIME type.
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$", re.ASCII)


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, active: str = "") -> web.Response:
    """Render ``template`` with the page frame's context (user, translator, CSRF token)."""
    lang = language_of(request)
    user = current_user(request)
    csrf = csrf_token_for(request)
    t = Translator(lang)
    base: dict[str, Any] = {
        "t": t,
        "lang": lang,
        "user": user,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf,
        "active": active,
        # Where the language switch returns to: this page, unless it answers a form post.
        "here": request.path_qs if request.method == "GET" else ("/inbox" if user else "/login"),
        "size_text": t.size,  # sizes in the reader's language (17,0 kB / 17.0 kB)
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


def download(body: PayloadBody, filename: str, content_type: str, *,
             charset: str | None = None) -> web.Response:
    """A file to save, never to render as a page of this site (attachment, sandboxing CSP)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    kind = content_type if _MIME_RE.fullmatch(content_type.lower()) else "application/octet-stream"
    response = web.Response(body=body, headers={
        "Content-Type": f"{kind}; charset={charset}" if charset else kind,
        # RFC 6266: a plain fallback name, then the real (Vietnamese) name in UTF-8.
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}",
    })
    if isinstance(body, PayloadStream):
        response.headers["Content-Length"] = str(body.size)  # rows from the database, sent as read
    # A downloaded file never runs as a page of this site, whatever it claims to be.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
