"""The daily certificate check: log what expires soon, let a registered next certificate take over."""

from __future__ import annotations

from axis.certificate_expiry import current_records, log_attention
from axis.context import AxisContext
from axis.jobs.runner import JobSpec
from storage.registry.agencies import retire_expired_certificates


async def certificate_job(ctx: AxisContext) -> str:
    """Retire expired current certificates that have a successor, then warn about expired and expiring ones."""
    now = ctx.clock()
    async with ctx.sessions() as session, session.begin():
        retired = await retire_expired_certificates(session, now)
    if retired:
        ctx.registry.invalidate()
    records = await current_records(ctx)
    days = ctx.settings.cert_warning_days
    flagged = log_attention(records, now, days)
    expired = sum(1 for r in flagged if r.state(now, days) == "expired")
    summary = f"{len(records)} certificates: {expired} expired, {len(flagged) - expired} expiring within {days} days"
    if retired:
        summary += f"; next certificate took over for {', '.join(retired)}"
    return summary


CERTIFICATES = JobSpec(
    "certificates.expiry", 86400.0, certificate_job,
    "warn about expiring certificates; a registered next certificate replaces an expired one",
    interval_setting="cert_check_interval_seconds",
)
