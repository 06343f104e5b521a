"""`bordersim compare A B`: the numbers of each block equal those computed by hand from the two sides' files; paired
intervals over shared seeds, Welch intervals otherwise, none for single runs; fairness warnings (--strict: exit 2);
directories bordersim did not make are refused, and --out writes only a new directory of its own."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TOY, seed
from scipy import stats
from sweep_helpers import call_main

from sim.cli.main import main
from sim.outcomes import TOTAL_KEYS
from sim.provenance import code_sha256, stamp

SMALL = "population.size=3000"
PATROL = "network.edges.boat.controls.patrol"  # the sea route's boat: raised, its arrivals fall


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three toy runs with the same seed: A as is, B with the sea patrol raised, C with a shorter horizon."""
    root = tmp_path_factory.mktemp("compare_runs")
    sets = {"a": [], "b": ["--set", f"{PATROL}=1.0"], "c": ["--set", "time.end=2003-12"]}
    for name, extra in sets.items():
        rc = main(["run", str(TOY), "--out", str(root / name), "--seed", str(seed(1)), "--engine", "arrays",
                   "--set", SMALL, *extra])
        assert rc == 0
    return {name: root / name for name in sets}


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """Tiny sweeps of 3 replicates: `low` and `high` (sea patrol 0.2 and 1.0) share their seeds; `other` is `high`
    with another spec seed; `two` holds both patrol values as two points of a policies design (`low`, `high`)."""
    root = tmp_path_factory.mktemp("compare_sweeps")
    policies = f"design:\n  type: policies\n  policies:\n    low: {{{PATROL}: 0.2}}\n    high: {{{PATROL}: 1.0}}\n"
    specs = {"low": (f"  {PATROL}: [0.2]\n", seed(2)), "high": (f"  {PATROL}: [1.0]\n", seed(2)),
             "other": (f"  {PATROL}: [1.0]\n", seed(3) + 1000), "two": (policies, seed(2))}
    for name, (text, spec_seed) in specs.items():
        spec = root / f"{name}.yaml"
        parameters, design = (text, "") if text.startswith("  ") else ("", text)
        spec.write_text(f"name: {name}\nscenario: {TOY}\nparameters:\n{parameters}  population.size: [2000]\n"
                        f"{design}replicates: 3\nseed: {spec_seed}\n")
        assert main(["sweep", str(spec), "--out", str(root / name), "--workers", "1", "--quiet"]) == 0
    return {name: root / name for name in specs}


def _compare(capsys, tmp_path, *args) -> tuple[object, dict[str, pd.DataFrame], dict]:
    out = tmp_path / "cmp"
    res = call_main(capsys, "compare", *args, "--out", out)
    assert res.returncode == 0, res.stderr
    tables = {b: pd.read_csv(out / f"{b}.csv", keep_default_na=True) for b in ("totals", "by_route", "by_group",
                                                                                "by_year")}
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["made_by"] == stamp()
    return res, tables, meta


def fresh(tmp_path: Path, i: int) -> Path:
    """A new directory for one more comparison of a test (each writes DIR/cmp)."""
    (tmp_path / str(i)).mkdir()
    return tmp_path / str(i)


def _row(table: pd.DataFrame, outcome: str, **key) -> pd.Series:
    sel = table["outcome"] == outcome
    for k, v in key.items():
        sel &= table[k].astype(str) == str(v)
    assert sel.sum() == 1, (outcome, key)
    return table[sel].iloc[0]


def test_two_runs_each_block_equals_the_summaries_by_hand(runs, capsys, tmp_path):
    res, tables, meta = _compare(capsys, tmp_path, runs["a"], runs["b"])
    sa, sb = (json.loads((runs[k] / "summary.json").read_text()) for k in ("a", "b"))

    def check(row, a, b):
        assert row["a"] == a and row["b"] == b and row["diff"] == b - a
        assert (math.isnan(row["rel_diff"]) if a == 0 else row["rel_diff"] == pytest.approx((b - a) / a))
        assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])  # single runs: no interval

    for k in TOTAL_KEYS:
        check(_row(tables["totals"], k), sa["totals"][k], sb["totals"][k])
    for route in sa["by_route"]:
        for k in TOTAL_KEYS:
            check(_row(tables["by_route"], k, route=route), sa["by_route"][route][k], sb["by_route"][route][k])
    for g in sa["by_group"]:
        for k in TOTAL_KEYS:
            check(_row(tables["by_group"], k, group=g), sa["by_group"][g][k], sb["by_group"][g][k])
    for year, n in sa["arrivals_by_year"].items():
        check(_row(tables["by_year"], "arrived", year=year), n, sb["arrivals_by_year"][year])
    assert len(tables["totals"]) == len(TOTAL_KEYS)
    assert len(tables["by_route"]) == len(sa["by_route"]) * len(TOTAL_KEYS)
    # what the comparison is about: the sea patrol (that the sea's arrivals then fall is the model's business, a
    # statistical claim this test leaves alone; here every number is exact)
    assert meta["differences"] == {"network.edges.boat.controls.patrol": {"a": 0.5, "b": 1.0}}
    # same seed, single runs: paired, no interval, and the output says why
    assert meta["method"] == "paired" and meta["fair"] and meta["issues"] == []
    assert "no interval: single runs with the same seed" in res.stdout
    assert "warning" not in res.stderr


def test_a_different_horizon_is_warned_about_and_strict_refuses(runs, capsys, tmp_path):
    res, tables, meta = _compare(capsys, tmp_path, runs["a"], runs["c"])
    assert "warning: the comparison is unfair" in res.stderr
    assert "time.end: A 2004-12; B 2003-12" in res.stderr
    assert [i["key"] for i in meta["issues"]] == ["time.end"] and not meta["fair"]
    row = _row(tables["by_year"], "arrived", year=2004)  # a year only A has: missing in B, never zero
    assert row["present"] == "A only" and math.isnan(row["b"]) and math.isnan(row["diff"])
    assert row["a"] == json.loads((runs["a"] / "summary.json").read_text())["arrivals_by_year"]["2004"]

    out = tmp_path / "strict"
    res = call_main(capsys, "compare", runs["a"], runs["c"], "--strict", "--out", out)
    assert res.returncode == 2
    assert "--strict" in res.stderr and "time.end: A 2004-12; B 2003-12" in res.stderr
    assert not out.exists() and res.stdout == ""


def _by_seed(sweep: Path, point: int = 0) -> pd.DataFrame:
    df = pd.read_parquet(sweep / "runs.parquet")
    return df[(df["point"] == point) & (df["status"] == "ok")].set_index("seed")


def test_sweeps_with_the_same_seeds_get_the_paired_interval_by_hand(sweeps, capsys, tmp_path):
    res, tables, meta = _compare(capsys, tmp_path, sweeps["low"], sweeps["high"])
    assert meta["method"] == "paired" and meta["fair"]
    assert "paired by seed (common random numbers)" in res.stdout
    a, b = _by_seed(sweeps["low"]), _by_seed(sweeps["high"])
    assert sorted(a.index) == sorted(b.index) and len(a) == 3
    for k in TOTAL_KEYS:
        d = (b[k] - a.loc[b.index, k]).to_numpy(dtype=float)
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        row = _row(tables["totals"], k)
        assert row["diff"] == pytest.approx(d.mean()) and row["n_pairs"] == 3
        assert row["a"] == pytest.approx(a[k].mean()) and row["b"] == pytest.approx(b[k].mean())
        assert row["ci_low"] == pytest.approx(d.mean() - half) and row["ci_high"] == pytest.approx(d.mean() + half)
    sea = _row(tables["by_route"], "arrived", route="sea")
    assert sea["diff"] == pytest.approx((b["route.sea.arrived"] - a.loc[b.index, "route.sea.arrived"]).mean())
    # counts by group, summed from the sweeps' time series, add up to the totals of each side
    for k in TOTAL_KEYS:
        rows = tables["by_group"][tables["by_group"]["outcome"] == k]
        assert rows["a"].sum() == pytest.approx(a[k].mean()) and rows["b"].sum() == pytest.approx(b[k].mean())


def test_a_point_against_itself_is_exactly_zero_with_a_zero_width_interval(sweeps, capsys, tmp_path):
    _, tables, meta = _compare(capsys, tmp_path, f"{sweeps['two']}:0", sweeps["two"], "--point-b", "low")
    assert meta["method"] == "paired" and meta["a"]["point"] == meta["b"]["point"] == 0
    for block in ("totals", "by_route", "by_year"):
        t = tables[block].dropna(subset=["diff"])
        assert len(t) and (t["diff"] == 0).all() and (t["ci_low"] == 0).all() and (t["ci_high"] == 0).all()


def test_sweeps_with_other_seeds_get_a_welch_interval_and_a_warning(sweeps, capsys, tmp_path):
    res, tables, meta = _compare(capsys, tmp_path, sweeps["low"], sweeps["other"])
    assert meta["method"] == "welch" and "unpaired (Welch)" in res.stdout
    assert [i["key"] for i in meta["issues"]] == ["seeds"] and "seeds: A 3 seed(s)" in res.stderr
    a, b = _by_seed(sweeps["low"])["arrived"].to_numpy(float), _by_seed(sweeps["other"])["arrived"].to_numpy(float)
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 3
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    row = _row(tables["totals"], "arrived")
    assert row["diff"] == pytest.approx(b.mean() - a.mean())
    assert row["ci_low"] == pytest.approx(b.mean() - a.mean() - half)
    assert row["ci_high"] == pytest.approx(b.mean() - a.mean() + half)


def test_a_run_against_a_sweep_point_compares_means_without_an_interval(runs, sweeps, capsys, tmp_path):
    res, tables, meta = _compare(capsys, tmp_path, runs["a"], f"{sweeps['two']}:1")
    assert meta["method"] == "none" and "A is a single run" in res.stdout
    b = _by_seed(sweeps["two"], 1)
    row = _row(tables["totals"], "arrived")
    assert row["b"] == pytest.approx(b["arrived"].mean()) and math.isnan(row["ci_low"])
    assert {i["key"]: (i["a"], i["b"]) for i in meta["issues"]}["population.size"] == ("3000", "2000")
    assert "seeds" in {i["key"] for i in meta["issues"]}
    assert meta["differences"][PATROL] == {"a": 0.5, "b": 1.0}  # the policy package's setting, applied


def test_a_sweep_of_several_points_needs_a_point(sweeps, capsys):
    res = call_main(capsys, "compare", sweeps["two"], sweeps["low"])
    assert res.returncode == 2
    assert f"{sweeps['two']} is a sweep of 2 points; choose the point of A" in res.stderr
    assert "1: policy=high, population.size=2000" in res.stderr
    res = call_main(capsys, "compare", sweeps["two"], sweeps["low"], "--point-a", "population.size=2000")
    assert res.returncode == 2 and "matches 2 points" in res.stderr
    res = call_main(capsys, "compare", sweeps["two"], sweeps["low"], "--point-a", "policy=low")
    assert res.returncode == 0 and "point 0 (policy=low, population.size=2000)" in res.stdout


def test_directories_bordersim_did_not_make_or_damaged_files_exit_2_naming_them(runs, capsys, tmp_path):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = call_main(capsys, "compare", foreign, runs["a"])
    assert res.returncode == 2 and f"{foreign} is neither a run directory" in res.stderr
    assert "Traceback" not in res.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in runs["a"].iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "summary.json").write_text('{"totals": ')
    res = call_main(capsys, "compare", runs["a"], broken)
    assert res.returncode == 2 and f"{broken / 'summary.json'}: cannot read it as JSON" in res.stderr


def test_out_into_a_directory_bordersim_did_not_make_is_refused_and_left_alone(runs, capsys, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "totals.csv").write_text("my own table\n")
    res = call_main(capsys, "compare", runs["a"], runs["b"], "--out", mine)
    assert res.returncode == 2 and "was not made by bordersim" in res.stderr
    assert sorted(p.name for p in mine.iterdir()) == ["totals.csv"]
    assert (mine / "totals.csv").read_text() == "my own table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left beside it
    # a comparison directory bordersim made is replaced only with --force
    out = tmp_path / "cmp"
    assert call_main(capsys, "compare", runs["a"], runs["b"], "--out", out).returncode == 0
    assert json.loads((out / ".bordersim").read_text())["kind"] == "comparison"
    res = call_main(capsys, "compare", runs["a"], runs["c"], "--out", out)
    assert res.returncode == 2 and "pass --force" in res.stderr
    assert call_main(capsys, "compare", runs["a"], runs["c"], "--out", out, "--force").returncode == 0
    assert json.loads((out / "comparison.json").read_text())["issues"][0]["key"] == "time.end"


def test_without_out_nothing_is_written(runs, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = call_main(capsys, "compare", runs["a"], runs["b"])
    assert res.returncode == 0 and "Totals" in res.stdout and list(tmp_path.iterdir()) == []


def test_a_sweep_without_its_resolved_scenario_is_compared_with_a_note(sweeps, capsys, tmp_path):
    """A sweep of an earlier bordersim has no scenario.resolved.yaml: horizon, population and network cannot be
    checked, and the output says so; the seeds still are."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(sweeps["high"], old)
    (old / "scenario.resolved.yaml").unlink()
    res, _, meta = _compare(capsys, tmp_path, sweeps["low"], old)
    assert meta["method"] == "paired" and meta["issues"] == []
    assert f"note: B: {old} has no scenario.resolved.yaml" in res.stderr
    assert "as far as known" in res.stdout
    res = call_main(capsys, "compare", sweeps["low"], old, "--strict")
    assert res.returncode == 2 and f"B: {old}: its scenario is not known" in res.stderr



def test_sides_made_by_different_code_get_a_note_and_the_same_code_none(runs, sweeps, capsys, tmp_path):
    import shutil

    res, _, meta = _compare(capsys, fresh(tmp_path, 1), runs["a"], runs["b"])
    assert "different bordersim code" not in res.stderr + " ".join(meta["notes"])
    res, _, meta = _compare(capsys, fresh(tmp_path, 2), sweeps["low"], sweeps["high"])
    assert "different bordersim code" not in res.stderr
    other = tmp_path / "other_code"  # run B again by an edited bordersim: only its code line differs
    shutil.copytree(runs["b"], other)
    summary = other / "summary.json"
    summary.write_text(summary.read_text().replace(code_sha256(), "a" * 64))
    res, _, meta = _compare(capsys, fresh(tmp_path, 3), runs["a"], other)
    note = (f"A and B were made by different bordersim code (code_sha256 of A's runs: {code_sha256()[:12]}...; of "
            f"B's: aaaaaaaaaaaa...): the differences include whatever changed in the code")
    assert note in res.stderr and any(n.startswith(note) for n in meta["notes"])
    older = tmp_path / "older_sweep"  # a sweep whose one run was made by a bordersim that recorded no code
    shutil.copytree(sweeps["high"], older)
    record = sorted((older / "runs").glob("*.json"))[0]
    rec = json.loads(record.read_text())
    del rec["code_sha256"]
    record.write_text(json.dumps(rec))
    res, _, meta = _compare(capsys, fresh(tmp_path, 4), sweeps["low"], older)
    assert f"of B's: {code_sha256()[:12]}... and unrecorded)" in res.stderr
    # both points of one sweep whose runs each came from two codes: the same mix on each side, not a difference
    mixed = tmp_path / "mixed"
    shutil.copytree(sweeps["two"], mixed)
    for record in sorted((mixed / "runs").glob("*-r0000.json")):  # replicate 0 of every point: other code
        record.write_text(json.dumps(json.loads(record.read_text()) | {"code_sha256": "b" * 64}))
    res, _, meta = _compare(capsys, fresh(tmp_path, 5), f"{mixed}:0", f"{mixed}:1")
    assert "A and B each hold runs of 2 different bordersim codes" in res.stderr
    assert "were made by different bordersim code" not in res.stderr

def test_counts_by_group_from_a_time_series_equal_summary_by_group(runs):
    """How a sweep's by-group block is made (its runs keep no summary.json), checked on a run that has both."""
    from sim.analysis.compare import group_totals

    summary = json.loads((runs["a"] / "summary.json").read_text())
    expected = {f"group.{g}.{k}": float(v) for g, row in summary["by_group"].items() for k, v in row.items()}
    assert group_totals(pd.read_parquet(runs["a"] / "timeseries.parquet")) == expected


def test_a_sweep_that_lost_its_kept_time_series_is_damaged_one_that_kept_none_gets_a_note(sweeps, capsys, tmp_path):
    """A sweep whose spec kept the time series (the default) but whose timeseries/ is gone was compared without
    its by-group block, with a note saying the spec had `outputs.timeseries: false`."""
    import shutil

    lost = tmp_path / "lost"
    shutil.copytree(sweeps["high"], lost)
    shutil.rmtree(lost / "timeseries")
    res = call_main(capsys, "compare", sweeps["low"], lost)
    assert res.returncode == 2 and str(lost / "timeseries") in res.stderr and "missing file" in res.stderr, res.stderr
    none = tmp_path / "none"  # as a sweep with `outputs: {timeseries: false}` is
    shutil.copytree(lost, none)
    manifest = json.loads((none / "sweep.json").read_text())
    manifest["spec"]["outputs"]["timeseries"] = False
    (none / "sweep.json").write_text(json.dumps(manifest))
    res, tables, _ = _compare(capsys, tmp_path, sweeps["low"], none)
    assert f"the sweep {none} kept no time series (outputs.timeseries: false)" in res.stderr
    assert tables["by_group"].empty


def test_a_side_that_is_no_directory_is_told_what_compare_takes(runs, capsys, tmp_path):
    """The message listed sensitivity, calibration, effects and discovery directories, which compare refuses."""
    res = call_main(capsys, "compare", runs["a"], tmp_path / "nonexist")
    assert res.returncode == 2 and "no such directory (give a run directory" in res.stderr, res.stderr
    assert "or a sweep directory" in res.stderr and "sensitivity" not in res.stderr, res.stderr



def test_compare_piped_into_a_reader_that_stops_ends_quietly_with_0(runs):
    """rich ends a broken pipe with exit 1 in silence; every other command ends it with 0 (`| head`)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "sim", "compare", str(runs["a"]), str(runs["b"])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()  # read one line, then stop reading
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == b"", (proc.returncode, err)


def test_compare_into_a_full_disk_says_so_and_exits_1_with_buffered_output(runs):
    """With buffered output the error was printed and the rest failed again at exit: 'Exception ignored', 120."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "sim", "compare", str(runs["a"]), str(runs["b"])], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith("error: No space left on device"), proc.stderr
    assert "Exception ignored" not in proc.stderr, proc.stderr


def test_a_constant_side_gets_the_welch_interval_without_scipys_warning():
    """A side whose runs all gave the same share (0.1 x 3 in floating point) made scipy print "Precision loss
    occurred in moment calculation" with its file path on standard error; the interval is the one of variance 0
    on that side: mean difference +- t(df = n_b - 1) x sd_b / sqrt(n_b)."""
    import warnings

    from sim.analysis.compare import _welch

    xa, xb = np.array([0.1] * 3) * 3, np.array([0.3, 0.4, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lo, hi = _welch(xa, xb, float(xb.mean() - xa.mean()))
    half = stats.t.ppf(0.975, 2) * xb.std(ddof=1) / math.sqrt(3)
    assert (lo, hi) == pytest.approx((0.4 - 0.3 - half, 0.4 - 0.3 + half))


def test_sides_that_share_enough_seeds_are_paired_and_fair_though_one_has_more():
    """A point with one failed run (3 of 4 seeds shared) was paired over the shared seeds, correctly, and yet
    flagged "A and B differ in seeds" (seed noise in the difference), and `--strict` refused it (a probe)."""
    from sim.analysis.compare import Side, choose_method, fairness

    def side(label, seeds):
        return Side(label, Path(label), "sweep", label, pd.DataFrame({"arrived": [1.0] * len(seeds)},
                                                                    index=pd.Index(seeds, name="seed")), None)

    a, b = side("A", [1, 2, 3, 4]), side("B", [1, 2, 3])  # B's run of seed 4 failed
    assert choose_method(a, b)[0] == "paired" and fairness(a, b) == []
    c = side("C", [1, 2, 9])  # two shared seeds: unpaired, and the seeds are an issue
    assert choose_method(a, c)[0] == "welch" and [i.key for i in fairness(a, c)] == ["seeds"]


def test_a_point_with_more_replicates_is_paired_over_the_shared_seeds_and_says_so(sweeps, tmp_path, capsys):
    """Sides of 3 and 4 replicates of one spec seed: fair and paired, and the fairness line said "same ... seeds"
    though one side had a seed more, left out without a word (a probe)."""
    spec = tmp_path / "low4.yaml"
    spec.write_text((sweeps["low"].parent / "low.yaml").read_text().replace("replicates: 3", "replicates: 4"))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "low4"), "--workers", "1", "--quiet"]) == 0
    res, _, meta = _compare(capsys, tmp_path, sweeps["low"], tmp_path / "low4")
    assert meta["method"] == "paired" and meta["issues"] == [], meta["issues"]
    assert "fairness: same horizon, population size, network and the 3 seeds both used" in res.stdout, res.stdout
    assert "seeds: paired over the 3 seeds both sides used; the runs of other seeds (0 of A, 1 of B) are left out" \
        in res.stderr, res.stderr


def test_an_item_one_side_lacks_is_one_difference_not_one_per_setting():
    """An edge only B has was listed setting by setting, 'network.edges.tunnel.id: None -> tunnel' and a dozen
    more (a probe): it is one entry, the edge's settings on B's side, None on A's."""
    from sim.analysis.compare import scenario_differences

    edge = {"id": "tunnel", "from": "north", "to": "south", "cost": 10, "controls": {"guards": 0.1}}
    a = {"network": {"edges": [{"id": "walk", "cost": 5}]}, "population": {"size": 100}}
    b = {"network": {"edges": [{"id": "walk", "cost": 6}, edge]}, "population": {"size": 100, "chain": {"k": 1}}}
    assert scenario_differences(a, b) == {
        "network.edges.walk.cost": (5, 6),
        "network.edges.tunnel": (None, {"id": "tunnel", "from": "north", "to": "south", "cost": 10,
                                        "controls.guards": 0.1}),
        "population.chain": (None, {"k": 1}),
    }
    assert scenario_differences(b, a)["network.edges.tunnel"][1] is None
    # null or an empty list is not there either: one entry, not one per setting, and no entry listed twice
    # (found in review: a null section was split per setting, and [] against a list gave two entries)
    a = {"policies": [], "population": {"chain": None, "risk": {"low": None, "dist": "beta"}}}
    b = {"policies": [{"name": "p", "start": "2000-01"}],
         "population": {"chain": {"k": 1, "m": 2}, "risk": {"low": 0.2, "dist": "beta"}}}
    assert scenario_differences(a, b) == {"policies": (None, {"p.name": "p", "p.start": "2000-01"}),
                                          "population.chain": (None, {"k": 1, "m": 2}),
                                          "population.risk.low": (None, 0.2)}


def test_plot_report_and_summarize_of_a_comparison_or_figures_directory_say_what_it_is(runs, tmp_path, capsys):
    """`plot` and `report` of a comparison directory said it was 'neither a run directory nor ...', and
    `summarize` called it 'a sweep directory without runs.parquet' and said to run the sweep again (a probe)."""
    cmp_dir, figures = tmp_path / "cmp", tmp_path / "figs"
    assert main(["compare", str(runs["a"]), str(runs["b"]), "--out", str(cmp_dir)]) == 0
    assert main(["plot", str(runs["a"]), "--out", str(figures), "--only", "flows"]) == 0
    capsys.readouterr()
    for command in ("plot", "report", "summarize"):
        assert main([command, str(cmp_dir)]) == 2
        err = capsys.readouterr().err
        assert "is a comparison directory" in err and "runs.parquet;" not in err, err
        assert main([command, str(figures)]) == 2
        assert "is a figures directory" in capsys.readouterr().err
    # a folder of the user's that holds a file of that name is no comparison: it is told what bordersim reads
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "comparison.json").write_text("{}")
    for command in ("plot", "report", "summarize"):
        assert main([command, str(mine)]) == 2
        assert "comparison directory" not in capsys.readouterr().err


def test_a_comparison_prints_in_one_line(runs):
    """Its repr printed both whole scenarios: 16,429 characters for the toy (an API probe)."""
    import sim

    text = repr(sim.compare(runs["a"], runs["b"]))
    assert "\n" not in text and len(text) < 400 and str(runs["a"]) in text and "method paired" in text, text


def test_a_point_given_from_python_is_a_text_or_an_index(sweeps, capsys):
    """compare(point_a=['0']) read the list as the text "['0']" (an API probe): refused, naming the argument; an
    int is the point's index."""
    import sim
    from sim.errors import UsageError

    with pytest.raises(UsageError, match="point_a: give a string"):
        sim.compare(sweeps["two"], sweeps["two"], point_a=["0"], point_b="1")
    assert sim.compare(sweeps["two"], sweeps["two"], point_a=0, point_b=1).b.point == 1
