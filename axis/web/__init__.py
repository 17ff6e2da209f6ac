"""The clerks' web UI: server-rendered pages (aiohttp-jinja2), Vietnamese first, no JS framework."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from axis.api.problems import problem_for
from axis.web import (
    account,
    admin,
    archive,
    archive_records,
    documents,
    holds,
    inbox,
    messages,
    people,
    registers,
    reports,
)
from axis.web.auth import CsrfRefused, apply_security_headers, load_user
from axis.web.rendering import render_error
from storage.db import STORAGE_UNAVAILABLE

__all__ = ["setup_web"]

log = logging.getLogger("axis.web")
HERE = Path(__file__).resolve().parent
# Paths served by the UI; everything else (the API, /healthz, /metrics) keeps problem+json answers.
WEB_PREFIXES = ("/login", "/logout", "/language", "/account/", "/inbox", "/outbox", "/documents/", "/reports",
                "/registers/", "/archive/", "/admin", "/static", "/favicon.ico")
#: The icon browsers ask for on every site's first page: static, the same for everyone, cached for a day.
FAVICON = HERE / "static" / "favicon.ico"
FAVICON_CACHE = "public, max-age=86400"
FAVICON_BYTES = web.AppKey("favicon_bytes", bytes)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_web_path(path: str) -> bool:
    """True for a path the web UI answers (HTML error pages, security headers, sessions)."""
    return path == "/" or path.startswith(WEB_PREFIXES)


@web.middleware
async def web_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the person, render errors as pages in their language, add the security headers."""
    if not is_web_path(request.path):
        return await handler(request)
    static = request.path.startswith("/static/") or request.path == "/favicon.ico"
    try:
        if not static:
            await load_user(request)
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            apply_security_headers(exc)
            raise
        response = render_error(request, exc.status)
    except CsrfRefused as exc:
        log.info("form refused on %s: %s", request.path, exc)
        response = render_error(request, 403, "error.csrf")
    except STORAGE_UNAVAILABLE as exc:
        log.warning("unavailable: %s %s: %r", request.method, request.path, exc)
        response = render_error(request, 503)
    except Exception as exc:  # noqa: BLE001 - a page error must not take the server down
        problem = problem_for(exc)
        if problem is None:
            log.exception("unhandled error on %s %s", request.method, request.path)
        response = render_error(request, problem.status if problem else 500)
    apply_security_headers(response, cacheable=static)
    return response


async def favicon(request: web.Request) -> web.Response:
    """The site icon (the red flag's yellow star), so no page's first visit ends in a 404."""
    return web.Response(body=request.app[FAVICON_BYTES], content_type="image/x-icon",
                        headers={"Cache-Control": FAVICON_CACHE})


def setup_web(app: web.Application) -> None:
    """Add the UI's templates, routes, static files and middleware to the axis application."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        # Every value is escaped unless a template says otherwise (none does).
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for module in (account, inbox, documents, registers, reports, archive, holds, admin, archive_records, messages,
                   people):
        app.add_routes(module.routes)
    app.router.add_static("/static/", HERE / "static", name="static", append_version=False)
    app[FAVICON_BYTES] = FAVICON.read_bytes()  # read once: it is asked for on every first visit
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    # Innermost: it sees the UI's errors before the API's problem+json middleware does.
    app.middlewares.append(web_middleware)
