"""Bearer-token authentication of agency DMS calls."""

from __future__ import annotations

from aiohttp import web

from axis.api.problems import ForbiddenProblem, UnauthorizedProblem
from axis.appkeys import CONTEXT
from storage.db import read_session
from storage.models import Agency
from storage.registry import agency_by_token

AGENCY_KEY = web.RequestKey("agency", Agency)


async def authenticate(request: web.Request) -> Agency:
    """The agency calling, from ``Authorization: Bearer <token>``; 401/403 otherwise."""
    cached: Agency | None = request.get(AGENCY_KEY)
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedProblem("send Authorization: Bearer <token>")
    ctx = request.app[CONTEXT]
    async with read_session(ctx.engine) as session:
        agency = await agency_by_token(session, token.strip())
    if agency is None:
        raise UnauthorizedProblem("unknown token")
    if not agency.active:
        raise ForbiddenProblem(f"agency {agency.code} is disabled")
    request[AGENCY_KEY] = agency
    return agency
