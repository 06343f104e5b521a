"""Observed series packaged with bordersim (`sim/data/`), and like-with-like comparison of runs against them.

`mou_arrivals` is the Ministry of Unification's table of North Korean defectors arriving in South Korea per year
(sources and caveats in `sim/data/mou_arrivals.csv` and `sim/data/SOURCES.md`). Its rows cover periods, not all
single years: the first row is the cumulative total of everyone who arrived up to the end of 1998, and the second
covers 1999-2001 combined. Comparisons therefore follow one rule (`compare_yearly`):

- a single-year row (period_start == period_end) is compared with the simulated arrivals of that year;
- a multi-year row is compared with the sum of the simulated arrivals over its years, and only when every one of
  those years was simulated (a partial sum would understate the simulated total);
- a year the run covers only in part (it starts after January or ends before December) is not compared, alone or
  in a sum, for the same reason;
- the cumulative row ("up to 1998") has no defined start and is never compared, neither as a single year nor as
  a sum.
"""

from __future__ import annotations

import io
import math
from importlib import resources

import pandas as pd

from sim.api_checks import choice_argument
from sim.errors import UsageError

OBSERVED_SERIES = ("mou_arrivals",)
TARGET_UNITS = ("persons", "share", "years", "usd")
TARGET_COLUMNS = ("target", "period_start", "period_end", "low", "high", "unit", "source", "note")
COLUMNS = ("period_start", "period_end", "arrivals", "male", "female", "female_share", "cumulative")


def _read_packaged(name: str) -> str:
    """Text of `sim/data/<name>.csv`, read through importlib.resources (works from a wheel or a zip)."""
    if not isinstance(name, str) or name not in (*OBSERVED_SERIES, "targets"):
        raise UsageError(f"unknown observed series {name!r}; packaged series: {', '.join(OBSERVED_SERIES)}")
    return resources.files("sim").joinpath("data", f"{name}.csv").read_text(encoding="utf-8")


def load_targets() -> pd.DataFrame:
    """The packaged calibration targets other than the yearly arrivals (`sim/data/targets.csv`; sources in
    `sim/data/SOURCES.md`), one row per published figure, in file order.

    Columns: target (what is compared), period_start and period_end (pandas Periods of months, inclusive), low and
    high (the published figure as a range in `unit`: low == high for a point figure, high NaN for a lower bound
    only), unit (persons, share, years or usd), source (the letter of the file's header), note. Raises ValueError
    naming the row when a period runs backwards, high < low, or a unit is unknown.
    """
    raw = pd.read_csv(io.StringIO(_read_packaged("targets")), comment="#", dtype={"note": "string"})
    table = pd.DataFrame({
        "target": raw["target"].astype("string"),
        "period_start": pd.PeriodIndex(raw["period_start"], freq="M"),
        "period_end": pd.PeriodIndex(raw["period_end"], freq="M"),
        "low": raw["low"].astype("float64"),
        "high": raw["high"].astype("float64"),
        "unit": raw["unit"].astype("string"),
        "source": raw["source"].astype("string"),
        "note": raw["note"].fillna(""),
    })
    for i, rec in enumerate(table.itertuples(index=False)):
        where = f"sim/data/targets.csv, row {i + 1} ({rec.target} {rec.period_start}..{rec.period_end})"
        if rec.period_end < rec.period_start:
            raise ValueError(f"{where}: period_end before period_start")
        if rec.unit not in TARGET_UNITS:
            raise ValueError(f"{where}: unit '{rec.unit}'; allowed: {', '.join(TARGET_UNITS)}")
        if not math.isnan(rec.high) and rec.high < rec.low:
            raise ValueError(f"{where}: high {rec.high:g} below low {rec.low:g}")
    return table


def check_observed(table: pd.DataFrame) -> None:
    """ValueError naming the row (1 = the first data row) unless every period runs forwards
    (period_end >= period_start), arrivals, male and female are >= 0 with male + female <= arrivals, and no two
    periods other than the cumulative row overlap (a year counted twice would weigh twice in a comparison)."""
    seen: dict[int, int] = {}
    for i, rec in enumerate(table.itertuples(index=False), start=1):
        row = f"row {i} ({rec.period_start}-{rec.period_end})"
        if rec.period_end < rec.period_start:
            raise ValueError(f"{row}: period_end before period_start")
        if min(rec.arrivals, rec.male, rec.female) < 0:
            raise ValueError(f"{row}: arrivals, male and female must be >= 0")
        if rec.male + rec.female > rec.arrivals:
            raise ValueError(f"{row}: male + female ({rec.male + rec.female}) is more than arrivals ({rec.arrivals})")
        if rec.cumulative:
            continue
        for year in range(rec.period_start, rec.period_end + 1):
            if year in seen:
                raise ValueError(f"{row}: year {year} is also in row {seen[year]}; periods may not overlap")
            seen[year] = i


def load_observed(name: str = "mou_arrivals") -> pd.DataFrame:
    """The packaged observed series as a table, one row per published period, in file order.

    Columns: period_start, period_end (years, inclusive), arrivals, male, female (persons), female_share
    (female / arrivals, NaN when arrivals is 0) and cumulative (True for the row that totals every arrival up to
    its period_end, whose period_start is a placeholder; it must not be compared with simulated years).
    Comment lines (starting with '#') in the file carry the sources and caveats and are skipped here. The rows are
    checked by `check_observed`.
    """
    name = choice_argument(name, "name", OBSERVED_SERIES, "a packaged observed series")
    try:
        return read_observed_csv(io.StringIO(_read_packaged(name)))
    except ValueError as exc:
        raise ValueError(f"sim/data/{name}.csv: {exc}") from None


COUNT_COLUMNS = ("period_start", "period_end", "arrivals", "male", "female")


def read_observed_csv(source) -> pd.DataFrame:
    """An observed series from CSV text or a file (the packaged columns period_start, period_end, arrivals,
    male, female, with source and note; '#' comment lines skipped) as `load_observed`'s table, checked by
    `check_observed`. ValueError naming the row (1 = the first data row) and column of a cell that is not a whole
    number (empty, text, or 36.9: a count is never cut to 36), or the missing columns; pandas' ParserError (a
    ValueError) for text that is not CSV."""
    raw = pd.read_csv(source, comment="#", dtype={"note": "string"})
    missing = [c for c in COUNT_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; an observed series has the columns "
                         f"{', '.join(COUNT_COLUMNS)}, source, note")
    for column in COUNT_COLUMNS:
        if pd.api.types.is_bool_dtype(raw[column]):  # pandas reads a column of TRUE/FALSE as booleans: not counts
            raise ValueError(f"row 1, column {column}: {bool(raw[column].iloc[0])} is not a whole number")
        values = pd.to_numeric(raw[column], errors="coerce").astype("float64")
        bad = ~(values.notna() & values.abs().lt(2**53) & values.eq(values.round()))
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            cell = raw[column].iloc[i]
            shown = "empty" if pd.isna(cell) else repr(cell if isinstance(cell, str) else float(cell))
            raise ValueError(f"row {i + 1}, column {column}: {shown} is not a whole number")
    table = raw[list(COUNT_COLUMNS)].apply(pd.to_numeric).astype("int64")
    for i, (start, end) in enumerate(zip(table["period_start"], table["period_end"]), start=1):
        if not (1 <= start <= 9999 and 1 <= end <= 9999):  # a year of 9e11 made check_observed loop for ever
            raise ValueError(f"row {i}: the years {start}-{end} are not years 1..9999")
    table["female_share"] = [f / a if a else math.nan for f, a in zip(table["female"], table["arrivals"])]
    note = raw["note"] if "note" in raw else pd.Series([""] * len(raw), dtype="string")
    table["cumulative"] = note.fillna("").str.lower().str.startswith("cumulative").astype(bool)
    check_observed(table)
    return table[list(COLUMNS)].reset_index(drop=True)


def single_years(observed: pd.DataFrame, years) -> pd.DataFrame:
    """The rows of an observed table (`load_observed`) that cover one calendar year, among `years` (not the
    cumulative row, not a multi-year period): the points a per-year figure draws beside simulated years."""
    one = (~observed["cumulative"]) & (observed["period_start"] == observed["period_end"])
    return observed[one & observed["period_start"].isin(list(years))]


def whole_years(start: str, end: str) -> tuple[int, int]:
    """(first, last) year a horizon from month `start` to month `end` ('YYYY-MM', as a scenario's `time` gives
    them) covers from January to December; first > last when it covers none whole."""
    (sy, sm), (ey, em) = (int(start[:4]), int(start[5:7])), (int(end[:4]), int(end[5:7]))
    return sy + (sm > 1), ey - (em < 12)


def compare_yearly(arrivals_by_year: dict[str, int] | dict[int, int], observed: pd.DataFrame,
                   whole: tuple[int, int] | None = None) -> pd.DataFrame:
    """Observed against simulated arrivals, like with like (the rule in the module docstring).

    `arrivals_by_year` maps year ('YYYY' as in summary.json, or int) to simulated arrivals; a year counts as
    simulated when it is a key and, given `whole` (`whole_years` of the run's horizon), lies in it: a year the
    run covers in part is not compared with a whole observed year. `observed` is a table from `load_observed`.
    Returns one row per comparable
    observed period, in the observed order, with columns period ('2002' or '1999-2001'), period_start,
    period_end, years (number of years in the period), observed, simulated (sum over the period's years),
    difference (simulated - observed) and log_error = ln(1 + simulated) - ln(1 + observed).
    Rows that cannot be compared (the cumulative row, or a period not wholly simulated) are left out.
    """
    sim = {int(year): int(value) for year, value in arrivals_by_year.items()
           if whole is None or whole[0] <= int(year) <= whole[1]}
    rows = []
    for rec in observed.itertuples(index=False):
        if rec.cumulative:
            continue
        years = range(int(rec.period_start), int(rec.period_end) + 1)
        if not all(y in sim for y in years):
            continue
        simulated = sum(sim[y] for y in years)
        start, end = int(rec.period_start), int(rec.period_end)
        rows.append({
            "period": str(start) if start == end else f"{start}-{end}",
            "period_start": start,
            "period_end": end,
            "years": len(years),
            "observed": int(rec.arrivals),
            "simulated": simulated,
            "difference": simulated - int(rec.arrivals),
            "log_error": math.log1p(simulated) - math.log1p(int(rec.arrivals)),
        })
    columns = ["period", "period_start", "period_end", "years", "observed", "simulated", "difference",
               "log_error"]
    return pd.DataFrame(rows, columns=columns)
