"""Prometheus metrics of one axis process (own registry, so tests can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from axis.certificate_expiry import CertificateExpiryCollector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DELIVERY_BUCKETS = (0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400)


@dataclass
class Metrics:
    """The counters, gauges and histograms the axis exports on /metrics."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.submissions = Counter(
            "axis_submissions", "Submissions by kind and outcome code", ["kind", "outcome"], registry=r
        )
        self.requests = Histogram(
            "axis_request_seconds", "HTTP request latency", ["route", "method", "status"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.submit_latency = Histogram(
            "axis_submit_seconds", "Time to accept a submission", ["kind"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.push_attempts = Counter(
            "axis_push_attempts", "Push delivery attempts by outcome", ["outcome"], registry=r
        )
        # Failed attempts by recipient: the agencies are the registered ones (about a hundred), never a
        # caller's input, so the label stays bounded. What failed is in the log line of each attempt.
        self.push_errors = Counter(
            "axis_push_errors", "Failed push attempts by recipient agency", ["agency"], registry=r
        )
        # 1 while pushes to an endpoint (scheme://host:port) are suspended after repeated timeouts.
        self.push_circuit_open = Gauge(
            "axis_push_circuit_open", "Push endpoints whose circuit is open", ["endpoint"], registry=r
        )
        self.retries = Counter("axis_delivery_retries", "Push deliveries scheduled for a retry", registry=r)
        self.delivery_latency = Histogram(
            "axis_delivery_seconds", "Submission to signed receipt 01", buckets=DELIVERY_BUCKETS, registry=r
        )
        self.deliveries = Gauge("axis_deliveries", "Deliveries by state", ["state"], registry=r)
        # Exported as axis_unsigned_documents_total: accepted under an agency's legacy-transport policy.
        self.unsigned_documents = Counter(
            "axis_unsigned_documents", "Messages accepted without a valid XML signature (legacy-transport)",
            ["agency"], registry=r,
        )
        # Read from the database by axis.gauges: how old the newest signed audit head is, and how many
        # audit entries it does not cover yet (a quiet axis keeps an old head with nothing after it).
        self.audit_head_age = Gauge(
            "axis_audit_head_age_seconds",
            "Seconds since the newest signed audit head (since the first entry while none is signed)", registry=r,
        )
        self.audit_unsigned = Gauge(
            "axis_audit_entries_unsigned", "Audit entries, chained or queued, after the newest signed head",
            registry=r,
        )
        self.job_runs = Counter("axis_job_runs", "Scheduler job runs by job and outcome", ["job", "outcome"],
                                registry=r)
        # Request bodies in flight in this process: bytes held in memory and in spool files (the budget's use).
        self.body_bytes = Gauge("axis_body_bytes", "Bytes of request bodies in flight", ["where"], registry=r)
        # Expected faults, each logged as one warning line: database unavailable, disk full, endpoint unreachable.
        self.faults = Counter("axis_faults", "Expected faults by kind", ["kind"], registry=r)
        # Computed at scrape from certificates held in memory (axis/certificates.py): no query.
        self.certificate_expiry = CertificateExpiryCollector()
        r.register(self.certificate_expiry)

    def render(self) -> bytes:
        """Text exposition format."""
        return generate_latest(self.registry)
