"""Choosing the engine: `run --engine`, the `engine:` key of sweep, calibration and sensitivity specs, and the
arrays engine as the default for ensembles. That the two engines give the same files run by run is
tests/test_docking.py; here: that the choice reaches the runs, and that a sweep of the toy spec gives the same
table with either engine."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.engine.engines import ENSEMBLE_DEFAULT, RUN_DEFAULT, engine_module
from sim.experiments.spec import load_spec
from sim.experiments.sweep import plan, run_sweep

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"

SPEC = """
name: engines
scenario: {scenario}
parameters:
  network.edges.dmz.controls.mines: [0.0, 1.0]
  population.size: [4000]
replicates: 3
seed: 11
outputs: {{keep: [totals, by_route, by_year], timeseries: true}}
"""


def test_the_defaults_are_agents_for_a_run_and_arrays_for_ensembles():
    assert RUN_DEFAULT == "agents" and ENSEMBLE_DEFAULT == "arrays"
    spec = ROOT / "experiments" / "toy_sweep.yaml"
    assert load_spec(spec).spec.engine == "arrays"
    with pytest.raises(ValueError, match="unknown engine 'gpu'; choose one of agents, arrays"):
        engine_module("gpu")


def test_a_toy_sweep_gives_the_same_table_with_either_engine(tmp_path):
    tables = {}
    for engine in ("agents", "arrays"):
        spec = tmp_path / f"{engine}.yaml"
        spec.write_text(SPEC.format(scenario=TOY) + f"engine: {engine}\n")
        df = run_sweep(plan(spec), tmp_path / engine, workers=1)
        tables[engine] = df.drop(columns=["wall_time"]).sort_values("run_id").reset_index(drop=True)
        ts = pd.read_parquet(tmp_path / engine / "timeseries")
        tables[engine + "_ts"] = ts.sort_values(["run_id", "date", "route", "group"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(tables["agents"], tables["arrays"])
    pd.testing.assert_frame_equal(tables["agents_ts"], tables["arrays_ts"])
    assert (tables["agents"]["status"] == "ok").all() and len(tables["agents"]) == 6


def test_the_engine_is_not_part_of_a_sweeps_identity(tmp_path, capsys):
    """Both engines give the same files, so a sweep started with one resumes with the other (nothing rerun)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(scenario=TOY) + "engine: agents\n")
    run_sweep(plan(spec), tmp_path / "o", workers=1)
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o" / "runs").glob("*.json")}
    spec.write_text(SPEC.format(scenario=TOY) + "engine: arrays\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "o" / "runs").glob("*.json")} == before


def test_an_unknown_engine_in_a_spec_is_an_input_error_naming_the_key(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(scenario=TOY) + "engine: gpu\n")
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "spec.yaml" in err and "engine" in err and "'agents' or 'arrays'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_run_engine_flag_writes_the_same_files(tmp_path, capsys):
    for engine in ("agents", "arrays"):
        assert main(["run", str(TOY), "--set", "population.size=3000", "--out", str(tmp_path / engine),
                     "--quiet", "--engine", engine]) == 0
    for name in ("summary.json", "timeseries.parquet"):
        assert (tmp_path / "agents" / name).read_bytes() == (tmp_path / "arrays" / name).read_bytes(), name
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(TOY), "--engine", "gpu"])
    assert exit_.value.code == 2 and "invalid choice: 'gpu'" in capsys.readouterr().err


def test_calibration_and_sensitivity_pass_their_engine_to_their_sweeps(tmp_path):
    from sim.analysis.calibration.rounds import make_round
    from sim.analysis.calibration.spec import load_calibration
    from sim.analysis.sensitivity.run import experiment_spec
    from sim.analysis.sensitivity.spec import load_sensitivity
    import numpy as np

    for name in ("korea_calibration.yaml", "toy_sensitivity.yaml"):
        data = yaml.safe_load((ROOT / "experiments" / name).read_text())
        data["scenario"] = str((ROOT / "experiments" / data["scenario"]).resolve())
        data["engine"] = "agents"
        (tmp_path / name).write_text(yaml.safe_dump(data))
    lc = load_calibration(tmp_path / "korea_calibration.yaml")
    assert lc.spec.engine == "agents"
    rnd = make_round(lc, tmp_path, "sweep", "base.yaml", 1000, {"type": "grid"}, {}, 1, 0)
    assert rnd.loaded.spec.engine == "agents" and "engine: agents" in rnd.spec_text
    ls = load_sensitivity(tmp_path / "toy_sensitivity.yaml")
    exp = experiment_spec(ls, "morris", np.full((2, len(ls.names)), 0.5))
    assert exp["engine"] == "agents"
    assert json.loads(json.dumps(exp))["engine"] == "agents"
