"""Months and step dates: 'YYYY-MM' parsing and the calendar of a run's steps."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")


# ---------------------------------------------------------------------------------------------- month handling


def parse_month(value: Any) -> tuple[int, int]:
    """'YYYY-MM' -> (year, month); the year lies in 0001..9999 (the years a calendar date can have), the month
    in 01..12. A date with a day (YAML reads `2000-06-20` as one) is refused, not cut to its month."""
    if isinstance(value, dt.date):  # YAML reads 2000-06-20 as a date: a day a month's steps would not keep
        raise ValueError(f"{value.isoformat()} is a day; months are written 'YYYY-MM' ({value.year:04d}-"
                         f"{value.month:02d}), and what is dated takes effect from a month's first step")
    m = _MONTH_RE.match(str(value).strip())
    if not m:
        raise ValueError(f"expected a month as 'YYYY-MM', found {value!r}")
    year, month = int(m.group(1)), int(m.group(2))
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise ValueError(f"year must be {dt.MINYEAR:04d}..{dt.MAXYEAR:04d}, found {value!r}")
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12, found {value!r}")
    return year, month


def month_str(ym: tuple[int, int]) -> str:
    return f"{ym[0]:04d}-{ym[1]:02d}"





class Horizon(Protocol):
    """What the calendar needs of a scenario's `time` section (read-only, so a frozen model satisfies it)."""

    @property
    def start(self) -> str: ...
    @property
    def end(self) -> str: ...
    @property
    def step(self) -> str: ...


def step_dates(time: Horizon) -> list[dt.date]:
    """Dates of the steps: month steps fall on the 1st; week steps every 7 days from start's 1st to end's last day."""
    y0, m0 = parse_month(time.start)
    y1, m1 = parse_month(time.end)
    if time.step == "month":
        out = []
        y, m = y0, m0
        while (y, m) <= (y1, m1):
            out.append(dt.date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    first = dt.date(y0, m0, 1)
    last = dt.date(y1, m1, calendar.monthrange(y1, m1)[1])
    n = (last - first).days // 7 + 1
    return [first + dt.timedelta(days=7 * k) for k in range(n)]


@dataclass(frozen=True)
class Span:
    """A horizon as a resolved scenario file writes it (`time.start`, `time.end`, `time.step`)."""

    start: str
    end: str
    step: str = "month"


def partial_years(dates: Iterable[dt.date], step: str) -> list[int]:
    """The years a run whose steps start on `dates` covers in part: fewer of its steps start in them than in a
    whole year (12 months, or 52 weeks: a year of weekly steps holds 52 or 53), in increasing order."""
    counts = Counter(d.year for d in dates)
    full = 12 if step == "month" else 52
    return sorted(y for y, n in counts.items() if n < full)


def month_start(ym: str) -> dt.date:
    y, m = parse_month(ym)
    return dt.date(y, m, 1)
