"""Summaries of a sweep: per point, mean and 95% CI of each kept outcome over replicates; paired differences.

CI of a mean over n replicates: mean ± t_{0.975, n-1} · sd / sqrt(n), given only for n >= MIN_CI_REPLICATES (3):
with 2 replicates t = 12.7 and the interval says more about the t distribution than about the outcome, so it is
NaN (the figures draw the replicates themselves instead). Against a baseline point,
the difference is paired by replicate (replicate k of both points used the same random stream):
d_k = x_k(point) − x_k(baseline), summarised the same way, which common random numbers make tight.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import pandas as pd

from sim.errors import UsageError

MIN_CI_REPLICATES = 3
ID_COLUMNS = ("run_id", "point", "policy", "replicate", "seed", "status", "error", "error_kind", "code_sha256",
              "wall_time")


def outcome_columns(df: pd.DataFrame, parameters: list[str]) -> list[str]:
    skip = set(ID_COLUMNS) | set(parameters)
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def mean_ci(values: np.ndarray) -> tuple[float, float, float, int]:
    """(mean, ci_low, ci_high, n) of the non-NaN `values`: mean ± t_{0.975, n-1} · sd / sqrt(n); the interval is NaN
    for n < MIN_CI_REPLICATES (everything NaN for n = 0), and of zero width when all values are equal."""
    v = values[~np.isnan(values)]
    n = v.size
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(v.mean())
    if n < MIN_CI_REPLICATES:
        return mean, np.nan, np.nan, n
    from scipy import stats  # here, not at the top: it takes a second to import (every `bordersim sweep` paid it)

    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def point_columns(df: pd.DataFrame, parameters: list[str]) -> list[str]:
    return ["point"] + (["policy"] if "policy" in df.columns else []) + list(parameters)


def summarize(df: pd.DataFrame, parameters: list[str], outcomes: list[str] | None = None) -> pd.DataFrame:
    """Long table: one row per point x outcome with n, mean, ci_low, ci_high over the point's successful runs;
    every point of `df` has its rows, a point none of whose runs succeeded with n = 0 and NaN."""
    ok = df[df["status"] == "ok"]
    outcomes = outcomes or outcome_columns(df, parameters)
    keys = point_columns(df, parameters)
    rows = []
    for _, first in df.drop_duplicates("point").sort_values("point").iterrows():
        ident = first[keys].to_dict()
        grp = ok[ok["point"] == first["point"]]
        for col in outcomes:
            mean, lo, hi, n = mean_ci(grp[col].to_numpy(dtype=float))
            rows.append({**ident, "outcome": col, "n": n, "mean": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def _name_value_pairs(text: str, names: list[str], what: str, parameters: list[str]) -> list[tuple[str, str]]:
    """'name=value,name=value' as pairs. A parameter's name may itself hold commas (several dotted paths set
    together, docs/experiments.md), so each pair starts at a known name followed by '=' and its value runs to the
    next ',NAME=' (spaces allowed around both); the longest name that fits wins. UsageError for an unknown name."""
    import re

    known = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    start, sep = re.compile(rf"\s*({known})\s*="), re.compile(rf",\s*(?:{known})\s*=")
    pairs, i = [], 0
    while i < len(text):
        m = start.match(text, i)
        if m is None:
            _unknown(text[i:].partition("=")[0].strip(), names, what, parameters)
        nxt = sep.search(text, m.end())
        end = nxt.start() if nxt else len(text)
        value = text[m.end():end]
        if "=" in value:  # ',NAME=' with a NAME that is not a parameter
            _unknown(value.partition("=")[0].rpartition(",")[2].strip(), names, what, parameters)
        pairs.append((m.group(1), value))
        i = end + 1
    return pairs


def _unknown(name: str, names: list[str], what: str, parameters: list[str]) -> NoReturn:
    """UsageError for an unknown NAME in 'name=value': the parameters there are (none: a policies sweep's points
    are its packages, chosen by policy=NAME)."""
    packages = " (a policy package is chosen by policy=NAME, or by its name alone)" if "policy" in names else ""
    raise UsageError(f"{what}: unknown parameter '{name}'; parameters: {', '.join(parameters) or 'none'}{packages}")


def resolve_point(df: pd.DataFrame, parameters: list[str], text: str | int, what: str = "--baseline") -> int:
    """A point given as a point index ('3'), a policy package name, or 'path=value,path=value' naming exactly one
    point; `what` names the option in the UsageError raised otherwise."""
    points = df.drop_duplicates("point")
    text = str(text)  # a point index may come as an int from Python
    if text.isascii() and text.isdigit() and int(text) in set(points["point"]):
        return int(text)
    matched = 0
    if "policy" in points.columns and text in set(points["policy"].dropna()):
        match = points[points["policy"] == text]
        if len(match) == 1:
            return int(match["point"].iloc[0])
        matched = len(match)  # the package at several values of the other parameters
    sel = points
    if "=" in text:
        names = [*parameters, *(["policy"] if "policy" in points.columns else [])]
        for name, value in _name_value_pairs(text, names, what, parameters):
            col = sel[name]
            flag = value.strip().lower()
            if pd.api.types.is_bool_dtype(col) and flag in ("true", "false"):  # as the spec writes it
                sel = sel[col == (flag == "true")]
                continue
            try:
                target = float(value)
                sel = sel[np.isclose(col.astype(float), target)]
            except ValueError:
                sel = sel[col.astype(str) == value.strip()]
        if len(sel) == 1:
            return int(sel["point"].iloc[0])
    choices = ", ".join(str(p) for p in points["point"].head(10))
    policies = "policy" in points.columns and points["policy"].notna().any()
    others = [q for q in parameters if q != "policy" and points[q].nunique() > 1]  # those that tell points apart
    example = ",".join([*(["policy=NAME"] if policies else []), *(f"{q}=VALUE" for q in others[:1])]) or "0"
    raise UsageError(f"{what} '{text}' matches {len(sel) if '=' in text else matched} points; give a point index "
                     f"({choices}{', ...' if len(points) > 10 else ''}){', a policy name' if policies else ''}, or "
                     f"name=value pairs naming exactly one point (e.g. {example})")


def paired_differences(df: pd.DataFrame, parameters: list[str], baseline: int,
                       outcomes: list[str] | None = None) -> pd.DataFrame:
    """Per point x outcome: mean and 95% CI of x(point, k) - x(baseline, k) over the replicates k that succeeded
    at both; every point of `df` has its rows (n = 0 and NaN where no replicate succeeded at both)."""
    ok = df[df["status"] == "ok"]
    outcomes = outcomes or outcome_columns(df, parameters)
    keys = point_columns(df, parameters)
    base = ok[ok["point"] == baseline].set_index("replicate")
    rows = []
    for _, first in df.drop_duplicates("point").sort_values("point").iterrows():
        ident = first[keys].to_dict()
        g = ok[ok["point"] == first["point"]].set_index("replicate")
        common = g.index.intersection(base.index)
        for col in outcomes:
            d = (g.loc[common, col].astype(float) - base.loc[common, col].astype(float)).to_numpy()
            mean, lo, hi, n = mean_ci(d)
            rows.append({**ident, "outcome": col, "n": n, "diff": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)
