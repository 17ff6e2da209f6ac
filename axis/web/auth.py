"""Who is using the web UI: session cookies, roles, CSRF tokens, security headers."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import quote, urlsplit

from aiohttp import web
from multidict import MultiDict

from axis.appkeys import CONTEXT, SETTINGS
from axis.web.i18n import DEFAULT_LANGUAGE, LANGUAGES
from storage.models import Agency
from storage.people.accounts import SESSION_LIFETIME, Role, find_session

LANGUAGE_COOKIE = "axis_lang"
# Before login there is no session to hold a CSRF token: the login form uses a
# double-submit cookie instead (the form value must equal this cookie).
PRELOGIN_CSRF_COOKIE = "axis_csrf"
CSRF_FIELD = "csrf_token"
# UI forms are small (the largest is a certificate PEM); the API's 200 MB limit is not for them.
FORM_LIMIT = 1 << 20

#: The policy every HTML page is served with: nothing inline, nothing from elsewhere, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


@dataclass(frozen=True)
class WebUser:
    """The person behind a request, with the agency they act for."""

    user_id: int
    login: str
    role: str
    agency: Agency
    session_id: str
    csrf_token: str
    language: str

    @property
    def actor(self) -> str:
        """How this person appears in the audit log."""
        return f"user:{self.login}"

    @property
    def is_operator(self) -> bool:
        """Operators manage the registry and deliveries."""
        return self.role == Role.OPERATOR.value

    @property
    def is_archivist(self) -> bool:
        """Archivists run retention: holds, disposal lists, approvals."""
        return self.role == Role.ARCHIVIST.value

    @property
    def sees_archive(self) -> bool:
        """Archivists and operators see the archive pages and every agency's figures."""
        return self.is_archivist or self.is_operator


WEB_USER = web.RequestKey("web_user", WebUser)


class CsrfRefused(Exception):
    """A form came without the right CSRF token, or from another origin."""


def session_cookie_name(request: web.Request) -> str:
    """The session cookie; ``__Host-`` when Secure, so no subdomain can plant or read it."""
    return "__Host-axis_session" if request.app[SETTINGS].secure_cookies else "axis_session"


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               *, max_age: int | None = None) -> None:
    """Set a cookie with the flags every UI cookie carries."""
    response.set_cookie(
        name, value, path="/", httponly=True, samesite="Lax", max_age=max_age,
        secure=request.app[SETTINGS].secure_cookies,
    )


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    """Hand the browser its session cookie."""
    set_cookie(request, response, session_cookie_name(request), value,
               max_age=int(SESSION_LIFETIME.total_seconds()))


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Make the browser forget its session cookie."""
    response.del_cookie(session_cookie_name(request), path="/")


async def load_user(request: web.Request) -> WebUser | None:
    """Find the session named by the cookie and remember its person on the request."""
    cookie = request.cookies.get(session_cookie_name(request))
    if not cookie:
        return None
    ctx = request.app[CONTEXT]
    async with ctx.sessions() as session, session.begin():
        active = await find_session(session, cookie, ctx.clock())
    if active is None:
        return None
    user = WebUser(
        user_id=active.user.id, login=active.user.login, role=active.user.role, agency=active.agency,
        session_id=active.web_session.id, csrf_token=active.web_session.csrf_token,
        language=active.web_session.language,
    )
    request[WEB_USER] = user
    return user


def current_user(request: web.Request) -> WebUser | None:
    """The logged-in person, or None."""
    return request.get(WEB_USER)


def language_of(request: web.Request) -> str:
    """The UI language: the session's choice, else the browser cookie, else Vietnamese."""
    user = current_user(request)
    if user is not None and user.language in LANGUAGES:
        return user.language
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _to_login(request: web.Request) -> NoReturn:
    target = request.path_qs if request.method == "GET" else "/inbox"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")


def require_user(request: web.Request, *roles: Role) -> WebUser:
    """The logged-in person (else a redirect to /login); 403 when their role is not among ``roles``."""
    user = current_user(request)
    if user is None:
        _to_login(request)
    if roles and user.role not in {r.value for r in roles}:
        raise web.HTTPForbidden()
    return user


def safe_next(target: str | None, default: str = "/inbox") -> str:
    """A redirect target on this site only: a path, never ``//host`` or a full URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def prelogin_csrf_token(request: web.Request) -> str:
    """The double-submit token for forms shown before login (reuses the browser's cookie)."""
    token = request.cookies.get(PRELOGIN_CSRF_COOKIE, "")
    return token if len(token) >= 32 else secrets.token_urlsafe(32)


def csrf_token_for(request: web.Request) -> str:
    """The token the page's forms must carry back."""
    user = current_user(request)
    return user.csrf_token if user is not None else prelogin_csrf_token(request)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser; the CSRF token below still has to match
    # Browsers send Origin on every POST; a different host means another site built this form.
    return urlsplit(origin).netloc == request.host


async def checked_form(request: web.Request) -> MultiDict[str]:
    """The posted form, after checking its CSRF token and origin (CsrfRefused otherwise)."""
    if request.content_length is None:
        raise web.HTTPLengthRequired()
    if request.content_length > FORM_LIMIT:
        raise web.HTTPRequestEntityTooLarge(max_size=FORM_LIMIT, actual_size=request.content_length)
    form = await request.post()
    if not _same_origin(request):
        raise CsrfRefused("cross-origin form")
    sent = form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not sent:
        raise CsrfRefused("no CSRF token")
    user = current_user(request)
    expected = user.csrf_token if user is not None else request.cookies.get(PRELOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused("wrong CSRF token")
    # Only text fields are used by the UI; uploaded files are left out.
    return MultiDict((k, v) for k, v in form.items() if isinstance(v, str))


def apply_security_headers(response: web.StreamResponse, *, cacheable: bool = False) -> None:
    """Headers for every UI response: CSP and framing rules; private pages are never cached."""
    for name, value in SECURITY_HEADERS.items():
        # A handler's stricter choice (e.g. a sandboxed download) stands.
        response.headers.setdefault(name, value)
    if not cacheable:
        response.headers["Cache-Control"] = "no-store"
