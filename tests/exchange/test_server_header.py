"""The `Server` header names no Python or aiohttp version, on any response, even one aiohttp writes itself."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp

from tests.harness import Harness


async def test_no_version_in_the_server_header(axis: Harness) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/api/v1/inbox", "/no-such-page", "/login"):
            async with http.get(axis.url + path) as response:
                assert response.headers.get("Server") == "axis", (path, response.headers.get("Server"))
    # A request line aiohttp cannot parse: its own 400 answer.
    url = urlsplit(axis.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    answer = (await asyncio.wait_for(reader.read(4096), 5)).decode("latin-1")
    writer.close()
    assert " 400 " in answer.split("\r\n", 1)[0], answer[:80]
    assert "Python" not in answer and "aiohttp" not in answer, answer
