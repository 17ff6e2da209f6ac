"""Per-endpoint shares of the push slots and a circuit per endpoint, so one agency's slow endpoint stays its own."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


def endpoint_key(url: str) -> str:
    """The scheme, host and port a URL connects to: agencies on one host share that host's share."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}:{port}"


@dataclass
class _Endpoint:
    in_flight: int = 0
    failures: int = 0
    #: Monotonic time until which the circuit is open; 0 when closed.
    open_until: float = 0.0
    #: After the open period one attempt probes the endpoint; the others wait for its outcome.
    half_open: bool = False


@dataclass(frozen=True)
class EndpointState:
    """What the operator sees of one endpoint: its attempts in flight and its circuit."""

    key: str
    in_flight: int
    failures: int
    circuit: str  # "closed", "open" or "half-open"
    open_for_seconds: float


class EndpointGate:
    """Counts pushes in flight per endpoint and opens a circuit on an endpoint that keeps failing to answer."""

    def __init__(self, *, concurrency: int, circuit_failures: int, circuit_open_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.concurrency = max(1, concurrency)
        self.circuit_failures = max(1, circuit_failures)
        self.circuit_open_seconds = max(0.0, circuit_open_seconds)
        self.clock = clock
        self._endpoints: dict[str, _Endpoint] = {}

    def _limit(self, ep: _Endpoint) -> int:
        """How many attempts the endpoint may have in flight now (0 while its circuit is open)."""
        if ep.open_until:
            if self.clock() < ep.open_until:
                return 0
            ep.open_until, ep.half_open = 0.0, True
        return 1 if ep.half_open else self.concurrency

    def blocked(self) -> set[str]:
        """Endpoints that can take no more attempts now: their share is in use or their circuit is open."""
        return {key for key, ep in self._endpoints.items() if ep.in_flight >= self._limit(ep)}

    def acquire(self, key: str) -> bool:
        """Take one of ``key``'s slots; False if it has none free (or its circuit is open)."""
        ep = self._endpoints.setdefault(key, _Endpoint())
        if ep.in_flight >= self._limit(ep):
            return False
        ep.in_flight += 1
        return True

    def release(self, key: str, *, unreachable: bool, neutral: bool = False) -> bool:
        """Give the slot back with the attempt's outcome; True when this outcome opened the circuit.

        ``neutral``: nothing was sent (the claim lapsed), which says nothing about the endpoint.
        """
        ep = self._endpoints.setdefault(key, _Endpoint())
        ep.in_flight = max(0, ep.in_flight - 1)
        if neutral:
            if ep.half_open:
                ep.half_open, ep.open_until = False, self.clock()  # the probe did not happen: allow another
            self._forget(key, ep)
            return False
        if not unreachable:
            ep.failures, ep.half_open, ep.open_until = 0, False, 0.0
            self._forget(key, ep)
            return False
        ep.failures += 1
        if ep.half_open or ep.failures >= self.circuit_failures:
            was_open = bool(ep.open_until)
            ep.half_open = False
            ep.open_until = self.clock() + self.circuit_open_seconds
            return not was_open
        return False

    def _forget(self, key: str, ep: _Endpoint) -> None:
        # A healthy idle endpoint needs no entry: the table stays as small as the set of troubled ones.
        if ep.in_flight == 0 and ep.failures == 0:
            del self._endpoints[key]

    def states(self) -> list[EndpointState]:
        """Every endpoint with attempts in flight or failures, for the admin page and the metrics."""
        now = self.clock()
        out = []
        for key, ep in sorted(self._endpoints.items()):
            if ep.open_until and now < ep.open_until:
                circuit, left = "open", ep.open_until - now
            elif ep.open_until or ep.half_open:
                circuit, left = "half-open", 0.0
            else:
                circuit, left = "closed", 0.0
            out.append(EndpointState(key, ep.in_flight, ep.failures, circuit, left))
        return out
