"""The series the alert rules read beside the request counters: push errors by agency, the audit head's age."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from axis.bench.server import free_port
from axis.jobs.archive import audit_head_job
from signing.keys import DevelopmentCA, IssuedIdentity
from tests.databases import DatabaseTemplate
from tests.harness import Harness, server_settings, start_server

A, B, C = "000.00.00.G22", "000.00.00.H29", "000.00.00.H41"


async def _samples(axis: Harness, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Values of one series by its labels, from a real scrape of /metrics."""
    async with aiohttp.ClientSession() as http, http.get(axis.url + "/metrics") as r:
        assert r.status == 200
        text = await r.text()
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


async def test_failed_pushes_are_counted_by_recipient_agency(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, retry_base_seconds=0.05, retry_max_seconds=0.1,
                                   metrics_refresh_seconds=0.0)
        axis, server = await start_server(settings, test_ca, identities)
        try:
            a = await axis.register(A)
            await axis.register(B)  # pulls: never pushed to, never an error
            # Nothing listens on this port: every push to C fails with a refused connection.
            await axis.register(C, endpoint=f"http://127.0.0.1:{free_port()}/axis/push")
            _, signed = a.document([B, C])
            async with a.client() as client:
                await client.submit(signed)
            deadline = time.monotonic() + 20
            while True:
                errors = await _samples(axis, "axis_push_errors_total")
                if errors.get((("agency", C),), 0) >= 2:
                    break
                assert time.monotonic() < deadline, errors
                await asyncio.sleep(0.1)
            assert set(errors) == {(("agency", C),)}  # one series per failing recipient, none for B or A
            attempts = await _samples(axis, "axis_push_attempts_total")
            assert attempts[(("outcome", "error"),)] >= errors[(("agency", C),)]
        finally:
            await server.close()


async def test_audit_head_age_and_the_entries_after_it(
        tmp_path: Path, db_template: DatabaseTemplate, test_ca: DevelopmentCA,
        identities: dict[str, IssuedIdentity]) -> None:
    now = [datetime.now(UTC)]
    async with db_template.clone(tmp_path) as url:
        settings = server_settings(tmp_path / "home", url, metrics_refresh_seconds=0.0)
        axis, server = await start_server(settings, test_ca, identities, workers=False, clock=lambda: now[0])
        try:
            await axis.register(A)  # audited: the chain has entries and no head signs them
            unsigned = (await _samples(axis, "axis_audit_entries_unsigned"))[()]
            assert unsigned >= 1

            assert (await audit_head_job(axis.ctx)).startswith("signed head")
            assert (await _samples(axis, "axis_audit_entries_unsigned"))[()] == 0
            assert (await _samples(axis, "axis_audit_head_age_seconds"))[()] < 5

            # Two hours later, with a new entry the head does not cover: what AxisAuditHeadTooOld fires on.
            now[0] += timedelta(hours=2)
            await axis.register(B)
            assert (await _samples(axis, "axis_audit_entries_unsigned"))[()] >= 1
            age = (await _samples(axis, "axis_audit_head_age_seconds"))[()]
            assert 7200 <= age < 7205

            await audit_head_job(axis.ctx)
            assert (await _samples(axis, "axis_audit_entries_unsigned"))[()] == 0
            assert (await _samples(axis, "axis_audit_head_age_seconds"))[()] < 5
        finally:
            await server.close()
