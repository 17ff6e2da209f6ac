"""A national SDK (SDKVXP) client written from the wire facts of SDKVXP 2.0.1: it sends what the SDK sends.

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


@dataclass
class SdkReply:
    """The HTTP status, headers and body of one call."""

    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
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
    _held: dict[str, str] = field(default_factory=dict)
    _stamped: datetime | None = None

    def __post_init__(self) -> None:
        if self.sticky:
            self._stamped = self.clock()

    def headers(self, params: dict[str, str], content_type: str, *, at: datetime | None = None) -> list[tuple[str, str]]:
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
        async with aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Content-Type")) as session, \
                session.request(method, f"{self.endpoint}/{operation}", data=body,
                                headers=aiohttp.typedefs.CIMultiDict(headers)) as r:
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


#: What SDKVXP 2.0.1 (KnobstickServiceImp) reads with ``JsonObject.get(name).getAs*()`` from every answer
#: of each method, with no null check: a missing one is a NullPointerException in the DMS.
SDK_READS: dict[str, tuple[str, ...]] = {
    "sendEdoc": ("status", "ErrorCode", "ErrorDesc", "DocId"),
    "getEdoc": ("status", "ErrorCode", "ErrorDesc"),
    "getReceivedEdocList": ("status", "ErrorCode", "ErrorDesc"),
    "getSentEdocList": ("status", "ErrorCode", "ErrorDesc"),
    "countReceiveEdoc": ("status", "ErrorCode", "ErrorDesc", "count"),
    "countReceiveStatus": ("status", "ErrorCode", "ErrorDesc", "count"),
    "updateStatus": ("status", "ErrorCode", "ErrorDesc"),
}
#: Read only when ErrorCode is "0".
SDK_READS_WHEN_OK: dict[str, tuple[str, ...]] = {
    "getEdoc": ("data",), "getReceivedEdocList": ("data",), "getSentEdocList": ("data",),
}


def read_as_sdk(operation: str, reply: SdkReply) -> dict[str, str]:
    """The answer read as the SDK reads it: a field it reads unconditionally and finds missing or null raises."""
    body = reply.json()
    seen: dict[str, str] = {}
    names = SDK_READS[operation] + (SDK_READS_WHEN_OK.get(operation, ()) if body.get("ErrorCode") == "0" else ())
    for name in names:
        value = body.get(name)
        if value is None or isinstance(value, dict):
            raise AssertionError(f"NullPointerException: the SDK reads {name} from {operation}'s answer {body}")
        seen[name] = value if isinstance(value, str | list) else str(value)
    return seen
