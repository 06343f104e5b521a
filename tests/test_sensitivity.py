"""Sensitivity analysis: known answers on a one-route scenario, the outcome language, seed-noise measures, the
spec's errors and the command.

Known-answer scenario: everyone sets out in the first month (rate 50, no route-choice weights) on the only usable
route, a river ford; a sea route exists but no group may use the sea. Arrivals are Binomial(N, p) with
p = exp(-fence) * exp(-2 guards) (block coefficient 1 for the fence, detect coefficient 2 for guards), so
- sea patrol has no effect at all (its index must be zero),
- ford guards (over [0, 1]) move arrivals more than the ford fence (over [0, 0.5]): guards rank first,
and the indices of the simulation must match SALib's indices of the exact function N p on the same design, up to
binomial noise.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, edge, group, node, scenario_dict

from sim.analysis.sensitivity import indices as sa_indices, outcomes as sa_outcomes, run as sa_run, spec as sa_spec
from sim.cli import sensitivity as sensitivity_cli
from sim.errors import ScenarioError, UsageError

N = 2000
GUARDS = "network.edges.ford.controls.guards"
FENCE = "network.edges.ford.controls.fence"
PATROL = "network.edges.boat.controls.patrol"


def one_route_scenario() -> dict:
    return scenario_dict(
        nodes=[node("home", "origin"), node("south", "destination")],
        edges=[edge("ford", "home", "south", "river", route="river", controls={"guards": 0.3, "fence": 0.2}),
               edge("boat", "home", "south", "sea", route="sea", controls={"patrol": 0.5})],
        groups=[group(modes=["river"])],
        size=N, start="2000-01", end="2000-03",
        hazards={"block": {"fence": 1.0}, "kill": {}, "detect": {"guards": 2.0, "patrol": 2.0},
                 "shot_kill_probability": 0.0})


def expected_arrivals(guards: np.ndarray, fence: np.ndarray) -> np.ndarray:
    return N * np.exp(-fence) * np.exp(-2.0 * guards)


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    d = tmp_path_factory.mktemp("known")
    (d / "one_route.yaml").write_text(yaml.safe_dump(one_route_scenario(), sort_keys=False))
    spec = {
        "name": "known_answer",
        "scenario": "one_route.yaml",
        "parameters": {GUARDS: {"low": 0.0, "high": 1.0, "label": "guards"},
                       FENCE: {"low": 0.0, "high": 0.5, "label": "fence"},
                       PATROL: {"low": 0.0, "high": 1.0, "label": "sea_patrol"}},
        "outcomes": {"arrivals": "arrived", "river_share": "share(river)", "sea_arrivals": "arrived(sea)"},
        "morris": {"trajectories": 6, "levels": 4},
        "sobol": {"samples": 16},
        "replicates": 2,
        "seed": 5,
        "seed_bootstrap": 50,
    }
    path = d / "known.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def morris_result(known):
    calls = []
    res = sa_run.run_sensitivity(known, "morris", known.parent / "morris", workers=2,
                             progress=lambda done, total: calls.append((done, total)))
    return res, calls


@pytest.fixture(scope="module")
def sobol_result(known):
    return sa_run.run_sensitivity(known, "sobol", known.parent / "sobol", workers=2)


def _rows(indices: pd.DataFrame, outcome: str) -> pd.DataFrame:
    return indices[indices["outcome"] == outcome].set_index("label")


def _exact_indices(known, method: str, out) -> dict:
    """SALib indices of the exact expected arrivals on the same design the simulation ran."""
    ls = sa_spec.load_sensitivity(known)
    x = sa_run.sample(ls, method)
    design = pd.read_csv(out / "point_means.csv")
    exact = expected_arrivals(design[GUARDS].to_numpy(), design[FENCE].to_numpy())
    settings = ls.spec.morris if method == "morris" else ls.spec.sobol
    return sa_indices._indices(method, sa_spec.problem(ls), x, exact, settings, 10, 1)


def test_morris_ranks_the_only_route_first_and_the_unusable_route_at_zero(morris_result):
    res, _ = morris_result
    arr = _rows(res.indices, "arrivals")
    assert arr.loc["guards", "rank"] == 1
    assert arr.loc["fence", "rank"] == 2
    assert arr.loc["sea_patrol", "mu_star"] <= 0.01 * arr.loc["guards", "mu_star"]
    assert arr.loc["guards", "mu"] < 0 and arr.loc["fence", "mu"] < 0  # more control, fewer arrivals


def test_morris_matches_the_exact_function_up_to_binomial_noise(known, morris_result):
    res, _ = morris_result
    exact = _exact_indices(known, "morris", res.out)
    arr = _rows(res.indices, "arrivals")
    # An elementary effect is a difference of two means of R binomial counts over delta = p/(2(p-1)) = 2/3:
    # sd <= sqrt(2 * N/4 / R) / delta; mu* is a mean of |effects|, within 3 such sd of the exact one.
    tol = 3 * math.sqrt(2 * N / 4 / 2) / (2 / 3)
    for j, label in enumerate(["guards", "fence", "sea_patrol"]):
        assert abs(arr.loc[label, "mu_star"] - exact["mu_star"][j]) < tol, label
    assert exact["mu_star"][0] > exact["mu_star"][1] + 2 * tol  # the known answer separates guards and fence


def test_sobol_ranks_the_only_route_first_and_the_unusable_route_at_zero(known, sobol_result):
    arr = _rows(sobol_result.indices, "arrivals")
    assert arr.loc["guards", "rank"] == 1
    assert abs(arr.loc["sea_patrol", "ST"]) < 0.01 and abs(arr.loc["sea_patrol", "S1"]) < 0.01
    exact = _exact_indices(known, "sobol", sobol_result.out)
    # Binomial noise is ~0.2% of the spread of arrivals across the design (noise share), so the indices of the
    # simulation and of the exact function on the same design agree closely.
    assert arr["noise_share"].iloc[0] < 0.01
    for j, label in enumerate(["guards", "fence", "sea_patrol"]):
        assert abs(arr.loc[label, "ST"] - exact["ST"][j]) < 0.05, label
        assert abs(arr.loc[label, "S1"] - exact["S1"][j]) < 0.05, label


def test_second_order_indices_are_written_and_match_the_exact_function(known, tmp_path):
    """`sobol: {second_order: true}` sampled N(2D + 2) points, and SALib computed S2, but only S1 and ST were kept:
    the larger design bought nothing (a probe). S2 of each pair is in indices_s2.csv: SALib's on the point means,
    close to the exact function's on the same design, ~0 for the pairs with the unusable route's patrol."""
    from SALib.analyze.sobol import analyze as sobol_analyze

    spec = yaml.safe_load(known.read_text())
    spec["sobol"]["second_order"] = True
    path = known.parent / "known_s2.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "s2"
    res = sa_run.run_sensitivity(path, "sobol", out, workers=1)
    table = pd.read_csv(out / "indices_s2.csv")
    pd.testing.assert_frame_equal(table, res.second_order.reset_index(drop=True), check_dtype=False)
    assert len(table) == 3 * 3 and list(table.columns[:6]) == ["outcome", "expression", "parameter_a", "label_a",
                                                                "parameter_b", "label_b"]
    arr = table[table["outcome"] == "arrivals"].set_index(["label_a", "label_b"])
    ls = sa_spec.load_sensitivity(path)
    design = pd.read_csv(out / "point_means.csv")
    by_hand = sobol_analyze(sa_spec.problem(ls), design["arrivals"].to_numpy(), calc_second_order=True, seed=1)
    exact = sobol_analyze(sa_spec.problem(ls), expected_arrivals(design[GUARDS].to_numpy(),
                                                                 design[FENCE].to_numpy()),
                          calc_second_order=True, seed=1)
    for (i, a), (j, b) in [((0, "guards"), (1, "fence")), ((0, "guards"), (2, "sea_patrol")),
                           ((1, "fence"), (2, "sea_patrol"))]:
        assert arr.loc[(a, b), "S2"] == pytest.approx(by_hand["S2"][i, j], abs=1e-12)
        assert abs(arr.loc[(a, b), "S2"] - exact["S2"][i, j]) < 0.05, (a, b)
        assert arr.loc[(a, b), "S2_conf"] > 0
    assert table[table["outcome"] == "river_share"]["S2"].isna().all()  # a constant outcome: nothing to apportion
    # the same directory without second-order indices: the table of the earlier analysis goes
    spec["sobol"]["second_order"] = False
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    res = sa_run.run_sensitivity(path, "sobol", out, workers=1, force=True)
    assert res.second_order is None and not (out / "indices_s2.csv").exists()


def test_constant_outcomes_do_not_break_the_analysis(morris_result, sobol_result):
    m = _rows(morris_result[0].indices, "sea_arrivals")
    assert (m["mu_star"] == 0).all() and (m["sigma"] == 0).all()
    s = _rows(sobol_result.indices, "river_share")  # always 1: no variance to apportion
    assert s[["S1", "ST"]].isna().all().all() and s["rank"].isna().all()
    assert " - " in sa_indices.ranking_table(sobol_result.indices[sobol_result.indices["outcome"] == "river_share"])
    # two replicates: the seed noise is n/a because the outcome does not vary (it said "1 replicate")
    text = sa_indices.ranking_table(morris_result[0].indices[morris_result[0].indices["outcome"] == "sea_arrivals"])
    assert "seed noise: n/a (the outcome's point means do not vary over the design)" in text, text


def test_outputs_on_disk(known, morris_result):
    res, _ = morris_result
    ind = pd.read_csv(res.out / "indices.csv")
    assert len(ind) == 3 * 3  # parameters x outcomes
    for col in ("parameter", "outcome", "mu_star", "mu_star_conf", "sigma", "mu_star_seed_conf", "noise_share"):
        assert col in ind.columns
    assert set(ind["parameter"]) == {GUARDS, FENCE, PATROL}
    assert not (res.out / "figures").exists()  # an analysis draws nothing; the command draws from its result
    from sim.plots.sensitivity import write_figures

    write_figures(res.indices, res.out / "figures")
    assert (res.out / "figures" / "morris.png").stat().st_size > 10_000
    assert (res.out / "figures" / "morris_overview.png").stat().st_size > 5_000
    assert "guards" in (res.out / "ranking.txt").read_text()
    exp = yaml.safe_load((res.out / "experiment.yaml").read_text())
    assert exp["design"] == {"type": "points"} and exp["outputs"]["timeseries"] is False
    assert len(exp["parameters"][GUARDS]) == 6 * (3 + 1)
    assert res.runs == 6 * 4 * 2


def test_one_outcome_with_long_parameter_labels_is_laid_out(morris_result, sobol_result, tmp_path):
    """Long labels (dotted paths of parameters without a label): a legend beside one panel, the points' labels and
    Sobol's y labels squeezed the panels to nothing and matplotlib printed "constrained_layout not applied" with
    its file path on standard error."""
    import warnings

    from sim.plots.sensitivity import figures

    for result in (morris_result[0], sobol_result):
        every = result.indices.assign(label=result.indices["parameter"] + ".and_a_long_description_of_it")
        one = every[every["outcome"] == every["outcome"].iloc[0]]
        for indices in (one, every):  # one panel, and a row of panels with their point labels and y labels
            for stem, (_name, fig) in figures(indices).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    fig.savefig(tmp_path / f"{stem}.png")


def test_sobol_columns(sobol_result):
    for col in ("S1", "S1_conf", "ST", "ST_conf", "S1_seed_conf", "ST_seed_conf"):
        assert col in sobol_result.indices.columns
    assert len(sobol_result.indices) == 9


def test_rerun_resumes_without_running_again(known, morris_result):
    res, _ = morris_result
    calls = []
    again = sa_run.run_sensitivity(known, "morris", res.out, workers=1,
                               progress=lambda done, total: calls.append((done, total)))
    assert calls == [(48, 48)]  # every run was already on disk
    pd.testing.assert_frame_equal(again.indices, res.indices)


def test_the_directory_keeps_its_spec_and_base_and_resumes_moved_away_from_them(known, morris_result, tmp_path):
    """OUT holds the base scenario and the spec with every setting (Morris levels, bootstrap draws: in no other
    file), so that it can be moved, and the original files changed, and still be run again with the same result."""
    from sim.experiments.sweep import plan, run_sweep

    res, _ = morris_result
    moved = tmp_path / "moved"
    shutil.copytree(res.out, moved)
    kept = yaml.safe_load((moved / "spec.yaml").read_text())
    assert kept["scenario"] == "base.yaml" and kept["seed_bootstrap"] == 50 and kept["morris"]["levels"] == 4
    assert kept["parameters"][GUARDS]["label"] == "guards" and kept["replicates"] == 2
    assert yaml.safe_load((moved / "experiment.yaml").read_text())["scenario"] == "base.yaml"
    assert sa_spec.load_sensitivity(moved / "spec.yaml").base == sa_spec.load_sensitivity(known).base
    base = (moved / "base.yaml").read_bytes()
    # the originals named relative to where OUT was made (absolute paths differed from clone to clone, a probe)
    assert base.startswith(f"# Base of the sensitivity sweep of {os.path.relpath(known, res.out)} (generated): "
                           f"{os.path.relpath(known.parent, res.out)}/".encode()), base[:200]
    calls = []
    again = sa_run.run_sensitivity(moved / "spec.yaml", "morris", moved, workers=1,
                                   progress=lambda done, total: calls.append((done, total)))
    assert calls == [(48, 48)]  # the same design: every run was on disk
    pd.testing.assert_frame_equal(again.indices, res.indices)
    assert (moved / "base.yaml").read_bytes() == base  # it still names the files it came from
    assert len(run_sweep(plan(moved / "experiment.yaml"), moved / "sweep", workers=1)) == 48  # the docs' recipe


def test_a_file_of_the_users_named_like_a_new_record_in_an_older_directory_is_not_replaced(known, morris_result,
                                                                                        tmp_path):
    """A directory of an earlier version held no spec.yaml or base.yaml: a file so named there is the user's."""
    res, _ = morris_result
    older = tmp_path / "older"
    shutil.copytree(res.out, older)
    (older / "base.yaml").unlink()
    for name, text in (("spec.yaml", "# my notes on this analysis\n"), ("spec.yaml", "# my spec (generated by hand)\n"),
                       ("base.yaml", "# my notes on this analysis\n")):
        (older / name).write_text(text)
        before = {p: p.read_bytes() for p in sorted(older.rglob("*")) if p.is_file()}
        with pytest.raises(UsageError, match=f"{older / name}: exists and is not a file bordersim wrote"):
            sa_run.run_sensitivity(known, "morris", older, workers=1)
        assert {p: p.read_bytes() for p in sorted(older.rglob("*")) if p.is_file()} == before
        (older / name).unlink()
    sa_run.run_sensitivity(known, "morris", older, workers=1)  # without them it resumes, and writes both
    assert (older / "spec.yaml").read_bytes() == (res.out / "spec.yaml").read_bytes()


# ------------------------------------------------------------------------------------------- seed noise


def test_noise_share_against_its_expectation():
    """Point effects with variance V plus iid seed noise sigma^2: the point means have variance V + sigma^2/R,
    so the noise share tends to (sigma^2/R) / (V + sigma^2/R)."""
    rng = np.random.default_rng(3)
    points, r, v, s2 = 4000, 4, 1.0, 2.0
    y = rng.normal(0, math.sqrt(v), (points, 1)) + rng.normal(0, math.sqrt(s2), (points, r))
    expected = (s2 / r) / (v + s2 / r)
    assert sa_indices.noise_share(y) == pytest.approx(expected, abs=0.02)
    assert math.isnan(sa_indices.noise_share(y[:, :1]))
    assert sa_indices.noise_share(np.repeat(y[:, :1], 3, axis=1)) == pytest.approx(0.0, abs=1e-12)


def test_seed_intervals_vanish_without_seed_noise_and_grow_with_it(known):
    ls = sa_spec.load_sensitivity(known)
    x = sa_run.sample(ls, "morris")
    f = expected_arrivals(x[:, 0], 0.5 * x[:, 1])
    quiet = {o.name: np.repeat(f[:, None], 4, axis=1) for o in ls.outcomes}
    rng = np.random.default_rng(0)
    noisy = {o.name: f[:, None] + rng.normal(0, 50, (len(f), 4)) for o in ls.outcomes}
    q = sa_indices.analyze(ls, "morris", x, quiet)
    n = sa_indices.analyze(ls, "morris", x, noisy)
    assert (q["mu_star_seed_conf"] <= 1e-9 * q["mu_star"].max()).all()  # zero up to rounding
    assert (n["mu_star_seed_conf"] > 0).all()


@pytest.mark.filterwarnings("error::UserWarning")  # matplotlib's, for a legend on a panel without bars
@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_an_outcome_some_runs_have_no_value_for_gets_no_indices_and_a_warning(known, method):
    """A female share of years in which nobody arrived is NaN in those runs: the outcome gets no indices, the
    runs are counted and the warning says so (it was reported as an outcome that does not vary over the design);
    another outcome of the same runs keeps its indices, the same as without the gap."""
    ls = sa_spec.load_sensitivity(known)
    x = sa_run.sample(ls, method)
    f = expected_arrivals(x[:, 0], 0.5 * x[:, 1])
    rng = np.random.default_rng(0)
    whole = {o.name: f[:, None] + rng.normal(0, 5, (len(f), 2)) for o in ls.outcomes}
    gap = {name: v.copy() for name, v in whole.items()}
    first, *rest = [o.name for o in ls.outcomes]
    gap[first][[1, 4], 0] = np.nan
    a, b = sa_indices.analyze(ls, method, x, whole), sa_indices.analyze(ls, method, x, gap)
    holed = b[b["outcome"] == first]
    key = "mu_star" if method == "morris" else "ST"
    assert holed[key].isna().all() and holed["rank"].isna().all() and (holed["runs_without_value"] == 2).all()
    assert (holed["warning"] == f"no value in 2 of {2 * len(f)} runs").all()
    warnings = sa_indices.index_warnings(b)
    assert warnings[0].startswith(f"outcome {first} = ") and "has no value in 2 runs" in warnings[0]
    assert "no value in 2 runs" in sa_indices.ranking_table(b) and "do not vary" not in sa_indices.ranking_table(b)
    assert list(a.columns) == list(b.columns)
    from sim.plots.sensitivity import morris_figure, sobol_figure

    fig = (morris_figure if method == "morris" else sobol_figure)(b)
    said = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no value in 2 runs:\nno indices" in said  # the panel says why it is empty
    if rest:
        pd.testing.assert_frame_equal(a[a["outcome"] == rest[0]].reset_index(drop=True),
                                      b[b["outcome"] == rest[0]].reset_index(drop=True), check_dtype=False)


# ----------------------------------------------------------------------------------------- outcome language


ROUTES = ["river", "dmz", "sea"]
YEARS = range(2000, 2005)


def test_outcome_language_evaluates_as_documented():
    runs = pd.DataFrame({"arrived": [10, 0], "killed": [4, 0], "route.river.arrived": [3, 0],
                         "route.sea.arrived": [5, 0], "route.dmz.arrived": [2, 0], "route.dmz.killed": [4, 0],
                         "route.sea.killed": [0, 0], "year.2001.arrived": [1, 0], "year.2002.arrived": [6, 0],
                         "year.2003.arrived": [3, 0], "year.2001.female_share": [1.0, float("nan")],
                         "year.2002.female_share": [0.5, float("nan")], "year.2003.female_share": [0.0, float("nan")]})

    def ev(expr):
        return sa_outcomes.parse_outcome("o", expr, ROUTES, YEARS).evaluate(runs).tolist()

    assert ev("arrived") == [10, 0]
    assert ev("killed(dmz)") == [4, 0]
    assert ev("arrived(river + sea)") == [8, 0]
    assert ev("share(sea)") == [0.5, 0.0]  # 0 when nobody arrived
    assert ev("share(dmz + sea, killed)") == [1.0, 0.0]
    assert ev("arrived(2001..2002)") == [7, 0]
    assert ev("arrived(2003)") == [3, 0]
    assert sa_outcomes.parse_outcome("o", "share(dmz)", ROUTES, YEARS).needs() == {"totals", "by_route"}
    assert sa_outcomes.parse_outcome("o", "arrived(2001..2002)", ROUTES, YEARS).needs() == {"by_year"}
    # women among the years' arrivals: (1 * 1 + 0.5 * 6) / 7 and (1 + 3 + 0) / 10; NaN when nobody arrived
    assert ev("female_share(2001..2002)")[0] == 4 / 7 and ev("female_share(2001..2003)")[0] == 0.4
    assert np.isnan(ev("female_share(2002)")[1])
    assert sa_outcomes.parse_outcome("o", "female_share(2001)", ROUTES, YEARS).needs() == {"by_year"}


def test_a_female_share_is_the_ratio_of_whole_counts_though_runs_store_rounded_shares():
    """Runs store a year's female share rounded to 6 decimals (1 of 3 is 0.333333): the outcome recovers the
    counts, so 1 of 3 and 5 of 15 women are exactly 1/3, not 0.333333 or 0.3333332666..."""
    from sim.outcomes import female_arrivals

    runs = pd.DataFrame({"year.2001.arrived": [3.0, 3.0, 999_999.0], "year.2002.arrived": [0.0, 12.0, 0.0],
                         "year.2001.female_share": [0.333333, 0.333333, round(333_333 / 999_999, 6)],
                         "year.2002.female_share": [float("nan"), round(4 / 12, 6), float("nan")]})
    got = sa_outcomes.parse_outcome("o", "female_share(2001..2002)", ROUTES, YEARS).evaluate(runs).tolist()
    assert got == [1 / 3, 5 / 15, 333_333 / 999_999]
    # beyond 10^6 arrivals a year the rounding may move a count by more than 1/2: the product is used as it is
    assert female_arrivals(np.array([3e6]), np.array([0.1234567])).tolist() == [3e6 * 0.1234567]


@pytest.mark.parametrize("expr, says", [
    ("arrivals", "unknown outcome 'arrivals'"),
    ("share", "share needs routes"),
    ("arrived(land)", "unknown route 'land'; routes of the scenario: river, dmz, sea"),
    ("killed(2001..2002)", "only arrivals are counted by year"),
    ("arrived(1999..2001)", "inside the scenario's horizon 2000..2004"),
    ("arrived(2003..2001)", "must be in order"),
    ("share(sea, deaths)", "unknown outcome 'deaths'"),
    ("arrived(river, sea)", "routes are joined by '+'"),
    ("arrived - killed", "cannot read"),
    ("female_share", "female_share needs years"),
    ("female_share(sea)", "female_share needs years"),
    ("female_share(2004..2006)", "inside the scenario's horizon 2000..2004"),
    ("share(sea + sea)", "names the route sea more than once"),  # was 2 x share(sea): a share above 1
    ("arrived(0999..2001)", "years 0999..2001 must be in order and inside the scenario's horizon 2000..2004 (years "
                            "are written with four digits)"),  # a year before 1000 was shown as 999, which it refuses
    ("killed(dmz + river + dmz)", "names the route dmz more than once"),
])
def test_outcome_language_errors(expr, says):
    with pytest.raises(ValueError, match=re_escape(says)):
        sa_outcomes.parse_outcome("o", expr, ROUTES, YEARS)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


# -------------------------------------------------------------------------------------------- spec errors


def _spec(tmp_path, **changes) -> str:
    spec = {"name": "s", "scenario": str(ROOT / "scenarios" / "toy.yaml"),
            "parameters": {"network.edges.dmz.controls.mines": {"low": 0.0, "high": 1.0}},
            "outcomes": {"arrivals": "arrived"}}
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("changes, key, says", [
    ({"parameters": {"network.edges.dmz.controls.mine": {"low": 0, "high": 1}}},
     "parameters.network.edges.dmz.controls.mine", "unknown path"),
    ({"parameters": {"network.edges.dmz.controls.mines": {"low": 0, "high": 2}}},
     "parameters.network.edges.dmz.controls.mines", "invalid at high = 2"),
    ({"parameters": {"network.edges.dmz.controls.mines": {"low": 1, "high": 1}}},
     "parameters.network.edges.dmz.controls.mines", "must be above low"),
    ({"outcomes": {"x": "share(land)"}}, "outcomes.x", "unknown route 'land'"),
    ({"sobol": {"samples": 48}}, "sobol.samples", "power of two"),
    ({"morris": {"levels": 5}}, "morris.levels", "must be even"),
    ({"fixed": {"population.sizes": 100}}, "fixed.population.sizes", "unknown path"),
    ({"replicate": 3}, "replicate", "unknown key"),
    # a count takes dist: integer: the points of a continuous range were fractions, refused after the design was
    # built, naming the analysis's experiment.yaml (a probe); a log-uniform bound of 1000 showed as 999.99...
    ({"parameters": {"population.size": {"low": 1000, "high": 3000}}}, "parameters.population.size",
     "whole number at 'population.size' (a count): give it `dist: integer`"),
    ({"parameters": {"population.size": {"low": 1000, "high": 3000, "dist": "loguniform"}}},
     "parameters.population.size", "give it `dist: integer` (the whole numbers low..high), not loguniform"),
])
def test_spec_errors_name_key_and_line(tmp_path, changes, key, says):
    with pytest.raises(ScenarioError) as err:
        sa_spec.load_sensitivity(_spec(tmp_path, **changes))
    assert says in err.value.message
    assert err.value.key == key
    assert err.value.line is not None


def test_every_spec_key_is_documented():
    text = (ROOT / "docs" / "sensitivity.md").read_text()
    models = [sa_spec.SensitivitySpec, sa_spec.Bounds, sa_spec.MorrisSettings, sa_spec.SobolSettings]
    missing = [k for m in models for k in m.model_fields if f"{k}:" not in text]
    assert not missing, f"keys missing from docs/sensitivity.md: {missing}"


def test_design_sizes(tmp_path):
    ls = sa_spec.load_sensitivity(_spec(tmp_path, parameters={
        "network.edges.dmz.controls.mines": {"low": 0, "high": 1},
        "network.edges.boat.controls.patrol": {"low": 0, "high": 1},
        "population.groups.ordinary.departure_rate": {"low": 1e-3, "high": 4e-3, "dist": "loguniform"}},
        morris={"trajectories": 5}, sobol={"samples": 8}, replicates=3))
    assert sa_run.design_size(ls, "morris") == (5 * 4, 5 * 4 * 3)
    assert sa_run.design_size(ls, "sobol") == (8 * 5, 8 * 5 * 3)
    assert sa_run.sample(ls, "morris").shape == (20, 3)
    assert sa_run.sample(ls, "sobol").shape == (40, 3)
    spec = sa_run.experiment_spec(ls, "sobol", sa_run.sample(ls, "sobol"))
    rates = spec["parameters"]["population.groups.ordinary.departure_rate"]
    assert min(rates) >= 1e-3 and max(rates) <= 4e-3


# -------------------------------------------------------------------------------------------------- command


def _parser():
    ap = argparse.ArgumentParser()
    sensitivity_cli.register(ap.add_subparsers())
    return ap


def test_dry_run_prints_the_run_count_and_runs_nothing(capsys, tmp_path):
    out = tmp_path / "out"
    args = _parser().parse_args(["sensitivity", str(ROOT / "experiments" / "toy_sensitivity.yaml"),
                                 "--method", "morris", "--out", str(out), "--dry-run"])
    assert args.func(args) == 0
    assert "70 points x 2 replicates = 140 runs" in capsys.readouterr().out
    assert not out.exists()
    args = _parser().parse_args(["sensitivity", str(ROOT / "experiments" / "toy_sobol.yaml"),
                                 "--method", "sobol", "--dry-run"])
    args.func(args)
    assert "2560 points x 2 replicates = 5120 runs" in capsys.readouterr().out


def test_bad_spec_is_bad_input(tmp_path):
    args = _parser().parse_args(["sensitivity", str(tmp_path / "missing.yaml"), "--method", "sobol"])
    with pytest.raises(ScenarioError, match="file not found"):
        args.func(args)


def test_cli_exit_code_for_bad_input(tmp_path, capsys):
    from sweep_helpers import call_main  # in this process: the same parser and exit-code mapping as the command

    proc = call_main(capsys, "sensitivity", _spec(tmp_path, outcomes={"x": "share(land)"}), "--method", "morris",
                     "--dry-run")
    assert proc.returncode == 2
    assert "outcomes.x" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_toy_spec_end_to_end(tmp_path):
    """The shipped toy spec runs; a sea patrol can only lower the share of arrivals that came by sea."""
    res = sa_run.run_sensitivity(ROOT / "experiments" / "toy_sensitivity.yaml", "morris", tmp_path / "toy", workers=2)
    share = _rows(res.indices, "sea_share")
    assert share.loc["sea_patrol", "rank"] == 1 and share.loc["sea_patrol", "mu"] < 0
    assert res.indices[["mu_star", "sigma", "mu_star_conf"]].notna().all().all()


def test_a_missing_salib_is_bad_input_naming_the_extra_before_anything_is_written(known, tmp_path, monkeypatch,
                                                                                   capsys):
    """Without SALib (the extra bordersim[sensitivity]) the command was "internal failure: ModuleNotFoundError"
    and exit 1, as the other extras are not (a probe)."""
    import sys

    from sim.cli import main

    monkeypatch.setitem(sys.modules, "SALib", None)  # `import SALib` raises ImportError
    out = tmp_path / "out"
    assert main(["sensitivity", str(known), "--method", "morris", "--out", str(out), "--workers", "1",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bordersim[sensitivity]" in err and "pip install" in err and "internal failure" not in err, err
    assert not out.exists()
