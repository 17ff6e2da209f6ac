"""Bearer-token authentication of agency DMS calls."""

from __future__ import annotations

from aiohttp import web

from axis.api.problems import ForbiddenProblem, UnauthorizedProblem
from axis.appkeys import CONTEXT
from storage.registry.cache import RegisteredAgency

AGENCY_KEY = web.RequestKey("agency", RegisteredAgency)


async def authenticate(request: web.Request) -> RegisteredAgency:
    """The agency calling, from ``Authorization: Bearer <token>``; 401/403 otherwise."""
    cached: RegisteredAgency | None = request.get(AGENCY_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedProblem("send Authorization: Bearer <token>")
    # In memory: the registry is refreshed when its version moves (no database round trip here).
    agency = await request.app[CONTEXT].registry.agency_by_token(token.strip())
    if agency is None:
        raise UnauthorizedProblem("unknown token")
    if not agency.active:
        raise ForbiddenProblem(f"agency {agency.code} is disabled")
    request[AGENCY_KEY] = agency
    return agency
