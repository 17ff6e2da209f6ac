"""Vietnam-time calendar for the archive: registers run per year and reports per month in UTC+7."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from envelope.codes import VN_TZ

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


def vn_date(moment: datetime) -> date:
    """The calendar date in Vietnam of an aware moment."""
    return moment.astimezone(VN_TZ).date()


def parse_month(month: str) -> tuple[int, int]:
    """(year, month) of a ``YYYY-MM`` string; ValueError when malformed."""
    m = _MONTH_RE.fullmatch(month)
    if m is None or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1:
        raise ValueError(f"month {month!r} is not YYYY-MM")
    return int(m[1]), int(m[2])


def month_of(moment: datetime) -> str:
    """The ``YYYY-MM`` month in Vietnam of an aware moment."""
    local = moment.astimezone(VN_TZ)
    return f"{local.year:04d}-{local.month:02d}"


def shift_month(month: str, delta: int) -> str:
    """The month ``delta`` months after (or before) ``month``."""
    year, mon = parse_month(month)
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month in Vietnam, as UTC moments."""
    year, mon = parse_month(month)
    start = datetime(year, mon, 1, tzinfo=VN_TZ)
    nyear, nmon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    end = datetime(nyear, nmon, 1, tzinfo=VN_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
