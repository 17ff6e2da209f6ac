"""The national SDK's request authentication (SDKVXP 2.0.1): who is calling, and with what parameters.

Every SDK call carries ``XroadVnpt-<name>`` headers, ``XroadVnpt-sign-header`` (a JSON object of
those header names and values), and ``XroadVnpt-hash-header`` = hex HMAC-SHA256 of the sign-header
string, as sent, under the agency's secret. Only the signed JSON is trusted: parameters are read
from it, never from the loose headers beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from axis.context import AxisContext
from envelope.codes import VN_TZ
from storage.registry.cache import RegisteredAgency
from storage.registry.vxp import SecretUnreadable, decrypt_secret

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
UNKNOWN_SYSTEM = "VXP.UnknownSystem"
BAD_HMAC = "VXP.BadHmac"
STALE_TIMESTAMP = "VXP.StaleTimestamp"
REPLAY = "VXP.Replay"
HASH_FILE_MISMATCH = "VXP.HashFileMismatch"
FROM_MISMATCH = "VXP.FromMismatch"
AGENCY_DISABLED = "VXP.AgencyDisabled"


@dataclass(frozen=True)
class SdkCall:
    """An authenticated SDK request: the agency and the signed parameters (names without the prefix)."""

    agency: RegisteredAgency
    params: dict[str, str]
    hash_header: str

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


def parse_timestamp(value: str) -> datetime:
    """An SDK timestamp as an aware datetime (Vietnam time); ValueError if malformed."""
    m = _TIMESTAMP.match(value.strip())
    if m is None:
        raise ValueError(f"timestamp {value!r} is not ddMMyyyyTHHmmss+SSSS")
    day, month, year, hour, minute, second, millis = (int(g) for g in m.groups())
    return datetime(year, month, day, hour, minute, second, millis % 1000 * 1000, tzinfo=VN_TZ)


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


def hmac_hex(secret: bytes, sign_header: bytes) -> str:
    """The hash-header the SDK computes: hex HMAC-SHA256 of the sign-header bytes."""
    return hmac.new(secret, sign_header, hashlib.sha256).hexdigest()


async def authenticate_sdk(ctx: AxisContext, headers: list[tuple[bytes, bytes]]) -> SdkCall:
    """Check an SDK request's headers: system id, HMAC over the sign-header, timestamp window, from.

    The replay guard (a hash-header seen before) is the caller's next step, in the database.
    """
    raw_sign = _raw(headers, SIGN_HEADER)
    raw_hash = _raw(headers, HASH_HEADER)
    if raw_sign is None or raw_hash is None or len(raw_sign) > MAX_SIGN_HEADER:
        raise TransportRefused(MISSING_HEADER, "Thiếu tiêu đề XroadVnpt-sign-header hoặc XroadVnpt-hash-header")
    try:
        signed = json.loads(raw_sign.decode("utf-8", errors="surrogateescape"))
    except (ValueError, UnicodeError):
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
    if agency is None or agency.vxp_secret is None:
        raise TransportRefused(UNKNOWN_SYSTEM, "Mã hệ thống (systemid) không được đăng ký trên trục")
    try:
        secret = decrypt_secret(ctx.vxp_cipher, agency.vxp_secret)
    except SecretUnreadable:
        # The key was changed or is not shared by this node: the secret cannot be checked.
        raise TransportRefused(UNKNOWN_SYSTEM,
                               "Không đọc được khóa bí mật của hệ thống; liên hệ quản trị trục") from None
    declared = raw_hash.decode("latin-1").strip().lower()
    if not _HEX.match(declared) or not hmac.compare_digest(declared, hmac_hex(secret, raw_sign)):
        raise TransportRefused(BAD_HMAC, "Chữ ký HMAC (XroadVnpt-hash-header) không đúng")
    if not agency.active:
        raise TransportRefused(AGENCY_DISABLED, f"Cơ quan {agency.code} đang bị khóa trên trục")
    try:
        stamped = parse_timestamp(lowered["timestamp"])
    except ValueError:
        raise TransportRefused(STALE_TIMESTAMP,
                               "Thời điểm (timestamp) không đúng định dạng ddMMyyyyTHHmmss+SSSS") from None
    window = timedelta(seconds=ctx.settings.vxp_timestamp_window_seconds)
    if abs(ctx.clock() - stamped) > window:
        raise TransportRefused(STALE_TIMESTAMP, "Thời điểm (timestamp) của yêu cầu nằm ngoài khoảng cho phép")
    sender = lowered.get("from", "").strip()
    if sender and sender != agency.code:
        raise TransportRefused(FROM_MISMATCH, f"Mã đơn vị gửi (from) {sender[:40]} không phải của hệ thống {system_id}")
    return SdkCall(agency, params, declared)
