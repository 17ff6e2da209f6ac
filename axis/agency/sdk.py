"""The Python side of the national SDK (SDKVXP) protocol: a client that sends the bytes the SDK sends.

- headers ``XroadVnpt-<name>`` for ``timestamp`` (``ddMMyyyy'T'HHmmss+SSSS``), ``systemid``,
  ``Content-Type`` and each key of the JSON the DMS passes; ``Content-Type`` itself too;
- ``XroadVnpt-sign-header-key`` (the names joined with ``;``), ``XroadVnpt-sign-header`` (a compact JSON
  object of ``XroadVnpt-<name>`` → value, in the SDK's HashMap order) and ``XroadVnpt-hash-header`` =
  hex HMAC-SHA256(secret, that JSON string);
- ``sendEdoc``: the file's bytes followed by an extra CRLF, ``hash-file`` = SHA-256 hex with each byte
  unpadded (``Integer.toHexString``); other calls POST ``{}`` (or GET) with the JSON's keys as headers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from multidict import CIMultiDict

VN_OFFSET_FORMAT = "%d%m%Y"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VERSION = "3.0.201608"


def java_string_hash(s: str) -> int:
    """``String.hashCode()`` (UTF-16 code units, 32-bit signed overflow)."""
    h = 0
    for unit in s.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h


def java_hashmap_order(keys: list[str]) -> list[str]:
    """The iteration order of a ``java.util.HashMap`` holding ``keys`` inserted in this order."""
    capacity = 16
    while len(keys) > capacity * 0.75:
        capacity *= 2

    def bucket(k: str) -> int:
        h = java_string_hash(k)
        return (h ^ (h >> 16)) & (capacity - 1)

    # Within a bucket the entries keep insertion order (resizes split buckets preserving it).
    return sorted(keys, key=lambda k: (bucket(k), keys.index(k)))


def sdk_timestamp(moment: datetime) -> str:
    """``new SimpleDateFormat("ddMMyyyy'T'HHmmss+SSSS")`` on a machine in Vietnam time."""
    from envelope.codes import VN_TZ

    local = moment.astimezone(VN_TZ)
    return f"{local:%d%m%Y}T{local:%H%M%S}+{local.microsecond // 1000:04d}"


def unpadded_sha256_hex(data: bytes) -> str:
    """The SDK's ``hash-file``: ``Integer.toHexString(0xFF & b)`` per byte, so no leading zeros."""
    return "".join(format(b, "x") for b in hashlib.sha256(data).digest())


def sdk_session() -> aiohttp.ClientSession:
    """A client session that adds no headers of its own: the SDK sends exactly the ones it signs."""
    return aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Content-Type"))


@dataclass
class SdkReply:
    """The HTTP status, headers and body of one call."""

    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class SdkClient:
    """One DMS's connection through the SDK: endpoint ``{axis}/vxp``, its system id and secret."""

    endpoint: str
    system_id: str
    secret: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: The last request's headers as sent (for tests that replay or tamper with them).
    last_headers: list[tuple[str, str]] = field(default_factory=list)
    #: Behave like one long-lived SDK service object: the timestamp taken once, at construction, and
    #: every call's keys kept in its header map for the calls after it (VnptService's HashMap).
    sticky: bool = False
    #: A kept-alive session to send through (like one long-lived SDK service); None opens one per call.
    session: aiohttp.ClientSession | None = None
    _held: dict[str, str] = field(default_factory=dict)
    _stamped: datetime | None = None

    def __post_init__(self) -> None:
        if self.sticky:
            self._stamped = self.clock()

    def headers(self, params: dict[str, str], content_type: str, *,
                at: datetime | None = None) -> list[tuple[str, str]]:
        """The request headers the SDK builds for ``params`` (VnptService.addXroadVnptHashHeader)."""
        if self.sticky:
            self._held.update({"Content-Type": content_type, **params})
            params = {k: v for k, v in self._held.items() if k != "Content-Type"}
        values = {"timestamp": sdk_timestamp(at or self._stamped or self.clock()), "systemid": self.system_id,
                  "Content-Type": content_type, **params}
        names = java_hashmap_order(list(values))
        out: list[tuple[str, str]] = []
        signed: dict[str, str] = {}
        for name in names:
            if name == "Content-Type":
                out.append(("Content-Type", values[name]))
            signed["XroadVnpt-" + name] = values[name]
            out.append(("XroadVnpt-" + name, values[name]))
        # Gson's JsonObject.toString(): compact, not HTML-escaped.
        sign_header = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
        digest = hmac.new(self.secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()
        out += [("XroadVnpt-sign-header-key", ";".join(names)), ("XroadVnpt-sign-header", sign_header),
                ("XroadVnpt-hash-header", digest), ("User-Agent", USER_AGENT), ("XroadVnpt-version", VERSION)]
        return out

    async def send(self, method: str, operation: str, headers: list[tuple[str, str]], body: bytes | None) -> SdkReply:
        """One raw call with exactly these headers."""
        self.last_headers = headers
        if self.session is not None:
            return await self._send_on(self.session, method, operation, headers, body)
        async with sdk_session() as session:
            return await self._send_on(session, method, operation, headers, body)

    async def _send_on(self, session: aiohttp.ClientSession, method: str, operation: str,
                       headers: list[tuple[str, str]], body: bytes | None) -> SdkReply:
        async with session.request(method, f"{self.endpoint}/{operation}", data=body,
                                   headers=CIMultiDict(headers)) as r:
            return SdkReply(r.status, r.headers, await r.read())

    async def call(self, operation: str, params: dict[str, str] | None = None, *, method: str = "POST",
                   at: datetime | None = None) -> SdkReply:
        """A JSON call (getReceivedEdocList, getEdoc, updateStatus, ...): its keys become signed headers."""
        headers = self.headers(dict(params or {}), "application/json", at=at)
        return await self.send(method, operation, headers, b"{}" if method == "POST" else None)

    async def send_edoc(self, file_bytes: bytes, params: dict[str, str] | None = None, *,
                        at: datetime | None = None, hash_file: str | None = None) -> SdkReply:
        """sendEdoc: the file plus the CRLF the SDK appends, its unpadded hash in the signed headers."""
        values = dict(params or {})
        values["hash-file"] = hash_file if hash_file is not None else unpadded_sha256_hex(file_bytes)
        headers = self.headers(values, "application/octet-stream", at=at)
        return await self.send("POST", "sendEdoc", headers, file_bytes + b"\r\n")
