"""Audit entries for what a person reads or downloads through the web UI."""

from __future__ import annotations

from typing import Any

from axis.context import AxisContext
from axis.web.auth import WebUser
from storage.audit import queue_event


async def audit_person(ctx: AxisContext, user: WebUser, action: str, subject: str, **details: Any) -> None:
    """Record one audit entry for ``user`` (who, for which agency, through the UI) in its own transaction."""
    async with ctx.sessions() as session, session.begin():
        await queue_event(session, actor=user.actor, action=action, subject=subject,
                           details={"agency": user.agency.code, "via": "web", **details}, at=ctx.clock())
