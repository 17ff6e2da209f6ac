"""Certificate lifecycle: every certificate the axis relies on, when it expires, and the expiry metric.

Three kinds are watched: each registered agency certificate (the current one and, during a
rotation, the next one), each CA certificate in ``ca_certificates``, and the axis's own
certificate (it signs every receipt). The web page ``/admin``, the job ``certificates.expiry``,
``axis agency certificates`` and the metric ``axis_certificate_expiry_seconds`` read the same list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from axis.identity import KeyFiles
from axis.settings import Settings
from signing.chain import chain_of
from signing.keys import Certificate, common_name_of, fingerprint, load_certificates
from storage.registry.cache import RegistrySnapshot

if TYPE_CHECKING:
    from axis.context import AxisContext

log = logging.getLogger("axis.certificate_expiry")

Role = Literal["current", "next", "ca", "axis"]
State = Literal["expired", "expiring", "valid"]


@dataclass(frozen=True)
class CertificateRecord:
    """One watched certificate: whose it is, which role it plays, and its validity."""

    #: The agency code (the axis's own code for its certificate), or ``CA`` for a trusted CA.
    owner: str
    role: Role
    #: The agency's name, or the CA's common name.
    name: str
    subject: str
    fingerprint: str
    not_before: datetime
    not_after: datetime

    def seconds_left(self, now: datetime) -> float:
        """Seconds until the certificate expires (negative once it has)."""
        return (self.not_after - now).total_seconds()

    def days_left(self, now: datetime) -> int:
        """Whole days until expiry, toward zero: 11 for 11.9 days left, -3 for expired 3.1 days ago."""
        return int(self.seconds_left(now) / 86400)

    def state(self, now: datetime, warning_days: float) -> State:
        """``expired``, ``expiring`` (within ``warning_days``) or ``valid``."""
        if self.not_after <= now:
            return "expired"
        return "expiring" if self.not_after - now <= timedelta(days=warning_days) else "valid"

    def as_json(self, now: datetime, warning_days: float) -> dict[str, object]:
        """The record for ``--json`` and the API: dates as ISO 8601, days left rounded down."""
        return {
            "owner": self.owner, "role": self.role, "name": self.name, "subject": self.subject,
            "fingerprint": self.fingerprint, "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(), "days_left": self.days_left(now),
            "state": self.state(now, warning_days),
        }


def record(owner: str, role: Role, name: str, certificate: Certificate) -> CertificateRecord:
    """The record of one certificate."""
    return CertificateRecord(owner, role, name, certificate.subject.rfc4514_string(), fingerprint(certificate),
                             certificate.not_valid_before_utc, certificate.not_valid_after_utc)


#: One agency as the lifecycle sees it: code, name, and its certificates with their roles.
AgencyCertificates = tuple[str, str, Sequence[tuple[Role, Certificate]]]


def certificate_records(agencies: Iterable[AgencyCertificates], cas: Sequence[Certificate],
                        axis_code: str, axis_certificate: Certificate | None) -> list[CertificateRecord]:
    """Every watched certificate: the agencies' (by code), the CAs', then the axis's own."""
    records = [
        record(code, role, name, certificate)
        for code, name, certificates in sorted(agencies, key=lambda a: a[0])
        # The axis's registry row pins the axis certificate: listed once, as the axis's.
        if code != axis_code
        for role, certificate in certificates
    ]
    records += [record("CA", "ca", common_name_of(ca) or ca.subject.rfc4514_string(), ca) for ca in cas]
    if axis_certificate is not None:
        records.append(record(axis_code, "axis", common_name_of(axis_certificate) or axis_code, axis_certificate))
    return records


def snapshot_agencies(snapshot: RegistrySnapshot) -> list[AgencyCertificates]:
    """The agencies of a registry snapshot with their parsed certificates (nothing read from the database)."""
    out: list[AgencyCertificates] = []
    for agency in snapshot.by_code.values():
        roles: list[tuple[Role, Certificate]] = []
        for certificate in agency.certificates:
            nxt = agency.next_certificate_fingerprint is not None and \
                fingerprint(certificate) == agency.next_certificate_fingerprint
            roles.append(("next" if nxt else "current", certificate))
        out.append((agency.code, agency.name, roles))
    return out


def needing_attention(records: Iterable[CertificateRecord], now: datetime,
                      within_days: float) -> list[CertificateRecord]:
    """The expired ones and those expiring within ``within_days``, soonest first."""
    return sorted((r for r in records if r.state(now, within_days) != "valid"), key=lambda r: r.not_after)


class CertificateExpiryCollector(Collector):
    """``axis_certificate_expiry_seconds``: seconds until each watched certificate expires.

    The list of certificates comes from memory (the registry snapshot the process already holds,
    the CAs, the axis certificate), refreshed when the registry moves; a scrape computes the
    seconds left from it and never reads the database.
    """

    def __init__(self) -> None:
        self._source: Callable[[], Sequence[CertificateRecord]] = lambda: ()
        self._clock: Callable[[], datetime] | None = None

    def watch(self, source: Callable[[], Sequence[CertificateRecord]], clock: Callable[[], datetime]) -> None:
        """Start reporting the certificates ``source`` returns, at the time ``clock`` tells."""
        self._source, self._clock = source, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge sample per certificate, labelled by agency (or ``CA``), role and short fingerprint."""
        gauge = GaugeMetricFamily(
            "axis_certificate_expiry_seconds",
            "Seconds until the certificate expires (negative: expired), per agency, role and fingerprint",
            labels=["agency", "role", "fingerprint"],
        )
        if self._clock is not None:
            now = self._clock()
            for r in self._source():
                gauge.add_metric([r.owner, r.role, r.fingerprint[:16]], r.seconds_left(now))
        yield gauge


class WatchedCertificates:
    """The records of one process, rebuilt only when its registry snapshot changes version."""

    def __init__(self, snapshot: Callable[[], RegistrySnapshot | None], cas: Sequence[Certificate],
                 axis_code: str, axis_certificate: Certificate) -> None:
        self._snapshot = snapshot
        self._cas = tuple(cas)
        self._axis_code = axis_code
        self._axis_certificate = axis_certificate
        self._version: int | None = None
        self._records: list[CertificateRecord] = []

    def __call__(self) -> Sequence[CertificateRecord]:
        """The current records (from the last registry snapshot this process read)."""
        snapshot = self._snapshot()
        version = None if snapshot is None else snapshot.version
        if version != self._version or not self._records:
            agencies = snapshot_agencies(snapshot) if snapshot is not None else []
            self._records = certificate_records(agencies, self._cas, self._axis_code, self._axis_certificate)
            self._version = version
        return self._records


async def current_records(ctx: AxisContext) -> list[CertificateRecord]:
    """The watched certificates of a running axis, from a registry snapshot read now (rare callers: a page, a job)."""
    snapshot = await ctx.registry.after_miss()
    return certificate_records(snapshot_agencies(snapshot), ctx.policy.ca_certificates, ctx.settings.axis_code,
                               ctx.identity.certificate)


def log_attention(records: Iterable[CertificateRecord], now: datetime, warning_days: float) -> list[CertificateRecord]:
    """Log a warning for each certificate expired or expiring within ``warning_days``; return them."""
    flagged = needing_attention(records, now, warning_days)
    for r in flagged:
        what = "EXPIRED on" if r.state(now, warning_days) == "expired" else "expires on"
        log.warning("certificate %s %s (%s, %s, sha256 %s) %s %s", r.role, r.owner, r.name, r.subject,
                    r.fingerprint[:16], what, r.not_after.isoformat())
    return flagged


def axis_chain(axis_certificate: Certificate, settings: Settings, cas: Sequence[Certificate]) -> list[Certificate]:
    """The axis certificate and the chain up to its issuing CA, from the development CA and ``ca_certificates``."""
    pool = list(cas)
    dev_ca = KeyFiles(settings.keys_dir).ca_cert
    if dev_ca.exists():
        # Read each time: a small file, and the endpoint is rare; a new CA file is served without restart.
        pool.extend(load_certificates(dev_ca.read_bytes()))
    return chain_of(axis_certificate, pool)
