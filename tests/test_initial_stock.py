"""Initial stocks at transit nodes (`initial_stock:`, docs/model.md section 10).

Exact: with no arrest and a fixed dwell the stock leaves exactly when the rule says (max(0, round(w) - round(a))
steps after the start, a the time already waited, in steps), monthly and weekly; they enter the ledger as
`initial_stock` at step 0, not as `set_out`; each person's attributes are their group's.
Statistical checks (4, counted in conftest.py's family-wise comment; fixed seeds, level ALPHA): the group
composition, the female share by default (the group's) and when the entry sets it, and the logit split of the
onward path without the cost term."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_binomial, build, edge, group, node, scenario_dict, seed

from sim.engine.mesa.model import BorderModel, run
from sim.errors import ScenarioError
from sim.outcomes import ARRIVED, SET_OUT
from sim.scenario.units import DAYS_PER_MONTH


def transit_scenario(stock: list[dict], *, step: str = "month", dwell: float = 6.0, hazard: float = 0.0,
                     groups: list[dict] | None = None, k: int = 1, end: str = "2001-12") -> dict:
    """o -a-> t (transit, fixed dwell) -b-> d; nobody at home sets out (departure rate 0) unless `groups` say."""
    data = scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", dwell=dwell, arrest_hazard=hazard), node("d", "destination")],
        edges=[edge("a", "o", "t"), edge("b", "t", "d")], groups=groups or [group(departure_rate=0.0)],
        size=100, step=step, end=end, seed=seed(k))
    data["initial_stock"] = stock
    return data


@pytest.mark.parametrize("step", ["month", "week"])
def test_the_stock_leaves_when_the_fixed_dwell_is_over(step):
    delta = 1.0 if step == "month" else 7 / DAYS_PER_MONTH
    data = transit_scenario([{"node": "t", "size": 3000, "waited": {"dist": "uniform", "low": 0, "high": 9}}],
                            step=step)
    model = BorderModel(build(data))
    result = model.run()
    waited = np.array([round(a / delta) for a in model._stock.waited])
    leave = np.maximum(0, round(6.0 / delta) - waited)
    arrive = leave + max(1, round(1.0 / delta))  # edge b: one month
    expected = np.bincount(arrive, minlength=len(result.dates))[: len(result.dates)]
    arrived = result.flows[..., ARRIVED].sum(axis=(1, 2))
    np.testing.assert_array_equal(arrived, expected)
    assert expected.sum() == 3000 and (leave == 0).any() and (leave > 0).any()
    assert result.flows[..., SET_OUT].sum() == 0
    init = result.persons["initial_stock"].sum(axis=(1, 2))
    assert init[0] == 3000 and init[1:].sum() == 0
    assert result.in_transit[0].sum() == 3000 - arrived[0]
    assert result.totals()["initial_stock"] == 3000 and result.person_totals()["initial_stock"] == 3000
    assert result.conservation_holds()


def test_a_fixed_time_waited_in_a_unit_string():
    result = run(build(transit_scenario([{"node": "t", "size": 50, "waited": "4 months"}])))
    arrived = result.flows[..., ARRIVED].sum(axis=(1, 2))
    assert arrived[2 + 1] == 50  # leaves at 6 - 4 = 2, crosses in one step


@pytest.mark.parametrize("propensity", [0.0, 1.0])
def test_the_stock_is_exposed_to_arrest_from_the_start_and_goes_home_with_repeats(propensity):
    """Arrest hazard 1 per month: everyone is arrested at step 1 (before the dwell ends); with repeat attempts they
    are back at their origin 1 step later, counted as persons home again, with one attempt made. With propensity
    0 they stay home; with propensity 1 and departure rate 50 (p = 1 - exp(-50) = 1 in floating point) all of
    them set out again at step 2 (the home population set out at step 0 and is away until step 3)."""
    groups = [group(departure_rate=50.0 if propensity else 0.0)]
    data = transit_scenario([{"node": "t", "size": 40}], hazard=1.0, end="2000-04", groups=groups)
    data["repeat"] = {"after": {"repatriated": 1}, "propensity": propensity}
    model = BorderModel(build(data))
    pop = model.population
    assert pop.size == 100 and pop.extra == 40 and pop.away[100:].all()
    for _ in range(3):
        model.step()
    led = model.ledger
    assert led.flows[1, ..., 4].sum() == 40  # the stock, repatriated at step 1
    assert led.persons.series["released"][2].sum() == 40
    if propensity:
        assert led.flows[2, ..., 0].sum() == 40 and led.persons.series["home_again"][2].sum() == 0
        assert pop.away[100:].all() and (pop.attempts[100:] == 2).all()
    else:
        assert led.persons.series["home_again"][2].sum() == 40
        assert (~pop.away[100:]).all() and (pop.attempts[100:] == 1).all()
    assert model.run().conservation_holds()


def test_composition_and_attributes_follow_the_spec():
    groups = [group("a", share=0.5, female_share=0.2, departure_rate=0.0, risk_tolerance=0.25, means=10.0),
              group("b", share=0.5, female_share=0.9, departure_rate=0.0, risk_tolerance=0.75, means=20.0)]
    n = 20000
    stock = [{"node": "t", "size": n, "groups": {"a": 1, "b": 3}},
             {"node": "t", "size": n, "groups": {"a": 1}, "female_share": 0.4}]
    model = BorderModel(build(transit_scenario(stock, groups=groups, k=2)))
    sd = model._stock
    first, second = slice(0, n), slice(n, 2 * n)
    assert_binomial(int((sd.group[first] == 1).sum()), n, 0.75, "group b share of the first entry")
    in_b = sd.group[first] == 1
    assert_binomial(int(sd.female[first][in_b].sum()), int(in_b.sum()), 0.9, "female share of group b (default)")
    assert (sd.group[second] == 0).all()
    assert_binomial(int(sd.female[second].sum()), n, 0.4, "female share set by the entry")
    np.testing.assert_array_equal(sd.risk_tolerance, np.where(sd.group == 0, 0.25, 0.75).astype(np.float32))
    np.testing.assert_array_equal(sd.means, np.where(sd.group == 0, 10.0, 20.0).astype(np.float32))
    assert (sd.origin == model.graph.node_index["o"]).all()
    pop = model.population
    np.testing.assert_array_equal(pop.group[100:], sd.group)
    np.testing.assert_array_equal(pop.female[100:], sd.female)


def test_the_onward_path_is_a_logit_choice_without_the_cost_term():
    """Two edges from t to d: 'safe' (no control) and 'risky' (P(caught) = q = 0.5, and a cost nobody can pay).
    Risk tolerance 0, alpha_risk = 2: U_safe = 0, U_risky = -2 q; P(safe) = 1 / (1 + exp(-1)). The cost is left
    out: they are already on the way."""
    n, q = 20000, 0.5
    data = scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", dwell=1.0), node("d", "destination")],
        edges=[edge("a", "o", "t"), edge("safe", "t", "d", route="safe"),
               edge("risky", "t", "d", route="risky", cost=1e6, controls={"guards": -math.log1p(-q)})],
        groups=[group(departure_rate=0.0, risk_tolerance=0.0, means=0.0)], size=10, end="2000-04",
        hazards={"block": {}, "kill": {}, "detect": {"guards": 1.0}, "shot_kill_probability": 0.0},
        route_choice={"risk_weight": 2.0, "cost_weight": 5.0, "time_weight": 0.0}, seed=seed(3))
    data["initial_stock"] = [{"node": "t", "size": n}]
    result = run(build(data))
    init = result.persons["initial_stock"][0].sum(axis=1)
    safe = int(init[result.routes.index("safe")])
    assert int(init.sum()) == n
    assert_binomial(safe, n, 1 / (1 + math.exp(-2 * q)), "stock choosing the safe onward edge")


@pytest.mark.parametrize("entry, key", [
    ({"node": "o", "size": 5}, "initial_stock[0].node"),
    ({"node": "t", "size": 5, "groups": {"nobody": 1}}, "initial_stock[0].groups"),
    ({"node": "t", "size": 5, "groups": {"everyone": 0}}, "initial_stock[0].groups"),
    ({"node": "t", "size": 5, "waited": -1}, "initial_stock[0].waited"),
    ({"node": "t", "size": -5}, "initial_stock[0].size"),
    # past 50 years (3e9 months overflowed the array engine's int32 steps: the engines disagreed, exit 0)
    ({"node": "t", "size": 5, "waited": 3e9}, "initial_stock[0].waited"),
    ({"node": "t", "size": 5, "waited": "51 years"}, "initial_stock[0].waited"),
    ({"node": "t", "size": 5, "waited": {"dist": "uniform", "low": 0, "high": 601}}, "initial_stock[0].waited"),
    ({"node": "t", "size": 5, "waited": {"dist": "lognormal", "median": 1e10, "sigma": 1}},
     "initial_stock[0].waited"),
])
def test_bad_initial_stock_entries_are_scenario_errors(entry, key):
    with pytest.raises(ScenarioError) as exc:
        build(transit_scenario([entry]))
    assert key in str(exc.value)


@pytest.mark.parametrize("engine", ["agents", "arrays"])
def test_a_drawn_time_waited_past_50_years_stops_the_run_naming_the_key(engine):
    """A lognormal's tail can pass what the schema bounds (its median): the run stops with a ScenarioError (exit 2
    in the CLI) rather than overflow (a crash in one engine, silently other numbers in the other)."""
    from sim.engine.engines import run as run_with

    scenario = build(transit_scenario([{"node": "t", "size": 2000,
                                        "waited": {"dist": "lognormal", "median": 12, "sigma": 3}}]))
    with pytest.raises(ScenarioError, match="past 600") as exc:
        run_with(scenario, engine=engine)
    assert exc.value.key == "initial_stock[0].waited"
    fine = build(transit_scenario([{"node": "t", "size": 50, "waited": 600}]))
    assert run_with(fine, engine=engine).totals()["initial_stock"] == 50


def test_a_stock_group_with_no_path_through_the_node_is_refused():
    data = transit_scenario([{"node": "t", "size": 5}], groups=[group(modes=["sea"], departure_rate=0.0)])
    data["network"]["edges"].append(edge("boat", "o", "d", "sea"))
    with pytest.raises(ScenarioError) as exc:  # its only group cannot pass: the node is named
        build(data)
    assert "lies on no candidate path" in str(exc.value) and exc.value.key == "initial_stock[0].node"


def test_the_report_shows_the_stock_in_the_totals_and_the_identity_with_it(tmp_path):
    from sim.engine.ledger import write_run
    from sim.directories import load
    from sim.plots.report import _run_sections  # the report's run text and tables, without its figures

    data = transit_scenario([{"node": "t", "size": 300, "waited": {"dist": "fixed", "value": 0}}],
                            groups=[group(departure_rate=0.05)])
    write_run(run(build(data)), tmp_path / "r")
    html = _run_sections(load(tmp_path / "r"))
    totals = html[html.index("<h2>Totals</h2>"):html.index("<h2>Arrivals per year</h2>")]
    assert "set_out + initial_stock = arrived + caught + killed + repatriated + returned + in_transit" in totals
    assert "initial_stock</th>" in totals and "Attempts over the whole run" in totals
    # arrived / (set_out + initial_stock): a share, at most 100% (arrived / set_out alone was 454%)
    shares = [float(cell[cell.rindex(">") + 1:]) for cell in totals.split("%</td>")[:-1]]
    assert shares and all(0 <= s <= 100 for s in shares), shares


def test_the_onward_choice_leaves_out_even_a_cost_past_the_floating_point_range():
    """The cost term is left out, so the costs of the onward paths change nobody's choice: also when a path's
    costs sum past the floating-point range (1e308 + 1e308 = inf; it was inf / inf = NaN, and every person of the
    stock took the first path)."""
    def data(cost: float) -> dict:
        d = scenario_dict(
            nodes=[node("o", "origin"), node("t", "transit", dwell=1.0), node("d", "destination")],
            edges=[edge("a", "o", "t", cost=cost), edge("safe", "t", "d", route="safe"),
                   edge("risky", "t", "d", route="risky", cost=cost, controls={"guards": 0.7})],
            groups=[group(departure_rate=0.0, risk_tolerance=0.0, means=0.0)], size=10, end="2000-04",
            hazards={"block": {}, "kill": {}, "detect": {"guards": 1.0}, "shot_kill_probability": 0.0},
            route_choice={"risk_weight": 2.0, "cost_weight": 5.0, "time_weight": 0.0}, seed=seed(3))
        d["initial_stock"] = [{"node": "t", "size": 2000}]
        return d

    finite, huge = (run(build(data(cost))).persons["initial_stock"][0].sum(axis=1) for cost in (1e6, 1e308))
    np.testing.assert_array_equal(huge, finite)
    assert finite.sum() == 2000 and (finite > 0).sum() == 2  # both paths taken: the choice is not degenerate


def test_utilities_past_the_floating_point_range_are_minus_infinity_without_a_warning(recwarn):
    """Route-choice weights near 1e308 sum past the floating-point range: every utility is -inf (nobody sets out),
    the stock's onward choice is uniform (the logit of equal utilities), both engines agree, and nothing is
    written to standard error (it was numpy's overflow and invalid-value warnings)."""
    from sim.engine.arrays import run as run_arrays

    d = transit_scenario([{"node": "t", "size": 300}], groups=[group(departure_rate=0.5)])
    d["network"]["edges"].append(edge("b2", "t", "d", route="other"))
    d["route_choice"] = {"risk_weight": 1e308, "cost_weight": 1e308, "time_weight": 1e308}
    scenario = build(d)
    mesa, arrays = run(scenario), run_arrays(scenario)
    assert [str(w.message) for w in recwarn] == []
    assert mesa.totals() == arrays.totals()
    assert mesa.totals()["set_out"] == 0 and mesa.totals()["initial_stock"] == 300
    init = mesa.persons["initial_stock"][0].sum(axis=1)
    assert init.min() > 0  # the uniform choice takes both onward paths


def test_a_row_of_minus_infinite_utilities_draws_uniformly():
    from sim.rules.choice import logit_choice

    u = np.full((6, 3), -np.inf)
    uniforms = np.array([0.0, 0.2, 1 / 3 + 1e-9, 0.5, 0.7, 0.999])
    np.testing.assert_array_equal(logit_choice(u, uniforms), [0, 0, 1, 1, 2, 2])
    finite = np.log(np.array([[1.0, 2.0, 1.0]]))  # an ordinary row is unchanged: P = 1/4, 1/2, 1/4
    np.testing.assert_array_equal(logit_choice(np.repeat(finite, 3, axis=0), np.array([0.2, 0.5, 0.8])), [0, 1, 2])


def test_a_lognormal_sigma_near_the_floating_point_limit_stops_the_run_without_numpy_warnings(recwarn):
    """exp(sigma Z) overflows to inf for a sigma near 1e308: the run stops with its own message (a time waited
    past 600 months, exit 2 in the CLI); numpy's overflow warnings printed before it on stderr."""
    scenario = build(transit_scenario([{"node": "t", "size": 200,
                                        "waited": {"dist": "lognormal", "median": 1, "sigma": 1e308}}]))
    with pytest.raises(ScenarioError, match="past 600"):
        run(scenario)
    assert [str(w.message) for w in recwarn] == []


def test_a_stock_where_no_path_passes_names_the_node_and_one_stranded_group_names_the_entry():
    """A stock at a transit node on no candidate path was reported at `initial_stock[0].groups`, a key the file
    did not hold, advising to give the groups 'without it' when there was one group (a probe). The node is named
    when no group it draws can pass; the entry, when some drawn by the population's shares cannot."""
    data = transit_scenario([{"node": "u", "size": 5}])
    data["network"]["nodes"].append(node("u", "transit", dwell=1.0))
    with pytest.raises(ScenarioError, match="'u' lies on no candidate path") as exc:
        build(data)
    assert exc.value.key == "initial_stock[0].node"
    walkers, sailors = group("walkers", share=0.5, departure_rate=0.0), group("sailors", share=0.5, modes=["sea"])
    data = transit_scenario([{"node": "t", "size": 5}], groups=[walkers, sailors])
    data["network"]["edges"].append(edge("boat", "o", "d", mode="sea"))
    with pytest.raises(ScenarioError, match="group\\(s\\) sailors have no candidate path") as exc:
        build(data)
    assert exc.value.key == "initial_stock[0]" and "give initial_stock[0].groups" in str(exc.value)
    data["initial_stock"][0]["groups"] = {"walkers": 1, "sailors": 1}
    with pytest.raises(ScenarioError, match="group 'sailors' has no candidate path") as exc:
        build(data)
    assert exc.value.key == "initial_stock[0].groups"
