"""Safety of the analyses (issue 10, items 2, 3, 11 and 17): `calibrate` and `sensitivity` follow the output rule of
sim/outputs.py (their directories carry a marker, everything is checked before anything is written, a foreign file
or directory is never deleted or overwritten, with or without --force); spec names are safe path components and
default outputs stay under results/; `calibrate --write-scenario` is checked before any run; Sobol indices that the
design does not resolve come with warnings (data, printed by the command, written with the results).

The deletion cases run against scratch directories and compare every file byte for byte before and after."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, TOY, edge, group, node, scenario_dict

from sim.cli import main
from sim.errors import ScenarioError, UsageError
from sim.analysis.sensitivity import indices as sa_indices, run as sa_run, spec as sa_spec
from sim.analysis.calibration.scenario_file import PROVENANCE_START, write_scenario
from sim.analysis.calibration.spec import load_calibration
from sim.outputs import marker_kind, write_marker

# These tests are about which files an analysis writes, keeps and refuses; what its figures show is tested in the
# test file of each analysis, which draws them for real.
pytestmark = pytest.mark.usefixtures("blank_drawing")

OBSERVED_CSV = """period_start,period_end,arrivals,male,female,source,note
2000,2000,99,24,75,X,
2001,2001,999,249,750,X,
2002,2003,20,10,10,X,two years combined
"""


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root (and root's own entry) with its bytes (None for a directory)."""
    return {str(p.relative_to(root.parent)): (p.read_bytes() if p.is_file() else None)
            for p in [root, *sorted(root.rglob("*"))]}


def user_dir(path: Path, files: dict[str, str]) -> Path:
    """A directory a user made, holding `files` (relative path -> text)."""
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    return path


# ----------------------------------------------------------------------------------------------- calibration


def calibration_spec(tmp_path: Path, name: str = "tiny", *, low: float = 0.0005, quantile: float = 0.5,
                     samples: int = 4) -> Path:
    """A calibration of the toy's ordinary departure rate: `samples` Sobol points x 1 replicate, 1 check run."""
    (tmp_path / "observed.csv").write_text(OBSERVED_CSV)
    path = tmp_path / "calibration.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "scenario": str(TOY), "observed": "observed.csv",
        "parameters": {"population.groups.ordinary.departure_rate": {"dist": "loguniform", "low": low,
                                                                     "high": 0.008}},
        "targets": {"arrivals": {"years": [2000, 2003]}},
        "sampling": {"design": "sobol", "samples": samples, "replicates": 1, "seed": 1},
        "accept": {"quantile": quantile},
        "check": {"replicates": 1},
    }, sort_keys=False))
    return path


def calibrate_cli(spec: Path, out: Path | None, *extra: str) -> int:
    return main(["calibrate", str(spec), *(["--out", str(out)] if out else []), "--workers", "1", "--quiet",
                 *extra])


@pytest.mark.parametrize("force", [False, True])
def test_calibrate_refuses_a_directory_it_did_not_make_and_touches_nothing(tmp_path, capsys, force):
    spec = calibration_spec(tmp_path)
    out = user_dir(tmp_path / "thesis", {"ch1.tex": "chapter 1", "base.yaml": "my own base\n",
                                         "check/notes.txt": "keep me", "sweep_round2/data.csv": "1,2,3\n",
                                         "sweep/x.txt": "x"})
    before = snapshot(out)
    assert calibrate_cli(spec, out, *(["--force"] if force else [])) == 2
    assert "not made by bordersim" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("inner", ["check", "sweep_round2", "sweep"])
def test_calibrate_refuses_foreign_content_inside_its_own_directory(tmp_path, capsys, force, inner):
    """OUT is a calibration directory, but OUT/<inner> is not a sweep directory bordersim made: refused before any
    run, with or without --force, and nothing is deleted."""
    spec = calibration_spec(tmp_path)
    out = user_dir(tmp_path / "out", {f"{inner}/notes.txt": "keep me", "base.yaml": "# an old base\n"})
    write_marker(out, "calibration")
    before = snapshot(out)
    assert calibrate_cli(spec, out, *(["--force"] if force else [])) == 2
    err = capsys.readouterr().err
    assert f"{inner}: exists and was not made by bordersim as a sweep directory" in err
    assert snapshot(out) == before


def test_calibration_directories_carry_markers_a_stale_design_is_refused_and_derived_sweeps_replaced(tmp_path,
                                                                                                   capsys):
    spec = calibration_spec(tmp_path)
    out = tmp_path / "out"
    assert calibrate_cli(spec, out) == 0
    assert marker_kind(out) == "calibration"
    assert all(marker_kind(out / d) == "sweep" for d in ("sweep", "check"))
    (out / "my_notes.txt").write_text("mine")
    # The prior changes: round 1's runs are of another design. Without --force nothing is written.
    spec = calibration_spec(tmp_path, low=0.0006)
    before = snapshot(out)
    assert calibrate_cli(spec, out) == 2
    assert "holds results of a different spec" in capsys.readouterr().err
    assert snapshot(out) == before
    # With --force round 1 is replaced (a bordersim sweep directory), and the user's file next to it stays.
    old_records = sorted(p.name for p in (out / "sweep" / "runs").iterdir())
    assert calibrate_cli(spec, out, "--force") == 0
    assert (out / "my_notes.txt").read_text() == "mine"
    assert marker_kind(out / "sweep") == "sweep" and len(old_records) == 4
    assert yaml.safe_load((out / "sweep_spec.yaml").read_text())["parameters"][
        "population.groups.ordinary.departure_rate"]["low"] == 0.0006
    # The spec written for the record runs the same sweep: `bordersim sweep` on it resumes, runs nothing new.
    from sim.experiments.sweep import plan

    manifest = yaml.safe_load((out / "sweep" / "sweep.json").read_text())
    assert plan(out / "sweep_spec.yaml").spec.fingerprint() == manifest["fingerprint"]
    # Another acceptance changes the candidates: the check (a sweep directory the calibration made) is replaced
    # without --force; round 1 is kept.
    records = {p: p.stat().st_mtime_ns for p in (out / "sweep" / "runs").glob("*.json")}
    check = yaml.safe_load((out / "check_spec.yaml").read_text())["parameters"]
    spec = calibration_spec(tmp_path, low=0.0006, quantile=0.25)
    assert calibrate_cli(spec, out) == 0
    assert yaml.safe_load((out / "check_spec.yaml").read_text())["parameters"] != check
    assert {p: p.stat().st_mtime_ns for p in (out / "sweep" / "runs").glob("*.json")} == records
    assert marker_kind(out / "check") == "sweep" and (out / "my_notes.txt").read_text() == "mine"


# ----------------------------------------------------------------------------------------------- sensitivity


def one_route(tmp_path: Path) -> Path:
    """Everyone sets out in the first month over a river ford (3 months: fast runs); a sea route nobody may use."""
    path = tmp_path / "one_route.yaml"
    path.write_text(yaml.safe_dump(scenario_dict(
        nodes=[node("home", "origin"), node("south", "destination")],
        edges=[edge("ford", "home", "south", "river", route="river", controls={"guards": 0.3, "fence": 0.2}),
               edge("boat", "home", "south", "sea", route="sea", controls={"patrol": 0.5})],
        groups=[group(modes=["river"])], size=2000, start="2000-01", end="2000-03",
        hazards={"block": {"fence": 1.0}, "kill": {}, "detect": {"guards": 2.0, "patrol": 2.0},
                 "shot_kill_probability": 0.0}), sort_keys=False))
    return path


def sensitivity_spec(tmp_path: Path, name: str = "known", samples: int = 4, replicates: int = 2) -> Path:
    one_route(tmp_path)
    path = tmp_path / "sensitivity.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "scenario": "one_route.yaml",
        "parameters": {"network.edges.ford.controls.guards": {"low": 0.0, "high": 1.0, "label": "guards"},
                       "network.edges.ford.controls.fence": {"low": 0.0, "high": 0.5, "label": "fence"},
                       "network.edges.boat.controls.patrol": {"low": 0.0, "high": 1.0, "label": "sea_patrol"}},
        "outcomes": {"arrivals": "arrived", "caught": "caught"},
        "morris": {"trajectories": 2, "levels": 4},
        "sobol": {"samples": samples},
        "replicates": replicates, "seed": 5, "seed_bootstrap": 20,
    }, sort_keys=False))
    return path


def sensitivity_cli(spec: Path, out: Path | None, method: str, *extra: str) -> int:
    return main(["sensitivity", str(spec), "--method", method, *(["--out", str(out)] if out else []),
                 "--workers", "1", "--quiet", *extra])


@pytest.mark.parametrize("force", [False, True])
def test_sensitivity_refuses_a_directory_it_did_not_make_and_touches_nothing(tmp_path, capsys, force):
    spec = sensitivity_spec(tmp_path)
    out = user_dir(tmp_path / "mine", {"experiment.yaml": "my experiment\n", "sweep/runs/data.json": "{}",
                                       "paper.tex": "text"})
    before = snapshot(out)
    assert sensitivity_cli(spec, out, "morris", *(["--force"] if force else [])) == 2
    assert "not made by bordersim" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("force", [False, True])
def test_sensitivity_refuses_a_foreign_sweep_inside_its_own_directory(tmp_path, capsys, force):
    spec = sensitivity_spec(tmp_path)
    out = user_dir(tmp_path / "out", {"experiment.yaml": "# an older design\n", "sweep/notes.txt": "keep me"})
    write_marker(out, "sensitivity")
    before = snapshot(out)
    assert sensitivity_cli(spec, out, "morris", *(["--force"] if force else [])) == 2
    assert "sweep: exists and was not made by bordersim as a sweep directory" in capsys.readouterr().err
    assert snapshot(out) == before


def test_sensitivity_refuses_another_design_before_writing_and_replaces_it_with_force(tmp_path, capsys):
    spec = sensitivity_spec(tmp_path, replicates=1)
    out = tmp_path / "out"
    assert sensitivity_cli(spec, tmp_path / "new" / ".." / "out", "morris") == 0  # names OUT: 'new' is not made
    assert not (tmp_path / "new").exists()
    assert marker_kind(out) == "sensitivity" and marker_kind(out / "sweep") == "sweep"
    assert main(["plot", str(out), "--format", "svg"]) == 0  # the Morris figures in SVG too (they stayed: a probe)
    before = snapshot(out)
    assert sensitivity_cli(spec, out, "sobol") == 2  # another design into the same directory
    assert "holds results of a different spec" in capsys.readouterr().err
    assert snapshot(out) == before
    assert sensitivity_cli(spec, out, "sobol", "--force") == 0
    assert yaml.safe_load((out / "experiment.yaml").read_text())["name"] == "known_sobol"
    assert marker_kind(out / "sweep") == "sweep"
    assert pd.read_csv(out / "indices.csv")["method"].eq("sobol").all()
    # the Morris figures went with the Morris results they described (they stayed beside Sobol's indices)
    assert sorted(p.name for p in (out / "figures").iterdir() if not p.name.startswith(".")) == [
        "sobol.png", "sobol_overview.png"]


# ----------------------------------------------------------------------------------------------------- names


BAD_NAMES = ["/", "../..", "a/b", "..", ".hidden", "", "x" * 81, "tiny\n"]  # a final newline passed "$" (a probe)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_calibration_names_must_be_safe_path_components(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    spec = calibration_spec(tmp_path, name=name)
    with pytest.raises(ScenarioError) as err:
        load_calibration(spec)
    assert err.value.key == "name"
    before = snapshot(tmp_path)
    assert calibrate_cli(spec, None, "--force") == 2
    assert "key 'name'" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", BAD_NAMES)
def test_sensitivity_names_must_be_safe_path_components(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    spec = sensitivity_spec(tmp_path, name=name)
    with pytest.raises(ScenarioError) as err:
        sa_spec.load_sensitivity(spec)
    assert err.value.key == "name"
    before = snapshot(tmp_path)
    assert sensitivity_cli(spec, None, "morris", "--force") == 2
    assert snapshot(tmp_path) == before


def test_names_leave_room_for_the_suffixes_their_directories_get(tmp_path):
    """A calibration's sweeps are named <name>-sweep_round2, a sensitivity's default directory <name>-<method>:
    a name is refused when those would not be safe names, not after the runs."""
    with pytest.raises(ScenarioError, match="at most 67 characters"):
        load_calibration(calibration_spec(tmp_path, name="c" * 68))
    assert load_calibration(calibration_spec(tmp_path, name="c" * 67)).spec.name == "c" * 67
    with pytest.raises(ScenarioError, match="use 1 to 67 characters"):  # a bad name is told the same limit
        load_calibration(calibration_spec(tmp_path, name="c/d"))
    with pytest.raises(ScenarioError, match="at most 73 characters"):
        sa_spec.load_sensitivity(sensitivity_spec(tmp_path, name="s" * 74))
    assert sa_spec.load_sensitivity(sensitivity_spec(tmp_path, name="s" * 73)).spec.name == "s" * 73


def test_default_output_directories_are_results_name(tmp_path, monkeypatch, capsys):
    """Without --out, results/<name> (calibration) and results/<name>-<method> (sensitivity), under the rule: a
    directory of the user's there is refused before anything runs."""
    monkeypatch.chdir(tmp_path)
    user_dir(tmp_path / "results" / "tiny", {"mine.txt": "x"})
    user_dir(tmp_path / "results" / "known-morris", {"mine.txt": "x"})
    before = snapshot(tmp_path / "results")
    assert calibrate_cli(calibration_spec(tmp_path, name="tiny"), None) == 2
    assert "results/tiny: exists and was not made by bordersim" in capsys.readouterr().err
    assert sensitivity_cli(sensitivity_spec(tmp_path, name="known"), None, "morris") == 2
    assert "results/known-morris: exists and was not made by bordersim" in capsys.readouterr().err
    assert snapshot(tmp_path / "results") == before


# --------------------------------------------------------------------------------------- --write-scenario


def test_write_scenario_to_a_directory_fails_at_once_with_exit_2(tmp_path, capsys):
    spec = calibration_spec(tmp_path)
    out = tmp_path / "out"
    target = tmp_path / "scenarios"
    target.mkdir()
    assert calibrate_cli(spec, out, "--write-scenario", str(target)) == 2
    assert "names a directory" in capsys.readouterr().err
    assert not out.exists()  # nothing ran: the runs would have made OUT


def test_write_scenario_target_rules(tmp_path):
    from sim.analysis.calibration.scenario_file import check_scenario_target

    base = tmp_path / "toy.yaml"
    base.write_text(TOY.read_text())
    assert check_scenario_target(tmp_path / "new.yaml", base) == tmp_path / "new.yaml"
    assert check_scenario_target(base, base) == base.resolve()  # the base itself is updated in place
    earlier = tmp_path / "calibrated.yaml"
    write_scenario(earlier, base, {"seed": 3}, ["an earlier calibration"])
    assert check_scenario_target(earlier, base) == earlier.resolve()  # an earlier calibration's output
    # a copy of it, or of korea.yaml (which carries a provenance block), changed since is someone's work (a probe:
    # an edited copy of korea.yaml was replaced by the toy scenario); so is a block of an earlier version
    korea = (ROOT / "scenarios" / "korea.yaml").read_text()
    for text, why in ((earlier.read_text() + "# my notes\n", "has been changed since"),
                      (earlier.read_text().replace("seed: 3", "seed: 4"), "has been changed since"),
                      (korea, "of an earlier version of bordersim"),
                      (PROVENANCE_START + "\n# ...\n" + TOY.read_text(), "neither the base scenario")):
        copy = tmp_path / "copy.yaml"
        copy.write_text(text)
        with pytest.raises(UsageError, match=why):
            check_scenario_target(copy, base)
    foreign = tmp_path / "thesis.tex"
    foreign.write_text("chapter 1")
    with pytest.raises(UsageError, match="does not overwrite it"):
        check_scenario_target(foreign, base)
    with pytest.raises(UsageError, match="does not exist"):
        check_scenario_target(tmp_path / "missing" / "x.yaml", base)
    with pytest.raises(UsageError, match="names a directory"):
        check_scenario_target(tmp_path, base)


def test_write_scenario_onto_a_foreign_file_is_refused_before_any_run(tmp_path, capsys):
    spec = calibration_spec(tmp_path)
    foreign = tmp_path / "notes.yaml"
    foreign.write_text("my notes: keep\n")
    assert calibrate_cli(spec, tmp_path / "out", "--write-scenario", str(foreign)) == 2
    assert foreign.read_text() == "my notes: keep\n" and not (tmp_path / "out").exists()
    assert "does not overwrite it" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------- Sobol warnings


def row(s1: float, s1_conf: float, st: float, st_conf: float, s1_seed: float = float("nan"),
        st_seed: float = float("nan")) -> dict:
    return {"S1": s1, "S1_conf": s1_conf, "ST": st, "ST_conf": st_conf, "S1_seed_conf": s1_seed,
            "ST_seed_conf": st_seed}


def test_sobol_problems_on_synthetic_indices():
    assert sa_indices.sobol_problems(row(0.30, 0.05, 0.40, 0.05)) == []  # resolved
    assert sa_indices.sobol_problems(row(0.0, 0.0, 0.0, 0.0)) == []  # a parameter without effect: exact zeros
    nan = float("nan")
    assert sa_indices.sobol_problems(row(nan, nan, nan, nan)) == []  # constant outcome
    wide = sa_indices.sobol_problems(row(0.40, 0.10, 1.29, 1.33))  # the ST 1.29 +- 1.33
    assert wide == ["ST = 1.29 ± 1.3: interval wider than the index"]
    assert sa_indices.sobol_problems(row(0.90, 0.05, 0.50, 0.05)) == [
        "S1 = 0.9 ± 0.05 exceeds ST = 0.5 ± 0.05 beyond their intervals"]
    assert sa_indices.sobol_problems(row(0.5, 0.1, 1.3, 0.1)) == ["ST = 1.3 ± 0.1: outside [0, 1] beyond its interval"]
    assert sa_indices.sobol_problems(row(-0.2, 0.05, 0.3, 0.05)) == [
        "S1 = -0.2 ± 0.05: outside [0, 1] beyond its interval"]
    # The seed interval counts: the design interval 0.03 alone resolves S1 = 0.05, with +-0.05 for seeds not.
    assert sa_indices.sobol_problems(row(0.05, 0.03, 0.3, 0.01)) == []
    assert sa_indices.sobol_problems(row(0.05, 0.03, 0.3, 0.01, s1_seed=0.05, st_seed=0.01)) == [
        "S1 = 0.05 ± 0.058: interval wider than the index"]
    # An index whose whole interval lies within +-0.05 is resolved as negligible, whatever its sign...
    assert sa_indices.sobol_problems(row(0.001, 0.004, 0.002, 0.003)) == []
    assert sa_indices.sobol_problems(row(-0.003, 0.002, 0.0001, 0.0)) == []
    # ... but not one whose interval reaches further.
    assert sa_indices.sobol_problems(row(0.03, 0.04, 0.2, 0.05)) == ["S1 = 0.03 ± 0.04: interval wider than the index"]
    # Overlapping intervals: S1 above ST within the noise is no warning.
    assert sa_indices.sobol_problems(row(0.52, 0.05, 0.50, 0.05)) == []
    table = pd.DataFrame([{"method": "sobol", "outcome": "arrivals", "label": "a", "warning": ""},
                          {"method": "sobol", "outcome": "arrivals", "label": "b", "warning": "ST = 2 ± 1: x"},
                          {"method": "sobol", "outcome": "deaths", "label": "a", "warning": ""}])
    (w,) = sa_indices.index_warnings(table)
    assert "outcome arrivals" in w and "b: ST = 2 ± 1: x" in w and "sobol.samples" in w


def test_a_small_sobol_sample_warns_in_the_command_and_the_results(tmp_path, capsys):
    spec = sensitivity_spec(tmp_path, samples=2, replicates=1)
    out = tmp_path / "small"
    assert sensitivity_cli(spec, out, "sobol") == 0
    err = capsys.readouterr().err
    assert "warning: sobol indices of outcome arrivals not resolved by this design" in err
    indices = pd.read_csv(out / "indices.csv", keep_default_na=False)
    assert (indices["warning"] != "").any()
    assert "warning: sobol indices of outcome" in (out / "ranking.txt").read_text()


@pytest.mark.slow
def test_the_shipped_toy_sobol_spec_resolves_every_index(tmp_path):
    """The shipped Sobol spec, experiments/toy_sobol.yaml (5,120 runs, 5-25 minutes on 2 workers): every interval
    is narrower than its index, S1 <= ST and every index within [0, 1] up to the intervals (docs/sensitivity.md,
    "Toy specs and timings")."""
    res = sa_run.run_sensitivity(ROOT / "experiments" / "toy_sobol.yaml", "sobol", tmp_path / "toy", workers=2)
    assert res.warnings == [], "\n".join(res.warnings)
    assert (res.indices["warning"] == "").all()


# how every report bordersim writes begins (sim.plots.report): what `is_bordersim_report` looks for
A_REPORTS_HEAD = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                  "<meta name=\"generator\" content=\"bordersim\">")


# ------------------------------------------------------------------------ bad input found by the sweep engine
def _analysis_command(kind: str, tmp_path: Path) -> list[str]:
    if kind == "calibrate":
        return ["calibrate", str(calibration_spec(tmp_path))]
    if kind == "sensitivity":
        return ["sensitivity", str(sensitivity_spec(tmp_path)), "--method", "morris"]
    return [kind, str(ROOT / "experiments" / f"toy_{'effects' if kind == 'effects' else 'discover'}.yaml")]


@pytest.mark.parametrize("kind", ["calibrate", "sensitivity", "effects", "discover"])
@pytest.mark.parametrize("out_was", ["absent", "an empty directory", "absent, and its parents"])
def test_bad_input_the_sweep_engine_finds_leaves_no_new_analysis_directory(tmp_path, capsys, kind, out_was):
    """The scheduler address is checked by the sweep engine, after the analysis made OUT and wrote its marker,
    base scenario and spec: those are removed again (OUT too when the command made it, and the parents it made for
    it, which were left behind (a probe); an empty directory the user made stays), so that a refused command leaves
    what was there before."""
    command = _analysis_command(kind, tmp_path)
    out = tmp_path / ("new/deeper/out" if out_was == "absent, and its parents" else "out")
    if out_was == "an empty directory":
        out.mkdir()
    before = snapshot(tmp_path)
    assert main([*command, "--out", str(out), "--workers", "1", "--quiet", "--scheduler", "garbage"]) == 2
    err = capsys.readouterr().err
    assert "'garbage' is not a scheduler address" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("kind", ["calibrate", "sensitivity", "effects", "discover"])
def test_a_second_command_on_an_analysis_directory_in_use_is_refused_before_it_writes(tmp_path, capsys, kind,
                                                                                       force):
    """While one command works in OUT (it holds OUT/.lock), another on OUT, with another design, is refused at
    once and writes nothing: not OUT's base scenario or spec, which the first one's results are of."""
    from sim.outputs import lock_dir, unlock_dir

    command = _analysis_command(kind, tmp_path)
    out = user_dir(tmp_path / "out", {"base.yaml": "# the running command's base\n",
                                      "experiment.yaml": "# the running command's design\n",
                                      "sweep_spec.yaml": "# the running command's design\n"})
    write_marker(out, {"calibrate": "calibration", "discover": "discovery"}.get(kind, kind))
    fd = lock_dir(out, "test")  # the command at work in OUT
    try:
        before = snapshot(tmp_path)
        assert main([*command, "--out", str(out), "--workers", "1", "--quiet", *(["--force"] if force else [])]) == 2
        err = capsys.readouterr().err
        assert "is writing to this directory" in err and f"pid {os.getpid()}" in err and "Traceback" not in err
        assert snapshot(tmp_path) == before
        # refused before the spec is read (which took 2-4.5 s): a spec that is not YAML is not even noticed
        unread = tmp_path / "unread_spec.yaml"
        unread.write_text("name: [unclosed\n")
        assert main([command[0], str(unread), *command[2:], "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "is writing to this directory" in err and "unread_spec" not in err, err
    finally:
        unlock_dir(fd)


@pytest.mark.parametrize("kind, figure", [("calibrate", "posterior_pairs.png"), ("sensitivity", "morris.png"),
                                          ("effects", "effects.png"), ("discover", "peeling.png")])
def test_a_file_of_the_users_where_an_analysis_draws_is_refused_before_its_runs(tmp_path, capsys, kind, figure):
    """It was found only when the figures were drawn, after every run and table (and then refused, since
    63ddd7a): docs/outputs.md promises the check before the first run."""
    command = _analysis_command(kind, tmp_path)
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    write_marker(out, {"calibrate": "calibration", "discover": "discovery"}.get(kind, kind))
    (out / "figures" / figure).write_text("my own figure")
    before = snapshot(tmp_path)
    assert main([*command, "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'figures' / figure}: exists and is not a figure bordersim wrote" in err, err
    assert snapshot(tmp_path) == before, "no run, no table"

@pytest.mark.parametrize("case", ["resumed", "holds a sweep", "holds a file of the user's"])
def test_what_bad_input_undoes_is_only_what_the_command_wrote_in_a_new_directory(tmp_path, case):
    """`undone_on_bad_input` keeps a resumed directory (`existed`), one in which a sweep directory was made, and
    anything it did not write."""
    from sim.analysis.dirs import AnalysisDir, undone_on_bad_input

    out = tmp_path / "out"
    existed = case == "resumed"
    if existed:
        out.mkdir()
        write_marker(out, "sensitivity")
    claim = AnalysisDir(out, "sensitivity", existed).__enter__()
    claim.make()
    (out / "experiment.yaml").write_text("written by the command\n")
    if case == "holds a sweep":
        (out / "sweep").mkdir()
    if case == "holds a file of the user's":
        (out / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    with pytest.raises(UsageError), undone_on_bad_input(claim, ["experiment.yaml"]):
        raise UsageError("bad input")
    claim.release()
    after = snapshot(tmp_path)
    lock = str((out / ".lock").relative_to(tmp_path.parent))
    if case == "holds a file of the user's":  # the command's files go, the user's file and so the directory stay
        assert after == {k: v for k, v in before.items()
                         if not k.endswith(("experiment.yaml", ".bordersim")) and k != lock}
    else:  # all kept; the lock file no longer names a holder
        assert after == {**before, lock: b""}


@pytest.mark.parametrize("kind", ["sensitivity", "discover"])
def test_a_design_over_the_run_limit_is_refused_before_its_sample_is_drawn(tmp_path, capsys, kind):
    """2^20 Sobol samples x (2 + 2) points: 4,194,304 runs, over MAX_RUNS; a discovery of 1,000,000 samples x 5
    replicates. Refused in the dry run and in the run, from the count, with nothing written."""
    if kind == "sensitivity":
        path = sensitivity_spec(tmp_path, samples=2**20, replicates=1)
        command = ["sensitivity", str(path), "--method", "sobol"]
    else:
        spec = yaml.safe_load((ROOT / "experiments" / "toy_discover.yaml").read_text())
        spec.update(scenario=str(TOY), design={"type": "lhs", "samples": 1_000_000}, replicates=5)
        path = tmp_path / "discover.yaml"
        path.write_text(yaml.safe_dump(spec))
        command = ["discover", str(path)]
    before = snapshot(tmp_path)
    for extra in (["--dry-run"], ["--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]):
        assert main([*command, *extra]) == 2
        err = capsys.readouterr().err
        assert f"{path}: this sweep has" in err and "more than the limit of 1,000,000 runs" in err
        assert snapshot(tmp_path) == before


def test_labels_and_outcome_names_cannot_name_one_column_twice(tmp_path):
    """point_means.csv holds a column per parameter path and per outcome; points.csv of a discovery one per label
    and `point`, `outcome`, `outcome_sd`, `case`: a name that would overwrite another column is refused."""
    from sim.analysis.discovery.spec import load_discovery

    path = sensitivity_spec(tmp_path)
    spec = yaml.safe_load(path.read_text())
    for outcomes, says in [({"network.edges.boat.controls.patrol": "arrived"}, "would name a column"),
                           ({"point": "arrived"}, "would name a column"), ({"a:sd": "arrived"}, "would name")]:
        path.write_text(yaml.safe_dump({**spec, "outcomes": outcomes}))
        with pytest.raises(ScenarioError, match=says) as exc:
            sa_spec.load_sensitivity(path)
        assert exc.value.key == f"outcomes.{next(iter(outcomes))}"
    params = spec["parameters"]
    path.write_text(yaml.safe_dump({**spec, "parameters": {n: {**b, "label": "x"} for n, b in params.items()}}))
    with pytest.raises(ScenarioError, match="labels must differ"):
        sa_spec.load_sensitivity(path)
    disc = yaml.safe_load((ROOT / "experiments" / "toy_discover.yaml").read_text())
    for label in ("case", "outcome", "outcome_sd", "point"):
        disc["scenario"] = str(TOY)
        disc["parameters"]["network.edges.dmz.controls.mines"]["label"] = label
        dpath = tmp_path / "discover.yaml"
        dpath.write_text(yaml.safe_dump(disc))
        with pytest.raises(ScenarioError, match=f"'{label}' names a column of points.csv") as exc:
            load_discovery(dpath)
        assert exc.value.key == "parameters.network.edges.dmz.controls.mines"


@pytest.mark.parametrize("figures", ["a link to the user's directory", "a file", "a run directory"])
def test_an_analysis_refuses_a_figures_entry_it_cannot_draw_into_before_any_run(tmp_path, capsys, figures):
    """OUT/figures is where the command draws at the end: a symbolic link, a file or a bordersim directory of
    another kind there is refused at the start (it used to be found after every run was made), and nothing is
    touched."""
    command = _analysis_command("sensitivity", tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    write_marker(out, "sensitivity")
    if figures.startswith("a link"):
        mine = user_dir(tmp_path / "mine", {"thesis.png": "my figure"})
        (out / "figures").symlink_to(mine, target_is_directory=True)
    elif figures == "a file":
        (out / "figures").write_text("mine\n")
    else:
        (out / "figures").mkdir()
        write_marker(out / "figures", "run")
    before = snapshot(tmp_path)
    assert main([*command, "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "figures: exists and is not a figures directory bordersim made" in err and "Traceback" not in err
    assert snapshot(tmp_path) == before and not (out / "sweep").exists()


# ------------------------------------------------------------------ an interrupted re-analysis is not finished
ANALYSIS_FIGURES = {"calibrate": "posterior_pairs.png", "sensitivity": "morris.png", "effects": "effects.png",
                    "discover": "peeling.png"}


def _small_analysis(kind: str, tmp_path: Path) -> list[str]:
    """The command of a small analysis of each kind (a second or two)."""
    if kind in ("calibrate", "sensitivity"):
        return _analysis_command(kind, tmp_path)
    if kind == "effects":
        spec = _spec_copy(tmp_path, "toy_effects.yaml", lambda d: d.update(replicates=2,
                                                                         fixed={"population.size": 2000}))
        return ["effects", str(spec)]
    spec = _spec_copy(tmp_path, "toy_discover.yaml", lambda d: d.update(design={"type": "lhs", "samples": 12},
                                                                        fixed={"population.size": 5000}))
    return ["discover", str(spec)]


@pytest.mark.parametrize("kind", ["calibrate", "sensitivity", "effects", "discover"])
def test_an_analysis_interrupted_while_it_writes_its_tables_reads_as_unfinished_until_it_is_run_again(
        tmp_path, capsys, monkeypatch, kind):
    """A re-analysis interrupted while it wrote its tables left a directory mixing its new tables with the earlier
    analysis's record (calibration.json, effects.json), figures and report, which `report` and `plot` took for a
    finished analysis; and the command said only 'interrupted'. Until an analysis ends, its directory now reads
    as unfinished (the earlier record, figures and report are removed when it starts changing the directory),
    the message says the runs are kept, and the same command finishes it."""
    from sim.directories import kind_of

    out = tmp_path / "out"
    command = [*_small_analysis(kind, tmp_path), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(command) == 0
    finished = kind_of(out)
    # a report as bordersim writes it (its generator tag; `bordersim report` would draw every figure again)
    (out / "report.html").write_text(A_REPORTS_HEAD)
    assert (out / "figures" / ANALYSIS_FIGURES[kind]).is_file()
    svg = out / "figures" / ANALYSIS_FIGURES[kind].replace(".png", ".svg")  # the earlier analysis's, in svg too
    assert main(["plot", str(out), "--format", "svg"]) == 0 and svg.is_file()
    capsys.readouterr()

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", interrupted)  # each analysis writes its tables as CSV at the end
        assert main(command) == 130
    err = capsys.readouterr().err
    assert err == f"interrupted: every run finished so far is kept in {out}; run the same command again to resume\n"
    with pytest.raises(UsageError, match="has not finished"):
        kind_of(out)
    assert main(["report", str(out)]) == 2 and "has not finished" in capsys.readouterr().err
    assert not (out / "report.html").exists() and not (out / "figures" / ANALYSIS_FIGURES[kind]).exists()
    assert not svg.exists()  # effects.svg and peeling.svg were left describing the earlier analysis (a probe)
    assert main(command) == 0 and kind_of(out) == finished
    assert (out / "figures" / ANALYSIS_FIGURES[kind]).is_file()


def test_a_rerun_refused_for_bad_input_leaves_a_finished_analysis_whole(tmp_path, capsys):
    """An analysis marks its directory unfinished only when it starts writing its tables: a scheduler address
    with a typo, refused by the sweep engine once the directory was claimed (a third replicate to run), leaves
    the finished analysis as it was."""
    from sim.directories import kind_of

    out = tmp_path / "out"
    assert sensitivity_cli(sensitivity_spec(tmp_path), out, "morris") == 0
    (out / "report.html").write_text(A_REPORTS_HEAD)
    before, finished = snapshot(out), kind_of(out)
    assert sensitivity_cli(sensitivity_spec(tmp_path, replicates=3), out, "morris", "--scheduler", "garbage") == 2
    assert "not a scheduler address" in capsys.readouterr().err
    assert snapshot(out) == before and kind_of(out) == finished


def test_a_calibration_refuses_a_check_holding_a_users_file_before_it_changes_anything(tmp_path, capsys):
    """OUT/check is replaced without --force when the candidates change; holding a file of the user's, it was
    refused only after round 1, when check_spec.yaml had been rewritten for candidates whose runs were never made
    (and the message spoke of a --force that was not given). It is refused before anything is written."""
    spec = calibration_spec(tmp_path)
    out = tmp_path / "out"
    assert calibrate_cli(spec, out) == 0
    (out / "check" / "notes.txt").write_text("mine")
    before = snapshot(out)
    assert calibrate_cli(calibration_spec(tmp_path, quantile=0.25), out) == 2
    err = capsys.readouterr().err
    assert (f"{out / 'check'} holds what bordersim did not write (notes.txt), which the calibration analysis "
            "replaces whenever what it is derived from changes (whether or not this run would)") in err
    assert snapshot(out) == before


def _spec_copy(tmp_path: Path, name: str, change) -> Path:
    """experiments/NAME with its scenario path made absolute, changed by `change(dict)`, written to tmp_path."""
    data = yaml.safe_load((ROOT / "experiments" / name).read_text())
    data["scenario"] = str((ROOT / "experiments" / data["scenario"]).resolve())
    change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _line_of(path: Path, key: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith(f"{key}:"))


@pytest.mark.parametrize("case", ["posterior missing", "draws over rows", "non-finite value", "refine with smc",
                                  "smc with rejection"])
def test_errors_found_after_the_schema_name_the_spec_key_and_its_line(tmp_path, case):
    """These errors named the file and key but no line (a refine with method: smc named no key either), and a
    posterior's NaN was shown as numpy's repr, np.float64(nan)."""
    from sim.analysis.effects.spec import load_effects

    posterior = tmp_path / "posterior.csv"
    posterior.write_text("population.groups.ordinary.departure_rate\n0.002\n" +
                         ("nan\n" if case == "non-finite value" else "0.003\n"))
    if case.startswith(("posterior", "draws", "non-finite")):
        path = _spec_copy(tmp_path, "toy_effects.yaml", lambda d: d.update(
            posterior=str(tmp_path / "none.csv") if case == "posterior missing" else str(posterior),
            **({"draws": 5} if case == "draws over rows" else {})))
        key = {"posterior missing": "posterior", "draws over rows": "draws"}.get(case)
        with pytest.raises(ScenarioError) as raised:
            load_effects(path)
        if key is None:  # the value is named in the posterior file, by its row and column
            message = str(raised.value)
            assert "posterior row 1 (counted from 0, as values.parquet's posterior_row) holds 'nan', not a finite " \
                   "number" in message and "np." not in message
            return
    else:
        def smc(d):
            if case == "refine with smc":
                d["refine"] = {"samples": 16}
            else:
                d.pop("method")

        path = _spec_copy(tmp_path, "korea_calibration_smc.yaml", smc)
        key = "method" if case == "refine with smc" else "smc"
        with pytest.raises(ScenarioError) as raised:
            load_calibration(path)
    # the key's line, or for a section (smc: a mapping) the line where its value starts
    assert raised.value.key == key and raised.value.line in (_line_of(path, key), _line_of(path, key) + 1), \
        str(raised.value)


def test_a_discovery_whose_condition_holds_nowhere_names_its_line_and_says_the_runs_are_kept(tmp_path, capsys):
    """The error came after the runs, naming the key but not its line, and not saying that the runs were kept."""
    path = _spec_copy(tmp_path, "toy_discover.yaml", lambda d: d.update(condition={"below": -1.0},
                                                                          design={"type": "lhs", "samples": 10}))
    out = tmp_path / "out"
    assert main(["discover", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    line = _line_of(path, "condition")  # a mapping: its key's line or the line its value starts on
    assert any(f"{path}:{n}, key 'condition': the condition holds at 0 of 10 points" in err for n in (line, line + 1))
    assert f"the 10 runs are kept in {out / 'sweep'}: run again after the change, no run is repeated" in err


def test_a_rediscovery_refused_after_its_runs_leaves_no_summary_of_the_earlier_box(tmp_path, capsys):
    """A re-run with a condition that holds nowhere removed the earlier box and trajectory but left its summary.txt
    and points.csv, which described a box the directory no longer held (a probe): every table and summary of the
    earlier analysis goes once the new one's runs start, so the directory reads as unfinished, whole."""
    small = {"design": {"type": "lhs", "samples": 10}}
    found = _spec_copy(tmp_path, "toy_discover.yaml", lambda d: d.update(small))
    out = tmp_path / "out"
    assert main(["discover", str(found), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert {"points.csv", "summary.txt", "trajectory.csv", "box.csv"} <= {p.name for p in out.iterdir()}
    (tmp_path / "again").mkdir()
    nowhere = _spec_copy(tmp_path / "again", "toy_discover.yaml",
                         lambda d: d.update(condition={"below": -1.0}, **small))
    assert main(["discover", str(nowhere), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert not {"points.csv", "summary.txt", "trajectory.csv", "box.csv"} & {p.name for p in out.iterdir()}
    capsys.readouterr()
    assert main(["report", str(out)]) == 2 and "whose analysis has not finished" in capsys.readouterr().err


def test_an_analysis_writes_the_same_files_wherever_its_spec_lies(tmp_path, capsys):
    """experiment.yaml's description held the spec's absolute path: the same spec in another folder gave other
    bytes (the runs and tables were the same)."""
    outs = []
    for where in ("a", "b/deeper"):
        (tmp_path / where).mkdir(parents=True)
        spec = sensitivity_spec(tmp_path / where)
        outs.append(tmp_path / where / "out")
        assert sensitivity_cli(spec, outs[-1], "morris") == 0
    for name in ("experiment.yaml", "indices.csv", "ranking.txt", "point_means.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_an_analysis_run_again_says_it_removed_the_report_of_the_earlier_one(tmp_path, capsys):
    """A re-run removes OUT/report.html (it described the earlier analysis) and did not say so."""
    out = tmp_path / "out"
    assert sensitivity_cli(sensitivity_spec(tmp_path), out, "morris") == 0
    assert "note:" not in capsys.readouterr().err
    (out / "report.html").write_text(A_REPORTS_HEAD)
    assert sensitivity_cli(sensitivity_spec(tmp_path), out, "morris") == 0
    assert capsys.readouterr().err == (f"note: removed {out / 'report.html'}, which described the earlier analysis; "
                                       f"`bordersim report {out}` writes it again\n")
    assert not (out / "report.html").exists()


def test_an_analysis_of_another_spec_interrupted_during_its_sweep_reads_as_unfinished(tmp_path):
    """The records of the new spec (spec.yaml, experiment.yaml) were written before its sweep, the earlier
    analysis's results removed only when the tables were written: interrupted during the sweep, OUT showed the
    new spec's provenance beside the earlier ranking, and report and plot accepted it."""
    from sim.directories import kind_of
    from sim.experiments.sweep import SweepInterrupted

    out = tmp_path / "out"
    sa_run.run_sensitivity(sensitivity_spec(tmp_path), "morris", out, workers=1)
    (out / "report.html").write_text(A_REPORTS_HEAD)
    reports = []

    def ctrl_c_after_a_new_run(done, total):  # the first report is the runs already there
        reports.append(done)
        if len(reports) > 1:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):  # a third replicate: new runs of the same design
        sa_run.run_sensitivity(sensitivity_spec(tmp_path, replicates=3), "morris", out, workers=1,
                               progress=ctrl_c_after_a_new_run)
    assert "replicates: 3" in (out / "spec.yaml").read_text()
    with pytest.raises(UsageError, match="has not finished"):
        kind_of(out)
    assert not (out / "indices.csv").exists() and not (out / "report.html").exists()


@pytest.mark.parametrize("change", ["the prior (new runs, --force)", "the accept quantile (the same runs)"])
def test_a_calibration_of_another_spec_interrupted_reads_as_unfinished(tmp_path, change):
    """A calibration removed the earlier one's results only when it wrote its own: interrupted in a sweep after
    its spec changed, OUT held the new rounds beside the old calibration.json, points.csv, figures and report, and
    `report` and `plot` presented them as finished (a probe)."""
    from sim.analysis.calibration.abc import calibrate
    from sim.directories import kind_of
    from sim.experiments.sweep import SweepInterrupted

    out = tmp_path / "out"
    assert calibrate_cli(calibration_spec(tmp_path), out) == 0  # the command draws the figures
    (out / "report.html").write_text(A_REPORTS_HEAD)
    assert kind_of(out) == "calibration" and (out / "figures" / "posterior_pairs.png").is_file()

    def ctrl_c_at_the_first_run(stage, done, total):  # the first report, before any run, is the runs already there
        if done > 0 or stage == "check":
            raise KeyboardInterrupt

    prior = change.startswith("the prior")
    spec = calibration_spec(tmp_path, low=0.001) if prior else calibration_spec(tmp_path, quantile=0.25)
    with pytest.raises(SweepInterrupted):
        calibrate(spec, out, workers=1, force=prior, progress=ctrl_c_at_the_first_run)
    with pytest.raises(UsageError, match="has not finished") as unfinished:
        kind_of(out)
    # the command it gives for the runs so far works, and writes nothing (`plot OUT/sweep` was refused: a probe)
    hinted = re.search(r"its runs so far: `bordersim (\w+) (\S+)`", str(unfinished.value))
    before = snapshot(out)
    assert hinted is not None and main([hinted[1], hinted[2]]) == 0 and snapshot(out) == before
    assert not (out / "calibration.json").exists() and not (out / "points.csv").exists()
    assert not (out / "report.html").exists() and not (out / "figures" / "posterior_pairs.png").exists()
    calibrate(spec, out, workers=1)  # the same command again finishes it
    assert kind_of(out) == "calibration"


@pytest.mark.parametrize("key", ["posterior", "observed"])
def test_a_spec_path_starting_with_a_tilde_is_refused_even_when_such_a_file_is_there(tmp_path, key):
    """'~/post.csv' in a spec was read from a directory named '~' beside the spec (one an earlier version could
    have made), not from the home directory the user meant."""
    from sim.analysis.effects.spec import load_effects

    (tmp_path / "~").mkdir()
    (tmp_path / "~" / "data.csv").write_text("population.groups.ordinary.departure_rate\n0.002\n")
    if key == "posterior":
        path = _spec_copy(tmp_path, "toy_effects.yaml", lambda d: d.update(posterior="~/data.csv"))
        load = load_effects
    else:
        path = _spec_copy(tmp_path, "korea_calibration.yaml", lambda d: d.update(observed="~/data.csv"))
        load = load_calibration
    with pytest.raises(ScenarioError, match="'~/data.csv' starts with '~', which is not expanded in a spec") as raised:
        load(path)
    assert raised.value.key == key and raised.value.line == _line_of(path, key)


def test_a_ctrl_c_while_an_analysis_releases_its_directory_says_the_runs_are_kept(tmp_path, capsys, monkeypatch):
    """A Ctrl-C landing as the analysis released OUT's lock, its tables written, printed a bare 'interrupted' (a
    probe): it says what any other Ctrl-C of an analysis says."""
    import signal

    from sim.analysis import dirs

    real_unlock = dirs.unlock_dir

    def unlock(fd):
        real_unlock(fd)
        os.kill(os.getpid(), signal.SIGINT)  # its handler would run at the next line: still inside the release

    monkeypatch.setattr(dirs, "unlock_dir", unlock)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # a suite run in the background ignores SIGINT
    try:
        out = tmp_path / "out"
        rc = sensitivity_cli(sensitivity_spec(tmp_path), out, "morris")
    finally:
        signal.signal(signal.SIGINT, old)
    err = capsys.readouterr().err
    assert rc == 130 and f"interrupted: every run finished so far is kept in {out}" in err, err


EDITED_RESULT = {"calibrate": "posterior_table.md", "sensitivity": "ranking.txt", "effects": "effects.csv",
                 "discover": "summary.txt"}


@pytest.mark.parametrize("kind", ["calibrate", "sensitivity", "effects", "discover"])
def test_a_file_of_the_users_named_as_a_result_is_neither_removed_nor_replaced(tmp_path, capsys, kind):
    """A re-run removed every file named as one of its kind's results: holdout.csv and generations.csv of the
    user's, in a calibration that writes neither, were deleted (a probe), and a result the user had edited was
    replaced. Only the results an analysis left as it wrote them (OUT/.bordersim-results.json) are; anything else
    is refused before any run, exit 2, and kept."""
    out = tmp_path / "out"
    command = [*_small_analysis(kind, tmp_path), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(command) == 0
    edited = out / EDITED_RESULT[kind]
    kept = edited.read_bytes()
    cases = [(edited, kept + b"my notes\n")]
    if kind == "calibrate":
        cases += [(out / name, b"mine\n") for name in ("holdout.csv", "generations.csv")]
    for path, mine in cases:
        existed = path.exists()
        path.write_bytes(mine)
        capsys.readouterr()
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{out}: {path.name} is not among the results the earlier" in err and "Traceback" not in err, err
        assert path.read_bytes() == mine
        if existed:
            path.write_bytes(kept)
        else:
            path.unlink()
    record = out / ".bordersim-results.json"
    record.write_text('{"writing": false, "results": {')  # damaged: it was taken as no record (a review)
    assert main(command) == 2 and "cannot be read as the record" in capsys.readouterr().err
    record.unlink()  # a directory there failed the analysis at its very end (a review)
    record.mkdir()
    assert main(command) == 2 and "is not the record bordersim keeps there" in capsys.readouterr().err
    record.rmdir()
    assert main(command) == 0, capsys.readouterr().err
    assert edited.read_bytes() == kept


@pytest.mark.parametrize("kind", ["sensitivity", "effects", "discover"])
def test_a_dry_run_checks_the_output_place_as_the_run_does_and_says_what_it_would_do(tmp_path, capsys, kind,
                                                                                      monkeypatch):
    """An analysis's --dry-run printed the design's size but never looked at --out: a directory of the user's
    there passed, and the run was then refused (a probe). It makes the run's checks, writes nothing, and says
    what the run would do (new, resumed, or its sweep replaced with --force), as `sweep --dry-run` does."""
    command = _small_analysis(kind, tmp_path) + (["--method", "morris"] if kind == "sensitivity" else [])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert main([*command, "--out", str(mine), "--dry-run"]) == 2
    assert "was not made by bordersim" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main([*command, "--out", str(out), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"output: {out} (new)"
    # a scheduler address of the wrong form, and (a review) an OUT another command holds, are refused as by the run
    assert main([*command, "--out", str(out), "--dry-run", "--scheduler", "garbage"]) == 2
    assert "is not a scheduler address" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    from sim.outputs import lock_dir, unlock_dir

    out.mkdir()
    write_marker(out, "discovery" if kind == "discover" else kind)
    held = lock_dir(out, "test")
    try:
        assert main([*command, "--out", str(out), "--dry-run"]) == 2
        assert "another command is writing" in capsys.readouterr().err
    finally:
        unlock_dir(held)
    shutil.rmtree(out)
    if kind == "discover":  # the run refuses a missing extra before its first run: so does the dry run
        from sim.analysis.discovery import boxes

        monkeypatch.setattr(boxes, "installed", lambda name: False)
        assert main([*command, "--out", str(out), "--dry-run"]) == 2
        assert "bordersim[discovery]" in capsys.readouterr().err
    if kind != "effects":
        return
    assert main([*command, "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert main([*command, "--out", str(out), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"output: {out} (resumed: its finished runs are kept)"
    (tmp_path / "other").mkdir()
    other = [*command[:-1], str(_spec_copy(tmp_path / "other", "toy_effects.yaml", lambda d: d.update(
        replicates=2, fixed={"population.size": 2500})))]  # another design
    assert main([*other, "--out", str(out), "--dry-run"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main([*other, "--out", str(out), "--dry-run", "--force"]) == 0
    assert "its sweep replaced (--force)" in capsys.readouterr().out


# `python -c KILLED SPEC OUT`: the effects analysis of SPEC into OUT, killed (SIGKILL, no exit handler runs) once
# its first table, effects.csv, is in place.
KILLED = """
import os, signal, sys
from sim.cli import main
real = os.replace
def replace_then_killed(src, dst, *args, **kwargs):
    real(src, dst, *args, **kwargs)
    if os.path.basename(dst) == "effects.csv":
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace_then_killed
main(["effects", sys.argv[1], "--out", sys.argv[2], "--workers", "1", "--quiet", "--force"])
"""


def test_an_analysis_killed_while_it_writes_its_tables_is_finished_by_the_same_command(tmp_path, capsys):
    """The record of an analysis's results was written when the command ended: killed while it wrote its tables,
    it left them beside the earlier analysis's record, and the same command then refused them as files of the
    user's, one per attempt (a review). The record says an analysis is writing from the moment it starts to, and
    names each table as it is written: a file of the user's put afterwards under the name of a table the killed
    command had not written was then taken as bordersim's and replaced; it is refused and kept."""
    out = tmp_path / "out"
    assert main([*_small_analysis("effects", tmp_path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    (tmp_path / "other").mkdir()
    other = _spec_copy(tmp_path / "other", "toy_effects.yaml", lambda d: d.update(
        replicates=2, fixed={"population.size": 2500}))
    killed = subprocess.run([sys.executable, "-c", KILLED, str(other), str(out)], cwd=ROOT, capture_output=True)
    assert killed.returncode == -signal.SIGKILL and (out / "effects.csv").is_file(), killed.stderr
    assert not (out / "values.parquet").exists()
    (out / "values.parquet").write_text("the user's\n")
    capsys.readouterr()
    command = ["effects", str(other), "--out", str(out), "--workers", "1", "--quiet", "--force"]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "values.parquet is not among the results" in err and "effects.csv" not in err, err
    assert (out / "values.parquet").read_text() == "the user's\n"
    (out / "values.parquet").unlink()
    assert main(command) == 0, capsys.readouterr().err


def test_a_calibration_refused_by_a_later_round_for_bad_input_leaves_the_earlier_one_whole(tmp_path, capsys):
    """Round 1 already finished, a re-calibration with another accept quantile removed the earlier calibration's
    tables at the start of its rounds, and an unreachable scheduler, found only by its check round, outside the
    undo of bad input, then ended it with exit 2 and the tables gone (a review). Every round is undone now."""
    import socket

    import dask

    out = tmp_path / "out"
    assert calibrate_cli(calibration_spec(tmp_path), out) == 0
    before = snapshot(out)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    capsys.readouterr()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert calibrate_cli(calibration_spec(tmp_path, quantile=0.75), out, "--scheduler",
                             f"tcp://127.0.0.1:{port}") == 2
    assert "scheduler" in capsys.readouterr().err
    after = snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith(("sweep", "check"))} == \
        {k: v for k, v in before.items() if not k.startswith(("sweep", "check"))}


def test_a_file_of_the_users_that_appears_during_the_runs_is_neither_removed_nor_recorded(tmp_path):
    """The check of files named as results was made when OUT was claimed: one that appeared during the runs was
    removed with the earlier tables (a review). It is refused when the tables are to be written, kept, and not
    recorded as bordersim's; the same command then finishes the analysis once it is moved away."""
    from sim.analysis.calibration.abc import calibrate

    out = tmp_path / "out"
    assert calibrate_cli(calibration_spec(tmp_path), out) == 0
    mine = out / "holdout.csv"  # a name this calibration writes no file under

    def a_file_appears(stage, done, total):
        if stage == "check" and done == total:
            mine.write_text("mine\n")

    spec = calibration_spec(tmp_path, quantile=0.75)
    with pytest.raises(UsageError, match="holdout.csv appeared while this calibration analysis ran"):
        calibrate(spec, out, workers=1, progress=a_file_appears)
    assert mine.read_text() == "mine\n"
    assert "holdout.csv" not in (out / ".bordersim-results.json").read_text()
    mine.unlink()
    assert calibrate_cli(spec, out) == 0
