"""The three measuring tools (sign and verify, monthly reports, /vxp latency) run at a tiny size and report sane figures."""

from __future__ import annotations

import asyncio
import math
import os

import pytest

from axis.bench import reports, sign_verify, vxp
from tests.databases import ENV


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_sign_verify_reports_positive_medians_that_grow_with_the_attachment() -> None:
    figures = sign_verify.measure(rounds=2, sizes={"1 KB": 1024, "200 KB": 200 * 1024})
    assert [f.label for f in figures] == ["1 KB", "200 KB"]
    for f in figures:
        assert _positive(f.sign_ms) and _positive(f.verify_ms), f
    assert figures[1].message_bytes > figures[0].message_bytes + 200 * 1024
    table = sign_verify.render(figures, rounds=2)
    assert "median of 2 rounds" in table and "200 KB" in table


def test_reports_seeds_the_month_and_times_every_phase() -> None:
    figures = asyncio.run(reports.measure(300, os.environ.get(ENV), rounds=1, read_rounds=2))
    assert figures["documents"] == 300
    assert figures["backend"] == ("postgresql" if os.environ.get(ENV, "").startswith("postgresql") else "sqlite")
    for key in ("seed_s", *reports.LABELS):
        assert _positive(figures[key]), (key, figures[key])
    text = reports.render(figures)
    assert "300 documents, 600 deliveries" in text and "outgoing register" in text


@pytest.mark.timeout(180)
def test_vxp_times_each_call_kind_against_a_real_server() -> None:
    figures = vxp.measure(calls=5, database_url=os.environ.get(ENV))
    assert [f.name for f in figures] == list(vxp.CALLS.values())
    for f in figures:
        assert f.count == 5, f
        assert _positive(f.median_ms) and f.median_ms <= f.p95_ms, f
    assert "POST /vxp/sendEdoc" in vxp.render(figures)
