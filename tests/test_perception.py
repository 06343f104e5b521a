"""What people know (docs/model.md §11, §12): perceived risk per route, the death weight, chain migration.

Exact checks: the smoothing recursion on a constructed outcome sequence; the per-kind failure probabilities of a
path; a run whose routes' outcomes are certain (probability 0 or 1) is byte-identical with perception on and off
(the perceived risk never leaves the truth); with memory 0 and no lag the perceived risk is the last step's
outcome shares; a new fence deters only after the lag (departures before it are unchanged, then move); the
death-weight utility; the chain multiplier on a constructed arrivals history and in the model.
Statistical checks (3, at conftest.ALPHA, seeds conftest.seed(k)): the memory-0 limit (the observed shares are
binomial around the truth) and the chain-migration departure law at two steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_binomial, build, edge, fixed, group, node, scenario_dict, seed

from sim.engine.mesa.model import BorderModel, run
from sim.outcomes import ARRIVED, KILLED, SET_OUT
from sim.rules.chain import chain_multiplier
from sim.rules.choice import PathMetrics, utilities
from sim.rules.hazards import EDGE_OUTCOMES
from sim.rules.perception import (lag_steps, outcome_counts, path_failure_probabilities, perceived_failures,
                                  smoothing_weight, update_perceived)
from sim.scenario.schema import RouteChoice

# ------------------------------------------------------------------------------------------ the pure rules


def test_the_smoothing_recursion_on_a_constructed_outcome_sequence():
    """p(s+1) = p(s) + w (o(s) - p(s)) on steps with outcomes, p unchanged on steps without; w = 1/2 and dyadic
    shares make every value exact."""
    w = 0.5
    p = np.array([[0.5, 0.25, 0.0]])
    # (killed, caught + repatriated, returned, all ended) per step; step 2 has no outcome on the route
    steps = [(1, 0, 1, 2), (0, 0, 0, 4), (0, 0, 0, 0), (4, 0, 0, 4)]
    expected = [[0.5, 0.25, 0.0]]
    for k, c, r, n in steps:
        last = expected[-1]
        expected.append(last if n == 0 else [x + w * (o / n - x) for x, o in zip(last, (k, c, r))])
    history = [p]
    for row in steps:
        history.append(update_perceived(history[-1], np.array([row], dtype=float), w))
    for got, want in zip(history, expected):
        assert got.tolist() == [want]
    assert history[-1].tolist() == [[0.625, 0.03125, 0.0625]]


def test_the_weight_and_the_lag_follow_the_memory_and_the_step():
    assert smoothing_weight(0.0, 1.0) == 1.0
    assert smoothing_weight(6.0, 1.0) == -math.expm1(-1 / 6)
    assert smoothing_weight(6.0, 7 / 30.4375) == -math.expm1(-(7 / 30.4375) / 6)
    assert lag_steps(0.0, 1.0) == 0 and lag_steps(3.0, 1.0) == 3
    assert lag_steps(1.0, 7 / 30.4375) == 4  # a month of weekly steps


def test_outcome_counts_take_caught_and_repatriated_together():
    flows = np.zeros((2, 1, 6))
    flows[0, 0] = [9, 3, 1, 2, 4, 5]  # set_out, arrived, caught, killed, repatriated, returned
    assert outcome_counts(flows).tolist() == [[2, 5, 5, 15], [0, 0, 0, 0]]


def test_path_failure_probabilities_follow_the_path_leg_by_leg():
    """Edge 0 then a transit node (survival 0.8) then edge 1: the kinds accumulate with the reach probability."""
    table = np.array([[0.1, 0.05, 0.05, 0.2, 0.6],  # returned, killed undetected, shot, caught, passed
                      [0.0, 0.25, 0.0, 0.25, 0.5]])
    assert table.shape[1] == len(EDGE_OUTCOMES)
    got = path_failure_probabilities([(0, 1)], [(5, 6)], table, np.array([0, 0, 0, 0, 0, 0.8, 1.0]))
    reach = 0.6 * 0.8
    want = [0.1 + reach * 0.25, 0.2 + 0.6 * 0.2 + reach * 0.25, 0.1]
    np.testing.assert_allclose(got[0], want, rtol=0, atol=1e-15)
    assert got[0].sum() + reach * 0.5 == pytest.approx(1.0, abs=1e-15)


def test_perceived_failures_scale_by_the_route_ratio_and_stay_probabilities():
    failures = np.array([[0.2, 0.1, 0.0], [0.4, 0.3, 0.0], [0.0, 0.0, 0.0]])
    route = np.array([0, 0, 1])
    truth = np.array([[0.3, 0.2, 0.0], [0.0, 0.0, 0.0]])
    perceived = np.array([[0.6, 0.1, 0.5], [0.2, 0.0, 0.0]])
    got = perceived_failures(perceived, truth, failures, route)
    np.testing.assert_allclose(got[0], [0.4, 0.05, 0.5], atol=1e-15)  # 0.6*0.2/0.3, 0.1*0.1/0.2, p where f_r = 0
    np.testing.assert_allclose(got[1], np.array([0.8, 0.15, 0.5]) / 1.45, atol=1e-15)  # sum 1.45 > 1: scaled down
    np.testing.assert_allclose(got[2], [0.2, 0.0, 0.0], atol=0)


def test_the_death_weight_weighs_death_apart_from_capture_and_return():
    m = PathMetrics(cost=np.array([0.0, 100.0]), duration=np.array([2.0, 1.0]), success=np.array([0.5, 0.6]),
                    usable=np.array([True, True]), killed=np.array([0.1, 0.3]), other=np.array([0.4, 0.1]))
    rc = RouteChoice(risk_weight=2.0, cost_weight=1.0, time_weight=0.1, death_weight=20.0)
    u = utilities(np.array([0.25]), np.array([200.0]), m, np.array([0, 1]), rc)
    np.testing.assert_allclose(u[0], [-20 * 0.75 * 0.1 - 2 * 0.75 * 0.4 - 0.2,
                                      -20 * 0.75 * 0.3 - 2 * 0.75 * 0.1 - 0.5 - 0.1], rtol=1e-15)
    off = utilities(np.array([0.25]), np.array([200.0]), m, np.array([0, 1]), RouteChoice(
        risk_weight=2.0, cost_weight=1.0, time_weight=0.1))
    np.testing.assert_allclose(off[0], [-2 * 0.75 * 0.5 - 0.2, -2 * 0.75 * 0.4 - 0.5 - 0.1], rtol=1e-15)


def test_the_chain_multiplier_on_a_constructed_arrivals_history():
    arrivals = np.array([0, 50, 200, 1000])
    assert chain_multiplier(arrivals, 0.5, 100.0, "linear").tolist() == [1.0, 1.25, 2.0, 6.0]
    np.testing.assert_allclose(chain_multiplier(arrivals, 0.5, 100.0, "log"),
                               [1.0, 1 + 0.5 * math.log(1.5), 1 + 0.5 * math.log(3.0), 1 + 0.5 * math.log(11.0)],
                               rtol=1e-15)
    assert chain_multiplier(arrivals, 0.0, 100.0, "linear").tolist() == [1.0] * 4


# ---------------------------------------------------------------------------------------------- in the model


def _certain_routes(perception: dict | None) -> dict:
    """Two routes whose outcomes are certain: `safe` (nothing happens) and `deadly` (mines kill everyone)."""
    rc = {"risk_weight": 3.0, "cost_weight": 0.0, "time_weight": 0.05}
    if perception is not None:
        rc["perception"] = perception
    return scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", dwell=2, arrest_hazard=0.0), node("d", "destination")],
        edges=[edge("safe1", "o", "t", route="safe", duration=2), edge("safe2", "t", "d", duration=1),
               edge("deadly", "o", "d", route="deadly", controls={"mines": 1.0})],
        groups=[group(departure_rate=0.05, risk_tolerance={"dist": "uniform", "low": 0.0, "high": 1.0})],
        hazards={"block": {}, "kill": {"mines": 1000.0}, "detect": {}, "shot_kill_probability": 0.0},
        route_choice=rc, size=3000, end="2001-06", seed=seed(120))


@pytest.mark.parametrize("perception", [{"memory": 0.0}, {"memory": 6.0, "lag": 2.0}, {"memory": "1 year"}])
def test_perceived_risk_that_matches_the_truth_gives_the_run_without_perception(perception):
    """Observed shares equal the true ones when outcomes are certain, so the perceived risk stays the truth and
    the run is the one without perception, count for count (the update is an increment: o = p leaves p alone)."""
    off = run(build(_certain_routes(None)))
    on = run(build(_certain_routes(perception)))
    assert on.totals()["killed"] > 0 and on.totals()["arrived"] > 0
    assert on.timeseries().equals(off.timeseries())
    summary = on.summary()
    assert summary.pop("perceived_risk") == {"safe": {"killed": 0.0, "caught": 0.0, "returned": 0.0},
                                             "deadly": {"killed": 1.0, "caught": 0.0, "returned": 0.0}}
    expected = off.summary()
    del summary["provenance"]["scenario_sha256"], expected["provenance"]["scenario_sha256"]  # the scenarios differ
    assert summary == expected


def _one_route(**rc) -> dict:
    """One edge o -> d where guards catch with probability 1 - exp(-2 * 0.5); everyone at risk tolerance 0."""
    return scenario_dict(
        nodes=[node("o", "origin"), node("d", "destination")],
        edges=[edge("e", "o", "d", route="r", controls={"guards": 0.5})],
        groups=[group(departure_rate=0.4, risk_tolerance=0.0)],
        hazards={"block": {}, "kill": {}, "detect": {"guards": 2.0}, "shot_kill_probability": 0.0},
        route_choice={"risk_weight": 2.0, "cost_weight": 0.0, "time_weight": 0.0, **rc},
        size=40_000, end="2000-12", seed=seed(121))


def test_with_memory_zero_and_no_lag_the_perceived_risk_is_the_last_steps_shares():
    """memory 0, lag 0: the risk weighed at step t is exactly the outcome shares of step t - 1 (exact), and those
    shares are binomial around the true probability (the documented limit: 1 statistical check, pooled)."""
    model = BorderModel(build(_one_route(perception={"memory": 0.0})))
    true_caught = -math.expm1(-1.0)
    for t in range(len(model.dates)):
        model.step()
        p_caught = model.perceived_history[t][0, 1]
        if t == 0:
            assert p_caught == true_caught
        else:
            f = model.ledger.flows[t - 1].sum(axis=1)[0]
            ended = f[1:].sum()
            assert p_caught == (f[2] / ended if ended else model.perceived_history[t - 1][0, 1])
        assert model.metrics.success[0] == 1.0 - p_caught
    flows = model.ledger.flows.sum(axis=(0, 2))[0]
    assert flows[1:].sum() > 10_000
    assert_binomial(int(flows[2]), int(flows[1:].sum()), true_caught, "caught share of ended attempts")


def test_a_route_closed_at_the_first_step_starts_from_its_risks_as_if_open():
    """A route with no usable path has no truth of the usable paths to start from: it started at 0, 'perfectly
    safe', and people flocked to it when it reopened (a probe: 0 set out on it, then 1,934 against about 30 on its
    twin). Its perceived risk starts from its paths' risks as if open (docs/model.md §12): two identical routes,
    one closed for the first three steps, start from the same values, and the reopened one is weighed at its true
    risk (nobody's outcome on it has moved the estimate)."""
    data = _one_route(perception={"memory": 12.0})
    data["network"]["edges"].append(edge("b", "o", "d", route="b", controls={"guards": 0.5}))
    data["policies"] = [{"name": "closed", "start": "2000-01", "end": "2000-04", "select": {"edges": ["b"]},
                         "set": {"open": False}}]
    model = BorderModel(build(data))
    a, b = (model.graph.routes.index(r) for r in ("r", "b"))
    path_b = next(i for i, p in enumerate(model.graph.paths) if p.route == b)
    for t in range(4):
        model.step()
        assert model.true_metrics.usable[path_b] == (t >= 3)
    assert model.perceived_history[0][b].tolist() == model.perceived_history[0][a].tolist()
    assert model.perceived_history[0][b, 1] == pytest.approx(-math.expm1(-1.0))
    assert model.metrics.success[path_b] == pytest.approx(model.true_metrics.success[path_b], rel=1e-12)
    assert model.ledger.flows[3, b, :, SET_OUT].sum() < 2 * model.ledger.flows[3, a, :, SET_OUT].sum()


def _fence(policy: bool, perception: dict | None) -> dict:
    data = _one_route(**({"perception": perception} if perception else {}))
    if policy:
        data["policies"] = [{"name": "fence", "start": "2000-05", "select": {"edges": ["e"]},
                             "set": {"controls.guards": 1.0}}]
    return data


def test_a_new_fence_deters_after_the_lag_not_at_once():
    """A policy from step T = 4 changes the outcomes of crossings ending from step T on; with lag L = 2 they are
    weighed from step T + 1 + L = 7. Departures at steps <= T + L are exactly those without the fence; afterwards
    fewer set out. Without perception the fence deters at step T itself."""
    T, L = 4, 2
    perception = {"memory": 2.0, "lag": float(L)}
    base = run(build(_fence(False, perception))).flows[..., SET_OUT].sum(axis=(1, 2))
    fence = run(build(_fence(True, perception))).flows[..., SET_OUT].sum(axis=(1, 2))
    np.testing.assert_array_equal(fence[: T + L + 1], base[: T + L + 1])
    assert fence[T + L + 1] < base[T + L + 1]
    assert fence[T + L + 1:].sum() < 0.9 * base[T + L + 1:].sum()
    instant_base = run(build(_fence(False, None))).flows[..., SET_OUT].sum(axis=(1, 2))
    instant = run(build(_fence(True, None))).flows[..., SET_OUT].sum(axis=(1, 2))
    np.testing.assert_array_equal(instant[:T], instant_base[:T])
    assert instant[T] < instant_base[T]


def _chain(form: str = "linear") -> dict:
    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")], edges=[edge("e", "o", "d")],
                         groups=[group(departure_rate=0.01, risk_tolerance=1.0, means=fixed(0.0))],
                         size=60_000, end="2000-12", seed=seed(122))
    data["population"]["chain"] = {"weight": 1.0, "scale": 3000.0, "form": form}
    return data


@pytest.mark.parametrize("form", ["linear", "log"])
def test_the_models_chain_multiplier_is_the_rule_on_its_own_arrivals(form):
    """At every step the multiplier is chain_multiplier of the arrivals of the steps before (exact)."""
    model = BorderModel(build(_chain(form)))
    for t in range(len(model.dates)):
        model.step()
        before = int(model.ledger.flows[:t, ..., ARRIVED].sum())
        assert model.chain_mult[0] == chain_multiplier(np.array([before]), 1.0, 3000.0, form)[0]
    result = model.result()
    assert result.summary()["arrivals_by_origin"] == {"o": result.totals()["arrived"]}


def test_chain_migration_raises_departures_with_the_arrivals_before():
    """Everyone at home sets out at step t w.p. 1 - exp(-lambda (1 + beta A(t) / N0)) (free riskless path,
    U* = 0), A(t) the arrivals of the steps before: binomial checks at two steps, given the history."""
    result = run(build(_chain()))
    set_out = result.flows[..., SET_OUT].sum(axis=(1, 2))
    arrived = result.flows[..., ARRIVED].sum(axis=(1, 2))
    assert result.flows[..., KILLED].sum() == 0
    for t in (5, 11):
        home = 60_000 - int(set_out[:t].sum())
        m = 1 + 1.0 * arrived[:t].sum() / 3000.0
        assert m > 1.5
        assert_binomial(int(set_out[t]), home, -math.expm1(-0.01 * m), f"departures at step {t}")
