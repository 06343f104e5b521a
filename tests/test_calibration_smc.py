"""Sequential ABC (`method: smc`): the SMC core on a conjugate problem with a known posterior (kernel, truncation,
weights, epsilon schedule, narrowing against rejection at equal budget), the spec keys, and the sweep-engine
plumbing on a tiny toy calibration (generations as sweeps, interruption and resume, identical files); the slow
simulation-based-calibration coverage checks of docs/calibration.md."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ALPHA, seed
from scipy import integrate
from scipy.stats import binom, binomtest, norm, ttest_1samp

from sim.analysis.calibration.abc import calibrate
from sim.analysis.calibration.smc import (SmcSettings, importance_weights, kernel_density, kernel_scale, propose,
                                          proposal_rng, run_smc, weighted_quantile)
from sim.analysis.calibration.spec import load_calibration
from sim.cli import main as cli_main
from sim.errors import ScenarioError
from sim.experiments.sweep import SweepInterrupted

from test_calibration import TOY, TRUTH, spec_text, synthetic_spec, write


def toy_spec(tmp_path: Path, samples: int, quantile: float, extra: str, truth: dict[str, float] = TRUTH,
             truth_seed: int = 4242) -> Path:
    """`test_calibration.synthetic_spec` with one replicate per point and one in the check."""
    return synthetic_spec(tmp_path, samples, 1, quantile, extra, truth_seed=truth_seed, truth=truth,
                          check_replicates=1)

# ------------------------------------------------------------------------------ the conjugate problem
# theta ~ U(0, 1) (the unit cube of one prior), x | theta ~ N(theta, SIGMA^2), observed X_OBS, distance |x - X_OBS|.
# The ABC posterior at tolerance eps is the prior times P(|x - X_OBS| <= eps | theta): with X_OBS well inside the
# cube, symmetric about X_OBS (mean X_OBS) with variance SIGMA^2 + eps^2 / 3; as eps -> 0 it is N(X_OBS, SIGMA^2).
SIGMA, X_OBS = 0.01, 0.4


def conjugate(rng: np.random.Generator, x_obs: float = X_OBS):
    """simulate(generation, batch, u) -> |theta + SIGMA z - x_obs| for the conjugate problem."""
    return lambda generation, batch, u: np.abs(u[:, 0] + SIGMA * rng.standard_normal(len(u)) - x_obs)


def truncated_normal_pdf(x: float, centre: float, sigma: float) -> float:
    """The normal density on [0, 1], written out: phi((x - c) / s) / s / (Phi((1 - c) / s) - Phi(-c / s))."""
    return norm.pdf((x - centre) / sigma) / sigma / (norm.cdf((1 - centre) / sigma) - norm.cdf(-centre / sigma))


def test_kernel_density_is_the_truncated_normal_product_and_integrates_to_one_over_the_cube():
    centre, sigma = np.array([0.05, 0.9]), np.array([0.2, 0.3])  # near the edges: truncation matters
    k = kernel_density(np.array([[0.3, 0.5]]), centre[None, :], sigma)[0, 0]
    assert k == pytest.approx(truncated_normal_pdf(0.3, 0.05, 0.2) * truncated_normal_pdf(0.5, 0.9, 0.3))
    total, err = integrate.dblquad(lambda y, x: kernel_density(np.array([[x, y]]), centre[None, :], sigma)[0, 0],
                                   0, 1, 0, 1, epsabs=1e-9)
    assert total == pytest.approx(1.0, abs=1e-6)
    # Without the truncation factor the mass inside the cube would be well below 1 here.
    inside = np.prod(norm.cdf((1 - centre) / sigma) - norm.cdf(-centre / sigma))
    assert inside < 0.7


def test_importance_weights_sum_to_one_and_follow_the_formula():
    rng = np.random.default_rng(seed(1))
    previous = rng.random((7, 2))
    pw = rng.random(7)
    pw /= pw.sum()
    sigma = kernel_scale(previous, pw)
    theta = propose(rng, previous, pw, sigma, 20)
    assert theta.shape == (20, 2) and ((theta >= 0) & (theta <= 1)).all()
    w = importance_weights(theta, previous, pw, sigma)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    mix = [sum(pw[j] * truncated_normal_pdf(t[0], previous[j, 0], sigma[0])
               * truncated_normal_pdf(t[1], previous[j, 1], sigma[1]) for j in range(7)) for t in theta]
    expected = 1 / np.array(mix)
    np.testing.assert_allclose(w, expected / expected.sum(), rtol=1e-10)
    # sigma^2 = 2 x the weighted variance per dimension.
    mean = pw @ previous
    np.testing.assert_allclose(sigma ** 2, 2 * (pw @ (previous - mean) ** 2), rtol=1e-10)


def test_epsilon_never_grows_and_the_same_seed_gives_the_same_generations():
    settings = SmcSettings(generations=4, particles=50, batch=100)

    def once(s: int):
        prior = np.random.default_rng(seed(2)).random((200, 1))
        return run_smc(conjugate(np.random.default_rng(seed(3))), prior, 0.25, settings, seed=s)

    a, b, c = once(7), once(7), once(8)
    eps = [g.epsilon for g in a.generations]
    assert len(eps) == 5 and all(e1 <= e0 for e0, e1 in zip(eps, eps[1:])) and eps[-1] < eps[0]
    for g in a.generations:
        assert (g.distance[g.accepted] <= g.epsilon).all() and (g.distance[~g.accepted] > g.epsilon).all()
        assert g.weight.sum() == pytest.approx(1.0) and len(g.weight) == g.accepted.sum()
        assert g.index == 0 or g.accepted.sum() >= 50
    for ga, gb in zip(a.generations, b.generations):
        np.testing.assert_array_equal(ga.u, gb.u)
        np.testing.assert_array_equal(ga.weight, gb.weight)
    assert not np.array_equal(a.generations[1].u, c.generations[1].u)
    assert np.array_equal(proposal_rng(7, 2, 1).random(3), proposal_rng(7, 2, 1).random(3))


def test_low_acceptance_stops_and_an_incomplete_generation_is_not_the_posterior():
    # A simulator whose distance never drops below 0.2 except by luck: acceptance collapses.
    rng = np.random.default_rng(seed(4))
    sim = lambda generation, batch, u: 0.2 + rng.random(len(u)) * (0.5 if generation == 0 else 1.0)  # noqa: E731
    prior = np.random.default_rng(seed(5)).random((100, 1))
    r = run_smc(sim, prior, 0.2, SmcSettings(generations=5, particles=20, batch=40, min_acceptance=0.05,
                                             quantile=0.1), seed=1)
    last = r.generations[-1]
    assert len(r.generations) < 6 and last.acceptance_rate < 0.05 and "min_acceptance" in r.stopped
    assert last.proposals <= max(40, math.ceil(20 / 0.05)) + 40  # stopped proposing at N / min_acceptance
    assert not last.complete and r.final.index == last.index - 1


def test_smc_narrows_the_posterior_relative_to_rejection_at_equal_budget():
    """40 independent replications: SMC (5 generations of 50 particles) against rejection ABC with the same
    number of simulations keeping 50 points. If SMC were no narrower, its 90% interval would be the narrower one
    in at most half of them (one-sided sign test at ALPHA). The SMC posterior mean must agree with the analytic
    X_OBS (t-test over the replications at ALPHA)."""
    settings = SmcSettings(generations=5, particles=50, batch=100)
    narrower, means, widths = 0, [], []
    for k in range(40):
        rng = np.random.default_rng(seed(100 + k))
        prior = rng.random((200, 1))
        r = run_smc(conjugate(rng), prior, 0.25, settings, seed=seed(200 + k))
        g = r.final
        x = g.particles[:, 0]
        smc_width = np.diff(weighted_quantile(x, np.array([0.05, 0.95]), g.weight))[0]
        budget = sum(gen.proposals for gen in r.generations)
        theta = rng.random(budget)
        d = conjugate(rng)(0, 0, theta[:, None])
        kept = theta[np.argsort(d)[:50]]
        rej_width = np.diff(np.quantile(kept, [0.05, 0.95]))[0]
        narrower += smc_width < rej_width
        means.append(float(np.average(x, weights=g.weight)))
        widths.append((smc_width, rej_width))
    assert binomtest(narrower, 40, 0.5, alternative="greater").pvalue < ALPHA, (narrower, widths[:5])
    assert ttest_1samp(means, X_OBS).pvalue > ALPHA, np.mean(means)
    # The exact posterior's 90% interval is 2 x 1.645 x SIGMA = 0.033 wide: SMC comes close, rejection does not.
    smc_mean, rej_mean = np.mean(widths, axis=0)
    assert smc_mean < 1.15 * 2 * 1.645 * SIGMA < rej_mean, (smc_mean, rej_mean)


# -------------------------------------------------------------------------------------------- spec keys


@pytest.mark.parametrize(("extra", "key", "message"), [
    ("method: smc\nsmc: {generations: 0}\n", "smc.generations", "greater than or equal to 1"),
    ("method: smc\nsmc: {quantile: 1.0}\n", "smc.quantile", "less than 1"),
    ("method: smc\nsmc: {min_acceptance: 0}\n", "smc.min_acceptance", "greater than or equal to 0.001"),
    ("method: smc\nsmc: {particles: 4, steps: 3}\n", "smc.steps", "unknown key 'steps'"),
    ("method: mcmc\n", "method", "'rejection' or 'smc'"),
    ("smc: {generations: 2}\n", None, "method is rejection"),
    ("method: smc\nrefine: {samples: 8}\n", None, "leave refine out"),
])
def test_bad_smc_keys_exit_2_naming_the_key(tmp_path, capsys, extra, key, message):
    write(tmp_path / "observed.csv", "period_start,period_end,arrivals,male,female,source,note\n"
                                     "2000,2000,99,24,75,X,\n")
    spec = write(tmp_path / "spec.yaml", spec_text(targets="\n  arrivals: {years: [2000, 2000]}") + extra)
    code = cli_main(["calibrate", str(spec), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(spec) in err and message in err and "Traceback" not in err, err
    assert key is None or f"key '{key}'" in err, err
    assert not (tmp_path / "out").exists()


def test_smc_defaults(tmp_path):
    write(tmp_path / "observed.csv", "period_start,period_end,arrivals,male,female,source,note\n"
                                     "2000,2000,99,24,75,X,\n")
    lc = load_calibration(write(tmp_path / "spec.yaml", spec_text(targets="\n  arrivals: {years: [2000, 2000]}")
                                + "method: smc\n"))
    assert lc.spec.method == "smc" and lc.spec.smc is None
    from sim.analysis.calibration.sequential import settings

    assert settings(lc) == SmcSettings(generations=4, particles=None, quantile=0.5, min_acceptance=0.02, batch=None)
    with pytest.raises(ScenarioError, match="method is rejection"):
        load_calibration(write(tmp_path / "spec.yaml", spec_text() + "smc: {generations: 1}\n"))


# ------------------------------------------------------------------------------- through the sweep engine

SMC = "method: smc\nsmc: {generations: 2, particles: 2, batch: 6, quantile: 0.5}\npopulation_size: 4000\n"
FILES = ("points.csv", "posterior.csv", "posterior_table.csv", "generations.csv", "predictive.csv",
         "shares_predictive.csv")


def test_smc_calibration_runs_generations_as_sweeps_resumes_after_interruption_with_identical_files(tmp_path):
    spec = toy_spec(tmp_path, samples=4, quantile=0.5, extra=SMC)
    out = tmp_path / "out"

    def interrupt(stage: str, done: int, total: int) -> None:
        if stage == "smc_2_0" and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted):
        calibrate(spec, out, workers=1, progress=interrupt)
    assert not (out / "posterior.csv").exists()  # nothing of the analysis is written before it is complete
    reports: list[tuple[str, int, int]] = []
    result = calibrate(spec, out, workers=1, progress=lambda *r: reports.append(r))
    first = {}
    for stage, done, total in reports:
        first.setdefault(stage, (done, total))
    # Generation 0 and the first generation's sweeps were finished: nothing in them ran again; generation 2
    # went on from its finished runs.
    assert first["sweep"] == (4, 4) and all(d == t for s, (d, t) in first.items() if s.startswith("smc_1_"))
    assert first["smc_2_0"][0] >= 3
    g = result.generations
    assert list(g["generation"]) == [0, 1, 2] and g["complete"].all()
    assert (np.diff(g["epsilon"]) <= 0).all() and (g.loc[1:, "accepted"] >= 2).all()
    assert list(g["proposals"]) == [4, 6 * g.loc[1, "batches"], 6 * g.loc[2, "batches"]]
    post = result.posterior
    assert post["weight"].sum() == pytest.approx(1.0) and (post["distance"] <= result.epsilon).all()
    assert result.epsilon == g["epsilon"].iloc[-1] and result.runs == g["proposals"].sum()
    for stage in [f"smc_{t}_{b}" for t in (1, 2) for b in range(g.loc[t, "batches"])]:
        assert (out / stage / "runs.parquet").exists() and (out / f"{stage}_spec.yaml").exists()
    table = result.table.set_index("parameter")
    for name in TRUTH:
        x, w = post[name].to_numpy(), post["weight"].to_numpy()
        assert table.loc[name, "posterior_median"] == pytest.approx(weighted_quantile(x, 0.5, w))
    on_disk = pd.read_csv(out / "generations.csv")
    assert list(on_disk.columns) == ["generation", "epsilon", "batches", "proposals", "accepted",
                                     "acceptance_rate", "ess", "complete"]
    assert "sequential ABC" in (out / "calibration.json").read_text()

    # Once more: every sweep is complete, nothing runs, and every file comes out byte for byte the same.
    before = {name: (out / name).read_bytes() for name in FILES}
    reports.clear()
    calibrate(spec, out, workers=1, progress=lambda *r: reports.append(r))
    assert all(done == total for stage, done, total in reports)
    assert {name: (out / name).read_bytes() for name in FILES} == before


# ---------------------------------------------------------------- simulation-based calibration (slow)


def band(n: int, p: float, level: float = 0.99) -> tuple[int, int]:
    """The central `level` range of Binomial(n, p): inside with probability >= level."""
    return int(binom.ppf((1 - level) / 2, n, p)), int(binom.isf((1 - level) / 2, n, p))


@pytest.mark.slow
def test_conjugate_coverage_of_50_and_90_percent_intervals_over_200_truths_from_the_prior():
    """Simulation-based calibration on the conjugate problem: 200 truths theta* drawn from the prior (the middle
    80% of the cube, so that the Gaussian posterior is not cut by the cube), data x_obs ~ N(theta*, SIGMA^2), SMC
    from 400 prior points (25% accepted) through up to 7 generations of 100 particles, down to a tolerance well below
    SIGMA (the ABC posterior's variance SIGMA^2 + eps^2 / 3 is then the exact one within a few per cent). The
    share of truths inside the 50% and 90% weighted posterior intervals must lie in the central 99% binomial band
    of the nominal coverage."""
    settings = SmcSettings(generations=7, particles=100, batch=200)
    inside = {0.5: 0, 0.9: 0}
    n = 200
    pits: list[float] = []  # weighted posterior CDF at the truth: uniform for a calibrated posterior
    eps: list[float] = []
    for k in range(n):
        rng = np.random.default_rng(seed(1000 + k))
        truth = 0.1 + 0.8 * rng.random()
        x_obs = truth + SIGMA * rng.standard_normal()
        r = run_smc(conjugate(rng, x_obs), rng.random((400, 1)), 0.25, settings, seed=seed(5000 + k))
        g = r.final
        eps.append(g.epsilon)
        pits.append(float(g.weight[g.particles[:, 0] <= truth].sum()))
        for level in inside:
            lo, hi = weighted_quantile(g.particles[:, 0], np.array([(1 - level) / 2, (1 + level) / 2]), g.weight)
            inside[level] += lo <= truth <= hi
    print("\nconjugate SBC inside:", inside, "final eps:", np.round(np.quantile(eps, [0, 0.5, 1]), 4),
          "PIT:", ",".join(f"{p:.4f}" for p in pits))
    for level, k in inside.items():
        lo, hi = band(n, level)
        assert lo <= k <= hi, (level, k, (lo, hi))


TOY_PRIORS = {"population.groups.ordinary.departure_rate": (0.0004, 0.01),
              "population.groups.overseas_worker.departure_rate": (0.0004, 0.02)}


@pytest.mark.slow
def test_toy_coverage_of_50_and_90_percent_intervals_over_20_truths_from_the_prior(tmp_path):
    """Simulation-based calibration through `calibrate` (method: smc) on the toy scenario: 20 truths of the two
    departure rates drawn from their log-uniform priors, one truth run each (seed 3001-3020), each calibrated
    against its own data (prior sample 128 Sobol points x 1, 25% accepted = 32 particles, 2 generations, batches
    of 64, shared generation 0). ABC at a tolerance above zero widens the posterior, so the intervals may cover
    more than nominally; the check is that they do not cover less: the count inside is at least the lower end of
    the central 99% binomial band of the nominal coverage (both parameters)."""
    out = tmp_path / "out"
    n = 20
    inside = {(name, level): 0 for name in TOY_PRIORS for level in (0.5, 0.9)}
    rows = []
    rng = np.random.default_rng(seed(3000))
    for k in range(n):
        truth = {name: float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) for name, (lo, hi) in TOY_PRIORS.items()}
        truth_dir = tmp_path / f"truth{k}"
        truth_dir.mkdir()
        spec = toy_spec(truth_dir, samples=128, quantile=0.25, truth_seed=seed(3001 + k), truth=truth,
                        extra="method: smc\nsmc: {generations: 2, particles: 32, batch: 64}\n")
        result = calibrate(spec, out, workers=2)
        post = result.posterior
        row = {"truth": k, "final_epsilon": result.epsilon, "runs": result.runs}
        for name, value in truth.items():
            x, w = post[name].to_numpy(), post["weight"].to_numpy()
            row[name] = value
            row[f"{name}.pit"] = float(w[x <= value].sum())
            for level in (0.5, 0.9):
                lo, hi = weighted_quantile(x, np.array([(1 - level) / 2, (1 + level) / 2]), w)
                inside[(name, level)] += bool(lo <= value <= hi)
                row[f"{name}.in{int(level * 100)}"] = bool(lo <= value <= hi)
        rows.append(row)
    print("\ntoy SBC:", {f"{n_}@{lv}": c for (n_, lv), c in inside.items()})
    print(pd.DataFrame(rows).to_csv(index=False))
    for (name, level), k in inside.items():
        lo, _ = band(n, level)
        assert k >= lo, (name, level, k, lo)



def test_effects_resample_a_weighted_posterior_by_its_weights(tmp_path):
    """`bordersim effects` reading an SMC posterior.csv draws rows by weight (systematic resampling), not evenly."""
    from sim.analysis.effects.posterior import read_posterior
    from sim.loading import load_scenario
    from sim.scenario.overrides import scenario_to_dict

    name = "population.groups.ordinary.departure_rate"
    csv = write(tmp_path / "posterior.csv", f"point,distance,{name},weight\n1,0.1,0.001,0.5\n2,0.2,0.002,0.0\n"
                                            "3,0.3,0.003,0.25\n4,0.4,0.004,0.25\n")
    data = scenario_to_dict(load_scenario(TOY))
    post = read_posterior(csv, data, None, 4, spec_path="spec.yaml")
    assert post.rows == (0, 0, 2, 3) and post.columns[name] == [0.001, 0.001, 0.003, 0.004]
    assert read_posterior(csv, data, None, None, spec_path="spec.yaml").rows == (0, 0, 2, 3)
    bad = write(tmp_path / "bad.csv", f"{name},weight\n0.001,-1\n0.002,2\n")
    with pytest.raises(ScenarioError, match="weight"):
        read_posterior(bad, data, None, None, spec_path="spec.yaml")


def test_a_directory_of_yours_named_like_a_generation_sweep_is_refused_before_anything_runs(tmp_path):
    from sim.errors import UsageError
    from sim.outputs import write_marker

    spec = toy_spec(tmp_path, samples=4, quantile=0.5, extra=SMC)
    out = tmp_path / "out"
    out.mkdir()
    write_marker(out, "calibration")
    (out / "smc_1_0").mkdir()
    mine = write(out / "smc_1_0" / "mine.txt", "not bordersim's")
    (out / "smc_notes").mkdir()  # not a generation's name: not bordersim's business
    with pytest.raises(UsageError, match="smc_1_0"):
        calibrate(spec, out, workers=1)
    assert mine.read_text() == "not bordersim's" and not (out / "sweep").exists()
