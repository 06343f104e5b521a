"""Time units: durations in months, rates per month, converted by the step (sim/units.py).

The statistical checks (4) use the suite's per-check level `conftest.ALPHA`, for any seed offset.
"""

from __future__ import annotations

import math

import pytest
from conftest import ALPHA, seed, TOY, build, edge, group, node, scenario_dict
from scipy import stats

from sim.errors import ScenarioError
from sim.engine.mesa.model import run
from sim.rules.policies import network_state
from sim.rules.network import RouteGraph
from sim.loading import load_scenario
from sim.scenario.units import DAYS_PER_MONTH, parse_duration, parse_probability_rate, parse_rate



def test_unit_strings_are_read_in_months():
    assert parse_duration(2) == 2.0
    assert parse_duration("45 days") == pytest.approx(45 / DAYS_PER_MONTH)
    assert parse_duration("2 weeks") == pytest.approx(14 / DAYS_PER_MONTH)
    assert parse_duration("1.5 years") == 18.0
    assert parse_duration("1 month") == 1.0
    assert parse_rate("0.12 per year") == pytest.approx(0.01)
    assert parse_rate("0.001 per week") == pytest.approx(0.001 * DAYS_PER_MONTH / 7)
    assert parse_probability_rate("0.1 per year") == pytest.approx(1 - 0.9 ** (1 / 12))
    assert parse_probability_rate(0.2) == 0.2
    for bad in ("two months", "3 fortnights", "5"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_rate("0.1 a year")


def _chain(**kw) -> dict:
    return scenario_dict(nodes=[node("o", "origin"), node("t", "transit", **kw.pop("transit", {})),
                                node("d", "destination")],
                         edges=[edge("a", "o", "t", **kw.pop("a", {})), edge("b", "t", "d")], **kw)


def test_a_unit_string_gives_the_same_scenario_as_the_number_in_months():
    numbers = build(_chain(transit={"dwell": 1.5, "arrest_hazard": 0.01}, a={"duration": 2},
                           groups=[group(departure_rate=0.01)]))
    strings = build(_chain(transit={"dwell": "1.5 months", "arrest_hazard": "0.01 per month"},
                           a={"duration": f"{2 * DAYS_PER_MONTH} days"},
                           groups=[group(departure_rate="0.12 per year")]))
    assert strings.network.nodes[1].dwell == numbers.network.nodes[1].dwell == 1.5
    assert strings.network.edges[0].duration == pytest.approx(2.0)
    assert strings.population.groups[0].departure_rate == pytest.approx(0.01)


def test_a_bad_unit_is_an_error_naming_the_key():
    with pytest.raises(ScenarioError) as info:
        build(_chain(a={"duration": "3 fortnights"}))
    assert info.value.key == "network.edges[a].duration" and "45 days" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        build(_chain(groups=[group(departure_rate="0.1 a year")]))
    assert "per year" in str(info.value)


@pytest.mark.parametrize("where, text, says", [
    ("rate", "-0.02 per year", "must not be negative, found '-0.02 per year'"),
    ("rate", "1e308 per day", "is too large, found '1e308 per day'"),
    ("duration", "-3 days", "must not be negative, found '-3 days'"),
    ("hazard", "2 per year", "must lie in [0, 1], found '2 per year'"),
    ("dwell", "100 years", "less than or equal to 600, found 1200.0 (read from '100 years')"),
])
def test_a_unit_string_out_of_bounds_is_quoted_as_written(where, text, says):
    """The bound checks ran after conversion and quoted the converted number ('found -0.0016666666666666668',
    'found inf', 'found 1200.0'), which the user never wrote."""
    if where == "rate":
        data = _chain(groups=[group(departure_rate=text)])
    elif where == "duration":
        data = _chain(a={"duration": text})
    elif where == "dwell":
        data = _chain(transit={"dwell": text})
    else:
        data = _chain(transit={"arrest_hazard": text})
    with pytest.raises(ScenarioError) as info:
        build(data)
    assert says in str(info.value), str(info.value)


def test_policy_values_take_units_too():
    sc = build(_chain(transit={"dwell": 2}, policies=[
        {"name": "slow", "start": "2000-03", "select": {"nodes": ["t"]}, "set": {"dwell": "1 year"}}]))
    assert sc.policies[0].set_to["dwell"] == 12.0


def test_the_engine_converts_months_to_weekly_steps():
    sc = build(_chain(step="week", transit={"dwell": 3, "arrest_hazard": 0.1}, a={"duration": 2}))
    st = network_state(sc, RouteGraph(sc), ())
    delta = 7 / DAYS_PER_MONTH
    assert st.duration.tolist() == [round(2 / delta), round(1 / delta)]  # 9 and 4 weeks
    assert st.dwell[1] == pytest.approx(3 / delta)
    assert st.arrest_hazard[1] == pytest.approx(1 - 0.9 ** delta)


def test_a_geometric_dwell_shorter_than_a_step_is_refused():
    with pytest.raises(ScenarioError, match="at least one step") as exc:
        build(_chain(transit={"dwell": 0.5, "dwell_distribution": "geometric"}))
    assert exc.value.key is not None and exc.value.key.endswith("].dwell")  # the key, so the line, is named
    build(_chain(step="week", transit={"dwell": 0.5, "dwell_distribution": "geometric"}))  # 2.2 weeks: fine


def test_weekly_steps_give_the_departures_of_monthly_steps():
    """The toy scenario run in weeks sets out as many people, per group, as in months, within sampling error:
    k_week | k_week + k_month ~ Binomial(n, 1/2) when both are Poisson counts of the same mean."""
    size = 200_000
    month = load_scenario(TOY, overrides=[f"population.size={size}"])
    week = load_scenario(TOY, overrides=[f"population.size={size}", "time.step=week"])
    a = run(month, seed=seed(31)).by_group()
    b = run(week, seed=seed(32)).by_group()
    counts = [(sum(v["set_out"] for v in a.values()), sum(v["set_out"] for v in b.values()))]
    counts += [(a[g]["set_out"], b[g]["set_out"]) for g in a]
    for k_month, k_week in counts:
        assert k_month > 50
        p = stats.binomtest(k_week, k_week + k_month, 0.5).pvalue
        assert p > ALPHA, f"{k_week} weekly vs {k_month} monthly departures (p = {p:.2g})"
    assert math.isclose(counts[0][1] / counts[0][0], 1, abs_tol=0.1)
