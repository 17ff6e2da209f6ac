"""The access log and the request histogram carry the status the client really got."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from axis.app import create_app
from axis.appkeys import METRICS
from axis.logformat import Fields, JsonFormatter
from tests.databases import DatabaseTemplate
from tests.harness import server_settings


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a handler")


@pytest.fixture
async def served(tmp_path: Path, db_template: DatabaseTemplate) -> AsyncIterator[tuple[str, web.Application]]:
    """An axis with one extra route that fails the way a bug does."""
    async with db_template.clone(tmp_path) as url:
        app = create_app(server_settings(tmp_path / "home", url), workers=False)
        app.router.add_get("/boom", _boom)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/"), app
        finally:
            await server.close()


def _logged(caplog: pytest.LogCaptureFixture, path: str) -> list[int]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "axis.access"]
    return [line["status"] for line in lines if line["path"] == path]


def _count(app: web.Application, route: str, status: int) -> float:
    value = app[METRICS].registry.get_sample_value(
        "axis_request_seconds_count", {"route": route, "method": "GET", "status": str(status)})
    return value or 0.0


async def test_redirect_404_and_500_are_logged_and_counted_with_their_real_status(
        served: tuple[str, web.Application], caplog: pytest.LogCaptureFixture) -> None:
    url, app = served
    caplog.set_level(logging.INFO, logger="axis.access")
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/", allow_redirects=False) as r:  # not logged in: to /login
            assert r.status == 303
        async with http.get(url + "/api/v1/no-such-thing") as r:
            assert r.status == 404
        async with http.get(url + "/boom") as r:
            assert r.status == 500

    assert _logged(caplog, "/") == [303]
    assert _logged(caplog, "/api/v1/no-such-thing") == [404]
    assert _logged(caplog, "/boom") == [500]
    assert _count(app, "/", 303) == 1 and _count(app, "/", 500) == 0
    assert _count(app, "unmatched", 404) >= 1
    assert _count(app, "/boom", 500) == 1


def _record(msg: object, args: tuple[object, ...] = ()) -> logging.LogRecord:
    return logging.LogRecord("axis.access", logging.INFO, __file__, 1, msg, args, None)


def test_a_fields_line_is_the_same_json_in_both_log_formats() -> None:
    fields = {"event": "request", "path": "/api/v1/inbox", "status": 200, "agency": None, "client": "127.0.0.1"}
    text = logging.Formatter("%(message)s").format(_record(Fields(fields)))
    assert json.loads(text) == fields
    line = json.loads(JsonFormatter().format(_record(Fields(fields))))
    assert {k: line[k] for k in fields} == fields
    assert line["level"] == "info" and line["logger"] == "axis.access" and "message" not in line


def test_the_json_format_still_merges_a_message_written_as_json_and_keeps_plain_text() -> None:
    merged = json.loads(JsonFormatter().format(_record('{"event": "x", "n": 1}')))
    assert merged["event"] == "x" and merged["n"] == 1
    plain = json.loads(JsonFormatter().format(_record("listening on %s", ("127.0.0.1",))))
    assert plain["message"] == "listening on 127.0.0.1"
