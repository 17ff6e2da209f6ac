"""The client's address: the peer, or what a trusted proxy says in X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """The ``trusted_proxies`` setting parsed (ValueError names a bad entry)."""
    networks = []
    for entry in proxies:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or CIDR range") from None
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; compare them as the IPv4 they are.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(peer: str | None, forwarded_for: list[str], networks: tuple[IPNetwork, ...]) -> str:
    """The address a request came from.

    The peer, unless the peer is a trusted proxy: then X-Forwarded-For is read from the right
    (the part our own proxies wrote), skipping further trusted proxies, and the first address
    that is not one of them is the client. Anything to its left was written by the client
    itself and is ignored; a malformed entry stops the walk at the last trusted hop.
    """
    current = peer or "unknown"
    if not networks or not _trusted(_ip(current), networks):  # no proxy configured: nothing to parse
        return current
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _ip(hop)
        if address is None:
            return current
        current = str(address)
        if not _trusted(address, networks):
            return current
    return current
