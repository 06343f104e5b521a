"""The shared rules against exact answers: push interpolation (`sim.rules.policies.push_value`), overlapping policies
and their set-then-scale order with clipping (`sim.rules.policies.network_state`), the dates of steps
(`sim.scenario.step_dates`), each thinning block's bound p̄_b >= p_i for everyone in it (a property test), and the
candidate-path limit (`network.max_path_edges`). No statistical check here: every assertion is exact."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pytest
from conftest import build, edge, group, node, scenario_dict, seed
from hypothesis import HealthCheck, given, settings
from test_conservation import scenarios

from sim.rules.choice import departure_probability, utilities
from sim.rules.repeat import rate_multiplier
from sim.engine.mesa.model import BorderModel
from sim.rules.network import RouteGraph
from sim.rules.policies import active_set, network_state, push_value
from sim.scenario.schema import PushSeries, TimeSpec
from sim.scenario.dates import step_dates
from sim.errors import ScenarioError
from sim.scenario.units import DAYS_PER_MONTH

D = dt.date


# ------------------------------------------------------------------------------------------ push series


def test_linear_push_is_the_straight_line_between_points_and_constant_outside():
    s = PushSeries(values={"2000-03": 1.0, "2000-07": 3.0, "2001": 2.0})  # 2001 = 2001-01
    assert push_value(s, D(1999, 6, 1)) == 1.0 and push_value(s, D(2000, 3, 1)) == 1.0  # before: first value
    assert push_value(s, D(2000, 4, 1)) == pytest.approx(1.5)
    assert push_value(s, D(2000, 5, 1)) == pytest.approx(2.0)
    assert push_value(s, D(2000, 7, 1)) == 3.0
    assert push_value(s, D(2000, 10, 1)) == pytest.approx(2.5)  # half-way from 3 (July) to 2 (January)
    assert push_value(s, D(2001, 1, 1)) == 2.0 and push_value(s, D(2030, 1, 1)) == 2.0  # after: last value


def test_step_push_holds_the_earlier_points_value():
    s = PushSeries(interpolation="step", values={"2000-03": 1.0, "2000-07": 3.0})
    assert push_value(s, D(2000, 1, 1)) == 1.0  # before the first point: the first value
    assert push_value(s, D(2000, 6, 1)) == 1.0 and push_value(s, D(2000, 6, 30)) == 1.0
    assert push_value(s, D(2000, 7, 1)) == 3.0 and push_value(s, D(2009, 7, 1)) == 3.0


@pytest.mark.parametrize("year, month", [(2000, 1), (2000, 2), (2001, 2), (2000, 4), (2000, 12)])
def test_a_weekly_step_inside_a_month_is_at_its_fraction_of_the_month(year, month):
    """Between the points of two consecutive months a linear series rises in proportion to the time elapsed:
    day d of a month of L days is at (d - 1) / L of the way, in months of any length (February too). So the
    rise per day is the same on every day of the month and the series is continuous into the next month."""
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    s = PushSeries(values={f"{year}-{month:02d}": 0.0, f"{nxt[0]}-{nxt[1]:02d}": 1.0})
    length = calendar.monthrange(year, month)[1]
    for day in range(1, length + 1):
        assert push_value(s, D(year, month, day)) == pytest.approx((day - 1) / length, abs=1e-9), day
    assert push_value(s, D(*nxt, 1)) == 1.0


def test_weekly_steps_see_the_push_at_their_own_dates():
    """A weekly run's rate at each step is the series at that step's date (linear, 2000-02 -> 2000-03)."""
    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")], edges=[edge("e", "o", "d")],
                         start="2000-02", end="2000-03", step="week",
                         push={"p": {"values": {"2000-02": 1.0, "2000-03": 2.0}}})
    model = BorderModel(build(data), population=False)
    delta = 7 / DAYS_PER_MONTH
    rate = data["population"]["groups"][0]["departure_rate"]
    expected = [rate * delta * (1.0 + ((d.day - 1) / 29 if d.month == 2 else 1.0)) for d in model.dates]
    assert model.dates[:5] == [D(2000, 2, 1), D(2000, 2, 8), D(2000, 2, 15), D(2000, 2, 22), D(2000, 2, 29)]
    np.testing.assert_allclose(model.rates[:, 0], expected, rtol=1e-9)


# ------------------------------------------------------------------------------------ policies, in order


def _policy_scenario(policies: list[dict], step: str = "month") -> dict:
    """o -a-> t (transit) -b-> d; edge a has guards 0.4, duration 2 months; t has arrest hazard 0.2, dwell 2."""
    return scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", arrest_hazard=0.2, dwell=2.0), node("d", "destination")],
        edges=[edge("a", "o", "t", controls={"guards": 0.4}, duration=2), edge("b", "t", "d")],
        start="2000-01", end="2000-12", step=step, policies=policies)


A = {"name": "A", "start": "2000-03", "end": "2000-09", "select": {"edges": ["a"], "nodes": ["t"]},
     "set": {"controls.guards": 0.5, "arrest_hazard": 0.6, "duration": 3, "dwell": 2},
     "scale": {"controls.guards": 3.0, "arrest_hazard": 2.0, "duration": 0.5, "dwell": 1.5}}
B = {"name": "B", "start": "2000-05", "select": {"edges": ["a"], "nodes": ["t"]},
     "scale": {"controls.guards": 0.5, "arrest_hazard": 0.25}}


def _values(sc, active) -> tuple[float, float, int, float]:
    st = network_state(sc, RouteGraph(sc), active)
    return float(st.controls[0, 0]), float(st.arrest_hazard[1]), int(st.duration[0]), float(st.dwell[1])


def test_set_then_scale_within_a_policy_and_clipping_after_all_policies():
    """A sets guards 0.5 then scales by 3: 1.5, clipped to 1; B then halves it. Clipping comes after every
    policy, so A and B together give 0.5 * 3 * 0.5 = 0.75, not min(1, 1.5) * 0.5 = 0.5."""
    sc = build(_policy_scenario([A, B]))
    guards = 0
    assert _values(sc, ())[guards] == 0.4
    assert _values(sc, (0,)) == (1.0, 1.0, 2, 3.0)  # guards 1.5 -> 1, hazard 1.2 -> 1, duration 1.5 -> 2
    assert _values(sc, (0, 1)) == (pytest.approx(0.75), pytest.approx(0.3), 2, 3.0)
    assert _values(sc, (1,))[:2] == (pytest.approx(0.2), pytest.approx(0.05))


def test_policies_apply_in_the_order_listed():
    """B listed first: B halves the base guards (0.2), then A sets 0.5 and scales by 3 (1.5 -> clipped 1)."""
    sc = build(_policy_scenario([B, A]))
    assert _values(sc, (0, 1))[:2] == (1.0, 1.0)
    assert _values(sc, (0,))[:2] == (pytest.approx(0.2), pytest.approx(0.05))


def test_overlapping_policies_by_date_and_the_end_of_one_leaves_the_other():
    sc = build(_policy_scenario([A, B]))
    by_month = [active_set(sc, d) for d in step_dates(sc.time)]
    assert by_month == [(), (), (0,), (0,), (0, 1), (0, 1), (0, 1), (0, 1), (1,), (1,), (1,), (1,)]
    after = _values(sc, by_month[8])  # A ended (end exclusive: 2000-09); B alone on the base values
    assert after == (pytest.approx(0.2), pytest.approx(0.05), 2, 2.0)


def test_policy_values_in_months_are_converted_to_weekly_steps():
    """With weekly steps (Δ = 7 / 30.4375 months): A's duration 3 * 0.5 = 1.5 months is round(1.5 / Δ) = 7
    steps, its dwell 2 * 1.5 = 3 months is 3 / Δ steps, and hazards are compounded over Δ after clipping."""
    sc = build(_policy_scenario([A, B], step="week"))
    delta = 7 / DAYS_PER_MONTH
    guards, hazard, duration, dwell = _values(sc, (0, 1))
    assert guards == pytest.approx(0.75) and duration == round(1.5 / delta) == 7
    assert dwell == pytest.approx(3 / delta)
    assert hazard == pytest.approx(1 - (1 - 0.3) ** delta)
    assert _values(sc, (0,))[1] == 1.0  # clipped to 1 first: 1 - (1 - 1)^Δ = 1
    assert _values(sc, ())[2] == round(2 / delta) == 9


# ------------------------------------------------------------------------------------------- step dates


def test_monthly_steps_fall_on_the_first_across_a_new_year():
    assert step_dates(TimeSpec(start="2000-11", end="2001-02", step="month")) == [
        D(2000, 11, 1), D(2000, 12, 1), D(2001, 1, 1), D(2001, 2, 1)]
    assert step_dates(TimeSpec(start="2000-05", end="2000-05", step="month")) == [D(2000, 5, 1)]


def test_weekly_steps_every_seven_days_from_the_first_to_the_last_day_of_the_end_month():
    assert step_dates(TimeSpec(start="2000-01", end="2000-02", step="week")) == [
        D(2000, 1, 1), D(2000, 1, 8), D(2000, 1, 15), D(2000, 1, 22), D(2000, 1, 29),
        D(2000, 2, 5), D(2000, 2, 12), D(2000, 2, 19), D(2000, 2, 26)]
    # 28 days of February 2001: four steps; a step on the end month's last day is included (2000-02-29)
    assert step_dates(TimeSpec(start="2001-02", end="2001-02", step="week")) == [
        D(2001, 2, 1), D(2001, 2, 8), D(2001, 2, 15), D(2001, 2, 22)]
    assert step_dates(TimeSpec(start="2000-02", end="2000-02", step="week"))[-1] == D(2000, 2, 29)
    weeks = step_dates(TimeSpec(start="2000-01", end="2009-12", step="week"))
    assert len(weeks) == (D(2009, 12, 31) - D(2000, 1, 1)).days // 7 + 1 == 522
    assert {(b - a).days for a, b in zip(weeks, weeks[1:])} == {7}


# ------------------------------------------------------------------------------------- the departure bound


def block_excess(model: BorderModel, t: int) -> list[tuple]:
    """(step, block, p_i, p̄_b) for every block b of the home population holding someone (at home or away) whose
    departure probability p_i(t), from the rule itself (`utilities` over the stratum's usable paths,
    `departure_probability`, the rate times the origin's chain multiplier and, with repeat attempts,
    propensity^attempts), exceeds the block's thinning bound p̄_b(t) (`block_bounds`)."""
    pop, sc = model.population, model.spec
    bounds = model.block_bounds(t)
    assert bounds.shape == pop.block_key.shape
    excess = []
    for b in range(pop.block_key.size):
        people = pop.block_members[pop.block_start[b]:][:pop.block_size[b]].astype(np.int64)
        o, g = int(pop.block_origin[b]), int(pop.block_group[b])
        assert (pop.origin[people] == o).all() and (pop.group[people] == g).all()
        paths = model.stratum_paths(o, g)
        if paths.size == 0:
            continue
        u = utilities(pop.risk_tolerance[people].astype(float), pop.means[people].astype(float), model.metrics,
                      paths, sc.route_choice)
        rate = model.rates[t, g]
        if model.chain_mult is not None:
            rate = rate * float(model.chain_mult[o])
        if pop.attempts is not None:
            rate = rate * rate_multiplier(sc.repeat.propensity, pop.attempts[people])
        p = departure_probability(rate, u.max(axis=1))
        if p.max() > bounds[b]:
            excess.append((t, b, float(p.max()), float(bounds[b])))
    return excess


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_each_blocks_bound_is_at_least_the_probability_of_everyone_in_it(data):
    """p̄_b(t) >= p_i(t) for every person i at home in block b at every step, with the mechanisms the scenarios
    switch on at random: repeat attempts, perceived risk, the death weight, chain migration, nesting."""
    model = BorderModel(build(data))
    for t in range(len(model.dates)):
        model.step()  # the state of step t is in force
        assert not block_excess(model, t)


@pytest.mark.parametrize("r", [0.1, 0.3, 0.7, 0.96875])
def test_the_departure_bound_holds_for_risk_tolerances_stored_in_float32(r):
    """A fixed risk tolerance r is stored as float32(r), which is above r for 0.1 and 0.3: the bound must use the
    stored value, not r (the persons' p_i would otherwise exceed p̄_b by a relative 1e-9)."""
    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")],
                         edges=[edge("e", "o", "d", controls={"guards": 0.5})],
                         groups=[group(departure_rate=0.7, risk_tolerance=r)], size=50,
                         hazards={"block": {}, "kill": {}, "detect": {"guards": 1.0}, "shot_kill_probability": 0.0},
                         route_choice={"risk_weight": 5.0, "cost_weight": 0.0, "time_weight": 0.1}, seed=seed(4))
    model = BorderModel(build(data))
    model.step()
    assert not block_excess(model, 0)


@pytest.mark.parametrize("propensity", [0.5, 3.0])
def test_the_departure_bound_covers_the_repeat_multiplier(propensity):
    """Everyone is caught and back home a step later; with propensity 3 the people at home who made a attempts
    have rates times 3^a, above the rate of anyone who never left: p̄_b must cover them (exact check at each step)."""
    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")],
                         edges=[edge("e", "o", "d", controls={"guards": 1.0})],
                         groups=[group(departure_rate=0.05, risk_tolerance=0.5)], size=2000, end="2000-10",
                         hazards={"block": {}, "kill": {}, "detect": {"guards": 1000.0}, "shot_kill_probability": 0.0},
                         route_choice={"risk_weight": 1.0, "cost_weight": 0.0, "time_weight": 0.0}, seed=seed(5))
    data["repeat"] = {"after": {"caught": 0}, "propensity": propensity}
    model = BorderModel(build(data))
    pop = model.population
    for t in range(len(model.dates)):
        model.step()
        assert not block_excess(model, t)
    assert pop.attempts.max() >= 2 and (pop.attempts[~pop.away] >= 1).any()


# ------------------------------------------------------------------------------------ candidate-path limit


def _chain(cutoff: int) -> dict:
    """o -> d directly (1 edge), o -> m2 -> m3 -> d (3 edges), o -> m1 -> m2 -> m3 -> d (4 edges)."""
    nodes = [node("o", "origin")] + [node(f"m{i}", "border") for i in (1, 2, 3)] + [node("d", "destination")]
    edges = [edge("direct", "o", "d"), edge("skip", "o", "m2"), edge("c1", "o", "m1"), edge("c2", "m1", "m2"),
             edge("c3", "m2", "m3"), edge("c4", "m3", "d")]
    return scenario_dict(nodes=nodes, edges=edges, max_path_edges=cutoff, seed=seed(3))


@pytest.mark.parametrize("cutoff, expected", [
    (1, {("direct",)}),
    (2, {("direct",)}),
    (3, {("direct",), ("skip", "c3", "c4")}),
    (4, {("direct",), ("skip", "c3", "c4"), ("c1", "c2", "c3", "c4")}),
    (20, {("direct",), ("skip", "c3", "c4"), ("c1", "c2", "c3", "c4")}),
])
def test_candidate_paths_go_up_to_max_path_edges_and_not_beyond(cutoff, expected):
    sc = build(_chain(cutoff))
    graph = RouteGraph(sc)
    found = [tuple(graph.edge_ids[e] for e in p.edges) for p in graph.paths]
    assert len(found) == len(set(found)) and set(found) == expected
    assert graph.max_legs == max(len(p) for p in expected)
    if cutoff == 3:  # nobody travels the 4-edge path: it is no route of the run
        result = BorderModel(sc).run()
        assert set(result.routes) == {"direct", "skip>c3>c4"}
        assert result.totals()["set_out"] == sc.population.size


def test_a_policy_switched_off_may_wait_beyond_the_horizon_and_is_checked_once_switched_on():
    """A counterfactual for a longer horizon (bordersim effects, `horizon:`): dated after the scenario's end, it is
    accepted while switched off, refused once switched on, and in force from its start when the horizon reaches it."""
    later = {**A, "name": "later", "start": "2001-03", "end": "2001-06", "enabled": False}
    data = _policy_scenario([later])
    sc = build(data)  # 2000-01..2000-12: switched off, its dates are not checked
    assert all(active_set(sc, d) == () for d in step_dates(sc.time))
    data["policies"][0]["enabled"] = True
    with pytest.raises(ScenarioError, match=r"policies\[later\]\.start.*outside the time horizon"):
        build(data)
    data["time"]["end"] = "2001-12"
    sc = build(data)
    by_month = [active_set(sc, d) for d in step_dates(sc.time)]
    assert by_month == [()] * 14 + [(0,)] * 3 + [()] * 7
