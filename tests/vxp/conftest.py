"""Helpers for /vxp tests: issue an agency's SDK credentials on the running axis."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import VxpReplay
from storage.registry.vxp import issue_vxp_secret, set_signature_policy
from tests.harness import Agent, Harness
from tests.vxp.sdk_client import SdkClient


async def sdk_for(axis: Harness, agent: Agent, system_id: str | None = None) -> SdkClient:
    """Issue ``agent``'s system id and secret (as `axis agency vxp-secret` does) and a client using them."""
    async with axis.ctx.sessions() as session, session.begin():
        chosen, secret = await issue_vxp_secret(session, agent.code, axis.ctx.vxp_cipher, system_id=system_id,
                                                actor="test")
    axis.ctx.registry.invalidate()
    return SdkClient(axis.url + "/vxp", chosen, secret)


async def set_policy(axis: Harness, code: str, policy: str) -> None:
    """Set an agency's signature policy as an operator would."""
    async with axis.ctx.sessions() as session, session.begin():
        await set_signature_policy(session, code, policy, actor="test")
    axis.ctx.registry.invalidate()


async def replays(axis: Harness) -> int:
    """How many hash-headers the axis remembers."""
    async with axis.ctx.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(VxpReplay))).scalar_one())
