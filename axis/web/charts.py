"""The reports page's throughput chart, drawn on the server as SVG: bars and a line, no script."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from axis.web.i18n import Translator

WIDTH, HEIGHT = 1200, 380
# The plot area inside the drawing: room for the legend above, tick labels and axis titles around.
LEFT, RIGHT, TOP, BOTTOM = 70, 1120, 44, 320
#: (report column, catalogue key of its name, CSS class) of each bar in a month's group.
BARS = (("sent", "report.sent", "bar-sent"), ("received", "report.received", "bar-received"),
        ("delivered", "report.delivered", "bar-delivered"))
LINE = ("median_receipt_s", "report.median_receipt_s", "line-median")
# Units the time axis switches to as receipt times grow: (seconds per unit, catalogue key of the axis title).
_TIME_UNITS = ((0.001, "chart.axis_time_ms"), (1.0, "chart.axis_time_s"), (60.0, "chart.axis_time_min"),
               (3600.0, "chart.axis_time_h"))


@dataclass(frozen=True)
class Bar:
    """One bar: its rectangle, colour class, and what it says on hover."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Point:
    """One point of the receipt-time line."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Tick:
    """A tick on an axis: where (pixels) and its label."""

    at: float
    label: str


@dataclass(frozen=True)
class MonthGroup:
    """The bars of one month and its label under the axis."""

    month: str
    label: str
    x: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template draws, already in pixels and in the reader's language."""

    title: str
    desc: str
    months: tuple[MonthGroup, ...]
    count_ticks: tuple[Tick, ...]
    time_ticks: tuple[Tick, ...]
    time_axis: str
    lines: tuple[str, ...]
    points: tuple[Point, ...]
    legend: tuple[tuple[str, str], ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


def nice_scale(largest: float, *, whole: bool) -> tuple[float, float]:
    """(top, step) of an axis from 0 showing ``largest`` in at most five steps of 1, 2 or 5 × 10^k."""
    largest = max(largest, 1.0 if whole else 0.0)
    if largest <= 0:
        return 1.0, 0.2
    exponent = math.floor(math.log10(largest / 5))
    for base in (1, 2, 5, 10):
        step = base * 10.0 ** exponent
        if whole:
            step = max(1.0, round(step))
        if step * 5 >= largest:
            break
    return step * math.ceil(largest / step - 1e-9), step


def _r(value: float) -> float:
    return round(value, 1)


def _decimals(step: float) -> int:
    """Digits after the point that tell ticks ``step`` apart (0 for whole steps, 1 for 0.2, 2 for 0.05)."""
    if step >= 1 and float(step).is_integer():
        return 0
    return max(0, -math.floor(math.log10(step) + 1e-9))


def _ticks(top: float, step: float, t: Translator, *, whole: bool) -> tuple[Tick, ...]:
    count = int(round(top / step))
    digits = 0 if whole else _decimals(step)
    out = []
    for i in range(count + 1):
        value = step * i
        label = t.number(int(round(value))) if digits == 0 else t.number(round(value, digits), digits)
        out.append(Tick(_r(BOTTOM - (BOTTOM - TOP) * value / top), label))
    return tuple(out)


def month_label(month: str, t: Translator) -> str:
    """``11/2026`` in Vietnamese, ``2026-11`` in English."""
    return t.month(month)


def throughput_chart(series: Sequence[Mapping[str, Any]], t: Translator) -> Chart:
    """The chart of a report series (oldest month first): sent, received, delivered; median receipt time."""
    n = max(len(series), 1)
    slot = (RIGHT - LEFT) / n
    bar_width = slot * 0.78 / len(BARS)
    top, step = nice_scale(max((float(row[c] or 0) for row in series for c, _, _ in BARS), default=0), whole=True)

    times = [row.get(LINE[0]) for row in series]
    known = [float(v) for v in times if v is not None]
    unit, unit_key = _TIME_UNITS[0]
    for seconds, key in _TIME_UNITS:
        if known and max(known) >= 2 * seconds:
            unit, unit_key = seconds, key
    time_top, time_step = nice_scale(max(known, default=0) / unit, whole=False)

    groups: list[MonthGroup] = []
    points: list[Point] = []
    lines: list[str] = []
    run: list[str] = []
    for i, row in enumerate(series):
        label = month_label(str(row["month"]), t)
        centre = LEFT + slot * (i + 0.5)
        start = centre - bar_width * len(BARS) / 2
        bars = []
        for j, (column, key, css) in enumerate(BARS):
            value = int(row[column] or 0)
            height = (BOTTOM - TOP) * value / top
            bars.append(Bar(_r(start + j * bar_width), _r(BOTTOM - height), _r(bar_width - 1), _r(height), css,
                            f"{t(key)} {label}: {t.number(value)}"))
        groups.append(MonthGroup(str(row["month"]), label, _r(centre), tuple(bars)))
        moment = times[i]
        if moment is None:
            # A month without receipts breaks the line rather than dropping to zero.
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        y = _r(BOTTOM - (BOTTOM - TOP) * (float(moment) / unit) / time_top)
        points.append(Point(_r(centre), y, f"{t(LINE[1])} {label}: {t.duration(float(moment))}"))
        run.append(f"{_r(centre)},{y}")
    if run:
        lines.append(" ".join(run))

    first = month_label(str(series[0]["month"]), t) if series else ""
    last = month_label(str(series[-1]["month"]), t) if series else ""
    legend = tuple((css, t(key)) for _, key, css in BARS)
    if known:
        legend += ((LINE[2], t(LINE[1])),)
    return Chart(
        title=t("chart.title", first=first, last=last),
        desc=t("chart.desc"),
        months=tuple(groups),
        count_ticks=_ticks(top, step, t, whole=True),
        time_ticks=_ticks(time_top, time_step, t, whole=False) if known else (),
        time_axis=t(unit_key),
        lines=tuple(lines),
        points=tuple(points),
        legend=legend,
    )
