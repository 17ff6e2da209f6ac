"""Which IP addresses the push worker may connect to: public ones, and internal ones the operator lists.

An agency chooses its endpoint's host name, and so what it resolves to. Without this rule a name
pointing at 127.0.0.1, 10.0.0.0/8 or 169.254.169.254 would make the axis POST documents into its own
network (its admin ports, a cloud metadata service). The worker's HTTP client (``axis.jobs.push_connector``)
asks ``AddressPolicy.refusal`` about every address a name resolves to and connects only to those it passed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address a NAT64 gateway reaches.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: Unique local addresses (RFC 4193).
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
#: Shared address space for carrier-grade NAT (RFC 6598): not global, yet not ``is_private`` in Python 3.11.
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class AddressRefused(OSError):
    """A push endpoint's host resolved only to addresses the axis does not push to.

    An ``OSError`` so that the HTTP client treats it as a failed connection (never a crash);
    ``axis.jobs.push`` turns it into the attempt's ``ADDRESS_REFUSED`` failure.
    """

    def __init__(self, host: str, refused: Iterable[tuple[str, str]]) -> None:
        self.host = host
        self.refused = tuple(refused)
        shown = ", ".join(f"{address} ({why})" for address, why in self.refused) or "no address"
        super().__init__(f"{host} resolves to {shown}; only addresses in push_allowed_networks may be "
                         f"non-public")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), which is where packets end up."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _why_not_public(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address):
        if address in _UNIQUE_LOCAL:
            return "unique-local"
        if address.is_site_local:
            return "site-local"
    if address.is_private:
        return "private"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (carrier-grade NAT)"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not global"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public unicast addresses are allowed; anything else only inside one of ``allowed``."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[str]) -> AddressPolicy:
        """The policy for the ``push_allowed_networks`` setting (addresses or CIDR ranges)."""
        return cls(tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries))

    def _listed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allowed)

    def refusal(self, address: str) -> str | None:
        """Why the worker must not connect to ``address`` (a numeric IP), or None when it may."""
        try:
            # A zone ("fe80::1%eth0") names the interface, not the address.
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        if self._listed(ip) or (embedded is not None and self._listed(embedded)):
            return None
        if embedded is not None:
            # Judged by where the packets go: the IPv4 address (the IPv6 wrapper itself is "reserved").
            why = _why_not_public(embedded)
            return None if why is None else f"{why}, as {embedded}"
        return _why_not_public(ip)

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The allowed ones of the addresses ``host`` resolved to; ``AddressRefused`` when there are none."""
        allowed: list[str] = []
        refused: list[tuple[str, str]] = []
        for address in addresses:
            why = self.refusal(address)
            if why is None:
                allowed.append(address)
            else:
                refused.append((address, why))
        if not allowed:
            raise AddressRefused(host, refused)
        return allowed
