"""`bordersim effects`: policy effects over posterior draws x packages x replicates with common random numbers,
their statistics (docs/effects.md), the horizon extension, resumption and the errors of a bad spec."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, assert_binomial, seed
from sim.analysis.effects import spec as ef_spec
from sim.analysis.effects.run import run_effects
from sim.provenance import stamp
from sim.analysis.effects.statistics import effect_row
from sim.errors import ScenarioError
from sweep_helpers import call_main

TOY = ROOT / "scenarios" / "toy.yaml"
RATE = "population.groups.ordinary.departure_rate"
ROUTES = ("river", "dmz", "sea", "abroad")


def _spec(tmp_path, name="spec.yaml", **changes) -> str:
    spec = {"name": "toy_effects_test", "scenario": str(TOY), "posterior": "none", "horizon": "2005-06",
            "fixed": {"population.size": 3000},
            "policies": {"no_change": {}, "sea_closed": {"network.edges.boat.open": False}},
            "outcomes": {"arrivals": "arrived", **{r: f"arrived({r})" for r in ROUTES}},
            "replicates": 3, "seed": seed(11)}
    spec.update(changes)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def _posterior(tmp_path, rates, name="posterior.csv") -> str:
    """A posterior in the calibration's format: a point and a distance column besides the parameter."""
    pd.DataFrame({"point": range(len(rates)), RATE: rates, "distance": np.linspace(0.1, 0.5, len(rates))}).to_csv(
        tmp_path / name, index=False)
    return name


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """Three draws of the departure rate x {no change, sea closed} x 3 replicates."""
    tmp = tmp_path_factory.mktemp("closed")
    spec = _spec(tmp, posterior=_posterior(tmp, [0.0015, 0.0025, 0.004]))
    return run_effects(spec, tmp / "out", workers=1)


@pytest.fixture(scope="module")
def no_posterior(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("none")
    spec = _spec(tmp, replicates=4)
    return spec, run_effects(spec, tmp / "out", workers=1)


# ---------------------------------------------------------------------------------------- known effects


def test_a_closed_route_loses_exactly_its_arrivals_in_every_draw_and_replicate(closed):
    v = closed.values[closed.values["package"] == "sea_closed"]
    sea = v[v["outcome"] == "sea"]
    assert len(sea) == 3 * 3
    assert (sea["value"] == 0).all()
    assert (sea["effect"] == -sea["baseline_value"]).all()
    assert (sea["baseline_value"] > 0).all()  # there was something to lose in every run
    # the people the closure does not touch are exactly as before (keyed random streams + common random numbers):
    # overseas workers cannot take the sea route, so not one arrival from abroad changes in any run
    assert (v[v["outcome"] == "abroad"]["effect"] == 0).all()
    # the other routes take some of the sea's travellers (substitution), and every route's effect adds up to the
    # total: a run's effect on river or DMZ arrivals may still be negative (the route is drawn from the logit
    # probabilities by inverse CDF, so a traveller who took the river may take the DMZ once the sea is gone)
    by = v.pivot_table(index=["draw", "replicate"], columns="outcome", values="effect")
    assert (by[list(ROUTES)].sum(axis=1) == by["arrivals"]).all()
    row = closed.effects.set_index(["package", "outcome"]).loc[("sea_closed", "sea")]
    assert row["sign"] == "-" and row["p_sign"] == 1.0 and row["relative_median"] == -1.0
    assert row["draws"] == 3 and row["replicates"] == 3
    # the draws differ in the departure rate, so the effect differs between draws: a parameter part
    assert row["param_q95"] > row["param_q05"] and row["var_param"] > 0


def test_draws_and_packages_share_seeds_and_the_posterior_values(closed):
    runs = pd.read_parquet(closed.out / "sweep" / "runs.parquet")
    assert sorted(runs["policy"].unique()) == ["no_change", "sea_closed"]
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()  # replicate r: one seed at every point
    assert sorted(runs[RATE].unique()) == [0.0015, 0.0025, 0.004]
    assert (closed.out / "effects.csv").is_file() and (closed.out / "effects.parquet").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(closed.out / "effects.parquet"), closed.effects)


# ------------------------------------------------------------------------------------------- statistics


def test_without_parameter_uncertainty_the_seed_interval_is_summarize_paired_interval(no_posterior):
    from sim.experiments.store import load_sweep
    from sim.experiments.summarize import paired_differences

    _, res = no_posterior
    runs = load_sweep(res.out / "sweep")
    base = int(runs.loc[runs["policy"] == "no_change", "point"].iloc[0])
    for outcome, column in (("arrivals", "arrived"), ("sea", "route.sea.arrived"), ("river", "route.river.arrived")):
        paired = paired_differences(runs, [], base, [column]).set_index("policy").loc["sea_closed"]
        row = res.effects.set_index(["package", "outcome"]).loc[("sea_closed", outcome)]
        assert row["draws"] == 1 and row["var_param"] == 0
        assert row["effect_mean"] == paired["diff"]
        assert row["seed_ci_low"] == paired["ci_low"] and row["seed_ci_high"] == paired["ci_high"], outcome
        assert row["param_q05"] == row["param_q95"] == row["effect_mean"]


def test_identical_draws_have_exactly_no_parameter_spread(tmp_path):
    spec = _spec(tmp_path, posterior=_posterior(tmp_path, [0.003] * 3), replicates=2, horizon=None,
                 outcomes={"arrivals": "arrived", "sea": "arrived(sea)"})
    res = run_effects(spec, tmp_path / "out", workers=1)
    for _, row in res.effects.iterrows():
        assert row["param_q05"] == row["param_q95"] == row["effect_mean"]
        assert row["var_param"] == 0
        assert row["param_share"] == 0 if row["var_seed"] > 0 else np.isnan(row["param_share"])


def test_variance_split_on_known_arrays():
    """Draw means 0, 10, 20 (variance 100) with within-draw deviations -1, +1 (s^2 = 2, R = 2). The deviations are
    the same at every draw (replicate 1 is 2 below replicate 2 everywhere): seed noise that all draws share, which
    does not spread the draw means, so nothing is taken out: var_param = 100 (it was 100 - 2/2, as if each draw had
    seeds of its own). Deviations that differ between draws (-1 +1, +1 -1, -1 +1) are the draw x seed part:
    MS_c = 16/3 / 2 = 8/3, var_param = 100 - (8/3)/2. Medians, quantiles and signs as defined."""
    base = np.zeros((3, 2))
    pkg = np.array([[-1.0, 1.0], [9.0, 11.0], [19.0, 21.0]])
    row = effect_row(pkg, base)
    assert row["var_param"] == pytest.approx(100.0) and row["var_seed"] == pytest.approx(2.0)
    assert row["param_share"] == pytest.approx(100 / 102)
    crossed = effect_row(np.array([[-1.0, 1.0], [11.0, 9.0], [19.0, 21.0]]), base)
    assert crossed["var_param"] == pytest.approx(100 - 4 / 3) and crossed["var_seed"] == pytest.approx(2.0)
    assert row["effect_median"] == 10.0 and row["param_q05"] == pytest.approx(1.0)
    assert row["sign"] == "+" and row["p_sign"] == pytest.approx(5 / 6) and row["p_sign_draws"] == pytest.approx(2 / 3)
    assert np.isnan(row["relative_median"])  # the baseline is 0 everywhere


def test_an_effect_some_runs_have_no_value_for_gets_no_statistics_and_a_warning():
    """A female share of years in which nobody arrived is NaN in that run: the effect's statistics are left empty
    (they were NaN with sign '0' and p_sign 0, a claim of no effect), the runs without a value are counted, the
    columns keep their order, and the CLI's warning names the package, the outcome and the count."""
    from sim.analysis.effects.statistics import effects_table, missing_warnings

    base = np.array([[0.5, 0.4, 0.6], [0.5, 0.5, 0.5]])
    with_gap = np.array([[np.nan, 0.2, 0.1], [0.1, 0.2, 0.3]])
    row, full = effect_row(with_gap, base), effect_row(base - 0.1, base)
    assert list(row) == list(full)
    assert row["runs_without_value"] == 1 and full["runs_without_value"] == 0
    assert row["sign"] == "" and full["sign"] == "-"
    floats = [k for k, v in full.items() if isinstance(v, float)]
    assert floats and all(np.isnan(row[k]) for k in floats)
    y = {"share": np.stack([base, with_gap]), "same": np.stack([base, base])}
    table = effects_table(y, ["no_change", "closed"], "no_change", {"share": "female_share(2005)", "same": "x"})
    assert missing_warnings(table) == [
        "outcome share, package closed: 1 of 6 runs have no value for female_share(2005) (in the package or the "
        "baseline; a female share of years in which nobody arrived has none), so its statistics are left empty; "
        "choose years every run has arrivals in"]


# --------------------------------------------------------------------------------- horizon, determinism


def test_extending_the_horizon_keeps_the_past_and_holds_the_last_values():
    from sim.engine.engines import run
    from sim.loading import load_scenario, validate_dict
    from sim.rules.policies import push_value
    from sim.scenario.overrides import scenario_to_dict

    data = scenario_to_dict(load_scenario(TOY))
    data["population"]["size"] = 3000
    short = run(validate_dict(data), seed=seed(3), engine="arrays").timeseries()
    data["time"]["end"] = "2006-12"
    extended = validate_dict(data)
    long = run(extended, seed=seed(3), engine="arrays").timeseries()
    pd.testing.assert_frame_equal(long[long["date"] <= short["date"].max()].reset_index(drop=True),
                                  short.reset_index(drop=True))
    series = extended.push["hardship"]
    assert push_value(series, dt.date(2006, 12, 1)) == push_value(series, dt.date(2004, 1, 1)) == 1.2


def test_same_spec_twice_gives_identical_files_and_an_interrupted_run_resumes(tmp_path, no_posterior):
    from sim.experiments.sweep import SweepInterrupted

    spec, first = no_posterior
    out = Path(spec).parent / "again"  # beside the first OUT: its inputs lie at the same relative paths

    def stop_after_five(done, total):
        if done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):
        run_effects(spec, out, workers=1, progress=stop_after_five)
    assert not (out / "effects.csv").exists()
    calls = []
    run_effects(spec, out, workers=1, progress=lambda done, total: calls.append(done))
    assert calls[0] >= 5 and calls[-1] == 2 * 4  # the finished runs were kept
    for name in ("effects.csv", "effects.json", "experiment.yaml", "base.yaml"):
        assert (out / name).read_bytes() == (first.out / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(out / "values.parquet"), first.values)
    meta = json.loads((out / "effects.json").read_text())
    assert meta["made_by"] == stamp()
    # where the inputs were, relative to OUT: the same bytes in another clone or from another working directory
    # (they were absolute paths, a probe)
    assert meta["spec"] == "../spec.yaml" and meta["scenario"] == os.path.relpath(TOY, out), meta


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("changes, key, says", [
    ({"replicate": 3}, "replicate", "unknown key"),
    ({"policies": {"no_change": {}, "bad": {"network.edges.nope.open": False}}}, "policies.bad.network.edges.nope.open",
     "unknown path"),
    ({"outcomes": {"x": "arrived(land)"}}, "outcomes.x", "unknown route 'land'"),
    ({"outcomes": {"x": "arrived(2007..2008)"}}, "outcomes.x", "inside the scenario's horizon"),
    ({"horizon": "2003-01"}, "horizon", "before the scenario's end"),
    # the horizon set otherwise, cut or per package: effects.json said the spec's horizon, the runs had another,
    # and a shorter package's "effect" was mostly its shorter horizon (a probe)
    ({"fixed": {"time.end": "2003-06"}}, "fixed.time.end", "the horizon of an effects analysis is set by"),
    ({"policies": {"no_change": {}, "short": {"time.end": "2005-06"}}}, "policies.short.time.end",
     "every package is run over the same horizon and steps"),
    ({"policies": {"no_change": {}, "late": {"time.start": "2001-01"}}}, "policies.late.time.start", "sets time.start"),
    ({"policies": {"a": {}, "b": {}}}, "", "name the baseline package"),
    ({"baseline": "nope"}, "", "baseline 'nope' is not a package"),
    ({"posterior": None}, "posterior", "write `posterior: none`"),
    ({"posterior": "missing.csv"}, "posterior", "does not exist"),
    ({"posterior": "."}, "posterior", "is not a file"),  # a directory: it said "does not exist"
    # an empty list: the dry run counted every draw, the sweep made none and ended "runs did not succeed" (a probe)
    ({"parameters": []}, "parameters", "an empty list chooses no posterior column"),
    ({"parameters": [RATE, RATE]}, "parameters", "listed twice"),
])
def test_spec_errors_name_file_and_key(tmp_path, changes, key, says):
    spec = _spec(tmp_path, **changes)
    if "posterior" in changes and changes["posterior"] is None:
        text = yaml.safe_load(open(spec))
        del text["posterior"]
        open(spec, "w").write(yaml.safe_dump(text))
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(spec)
    assert says in err.value.message
    assert err.value.path == spec
    if key:
        assert err.value.key == key


def test_posterior_errors_name_the_file_and_column(tmp_path):
    name = _posterior(tmp_path, [0.002, 0.003])
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior=name, parameters=["route_choice.risk_weight"]))
    assert err.value.key == "parameters" and "no column 'route_choice.risk_weight'" in err.value.message
    bad = tmp_path / "bad.csv"
    bad.write_text("point,network.edges.nope.cost\n0,5\n")
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv"))
    assert err.value.path == str(bad) and err.value.key == "network.edges.nope.cost"
    bad.write_text(f"point,{RATE}\n0,0.002\n1,abc\n")
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv"))
    assert err.value.key == RATE and "posterior row 1 (counted from 0" in err.value.message  # it said row 2
    # a value the scenario refuses is the posterior's fault, named by its row, not the first package's
    bad.write_text(f"point,{RATE}\n0,0.002\n1,0.003\n2,-1\n")
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv"))
    assert err.value.path == str(bad) and err.value.key == RATE and "package" not in err.value.message
    assert err.value.message.startswith(f"posterior row 2 ({RATE} = -1.0; counted from 0, as values.parquet's "
                                        "posterior_row) makes an invalid scenario: ")
    # with several columns, the key is the column that sets the path at fault
    patrol = "network.edges.boat.controls.patrol"
    bad.write_text(f"point,{RATE},{patrol}\n0,0.002,0.5\n1,0.003,1.7\n")
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv"))
    assert err.value.key == patrol and "posterior row 1 (" in err.value.message, err.value.format()
    with pytest.raises(ScenarioError) as err:
        ef_spec.load_effects(_spec(tmp_path, posterior=name, draws=3))
    assert err.value.key == "draws"
    # a column twice: pandas reads the second as 'name.1', which was named as no scenario path (a probe)
    bad.write_bytes(f"\ufeffpoint,{RATE},{RATE}\n\n0,0.002,0.002\n".encode())  # a BOM and a blank line too
    with pytest.raises(ScenarioError, match=f"column\\(s\\) '{RATE}' appear more than once") as err:
        ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv"))
    assert err.value.path == str(bad)
    bad.write_text(f"point,{RATE},,\n0,0.002,,\n1,0.003,,\n")  # empty header cells (trailing commas) are no columns
    assert ef_spec.load_effects(_spec(tmp_path, posterior="bad.csv")).posterior.columns == {RATE: [0.002, 0.003]}


def test_draws_are_an_even_thinning(tmp_path):
    le = ef_spec.load_effects(_spec(tmp_path, posterior=_posterior(tmp_path, [0.001 * (i + 1) for i in range(6)]),
                                    draws=3))
    assert le.posterior.rows == (0, 2, 4)
    assert le.posterior.columns == {RATE: [0.001, 0.003, 0.005]}


def test_cli_bad_input_exits_2_naming_file_and_key(tmp_path, capsys):
    spec = _spec(tmp_path, policies={"no_change": {}, "bad": {"network.edges.nope.open": False}})
    proc = call_main(capsys, "effects", spec, "--dry-run")
    assert proc.returncode == 2
    assert spec in proc.stderr and "policies.bad" in proc.stderr and "Traceback" not in proc.stderr
    ok = call_main(capsys, "effects", _spec(tmp_path, name="ok.yaml"), "--dry-run")
    assert ok.returncode == 0 and "2 packages x 1 draws x 3 replicates = 6 runs" in ok.stdout


def test_policies_points_design_crosses_packages_with_points_and_puts_the_package_on_top(tmp_path):
    from sim.experiments.design import build_runs, count_points
    from sim.experiments.spec import load_spec

    mines = "network.edges.dmz.controls.mines"
    spec = {"name": "pp", "scenario": str(TOY), "parameters": {mines: [0.1, 0.2, 0.3], RATE: [0.001, 0.002, 0.003]},
            "design": {"type": "policies_points", "policies": {"base": {}, "mined": {mines: 0.9}}}, "replicates": 2}
    (tmp_path / "pp.yaml").write_text(yaml.safe_dump(spec))
    ls = load_spec(tmp_path / "pp.yaml")
    assert count_points(ls.spec) == 6
    runs = build_runs(ls)
    assert len(runs) == 12 and len({r.seed for r in runs}) == 2
    p4 = runs[8].point  # package-major: point 4 = package 1 ("mined"), point 1
    assert p4.index == 4 and p4.package == "mined" and p4.values == {mines: 0.2, RATE: 0.002}
    assert dict(p4.overrides(ls.spec))[mines] == 0.9  # the package acts on top of the point's value
    spec["parameters"] = {}
    (tmp_path / "pp.yaml").write_text(yaml.safe_dump(spec))
    assert count_points(load_spec(tmp_path / "pp.yaml").spec) == 2  # no parameters: one point per package


def test_every_spec_key_and_output_column_is_documented(closed):
    text = (ROOT / "docs" / "effects.md").read_text()
    missing = [k for k in ef_spec.EffectsSpec.model_fields if f"{k}:" not in text]
    missing += [c for c in closed.effects.columns if f"`{c}`" not in text and not c.startswith(("total_", "param_",
                                                                                                 "seed_q"))]
    missing += [c for c in closed.values.columns if f"`{c}`" not in text]
    assert not missing, f"missing from docs/effects.md: {missing}"


@pytest.mark.usefixtures("blank_drawing")  # files and markup, not what the figures show
def test_plot_and_report_read_an_effects_directory(closed, tmp_path):
    from sim.errors import UsageError
    from sim.outputs import write_marker
    from sim.plots.api import build_figures
    from sim.directories import kind_of
    from sim.plots.report import report_html

    figs = build_figures(closed.out)
    assert figs.kind == "effects" and list(figs.figures) == ["effects"]
    html = report_html(closed.out)
    assert "policy effects &#x27;toy_effects_test&#x27;" in html or "policy effects 'toy_effects_test'" in html
    assert "sea_closed" in html and "network.edges.boat.open = False" in html
    assert "runs_without_value" not in html  # said only where a row has such runs
    gap = tmp_path / "gap"
    shutil.copytree(closed.out, gap)
    table = pd.read_csv(gap / "effects.csv", keep_default_na=False, na_values=[""])
    table.loc[0, "runs_without_value"] = 2
    table.loc[0, ["effect_median", "total_q05", "total_q95", "p_sign"]] = np.nan
    table.loc[0, "sign"] = ""
    table.to_csv(gap / "effects.csv", index=False)
    html = report_html(gap)
    assert "<th class=''>runs_without_value</th>" in html and "a row with any has no statistics" in html
    # a seed is an identifier: 2026 was written "2,026"; the figure's axis gave no unit (a probe)
    summary = json.loads((gap / "effects.json").read_text())
    (gap / "effects.json").write_text(json.dumps({**summary, "seed": 2026}))
    assert "<th class='l'>seed</th><td class='l'>2026</td>" in report_html(gap)
    fig = build_figures(closed.out).figures["effects"]
    assert {ax.get_xlabel() for ax in fig.axes if ax.get_visible()} == {"effect (persons)"}
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    write_marker(unfinished, "effects")
    with pytest.raises(UsageError, match="effects directory whose analysis has not finished"):
        kind_of(unfinished)


def test_without_a_posterior_key_the_shipped_posterior_of_the_scenario_is_used(tmp_path):
    """Korea ships the issue-14 calibration's posterior (sim/data/posteriors/korea.csv): a spec that names none
    draws from it; a scenario with none shipped is refused, naming the key and what to write."""
    shipped = pd.read_csv(ROOT / "sim" / "data" / "posteriors" / "korea.csv")
    paths = [c for c in shipped.columns if "." in c]
    assert "initial_stock.0.size" in paths and len(shipped) >= 20
    spec = {"name": "korea_default_posterior", "scenario": str(ROOT / "scenarios" / "korea.yaml"), "draws": 4,
            "policies": {"no_change": {}, "more_mines": {"policies.cf_dmz_more_mines_2026.enabled": True}},
            "horizon": "2026-12", "outcomes": {"arrivals": "arrived"}, "replicates": 1}
    (tmp_path / "korea.yaml").write_text(yaml.safe_dump(spec))
    le = ef_spec.load_effects(tmp_path / "korea.yaml")
    assert le.posterior.size == 4
    toy = yaml.safe_load(open(_spec(tmp_path)))
    del toy["posterior"]
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(toy))
    with pytest.raises(ScenarioError, match=r"key 'posterior'.*posterior: none"):
        ef_spec.load_effects(tmp_path / "toy.yaml")


def test_repeating_a_draw_does_not_narrow_the_seed_interval():
    """Eight identical draws reuse the same R seeds: the same three runs eight times. The seed interval treated the
    D R values as independent and came out 2.8 times narrower than with one draw (a probe); it is the interval of
    the R replicate means, the same for one draw or eight."""
    rng = np.random.default_rng(seed(61))
    one = rng.normal(-50.0, 5.0, (1, 3))
    row_one, row_eight = effect_row(one, np.zeros((1, 3))), effect_row(np.repeat(one, 8, axis=0), np.zeros((8, 3)))
    for key in ("seed_ci_low", "seed_ci_high", "effect_mean"):
        assert row_eight[key] == pytest.approx(row_one[key], rel=1e-12), key
    assert row_eight["var_param"] == 0.0


def test_the_seed_interval_covers_the_mean_effect_of_the_draws_95_percent_of_the_time():
    """Common random numbers: e_ir = mu + a_i + b_r + c_ir with a large seed effect b_r shared by the draws (sd 3)
    and a small draw x seed part (sd 1); D = 4 draws, R = 5 replicates. Given the draws, the mean effect is
    mu + mean_i a_i; the 95% seed interval must hold it 95% of the time (exactly, for normal noise: the replicate
    means are independent normals). 2,000 data sets; one binomial check at the suite's level (conftest.ALPHA).
    The interval of the D R runs taken as independent held it about 66% of the time."""
    rng = np.random.default_rng(seed(62))
    n, inside = 2000, 0
    for _ in range(n):
        a = rng.normal(0.0, 2.0, (4, 1))
        e = 10.0 + a + rng.normal(0.0, 3.0, (1, 5)) + rng.normal(0.0, 1.0, (4, 5))
        row = effect_row(e, np.zeros_like(e))
        inside += row["seed_ci_low"] <= 10.0 + a.mean() <= row["seed_ci_high"]
    assert_binomial(inside, n, 0.95, "coverage of the 95% seed interval under common random numbers")


def test_one_replicate_gives_no_total_interval_and_no_sign_probability():
    """One draw of one replicate printed a '90%' interval of width 0 and P(sign) 1 (a probe): with one replicate
    the seed noise every draw shares is in none of the runs' spread."""
    row = effect_row(np.array([[-51.0], [-40.0]]), np.zeros((2, 1)))
    assert all(np.isnan(row[f"total_{k}"]) for k in ("q05", "q25", "q75", "q95")) and np.isnan(row["p_sign"])
    assert row["effect_median"] == -45.5 and row["sign"] == "-" and row["p_sign_draws"] == 1.0
    two = effect_row(np.array([[-51.0, -47.0], [-40.0, -44.0]]), np.zeros((2, 2)))
    assert two["total_q05"] < two["total_q95"] and two["p_sign"] == 1.0


def test_the_effects_figure_has_a_title_naming_the_baseline(tmp_path):
    """It had none (docs/plots.md: every figure has a title), so the report captioned it 'effects: effects' (a
    probe)."""
    from sim.directories import EFFECTS_COLUMNS
    from sim.plots.effects import effects_figure, read_effects

    csv = tmp_path / "effects.csv"
    csv.write_text(",".join(EFFECTS_COLUMNS) + "\nclosure,none,arrivals,arrived,-10.0,-14,-12,-8,-6,-13,-11,-9,-7,"
                   "4,5\n")
    assert effects_figure(read_effects(csv)).get_suptitle().startswith("Policy effects against 'none'")


def test_an_effects_figure_of_one_draw_promises_no_parameter_part(tmp_path):
    """With `posterior: none` (one draw) the title promised 'total and parameter intervals' and the footnote a
    coloured parameter part that was a bar of width 0 (a probe): it now says the parameter uncertainty is not
    sampled (one draw: `posterior: none`, or `draws: 1` of a posterior)."""
    from sim.directories import EFFECTS_COLUMNS
    from sim.plots import style
    from sim.plots.effects import effects_figure, read_effects

    def figure(draws: int):
        csv = tmp_path / f"effects{draws}.csv"
        csv.write_text(",".join(EFFECTS_COLUMNS) + "\nclosure,none,arrivals,arrived,-10.0,-14,-12,-8,-6,-13,-11,-9,"
                       f"-7,{draws},5\n")
        fig = effects_figure(read_effects(csv))
        coloured = [line for ax in fig.axes for line in ax.get_lines() if line.get_color() == style.OKABE_ITO[0]]
        return fig, coloured

    fig, coloured = figure(1)
    assert coloured == [] and "parameter uncertainty not sampled" in fig.get_suptitle()
    assert "seed noise alone" in fig.get_supxlabel() and "parameter part" not in fig.get_supxlabel()
    fig, coloured = figure(4)
    assert len(coloured) == 2 and "parameter intervals" in fig.get_suptitle()
