"""Scenario discovery (`bordersim discover`, sim/analysis/discovery): PRIM finds a planted box, the command finds
the lever that closes a route on the toy scenario, and bad input or a missing extra is exit 2 with a message.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, TOY, seed
from sweep_helpers import call_main

from sim.analysis.discovery import boxes, run as discovery_run, spec as discovery_spec
from sim.errors import InputError, ScenarioError

# ------------------------------------------------------------------------------------------- planted box
# X uniform on [0, 1]^5; y = 1 inside x1 in [0.2, 0.7] and x3 in [0.3, 0.8] (a quarter of the cube), each label
# flipped with probability 0.02: the box's true density is 0.98, outside it 0.02. PRIM runs with threshold 0.95.
#
# Why N = 1000 cannot fail by chance at the suite's per-check level (conftest.ALPHA = 5e-6, about 4.4 standard
# deviations of a normal tail). PRIM is a deterministic function of the sample; what decides the checks are counts
# of points in the slabs it peels (5% of the box's points: ~12 points, ~0.025 of an input's range, at the end).
# - Restricted inputs: from density 0.27 PRIM must cut away the 75% of the cube outside the planted box, which lies
#   along x1 and x3 only. Removing m points holding j cases raises the density per point lost by more the fewer
#   cases it removes; a slab along a spurious input holds cases at the box's density, a slab outside a true edge
#   holds ~2% cases, so a spurious slab wins a step only if it is nearly free of cases while its neighbours
#   are not: binomial counts of ~50 points many standard deviations apart in every step before the box is pure.
# - Limits: an edge stops one slab away from where peeling stops gaining, plus the noise of that slab's count.
# - Density >= 0.95: boxes inside the planted one have density 0.98 with binomial sd 0.01-0.02 at 50-250 points,
#   and the trajectory passes through several of them.
# Measured by running the body of test_prim_finds_the_planted_box for seed offsets 0..199 (one process, about
# 0.7 s each): restricted inputs {x1, x3} every time; largest limit error 0.035 (mean 0.014, sd 0.006: TOLERANCE
# 0.06 is 7.9 sd above the mean); coverage 0.83 at the least (mean 0.914, sd 0.025: the level 0.75 is 6.5 sd
# below); the densest box of the trajectory 0.965 at the least (mean 0.990, sd 0.007: 0.95 is 5.9 sd below), so
# the threshold was always reached; largest quasi-p-value 7e-20 (checked below 1e-6).
N_PLANTED = 1000
PLANTED = {"x1": (0.2, 0.7), "x3": (0.3, 0.8)}
TOLERANCE = 0.06
FLIP = 0.02


def planted_sample(rng: np.random.Generator, n: int = N_PLANTED) -> tuple[pd.DataFrame, np.ndarray]:
    x = pd.DataFrame(rng.random((n, 5)), columns=[f"x{i}" for i in range(5)])
    inside = np.ones(n, dtype=bool)
    for name, (lo, hi) in PLANTED.items():
        inside &= (x[name] >= lo).to_numpy() & (x[name] <= hi).to_numpy()
    return x, inside ^ (rng.random(n) < FLIP)


def test_prim_finds_the_planted_box():
    x, y = planted_sample(np.random.default_rng(seed(1501)))
    res = boxes.find_box(x, y, threshold=0.95)
    assert sorted(res.restricted) == sorted(PLANTED), res.box
    box = res.box.set_index("parameter")
    for name, (lo, hi) in PLANTED.items():
        assert abs(box.loc[name, "min"] - lo) <= TOLERANCE, (name, box.loc[name, "min"])
        assert abs(box.loc[name, "max"] - hi) <= TOLERANCE, (name, box.loc[name, "max"])
        assert box.loc[name, "qp_min"] < 1e-6 and box.loc[name, "qp_max"] < 1e-6  # both sides matter
    assert res.coverage >= 0.75 and res.density >= 0.95
    # the reported numbers are those of the box: recount them from the limits
    inside = np.ones(len(x), dtype=bool)
    for name in PLANTED:
        inside &= (x[name] >= box.loc[name, "min"]).to_numpy() & (x[name] <= box.loc[name, "max"]).to_numpy()
    assert res.density == pytest.approx(y[inside].mean())
    assert res.coverage == pytest.approx(y[inside].sum() / y.sum())
    assert res.mass == pytest.approx(inside.mean())
    t = res.trajectory
    assert t["chosen"].sum() == 1 and t.loc[t["chosen"], "step"].item() == res.chosen
    assert t["mass"].iloc[0] == 1.0 and t["coverage"].iloc[0] == 1.0 and t["restricted"].iloc[0] == 0
    assert (t.loc[t["density"] >= 0.95, "coverage"] <= res.coverage).all()


def test_prim_restricts_a_categorical_and_an_integer_input():
    """A box on a category and an integer range is reported as a set of values and integer limits. The labels are
    a function of the inputs (no noise), and every peel along colour or k removes only non-cases, more of them at
    once than a 5% slab along u can, so PRIM reaches the pure box before it touches u (offsets 0..199: no
    failure)."""
    rng = np.random.default_rng(seed(1502))
    n = 600
    x = pd.DataFrame({"colour": rng.choice(["red", "green", "blue"], n), "k": rng.integers(0, 10, n),
                      "u": rng.random(n)})
    y = (x["colour"] == "red").to_numpy() & (x["k"] >= 5).to_numpy()
    res = boxes.find_box(x, y, threshold=1.0)
    box = res.box.set_index("parameter")
    assert sorted(res.restricted) == ["colour", "k"]
    assert box.loc["colour", "values"] == "red" and box.loc["colour", "kind"] == "categorical"
    assert box.loc["k", "kind"] == "integer" and box.loc["k", "min"] == 5 and box.loc["k", "max"] == 9
    assert res.density == 1.0 and res.coverage == 1.0


def test_an_integer_input_survives_pasting_and_its_limits_are_whole_values():
    """PRIM's pasting wrote a limit between two values (3.5) into an int64 column of its box table: pandas raised
    TypeError, after every run of the discovery, for 34 of 40 noisy samples like these. Whatever the box, its
    integer limits are whole and its numbers are those of its limits (recounted on the integer data)."""
    for k in range(8):
        rng = np.random.default_rng(seed(1510 + k))
        n = 128
        x = pd.DataFrame({"a": rng.random(n), "b": rng.random(n),
                          "rw": pd.Categorical(rng.choice(["2", "6", "10"], n)), "dur": rng.integers(1, 5, n)})
        y = ((x["a"] + 0.3 * x["dur"] / 4 + rng.normal(0, 0.2, n)) > 0.9).to_numpy()
        res = boxes.find_box(x, y)
        inside = np.ones(n, dtype=bool)
        for name, row in res.box.set_index("parameter").iterrows():
            if row["kind"] == "categorical":
                inside &= x[name].astype(str).isin(row["values"].split("|")).to_numpy()
                continue
            if name == "dur":
                assert row["kind"] == "integer" and row["min"] == int(row["min"]) and row["max"] == int(row["max"])
            inside &= (x[name] >= row["min"]).to_numpy() & (x[name] <= row["max"]).to_numpy()
        assert res.density == pytest.approx(y[inside].mean()) and res.mass == pytest.approx(inside.mean())


def test_no_case_or_only_cases_is_bad_input():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    for y in (np.zeros(20, bool), np.ones(20, bool)):
        with pytest.raises(ScenarioError, match="nothing to tell apart"):
            boxes.find_box(x, y)


def test_conditions_flag_the_documented_points():
    v = np.arange(10.0)
    assert discovery_run.flag_cases(v, discovery_spec.Condition(below=3))[1].sum() == 3
    assert discovery_run.flag_cases(v, discovery_spec.Condition(above=7))[1].sum() == 2
    t, case = discovery_run.flag_cases(v, discovery_spec.Condition(below_quantile=0.2))
    assert t == pytest.approx(1.8) and case.sum() == 2
    t, case = discovery_run.flag_cases(v, discovery_spec.Condition(above_quantile=0.9))
    assert t == pytest.approx(8.1) and case.sum() == 1


# ------------------------------------------------------------------------------------------ on the toy
# Sea patrol over [0, 1] multiplies the chance of getting through by exp(-1.5 patrol) and makes the sea route
# less attractive: sea arrivals fall about tenfold across its range, while DMZ mines and river guards move them by
# shifting a minority between routes. The lowest 30% of sea arrivals are then the points with the highest patrol;
# with 40 points seed noise (sd ~10 on ~30-370 arrivals) cannot make PRIM miss that input.


def _toy_spec(tmp_path, **changes) -> str:
    spec = {
        "name": "toy_discover",
        "scenario": str(TOY),
        "fixed": {"population.size": 5000},
        "parameters": {
            "network.edges.boat.controls.patrol": {"low": 0.0, "high": 1.0, "label": "sea_patrol"},
            "network.edges.dmz.controls.mines": {"low": 0.0, "high": 1.0, "label": "dmz_mines"},
            "network.edges.ford.controls.guards": {"low": 0.0, "high": 1.0, "label": "river_guards"},
        },
        "design": {"type": "lhs", "samples": 40},
        "outcome": "arrived(sea)",
        "condition": {"below_quantile": 0.3},
        "seed": seed(1503),
    }
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def test_toy_discovery_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    spec = _toy_spec(tmp_path)
    proc = call_main(capsys, "discover", spec, "--out", out, "--workers", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    box = pd.read_csv(out / "box.csv").set_index("parameter")
    assert "sea_patrol" in box.index
    assert box.loc["sea_patrol", "min"] > 0.3 and np.isnan(box.loc["sea_patrol", "qp_max"])
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 40
    assert (points["case"] == (points["outcome"] <= np.quantile(points["outcome"], 0.3))).all()
    assert points.loc[points["case"], "sea_patrol"].mean() > points.loc[~points["case"], "sea_patrol"].mean()
    t = pd.read_csv(out / "trajectory.csv")
    chosen = t[t["chosen"]].iloc[0]
    assert chosen["density"] >= 0.8 and "sea_patrol" in chosen["restricted_dims"].split(";")
    assert "sea_patrol" in proc.stdout and "coverage" in proc.stdout
    assert (out / "figures" / "peeling.png").stat().st_size > 0
    assert (out / "summary.txt").read_text() in proc.stdout
    # the command's figure is `bordersim plot`'s, whatever the directory is called
    drawn = (out / "figures" / "peeling.png").read_bytes()
    other = tmp_path / "renamed"
    shutil.copytree(out, other)
    assert call_main(capsys, "plot", other, "--only", "peeling").returncode == 0
    assert (other / "figures" / "peeling.png").read_bytes() == drawn
    # the copy keeps its spec (every PRIM setting) and base scenario: it runs again from them, with no new run
    kept = yaml.safe_load((other / "spec.yaml").read_text())
    assert kept["scenario"] == "base.yaml" and kept["prim"]["peel_alpha"] == 0.05 and kept["seed"] == seed(1503)
    assert yaml.safe_load((other / "experiment.yaml").read_text())["scenario"] == "base.yaml"
    records = {p.name: p.stat().st_mtime_ns for p in (other / "sweep" / "runs").iterdir()}
    assert call_main(capsys, "discover", other / "spec.yaml", "--out", other, "--quiet").returncode == 0
    assert {p.name: p.stat().st_mtime_ns for p in (other / "sweep" / "runs").iterdir()} == records
    assert (other / "points.csv").read_bytes() == (out / "points.csv").read_bytes()

    # `bordersim report` (and so `plot`, whose figures it embeds) reads the directory like the other kinds
    proc = call_main(capsys, "report", out)
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    assert "scenario discovery" in html and "sea_patrol" in html and "data:image/png;base64" in html
    assert "scenario &#x27;toy&#x27; (its copy base.yaml)" in html  # 'base.yaml' alone said nothing

    # the condition is not part of the design: a new one re-analyses the same runs, and one that no point
    # meets is bad input naming the spec's key
    spec = _toy_spec(tmp_path, condition={"below": -1})
    proc = call_main(capsys, "discover", spec, "--out", out, "--workers", "1", "--quiet")
    assert proc.returncode == 2 and "condition" in proc.stderr and "holds at 0 of 40 points" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_outcome_some_runs_have_no_value_for_is_bad_input_naming_how_many(tmp_path, capsys):
    """Nobody sets out, so nobody arrives and the female share of 2004 has no value in any run: exit 2 naming the
    outcome and the count (the points without a value were counted as no case and shaped the box)."""
    spec = _toy_spec(tmp_path, fixed={"population.size": 200, "population.groups.ordinary.departure_rate": 0.0},
                     design={"type": "lhs", "samples": 10}, outcome="female_share(2004)",
                     condition={"below": 0.4})
    proc = call_main(capsys, "discover", spec, "--out", tmp_path / "out", "--workers", "1", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert ("key 'outcome': outcome female_share(2004) has no value in 10 of 10 runs (at 10 of 10 points; e.g. point "
            "0, replicate 0)") in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "points.csv").exists()
    # as the message says, an outcome by year reuses the finished runs (nobody arrived: no point meets the
    # condition, which is the next thing said; not that the directory holds another design)
    spec = _toy_spec(tmp_path, fixed={"population.size": 200, "population.groups.ordinary.departure_rate": 0.0},
                     design={"type": "lhs", "samples": 10}, outcome="arrived(2004)", condition={"above": 0.5})
    proc = call_main(capsys, "discover", spec, "--out", tmp_path / "out", "--workers", "1", "--quiet")
    assert proc.returncode == 2 and "holds at 0 of 10 points" in proc.stderr, proc.stderr


def test_unfinished_discovery_directory_is_named_as_such(tmp_path):
    from sim.outputs import write_marker
    from sim.directories import kind_of

    assert not (tmp_path / "trajectory.csv").exists()
    write_marker(tmp_path, "discovery")
    with pytest.raises(InputError, match="discovery directory whose analysis has not finished"):
        kind_of(tmp_path)


def test_a_malformed_trajectory_is_bad_input(tmp_path):
    """The figure reads only trajectory.csv (the command's own drawing is checked end to end above)."""
    from sim.directories import load_trajectory
    from sim.plots import discovery as discovery_plots

    (tmp_path / "trajectory.csv").write_text("step,coverage\n0,1\n")
    with pytest.raises(InputError, match="missing columns"):
        discovery_plots.write_figures(tmp_path)
    assert not (tmp_path / "figures").exists()
    header = "step,coverage,density,mass,restricted,restricted_dims,dropped,from_step,chosen\n"
    rows = "0,1.0,0.3,1.0,0,,,0,False\n1,0.9,0.8,0.3,1,sea_patrol,,0,True\n"
    (tmp_path / "trajectory.csv").write_text(header + rows)
    assert load_trajectory(tmp_path / "trajectory.csv")["chosen"].tolist() == [False, True]
    # a last row cut short read its `chosen` as False (the chosen box vanished from figure and report, exit 0)
    for damaged, says in ((rows[: -len(",True\n")] + "\n", "row 2 has 8 fields where the header has 9"),
                          (rows.replace("True", "yes"), "chosen holds 'yes', not true or false")):
        (tmp_path / "trajectory.csv").write_text(header + damaged)
        with pytest.raises(InputError, match=says):
            load_trajectory(tmp_path / "trajectory.csv")


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("changes", "key", "says"), [
    ({"condition": {"below": 1, "above": 2}}, "condition", "exactly one of"),
    ({"outcome": "arrived(land)"}, "outcome", "unknown route 'land'"),
    ({"design": {"type": "sobol", "samples": 48}}, "design", "power of two"),
    ({"parameters": {"network.edges.boat.controls.patrol": {"low": 0, "high": 3}}},
     "parameters.network.edges.boat.controls.patrol", "less than or equal to 1"),
    ({"prim": {"threshold": 1.5}}, "prim.threshold", "less than or equal to 1"),
    ({"parameters": {"network.max_path_edges": {"low": 4, "high": 8}}}, "parameters.network.max_path_edges",
     "whole number at 'network.max_path_edges' (a count): give it `dist: integer`"),
])
def test_bad_spec_is_exit_2_naming_file_and_key(tmp_path, capsys, changes, key, says):
    spec = _toy_spec(tmp_path, **changes)
    proc = call_main(capsys, "discover", spec, "--out", tmp_path / "out", "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    assert spec in proc.stderr and key in proc.stderr and says in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


def test_missing_extra_is_exit_2_naming_it(tmp_path, capsys, monkeypatch):
    for name in ("ema_workbench", "ema_workbench.analysis", "ema_workbench.analysis.prim"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` of a None entry raises ImportError
    proc = call_main(capsys, "discover", _toy_spec(tmp_path), "--out", tmp_path / "out", "--workers", "1")
    assert proc.returncode == 2
    assert "bordersim[discovery]" in proc.stderr and "pip install" in proc.stderr
    assert not (tmp_path / "out").exists()  # refused before any run


def test_the_command_line_and_the_check_for_the_extra_do_not_import_it():
    """Importing ema_workbench.analysis takes about 3 s: a command checks that it is installed before its runs and
    imports it only to find the box."""
    code = ("import sys; from sim.cli.main import build_parser; build_parser(); "
            "import sim.analysis.discovery; sim.analysis.discovery.boxes.require_prim(); "
            "print('ema_workbench' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert proc.stdout.strip() == "False"


def test_shipped_korea_spec_loads(capsys):
    proc = call_main(capsys, "discover", ROOT / "experiments" / "korea_discover.yaml", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "300 points x 1 replicates = 300 runs" in proc.stdout


def test_every_spec_key_is_documented():
    text = (ROOT / "docs" / "discovery.md").read_text()
    models = [discovery_spec.DiscoverySpec, discovery_spec.DiscoveryDesign, discovery_spec.Condition,
              discovery_spec.PrimSettings]
    missing = [k for m in models for k in m.model_fields if f"{k}:" not in text]
    assert not missing, f"keys missing from docs/discovery.md: {missing}"


@pytest.mark.parametrize("densities, says", [
    ([0.5, 0.7, 0.95], "(density >= 0.9, highest coverage; restrictions with quasi-p > 0.05 dropped: popsize)"),
    ([0.5, 0.7, 0.82], "(no box reaches density 0.9: the densest; restrictions with quasi-p > 0.05 dropped: popsize)"),
])
def test_the_summary_says_which_rule_chose_the_box_and_gives_whole_limits(densities, says):
    """When no box reached the threshold the summary still said 'density >= 0.9, highest coverage', a rule that
    was not applied; and an integer input's limit 11901 was printed 1.19e+04 (a probe)."""
    from types import SimpleNamespace

    from sim.analysis.discovery.boxes import PrimResult
    from sim.analysis.discovery.run import DiscoveryResult, summary_text

    trajectory = pd.DataFrame({"density": [*densities, 0.83], "dropped": ["", "", "", "popsize"]})
    box = pd.DataFrame([{"parameter": "popsize", "kind": "integer", "values": "", "min": 4164.0, "max": 11901.0,
                         "data_min": 2136.0, "data_max": 11901.0, "qp_min": 0.01, "qp_max": float("nan")}])
    prim = PrimResult(trajectory, box, chosen=3, coverage=0.5, density=0.83, mass=0.2, cases=16, points=64)
    spec = SimpleNamespace(name="d3", design=SimpleNamespace(type="sobol", samples=64), replicates=1, outcome="arrived",
                           condition=SimpleNamespace(describe=lambda: "above its 0.75 quantile", kind="above_quantile"),
                           prim=SimpleNamespace(threshold=0.9, max_qp=0.05))
    loaded = SimpleNamespace(spec=spec, scenario_path=ROOT / "scenarios" / "toy.yaml")
    text = summary_text(DiscoveryResult(loaded, pd.DataFrame(), 1.0, prim, 64, ROOT))
    assert f"box: step 3 of the peeling trajectory {says}" in text, text
    assert "popsize                  4,164 .. 11,901  (of 2,136 .. 11,901)" in text, text
