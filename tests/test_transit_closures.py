"""Closures on the way (docs/model.md §14): a closed edge out of a transit node makes people wait there, still
exposed to arrest, until it reopens; `select.from_nodes` selects the edges leaving the listed nodes.

Statistical checks (2, listed in tests/conftest.py): the share repatriated while waiting for a closed leg to reopen,
at the suite's per-check level conftest.ALPHA, seeds conftest.seed(k)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_binomial, build, edge, node, scenario_dict, seed

from sim.engine.mesa.model import run
from sim.outcomes import ARRIVED, REPATRIATED, RETURNED, SET_OUT


def month(k: int) -> str:
    return f"{2000 + k // 12:04d}-{k % 12 + 1:02d}"


def closed_onward(k: int, *, h: float = 0.0, dwell: float = 1.0, size: int = 100, select: dict | None = None,
                  end: str = "2001-12", s: int = 1, brokers: dict | None = None) -> dict:
    """o -> t (transit, fixed dwell, arrest hazard h) -> d, edges of one step; everyone sets out at step 0 and
    reaches t at step 1; the edge out of t is closed for steps 1 .. k - 1 (reopens at step k)."""
    extra = {} if brokers is None else {"brokers": brokers}
    return scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", arrest_hazard=h, dwell=dwell, **extra),
               node("d", "destination")],
        edges=[edge("in", "o", "t"), edge("out", "t", "d")],
        size=size, end=end, seed=seed(s),
        policies=[{"name": "lockdown", "start": "2000-02", "end": month(k),
                   "select": select or {"edges": ["out"]}, "set": {"open": False}}],
    )


def flows(result, k: int) -> np.ndarray:
    return result.flows[..., k].sum(axis=(1, 2))


@pytest.mark.parametrize("dwell", [1.0, 0.0])
def test_a_closed_leg_out_of_transit_keeps_people_waiting(dwell):
    """No arrest: nobody turns back; everyone leaves t when the edge reopens (step 6) and arrives at step 7. Also
    at a transit node with no wait (dwell 0), where people would otherwise pass straight through."""
    result = run(build(closed_onward(6, dwell=dwell)))
    assert result.totals()["set_out"] == 100
    assert flows(result, RETURNED).sum() == 0
    arrived = flows(result, ARRIVED)
    assert arrived[7] == 100 and arrived.sum() == 100
    assert (result.in_transit.sum(axis=(1, 2))[1:7] == 100).all()
    assert result.by_edge()["out"]["returned"] == 0


@pytest.mark.parametrize("h, k, s", [(0.05, 10, 31), (0.2, 4, 32)])
def test_waiting_for_a_reopening_is_exposed_to_arrest(h, k, s):
    """Arrival at t at step 1, arrest at step 1 + Geometric(h), the edge reopens at step k >= 2 (an arrest in that
    step comes first): P(repatriated) = 1 - (1 - h)^(k - 1), the rest arrive at step k + 1; nobody turns back.
    (Under the old rule everyone not arrested by the end of the dwell, step 2, turned back.)"""
    n = 20_000
    result = run(build(closed_onward(k, h=h, size=n, s=s)))
    assert result.totals()["set_out"] == n
    rep = int(flows(result, REPATRIATED).sum())
    assert flows(result, RETURNED).sum() == 0
    assert flows(result, ARRIVED)[k + 1] == n - rep == flows(result, ARRIVED).sum()
    assert_binomial(rep, n, 1 - (1 - h) ** (k - 1), f"repatriated while waiting, h={h}, k={k}")


def test_select_from_nodes_is_the_edges_leaving_them():
    """`select.from_nodes: [t]` closes exactly the edges out of t: the same files as selecting them by id."""
    by_id = run(build(closed_onward(5, h=0.1, size=2000)))
    by_node = run(build(closed_onward(5, h=0.1, size=2000, select={"from_nodes": ["t"]})))
    np.testing.assert_array_equal(by_id.flows, by_node.flows)
    assert by_id.by_edge() == by_node.by_edge()
    assert flows(by_id, ARRIVED)[:6].sum() == 0 and flows(by_id, ARRIVED)[6] > 0


def test_a_closed_edge_out_of_a_border_node_still_turns_people_back():
    """Only edges out of transit nodes hold people: at a border node the old rule stands."""
    sc = scenario_dict(
        nodes=[node("o", "origin"), node("b", "border"), node("d", "destination")],
        edges=[edge("in", "o", "b", duration=2), edge("out", "b", "d")], size=50,
        policies=[{"name": "shut", "start": "2000-02", "end": "2000-04", "select": {"from_nodes": ["b"]},
                   "set": {"open": False}}])
    result = run(build(sc))
    assert flows(result, RETURNED)[2] == flows(result, SET_OUT)[0] == 50


def test_a_closed_leg_holds_the_broker_queue():
    """At a broker node a closed onward edge means no passage is sold; the queue waits and buys after it reopens."""
    result = run(build(closed_onward(5, dwell=0.0, size=30, brokers={"capacity": 10, "fee": 0})))
    assert result.sold[:, 1].tolist()[:8] == [0, 0, 0, 0, 0, 10, 10, 10]
    assert flows(result, RETURNED).sum() == 0 and flows(result, ARRIVED).sum() == 30


def test_arrest_scale_by_sex_sets_each_sex_exposure_while_waiting():
    """transit.arrest_scale a multiplies the cumulative arrest hazard: held k - 1 = 9 steps at h = 0.1, a woman
    (a = 0.5) is repatriated with probability 1 - (1 - h)^(0.5 * 9), a man (a = 2) with 1 - (1 - h)^(2 * 9)."""
    from conftest import group

    from sim.engine.mesa.model import BorderModel

    h, k, n = 0.1, 10, 20_000
    sc = closed_onward(k, h=h, size=n, s=33)
    sc["population"]["groups"] = [group(female_share=0.5, transit={"arrest_scale": {"female": 0.5, "male": 2.0}})]
    model = BorderModel(build(sc))
    result = model.run()
    women = int(model.population.female.sum())
    arrived_women = int(result.arrived_female.sum())
    arrived_men = int(flows(result, ARRIVED).sum()) - arrived_women
    assert result.totals()["set_out"] == n and flows(result, RETURNED).sum() == 0
    assert_binomial(women - arrived_women, women, 1 - (1 - h) ** (0.5 * (k - 1)), "women repatriated, a = 0.5")
    assert_binomial(n - women - arrived_men, n - women, 1 - (1 - h) ** (2 * (k - 1)), "men repatriated, a = 2")
