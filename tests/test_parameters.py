"""The one parameter range (sim/experiments/parameters.py): its map from the unit interval, and its use by the
sweep, sensitivity and calibration spec formats."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from conftest import ALPHA, TOY, seed
from scipy import stats

from sim.analysis.calibration.spec import Prior
from sim.analysis.sensitivity.spec import Bounds, load_sensitivity
from sim.errors import ScenarioError
from sim.experiments.design import build_points
from sim.experiments.parameters import ParameterRange
from sim.experiments.spec import load_spec
from sim.scenario.validation import validate_model


def rng(k: int) -> ParameterRange:
    return ParameterRange.model_validate(k)


def test_each_kind_maps_the_unit_interval_by_its_formula():
    u = np.array([0.0, 0.25, 0.5, 0.999999])
    assert rng({"dist": "uniform", "low": 2, "high": 6}).from_unit(u) == [2.0, 3.0, 4.0, 2 + 0.999999 * 4]
    log = rng({"dist": "loguniform", "low": 0.01, "high": 1}).from_unit(u)
    assert log == pytest.approx([0.01, 10 ** -1.5, 0.1, 10 ** (-2 + 2 * 0.999999)], rel=1e-12)
    edges = np.array([0, 0.33, 0.34, 0.67, 1.0])
    assert rng({"dist": "integer", "low": 1, "high": 3}).from_unit(edges) == [1, 1, 2, 3, 3]
    cat = rng({"dist": "categorical", "values": ["a", "b", "c"]})
    assert cat.from_unit(edges) == ["a", "a", "b", "c", "c"]
    # values of two kinds cannot share a column of runs.parquet (they ran, then could not be written)
    with pytest.raises(ValueError, match="the values mix numbers and text and true/false"):
        rng({"dist": "categorical", "values": ["a", 2, True]})
    assert rng({"dist": "fixed", "value": 0.5}).from_unit(u) == [0.5] * 4


@pytest.mark.parametrize("spec, values", [({"dist": "integer", "low": -2, "high": 4}, list(range(-2, 5))),
                                          ({"dist": "categorical", "values": ["x", "y", "z"]}, ["x", "y", "z"])])
def test_discrete_kinds_give_each_value_the_same_probability(spec, values):
    r = rng(spec)
    k, n = len(values), 21_000  # a multiple of every k here
    stratified = r.from_unit((np.arange(n) + 0.5) / n)  # exact: each value gets n / k of the strata
    assert [stratified.count(v) for v in values] == [n // k] * k
    draws = r.from_unit(np.random.default_rng(seed(1)).random(n))  # and random draws pass a chi-square test
    counts = [draws.count(v) for v in values]
    assert sum(counts) == n and stats.chisquare(counts).pvalue > ALPHA


def test_continuous_kinds_invert_and_have_quantiles():
    for spec in ({"dist": "uniform", "low": -1, "high": 3}, {"dist": "loguniform", "low": 0.5, "high": 50}):
        r = rng(spec)
        u = np.linspace(0, 1, 11)
        assert r.to_unit(np.array(r.from_unit(u))) == pytest.approx(u, abs=1e-12)
    assert rng({"dist": "loguniform", "low": 1, "high": 100}).quantile(0.5) == pytest.approx(10)
    with pytest.raises(TypeError, match="no continuous scale"):
        rng({"dist": "integer", "low": 1, "high": 3}).quantile(0.5)


@pytest.mark.parametrize("spec, says", [
    ({"dist": "uniform", "low": 1}, "'uniform' needs low and high"),
    ({"dist": "categorical", "values": []}, "at least 1 item"),
    ({"dist": "fixed", "value": 1, "low": 0}, "'fixed' takes value, not low"),
    ({"dist": "loguniform", "low": 0, "high": 1}, "loguniform needs low > 0"),
    ({"dist": "uniform", "low": 2, "high": 1}, "high (1.0) must not be below low (2.0)"),
    # 1000.5..1003.5 drew 1000 (below low) and 1003 half again as often as the others
    ({"dist": "integer", "low": 1000.5, "high": 1003.5}, "integer needs whole-number bounds"),
    ({"dist": "integer", "low": 1, "high": 3.2}, "integer needs whole-number bounds"),
    ({"dist": "integer", "low": 1000, "high": 2**53 + 1}, "bounds must lie within"),  # was rounded to 2**53
])
def test_bad_ranges_say_what_is_wrong(spec, says):
    with pytest.raises(ScenarioError, match=None) as info:
        validate_model(ParameterRange, spec, path="spec.yaml")
    assert says in str(info.value)


def test_sensitivity_and_calibration_need_a_proper_interval_and_priors_only_continuous_kinds():
    with pytest.raises(ScenarioError, match="must be above low"):
        validate_model(Bounds, {"low": 1, "high": 1}, path="s.yaml")
    assert validate_model(Bounds, {"low": 1, "high": 2}, path="s.yaml").dist == "uniform"  # the default kind
    assert validate_model(Bounds, {"dist": "categorical", "values": [1, 2]}, path="s.yaml").extremes() == [1, 2]
    with pytest.raises(ScenarioError, match="'uniform' or 'loguniform'"):
        validate_model(Prior, {"dist": "integer", "low": 1, "high": 3}, path="c.yaml")


def test_a_sweep_design_and_a_sensitivity_sample_map_through_the_same_rule(tmp_path):
    """An lhs sweep with every sampled kind: each column is ParameterRange.from_unit of the design's unit column, so
    that sweep, sensitivity and calibration values agree for the same u."""
    params = {"route_choice.risk_weight": {"dist": "loguniform", "low": 0.5, "high": 8},
              "route_choice.cost_weight": {"dist": "categorical", "values": [0.0, 0.5, 2.0]},
              "population.size": {"dist": "fixed", "value": 1000}}
    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({"name": "s", "scenario": str(TOY), "parameters": params,
                                    "design": {"type": "lhs", "samples": 64}, "seed": 3}))
    points = build_points(load_spec(spec))
    weights = [p.values["route_choice.risk_weight"] for p in points]
    assert min(weights) >= 0.5 and max(weights) <= 8
    assert {p.values["route_choice.cost_weight"] for p in points} == {0.0, 0.5, 2.0}
    assert {p.values["population.size"] for p in points} == {1000}
    u = np.array([math.log(w / 0.5) / math.log(16) for w in weights])  # the unit column, back out of the values
    assert rng(params["route_choice.risk_weight"]).from_unit(u) == pytest.approx(weights, rel=1e-12)


def test_a_sensitivity_spec_checks_every_categorical_value_against_its_scenario(tmp_path):
    spec = tmp_path / "sa.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "sa", "scenario": str(TOY), "replicates": 2, "seed": 1,
        "parameters": {"route_choice.risk_weight": {"dist": "categorical", "values": [1.0, -3.0]}},
        "outcomes": {"arrived": "arrived"}}))
    with pytest.raises(ScenarioError) as info:
        load_sensitivity(spec)
    assert info.value.key == "parameters.route_choice.risk_weight" and "-3.0" in str(info.value)


def _load_two_parameters(tmp_path, fmt: str, one: str, other: str):
    """Load a spec of format `fmt` (sweep, sensitivity, discover, calibrate) on the toy whose parameters are `one`
    and `other`, in that order (its `parameters:` key on line 3, the first parameter on line 4)."""
    from sim.analysis.calibration.spec import load_calibration
    from sim.analysis.discovery.spec import load_discovery

    bounds = "{dist: uniform, low: 0.5, high: 0.9}"
    ranges = f"parameters:\n  {one}: {bounds}\n  {other}: {bounds}\n"
    body = {"sweep": f"parameters:\n  {one}: [0.5, 0.9]\n  {other}: [0.6]\n",
            "sensitivity": ranges + "outcomes: {arrivals: arrived}\n",
            "discover": ranges + "outcome: arrived\ncondition: {above: 10}\n",
            "calibrate": ranges + "targets: {arrivals: {years: [2000, 2004]}}\nsampling: {samples: 8}\n"
                                  "accept: {quantile: 0.5}\n"}
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: two\nscenario: {TOY}\n" + body[fmt])
    load = {"sweep": load_spec, "sensitivity": load_sensitivity, "discover": load_discovery,
            "calibrate": load_calibration}[fmt]
    return load(spec)


@pytest.mark.parametrize("fmt", ["sweep", "sensitivity", "discover", "calibrate"])
def test_a_path_set_by_two_parameters_is_refused_in_every_spec_format(tmp_path, fmt):
    """`patrol` and `patrol,mines` as two parameters: the second overwrote the first at every point, so `patrol`
    did nothing (a sweep gave the same arrivals at 0.1 and 0.9; Morris ranked it last with mu* = 0)."""
    patrol, mines = "network.edges.boat.controls.patrol", "network.edges.dmz.controls.mines"
    with pytest.raises(ScenarioError, match=f"the path {patrol} is set by two parameters") as info:
        _load_two_parameters(tmp_path, fmt, patrol, f"{mines}, {patrol}")
    assert info.value.key == "parameters" and info.value.line == 4


@pytest.mark.parametrize("fmt", ["sweep", "sensitivity", "discover", "calibrate"])
@pytest.mark.parametrize("one, other", [("network.edges.boat.controls.patrol", "network.edges.4.controls.patrol"),
                                        ("push.hardship.values.2003", "push.hardship.values.2003-01")])
def test_one_value_spelled_two_ways_by_two_parameters_is_refused(tmp_path, fmt, one, other):
    """Edge 4 is the boat edge, and a push point's year is its January: the text check let these through and the
    second overwrote the first (a sweep gave the same arrivals at patrol 0.1 and 0.9)."""
    with pytest.raises(ScenarioError, match=f"'{one}' and '{other}' set the same value") as info:
        _load_two_parameters(tmp_path, fmt, one, other)
    assert info.value.key == "parameters" and info.value.line == 4


def test_seed_is_no_parameter_and_integer_bounds_are_exact():
    """A sweep parameter `seed` did nothing (every run used its replicate's seed) and overwrote the seed column of
    runs.parquet; integer bounds beyond 2**53 were drawn outside the range (floats)."""
    from sim.experiments.parameters import distinct_paths

    with pytest.raises(ValueError, match="'seed' is not a parameter"):
        distinct_paths({"seed": [1, 2]})
    with pytest.raises(ScenarioError, match="bounds must lie within"):
        validate_model(ParameterRange, {"dist": "integer", "low": 2**62, "high": 2**62 + 10}, path="spec.yaml")


@pytest.mark.parametrize("fmt", ["effects package", "effects fixed", "sweep package", "sensitivity fixed"])
def test_settings_that_reach_one_value_by_two_spellings_are_refused(tmp_path, fmt):
    """A package {boat.open: false, 4.open: true} left the sea open (its second setting won), and a fixed
    setting spelled one way beside a parameter spelled the other was taken as two."""
    from sim.analysis.effects.spec import load_effects

    boat, four = "network.edges.boat.controls.patrol", "network.edges.4.controls.patrol"
    body = {"effects package": f"posterior: none\npolicies:\n  none: {{}}\n  both: {{{boat}: 0.2, {four}: 0.9}}\n"
                               "outcomes: {arrivals: arrived}\n",
            "effects fixed": f"posterior: none\nfixed: {{{boat}: 0.2, {four}: 0.9}}\npolicies:\n  none: {{}}\n"
                             "  more: {network.edges.dmz.controls.mines: 0.9}\noutcomes: {arrivals: arrived}\n",
            "sweep package": "design:\n  type: policies\n  policies:\n    none: {}\n"
                             f"    both: {{{boat}: 0.2, {four}: 0.9}}\n",
            "sensitivity fixed": f"fixed: {{{four}: 0.9}}\nparameters:\n  {boat}: {{low: 0.0, high: 1.0}}\n"
                                 "outcomes: {arrivals: arrived}\n"}
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: two\nscenario: {TOY}\n" + body[fmt])
    load = {"effects package": load_effects, "effects fixed": load_effects, "sweep package": load_spec,
            "sensitivity fixed": load_sensitivity}[fmt]
    with pytest.raises(ScenarioError, match="set the same value"):
        load(spec)
