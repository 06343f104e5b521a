"""The sweeps of a calibration: the base scenario at the calibration's size, the experiment spec of each round
(`points` designs of the prior sample or the refinement box), and running them through the sweep framework."""


from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis.calibration.distance import run_predictions
from sim.analysis.dirs import run_owned_sweep
from sim.outputs import atomic_write_text, path_from
from sim.analysis.calibration.spec import LoadedCalibration, Prior
from sim.errors import ScenarioError
from sim.experiments.spec import ExperimentSpec, LoadedSpec
from sim.scenario.schema import Scenario
from sim.scenario.overrides import dump_scenario, get_path, scenario_to_dict, set_path
from sim.loading import validate_dict
from sim.scenario.validation import validate_model

Progress = Callable[[str, int, int], None]
KEEP = ["by_route", "by_year"]



# -------------------------------------------------------------------------------------- sweep specs


def _mid(prior: Prior) -> float:
    return round_sig(prior.quantile(0.5))


def round_sig(x: float, digits: int = 3) -> float:
    """x to `digits` significant digits."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def base_scenario(lc: LoadedCalibration, size: int | None) -> Scenario:
    """The base scenario every run of a round starts from: the spec's base, resolved, with the calibration's
    population size, every free parameter at its prior median (each run overrides them) and the description and
    sources left out (they do not act on a run). The sweep's fingerprint then depends only on what acts on the
    runs and is not calibrated, so writing calibrated values or editing the text of the base scenario keeps the
    runs made."""
    data = scenario_to_dict(lc.base)
    data["description"] = ""
    data["sources"] = []
    if size is not None:
        data["population"]["size"] = size
    for name, prior in lc.spec.parameters.items():
        for one in name.split(","):
            set_path(data, one.strip(), typed_value(data, one.strip(), _mid(prior)), source=str(lc.path))
    return validate_dict(data, path=str(lc.base_path))


def typed_value(data: dict, path: str, value: float):
    """The value as an int where the scenario holds an int there."""
    node = get_path(data, path)
    return round(value) if isinstance(node, int) and not isinstance(node, bool) else float(value)


def integer_parameters(data: dict, parameters: dict, where: str) -> dict:
    """The round's parameters with those at a path where the scenario holds an int (a count, such as
    `initial_stock.0.size`) made integers: a uniform prior becomes the sweep's `integer` kind over
    ceil(low)..floor(high) (its unit map is floor(low + u (high - low + 1))), listed values are rounded."""
    out = {}
    for name, spec in parameters.items():
        if not isinstance(typed_value(data, name.split(",")[0].strip(), 0.5), int):
            out[name] = spec
        elif isinstance(spec, dict) and spec.get("dist") == "uniform":
            out[name] = {"dist": "integer", "low": math.ceil(spec["low"]), "high": math.floor(spec["high"])}
        elif isinstance(spec, list):
            out[name] = [round(v) for v in spec]
        else:
            raise ScenarioError(f"'{name}' sets an integer of the scenario: give it a uniform prior (found "
                                f"{spec.get('dist') if isinstance(spec, dict) else spec})", path=where,
                                key=f"parameters.{name}")
    return out


@dataclass
class Round:
    """One sweep of a calibration, run in OUT/<name>: the experiment spec the sweep engine runs (`loaded`, built
    in memory so that its fingerprint can be compared with OUT/<name> before anything is written), and the texts
    of its base scenario (OUT/<base_file>) and spec (OUT/<name>_spec.yaml), written for the record and so that
    `bordersim sweep OUT/<name>_spec.yaml --out OUT/<name>` resumes the same sweep."""

    name: str
    base_file: str
    base_text: str
    spec_text: str
    loaded: LoadedSpec


def make_round(lc: LoadedCalibration, out: Path, name: str, base_file: str, size: int | None, design: dict,
               parameters: dict, replicates: int, seed: int) -> Round:
    """An experiment spec (docs/experiments.md) for one round; its base scenario is named relative to the spec
    (both live in OUT), so a calibration directory can be moved and still resume."""
    scenario = base_scenario(lc, size)
    parameters = integer_parameters(scenario_to_dict(scenario), parameters, str(lc.path))
    base_text = (f"# Base of a calibration sweep, written by `bordersim calibrate {lc.path.name}` from "
                 f"{path_from(out, lc.base_path)}.\n# Free parameters sit at their prior medians here; every run "
                 "sets its own values.\n" + dump_scenario(scenario))
    spec = {
        "name": f"{lc.spec.name}-{name}",
        "description": f"written by `bordersim calibrate {lc.path.name}`",
        "scenario": base_file,
        "parameters": parameters,
        "design": design,
        "replicates": replicates,
        "seed": seed,
        "outputs": {"keep": KEEP, "timeseries": lc.route_share_needs_timeseries},
        "engine": lc.spec.engine,
    }
    spec_path = out / f"{name}_spec.yaml"
    loaded = LoadedSpec(validate_model(ExperimentSpec, spec, path=str(spec_path)), spec_path, scenario)
    loaded = _kept_outputs(out / name, loaded)
    spec["outputs"] = loaded.spec.outputs.model_dump()
    return Round(name, base_file, base_text, yaml.safe_dump(spec, sort_keys=False, width=110), loaded)


def _kept_outputs(sweep_dir: Path, loaded: LoadedSpec) -> LoadedSpec:
    """The round's spec, keeping the time series when the runs already in SWEEP_DIR are this design's with their
    time series kept: a target that no longer needs them (a route share now over the whole horizon) must not
    make those runs "results of a different spec" (docs/calibration.md: changing only the targets reuses the
    runs). Runs that kept none cannot serve a target that needs them (`lack_time_series`)."""
    if loaded.spec.outputs.timeseries:
        return loaded
    kept = with_time_series(loaded, True)
    return kept if kept.made(_manifest_in(sweep_dir)) else loaded


def lack_time_series(sweep_dir: Path, loaded: LoadedSpec) -> bool:
    """True when SWEEP_DIR holds the runs of LOADED's design except that they kept no time series, which LOADED
    needs (a route-share target over part of the horizon counts arrivals by route and year from them)."""
    without = with_time_series(loaded, False)
    return loaded.spec.outputs.timeseries and without.made(_manifest_in(sweep_dir))


def with_time_series(loaded: LoadedSpec, kept: bool) -> LoadedSpec:
    outputs = loaded.spec.outputs.model_copy(update={"timeseries": kept})
    return LoadedSpec(loaded.spec.model_copy(update={"outputs": outputs}), loaded.path, loaded.base)


def _manifest_in(sweep_dir: Path) -> dict:
    from sim.experiments.store import MANIFEST

    try:
        manifest = json.loads((sweep_dir / MANIFEST).read_text())
    except (OSError, ValueError):  # no sweep yet, or a damaged one: the sweep engine says so
        return {}
    return manifest if isinstance(manifest, dict) else {}


def run_round(lc: LoadedCalibration, out: Path, rnd: Round, *, replace: bool, workers, scheduler,
              progress: Progress | None, scale: float, starting: Callable[[bool], object] | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Run one round through the sweep engine in OUT/<name>; return (design table, per-run predictions of the
    successful runs, number of failed runs). Runs of another design in OUT/<name> are replaced when `replace`
    (by the sweep engine, only a bordersim sweep directory: `sim.analysis.dirs.run_owned_sweep`),
    else refused. `starting(changed)` is called once the sweep engine has accepted the round (its first progress
    report, before any run), `changed` saying whether the round's records (its base scenario and spec) changed."""
    from sim.experiments.store import SweepStore
    from sim.experiments.sweep import plan

    SweepStore.check(out / rnd.name, rnd.loaded, force=replace)  # refused before the round's files are rewritten
    records = {out / rnd.base_file: rnd.base_text, out / f"{rnd.name}_spec.yaml": rnd.spec_text}
    stale = {path: text for path, text in records.items() if not path.is_file() or path.read_text() != text}
    for path, text in stale.items():
        atomic_write_text(path, text)
    changed = bool(stale)
    started = False

    def cb(done: int, total: int) -> None:
        nonlocal started
        if not started and starting is not None:
            starting(changed)
        started = True
        if progress is not None:
            progress(rnd.name, done, total)

    p = plan(rnd.loaded)
    runs = run_owned_sweep(p, out / rnd.name, replace=replace, workers=workers, scheduler=scheduler, progress=cb)
    points = p.points
    if runs.empty:
        return points, pd.DataFrame(columns=["run_id", "point", "replicate"]), 0
    failed = int((runs["status"] != "ok").sum())
    return points, run_predictions(runs, lc, out / rnd.name, scale), failed
