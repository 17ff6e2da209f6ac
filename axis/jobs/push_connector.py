"""The push worker's connector: it resolves, checks and connects to the same addresses.

A check that resolves a name and lets the HTTP client resolve it again is open to DNS rebinding: the
name answers a public address to the check and 127.0.0.1 to the connection. Here the check sits inside
the client's own resolver, so the connector receives only addresses that passed, and a socket factory
checks the very address each socket is about to connect to (this also covers a URL whose host is an
IP literal, which aiohttp never hands to a resolver).
"""

from __future__ import annotations

import socket

import aiohttp
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult

from axis.exchange.push_addresses import AddressPolicy, AddressRefused


class CheckedResolver(AbstractResolver):
    """Resolves with ``inner`` and returns only the addresses ``policy`` allows (``AddressRefused`` if none)."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        # The system's getaddrinfo (/etc/hosts, the host's DNS), which holds nothing the connector must close.
        self.inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """The addresses ``host`` resolves to that the axis may push to."""
        results = await self.inner.resolve(host, port, family)
        allowed = set(self.policy.check(host, [r["host"] for r in results]))
        return [r for r in results if r["host"] in allowed]

    async def close(self) -> None:
        """Release the inner resolver."""
        await self.inner.close()


def _socket_factory(policy: AddressPolicy) -> SocketFactoryType:
    """Opens a socket for an address ``policy`` allows; ``AddressRefused`` for any other."""

    def open_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = str(sockaddr[0])
        why = policy.refusal(address)
        if why is not None:
            # The resolver passed only allowed addresses; this is the last word for every other path.
            raise AddressRefused(address, [(address, why)])
        return socket.socket(family=family, type=type_, proto=proto)

    return open_socket


def checked_connector(policy: AddressPolicy, *, resolver: AbstractResolver | None = None) -> aiohttp.TCPConnector:
    """A connector that connects only to addresses ``policy`` allows, resolved once per connection."""
    return aiohttp.TCPConnector(resolver=CheckedResolver(policy, resolver), socket_factory=_socket_factory(policy))


def refused_address(exc: BaseException) -> AddressRefused | None:
    """The ``AddressRefused`` behind a client error, if that is why the connection was not made."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        inner = getattr(current, "os_error", None)
        current = inner if isinstance(inner, BaseException) else (current.__cause__ or current.__context__)
    return None
