"""A push endpoint on loopback that accepts connections and never answers (or trickles), for isolation tests."""

from __future__ import annotations

import asyncio


class SilentEndpoint:
    """Accepts every connection, reads what comes, and answers nothing (or one byte every ``trickle`` seconds)."""

    def __init__(self, trickle: float | None = None) -> None:
        self.trickle = trickle
        self.connections = 0
        self.open = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        """Listen on a free loopback port; return the endpoint URL."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/axis/push"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self._writers.append(writer)
        try:
            if self.trickle is None:
                while await reader.read(65536):
                    pass
                return
            await reader.read(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.trickle)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open -= 1

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
