"""Time abroad before arrival (summary.json `years_abroad_by_year`, docs/model.md §7), exact in both engines.

o -a (1 step)-> t (transit, fixed dwell 6) -b (1 step)-> d: a person setting out at step s reaches t at s + 1,
leaves at s + 7 and arrives at s + 8, 8 months abroad. A person of the initial stock who has waited a months
leaves at max(0, 6 - a) and arrives one step later, abroad a + max(0, 6 - a) + 1 months. With repeat attempts
the clock restarts at every set-out: a person caught on edge a goes home, sets out again, and counts only the
journey that arrived."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, edge, group, node, scenario_dict, seed

from sim.engine.engines import run
from sim.outcomes import ARRIVED

ENGINES = ("agents", "arrays")


def chain(**kw) -> dict:
    return scenario_dict(nodes=[node("o", "origin"), node("t", "transit", dwell=6.0, arrest_hazard=0.0),
                                node("d", "destination")],
                         edges=[edge("a", "o", "t"), edge("b", "t", "d")], end="2001-12", seed=seed(3), **kw)


@pytest.mark.parametrize("engine", ENGINES)
def test_everyone_who_set_out_at_home_was_abroad_eight_months(engine):
    result = run(build(chain(groups=[group(departure_rate=0.05)], size=400)), engine=engine)
    arrived = result.arrivals_by_year()
    abroad = result.years_abroad_by_year()
    assert arrived["2000"] > 0 and arrived["2001"] > 0
    for year, n in arrived.items():
        assert abroad[year] == (pytest.approx(8 / 12) if n else None)
    assert result.summary()["years_abroad_by_year"] == abroad


@pytest.mark.parametrize("engine", ENGINES)
def test_the_initial_stock_counts_the_months_it_had_already_waited(engine):
    data = chain(groups=[group(departure_rate=0.0)], size=10)
    data["initial_stock"] = [{"node": "t", "size": 2000, "waited": {"dist": "uniform", "low": 0, "high": 9}}]
    result = run(build(data), engine=engine)
    from sim.engine.mesa.model import BorderModel

    waited = np.array([round(a) for a in BorderModel(build(data))._stock.waited])
    arrive = np.maximum(0, 6 - waited) + 1  # the step of arrival
    abroad = waited + arrive
    years = result.years()
    assert result.flows[..., ARRIVED].sum() == 2000 and (waited > 6).any() and (waited < 6).any()
    for year in ("2000", "2001"):
        inside = years[arrive] == int(year)
        expected = abroad[inside].sum() / 12 / inside.sum() if inside.any() else None
        assert result.years_abroad_by_year()[year] == (pytest.approx(expected, abs=1e-6) if inside.any() else None)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_second_attempt_starts_the_clock_again(engine):
    """Guards on edge a catch a share of those who try; the caught are home after 2 months and try again. Every
    arrival, first attempt or not, was abroad exactly the 8 months of its own journey."""
    data = chain(groups=[group(departure_rate=0.2)], size=400)
    data["network"]["edges"][0]["controls"] = {"guards": 0.5}
    data["hazards"] = {"block": {}, "kill": {}, "detect": {"guards": 1.0}, "shot_kill_probability": 0.0}
    data["repeat"] = {"after": {"caught": 2}, "propensity": 1.0}
    result = run(build(data), engine=engine)
    assert result.totals()["caught"] > 0 and result.totals()["arrived"] > 0
    for value in result.years_abroad_by_year().values():
        assert value is None or value == pytest.approx(8 / 12)
