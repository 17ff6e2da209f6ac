"""Settings: config/axis.toml, then AXIS_* environment variables."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signing.keys import KeyKind

#: The default configuration shipped with the project.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "axis.toml"


#: Turns a value from the TOML file or an AXIS_* variable (a string) into the field's type; paths
#: given relative are under ``home``.
Converter = Callable[[Any, Path], Any]
#: The TOML tables, in the order of config/axis.toml ("" is the top level, before any table).
SECTIONS = ("", "database", "server", "identity", "trust", "push", "metrics", "web", "archive", "vxp")
_TRUE = {"1", "true", "yes", "on"}


def to_str(raw: Any, home: Path) -> str:
    """Text as given."""
    return str(raw)


def to_int(raw: Any, home: Path) -> int:
    """A whole number."""
    return int(raw)


def to_float(raw: Any, home: Path) -> float:
    """A number."""
    return float(raw)


def to_path(raw: Any, home: Path) -> Path:
    """A path, as given (``home`` itself)."""
    return Path(raw)


def to_bool(raw: Any, home: Path) -> bool:
    """true/false, or 1/0, yes/no, on/off from the environment."""
    return raw if isinstance(raw, bool) else str(raw).strip().lower() in _TRUE


def to_auto_bool(raw: Any, home: Path) -> bool | None:
    """Like ``to_bool``, with "auto" (or empty) for None: decided from the other settings."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in {"", "auto"}):
        return None
    return to_bool(raw, home)


def to_paths(raw: Any, home: Path) -> tuple[Path, ...]:
    """A list of files (comma-separated in the environment), relative ones under ``home``."""
    items = raw if isinstance(raw, list) else [p for p in str(raw).split(",") if p]
    return tuple(Path(p) if Path(p).is_absolute() else home / Path(p) for p in items)


def to_networks(raw: Any, home: Path) -> tuple[str, ...]:
    """A list of IP addresses or CIDR ranges (comma-separated in the environment), each checked."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    entries = tuple(str(p).strip() for p in items if str(p).strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
    return entries


def to_fingerprints(raw: Any, home: Path) -> tuple[str, ...]:
    """A list of SHA-256 fingerprints (comma-separated in the environment), as lower-case hex without colons."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return tuple(str(p).strip().lower().replace(":", "") for p in items if str(p).strip())


def setting(default: Any, section: str, convert: Converter) -> Any:
    """A settings field: its default, its TOML table and how a written value becomes its type."""
    assert section in SECTIONS
    return field(default=default, metadata={"section": section, "convert": convert})


@dataclass(frozen=True)
class Settings:
    """Everything an axis process needs to know, with defaults."""

    # Data directory (database file, blobs, axis key).
    home: Path = setting(Path("var"), "", to_path)
    # SQLAlchemy URL; empty means sqlite file under home.
    database_url: str = setting("", "database", to_str)
    # Listen address of `axis serve`.
    host: str = setting("127.0.0.1", "server", to_str)
    port: int = setting(8080, "server", to_int)
    # Largest request body accepted, checked before parsing.
    max_message_bytes: int = setting(200 * 1024 * 1024, "server", to_int)
    # Bodies larger than this are spooled to a temp file in the blob store and verified in one
    # streamed pass instead of in memory (peak memory then stays flat whatever the attachment size).
    spool_threshold_bytes: int = setting(4 * 1024 * 1024, "server", to_int)
    # Spooled bodies read and digested for their signature at once (more wait their turn).
    large_body_concurrency: int = setting(2, "server", to_int)
    # Bytes of request bodies held in memory across all requests of a process (0: RAM/8, at most 1 GiB);
    # a body finding no room is spooled instead.
    body_memory_bytes: int = setting(0, "server", to_int)
    # Bytes of spool files (bodies being received) at once; a body finding no room is refused with 503.
    spool_max_bytes: int = setting(4 * 1024 * 1024 * 1024, "server", to_int)
    # Submissions one agency may have in flight in one process (more are refused with 429).
    uploads_per_agency: int = setting(64, "server", to_int)
    # A body must arrive at body_min_bytes_per_second on average over each window, else 408.
    body_read_window_seconds: float = setting(10.0, "server", to_float)
    body_min_bytes_per_second: int = setting(1024, "server", to_int)
    # Payloads of at most this many bytes (not spooled) go in the database, committed with their message.
    inline_payload_max_bytes: int = setting(1024 * 1024, "database", to_int)
    # Where larger payloads live: "filesystem" (blob files under home) or "database" (1 MiB rows in
    # payload_chunks: nodes then share nothing but the database). `axis blobs migrate` moves them.
    blob_backend: str = setting("filesystem", "database", to_str)
    # The axis signing key and certificate (PEM); empty means keys/axis.key.pem and keys/axis.cert.pem
    # under home. Several nodes are given the same files by their deployment (relative paths are under home).
    axis_key_file: str = setting("", "identity", to_str)
    axis_certificate_file: str = setting("", "identity", to_str)
    # Accept SHA-1 XML signatures (legacy DMS software only).
    legacy_sha1: bool = setting(False, "trust", to_bool)
    # PEM files of CAs trusted to issue agency certificates.
    ca_certificates: tuple[Path, ...] = setting((), "trust", to_paths)
    # Push retry backoff and give-up deadline.
    retry_base_seconds: float = setting(5.0, "push", to_float)
    retry_max_seconds: float = setting(600.0, "push", to_float)
    delivery_deadline_seconds: float = setting(86400.0, "push", to_float)
    push_timeout_seconds: float = setting(30.0, "push", to_float)
    push_concurrency: int = setting(8, "push", to_int)
    claim_lease_seconds: float = setting(120.0, "push", to_float)
    # Push endpoints must be https:// unless this allows http:// (tests, loopback development only).
    push_allow_http: bool = setting(False, "push", to_bool)
    # Non-public addresses (loopback, private, link-local, unique-local...) the push worker may connect to,
    # as addresses or CIDR ranges; a push endpoint resolving only to other non-public addresses is refused.
    push_allowed_networks: tuple[str, ...] = setting((), "push", to_networks)
    # Largest answer read from a push endpoint (a signed status 01 is a few KB); a longer one is a failed attempt.
    push_max_answer_bytes: int = setting(1024 * 1024, "push", to_int)
    # /metrics: when set, scrapes must send `Authorization: Bearer <metrics_token>` (else 401).
    metrics_token: str = setting("", "metrics", to_str)
    # /metrics: gauges read from the database (deliveries by state) are refreshed at most this often.
    metrics_refresh_seconds: float = setting(15.0, "metrics", to_float)
    # Kind of key `axis keys init` (or the first start) creates for the axis: "ec" (P-256) or "rsa".
    axis_key_kind: str = setting("ec", "identity", to_str)
    # The axis's own agency code and name: the From of the notices it signs itself.
    axis_code: str = setting("000.00.00.A00", "identity", to_str)
    axis_name: str = setting("Trục liên thông văn bản quốc gia", "identity", to_str)
    # Web UI: mark the session cookie Secure (and __Host-); None ("auto") means on unless `host` is loopback.
    cookie_secure: bool | None = setting(None, "web", to_auto_bool)
    # Web UI: an undelivered delivery older than this many minutes is listed as stuck to operators.
    stuck_after_minutes: float = setting(60.0, "web", to_float)
    # Archive: retention schedules file; empty means config/retention.toml shipped with the axis.
    retention_file: str = setting("", "archive", to_str)
    # Archive: how often the fixity job runs, how many blobs one run re-hashes at most, and the age
    # (days since the last check) from which a blob is due for re-hashing.
    fixity_interval_seconds: float = setting(3600.0, "archive", to_float)
    fixity_batch: int = setting(10000, "archive", to_int)
    fixity_max_age_days: int = setting(30, "archive", to_int)
    # Archive: how often schedules are assigned and event-triggered due dates computed.
    retention_interval_seconds: float = setting(3600.0, "archive", to_float)
    # Archive: how often the monthly report aggregates of the current and previous month are recomputed.
    report_interval_seconds: float = setting(900.0, "archive", to_float)
    # Archive: how often the audit chain head is signed by the axis key.
    audit_head_interval_seconds: float = setting(600.0, "archive", to_float)
    # Archive: the append-only file outside the database where every signed head is also written
    # (one JSON line each); empty means $AXIS_HOME/audit-heads.jsonl. Per node, or write-once storage.
    audit_head_log: str = setting("", "archive", to_str)
    # Web UI: addresses or CIDR ranges of the proxies / load balancers whose X-Forwarded-For names
    # the client (for login throttling); empty: nobody's, the peer address is the client.
    trusted_proxies: tuple[str, ...] = setting((), "web", to_networks)
    #: How often queued audit entries are chained and register entries numbered.
    seal_interval_seconds: float = setting(0.5, "archive", to_float)
    # Certificates (agencies', CAs', the axis's own) expiring within this many days are listed on
    # /admin and logged as warnings; the check runs at start-up and every cert_check_interval_seconds.
    cert_warning_days: int = setting(30, "trust", to_int)
    cert_check_interval_seconds: float = setting(86400.0, "trust", to_float)
    # PostgreSQL upkeep: every upkeep_interval_seconds, a table with upkeep_dead_rows dead rows or more
    # is vacuumed, whatever its size (autovacuum waits for a fifth of a table, or is off).
    upkeep_interval_seconds: float = setting(60.0, "database", to_float)
    upkeep_dead_rows: int = setting(2000, "database", to_int)
    # Seconds between two looks at the registry version: a disabled agency, a new token or a new
    # certificate takes effect on every node within this interval.
    registry_refresh_seconds: float = setting(1.0, "server", to_float)
    # National SDK transport (/vxp): the Fernet key that encrypts agencies' HMAC secrets in the
    # database; empty means the key file keys/vxp-secrets.key under home (created on first use).
    # Nodes sharing a database must share this key.
    vxp_secret_key: str = setting("", "vxp", to_str)
    # National SDK transport: a request's XroadVnpt-timestamp may differ from the axis clock by this much.
    vxp_timestamp_window_seconds: float = setting(300.0, "vxp", to_float)
    # A set-password link handed to a new or reset person stops working after this many hours, so a
    # link lost in a mailbox is not a standing way into the account.
    password_link_hours: float = setting(72.0, "web", to_float)
    # Log lines of `axis serve`: "text" (the message alone, for people) or "json" (one object per line
    # with time, level and logger, the request fields merged in, for log collectors).
    log_format: str = setting("text", "server", to_str)
    # The axis's own earlier certificates (SHA-256 fingerprints, hex): head log lines they signed still
    # count as the axis's after a key rotation. Taken from here, not from the log, so that whoever can
    # append one line to the log cannot make a key of their own trusted.
    axis_retired_certificates: tuple[str, ...] = setting((), "identity", to_fingerprints)
    # Push isolation: an endpoint that accepts and never answers must fail in seconds, not hold a slot
    # for the whole push_timeout_seconds (which still bounds a trickling answer).
    push_connect_timeout_seconds: float = setting(5.0, "push", to_float)
    push_first_byte_timeout_seconds: float = setting(15.0, "push", to_float)
    # At most this many of the push_concurrency slots go to one endpoint host, so a slow one uses only its share.
    push_endpoint_concurrency: int = setting(2, "push", to_int)
    # After this many consecutive unreachable/timed-out attempts an endpoint is left alone (circuit open)
    # for push_circuit_open_seconds, then one probe decides whether it is back.
    push_circuit_failures: int = setting(5, "push", to_int)
    push_circuit_open_seconds: float = setting(30.0, "push", to_float)
    # PostgreSQL ends a session idle inside a transaction this long (a frozen node holding claimed rows
    # locked), so its locks cannot hide deliveries from the other nodes; keep it below claim_lease_seconds.
    database_idle_in_transaction_seconds: float = setting(60.0, "database", to_float)
    # The SDK stamps its JVM's wall-clock time with no zone, and DMS containers often run in UTC:
    # the UTC offsets (hours, comma-separated) a zone-less XroadVnpt-timestamp may be read in.
    vxp_clock_zones: str = setting("7,0", "vxp", to_str)
    # Where the values came from, for `axis config` style diagnostics.
    sources: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key_kind(self) -> KeyKind:
        """``axis_key_kind`` checked: "ec" or "rsa"."""
        if self.axis_key_kind not in ("ec", "rsa"):
            raise ValueError(f"axis_key_kind must be 'ec' or 'rsa', not {self.axis_key_kind!r}")
        return "ec" if self.axis_key_kind == "ec" else "rsa"

    @property
    def secure_cookies(self) -> bool:
        """Whether UI cookies are Secure: as set, else on unless the axis listens on loopback only."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return not is_loopback_host(self.host)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'axis.db').resolve()}"

    @property
    def is_embedded_database(self) -> bool:
        """True when running on the embedded SQLite default."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def retention_path(self) -> Path:
        """The retention schedules file (relative paths are under home)."""
        if not self.retention_file:
            return DEFAULT_CONFIG.parent / "retention.toml"
        path = Path(self.retention_file)
        return path if path.is_absolute() else self.home / path

    @property
    def audit_head_log_path(self) -> Path:
        """The head log file (relative paths are under home)."""
        if not self.audit_head_log:
            return self.home / "audit-heads.jsonl"
        path = Path(self.audit_head_log)
        return path if path.is_absolute() else self.home / path

    @property
    def blob_dir(self) -> Path:
        """Directory of the content-addressed blob store."""
        return self.home / "blobs"

    @property
    def blob_backend_name(self) -> str:
        """``blob_backend`` checked: "filesystem" or "database"."""
        if self.blob_backend not in ("filesystem", "database"):
            raise ValueError(f"blob_backend must be 'filesystem' or 'database', not {self.blob_backend!r}")
        return self.blob_backend

    @property
    def axis_key_path(self) -> Path | None:
        """The configured axis key file, or None for the default under ``keys_dir``."""
        return self._under_home(self.axis_key_file)

    @property
    def axis_certificate_path(self) -> Path | None:
        """The configured axis certificate file, or None for the default under ``keys_dir``."""
        return self._under_home(self.axis_certificate_file)

    def _under_home(self, value: str) -> Path | None:
        if not value:
            return None
        path = Path(value)
        return path if path.is_absolute() else self.home / path

    @property
    def keys_dir(self) -> Path:
        """Directory holding the axis key, certificate and development CA."""
        return self.home / "keys"

    @property
    def vxp_key_path(self) -> Path:
        """The file holding the national SDK secrets' encryption key when ``vxp_secret_key`` is empty."""
        return self.keys_dir / "vxp-secrets.key"


def is_loopback_host(host: str) -> bool:
    """True for a listen address reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a name or "" (every interface): assume it is reachable from elsewhere


def setting_fields() -> dict[str, dataclasses.Field[Any]]:
    """Every setting by name (``sources`` is not one)."""
    return {f.name: f for f in dataclasses.fields(Settings) if "section" in f.metadata}


def _flatten(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    """The file's values by setting name: each in its own table (or, as files used to be, at the top)."""
    fields = setting_fields()
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS and isinstance(value, dict):
            for name, inner in value.items():
                if name not in fields:
                    raise ValueError(f"unknown setting [{key}] {name} in {path}")
                if fields[name].metadata["section"] != key:
                    raise ValueError(f"{name} in {path} belongs in [{fields[name].metadata['section']}], not [{key}]")
                values[name] = inner
        elif key in fields:
            values[key] = value
        else:
            raise ValueError(f"unknown setting {key} in {path}")
    return values


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the TOML file, then AXIS_* variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    path = config_file or Path(environ.get("AXIS_CONFIG", DEFAULT_CONFIG))
    values: dict[str, Any] = {}
    sources: list[str] = []
    if path.exists():
        with path.open("rb") as fh:
            values.update(_flatten(path, tomllib.load(fh)))
        sources.append(str(path))
    fields = setting_fields()
    for name in fields:
        env_value = environ.get(f"AXIS_{name.upper()}")
        if env_value is not None:
            values[name] = env_value
            sources.append(f"AXIS_{name.upper()}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    home = Path(values.get("home", "var"))
    coerced: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            coerced[name] = fields[name].metadata["convert"](raw, home)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from None
    return Settings(**coerced, sources=tuple(sources))
