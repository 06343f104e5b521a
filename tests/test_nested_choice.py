"""Nested route choice (docs/model.md §13): a family of routes by its log-sum, then a path within it.

Exact checks: the probabilities against the closed form, mu = 1 is the flat logit (same probabilities, same
picks, and a run with `nest.scale: 1` gives byte-identical files to one without `nest`), families named in
`nest.families` and unknown route labels rejected. Statistical checks (2, at conftest.ALPHA, seed conftest.seed(k)):
the family share and the within-family share of a run against the closed form.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from conftest import ROOT, assert_binomial, build, edge, node, scenario_dict, seed

from sim.cli import main
from sim.engine.mesa.model import BorderModel, run
from sim.errors import ScenarioError
from sim.rules.choice import logit_choice
from sim.rules.nested import nested_choice, nested_probabilities


def _closed_form(u: list[float], family: list[int], mu: float) -> list[float]:
    fams = sorted(set(family))
    logsum = {f: mu * math.log(sum(math.exp(x / mu) for x, g in zip(u, family) if g == f and x > -math.inf))
              if any(g == f and x > -math.inf for x, g in zip(u, family)) else -math.inf for f in fams}
    denom = sum(math.exp(v) for v in logsum.values() if v > -math.inf)
    out = []
    for x, f in zip(u, family):
        if x == -math.inf:
            out.append(0.0)
            continue
        within = math.exp(x / mu) / sum(math.exp(y / mu) for y, g in zip(u, family) if g == f and y > -math.inf)
        out.append(math.exp(logsum[f]) / denom * within)
    return out


def test_nested_probabilities_match_the_closed_form():
    u = np.array([[-0.5, -1.0, -0.5, -2.0], [-0.1, -np.inf, -3.0, -0.2], [-np.inf, -np.inf, -1.0, -1.5]])
    family = np.array([0, 0, 1, 1])
    for mu in (1.0, 0.7, 0.3, 0.05):
        got = nested_probabilities(u, family, mu)
        want = np.array([_closed_form(row.tolist(), family.tolist(), mu) for row in u])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    # a small mu makes a family's paths substitutes: the family counts as its best path
    p = nested_probabilities(np.array([[-0.5, -0.5, -0.5]]), np.array([0, 0, 1]), 1e-6)
    np.testing.assert_allclose(p[0], [0.25, 0.25, 0.5], rtol=1e-5)


def test_a_utility_near_the_floating_point_limit_is_an_infinitely_bad_path_without_a_warning():
    """U = -1.5e308 over mu = 0.3 overflows to -inf: that path gets probability 0 and numpy says nothing (it printed
    an overflow warning on every run with such weights)."""
    import warnings

    u = np.array([[-1.5e308, -1.0, -2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = nested_probabilities(u, np.array([0, 0, 1]), 0.3)
    np.testing.assert_allclose(p, nested_probabilities(np.array([[-np.inf, -1.0, -2.0]]), np.array([0, 0, 1]), 0.3))
    assert p[0, 0] == 0.0


def test_mu_one_is_the_flat_logit():
    rng = np.random.default_rng(seed(130))
    u = -rng.exponential(1.0, (5000, 6))
    u[rng.random(u.shape) < 0.2] = -np.inf
    u[:, 0] = -rng.exponential(1.0, 5000)  # every row has a finite entry
    family = np.array([0, 1, 1, 2, 0, 1])
    flat = np.exp(u - u.max(axis=1, keepdims=True))
    flat /= flat.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(nested_probabilities(u, family, 1.0), flat, rtol=1e-12, atol=1e-15)
    draws = rng.random(5000)
    cdf = np.cumsum(flat, axis=1)
    clear = np.abs(cdf - draws[:, None]).min(axis=1) > 1e-9  # away from a boundary, rounding cannot move a pick
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(nested_choice(u, family, 1.0, draws)[clear], logit_choice(u, draws)[clear])


def _run_toy(tmp_path, name: str, nest: dict | None) -> tuple[dict, bytes]:
    """summary.json (without the scenario's own hash, which differs with the text) and timeseries.parquet."""
    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    if nest is not None:
        data["route_choice"]["nest"] = nest
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / name
    assert main(["run", str(path), "--out", str(out), "--quiet", "--set", "population.size=20000"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    del summary["provenance"]["scenario_sha256"]
    return summary, (out / "timeseries.parquet").read_bytes()


def test_a_nest_scale_of_one_gives_the_flat_logits_files(tmp_path, capsys):
    """Byte-identical timeseries.parquet and the same summary.json but for the scenario hash; mu < 1 differs."""
    flat = _run_toy(tmp_path, "flat", None)
    assert _run_toy(tmp_path, "nested1", {"scale": 1.0, "families": {"away": ["river", "sea"]}}) == flat
    assert _run_toy(tmp_path, "nested", {"scale": 0.3, "families": {"away": ["river", "sea"]}}) != flat


def _three_paths(mu: float, families: dict | None = None) -> dict:
    """o -> d by edges a1 (route a, 1 month), a2 (route a, 2 months), b (route b, 1 month); utility -0.5 per
    month; everyone sets out in the first step (rate 50)."""
    nest = {"scale": mu} | ({"families": families} if families else {})
    return scenario_dict(
        nodes=[node("o", "origin"), node("d", "destination")],
        edges=[edge("a1", "o", "d", route="a"), edge("a2", "o", "d", route="a", duration=2),
               edge("b", "o", "d", route="b")],
        route_choice={"risk_weight": 0.0, "cost_weight": 0.0, "time_weight": 0.5, "nest": nest},
        size=30_000, end="2000-03", seed=seed(131))


def test_nested_choice_shares_in_a_run_match_the_closed_form():
    mu = 0.5
    result = run(build(_three_paths(mu)))
    entered = {e: row["entered"] for e, row in result.by_edge().items()}
    n = sum(entered.values())
    assert n == 30_000
    p = _closed_form([-0.5, -1.0, -0.5], [0, 0, 1], mu)
    flat_b = math.exp(-0.5) / (2 * math.exp(-0.5) + math.exp(-1.0))
    assert abs(p[2] - flat_b) > 0.05  # the nest moves the share of b well beyond the noise
    assert_binomial(entered["b"], n, p[2], "share of family b")
    assert_binomial(entered["a1"], entered["a1"] + entered["a2"], p[0] / (p[0] + p[1]), "a1 within family a")


def test_families_group_route_labels_and_unknown_labels_are_rejected():
    model = BorderModel(build(_three_paths(0.5, {"all": ["a", "b"]})), population=False)
    assert model.path_family.tolist() == [0, 0, 0]
    model = BorderModel(build(_three_paths(0.5)), population=False)
    assert model.path_family.tolist() == [0, 0, 1]
    with pytest.raises(ScenarioError, match="unknown route label") as exc:
        build(_three_paths(0.5, {"x": ["a", "c"]}))
    assert exc.value.key == "route_choice.nest.families.x"  # the key, so the line, is named
    with pytest.raises(ScenarioError, match="two families"):
        build(_three_paths(0.5, {"x": ["a"], "y": ["a"]}))
    # a label only on a later edge of a path is no path's route (the ledger's: its first labelled edge's): the
    # family would silently leave it out (a probe); refused, naming the key
    later = _three_paths(0.5, {"x": ["b", "c"]})
    later["network"]["nodes"].insert(1, node("m", "border"))
    later["network"]["edges"][2:] = [edge("b1", "o", "m", route="b"), edge("b2", "m", "d", route="c")]
    with pytest.raises(ScenarioError, match=r"route label\(s\) \['c'\] are the route of no candidate path") as exc:
        build(later)
    assert exc.value.key == "route_choice.nest.families.x"
    spur = _three_paths(0.5, {"x": ["b", "z"]})  # a label on no path at all (past the destination) is told apart
    spur["network"]["nodes"].append(node("s", "border"))
    spur["network"]["edges"].append(edge("z1", "d", "s", route="z"))
    with pytest.raises(ScenarioError, match=r"\['z'\] label no edge of any candidate path"):
        build(spur)


def test_a_family_named_like_an_unlisted_routes_own_family_does_not_take_that_route():
    """An unlisted route is a family of its own, which was named 'route:<label>' internally: a family the user
    named 'route:b' took route b in although it lists only a (a probe). The two are told apart now."""
    model = BorderModel(build(_three_paths(0.5, {"route:b": ["a"]})), population=False)
    assert model.path_family.tolist() == [0, 0, 1]
