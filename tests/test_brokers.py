"""Brokers at transit nodes and sex differences in transit (docs/model.md §14): exact answers on small scenarios.

Every check here is exact (no statistical check): passages per step from the capacity, the step at which savings
buy a passage, the scarcity price on a constructed queue, first come first served among those who can pay, a fee
rise with common random numbers, edge costs paid on entering, the group's dwell scale and savings by sex."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, edge, group, node, scenario_dict

from sim.engine.mesa.model import BorderModel, run
from sim.errors import ScenarioError
from sim.outcomes import ARRIVED, REPATRIATED, RETURNED, SET_OUT
from sim.rules.brokers import buyers, means_now, passages_on_offer, scarcity_price


def broker_scenario(brokers: dict, *, size: int = 30, end: str = "2000-12", groups: list[dict] | None = None,
                    cost_in: float = 0.0, cost_out: float = 0.0, policies: list[dict] | None = None,
                    step: str = "month", **transit) -> dict:
    """origin o -> transit c (brokers, no wait unless given) -> destination d, edges of one step; everyone sets out
    in step 0 (rate 50), reaches c in step 1."""
    return scenario_dict(
        nodes=[node("o", "origin"), node("c", "transit", brokers=brokers, **transit), node("d", "destination")],
        edges=[edge("in", "o", "c", cost=cost_in), edge("out", "c", "d", cost=cost_out)],
        size=size, end=end, groups=groups, policies=policies, step=step,
    )


def arrivals(result) -> np.ndarray:
    return result.flows[..., ARRIVED].sum(axis=(1, 2))


# ------------------------------------------------------------------------------------------- pure rules


def test_passages_on_offer_are_the_whole_passages_accrued():
    """credit += K; S = floor(credit); credit -= S: K = 2.5 gives 2, 3, 2, 3; K = 0.3 gives 0, 0, 0, 1."""
    for capacity, expected in ((2.5, [2, 3, 2, 3]), (0.3, [0, 0, 0, 1]), (0.0, [0, 0, 0, 0])):
        credit, got = 0.0, []
        for _ in range(4):
            s, credit = passages_on_offer(credit, capacity)
            got.append(s)
        assert got == expected, capacity


def test_scarcity_price_on_a_constructed_queue():
    """F = min(fee_max, f * max(1, Q / max(K, 1))^eta), K the capacity per month."""
    assert scarcity_price(1000.0, 30, 10, 0.5, None) == pytest.approx(1000.0 * 3 ** 0.5, rel=1e-15)
    assert scarcity_price(1000.0, 30, 10, 1.0, None) == 3000.0
    assert scarcity_price(1000.0, 30, 10, 1.0, 2500.0) == 2500.0
    assert scarcity_price(1000.0, 5, 10, 2.0, None) == 1000.0  # more supply than demand: the base fee
    assert scarcity_price(1000.0, 30, 0, 1.0, None) == 30000.0  # no supply: Q / 1
    assert scarcity_price(1000.0, 30, 10, 0.0, None) == 1000.0  # eta = 0: a fixed price
    assert scarcity_price(1000.0, 0, 0, 0.0, 800.0) == 800.0  # the cap holds at eta = 0 too
    # past the floating-point range (Python's float ** raises there): infinite, capped by fee_max, 0 for a free base
    assert scarcity_price(100.0, 500, 1, 1000.0, None) == float("inf")
    assert scarcity_price(100.0, 500, 1, 200.0, 5000.0) == 5000.0
    assert scarcity_price(0.0, 500, 1, 1000.0, None) == 0.0


def test_buyers_first_come_first_served_among_those_who_can_pay():
    means = np.array([5.0, 1.0, 7.0, 0.0, 9.0, 3.0])
    eligible = np.array([True, True, True, True, False, True])
    need = np.full(6, 3.0)
    assert buyers(means, need, eligible, 2).tolist() == [0, 2]
    assert buyers(means, need, eligible, 10).tolist() == [0, 2, 5]  # the one who cannot go (4) is skipped
    assert buyers(means, need, eligible, 0).tolist() == []
    assert means_now(np.array([100.0, -50.0]), np.array([10.0, 25.0]), 4).tolist() == [140.0, 50.0]


# ----------------------------------------------------------------------------------------------- engine


@pytest.mark.parametrize("capacity, per_step, left", [(3, [3] * 10, 0), ("36 per year", [3] * 10, 0),
                                                      (2.5, [3, 2] * 5, 2)])
def test_capacity_k_per_month_lets_exactly_k_leave(capacity, per_step, left):
    """No arrest, everyone can pay: the passages sold in step t are floor(credit) (credit accrues from step 0, when
    the queue is still empty), and the buyers arrive one step later."""
    result = run(build(broker_scenario({"capacity": capacity, "fee": 0})))
    assert result.totals()["set_out"] == 30
    got = arrivals(result)
    assert got[:2].tolist() == [0, 0]
    assert got[2:].tolist() == per_step
    assert result.sold[1:11, 1].tolist() == per_step
    b = result.summary()["brokers"]["c"]["2000"]
    assert b == {"fee": 0.0, "sold": 30 - left, "queued": left}
    assert result.queued[1, 1] == 30 - per_step[0]


def test_savings_buy_the_passage_at_the_step_the_rule_says():
    """Means 100 on arrival (step 1), savings 100 per month, fee 1000: m(t) = 100 + 100 (t - 1) >= 1000 first at
    t = 10; the passage is bought then and the person arrives at step 11. Nobody leaves before."""
    g = group(means=100.0, transit={"savings": 100.0})
    result = run(build(broker_scenario({"capacity": 100, "fee": 1000}, groups=[g], end="2001-06")))
    got = arrivals(result)
    assert got[:11].sum() == 0 and got[11] == 30 and got[12:].sum() == 0
    assert result.sold[10, 1] == 30 and result.sold[:10, 1].sum() == 0
    # without savings nobody can ever pay
    none = run(build(broker_scenario({"capacity": 100, "fee": 1000}, groups=[group(means=100.0)], end="2001-06")))
    assert arrivals(none).sum() == 0 and none.totals()["in_transit"] == 30


def test_first_come_first_served_among_those_who_can_pay_in_the_engine():
    """One passage a month at a fee of 500: 'rich' (means 2000) can pay at once, 'poor' (means 0, savings 100 a
    month) from step 6. The queue is in order of arrival (person index: all reach the node in step 1); each month
    the first in line who can pay buys. The group of each arrival follows that rule exactly."""
    groups = [group("rich", share=0.5, means=2000.0), group("poor", share=0.5, means=0.0, transit={"savings": 100})]
    sc = build(broker_scenario({"capacity": 1, "fee": 500}, groups=groups, size=20, end="2002-12"))
    model = BorderModel(sc)
    result = model.run()
    queue = model.population.group.tolist()  # 0 rich, 1 poor, in person order
    assert len(queue) == 20
    expected = []
    for t in range(len(model.dates)):
        if t < 1 or not queue:
            expected.append(None)
            continue
        can = [i for i, g in enumerate(queue) if g == 0 or 100 * (t - 1) >= 500]
        expected.append(queue.pop(can[0]) if can else None)
    arrived = result.flows[..., ARRIVED].sum(axis=1)  # (T, G)
    for t in range(1, len(model.dates) - 1):
        g = expected[t]
        want = [0, 0] if g is None else [int(g == 0), int(g == 1)]
        assert arrived[t + 1].tolist() == want, t
    assert {0, 1} <= set(g for g in expected if g is not None)


def test_the_scarcity_price_in_the_engine():
    """30 queued from step 1, 5 passages a month, eta = 1, base fee 100, cap 450: F(t) = min(450, 100 *
    max(1, Q(t-1) / S(t-1))): 100, 100, then Q = 30, 25, ... over S = 5."""
    result = run(build(broker_scenario({"capacity": 5, "fee": 100, "fee_elasticity": 1.0, "fee_max": 450},
                                       groups=[group(means=10_000.0)])))
    assert result.fees[:, 1].tolist() == [100, 100, 450, 450, 400, 300, 200, 100, 100, 100, 100, 100]
    assert result.sold[:, 1].tolist() == [0] + [5] * 6 + [0] * 5
    assert result.summary()["brokers"]["c"]["2000"]["fee"] == round(float(result.fees[:, 1].mean()), 2)


def test_the_scarcity_price_compares_the_queue_with_the_capacity_per_month_whatever_the_step():
    """F(t) = f * max(1, Q(t-1) / K) with Q(t-1) the people queued at the last sale (queued after it + sold) and K
    the capacity per month, 5: the same 30 people queued price a passage at 100 * 30 / 5 = 600 with monthly and
    with weekly steps (with the passages offered in a week, about 1, as the supply, a weekly run asked 3,000, sold
    less and gave another answer than a monthly one)."""
    first_price = {}
    for step in ("month", "week"):
        r = run(build(broker_scenario({"capacity": 5, "fee": 100, "fee_elasticity": 1.0}, step=step, end="2000-03",
                                      groups=[group(means=10_000.0)])))
        fees, demand = r.fees[:, 1], r.queued[:, 1] + r.sold[:, 1]
        first = int(np.argmax(demand > 0))  # the first sale with people queued
        assert fees[: first + 1].tolist() == [100.0] * (first + 1), step
        np.testing.assert_allclose(fees[first + 1:], 100.0 * np.maximum(1.0, demand[first:-1] / 5.0), rtol=1e-12)
        first_price[step] = (demand[first], fees[first + 1])
    assert first_price == {"month": (30, 600.0), "week": (30, 600.0)}


def test_a_fee_rise_lowers_departures_from_the_node():
    """Common random numbers: the same seed and a fee x5 from 2000-04 (after everyone has set out, in step 0):
    the same passages are sold before it and strictly fewer over the horizon."""
    means = {"dist": "lognormal", "median": 2000, "sigma": 1.0}
    base = broker_scenario({"capacity": 40, "fee": 1500}, size=2000, groups=[group(means=means)])
    rise = dict(base, policies=[{"name": "rise", "start": "2000-04", "select": {"nodes": ["c"]},
                                 "scale": {"brokers.fee": 5.0}}])
    a, b = run(build(base)), run(build(rise))
    assert a.totals()["set_out"] == b.totals()["set_out"] == 2000
    np.testing.assert_array_equal(a.sold[:3], b.sold[:3])
    assert b.fees[3:, 1].tolist() == [7500.0] * 9 and a.fees[3:, 1].tolist() == [1500.0] * 9
    assert b.sold[:, 1].sum() < a.sold[:, 1].sum()
    assert b.totals()["arrived"] < a.totals()["arrived"]


def test_a_policy_on_capacity_stops_the_sales():
    """brokers.capacity set to 0 from 2000-04 (a crackdown): nothing is sold from step 3; those queued stay."""
    pol = [{"name": "crackdown", "start": "2000-04", "select": {"nodes": ["c"]},
            "set": {"brokers.capacity": "0 per year"}}]
    result = run(build(broker_scenario({"capacity": 5, "fee": 0}, policies=pol)))
    assert result.sold[:, 1].tolist() == [0, 5, 5] + [0] * 9
    assert result.totals()["in_transit"] == 20 == result.queued[-1, 1]


def test_queued_people_stay_exposed_to_arrest():
    """No passages at all and an arrest hazard: nobody arrives, and every repatriation happens at the node while
    queued; the queue is what is left in transit at every step."""
    result = run(build(broker_scenario({"capacity": 0, "fee": 0}, size=500, end="2002-12", arrest_hazard=0.1)))
    tot = result.totals()
    assert tot["arrived"] == 0 and tot["repatriated"] > 0
    assert tot["repatriated"] + tot["in_transit"] == 500
    np.testing.assert_array_equal(result.queued[1:, 1], result.in_transit[1:].sum(axis=(1, 2)))


def test_edge_costs_are_paid_when_entered_and_the_passage_needs_the_onward_legs():
    """Means 1000, the leg into the node costs 600: 400 left there. A passage costs the fee (300) plus the onward
    leg (cost_out): 300 + 100 = 400 can be paid, 300 + 200 = 500 cannot (and savings are 0)."""
    g = [group(means=1000.0)]
    ok = run(build(broker_scenario({"capacity": 100, "fee": 300}, groups=g, cost_in=600, cost_out=100)))
    short = run(build(broker_scenario({"capacity": 100, "fee": 300}, groups=g, cost_in=600, cost_out=200)))
    assert ok.totals()["arrived"] == 30
    assert short.totals()["arrived"] == 0 and short.totals()["in_transit"] == 30
    # at home only the legs up to the first broker node must be affordable: 600 <= 1000 lets everyone set out
    assert short.totals()["set_out"] == 30


def test_the_path_cost_includes_the_current_fee():
    """c_j = edge costs + the price at every broker node on the path; the money needed at home is the legs up to
    the first broker node."""
    model = BorderModel(build(broker_scenario({"capacity": 5, "fee": 250}, cost_in=10, cost_out=20)))
    model.step()
    (j,) = range(len(model.graph.paths))
    assert model.metrics.cost[j] == 10 + 20 + 250
    assert model.metrics.upfront is not None and model.metrics.upfront[j] == 10


def test_dwell_scale_and_savings_by_sex():
    """Fixed dwell 3 months with women's dwell x2: men leave the node at step 1 + 3, women at 1 + 6 (arriving one
    step later); savings only for women, 100 a month, fee 500 after the dwell: women pay, men never can."""
    g = group(female_share=0.5, means=0.0, transit={"dwell_scale": {"female": 2.0, "male": 1.0}})
    sc = scenario_dict(nodes=[node("o", "origin"), node("c", "transit", dwell=3), node("d", "destination")],
                       edges=[edge("in", "o", "c"), edge("out", "c", "d")], size=200, groups=[g])
    result = run(build(sc))
    arrived, female = result.flows[..., ARRIVED].sum(axis=(1, 2)), result.arrived_female.sum(axis=(1, 2))
    assert arrived[5] > 0 and female[5] == 0
    assert arrived[8] == female[8] > 0
    assert arrived.sum() == 200 and arrived[5] + arrived[8] == 200
    g2 = group(female_share=0.5, means=0.0, transit={"savings": {"female": 100.0, "male": 0.0}})
    sc2 = broker_scenario({"capacity": 1000, "fee": 500}, size=200, groups=[g2], dwell=3)
    r2 = run(build(sc2))
    tot = r2.totals()
    assert tot["arrived"] == int(r2.arrived_female.sum()) > 0
    assert tot["arrived"] + tot["in_transit"] == 200 and tot["in_transit"] > 0
    # women reach the node at step 1 with 0 and have 500 at step 6 (the dwell ends at step 4): they arrive at 7
    assert r2.flows[7, ..., ARRIVED].sum() == tot["arrived"]


def test_no_brokers_no_new_summary_key():
    result = run(build(scenario_dict(nodes=[node("o", "origin"), node("d", "destination")],
                                     edges=[edge("e", "o", "d")], size=10)))
    assert "brokers" not in result.summary()


@pytest.mark.parametrize("data, key", [
    (broker_scenario({"capacity": 1, "fee": 0}, policies=[
        {"name": "p", "start": "2000-02", "select": {"nodes": ["c"]}, "scale": {"brokers.fee": 2}}]), None),
    (scenario_dict(nodes=[node("o", "origin"), node("c", "transit"), node("d", "destination")],
                   edges=[edge("in", "o", "c"), edge("out", "c", "d")],
                   policies=[{"name": "p", "start": "2000-02", "select": {"nodes": ["c"]},
                              "scale": {"brokers.fee": 2}}]), "policies[p].select.nodes"),
    (scenario_dict(nodes=[node("o", "origin"), node("b", "border", brokers={"capacity": 1, "fee": 0}),
                          node("d", "destination")],
                   edges=[edge("in", "o", "b"), edge("out", "b", "d")]), "brokers"),
])
def test_broker_keys_are_checked(data, key):
    if key is None:
        build(data)
        return
    with pytest.raises(ScenarioError) as err:
        build(data)
    assert key in str(err.value) or key in (err.value.key or "")


def test_reaching_a_broker_node_counts_no_new_outcome():
    """Queued people are in transit; flows keep their identity (a smoke check of the ledger's stock)."""
    result = run(build(broker_scenario({"capacity": 1, "fee": 0}, arrest_hazard=0.2)))
    f = result.flows.sum(axis=(0, 1, 2))
    assert f[SET_OUT] == f[ARRIVED] + f[REPATRIATED] + result.totals()["in_transit"]
    assert f[RETURNED] == 0
    assert result.conservation_holds()


def test_brokers_round_trip_and_same_seed_same_outputs():
    """The resolved scenario of a run with brokers and group transit reads back as the same scenario, and the
    same seed gives the same summary (fees included) and timeseries."""
    from sim.loading import validate_dict
    from sim.scenario.overrides import dump_scenario, scenario_to_dict

    means = {"dist": "lognormal", "median": 800, "sigma": 1.0}
    g = group(means=means, female_share=0.6, transit={"dwell_scale": {"female": 1.5, "male": 0.5}, "savings": 40})
    sc = build(broker_scenario({"capacity": 7.5, "fee": 600, "fee_elasticity": 0.3, "fee_max": 3000}, size=600,
                               groups=[g], dwell=2, arrest_hazard=0.05, dwell_distribution="geometric"))
    again = validate_dict(scenario_to_dict(sc), path="<resolved>")
    assert again == sc and dump_scenario(again) == dump_scenario(sc)
    a, b = run(sc), run(again)
    assert a.summary() == b.summary()
    assert a.timeseries().equals(b.timeseries())
    assert len(set(a.fees[:, 1].tolist())) > 2  # the price moved
