"""Hold-out validation of a rejection calibration (sim/analysis/calibration/holdout.py, docs/validation.md): the
held-out fit is the calibration without the target, on the same first-round runs; its predictive comes from those
points' runs; a target the others inform is predicted inside its band and far more narrowly than by the prior;
re-running the command on a finished directory rewrites the tables without a run; `method: smc` is not validated.

One toy calibration (module fixture, about 40 runs) serves all but the SMC test. Its one free parameter is the
overseas workers' departure rate: the only group that arrives through the post abroad (route `abroad`) and
mostly men (20% women against the ordinary group's 70%), so the route share of `abroad` and the female share of
arrivals are two readings of the same simulated quantity, the overseas workers' share of arrivals. The observed
shares are those of one truth run at 16 times the population (their noise a quarter of a calibration run's)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import seed
from sim.analysis.calibration.abc import calibrate
from sim.analysis.calibration.distance import run_predictions, score_points
from sim.analysis.calibration.holdout import BANDS, SMC_NOTE
from sim.analysis.calibration.posterior import accept
from sim.analysis.calibration.spec import load_calibration
from sim.cli import main as cli_main
from sim.engine.engines import run
from sim.loading import load_scenario
from test_calibration import TOY, write

RATE = "population.groups.overseas_worker.departure_rate"
TRUTH_RATE = 0.004  # the geometric centre of the prior [0.0005, 0.032]
BIG = 16  # the truth run's population over the calibration's


def truth(tmp_path: Path) -> tuple[Path, float, float]:
    """One run of the toy at TRUTH_RATE and BIG times its population: its yearly arrivals / BIG as an observed
    series (observed.csv), its female share and its `abroad` route share over 2000-2004."""
    base = load_scenario(TOY)
    scenario = load_scenario(TOY, overrides=[f"{RATE}={TRUTH_RATE}", f"population.size={base.population.size * BIG}"])
    result = run(scenario, seed=seed(7101), engine="arrays")
    arrivals, shares = result.arrivals_by_year(), result.female_share_by_year()
    lines = ["period_start,period_end,arrivals,male,female,source,note"]
    for year, a in arrivals.items():
        n = round(a / BIG)
        f = round(n * (shares[year] or 0.0))
        lines.append(f"{year},{year},{n},{n - f},{f},synthetic,")
    female = sum(a * (shares[y] or 0.0) for y, a in arrivals.items()) / sum(arrivals.values())
    routes = {r: v["arrived"] for r, v in result.by_route().items()}
    return write(tmp_path / "observed.csv", "\n".join(lines) + "\n"), female, routes["abroad"] / sum(routes.values())


def spec(tmp_path: Path, female: float, route: float, *, omit: str | None = None, extra: str = "",
         samples: int = 32) -> Path:
    """The toy calibration of the overseas workers' rate against arrivals, female share and route share (the
    target `omit` left out), written to tmp_path."""
    targets = {"arrivals": "{years: [2000, 2004]}",
               "female_share": f"{{years: [2000, 2004], value: {female:.6f}}}",
               "route_share": f"{{years: [2000, 2004], routes: [abroad], value: {route:.6f}}}"}
    lines = "".join(f"  {k}: {v}\n" for k, v in targets.items() if k != omit)
    return write(tmp_path / f"holdout{'_' + omit if omit else ''}.yaml", f"""name: holdout
scenario: {TOY}
observed: observed.csv
parameters:
  {RATE}: {{dist: loguniform, low: 0.0005, high: 0.032}}
targets:
{lines}sampling: {{design: sobol, samples: {samples}, replicates: 1, seed: 5}}
accept: {{quantile: 0.25}}
check: {{replicates: 1, candidates: 1}}
point: best
{extra}""")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("holdout")
    _, female, route = truth(tmp)
    path = spec(tmp, female, route, extra="refine: {samples: 8, expand: 0.1}\n")
    result = calibrate(path, tmp / "out", workers=1)
    return tmp, path, result, female, route


def test_held_out_fit_is_the_calibration_without_the_target_on_the_same_runs(toy):
    tmp, path, result, female, route = toy
    ho = result.holdout
    assert ho is not None and sorted(ho.accepted) == ["arrivals", "female_share", "route_share"]
    runs = pd.read_parquet(tmp / "out" / "sweep" / "runs.parquet")
    design = pd.read_csv(tmp / "out" / "points.csv").query("round == 1")[["point", RATE]]
    assert len(design) == 32 and len(runs) == 32  # the first round only: round 2 (8 points) is not used
    for kind in ho.accepted:
        lc = load_calibration(spec(tmp, female, route, omit=kind))  # a spec that simply leaves the target out
        by_hand, eps = accept(score_points(design, run_predictions(runs, lc, tmp / "out" / "sweep", 1.0), lc), 0.25)
        assert sorted(ho.accepted[kind]) == sorted(by_hand["point"]) and ho.epsilon[kind] == eps, kind
        assert len(by_hand) == 8  # the 0.25 quantile of 32 distances, lower: 8 points
    # The three held-out fits differ from each other (each target moves the acceptance).
    assert len({tuple(sorted(v)) for v in ho.accepted.values()}) > 1


def test_predictive_of_the_held_out_target_is_over_exactly_its_points_runs(toy):
    tmp, _, result, _, route = toy
    runs = pd.read_parquet(tmp / "out" / "sweep" / "runs.parquet")
    counts = runs[[c for c in runs.columns if c.startswith("route.") and c.endswith(".arrived")]]
    share = (runs["route.abroad.arrived"] + 0.5) / (counts.sum(axis=1) + 1.0)  # the target's smoothed share
    table = pd.read_csv(tmp / "out" / "holdout.csv")
    points = {"holdout": result.holdout.accepted["route_share"],
              "full": pd.read_csv(tmp / "out" / "points.csv").query("round == 1").nsmallest(8, "distance")["point"],
              "prior": runs["point"]}
    for fit, chosen in points.items():
        row = table[(table["kind"] == "route_share") & (table["fit"] == fit)]
        assert len(row) == 1 and row["points"].iloc[0] == len(set(chosen))
        values = share[runs["point"].isin(chosen)].to_numpy()
        for col, q in BANDS.items():
            assert row[col].iloc[0] == pytest.approx(np.quantile(values, q)), (fit, col)
        assert row["observed_low"].iloc[0] == row["observed_high"].iloc[0] == pytest.approx(route, abs=1e-6)
    # Arrivals: one row per observed year and fit; female share (pooled value): one row.
    assert (table.query("kind == 'arrivals'").groupby("fit").size() == 5).all()
    assert (table.query("kind == 'female_share'").groupby("fit").size() == 1).all()
    summary = pd.read_csv(tmp / "out" / "holdout_summary.csv").set_index("kind")
    band = table.query("kind == 'route_share' and fit == 'holdout'").iloc[0]
    assert summary.loc["route_share", "in_90_holdout"] == int(band["in_90"])
    points_csv = pd.read_csv(tmp / "out" / "points.csv").set_index("point")
    held = points_csv.loc[result.holdout.accepted["route_share"], "d_route_share"]
    assert summary.loc["route_share", "d_holdout"] == pytest.approx(np.median(held))


def test_a_target_the_others_inform_is_predicted_inside_a_band_much_narrower_than_the_prior(toy):
    """Statistical, 2 checks in conftest's tally. The female share (held in) and the route share (held out) both
    measure the overseas workers' share of arrivals, so the fit without the route share predicts it from the
    female share. Its 90% band spans the 8 held-out points' runs, whose rates straddle the truth in the prior's
    log scale (the 8 of 32 Sobol points whose female share, with arrivals, is closest to the truth's); the
    observation, a truth run at 16 times the size, sits near the truth's expected share (its noise a quarter of a
    calibration run's). Missing the band needs the observed share outside the 5-95% quantile of 8 runs
    spread over the accepted rates: over 8 seed offsets (0-7) it lay between the 25% and 75% quantiles every time,
    with the band spanning 3-6 run standard deviations; a miss would need a deviation of more than 5 truth-run
    standard deviations (P < 1e-6 < ALPHA). The prior predictive spans the prior's factor of 64 in the rate;
    the held-out band a fraction of it (a factor of 4 in width, measured 0.1-0.2)."""
    tmp, _, result, _, route = toy
    summary = result.holdout.summary.set_index("kind")
    table = result.holdout.table
    held = table.query("kind == 'route_share' and fit == 'holdout'").iloc[0]
    prior = table.query("kind == 'route_share' and fit == 'prior'").iloc[0]
    assert held["q05"] <= route <= held["q95"] and held["in_90"], held.to_dict()
    assert prior["q05"] <= route <= prior["q95"]
    assert summary.loc["route_share", "width_90_holdout_over_prior"] < 0.25, summary.loc["route_share"].to_dict()
    # The held-out distance term is far below the prior's median term: the other targets carry its information.
    assert summary.loc["route_share", "d_holdout"] < 0.5 * summary.loc["route_share", "d_prior"]


def test_rerunning_the_command_rewrites_the_hold_out_tables_without_a_run(toy, capsys):
    tmp, path, _, _, _ = toy
    out = tmp / "rerun"
    shutil.copytree(tmp / "out", out)  # the directory can be moved (its specs name their base relatively)
    sweeps = ("sweep", "sweep_round2", "check")
    rows = {s: len(pd.read_parquet(out / s / "runs.parquet")) for s in sweeps}
    records = {p: p.stat().st_mtime_ns for s in sweeps for p in (out / s / "runs").glob("*.json")}
    before = {n: (out / n).read_bytes() for n in ("holdout.csv", "holdout_summary.csv", "points.csv")}
    (out / "holdout.csv").unlink()
    assert cli_main(["calibrate", str(path), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert {n: (out / n).read_bytes() for n in before} == before
    assert {s: len(pd.read_parquet(out / s / "runs.parquet")) for s in sweeps} == rows
    assert {p: p.stat().st_mtime_ns for s in sweeps for p in (out / s / "runs").glob("*.json")} == records
    assert "hold-out validation" in printed and "route_share" in printed.split("hold-out validation")[1]


def test_an_smc_calibration_gets_a_note_and_no_hold_out_files(tmp_path):
    _, female, route = truth(tmp_path)
    path = spec(tmp_path, female, route, samples=4,
                extra="method: smc\nsmc: {generations: 1, particles: 2, batch: 2, quantile: 0.5}\n")
    out = tmp_path / "out"
    out.mkdir()
    write(out / "holdout.csv", "")  # left by an earlier rejection calibration: it would describe another fit
    from sim.outputs import write_marker

    write_marker(out, "calibration")
    result = calibrate(path, out, workers=1)
    assert result.holdout is None and SMC_NOTE in result.notes
    assert not (out / "holdout.csv").exists() and not (out / "holdout_summary.csv").exists()
