"""The certificate section of the operators' health page: what has expired or soon will."""

from __future__ import annotations

from typing import Any

from axis.certificate_expiry import current_records, needing_attention
from axis.context import AxisContext


async def certificate_section(ctx: AxisContext) -> dict[str, Any]:
    """Template context for ``_admin_certificates.html``: the records needing attention, soonest first."""
    now = ctx.clock()
    days = ctx.settings.cert_warning_days
    records = await current_records(ctx)
    flagged = needing_attention(records, now, days)
    return {
        "days": days,
        "count": len(records),
        "attention": [(r, r.state(now, days), r.days_left(now)) for r in flagged],
    }
