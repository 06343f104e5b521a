"""The posterior sample of an effects spec: a CSV with one row per draw and one column per parameter.

Columns whose name is a dotted scenario path (it holds a '.'; several paths joined by commas take the same value)
are parameters; the others (a calibration's `point`, `distance`, `d_*`, `round`, ...) are ignored. This is the
format of a calibration's posterior.csv, whose parameter columns are the dotted paths of the calibration spec
(docs/calibration.md). `parameters:` in the spec restricts the columns used. N draws are taken by even thinning:
rows floor(k n / N) for k = 0..N-1 of the n rows, in file order (a calibration writes the closest points first, so
the first N rows would be the best-fitting ones only). A weighted posterior (a `weight` column, as sequential ABC
writes, docs/calibration.md) is resampled instead: N draws (default n) by systematic resampling, rows
searchsorted(cumulative normalised weights, (k + 1/2) / N) for k = 0..N-1, so a row of weight w is drawn about
w N times (0, 1 or more)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.keys import line_for
from sim.scenario.overrides import copy_tree, get_path, set_path


@dataclass(frozen=True)
class Posterior:
    """`file` (None for `posterior: none`), column name -> the values of the chosen draws, number of draws."""

    file: Path | None
    columns: dict[str, list]
    size: int
    rows: tuple[int, ...] = (0,)  # row of the file each draw came from (0-based, data rows)

    def first(self) -> dict:
        return {name: values[0] for name, values in self.columns.items()}


def thin(n: int, draws: int | None) -> list[int]:
    """Rows of an even thinning: floor(k n / N) for k = 0..N-1 (all n rows when N is None)."""
    if draws is None:
        return list(range(n))
    return [k * n // draws for k in range(draws)]


def resample(weights, draws: int | None) -> list[int]:
    """Rows of a systematic resampling of normalised `weights`: row i is drawn floor or ceil of w_i N times."""
    import numpy as np

    w = np.asarray(weights, dtype=float)
    n = draws or len(w)
    cumulative = np.cumsum(w) / w.sum()
    return [min(int(i), len(w) - 1) for i in np.searchsorted(cumulative, (np.arange(n) + 0.5) / n)]


def read_posterior(file: Path, data: dict, parameters: list[str] | None, draws: int | None, *, spec_path: str,
                   lines: dict[tuple, int] | None = None) -> Posterior:
    """Read and check a posterior CSV against the scenario dict `data`: the file exists and has rows, the asked-for
    columns exist (else the spec's `parameters` key is named), every value is a finite number and every column a
    settable scenario path (else the file and column are named), at least `draws` rows. `lines`: the spec's line
    index, for the line of the key an error names."""
    import pandas as pd

    def line(key: str) -> int | None:
        return line_for(lines or {}, (key,))

    if not file.is_file():
        what = "is not a file" if file.exists() else "does not exist"
        raise ScenarioError(f"posterior file {file} {what}; name a calibration's posterior.csv or write "
                            "`posterior: none`", path=spec_path, key="posterior", line=line("posterior"))
    try:
        table = pd.read_csv(file)
        header = [c for c in pd.read_csv(file, header=None, nrows=1, dtype=str).iloc[0]  # as written; empty
                  if isinstance(c, str) and c.strip()]  # cells (a spreadsheet's trailing commas) are no columns
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ScenarioError(f"cannot read it as CSV ({exc})", path=str(file)) from None
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:  # pandas would read the second as 'name.1', then named as no scenario path
        raise ScenarioError(f"column(s) {', '.join(repr(c) for c in twice)} appear more than once in the header: "
                            "give each column once", path=str(file))
    if parameters is not None:
        missing = [c for c in parameters if c not in table.columns]
        if missing:
            raise ScenarioError(f"the posterior {file} has no column {', '.join(repr(c) for c in missing)}; its "
                                f"columns: {', '.join(map(str, table.columns))}", path=spec_path, key="parameters",
                                line=line("parameters"))
        names = list(parameters)
    else:
        names = [str(c) for c in table.columns if "." in str(c)]
        if not names:
            raise ScenarioError("no parameter column: a parameter column is named by the dotted scenario path it "
                                f"sets (e.g. network.nodes.china.dwell); columns: {', '.join(map(str, table.columns))}",
                                path=str(file))
    if table.empty:
        raise ScenarioError("the posterior has no rows", path=str(file))
    if draws is not None and draws > len(table):
        raise ScenarioError(f"draws: {draws} but the posterior {file} has {len(table)} rows", path=spec_path,
                            key="draws", line=line("draws"))
    if "weight" in table.columns:
        w = pd.to_numeric(table["weight"], errors="coerce").to_numpy(float)
        if not (all(math.isfinite(v) and v >= 0 for v in w) and w.sum() > 0):
            raise ScenarioError("the weight column must hold finite weights >= 0, not all 0", path=str(file),
                                key="weight")
        rows = resample(w, draws)
    else:
        rows = thin(len(table), draws)
    columns = {}
    for name in names:
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(float)
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad:
            raise ScenarioError(f"posterior row {bad[0]} (counted from 0, as values.parquet's posterior_row) holds "
                                f"{str(table[name].iloc[bad[0]])!r}, not a finite number",
                                path=str(file), key=name)
        probe = copy_tree(data)
        typed = []
        for r in rows:
            value = _typed(data, name, float(values[r]))
            try:
                for path in name.split(","):
                    set_path(probe, path.strip(), value, source=str(file))
            except ScenarioError as exc:
                raise ScenarioError(f"column '{name}' is not a scenario path: {exc.message}", path=str(file),
                                    key=name) from None
            typed.append(value)
        columns[name] = typed
    return Posterior(file, columns, len(rows), tuple(rows))


def _typed(data: dict, name: str, value: float):
    """The value as an int where the scenario holds an int there (the first path of the column)."""
    try:
        node = get_path(data, name.split(",")[0].strip())
    except KeyError:
        return value
    return round(value) if isinstance(node, int) and not isinstance(node, bool) else value
