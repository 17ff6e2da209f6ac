"""Shared helpers for signature-policy tests: an agency's SDK client and its policy, as an operator sets them."""

from __future__ import annotations

from storage.registry.vxp import issue_vxp_secret, set_signature_policy
from tests.harness import Agent, Harness
from tests.vxp.sdk_client import SdkClient


async def sdk_for(axis: Harness, agent: Agent) -> SdkClient:
    """Issue ``agent``'s system id and secret and a client using them."""
    async with axis.ctx.sessions() as session, session.begin():
        chosen, secret = await issue_vxp_secret(session, agent.code, axis.ctx.vxp_cipher, actor="test")
    axis.ctx.registry.invalidate()
    return SdkClient(axis.url + "/vxp", chosen, secret)


async def set_policy(axis: Harness, code: str, policy: str) -> None:
    """Set an agency's signature policy as an operator would."""
    async with axis.ctx.sessions() as session, session.begin():
        await set_signature_policy(session, code, policy, actor="test")
    axis.ctx.registry.invalidate()
