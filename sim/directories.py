"""Read what a run, a sweep or an analysis (sensitivity, calibration, effects, discovery) wrote to disk, and tell
which of these a directory is. A base module: the plots and the analyses (`bordersim compare`) read directories
through it.

- run directory (`bordersim run`): summary.json, timeseries.parquet, scenario.resolved.yaml;
- sweep directory (`bordersim sweep`): sweep.json, runs.parquet;
- sensitivity directory (`bordersim sensitivity`): indices.csv (with ranking.txt, point_means.csv,
  experiment.yaml and the runs in a `sweep` subdirectory);
- calibration directory (`bordersim calibrate`): calibration.json, points.csv (with predictive.csv,
  posterior_table.csv, ... and the runs in `sweep`, `check`, `sweep_round2` subdirectories);
- effects directory (`bordersim effects`): effects.json, effects.csv (with effects.parquet, values.parquet,
  experiment.yaml, base.yaml and the runs in a `sweep` subdirectory);
- discovery directory (`bordersim discover`): trajectory.csv, box.csv (with points.csv, summary.txt,
  experiment.yaml and the runs in a `sweep` subdirectory).

Plots read only these files, never the model. A missing, damaged or malformed file (truncated JSON or parquet,
a table without the columns bordersim writes) is bad input: an InputError naming the file and what is wrong,
never a traceback.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.errors import InputError, Unreadable, UsageError
from sim.outcomes import FLOWS, TOTAL_KEYS
from sim.outputs import check_readable_dir, marker_kind, read_parquet, refuse_if_held, unfinished

RUN_FILES = ("summary.json", "timeseries.parquet", "scenario.resolved.yaml")
KINDS = ("run", "sweep", "sensitivity", "calibration", "effects", "discovery")
SUMMARY_TABLES = ("totals", "by_route", "by_group", "arrivals_by_year", "female_share_by_year")
PROVENANCE_KEYS = ("scenario", "seed", "scenario_sha256", "version", "steps", "start", "end")
TIMESERIES_COLUMNS = ("date", "route", "group", "set_out", "arrived")
RUNS_COLUMNS = ("run_id", "point", "replicate", "seed", "status")
INDEX_COLUMNS = ("method", "outcome", "expression", "parameter", "label", "rank")
POINTS_COLUMNS = ("point", "distance", "accepted")
BOX_COLUMNS = ("parameter", "kind", "min", "max", "qp_min", "qp_max")
PREDICTIVE_COLUMNS = ("period", "period_start", "period_end", "years", "observed", "q05", "median", "q95")

_WHAT = ("give a run directory (`bordersim run`), a sweep directory (`bordersim sweep`), a sensitivity directory "
         "(`bordersim sensitivity`), a calibration directory (`bordersim calibrate`), an effects directory "
         "(`bordersim effects`) or a discovery directory (`bordersim discover`)")


def kind_of(path: str | Path, give: str = _WHAT) -> str:
    """'run', 'sweep', 'sensitivity', 'calibration', 'effects' or 'discovery', from the files the directory holds; a
    UsageError (bad input) naming what is missing otherwise. An unfinished sensitivity analysis, calibration,
    effects analysis or discovery (its runs there, its results not yet) is named as such, with what to do; so is a
    directory another command is writing (`refuse_if_held`: its results there are not yet its results). `give`:
    what to pass instead of a path that is not a directory (the kinds the caller reads)."""
    root = Path(path)
    check_readable_dir(root, give)
    kind = _kind_of(root)
    refuse_if_held(root)
    return kind


COMPARISON_TABLES = ("totals.csv", "by_route.csv", "by_group.csv", "by_year.csv")  # `bordersim compare`'s, one a block


def refuse_other_kind(root: Path, marker: str | None) -> None:
    """UsageError saying what a comparison or figures directory (by its marker) is and what to give instead; None
    for any other directory."""
    if marker == "comparison":
        raise UsageError(f"{root} is a comparison directory (`bordersim compare`): its results are the tables "
                         f"{', '.join(COMPARISON_TABLES)} and comparison.json, which no figure or report draws; give "
                         "one of the directories it compares (comparison.json names them)")
    if marker == "figures":
        raise UsageError(f"{root} is a figures directory (`bordersim plot`): give the directory its figures were "
                         "drawn from")


def _kind_of(root: Path) -> str:
    if (root / "sweep.json").exists():
        if not (root / "runs.parquet").exists():
            raise UsageError(f"{root} is a sweep directory without runs.parquet; {unfinished(root, 'sweep')}")
        return "sweep"
    if (root / "summary.json").exists():
        missing = [f for f in RUN_FILES if not (root / f).exists()]
        if missing:
            raise UsageError(f"{root} is a run directory missing {', '.join(missing)}")
        return "run"
    if (root / "calibration.json").exists():
        if not (root / "points.csv").exists():
            raise UsageError(f"{root} is a calibration directory missing points.csv; "
                             f"{unfinished(root, 'calibrate')}")
        return "calibration"
    if (root / "indices.csv").exists():
        return "sensitivity"
    marker = marker_kind(root)
    if (root / "effects.json").exists() or marker == "effects":
        if not (root / "effects.csv").exists() or not (root / "effects.json").exists():
            raise UsageError(f"{root} is an effects directory whose analysis has not finished (no effects.csv or "
                             f"effects.json); {unfinished(root, 'effects')} (its runs so far: `bordersim summarize "
                             f"{root / 'sweep'}`)")
        return "effects"
    if marker == "discovery" or (root / "trajectory.csv").exists():
        if not (root / "trajectory.csv").exists() or not (root / "box.csv").exists():
            raise UsageError(f"{root} is a discovery directory whose analysis has not finished (no trajectory.csv "
                             f"or box.csv); {unfinished(root, 'discover')} (its runs so far: `bordersim summarize "
                             f"{root / 'sweep'}`)")
        return "discovery"
    if (root / "experiment.yaml").exists() or marker == "sensitivity":
        raise UsageError(f"{root} is a sensitivity directory whose analysis has not finished (no indices.csv); "
                         f"{unfinished(root, 'sensitivity')} (its runs so far: `bordersim summarize {root / 'sweep'}`)")
    if (root / "base.yaml").exists() or (root / "sweep_spec.yaml").exists() or marker == "calibration":
        raise UsageError(f"{root} is a calibration directory that has not finished (no calibration.json); "
                         f"{unfinished(root, 'calibrate')} (its runs so far: `bordersim summarize {root / 'sweep'}`)")
    refuse_other_kind(root, marker)
    raise UsageError(f"{root} is neither a run directory (summary.json, timeseries.parquet, "
                        "scenario.resolved.yaml) nor a sweep directory (sweep.json, runs.parquet), nor a sensitivity "
                        "(indices.csv), calibration (calibration.json), effects (effects.json) or discovery "
                        "(trajectory.csv) directory")


# --------------------------------------------------------------------------------------------- reading


REWRITE = "write it again (rerun the command that made this directory)"
# A sweep's manifest is not rebuilt by running the sweep again (it refuses a directory it cannot identify) unless
# its fingerprint can still be read and matches the spec
MANIFEST_LOST = ("running the sweep again cannot rebuild it: restore it from a backup, or run the spec into another "
                 "directory")
MANIFEST_REWRITTEN = "run the same sweep again: it writes sweep.json again when its fingerprint matches the spec"


def _damaged(path: Path, what: str, remedy: str = REWRITE) -> InputError:
    return InputError(f"{what}; the file is damaged or was not written by bordersim: {remedy}", path=str(path))


def _refused(exc: Exception) -> bool:
    """The system refused to let us read (permissions), which says nothing about the file's content."""
    return isinstance(exc, OSError) and (isinstance(exc, PermissionError) or exc.errno == errno.EACCES
                                         or "Permission denied" in str(exc))  # pyarrow's OSError for a local file


def read_json(path: Path, keys: tuple[str, ...] = (), remedy: str = REWRITE) -> dict:
    """A JSON object from `path` holding `keys`; InputError naming the file (and `remedy`) otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("missing file", path=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if _refused(exc):
            raise Unreadable(path, "file") from None
        raise _damaged(path, f"cannot read it as JSON ({_reason(exc)})", remedy) from None
    if not isinstance(data, dict):
        raise _damaged(path, f"expected a JSON object, found {type(data).__name__}", remedy)
    missing = [k for k in keys if k not in data]
    if missing:
        raise _damaged(path, f"missing key(s) {', '.join(missing)}", remedy)
    return data


def read_yaml(path: Path) -> dict:
    """A YAML mapping from `path` (empty file: {}); InputError naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("missing file", path=str(path)) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        if _refused(exc):
            raise Unreadable(path, "file") from None
        raise _damaged(path, f"cannot read it as YAML ({_reason(exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _damaged(path, f"expected a YAML mapping, found {type(data).__name__}")
    return data


def read_table(path: Path, columns: tuple[str, ...] = (), numbers: tuple[str, ...] = (),
               integers: tuple[str, ...] = (), booleans: tuple[str, ...] = ()) -> pd.DataFrame:
    """A parquet (.parquet) or CSV table from `path` holding `columns` (an empty table may lack them), the
    columns in `numbers` (where present) numeric, those in `integers` integer and those in `booleans` true/false;
    InputError naming the file otherwise (missing, truncated, not a table, a column of the wrong type, a
    directory: pyarrow would read a directory as an empty dataset). A CSV row with another number of fields than
    the header is refused: pandas would read a row cut short with its missing fields empty."""
    if path.exists() and not path.is_file():
        raise _damaged(path, "a directory (or another kind of file) where a table file should be")
    ragged = _ragged_row(path) if path.suffix != ".parquet" else None
    if ragged is not None:
        raise _damaged(path, ragged)
    try:
        if path.suffix == ".parquet":
            df = read_parquet(path)
        else:
            df = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError("missing file", path=str(path)) from None
    except pd.errors.EmptyDataError:
        raise _damaged(path, "the file is empty") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # ArrowInvalid is a ValueError
        if _refused(exc):
            raise Unreadable(path, "file") from None
        raise _damaged(path, f"cannot read it as a {'parquet' if path.suffix == '.parquet' else 'CSV'} table "
                             f"({_reason(exc)})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing and not df.empty:
        raise _damaged(path, f"missing column(s) {', '.join(missing)}")
    api = pd.api.types
    for names, fits, what in ((numbers, api.is_numeric_dtype, "numbers"), (integers, api.is_integer_dtype,
                                                                             "integers"),
                              (booleans, api.is_bool_dtype, "true or false")):
        wrong = [c for c in names if c in df.columns and not df.empty and not fits(df[c])]
        if wrong:
            raise _damaged(path, f"column(s) {', '.join(wrong)} should hold {what}")
    return df


def _ragged_row(path: Path) -> str | None:
    """What is wrong with the first CSV row whose number of fields is not the header's (blank lines aside, data
    rows counted from 1); None when every row matches or the file cannot be read as CSV text (the reader then says
    why)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = csv.reader(f)
            header = len(next(rows, []))
            for n, row in enumerate(rows, start=1):
                if row and len(row) != header:
                    return (f"row {n} has {len(row)} field{'s' if len(row) != 1 else ''} where the header has "
                            f"{header} (cut short?)")
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def year_order(year: str) -> tuple[int, str]:
    """Sort key of a year as runs write it, without leading zeros: by number ('1000' after '999')."""
    return (int(year), year) if year.isascii() and year.isdigit() else (10_000, year)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# ------------------------------------------------------------------------------------------------- runs


@dataclass
class RunData:
    """One run directory, read: summary (dict as in summary.json), tidy time series, resolved scenario (dict)."""

    path: Path
    summary: dict
    timeseries: pd.DataFrame
    scenario: dict

    @property
    def routes(self) -> list[str]:
        return list(self.summary["by_route"])

    @property
    def groups(self) -> list[str]:
        return list(self.summary["by_group"])

    @property
    def name(self) -> str:
        return self.summary["provenance"]["scenario"]

    def enabled_policies(self) -> list[dict]:
        return [p for p in self.scenario.get("policies") or [] if p.get("enabled", True)]


def _check_summary(path: Path, summary: dict) -> None:
    for key in (*SUMMARY_TABLES, "provenance"):
        if not isinstance(summary.get(key), dict):
            raise _damaged(path, f"'{key}' is missing or not an object")
    missing = [k for k in PROVENANCE_KEYS if k not in summary["provenance"]]
    if missing:
        raise _damaged(path, f"'provenance' lacks {', '.join(missing)}")
    seed = summary["provenance"]["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool):  # figure titles and the report show it
        raise _damaged(path, f"'provenance.seed' is {seed!r}, not a whole number")
    tables = {"totals": {"": summary["totals"]}, "by_route": summary["by_route"], "by_group": summary["by_group"]}
    for key, rows in tables.items():
        for name, row in rows.items():
            if not isinstance(row, dict) or any(not isinstance(row.get(k), (int, float)) for k in TOTAL_KEYS):
                where = f"'{key}'" + (f", '{name}'" if name else "")
                raise _damaged(path, f"{where} must give a number for each of {', '.join(TOTAL_KEYS)}")
    for key in ("by_edge", "repatriated_at"):
        if key in summary and not isinstance(summary[key], dict):
            raise _damaged(path, f"'{key}' is not an object")
    for key in ("arrivals_by_year", "female_share_by_year"):  # year -> a number (a share may be null)
        for year, value in summary[key].items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            # a year as a run writes it: its number without leading zeros (a run in the year 999 writes '999')
            year_ok = year.isascii() and year.isdigit() and str(int(year)) == year and 1 <= int(year) <= 9999
            if not year_ok or not (number or (value is None and key != "arrivals_by_year")):
                raise _damaged(path, f"'{key}' must map years (1 to 9999, as written by a run) to numbers, found "
                                     f"{year!r}: {value!r}")


def _check_scenario(path: Path, scenario: dict) -> None:
    network = scenario.get("network")
    if not isinstance(network, dict) or not all(isinstance(network.get(k), list) for k in ("nodes", "edges")):
        raise _damaged(path, "'network' with lists 'nodes' and 'edges' is missing")
    if not all(isinstance(x, dict) and "id" in x for x in network["nodes"] + network["edges"]):
        raise _damaged(path, "every node and edge of 'network' needs an 'id'")
    if not isinstance(scenario.get("policies") or [], list):
        raise _damaged(path, "'policies' is not a list")


def load_run(path: str | Path) -> RunData:
    """Read a run directory; InputError naming the file when one is missing or damaged."""
    root = Path(path)
    summary = read_json(root / "summary.json")
    _check_summary(root / "summary.json", summary)
    ts = read_table(root / "timeseries.parquet", TIMESERIES_COLUMNS, numbers=(*FLOWS, "in_transit"))
    if ts.empty or any(c not in ts.columns for c in TIMESERIES_COLUMNS):
        raise _damaged(root / "timeseries.parquet", "the time series has no rows")
    try:
        ts["date"] = pd.to_datetime(ts["date"])
    except (ValueError, TypeError) as exc:
        raise _damaged(root / "timeseries.parquet", f"column 'date' holds no dates ({_reason(exc)})") from None
    scenario = read_yaml(root / "scenario.resolved.yaml")
    _check_scenario(root / "scenario.resolved.yaml", scenario)
    return RunData(root, summary, ts, scenario)


# ----------------------------------------------------------------------------------------------- sweeps


@dataclass
class SweepData:
    """One sweep directory, read: manifest (sweep.json), one row per run (runs.parquet), parameter names."""

    path: Path
    manifest: dict
    runs: pd.DataFrame

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest.get("parameters") or [])

    @property
    def design(self) -> str:
        return (self.manifest.get("spec") or {}).get("design", {}).get("type", "grid")

    @property
    def name(self) -> str:
        return (self.manifest.get("spec") or {}).get("name", self.path.name)

    @property
    def packages(self) -> list[str]:
        """Policy package names in spec order (policies design), else []."""
        return list((self.manifest.get("spec") or {}).get("design", {}).get("policies") or {})

    @property
    def ok(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "ok"] if not self.runs.empty else self.runs

    @property
    def routes(self) -> list[str]:
        """Route labels in column order, from `route.<route>.<outcome>` columns."""
        out = []
        for c in self.runs.columns:
            if c.startswith("route.") and c.count(".") >= 2:
                r = c[len("route."):c.rindex(".")]
                if r not in out:
                    out.append(r)
        return out

    @property
    def years(self) -> list[str]:
        return sorted({c.split(".")[1] for c in self.runs.columns if c.startswith("year.") and c.endswith(".arrived")},
                      key=year_order)

    def varying(self) -> list[str]:
        """Parameters that take more than one value among the successful runs."""
        ok = self.ok
        return [p for p in self.parameters if p in ok.columns and ok[p].nunique(dropna=True) > 1]

    def numeric(self, name: str) -> bool:
        """The parameter's values are numbers a curve can run along: not text, and not true/false (which pandas
        counts as numeric, and a response curve or an axis padding cannot take)."""
        return (name in self.runs.columns and pd.api.types.is_numeric_dtype(self.runs[name])
                and not pd.api.types.is_bool_dtype(self.runs[name]))


def load_sweep_dir(path: str | Path) -> SweepData:
    """Read a sweep directory; InputError naming the file when one is missing or damaged."""
    root = Path(path)
    manifest = read_json(root / "sweep.json", ("fingerprint",), MANIFEST_LOST)
    if not isinstance(manifest["fingerprint"], str):
        raise _damaged(root / "sweep.json", "its fingerprint is not a text", MANIFEST_LOST)
    params = manifest.get("parameters")
    if params is not None and not (isinstance(params, list) and all(isinstance(p, str) for p in params)):
        raise _damaged(root / "sweep.json", "'parameters' is not a list of names", MANIFEST_REWRITTEN)
    spec = manifest.get("spec")
    if spec is not None and (not isinstance(spec, dict) or not all(isinstance(spec.get(k) or {}, dict)
                                                                    for k in ("design", "parameters"))):
        raise _damaged(root / "sweep.json", "'spec' (with its 'design' and 'parameters') is not an object",
                       MANIFEST_REWRITTEN)
    runs = read_table(root / "runs.parquet", RUNS_COLUMNS, integers=("point", "replicate", "seed"))
    if runs.empty:
        runs = pd.DataFrame(columns=list(RUNS_COLUMNS))
    missing = [p for p in params or [] if p not in runs.columns and len(runs)]
    if missing:
        raise _damaged(root / "runs.parquet", f"missing the column(s) of parameter(s) {', '.join(missing)} that "
                                              "sweep.json names")
    _check_outcome_columns(root / "runs.parquet", runs, ((spec or {}).get("outputs") or {}).get("keep"))
    _check_one_row_per_run(root / "runs.parquet", runs)
    return SweepData(root, manifest, runs)


def _check_one_row_per_run(path: Path, runs: pd.DataFrame) -> None:
    """InputError unless each run (run_id, and point with replicate) has one row: a row given twice was counted
    twice by every mean and interval, and broke the pairing of `compare`."""
    for columns in (["run_id"], ["point", "replicate"]):
        twice = runs[runs.duplicated(columns, keep=False)]
        if len(twice):
            first = twice.iloc[0]
            which = ", ".join(f"{c} {first[c]}" for c in columns)
            raise _damaged(path, f"{len(twice)} rows share their {' and '.join(columns)} ({which}): each run has "
                                 "one row")


def _check_outcome_columns(path: Path, runs: pd.DataFrame, keep) -> None:
    """InputError unless `runs` (not empty) holds, as numbers, the outcome columns a sweep writes: the totals
    (TOTAL_KEYS) when its spec kept them (`outputs.keep`, default every block); for every route with a column,
    all of that route's; the arrivals of every year from the first to the last with a column; and some route and
    year columns when the spec kept those blocks. A column dropped would otherwise drop out of every table and
    figure unseen. (A route all of whose columns are gone is not seen: the routes are the scenario's.)"""
    if runs.empty:
        return
    kept = keep if isinstance(keep, list) else ["totals", "by_route", "by_year"]
    needed = list(TOTAL_KEYS) if "totals" in kept else []
    routes = dict.fromkeys(c[len("route."):].rsplit(".", 1)[0] for c in runs.columns if c.startswith("route."))
    needed += [f"route.{r}.{flow}" for r in routes for flow in TOTAL_KEYS]
    years = sorted({int(y) for c in runs.columns
                    if c.startswith("year.") and (y := c.split(".")[1]).isascii() and y.isdigit()})
    needed += [f"year.{y}.arrived" for y in range(years[0], years[-1] + 1)] if years else []
    for block, prefix, what in (("by_route", "route.", "route"), ("by_year", "year.", "year")):
        if block in kept and not any(c.startswith(prefix) for c in runs.columns):
            raise _damaged(path, f"no {what} columns, although the sweep's spec kept {block}")
    missing = [c for c in needed if c not in runs.columns]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise _damaged(path, f"missing outcome column(s) {shown}")
    wrong = [c for c in needed if not pd.api.types.is_numeric_dtype(runs[c])]
    if wrong:
        raise _damaged(path, f"column(s) {', '.join(wrong[:8])} should hold numbers")


# ---------------------------------------------------------------------------------- sensitivity, calibration


def base_scenario_shown(root: Path, experiment: dict) -> str:
    """How a report names an analysis's base scenario: experiment.yaml's `scenario`, with the scenario's own name
    when that is the analysis's copy (OUT/base.yaml: a file name that says nothing by itself)."""
    named = str(experiment.get("scenario") or "")
    if named == "base.yaml" and (root / named).is_file():
        try:
            name = read_yaml(root / named).get("name")
        except InputError:  # a damaged copy: the file name alone
            name = None
        if isinstance(name, str):
            return f"scenario '{name}' (its copy {named})"
    return named


@dataclass
class SensitivityData:
    """One sensitivity directory, read: indices (indices.csv), the ranking text (ranking.txt, '' when absent) and
    the generated experiment spec (experiment.yaml, {} when absent)."""

    path: Path
    indices: pd.DataFrame
    ranking: str
    experiment: dict

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.indices["method"]))

    @property
    def name(self) -> str:
        return str(self.experiment.get("name") or self.path.name)


@dataclass
class CalibrationData:
    """One calibration directory, read: calibration.json, points.csv, and when present predictive.csv,
    shares_predictive.csv and posterior_table.csv (else None)."""

    path: Path
    summary: dict
    points: pd.DataFrame
    predictive: pd.DataFrame | None
    shares: pd.DataFrame | None
    table: pd.DataFrame | None

    @property
    def name(self) -> str:
        return str(self.summary.get("name") or self.path.name)


def load_sensitivity_dir(path: str | Path) -> SensitivityData:
    root = Path(path)
    indices = read_table(root / "indices.csv", INDEX_COLUMNS)
    if indices.empty:
        raise _damaged(root / "indices.csv", "the table has no rows")
    extra = {"morris": ("mu_star", "sigma", "mu_star_conf"), "sobol": ("S1", "ST", "S1_conf", "ST_conf")}
    for method in dict.fromkeys(indices["method"]):
        if method not in extra:
            raise _damaged(root / "indices.csv", f"unknown method '{method}' (morris or sobol)")
        missing = [c for c in extra[method] if c not in indices.columns]
        if missing:
            raise _damaged(root / "indices.csv", f"{method} indices without column(s) {', '.join(missing)}")
    ranking = _optional_text(root / "ranking.txt")
    experiment = read_yaml(root / "experiment.yaml") if (root / "experiment.yaml").exists() else {}
    return SensitivityData(root, indices, ranking, experiment)


def load_calibration_dir(path: str | Path) -> CalibrationData:
    root = Path(path)
    summary = read_json(root / "calibration.json", ("priors",))
    priors = summary["priors"]
    if not isinstance(priors, dict) or not all(isinstance(p, dict) and {"dist", "low", "high"} <= set(p)
                                               for p in priors.values()):
        raise _damaged(root / "calibration.json", "'priors' must give dist, low and high for every parameter")
    points = read_table(root / "points.csv", (*POINTS_COLUMNS, *priors), numbers=("point", "distance"),
                        booleans=("accepted",))
    if points.empty:
        raise _damaged(root / "points.csv", "the table has no rows")
    predictive = shares = table = None
    if (root / "predictive.csv").exists():
        predictive = read_table(root / "predictive.csv", PREDICTIVE_COLUMNS, numbers=PREDICTIVE_COLUMNS[1:],
                                booleans=("inside_90",))
    if (root / "shares_predictive.csv").exists():
        shares = read_table(root / "shares_predictive.csv", ("target", "years", "observed_low", "observed_high",
                                                               "q05", "median", "q95"))
        shares = shares if len(shares) else None
    if (root / "posterior_table.csv").exists():
        table = read_table(root / "posterior_table.csv", ("parameter",))
    return CalibrationData(root, summary, points, predictive, shares, table)


@dataclass
class EffectsData:
    """One effects directory, read: effects.csv and effects.json (the provenance)."""

    path: Path
    effects: pd.DataFrame
    summary: dict

    @property
    def name(self) -> str:
        return str(self.summary.get("name") or self.path.name)


EFFECTS_COLUMNS = ("package", "baseline", "outcome", "expression", "effect_median", "total_q05", "total_q25",
                   "total_q75", "total_q95", "param_q05", "param_q25", "param_q75", "param_q95", "draws",
                   "replicates")


def load_effects_dir(path: str | Path) -> EffectsData:
    root = Path(path)
    summary = read_json(root / "effects.json", ("packages", "baseline", "outcomes"))
    effects = read_table(root / "effects.csv", EFFECTS_COLUMNS)
    if effects.empty:
        raise _damaged(root / "effects.csv", "the table has no rows")
    return EffectsData(root, effects, summary)


TRAJECTORY_COLUMNS = ("step", "coverage", "density", "mass", "restricted", "restricted_dims", "dropped", "from_step",
                      "chosen")


def load_trajectory(path: str | Path) -> pd.DataFrame:
    """trajectory.csv of a discovery directory; InputError naming the file when it is missing or malformed."""
    p = Path(path)
    ragged = _ragged_row(p) if p.is_file() else None
    if ragged is not None:
        raise InputError(f"{p}: not a peeling trajectory bordersim wrote ({ragged})")
    try:
        t = pd.read_csv(p, keep_default_na=False, dtype={"restricted_dims": str})
    except FileNotFoundError:
        raise InputError(f"{p}: no such file (a discovery directory holds trajectory.csv; run `bordersim discover` "
                         "to make it)") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the table ({exc})") from None
    missing = [c for c in TRAJECTORY_COLUMNS if c not in t.columns]
    if missing or t.empty:
        raise InputError(f"{p}: not a peeling trajectory bordersim wrote ("
                         + (f"missing columns {', '.join(missing)})" if missing else "no rows)"))
    try:
        for c in ("coverage", "density", "mass"):
            t[c] = t[c].astype(float)
        t["restricted"] = t["restricted"].astype(int)
        t["from_step"] = t["from_step"].astype(int)
        chosen = t["chosen"].astype(str).str.lower()
        if not chosen.isin(("true", "false")).all():
            raise ValueError(f"chosen holds {t['chosen'][~chosen.isin(('true', 'false'))].iloc[0]!r}, not true or "
                             "false")
        t["chosen"] = chosen == "true"
    except ValueError as exc:
        raise InputError(f"{p}: not a peeling trajectory bordersim wrote ({exc})") from None
    return t


@dataclass
class DiscoveryData:
    """One discovery directory, read: the peeling trajectory (trajectory.csv), the chosen box (box.csv), the
    summary text (summary.txt, '' when absent) and the generated experiment spec (experiment.yaml, {} when
    absent)."""

    path: Path
    trajectory: pd.DataFrame
    box: pd.DataFrame
    summary: str
    experiment: dict

    @property
    def name(self) -> str:
        return str(self.experiment.get("name") or self.path.name)


def _optional_text(path: Path) -> str:
    """The text of an optional file of a directory ('' when absent); InputError naming it when it cannot be read."""
    if not path.exists():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"cannot read it ({_reason(exc)})") from None


def load_discovery_dir(path: str | Path) -> DiscoveryData:
    root = Path(path)
    trajectory = load_trajectory(root / "trajectory.csv")
    box = read_table(root / "box.csv", BOX_COLUMNS)
    summary = _optional_text(root / "summary.txt")
    experiment = read_yaml(root / "experiment.yaml") if (root / "experiment.yaml").exists() else {}
    return DiscoveryData(root, trajectory, box, summary, experiment)


DirData = (RunData | SweepData | SensitivityData | CalibrationData | EffectsData
           | DiscoveryData)  # what `load` returns


def load(path: str | Path) -> DirData:
    """Read a directory of any of the five kinds (`kind_of`)."""
    kind = kind_of(path)
    loaders: dict[str, Callable[[str | Path], DirData]] = {
        "run": load_run, "sweep": load_sweep_dir, "sensitivity": load_sensitivity_dir,
        "calibration": load_calibration_dir, "effects": load_effects_dir, "discovery": load_discovery_dir}
    return loaders[kind](path)
