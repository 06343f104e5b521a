"""The outcome language of a sensitivity spec: `arrived`, `share(dmz)`, `arrived(2010..2019)`, ... evaluated per run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sim.outcomes import female_arrivals

if TYPE_CHECKING:  # numpy, pandas, scipy and SALib load on use, so registering the command costs nothing
    import numpy as np
    import pandas as pd

# Why a run may have no value for an outcome (only a female share can be undefined), and what to do about it: the
# words of every analysis that refuses or leaves empty what such runs would decide.
NO_VALUE = "a female share of years in which nobody arrived has none"
NO_VALUE_REMEDY = "choose years every run has arrivals in"


# --------------------------------------------------------------------------------------- outcome language

_EXPR = re.compile(r"^\s*(?P<fn>[a-z_]+)\s*(?:\((?P<args>[^()]*)\))?\s*$")
_YEARS = re.compile(r"^\s*([0-9]{4})\s*(?:\.\.\s*([0-9]{4})\s*)?$")


@dataclass(frozen=True)
class Outcome:
    """A parsed outcome expression. kind: total | route | share | period | female_share."""

    name: str
    expression: str
    kind: str
    key: str
    routes: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    def needs(self) -> set[str]:
        """Blocks of sweep outputs this outcome reads (sweep spec outputs.keep)."""
        return {"total": {"totals"}, "route": {"by_route"}, "share": {"totals", "by_route"},
                "period": {"by_year"}, "female_share": {"by_year"}}[self.kind]

    def evaluate(self, runs: pd.DataFrame) -> np.ndarray:
        """One value per run (row): total `key`; sum of route.<r>.<key> over routes; that sum / total `key`
        (0 when the total is 0); sum of year.<YYYY>.arrived over the years; the female share of the years'
        arrivals, sum_y f_y a_y / sum_y a_y (NaN when nobody arrived in those years)."""
        import numpy as np

        if self.kind == "total":
            return runs[self.key].to_numpy(float)
        if self.kind == "period":
            return sum(runs[f"year.{y}.arrived"].to_numpy(float) for y in self.years)
        if self.kind == "female_share":
            arrived = {y: runs[f"year.{y}.arrived"].to_numpy(float) for y in self.years}
            women = sum(female_arrivals(arrived[y], runs[f"year.{y}.female_share"].to_numpy(float))
                        for y in self.years)
            total = sum(arrived.values())
            return np.divide(women, total, out=np.full_like(total, np.nan), where=total > 0)
        part = sum(runs[f"route.{r}.{self.key}"].to_numpy(float) for r in self.routes)
        if self.kind == "route":
            return part
        total = runs[self.key].to_numpy(float)
        return np.divide(part, total, out=np.zeros_like(part), where=total > 0)


def _year_range(match: re.Match, years: range) -> tuple[int, int]:
    """First and last year of `YYYY..YYYY` (or `YYYY`), which must be in order and inside the horizon `years`."""
    first, last = int(match[1]), int(match[2] or match[1])
    if last < first or first not in years or last not in years:
        raise ValueError(f"years {first:04d}..{last:04d} must be in order and inside the scenario's horizon "
                         f"{years.start:04d}..{years.stop - 1:04d} (years are written with four digits)")
    return first, last


def parse_outcome(name: str, expression: str, routes: list[str], years: range) -> Outcome:
    """Parse `arrived` | `killed(dmz)` | `arrived(west_sea + east_sea)` | `share(dmz)` | `share(dmz, killed)` |
    `arrived(2012..2019)` | `female_share(2026..2030)`; raise ValueError with what is allowed."""
    from sim.outcomes import TOTAL_KEYS

    m = _EXPR.match(str(expression))
    if not m:
        raise ValueError(f"cannot read '{expression}'; write an outcome (e.g. arrived), outcome(route + route), "
                         "share(route + route[, outcome]) or arrived(YYYY..YYYY)")
    fn, args = m["fn"], m["args"]
    if fn == "female_share":
        y = _YEARS.match(args or "")
        if not y:
            raise ValueError("female_share needs years: female_share(YYYY..YYYY) or female_share(YYYY)")
        first, last = _year_range(y, years)
        return Outcome(name, expression, "female_share", "arrived", years=tuple(range(first, last + 1)))
    if fn != "share" and fn not in TOTAL_KEYS:
        raise ValueError(f"unknown outcome '{fn}'; outcomes: {', '.join(TOTAL_KEYS)}, share(...) or "
                         "female_share(YYYY..YYYY)")
    if args is None:
        if fn == "share":
            raise ValueError("share needs routes: share(route + route[, outcome])")
        return Outcome(name, expression, "total", fn)
    if fn != "share" and (y := _YEARS.match(args)):
        if fn != "arrived":
            raise ValueError(f"only arrivals are counted by year: arrived(YYYY..YYYY), not {fn}(...)")
        first, last = _year_range(y, years)
        return Outcome(name, expression, "period", "arrived", years=tuple(range(first, last + 1)))
    key = "arrived"
    parts = [a.strip() for a in args.split(",")]
    if fn == "share" and len(parts) == 2:
        key = parts[1]
        if key not in TOTAL_KEYS:
            raise ValueError(f"unknown outcome '{key}' in share(...); outcomes: {', '.join(TOTAL_KEYS)}")
    elif len(parts) != 1:
        raise ValueError(f"'{expression}': routes are joined by '+'; only share takes a second argument")
    names = tuple(r.strip() for r in parts[0].split("+"))
    unknown = [r for r in names if r not in routes]
    if unknown or not all(names):
        raise ValueError(f"unknown route '{', '.join(unknown) or parts[0]}'; routes of the scenario: "
                         f"{', '.join(routes)}")
    repeated = sorted({r for r in names if names.count(r) > 1})
    if repeated:  # it would be counted twice: share(sea + sea) was 2 x share(sea), above 1
        raise ValueError(f"'{expression}' names the route {', '.join(repeated)} more than once; name each route once")
    return Outcome(name, expression, "share" if fn == "share" else "route", key if fn == "share" else fn, names)
