"""Figures from raw samples: percentiles, the human table and the one-line JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: The keys `axis bench --json` always prints (None when a scenario did not run or failed).
HEADLINE_KEYS = (
    "submit_per_s", "roundtrip_per_s", "push_per_s", "submit_cpu_ms", "roundtrip_cpu_ms", "push_cpu_ms",
    "submit_p99_ms", "large_peak_rss_mb", "large_attachment_mb",
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max of latencies given in seconds, as milliseconds."""
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "p50_ms": ms(percentile(seconds, 50)),
        "p95_ms": ms(percentile(seconds, 95)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


def headline(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures the issue asks for, from the per-scenario results."""
    def get(name: str, key: str) -> Any:
        result = scenarios.get(name) or {}
        return result.get(key)

    def cpu_ms(name: str) -> float | None:
        value = get(name, "server_cpu_s_per_msg")
        return None if value is None else round(value * 1000, 2)

    return {
        "submit_per_s": get("submit", "per_s"),
        "roundtrip_per_s": get("roundtrip", "per_s"),
        "push_per_s": get("push", "per_s"),
        "submit_cpu_ms": cpu_ms("submit"),
        "roundtrip_cpu_ms": cpu_ms("roundtrip"),
        "push_cpu_ms": cpu_ms("push"),
        "submit_p99_ms": get("submit_half_rate", "p99_ms"),
        "large_peak_rss_mb": get("large", "peak_rss_mb"),
        "large_attachment_mb": get("large", "attachment_mb"),
    }


#: The issue's targets (on PostgreSQL, this 2-core machine): figure, comparison, bound.
TARGETS = (
    ("submit_per_s", ">=", 600.0),
    ("roundtrip_per_s", ">=", 200.0),
    ("push_per_s", ">=", 250.0),
    ("submit_cpu_ms", "<=", 1.5),
    ("roundtrip_cpu_ms", "<=", 6.0),
    ("push_cpu_ms", "<=", 5.0),
    ("submit_p99_ms", "<", 50.0),
    ("large_peak_rss_ratio", "<", 2.0),
    ("scale_inbox_page_p95_ms", "<", 50.0),
    ("scale_trace_p95_ms", "<", 50.0),
    ("scale_monthly_report_ms", "<", 1000.0),
)


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each target with the measured figure and whether it is met (None when not measured)."""
    large = result["scenarios"].get("large") or {}
    queries = (result.get("scale") or {}).get("queries", {})
    measured = {
        **{key: result.get(key) for key in HEADLINE_KEYS},
        "large_peak_rss_ratio": large.get("peak_rss_ratio") if large.get("delivered") else None,
        "scale_inbox_page_p95_ms": queries.get("inbox_page", {}).get("p95_ms"),
        "scale_trace_p95_ms": queries.get("trace", {}).get("p95_ms"),
        "scale_monthly_report_ms": queries.get("monthly_report", {}).get("p50_ms"),
    }
    out = {}
    for key, op, bound in TARGETS:
        value = measured.get(key)
        met = None if value is None else {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
        out[key] = {"target": f"{op} {bound:g}", "measured": value, "met": met}
    return out


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    else:
        text = str(value)
    return f"{text}{unit}"


def render_text(result: dict[str, Any]) -> str:
    """A plain-text table of every scenario that ran, then the scale figures."""
    workers = result.get("workers", 1)
    lines = [f"axis bench — {result['database']} database, concurrency {result['concurrency']}, "
             f"{workers} server process{'es' if workers != 1 else ''}, {result['machine']}"]
    if workers != 1:
        lines.append("server CPU is summed over its processes; peak RSS is the sum of each one's peak "
                     "(an upper bound: the peaks need not coincide)")
    header = (f"{'scenario':<18}{'n':>6}{'msg/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"
              f"{'cpu ms/msg':>12}{'db ms/msg':>11}{'load ms/msg':>13}{'peak RSS MB':>13}{'errors':>8}")
    if result["scenarios"]:
        lines += ["", header, "-" * len(header)]
    for name, s in result["scenarios"].items():
        if s.get("stopped_by_time_limit"):
            name += "*"
        if s.get("skipped"):
            lines.append(f"{name:<18}skipped: {s['skipped']}")
            continue
        cpu, db, load = (s.get(k) for k in ("server_cpu_s_per_msg", "db_cpu_s_per_msg", "load_cpu_s_per_msg"))
        lines.append(
            f"{name:<18}{_fmt(s.get('count')):>6}{_fmt(s.get('per_s')):>10}{_fmt(s.get('p50_ms')):>10}"
            f"{_fmt(s.get('p95_ms')):>10}{_fmt(s.get('p99_ms')):>10}"
            f"{_fmt(None if cpu is None else cpu * 1000):>12}{_fmt(None if db is None else db * 1000):>11}"
            f"{_fmt(None if load is None else load * 1000):>13}{_fmt(s.get('peak_rss_mb')):>13}"
            f"{_fmt(s.get('errors', 0)):>8}"
        )
    busy = {name: s["cores_busy"] for name, s in result["scenarios"].items() if s.get("cores_busy")}
    if busy:
        lines.append("cores busy (server / database / load generator / other processes): " + "; ".join(
            f"{name} {b['server']}/{_fmt(b['database'])}/{b['load_generator']}/{b['other']}"
            for name, b in busy.items()))
    if any(s.get("stopped_by_time_limit") for s in result["scenarios"].values()):
        lines.append("* stopped by --max-seconds before all its messages were sent")
    large = result["scenarios"].get("large")
    if large and not large.get("skipped"):
        lines += ["", (f"large: {large.get('attachment_mb')} MB attachment, {large.get('message_mb')} MB message; "
                       f"accepted={large.get('accepted')} delivered={large.get('delivered')} "
                       f"pushed={large.get('pushed', False)} "
                       f"submit {_fmt(large.get('submit_s'), ' s')}, fetch {_fmt(large.get('fetch_s'), ' s')}; "
                       f"server peak RSS {_fmt(large.get('peak_rss_mb'), ' MB')} "
                       f"({_fmt(large.get('peak_rss_ratio'), '×')} the attachment, "
                       f"{_fmt(large.get('baseline_rss_mb'), ' MB')} before)")]
        if large.get("error"):
            lines.append(f"large: {large['error']}")
    half = result["scenarios"].get("submit_half_rate")
    if half and not half.get("skipped"):
        lines.append(f"submit_half_rate: open loop at {_fmt(half.get('target_per_s'))}/s "
                     f"(50 % of the closed-loop maximum), achieved {_fmt(half.get('per_s'))}/s")
    scale = result.get("scale")
    if scale:
        lines += ["", f"scale: {scale['messages']:,} messages loaded in {_fmt(scale['load_s'], ' s')} "
                      f"({scale['method']}); {scale.get('inbox_waiting', 0):,} items waiting in the "
                      f"queried agency's inbox"]
        for name, q in scale["queries"].items():
            if q.get("skipped"):
                lines.append(f"  {name:<20} skipped: {q['skipped']}")
            else:
                lines.append(f"  {name:<20} n={q['count']:<4} p50 {_fmt(q['p50_ms'], ' ms'):>10}  "
                             f"p95 {_fmt(q['p95_ms'], ' ms'):>10}  max {_fmt(q['max_ms'], ' ms'):>10}"
                             + (f"  first {_fmt(q['first_ms'], ' ms')}" if "first_ms" in q else ""))
    checked = {k: t for k, t in result.get("targets", {}).items() if t["met"] is not None}
    if checked:
        lines += ["", "targets (the issue's, meant for PostgreSQL): " + "; ".join(
            f"{k} {t['target']}: {'met' if t['met'] else 'NOT met'} ({_fmt(t['measured'])})"
            for k, t in checked.items())]
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)
