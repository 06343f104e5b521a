"""The difference of two results side by side (`bordersim compare A B`): two run directories, two points of sweep
directories (of one sweep or of two), or a run and a sweep's point.

Each side is a sample of runs indexed by seed: a run directory is one run (its `provenance.seed`), a sweep's
point is its successful replicates (the `seed` column of runs.parquet). Outcomes are the flat names a sweep keeps
(sim/experiments/task.py): `<outcome>` (totals), `route.<route>.<outcome>`, `group.<group>.<outcome>` and
`year.<YYYY>.<arrived|female_share|repatriated|years_abroad>`; a run's summary.json is flattened the same way,
and a sweep's counts by group are summed from its kept time series (flows over all steps, `in_transit` at the last
step, as summary.json's `by_group`).

The difference B − A of each outcome, and how its 95% interval is made, follow from the stored seeds:

- **paired** when the two sides share seeds — all of them, or at least MIN_CI_REPLICATES: replicate runs with the
  same seed used the same random numbers (common random numbers), so d_s = B_s − A_s over the common seeds s, and
  the interval is mean(d) ± t_{0.975, n−1} · sd(d) / √n (`sim.experiments.summarize.mean_ci`). A and B are then
  the means over those same seeds, so B − A = mean(d);
- **Welch** (unpaired) when they do not, and each side has at least MIN_CI_REPLICATES runs: the difference of the
  means, with the Welch–Satterthwaite interval (`scipy.stats.ttest_ind(..., equal_var=False)`); zero-width when
  both sides' values are constant;
- **none** otherwise (a single run, or fewer than MIN_CI_REPLICATES runs): the difference of the means only.

(B − A) / A is NaN when A is 0. An outcome missing on one side (a route, group or year only one side has) keeps
NaN there — it is never taken as zero — and its `present` column says which side has it. NaN values (a year
without arrivals has no female share) are left out of that outcome's means and pairs.

Fairness: the two sides should share the horizon (`time.start`, `time.end`, `time.step`), the population size,
the network (node and edge ids, and the routes the results list) and the seeds. Each difference is an `Issue`
(key, A's value, B's value); the comparison is still made. The engine is not checked: both engines write the same
files for the same scenario and seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.api_checks import optional_string_argument, path_argument
from sim.errors import InputError, UsageError, with_article
from sim.experiments.summarize import MIN_CI_REPLICATES, mean_ci, outcome_columns, resolve_point
from sim.experiments.store import read_record
from sim.outcomes import FLOWS, TOTAL_KEYS
from sim.outputs import new_dir
from sim.directories import kind_of, load_run, load_sweep_dir, read_table, read_yaml, year_order
from sim.provenance import stamp

KIND = "comparison"
BLOCKS = ("totals", "by_route", "by_group", "by_year")
PREFIX = {"by_route": "route", "by_group": "group", "by_year": "year"}  # flat outcome name prefix of a block
YEAR_KEYS = {"arrived": "arrivals_by_year", "female_share": "female_share_by_year",
             "repatriated": "repatriated_by_year", "years_abroad": "years_abroad_by_year"}
HORIZON = ("time.start", "time.end", "time.step")
CHECKED = (*HORIZON, "population.size")
NOT_DIFFERENCES = ("name", "description", "sources", "seed")  # scenario keys not listed among the differences
VALUE_COLUMNS = ("a", "b", "diff", "rel_diff", "ci_low", "ci_high", "n_a", "n_b", "n_pairs", "present")


@dataclass
class Side:
    """One side: where it came from, its runs (index: seed; columns: flat outcome names) and its resolved scenario
    (a sweep point's: the sweep's base scenario with the point's settings; None when it cannot be known)."""

    label: str
    path: Path
    kind: str  # "run" or "sweep"
    description: str
    values: pd.DataFrame
    scenario: dict | None
    point: int | None = None
    notes: list[str] = field(default_factory=list)
    codes: set[str | None] = field(default_factory=set)  # code_sha256 of the code that made its runs (None: unknown)

    @property
    def seeds(self) -> set[int]:
        return {int(s) for s in self.values.index}

    def keeps(self, block: str) -> bool:
        """Whether this side holds any outcome of `block`."""
        if block == "totals":
            return any(c in self.values.columns for c in TOTAL_KEYS)
        return any(c.startswith(PREFIX[block] + ".") for c in self.values.columns)


@dataclass(frozen=True)
class Issue:
    """A difference between the two sides that makes the comparison unfair: the key, A's value, B's value, why."""

    key: str
    a: str
    b: str
    why: str


@dataclass
class Comparison:
    """The two sides, how intervals were made (`method`: paired, welch or none, and `method_note` saying why), the
    fairness issues, other notes, the scenario settings that differ (key -> (A, B); what the comparison is about),
    and one table per block of BLOCKS (columns: the block's key columns, then VALUE_COLUMNS)."""

    a: Side
    b: Side
    method: str
    method_note: str
    issues: list[Issue]
    notes: list[str]
    differences: dict[str, tuple[Any, Any]]
    tables: dict[str, pd.DataFrame]

    def __repr__(self) -> str:
        """One line: the sides, the method, the issues and the tables (the default printed both whole scenarios,
        16,000 characters for the toy)."""
        return (f"<Comparison A={str(self.a.path)!r} ({self.a.kind}, {len(self.a.values)} runs) "
                f"B={str(self.b.path)!r} ({self.b.kind}, {len(self.b.values)} runs); method {self.method}; "
                f"{len(self.issues)} issue(s), {len(self.differences)} setting(s) differ; tables: "
                f"{', '.join(self.tables)}>")

    def metadata(self) -> dict:
        """What comparison.json holds: the sides, the method, the issues, the notes and the differences."""
        def side(s: Side) -> dict:
            return {"path": str(s.path), "kind": s.kind, "point": s.point, "description": s.description,
                    "runs": len(s.values), "seeds": sorted(s.seeds)}

        return {"a": side(self.a), "b": side(self.b), "method": self.method, "method_note": self.method_note,
                "fair": not self.issues, "issues": [asdict(i) for i in self.issues], "notes": self.notes,
                "differences": {k: {"a": a, "b": b} for k, (a, b) in self.differences.items()},
                "blocks": {name: len(t) for name, t in self.tables.items()}, "made_by": stamp()}


# ------------------------------------------------------------------------------------------------ reading


def split_point(text: str) -> tuple[str, str | None]:
    """'DIR' or 'DIR:POINT' -> (DIR, POINT or None). A text that names an existing path is a DIR as it is."""
    if Path(text).exists() or ":" not in text:
        return text, None
    directory, _, point = text.rpartition(":")
    return directory, (point or None)


def load_side(text: str | Path, label: str, point: str | None = None) -> Side:
    """Read side `label` ('A' or 'B') from a run directory or a sweep directory, `DIR:POINT` or `point` choosing
    a sweep's point (a point index, a policy package name or 'path=value,...': `resolve_point`). UsageError or
    InputError naming the directory or file otherwise."""
    path_text, inline = split_point(str(text))
    if inline is not None and point is not None:
        raise UsageError(f"{label}: the point is given twice ('{text}' and --point-{label.lower()} {point})")
    point = inline if inline is not None else point
    root = Path(path_text)
    kind = kind_of(root, "give a run directory (`bordersim run`) or a sweep directory (`bordersim sweep`), "
                         "a sweep's point as DIR:POINT")  # not a bordersim directory, or an unfinished one
    if kind == "run":
        if point is not None:
            raise UsageError(f"{root} is a run directory: it has no points (drop ':{point}' / --point-"
                             f"{label.lower()})")
        return _run_side(root, label)
    if kind == "sweep":
        return _sweep_side(root, label, point)
    raise UsageError(f"{root} is {with_article(kind)} directory; `bordersim compare` takes run directories "
                     "(`bordersim run`) and sweep directories (`bordersim sweep`; the runs of this analysis are in "
                     f"{root / 'sweep'})")


def _run_side(root: Path, label: str) -> Side:
    run = load_run(root)
    s = run.summary
    flat: dict[str, float] = {k: float(v) for k, v in s["totals"].items() if isinstance(v, (int, float))}
    for prefix, table in (("route", s["by_route"]), ("group", s["by_group"])):
        for name, row in table.items():
            flat.update({f"{prefix}.{name}.{k}": float(v) for k, v in row.items() if isinstance(v, (int, float))})
    for outcome, key in YEAR_KEYS.items():
        for year, v in (s.get(key) or {}).items():
            flat[f"year.{year}.{outcome}"] = math.nan if v is None else float(v)
    seed = s["provenance"]["seed"]
    if not isinstance(seed, int):
        raise InputError(f"'provenance.seed' is {seed!r}, not a whole number; the file is damaged",
                         path=str(root / "summary.json"))
    values = pd.DataFrame([flat], index=pd.Index([seed], name="seed"))
    return Side(label, root, "run", f"run {root} (scenario {run.name}, seed {seed})", values, run.scenario,
                codes={s["provenance"].get("code_sha256")})


def _sweep_side(root: Path, label: str, selector: str | None) -> Side:
    data = load_sweep_dir(root)
    runs, params = data.runs, data.parameters
    ok = data.ok
    if ok.empty:
        raise UsageError(f"{root}/runs.parquet has no successful runs; run the same `bordersim sweep` command again")
    what = f"the point of {label} ({root}:POINT or --point-{label.lower()})"
    if selector is not None:
        point = resolve_point(runs, params, selector, what=what)
    elif ok["point"].nunique() == 1:
        point = int(ok["point"].iloc[0])
    else:
        shown = ok.drop_duplicates("point").head(10)
        cols = [c for c in ("policy", *params) if c in shown.columns]
        listing = "; ".join(f"{int(r['point'])}: " + ", ".join(f"{c}={r[c]}" for c in cols)
                            for _, r in shown.iterrows())
        raise UsageError(f"{root} is a sweep of {ok['point'].nunique()} points; choose {what}: a point index, a "
                         f"policy package name or path=value,... naming one point (points: {listing}"
                         f"{'; ...' if ok['point'].nunique() > 10 else ''})")
    rows = ok[ok["point"] == point]
    if rows.empty:
        raise UsageError(f"{root}: point {point} has no successful runs; run the same `bordersim sweep` command "
                         "again")
    values = rows.set_index(rows["seed"].astype("int64").rename("seed"))[outcome_columns(runs, params)]
    values = values.astype(float)
    notes: list[str] = []
    outputs = (data.manifest.get("spec") or {}).get("outputs")  # load_sweep_dir checked that spec is an object
    groups = _group_counts(root, rows, kept=isinstance(outputs, dict) and outputs.get("timeseries", True) is True)
    if groups is not None:
        values = values.join(groups)
    else:
        notes.append(f"{label}: the sweep {root} kept no time series (outputs.timeseries: false), so it has no counts "
                     "by group")
    first = rows.iloc[0]
    setting = ", ".join(f"{c}={first[c]}" for c in ("policy", *params) if c in rows.columns)
    description = (f"sweep {root} (scenario {data.manifest.get('scenario', '?')}), point {point}"
                   f"{' (' + setting + ')' if setting else ''}, {len(rows)} successful replicate(s)")
    scenario = _point_scenario(root, data.manifest, first, params, notes, label)
    return Side(label, root, "sweep", description, values, scenario, point=point, notes=notes,
                codes={_record_code(root / "runs" / f"{r}.json") for r in rows["run_id"]})


def _record_code(path: Path) -> str | None:
    """The code_sha256 a sweep's run record names; None when it names none (an earlier bordersim) or is not a
    record (`read_record`)."""
    record = read_record(path)
    return record.get("code_sha256") if record is not None else None


def code_note(a: Side, b: Side) -> str | None:
    """A note when the two sides' runs were made by different bordersim code (as far as it was recorded): their
    difference then includes whatever the code changed."""
    def shown(side: Side) -> str:
        known = sorted(c[:12] + "..." for c in side.codes if c)
        return (", ".join(known) or "not recorded") + (" and unrecorded" if known and None in side.codes else "")

    if not {c for c in a.codes | b.codes if c}:
        return None  # nothing recorded on either side: nothing to say
    if a.codes == b.codes:
        return None if len(a.codes) == 1 else (
            f"A and B each hold runs of {len(a.codes)} different bordersim codes (code_sha256 {shown(a)}): each "
            "side's values mix what the codes compute (`bordersim sweep` warns when it resumes with other code)")
    return (f"A and B were made by different bordersim code (code_sha256 of A's runs: {shown(a)}; of B's: "
            f"{shown(b)}): the differences include whatever changed in the code, not only in the scenarios")


def _group_counts(root: Path, rows: pd.DataFrame, *, kept: bool) -> pd.DataFrame | None:
    """`group_totals` of each run of `rows` (index: seed) from its kept time series; None when a run has none
    and the sweep's spec did not keep them (`kept` False: `outputs.timeseries: false`, or a sweep.json of an
    earlier version without its spec); an InputError naming the file when the spec kept them."""
    out = {}
    for _, r in rows.iterrows():
        part = root / "timeseries" / f"run_id={r['run_id']}" / "part-0.parquet"
        if not part.exists():
            if kept:
                raise InputError("missing file: the sweep's spec kept every run's time series "
                                 "(outputs.timeseries: true)", path=str(part))
            return None
        out[int(r["seed"])] = group_totals(read_table(part, ("date", "group", *FLOWS, "in_transit")))
    return pd.DataFrame.from_dict(out, orient="index").rename_axis("seed")


def group_totals(ts: pd.DataFrame) -> dict[str, float]:
    """`group.<g>.<outcome>` of one run from its time series (one row per date x route x group), as summary.json's
    by_group: each flow summed over the steps, `in_transit` at the last step, `initial_stock` (when present)
    summed."""
    flat: dict[str, float] = {}
    last = ts["date"] == ts["date"].max()
    for g, grp in ts.groupby("group", observed=True, sort=False):
        row = {k: float(grp[k].sum()) for k in FLOWS}
        row["in_transit"] = float(grp.loc[last[grp.index], "in_transit"].sum())
        if "initial_stock" in grp.columns:
            row["initial_stock"] = float(grp["initial_stock"].sum())
        flat.update({f"group.{g}.{k}": v for k, v in row.items()})
    return flat


def _point_scenario(root: Path, manifest: dict, first: pd.Series, params: list[str], notes: list[str],
                    label: str) -> dict | None:
    """The resolved scenario of a sweep's point: DIR/scenario.resolved.yaml with the point's settings (its
    parameter values and policy package); None with a note when it cannot be known."""
    from sim.experiments.design import Point
    from sim.experiments.spec import ExperimentSpec
    from sim.experiments.store import BASE_SCENARIO
    from sim.scenario.overrides import set_path

    base_file = root / BASE_SCENARIO
    if not base_file.exists():
        notes.append(f"{label}: {root} has no {BASE_SCENARIO} (a sweep of an earlier bordersim; the same `bordersim "
                     "sweep` command writes it): its horizon, population size and network cannot be checked")
        return None
    scenario = read_yaml(base_file)
    try:
        spec = ExperimentSpec.model_validate(manifest.get("spec") or {})
        package = first["policy"] if "policy" in first.index and isinstance(first["policy"], str) else None
        values = {p: (first[p].item() if hasattr(first[p], "item") else first[p]) for p in params}
        for path, value in Point(int(first["point"]), values, package).overrides(spec):
            set_path(scenario, path, value, source=str(root / "sweep.json"))
    except (ValueError, KeyError, InputError) as exc:  # pydantic's ValidationError is a ValueError
        notes.append(f"{label}: the settings of point {int(first['point'])} cannot be applied to {base_file} "
                     f"({str(exc).splitlines()[0][:200]}): its horizon, population size and network cannot be "
                     "checked")
        return None
    return scenario


# ---------------------------------------------------------------------------------------------- fairness


def _get(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _ids(scenario: dict, section: str) -> set[str]:
    return {str(x.get("id")) for x in (_get(scenario, f"network.{section}") or []) if isinstance(x, dict)}


def _routes(side: Side) -> list[str]:
    return list(dict.fromkeys(_split(c)[1] for c in side.values.columns if c.startswith("route.")))


def _one_side_only(a: set[str], b: set[str]) -> tuple[str, str]:
    return (f"{len(a)} ({', '.join(sorted(a - b)) or 'none'} only here)",
            f"{len(b)} ({', '.join(sorted(b - a)) or 'none'} only here)")


def _seed_text(seeds: set[int], other: set[int]) -> str:
    shown = ", ".join(str(s) for s in sorted(seeds)[:3]) + (", ..." if len(seeds) > 3 else "")
    return f"{len(seeds)} seed(s) [{shown}], {len(seeds & other)} shared"


def fairness(a: Side, b: Side) -> list[Issue]:
    """The differences between the sides that make their difference more than the effect of what was changed:
    horizon, population size, network (node ids, edge ids, routes) and seeds."""
    issues = []
    if a.scenario is not None and b.scenario is not None:
        for key in CHECKED:
            va, vb = _get(a.scenario, key), _get(b.scenario, key)
            if va != vb:
                why = ("a different step: durations and waits are rounded to other steps, and per-year counts "
                       "cover 52 or 53 weeks or 12 months" if key == "time.step"
                       else "a different horizon: totals and years cover different periods" if key in HORIZON
                       else "a different population: counts scale with it")
                issues.append(Issue(key, str(va), str(vb), why))
        for section in ("nodes", "edges"):
            ia, ib = _ids(a.scenario, section), _ids(b.scenario, section)
            if ia != ib:
                issues.append(Issue(f"network.{section}", *_one_side_only(ia, ib),
                                    f"a different network: the {section} differ"))
    ra, rb = set(_routes(a)), set(_routes(b))
    if ra and rb and ra != rb:
        issues.append(Issue("routes", *_one_side_only(ra, rb), "different routes: a route on one side only is shown "
                                                               "as missing on the other"))
    sa, sb = a.seeds, b.seeds
    if sa != sb and len(sa & sb) < MIN_CI_REPLICATES:  # sharing enough, the difference is paired over them
        issues.append(Issue("seeds", _seed_text(sa, sb), _seed_text(sb, sa),
                            "different seeds: the difference includes seed noise that common random numbers would "
                            "remove (same seeds: replicate k of both uses the same random numbers)"))
    return issues


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path -> scalar of a scenario dict; list items with an id or name are keyed by it (as `--set`)."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(tree, list) and tree and all(isinstance(x, dict) and ("id" in x or "name" in x) for x in tree):
        for x in tree:
            out.update(_flatten(x, f"{prefix}{x.get('id', x.get('name'))}."))
    else:
        out[prefix[:-1]] = tree
    return out


def scenario_differences(a: dict | None, b: dict | None) -> dict[str, tuple[Any, Any]]:
    """Scenario settings that differ between the sides (dotted path -> (A's value, B's value)), leaving out free
    text, names and the seed; {} when a scenario is unknown. A setting that is null, an empty list or absent on a
    side counts as not there (None). What one side does not have is one entry at the shortest path it does not
    have ('network.edges.tunnel': None for that side, the item's settings {key: value} for the other), not one
    per setting of the item."""
    if a is None or b is None:
        return {}
    fa, fb = _flatten(a), _flatten(b)
    out: dict[str, tuple[Any, Any]] = {}
    for k in dict.fromkeys([*fa, *fb]):
        va, vb = _there(fa.get(k)), _there(fb.get(k))
        if k.split(".")[0] in NOT_DIFFERENCES or va == vb:
            continue
        if va is not None and vb is not None:  # a setting on both sides (a leaf has nothing under it)
            out[k] = (va, vb)
            continue
        root = _lacking_root(k, fb if va is not None or _has_under(fa, k) else fa)
        out.setdefault(root, (_subtree(fa, root), _subtree(fb, root)))
    return out


def _there(value: Any) -> Any:
    """A flattened setting's value, or None where it is not there (null, or an empty list or mapping)."""
    return None if value is None or value == [] or value == {} else value


def _has_under(flat: dict[str, Any], root: str) -> bool:
    """A setting under `root` (a path through it, not at it) is there in the flattened scenario."""
    return any(k.startswith(root + ".") and _there(v) is not None for k, v in flat.items())


def _lacking_root(key: str, flat: dict[str, Any]) -> str:
    """The shortest prefix of the dotted `key` at and under which the flattened scenario `flat` has nothing."""
    parts = key.split(".")
    for n in range(1, len(parts) + 1):
        root = ".".join(parts[:n])
        if _there(flat.get(root)) is None and not _has_under(flat, root):
            return root
    return key


def _subtree(flat: dict[str, Any], root: str) -> Any:
    """The value at `root` of a flattened scenario: a scalar, {rest of the path: value} of the settings there
    under it, or None when there is nothing."""
    if _there(flat.get(root)) is not None:
        return flat[root]
    under = {k[len(root) + 1:]: v for k, v in flat.items() if k.startswith(root + ".") and _there(v) is not None}
    return under or None


# -------------------------------------------------------------------------------------------- differences


def choose_method(a: Side, b: Side) -> tuple[str, str]:
    """('paired' | 'welch' | 'none', why), from the sides' seeds (rules in the module docstring)."""
    common = a.seeds & b.seeds
    na, nb, k = len(a.values), len(b.values), MIN_CI_REPLICATES
    if common and (a.seeds == b.seeds or len(common) >= k):
        how = ("both used the same seeds" if a.seeds == b.seeds
               else f"over the {len(common)} seeds both used (of {na} in A, {nb} in B)")
        if len(common) >= k:
            return "paired", f"paired by seed (common random numbers), {how}: 95% t interval of B_s - A_s"
        single = "single runs with the same seed" if len(common) == 1 else f"only {len(common)} shared seeds"
        return "paired", (f"paired by seed, {how}; no interval: {single} (an interval needs at least {k} "
                          "replicates)")
    if na >= k and nb >= k:
        return "welch", ("unpaired (Welch) 95% interval: the sides share no seeds" if not common
                         else f"unpaired (Welch) 95% interval: only {len(common)} seed(s) shared")
    small = [f"{s.label} is a single run" if len(s.values) == 1 else f"{s.label} has {len(s.values)} replicates"
             for s in (a, b) if len(s.values) < k]
    shared = "share no seed" if not common else f"share only {len(common)} seed(s)"
    return "none", (f"difference of the means only, no interval: {' and '.join(small)} and the sides {shared} (an "
                    f"interval needs at least {k} replicates on each side, or {k} shared seeds)")


def _row(a: pd.Series | None, b: pd.Series | None, method: str, common: list[int]) -> dict:
    nan = math.nan
    if a is None or b is None:
        present = "B only" if a is None else "A only"
        sa = a.dropna() if a is not None else pd.Series(dtype=float)
        sb = b.dropna() if b is not None else pd.Series(dtype=float)
        return {"a": sa.mean() if a is not None else nan, "b": sb.mean() if b is not None else nan, "diff": nan,
                "rel_diff": nan, "ci_low": nan, "ci_high": nan, "n_a": len(sa), "n_b": len(sb), "n_pairs": 0,
                "present": present}
    lo = hi = nan
    if method == "paired":
        pair = pd.DataFrame({"a": a.loc[common], "b": b.loc[common]}).dropna()
        xa, xb = pair["a"], pair["b"]
        diff, lo, hi, n_pairs = mean_ci((xb - xa).to_numpy())
        mean_a, mean_b = float(xa.mean()) if len(xa) else nan, float(xb.mean()) if len(xb) else nan
    else:
        xa, xb = a.dropna(), b.dropna()
        n_pairs = 0
        mean_a, mean_b = float(xa.mean()) if len(xa) else nan, float(xb.mean()) if len(xb) else nan
        diff = mean_b - mean_a
        if method == "welch" and min(len(xa), len(xb)) >= MIN_CI_REPLICATES:
            lo, hi = _welch(xa.to_numpy(), xb.to_numpy(), diff)
    rel = diff / mean_a if mean_a and not math.isnan(mean_a) else nan
    return {"a": mean_a, "b": mean_b, "diff": diff, "rel_diff": rel, "ci_low": lo, "ci_high": hi, "n_a": len(xa),
            "n_b": len(xb), "n_pairs": n_pairs, "present": "both"}


def _welch(xa: np.ndarray, xb: np.ndarray, diff: float) -> tuple[float, float]:
    """95% Welch interval of mean(xb) - mean(xa); zero width when both samples are constant. scipy warns of
    "precision loss" (on standard error, with its file path) when one sample is constant: its variance is then
    ~0, which is what the interval needs."""
    if np.ptp(xa) == 0 and np.ptp(xb) == 0:
        return diff, diff
    import warnings

    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.ttest_ind(xb, xa, equal_var=False).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


def _split(column: str) -> tuple[str, str, str]:
    """(block, key, outcome) of a flat outcome name: 'route.a.b.arrived' -> ('by_route', 'a.b', 'arrived')."""
    for block, prefix in PREFIX.items():
        if column.startswith(prefix + ".") and column.count(".") >= 2:
            key, _, outcome = column[len(prefix) + 1:].rpartition(".")
            return block, key, outcome
    return "totals", "", column


def _table(block: str, a: Side, b: Side, method: str) -> pd.DataFrame:
    common = sorted(a.seeds & b.seeds)
    columns = list(dict.fromkeys([*a.values.columns, *b.values.columns]))
    names = [c for c in columns if _split(c)[0] == block]
    if block == "totals":
        names = sorted(names, key=lambda c: (TOTAL_KEYS.index(c) if c in TOTAL_KEYS else len(TOTAL_KEYS), c))
    elif block == "by_year":
        names = sorted(names, key=lambda c: (_split(c)[2], year_order(_split(c)[1])))
    key_column = {"by_route": "route", "by_group": "group", "by_year": "year"}.get(block)
    rows = []
    for name in names:
        _, key, outcome = _split(name)
        ident = ({key_column: key} if key_column else {}) | {"outcome": outcome}
        sa = a.values[name] if name in a.values.columns else None
        sb = b.values[name] if name in b.values.columns else None
        rows.append(ident | _row(sa, sb, method, common))
    cols = ([key_column] if key_column else []) + ["outcome", *VALUE_COLUMNS]
    return pd.DataFrame(rows, columns=cols)


def compare(a: str | Path, b: str | Path, *, point_a: str | int | None = None, point_b: str | int | None = None
            ) -> Comparison:
    """Compare results B against A (B − A): each a run directory or a sweep directory ('DIR:POINT' or
    point_a/point_b choosing a sweep's point). Returns the tables, the interval method and the fairness issues;
    prints and writes nothing. UsageError/InputError (exit 2) for a directory bordersim did not make, or a missing
    or damaged file, naming it."""
    point_a, point_b = _point_argument(point_a, "point_a"), _point_argument(point_b, "point_b")
    side_a, side_b = load_side(path_argument(a, "a"), "A", point_a), load_side(path_argument(b, "b"), "B", point_b)
    method, note = choose_method(side_a, side_b)
    notes = side_a.notes + side_b.notes + [n for n in [code_note(side_a, side_b)] if n]
    shared = side_a.seeds & side_b.seeds
    if method == "paired" and side_a.seeds != side_b.seeds:  # fair, but not every run is used
        notes.append(f"seeds: paired over the {len(shared)} seeds both sides used; the runs of other seeds "
                     f"({len(side_a.seeds - shared)} of A, {len(side_b.seeds - shared)} of B) are left out")
    tables = {}
    for block in BLOCKS:
        kept = [s.label for s in (side_a, side_b) if s.keeps(block)]
        if len(kept) < 2:
            if kept and block != "by_group":  # a sweep without time series: said in its side's notes
                lacking = " and ".join(s.label for s in (side_a, side_b) if not s.keeps(block))
                notes.append(f"{block}: {lacking} keep(s) no such outcomes (a sweep's outputs.keep); not compared")
            tables[block] = _table(block, side_a, side_b, method).iloc[0:0]
            continue
        tables[block] = _table(block, side_a, side_b, method)
    return Comparison(side_a, side_b, method, note, fairness(side_a, side_b), notes,
                      scenario_differences(side_a.scenario, side_b.scenario), tables)


def _point_argument(value, name: str) -> str | None:
    """A sweep's point as `resolve_point` reads it: None, a text, or a point index (an int, not a bool); a list
    was read as the text "['0']" (a probe)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return optional_string_argument(value, name)


def write_comparison(c: Comparison, out: str | Path, *, force: bool = False) -> Path:
    """Write one CSV per block (`<block>.csv`) and comparison.json (`Comparison.metadata`) into a new directory
    `out` of kind `comparison`, built beside it and renamed into place (sim/outputs.py: an existing directory is
    replaced only when it is a comparison directory bordersim made and `force` is given)."""
    out = Path(out)
    with new_dir(out, KIND, [*(f"{block}.csv" for block in c.tables), "comparison.json"], force=force) as tmp:
        for block, table in c.tables.items():
            (tmp / f"{block}.csv").write_text(table.to_csv(index=False))
        (tmp / "comparison.json").write_text(json.dumps(c.metadata(), indent=2, default=str) + "\n")
    return out
