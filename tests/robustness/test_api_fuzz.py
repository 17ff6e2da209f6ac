"""Fuzzing the API from its own description: schemathesis against /api/v1/openapi.json.

Every operation is called with requests generated from the schema (valid ones, and invalid
ones to see them refused), over loopback to a live axis, with a valid bearer token. No answer
may be a 5xx, and every answer must match what the description promises for it (status,
content type, body schema). A bounded number of examples keeps it well under a minute.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from envelope.codes import StatusCode
from tests.exchange.snapshots import call
from tests.harness import Harness

A, B = "000.00.00.G22", "000.00.00.H29"
EXAMPLES = 30


def _fuzz(base_url: str, token: str) -> Counter[str]:
    """Run every operation in both generation modes; return how many calls each status class got."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json")
    seen: Counter[str] = Counter()
    failures: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def exercise(case: schemathesis.Case) -> None:
                    headers = {"Authorization": f"Bearer {token}"}
                    if case.headers and "Authorization" in case.headers:
                        headers = {}  # the case itself is about the credentials
                    response = case.call(base_url=base_url, session=http, headers=headers, timeout=30)
                    seen[f"{response.status_code // 100}xx"] += 1
                    try:
                        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                    except Exception as exc:  # noqa: BLE001 - collect every failing operation, then report
                        # Called at once by hypothesis, inside this loop turn: the loop variables are current.
                        failures.append(f"{operation.label} [{mode.value}]: {exc}"[:2000])  # noqa: B023
                        raise

                try:
                    exercise()
                except Exception:  # noqa: BLE001 - already recorded; go on with the other operations
                    pass
    assert not failures, "\n\n".join(failures)
    return seen


@pytest.mark.timeout(120)
async def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(axis: Harness) -> None:
    a, b = await axis.register(A), await axis.register(B)
    # Some real traffic, so that the lists and the report have something in them.
    for i in range(3):
        doc, signed = a.document([b], subject=f"Văn bản thử nghiệm {i}")
        assert (await call(axis, "POST", "/api/v1/documents", token=a, data=signed)).status == 202
        arrived = await call(axis, "POST", "/api/v1/statuses", token=b, data=b.status(doc, StatusCode.ARRIVED))
        assert arrived.status == 202
    started = time.monotonic()
    seen = await asyncio.to_thread(_fuzz, axis.url, a.token)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {sum(seen.values())} calls in {elapsed:.1f}s: {dict(seen)}")
    assert seen["2xx"] > 0 and seen["4xx"] > 0 and not seen["5xx"]
    health = await call(axis, "GET", "/healthz")
    assert health.status == 200
