"""Simple scenarios with closed-form answers (docs/model.md), checked with fixed seeds (`conftest.seed`: shifted by
BORDERSIM_TEST_SEED_OFFSET) against exact binomial confidence intervals at the suite's per-check level
`conftest.ALPHA` (39 checks here; the arithmetic that keeps the whole suite's chance failures below 1 in 1,000 is
in conftest.py):

- edge outcomes: P(blocked) = 1 - exp(-sum b_k c_k);
  P(killed undetected) = (1 - P(blocked)) (1 - exp(-sum m_k c_k));
  P(detected | through) = 1 - exp(-sum a_k c_k); shot w.p. shot_kill_probability under shoot-on-sight,
  else caught;
- transit: P(repatriated) = 1 - (1 - h)^w (fixed dwell w),
  1 - q(1 - h) / (1 - (1 - q)(1 - h)), q = 1/D (geometric dwell of mean D);
- departure: p = 1 - exp(-lambda * push * exp(U*)),
  U* = -alpha_risk (1 - r)(1 - s) - alpha_cost c / m - alpha_time d;
- route choice: logit, P(j) = exp(U_j) / sum_k exp(U_k).

The checks need tens of thousands of persons for their power, so each scenario runs on the array engine (the
ensemble workhorse, ~10x faster here), after `run` has checked that the Mesa engine, the canonical one, gives the
same summary on the same scenario at DOCK_SIZE persons: both draw every number from keyed streams, so the first
DOCK_SIZE persons meet the same fates in both, and an engine that broke a rule would break the docking."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import NO_HAZARDS, assert_binomial, build, edge, group, node, scenario_dict, seed

from sim.outcomes import ARRIVED, CAUGHT, FLOWS, KILLED, REPATRIATED, RETURNED, SET_OUT
from sim.engine.arrays import run as arrays_run
from sim.engine.ledger import RunResult
from sim.engine.mesa.model import run as mesa_run
from sim.scenario.schema import Scenario

DOCK_SIZE = 2_000


def run(sc: Scenario) -> RunResult:
    """The array engine's run of `sc`, once the Mesa engine has given the same summary at DOCK_SIZE persons."""
    small = sc.model_copy(update={"population": sc.population.model_copy(
        update={"size": min(DOCK_SIZE, sc.population.size)})})
    assert arrays_run(small).summary() == mesa_run(small).summary(), "the engines do not dock on this scenario"
    return arrays_run(sc)

ONE_EDGE = [node("home", "origin"), node("away", "destination")]


def one_edge(
    controls: dict,
    hazards: dict,
    *,
    size: int = 60_000,
    shoot_on_sight: bool = False,
    end: str = "2000-03",
    k: int = 1,
) -> dict:
    """Everyone sets out in the first step on the single edge home -> away (duration 1); seed `seed(k)`."""
    return scenario_dict(
        nodes=ONE_EDGE,
        edges=[edge("e", "home", "away", controls=controls, shoot_on_sight=shoot_on_sight)],
        size=size,
        end=end,
        hazards=hazards,
        seed=seed(k),
    )


# ------------------------------------------------------------------------------------------------ (a) edges


@pytest.mark.parametrize("g, a, k", [(0.5, 1.2, 1), (0.9, 2.0, 2), (0.2, 0.5, 3)])
def test_guards_only(g, a, k):
    """Only guards g with detect coefficient a: arrived / set_out = exp(-a g); the rest are caught."""
    sc = build(one_edge({"guards": g}, {**NO_HAZARDS, "detect": {"guards": a}}, k=k))
    tot = run(sc).totals()
    assert tot["set_out"] == sc.population.size
    assert tot["in_transit"] == tot["killed"] == tot["returned"] == tot["repatriated"] == 0
    assert tot["caught"] == tot["set_out"] - tot["arrived"]
    assert_binomial(tot["arrived"], tot["set_out"], math.exp(-a * g), "arrived share")


def test_every_control_and_coefficient():
    """All five controls with block, kill and detect coefficients: each outcome's share is its formula."""
    c = {"guards": 0.4, "fence": 0.5, "mines": 0.3, "surveillance": 0.6, "patrol": 0.2}
    hz = {
        "block": {"fence": 0.8, "patrol": 0.5},
        "kill": {"mines": 1.0, "guards": 0.2},
        "detect": {"guards": 1.5, "surveillance": 1.0, "patrol": 1.5, "fence": 0.3},
        "shot_kill_probability": 0.4,
    }
    sc = build(one_edge(c, hz, shoot_on_sight=True, size=90_000, k=5))
    tot = run(sc).totals()
    n = tot["set_out"]
    assert n == sc.population.size and tot["in_transit"] == 0
    def dot(coefs):
        return sum(coefs.get(k, 0.0) * v for k, v in c.items())

    pb = 1 - math.exp(-dot(hz["block"]))
    pk = (1 - pb) * (1 - math.exp(-dot(hz["kill"])))
    through = (1 - pb) * math.exp(-dot(hz["kill"]))
    pd = 1 - math.exp(-dot(hz["detect"]))
    shot = through * pd * 0.4
    assert_binomial(tot["returned"], n, pb, "returned (blocked)")
    assert_binomial(tot["killed"], n, pk + shot, "killed (mines + shot)")
    assert_binomial(tot["caught"], n, through * pd * 0.6, "caught")
    assert_binomial(tot["arrived"], n, through * (1 - pd), "arrived")


# -------------------------------------------------------------------------------------- (b) nobody is lost


def test_all_controls_zero_nobody_lost():
    """Controls all zero (hazard coefficients at their non-zero defaults), transit without arrest hazard,
    shoot-on-sight on: everyone who sets out arrives or is still on the way."""
    nodes = [
        node("o", "origin"),
        node("b", "border"),
        node("t", "transit", dwell=3, dwell_distribution="geometric"),
        node("t2", "transit", dwell=2),
        node("d", "destination"),
    ]
    edges = [
        edge("land", "o", "b", "land", duration=2),
        edge("river", "b", "t", "river", cost=100),
        edge("air", "t", "d", "air", cost=200),
        edge("dmz", "o", "d", "dmz", shoot_on_sight=True),
        edge("sea", "o", "t2", "sea", duration=3),
        edge("boat", "t2", "d", "sea"),
    ]
    groups = [
        group(
            "poor",
            share=0.6,
            departure_rate=0.3,
            means=50.0,
            risk_tolerance={"dist": "uniform", "low": 0, "high": 1},
        ),
        group("rich", share=0.4, departure_rate=0.3, means={"dist": "lognormal", "median": 500, "sigma": 1}),
    ]
    data = scenario_dict(
        nodes=nodes,
        edges=edges,
        groups=groups,
        size=5000,
        end="2001-06",
        seed=seed(7),
        hazards={},
        route_choice={"risk_weight": 6, "cost_weight": 1, "time_weight": 0.1},
    )
    result = run(build(data))
    tot = result.totals()
    for k in ("caught", "killed", "repatriated", "returned"):
        assert tot[k] == 0, k
    assert tot["arrived"] + tot["in_transit"] == tot["set_out"]
    routes = result.by_route()
    assert all(routes[r]["arrived"] > 0 for r in ("land>river>air", "dmz", "sea>boat")), routes


# ------------------------------------------------------------------------------------ (c) a closed route


def two_routes(policies: list[dict], *, first_leg: int = 1) -> dict:
    """Two free, riskless routes home -> away: 'north' (land to a bank, then a river edge) and 'south'
    (sea)."""
    nodes = [node("home", "origin"), node("bank", "border"), node("away", "destination")]
    edges = [
        edge("walk", "home", "bank", "land", duration=first_leg, route="north"),
        edge("ford", "bank", "away", "river"),
        edge("boat", "home", "away", "sea", route="south"),
    ]
    return scenario_dict(
        nodes=nodes,
        edges=edges,
        groups=[group(departure_rate=0.05)],
        size=20_000,
        end="2000-12",
        policies=policies,
        seed=seed(4),
    )


def test_closed_route_has_no_flow_during_its_window():
    """Closing the first edge of route north for 2000-04..2000-07 (end 2000-08 exclusive): nobody sets
    out on it or enters it then; everyone takes route south; flow on north resumes afterwards."""
    result = run(
        build(
            two_routes(
                [
                    {
                        "name": "close",
                        "start": "2000-04",
                        "end": "2000-08",
                        "select": {"edges": ["walk"]},
                        "set": {"open": False},
                    }
                ]
            )
        )
    )
    north, south = result.routes.index("north"), result.routes.index("south")
    set_out = result.flows[:, :, 0, SET_OUT]
    window = np.arange(3, 7)
    outside = np.setdiff1d(np.arange(12), window)
    assert (set_out[window, north] == 0).all()
    assert (set_out[window, south] > 0).all()
    assert (set_out[outside, north] > 0).all(), set_out[:, north]
    assert result.flows[window, north, 0, RETURNED].sum() == 0
    # two edges of one step each: those who set out in step 2 arrive in step 4, nobody later in the window
    assert result.flows[4, north, 0, ARRIVED] == set_out[2, north]
    assert (result.flows[window[2:], north, 0, ARRIVED] == 0).all()
    assert result.flows[7:, north, 0, ARRIVED].sum() > 0
    entered = result.by_edge()["walk"]["entered"]
    assert entered == set_out[:, north].sum()
    # while both routes are open they are equally good, so each takes about half
    n_open = set_out[outside].sum()
    assert_binomial(int(set_out[outside, north].sum()), int(n_open), 0.5, "north share while open")


def test_closing_a_later_edge_turns_people_back():
    """Closing the second edge of route north (2000-04..2000-05) while people are crossing the first one
    (duration 2): those reaching it turn back, nobody new sets out on north."""
    result = run(
        build(
            two_routes(
                [
                    {
                        "name": "close",
                        "start": "2000-04",
                        "end": "2000-06",
                        "select": {"edges": ["ford"]},
                        "set": {"open": False},
                    }
                ],
                first_leg=2,
            )
        )
    )
    north = result.routes.index("north")
    flows = result.flows[:, north, 0]
    assert (flows[3:5, SET_OUT] == 0).all()
    # those who set out in steps 1 and 2 reach the ford in steps 3 and 4 and turn back
    assert (flows[3:5, RETURNED] == flows[1:3, SET_OUT]).all() and flows[3:5, RETURNED].sum() > 0
    assert flows[:, RETURNED].sum() == flows[3:5, RETURNED].sum()
    # step 0 leavers passed the ford at step 2 and arrive at step 3; the next to arrive left at step 5
    assert flows[3, ARRIVED] == flows[0, SET_OUT]
    assert (flows[4:8, ARRIVED] == 0).all()
    assert (flows[8:, ARRIVED] == flows[5:-3, SET_OUT]).all() and flows[8:, ARRIVED].sum() > 0
    assert result.by_edge()["ford"]["returned"] == flows[:, RETURNED].sum()


# ---------------------------------------------------------------------------------------- (d) transit


def via_transit(
    h: float, dwell: float, distribution: str, *, size: int = 20_000, end: str = "2007-12"
) -> dict:
    nodes = [
        node("o", "origin"),
        node("t", "transit", arrest_hazard=h, dwell=dwell, dwell_distribution=distribution),
        node("d", "destination"),
    ]
    return scenario_dict(
        nodes=nodes, edges=[edge("in", "o", "t"), edge("out", "t", "d")], size=size, end=end, seed=seed(6)
    )


@pytest.mark.parametrize("h, w", [(0.1, 4), (0.03, 10), (0.5, 1)])
def test_transit_fixed_dwell(h, w):
    """Fixed dwell w: repatriated share 1 - (1 - h)^w; arrests at steps 2..w+1, arrivals all at step w+2."""
    result = run(build(via_transit(h, w, "fixed")))
    tot = result.totals()
    assert tot["set_out"] == 20_000 and tot["in_transit"] == 0
    assert tot["repatriated"] + tot["arrived"] == tot["set_out"]
    assert_binomial(tot["repatriated"], tot["set_out"], 1 - (1 - h) ** w, "repatriated share")
    flows = result.flows[:, 0, 0]
    assert flows[w + 2, ARRIVED] == tot["arrived"]
    assert flows[2 : w + 2, REPATRIATED].sum() == tot["repatriated"]
    # arrests in the first waiting step: Binomial(n, h)
    assert_binomial(int(flows[2, REPATRIATED]), tot["set_out"], h, "arrested in the first step")


@pytest.mark.parametrize("h, mean", [(0.1, 3.0), (0.02, 12.0), (0.3, 1.0)])
def test_transit_geometric_dwell(h, mean):
    """Geometric dwell of mean D: repatriated share 1 - q(1 - h) / (1 - (1 - q)(1 - h)), q = 1/D."""
    result = run(build(via_transit(h, mean, "geometric")))
    tot = result.totals()
    q = 1 / mean
    assert tot["in_transit"] < 5  # horizon of 96 steps: nearly everyone has finished
    n = tot["repatriated"] + tot["arrived"]
    assert_binomial(tot["repatriated"], n, 1 - q * (1 - h) / (1 - (1 - q) * (1 - h)), "repatriated share")
    # the wait W ~ Geometric(q) shifted: P(leave at first waiting step) = q (1 - h) for the arrivals at step 3
    assert_binomial(int(result.flows[3, 0, 0, ARRIVED]), tot["set_out"], q * (1 - h), "left after one step")


# ----------------------------------------------------------------------------------------- (e) shooting


@pytest.mark.parametrize("shoot, kill_p, k", [(True, 0.3, 12), (True, 0.85, 13), (False, 0.85, 14)])
def test_shoot_on_sight(shoot, kill_p, k):
    """Among the detected, a share shot_kill_probability is killed under shoot-on-sight, none otherwise."""
    hz = {**NO_HAZARDS, "detect": {"guards": 2.0}, "shot_kill_probability": kill_p}
    tot = run(build(one_edge({"guards": 0.8}, hz, shoot_on_sight=shoot, k=k))).totals()
    detected = tot["killed"] + tot["caught"]
    assert_binomial(detected, tot["set_out"], 1 - math.exp(-1.6), "detected share")
    if shoot:
        assert_binomial(tot["killed"], detected, kill_p, "killed among detected")
    else:
        assert tot["killed"] == 0


def test_shoot_on_sight_by_policy():
    """A policy that sets shoot_on_sight from 2000-03: killings start with the crossings resolved from
    then on."""
    hz = {**NO_HAZARDS, "detect": {"guards": 2.0}, "shot_kill_probability": 0.5}
    data = one_edge({"guards": 0.8}, hz, end="2000-06", size=60_000, k=8)
    data["population"]["groups"][0]["departure_rate"] = 0.2
    data["policies"] = [
        {"name": "shoot", "start": "2000-03", "select": {"edges": ["e"]}, "set": {"shoot_on_sight": True}}
    ]
    flows = run(build(data)).flows[:, 0, 0]
    assert flows[:2, KILLED].sum() == 0 and flows[:2, CAUGHT].sum() > 0
    # crossings resolved at step 2 (entered at 1) use the state in force at step 2
    detected = int(flows[2:, KILLED].sum() + flows[2:, CAUGHT].sum())
    assert_binomial(int(flows[2:, KILLED].sum()), detected, 0.5, "killed among detected after the order")


# ----------------------------------------------------------------------------------------- (f) departures


@pytest.mark.parametrize(
    "case",
    [
        {"rate": 0.05, "tw": 0.2, "duration": 3},
        {"rate": 0.5, "tw": 0.1, "duration": 2, "r": 0.25, "rw": 6.0, "guards": 0.5},
        {
            "rate": 0.5,
            "tw": 0.1,
            "duration": 2,
            "r": 0.6,
            "rw": 4.0,
            "guards": 0.3,
            "cost": 100.0,
            "means": 400.0,
            "cw": 1.0,
        },
        {"rate": 0.02, "tw": 0.0, "duration": 1, "push": 2.5},
    ],
    ids=["time", "time+risk", "time+risk+cost", "push"],
)
def test_departures_first_step(case):
    """Identical persons: the count setting out in step 1 is Binomial(N, p),
    p = 1 - exp(-lambda push exp(U*)); in step 2 Binomial(N - n1, p)."""
    rate, tw, d = case["rate"], case["tw"], case["duration"]
    r, rw, g, cost = case.get("r", 1.0), case.get("rw", 0.0), case.get("guards", 0.0), case.get("cost", 0.0)
    means, cw, push = case.get("means", 0.0), case.get("cw", 0.0), case.get("push", 1.0)
    data = scenario_dict(
        nodes=ONE_EDGE,
        edges=[edge("e", "home", "away", duration=d, cost=cost, controls={"guards": g})],
        groups=[group(departure_rate=rate, risk_tolerance=r, means=means)],
        size=50_000,
        end="2000-02",
        hazards={**NO_HAZARDS, "detect": {"guards": 1.0}},
        route_choice={"risk_weight": rw, "cost_weight": cw, "time_weight": tw},
        push={"hardship": {"values": {"2000": push}}} if push != 1.0 else None,
        seed=seed(9),
    )
    flows = run(build(data)).flows[:, 0, 0, SET_OUT]
    success = math.exp(-g)
    u_star = -rw * (1 - r) * (1 - success) - cw * cost / max(means, 1.0) - tw * d
    p = 1 - math.exp(-rate * push * math.exp(u_star))
    assert_binomial(int(flows[0]), 50_000, p, "set out in step 1")
    assert_binomial(int(flows[1]), 50_000 - int(flows[0]), p, "set out in step 2")


def test_nobody_sets_out_without_means():
    """A person whose means are below the cost of every route stays home."""
    data = scenario_dict(
        nodes=ONE_EDGE,
        edges=[edge("e", "home", "away", cost=100.0)],
        groups=[group(means=99.0)],
        size=2000,
        end="2000-06",
        seed=seed(15),
    )
    assert run(build(data)).totals()["set_out"] == 0
    data["population"]["groups"][0]["means"] = {"dist": "fixed", "value": 100.0}
    assert run(build(data)).totals()["set_out"] == 2000


def test_logit_route_choice():
    """Two free riskless routes of durations 1 and 4, time weight 0.3: the short one is chosen with
    probability 1 / (1 + exp(-0.9)); departure uses the best route: p = 1 - exp(-lambda exp(-0.3))."""
    nodes = [node("o", "origin"), node("d", "destination")]
    edges = [
        edge("fast", "o", "d", "land", duration=1, route="fast"),
        edge("slow", "o", "d", "sea", duration=4, route="slow"),
    ]
    data = scenario_dict(
        nodes=nodes,
        edges=edges,
        groups=[group(departure_rate=0.1)],
        size=50_000,
        end="2000-01",
        route_choice={"risk_weight": 0, "cost_weight": 0, "time_weight": 0.3},
        seed=seed(10),
    )
    result = run(build(data))
    fast = result.by_route()["fast"]["set_out"]
    n = result.totals()["set_out"]
    assert_binomial(n, 50_000, 1 - math.exp(-0.1 * math.exp(-0.3)), "set out")
    assert_binomial(fast, n, 1 / (1 + math.exp(-0.9)), "chose the short route")


def test_flow_names_match_ledger_order():
    """The indices used above are the ledger's column order."""
    assert FLOWS[SET_OUT] == "set_out" and FLOWS[ARRIVED] == "arrived" and FLOWS[CAUGHT] == "caught"
    assert FLOWS[KILLED] == "killed" and FLOWS[REPATRIATED] == "repatriated" and FLOWS[RETURNED] == "returned"


def test_group_and_female_shares():
    """Persons are assigned to groups by share and are female by the group's female share: with no hazard and
    everyone leaving at once, by_group set_out ~ Binomial(N, share), female share of arrivals ~ female_share."""
    groups = [group("a", share=0.7, female_share=0.3), group("b", share=0.3, female_share=0.8)]
    data = scenario_dict(
        nodes=ONE_EDGE, edges=[edge("e", "home", "away")], groups=groups, size=60_000, end="2000-02", seed=seed(11)
    )
    result = run(build(data))
    by_group = result.by_group()
    assert result.totals()["arrived"] == 60_000
    assert_binomial(by_group["a"]["set_out"], 60_000, 0.7, "group a share")
    for g, share in (("a", 0.3), ("b", 0.8)):
        gi = result.groups.index(g)
        female = int(result.arrived_female[:, :, gi].sum())
        assert_binomial(female, by_group[g]["arrived"], share, f"female share of group {g}")
    assert result.female_share_by_year()["2000"] == round(result.arrived_female.sum() / 60_000, 6)
