"""Time units of scenario values, so that changing `time.step` changes the resolution of a run, not its answer.

Scenario values are stored in months: durations (edge `duration`, node `dwell`) in months, rates (a group's
`departure_rate`) per month, per-period probabilities (a node's `arrest_hazard`) per month. A plain number is read
in that default unit; a string may name another: "45 days", "2 weeks", "1.5 years"; "0.02 per year", "0.001 per
week". A month is 365.25 / 12 = 30.4375 days. The engine converts to steps of length Δ months
(`step_months`: 1 for `month`, 7 / 30.4375 for `week`):

    duration in steps      = max(1, round(duration / Δ))
    dwell in steps         = dwell / Δ            (a fixed dwell waits round(dwell / Δ) steps)
    departure rate per step = rate · Δ            (a hazard rate: p = 1 − exp(−rate · Δ · e^U))
    arrest hazard per step = 1 − (1 − h)^Δ        (a probability per month, compounded)
"""

from __future__ import annotations

import math
import re
from typing import Any

from sim.errors import shown

DAYS_PER_MONTH = 365.25 / 12
MONTHS_PER = {"day": 1 / DAYS_PER_MONTH, "week": 7 / DAYS_PER_MONTH, "month": 1.0, "year": 12.0}
STEP_MONTHS = {"month": 1.0, "week": 7 / DAYS_PER_MONTH}
_NUMBER = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*(day|week|month|year)s?\s*$")
_PER_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/|per)\s*(day|week|month|year)\s*$")
DURATION_HELP = "a number of months, or a string such as '45 days', '6 weeks', '2 months', '1.5 years'"
RATE_HELP = "a number per month, or a string such as '0.02 per year', '0.001 per week'"


def step_months(step: str) -> float:
    """Length of one step in months: Δ = 1 (month) or 7 / 30.4375 (week)."""
    return STEP_MONTHS[step]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _as_written(result: float, value: str) -> float:
    """`result`, converted from the unit string `value`; a ValueError quoting `value` as written when it is
    negative or past the floating-point range (the bound checks after conversion would quote the converted
    number: '-0.02 per year' was "found -0.0016666666666666668", '1e308 per day' "found inf")."""
    if result < 0:
        raise ValueError(f"must not be negative, found {shown(value)}")
    if not math.isfinite(result):
        raise ValueError(f"is too large, found {shown(value)}")
    return result


def parse_duration(value: Any) -> Any:
    """Months from a number (months) or '<x> day(s)|week(s)|month(s)|year(s)'; other input is returned as it is
    for the schema to reject."""
    num = _number(value)
    if num is not None:
        return num
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if not m:
            raise ValueError(f"expected {DURATION_HELP}, found {shown(value)}")
        return _as_written(float(m.group(1)) * MONTHS_PER[m.group(2)], value)
    return value


def _per(value: Any) -> tuple[float, float] | None:
    """(number, months per its period) of '<x> per day|week|month|year', or None for a plain number."""
    if isinstance(value, str):
        m = _PER_RE.match(value)
        if not m:
            raise ValueError(f"expected {RATE_HELP}, found {shown(value)}")
        return float(m.group(1)), MONTHS_PER[m.group(2)]
    return None


def parse_rate(value: Any) -> Any:
    """A hazard rate per month from a number (per month) or '<x> per <period>' (x / months in the period)."""
    per = _per(value)
    if per is None:
        return value
    x, months = per
    return _as_written(x / months, value)


def parse_probability_rate(value: Any) -> Any:
    """A probability per month from a number (per month) or '<p> per <period>': 1 − (1 − p)^(1 / months)."""
    per = _per(value)
    if per is None:
        return value
    p, months = per
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability per period must lie in [0, 1], found {shown(value)}")
    return 1.0 if p == 1.0 else -math.expm1(math.log1p(-p) / months)


def per_step_probability(h: float, delta: float) -> float:
    """1 − (1 − h)^Δ: a per-month probability over a step of Δ months."""
    return 1.0 if h >= 1.0 else -math.expm1(math.log1p(-h) * delta)
