"""The national SDK's request authentication (SDKVXP): who is calling, and with what parameters.

Every SDK call carries ``XroadVnpt-<name>`` headers, ``XroadVnpt-sign-header`` (a JSON object of
those header names and values), and ``XroadVnpt-hash-header`` = hex HMAC-SHA256 of the sign-header
string, as sent, under the agency's secret. Only the signed JSON is trusted: parameters are read
from it, never from the loose headers beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from axis.context import AxisContext
from envelope.codes import VN_TZ
from storage.registry.cache import RegisteredAgency
from storage.registry.vxp import SecretUnreadable, decrypt_secret

errors_log = logging.getLogger("axis.errors")
PREFIX = "XroadVnpt-"
SIGN_HEADER = "xroadvnpt-sign-header"
HASH_HEADER = "xroadvnpt-hash-header"
#: ``ddMMyyyy'T'HHmmss+SSSS``: Vietnam wall-clock time, the last part milliseconds.
_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{1,4})$", re.ASCII)
_HEX = re.compile(r"^[0-9a-fA-F]{1,128}$", re.ASCII)
#: The longest sign-header read (the SDK's is a few hundred bytes).
MAX_SIGN_HEADER = 16 * 1024


class TransportRefused(Exception):
    """A national SDK request refused before any work: ``code`` is its stable ErrorCode."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# The ErrorCodes of the transport (README "Connecting a DMS that uses the national SDK").
MISSING_HEADER = "VXP.MissingHeader"
BAD_HMAC = "VXP.BadHmac"
STALE_TIMESTAMP = "VXP.StaleTimestamp"
REPLAY = "VXP.Replay"
HASH_FILE_MISMATCH = "VXP.HashFileMismatch"
FROM_MISMATCH = "VXP.FromMismatch"
AGENCY_DISABLED = "VXP.AgencyDisabled"
BAD_SIGN_HEADER = "VXP.BadSignHeader"
#: Deepest JSON nesting read in a sign-header (the SDK's is flat: one object of strings).
MAX_NESTING = 8
#: HMAC'd for an unknown system id, so that it costs what a known one does and answers the same.
_NO_SECRET = b"\x00" * 32


@dataclass(frozen=True)
class SdkCall:
    """An authenticated SDK request: the agency and the signed parameters (names without the prefix)."""

    agency: RegisteredAgency
    params: dict[str, str]
    hash_header: str
    #: The zone the timestamp was read in, when not the first of vxp_clock_zones (else None).
    other_zone: timezone | None = None

    def param(self, *names: str) -> str:
        """The first signed parameter by any of ``names`` (case-insensitive: the SDK writes docId and docid)."""
        lowered = {k.lower(): v for k, v in self.params.items()}
        for name in names:
            value = lowered.get(name.lower())
            if value is not None:
                return value
        return ""


def _raw(headers: list[tuple[bytes, bytes]], name: str) -> bytes | None:
    wanted = name.encode().lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def parse_wall_clock(value: str) -> datetime:
    """An SDK timestamp as the naive wall-clock time it names (it carries no zone); ValueError if malformed."""
    m = _TIMESTAMP.match(value.strip())
    if m is None:
        raise ValueError(f"timestamp {value!r} is not ddMMyyyyTHHmmss+SSSS")
    day, month, year, hour, minute, second, millis = (int(g) for g in m.groups())
    return datetime(year, month, day, hour, minute, second, millis % 1000 * 1000)


def parse_timestamp(value: str) -> datetime:
    """An SDK timestamp as an aware datetime read in Vietnam time; ValueError if malformed."""
    return parse_wall_clock(value).replace(tzinfo=VN_TZ)


def clock_zones(setting: str) -> tuple[timezone, ...]:
    """The zones of ``vxp_clock_zones`` ("7,0": whole-hour UTC offsets), Vietnam time first when listed."""
    zones: list[timezone] = []
    for part in setting.split(","):
        if part.strip():
            hours = float(part)
            if not -14 <= hours <= 14:
                raise ValueError(f"vxp_clock_zones: {part.strip()} is not a UTC offset in hours")
            zones.append(timezone(timedelta(hours=hours)))
    return tuple(zones) or (timezone(timedelta(hours=7)),)


def zone_span(zones: tuple[timezone, ...]) -> timedelta:
    """How far apart the accepted zones' readings of one timestamp can be (the replay guard keeps that longer)."""
    offsets = [z.utcoffset(None) for z in zones]
    return max(offsets) - min(offsets)


def _offset_words(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    ahead = "ahead of" if delta > timedelta(0) else "behind"
    return f"{minutes // 60} h {minutes % 60} min {ahead}"


def read_in_zones(value: str, now: datetime, window: timedelta,
                  zones: tuple[timezone, ...]) -> tuple[datetime, timezone]:
    """The timestamp read in the first zone that puts it within ``window`` of ``now``, and that zone.

    TransportRefused (StaleTimestamp) naming what was read and the axis's own time when none does.
    """
    try:
        wall = parse_wall_clock(value)
    except ValueError:
        raise TransportRefused(STALE_TIMESTAMP,
                               "Thời điểm (timestamp) không đúng định dạng ddMMyyyyTHHmmss+SSSS") from None
    for zone in zones:
        stamped = wall.replace(tzinfo=zone)
        if abs(now - stamped) <= window:
            return stamped, zone
    first = wall.replace(tzinfo=zones[0])
    axis_local = now.astimezone(zones[0])
    raise TransportRefused(
        STALE_TIMESTAMP,
        f"Thời điểm (timestamp) nằm ngoài khoảng cho phép: {wall:%d/%m/%Y %H:%M:%S} read as UTC{_hours(zones[0])} "
        f"is {_offset_words(first - now)} the axis ({axis_local:%d/%m/%Y %H:%M:%S}); "
        f"accepted: ±{int(window.total_seconds())} s in UTC{', UTC'.join(_hours(z) for z in zones)}"
        + ("; is the DMS's clock in another zone?" if abs(first - now) > timedelta(minutes=50) else ""))


def _hours(zone: timezone) -> str:
    offset = zone.utcoffset(None).total_seconds() / 3600
    return f"{offset:+g}"


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as the SDK writes it (Vietnam time, ``ddMMyyyy'T'HHmmss+SSSS``)."""
    local = moment.astimezone(VN_TZ)
    return local.strftime("%d%m%Y") + "T" + local.strftime("%H%M%S") + f"+{local.microsecond // 1000:04d}"


def unpadded_hex(digest: bytes) -> str:
    """Hex as the SDK writes a file hash: each byte without its leading zero (``Integer.toHexString``)."""
    return "".join(format(b, "x") for b in digest)


def hash_file_matches(declared: str, digest: bytes) -> bool:
    """True when ``declared`` is this SHA-256 digest, in the standard 64-digit or the SDK's unpadded form."""
    declared = declared.strip().lower()
    return hmac.compare_digest(declared, digest.hex()) or hmac.compare_digest(declared, unpadded_hex(digest))


def _nesting(raw: bytes) -> int:
    """The deepest bracket nesting of a JSON text, strings skipped (no recursion, one pass)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def hmac_hex(secret: bytes, sign_header: bytes) -> str:
    """The hash-header the SDK computes: hex HMAC-SHA256 of the sign-header bytes."""
    return hmac.new(secret, sign_header, hashlib.sha256).hexdigest()


async def authenticate_sdk(ctx: AxisContext, headers: list[tuple[bytes, bytes]]) -> SdkCall:
    """Check an SDK request's headers: system id, HMAC over the sign-header, timestamp window, from.

    The replay guard (a hash-header seen before) is the caller's next step, in the database.
    """
    raw_sign = _raw(headers, SIGN_HEADER)
    raw_hash = _raw(headers, HASH_HEADER)
    if raw_sign is None or raw_hash is None:
        raise TransportRefused(MISSING_HEADER, "Thiếu tiêu đề XroadVnpt-sign-header hoặc XroadVnpt-hash-header")
    if len(raw_sign) > MAX_SIGN_HEADER:
        raise TransportRefused(BAD_SIGN_HEADER, f"XroadVnpt-sign-header dài quá {MAX_SIGN_HEADER} byte")
    if _nesting(raw_sign) > MAX_NESTING:
        # Checked before parsing: a deep enough nesting exhausts the parser's recursion.
        raise TransportRefused(BAD_SIGN_HEADER, f"XroadVnpt-sign-header lồng quá {MAX_NESTING} mức")
    try:
        signed = json.loads(raw_sign.decode("utf-8", errors="surrogateescape"))
    except (ValueError, UnicodeError, RecursionError):
        signed = None
    if not isinstance(signed, dict):
        raise TransportRefused(MISSING_HEADER, "XroadVnpt-sign-header không phải một đối tượng JSON")
    params = {str(k)[len(PREFIX):]: v if isinstance(v, str) else json.dumps(v)
              for k, v in signed.items() if str(k).lower().startswith(PREFIX.lower())}
    lowered = {k.lower(): v for k, v in params.items()}
    system_id = lowered.get("systemid", "").strip()
    if not system_id or "timestamp" not in lowered:
        raise TransportRefused(MISSING_HEADER, "Tiêu đề ký thiếu systemid hoặc timestamp")
    agency = await ctx.registry.agency_by_system_id(system_id)
    secret = _NO_SECRET
    if agency is not None and agency.vxp_secret is not None:
        try:
            secret = decrypt_secret(ctx.vxp_cipher, agency.vxp_secret)
        except SecretUnreadable:
            # The key was changed or is not shared by this node: logged for the operator, answered as any
            # other unverifiable call so that the answer tells nothing of which system ids exist.
            errors_log.error("the /vxp secret of system id %s cannot be decrypted with this node's key", system_id)
    # One code and one path (an HMAC always computed) for an unknown system id and a wrong HMAC.
    declared = raw_hash.decode("latin-1").strip().lower()
    matches = hmac.compare_digest(declared, hmac_hex(secret, raw_sign)) and _HEX.match(declared) is not None
    if agency is None or secret is _NO_SECRET or not matches:
        raise TransportRefused(BAD_HMAC, "Mã hệ thống (systemid) hoặc chữ ký HMAC (XroadVnpt-hash-header) "
                                         "không đúng")
    if not agency.active:
        raise TransportRefused(AGENCY_DISABLED, f"Cơ quan {agency.code} đang bị khóa trên trục")
    window = timedelta(seconds=ctx.settings.vxp_timestamp_window_seconds)
    zones = clock_zones(ctx.settings.vxp_clock_zones)
    _, zone = read_in_zones(lowered["timestamp"], ctx.clock(), window, zones)
    sender = lowered.get("from", "").strip()
    if sender and sender != agency.code:
        raise TransportRefused(FROM_MISMATCH, f"Mã đơn vị gửi (from) {sender[:40]} không phải của hệ thống {system_id}")
    return SdkCall(agency, params, declared, None if zone == zones[0] else zone)
