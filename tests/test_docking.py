"""Docking (Axtell et al. 1996): the array engine (`sim.engine.arrays`) and the Mesa engine give byte-identical
summary.json and timeseries.parquet, for the toy and Korea scenarios and for small scenarios that switch on one
mechanism at a time (docs/performance.md, "What is exact and why").

Both engines draw every random number from the keyed streams (`sim.rules.streams`) for the same person, share every
rule that is not a migrant's (`sim.engine.core.EngineCore`), and follow one documented order where order matters
(the step's queue joiners, by person index), so exact agreement is the test, not a statistical one."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys

import pytest
from conftest import ROOT, TOY, build, edge, group, node, scenario_dict
from test_equivalence import busy_toy

from sim.engine.arrays import ArrayModel
from sim.engine.arrays import run as arrays_run
from sim.engine.ledger import write_run
from sim.engine.mesa.model import run as mesa_run
from sim.loading import load_scenario
from sim.outcomes import ARRIVED
from sim.rules.network import RouteGraph
from sim.rules.population import Population
from sim.rules.streams import run_key
from sim.scenario.schema import Scenario

KOREA = ROOT / "scenarios" / "korea.yaml"


def files(result, where) -> dict[str, str]:
    out = write_run(result, where)
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest()
            for name in ("summary.json", "timeseries.parquet")}


def assert_docked(scenario: Scenario, tmp_path, seed: int | None = None):
    """Both engines' files are the same bytes; the array engine's result."""
    agents = mesa_run(scenario, seed=seed)
    arrays = arrays_run(scenario, seed=seed)
    assert arrays.summary() == agents.summary()
    assert files(arrays, tmp_path / "arrays") == files(agents, tmp_path / "agents")
    return arrays


def test_the_toy_scenario_docks(tmp_path):
    assert_docked(load_scenario(TOY, overrides=["population.size=20000"]), tmp_path, seed=7)


def test_a_smaller_korea_docks_with_every_mechanism(tmp_path):
    """Korea's brokers, closures, initial stock, repeat attempts, perception, death weight, nested choice and sex
    differences in transit, at 10,000 persons and a thirtieth of the stock over the whole horizon."""
    sc = load_scenario(KOREA, overrides=["population.size=10000", "initial_stock.0.size=1000"])
    result = assert_docked(sc, tmp_path)
    assert result.totals()["set_out"] > 200 and result.brokers() and result.persons is not None
    assert result.persons["released"].sum() > 0 and result.persons["initial_stock"].sum() == 1000


@pytest.mark.slow
def test_the_full_korea_scenario_docks(tmp_path):
    assert_docked(load_scenario(KOREA), tmp_path)


# --------------------------------------------------------------------- one mechanism at a time (on busy_toy)
def _plain(d: dict) -> None:
    pass


def _weekly(d: dict) -> None:
    d["time"]["step"] = "week"


def _brokers(d: dict) -> None:
    nodes = {n["id"]: n for n in d["network"]["nodes"]}
    nodes["thirdland"]["brokers"] = {"capacity": 6, "fee": 150, "fee_elasticity": 0.5, "fee_max": 900}
    d["policies"].append({"name": "fewer_brokers", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                          "scale": {"brokers.capacity": 0.5, "brokers.fee": 1.5}})


def _closed_on_the_way(d: dict) -> None:
    d["policies"].append({"name": "no_flights", "start": "2000-09", "end": "2001-04",
                          "select": {"from_nodes": ["thirdland", "island"]}, "set": {"open": False}})


def _brokers_and_closure(d: dict) -> None:
    _brokers(d)
    _closed_on_the_way(d)


def _stock(d: dict) -> None:
    ordinary = {"ordinary": 1}
    d["initial_stock"] = [{"node": "thirdland", "size": 300, "groups": ordinary,
                           "waited": {"dist": "uniform", "low": 0, "high": 12}},
                          {"node": "island", "size": 200, "groups": ordinary, "female_share": 0.9,
                           "waited": {"dist": "uniform", "low": 0, "high": 5}}]


def _repeat(d: dict) -> None:
    d["repeat"] = {"after": {"caught": 2, "repatriated": 3, "returned": 1}, "propensity": 1.5}


def _stock_and_repeat(d: dict) -> None:
    _stock(d)
    _repeat(d)
    _brokers(d)


def _perception(d: dict) -> None:
    d["route_choice"].update(perception={"memory": 6, "lag": 1}, death_weight=12.0)


def _chain(d: dict) -> None:
    d["population"]["chain"] = {"weight": 2.0, "scale": 40, "form": "log"}


def _nest(d: dict) -> None:
    d["route_choice"]["nest"] = {"scale": 0.4, "families": {"direct": ["dmz", "sea"]}}


def _transit(d: dict) -> None:
    """Sex differences in transit; men's dwell at the island rounds to no step (an event due in its own step)."""
    d["population"]["groups"][0]["transit"] = {"dwell_scale": {"female": 1.5, "male": 0.1},
                                               "savings": {"female": 40, "male": 15},
                                               "arrest_scale": {"female": 0.5, "male": 2.0}}
    _brokers(d)


def _everything(d: dict) -> None:
    """Every mechanism at once."""
    for change in (_brokers_and_closure, _stock, _repeat, _perception, _chain, _nest):
        change(d)
    d["population"]["groups"][0]["transit"] = {"dwell_scale": {"female": 1.5, "male": 0.1},
                                               "savings": {"female": 40, "male": 15},
                                               "arrest_scale": {"female": 0.5, "male": 2.0}}


MECHANISMS = [_plain, _weekly, _brokers, _closed_on_the_way, _brokers_and_closure, _stock, _repeat,
              _stock_and_repeat, _perception, _chain, _nest, _transit, _everything]


@pytest.mark.parametrize("change", MECHANISMS, ids=[m.__name__.strip("_") for m in MECHANISMS])
def test_each_mechanism_docks(change, tmp_path):
    d = copy.deepcopy(busy_toy())
    change(d)
    result = assert_docked(build(d), tmp_path)
    assert result.totals()["set_out"] > 100  # the mechanism has people to act on


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_every_mechanism_at_once_docks_for_other_seeds(seed, tmp_path):
    d = copy.deepcopy(busy_toy())
    _everything(d)
    assert_docked(build(d), tmp_path, seed=seed)


def _dwell_past_float_range(d: dict) -> None:
    """The longest dwell (600 months) scaled by the largest dwell_scale (600; 1e300 was allowed until a fixed dwell
    so scaled crashed the Mesa engine on int(inf)) at a geometric node without arrests: leaving is all but
    certain never to come within the run (a chance of 1/360,000 a month)."""
    thirdland = next(n for n in d["network"]["nodes"] if n["id"] == "thirdland")
    thirdland["arrest_hazard"], thirdland["dwell"] = 0.0, 600
    d["population"]["groups"][0]["transit"] = {"dwell_scale": 600}


def _prices_past_float_range(d: dict) -> None:
    """A scarcity price that overflows (eta 1000, no cap) and a fee near the largest float (whose yearly mean must
    not overflow), weighed by no one (cost weight 0: 0 * inf must not make a utility NaN)."""
    d["route_choice"]["cost_weight"] = 0.0
    nodes = {n["id"]: n for n in d["network"]["nodes"]}
    nodes["thirdland"]["brokers"] = {"capacity": 1, "fee": 100, "fee_elasticity": 1000}
    nodes["island"]["brokers"] = {"capacity": 1000, "fee": 1e308}


def _costs_past_float_range(d: dict) -> None:
    """Two legs of the river route at 1e308 each: their sum is inf, a path no one affords (the sum warned)."""
    for e in d["network"]["edges"]:
        if e["id"] in ("walk", "ford"):
            e["cost"] = 1e308


def _certain_arrest_no_one_is_exposed_to(d: dict) -> None:
    """Arrest certain at thirdland (h = 1) for people whose arrest scale is 0, never arrested (docs/model.md §14):
    -log(1 - 1) x 0 was NaN, and the array engine warned; then a policy lowers the hazard to 0.5 mid-wait."""
    next(n for n in d["network"]["nodes"] if n["id"] == "thirdland")["arrest_hazard"] = 1.0
    for g in d["population"]["groups"]:
        g["transit"] = {"arrest_scale": 0.0}
    d["policies"] = [p for p in d["policies"] if p["name"] != "transit_crackdown"] + [
        {"name": "transit_relief", "start": "2001-01", "select": {"nodes": ["thirdland"]},
         "set": {"arrest_hazard": 0.5}}]


def _refuse(token):
    raise AssertionError(f"summary.json holds {token}")


def _chain_past_float_range(d: dict) -> None:
    """A chain multiplier past the floating-point range (1 + 1e308 * A / 1e-300) after the first arrivals, with a
    group that never sets out (rate 0 x inf was NaN, and numpy warned of it and of the overflow: a probe)."""
    d["population"]["chain"] = {"weight": 1e308, "scale": 1e-300}
    d["population"]["groups"][1]["departure_rate"] = 0.0


@pytest.mark.filterwarnings("error::RuntimeWarning")  # 0 * inf: a NaN path cost or utility
@pytest.mark.parametrize("change", [_dwell_past_float_range, _prices_past_float_range, _costs_past_float_range,
                                    _certain_arrest_no_one_is_exposed_to, _chain_past_float_range],
                         ids=lambda f: f.__name__.strip("_"))
def test_values_past_the_floating_point_range_dock_and_write_standard_json(change, tmp_path):
    """Both engines used to stop: the Mesa engine on int(inf) when neither arrest nor leaving could come, both
    on the price's float ** overflowing; summary.json held the non-JSON token Infinity for a fee of 1e308; an
    infinite price made the cost of every other path NaN (0 * inf in the product with the paths' brokers), as
    did a cost weight of 0 the utility of a path whose cost is infinite."""
    d = copy.deepcopy(busy_toy())
    change(d)
    result = assert_docked(build(d), tmp_path)
    assert result.totals()["set_out"] > 100
    json.loads((tmp_path / "arrays" / "summary.json").read_text(), parse_constant=_refuse)
    if change is _dwell_past_float_range:
        assert result.in_transit[-1].sum() > 0  # people wait at thirdland for good
    elif change is _costs_past_float_range:
        assert result.by_route()["river"]["set_out"] == 0 < result.by_route()["dmz"]["set_out"]
    elif change is _certain_arrest_no_one_is_exposed_to:
        assert result.totals()["repatriated"] == 0 and result.by_edge()["flight"]["entered"] > 20  # through thirdland
    elif change is _chain_past_float_range:
        groups = result.by_group()
        assert groups[d["population"]["groups"][1]["name"]]["set_out"] == 0  # rate 0 stays 0 under m = inf
        assert groups[d["population"]["groups"][0]["name"]]["set_out"] > 1000  # at home they all set out at once
    else:
        fees = result.brokers()
        assert {y["fee"] for y in fees["island"].values()} == {1e308}
        assert None in {y["fee"] for y in fees["thirdland"].values()}  # the queue made the price infinite


def test_the_array_engine_reports_progress_after_each_step():
    sc = build(copy.deepcopy(busy_toy()))
    calls: list[tuple[int, int]] = []
    arrays_run(sc, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(k, 24) for k in range(1, 25)]


@pytest.mark.parametrize("change, branches", [
    (_brokers, ("queued", "bought", "replanned")), (_closed_on_the_way, ("blocked", "unblocked", "replanned")),
    (_brokers_and_closure, ("queued", "bought", "blocked", "unblocked")), (_stock, ("stock",)),
    (_transit, ("same_step", "queued", "bought"))], ids=lambda x: getattr(x, "__name__", "").strip("_"))
def test_the_mechanism_scenarios_exercise_what_they_name(change, branches):
    """The scenarios above reach the journey's code they are there for (rows through each branch)."""
    d = copy.deepcopy(busy_toy())
    change(d)
    model = ArrayModel(build(d))
    result = model.run()
    assert {b: model.hits[b] for b in branches if model.hits[b] < 5} == {}
    if change is _stock:
        assert result.persons is not None and result.persons["initial_stock"].sum() == 500


def test_repeat_attempts_bring_people_home_again():
    d = copy.deepcopy(busy_toy())
    _stock_and_repeat(d)
    result = arrays_run(build(d))
    assert result.persons is not None and result.persons["released"].sum() > 20
    assert result.flows[..., 0].sum() > result.persons["first_set_out"].sum()  # attempts after the first


def test_the_array_engine_imports_no_mesa():
    """A process that runs the array engine never imports Mesa (1.5 s of imports) nor the Mesa engine."""
    code = ("import sys; from sim.engine.arrays import run; from sim.loading import load_scenario; "
            f"run(load_scenario({str(TOY)!r}, overrides=['population.size=2000'])); "
            "bad = sorted(m for m in sys.modules if m == 'mesa' or m.startswith(('mesa.', 'sim.engine.mesa'))); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------------------------ the order rules both engines follow
ENGINES = {"agents": mesa_run, "arrays": arrays_run}


@pytest.mark.parametrize("engine", ENGINES)
def test_those_whose_wait_ends_in_one_step_join_the_queue_in_person_order(engine):
    """Group a sets out from o1 by one edge of two steps, group b from o2 by two edges of one step: all reach the
    broker node c at step 2, the a's scheduled there at step 0, the b's at step 1. One passage a step, bought in
    order of joining, and the joiners of a step join in increasing person index: the k-th arrival (step 3 + k) is
    the k-th lowest person index, whichever group it is in (not all a's first, the order of scheduling)."""
    sc = build(scenario_dict(
        nodes=[node("o1", "origin"), node("o2", "origin"), node("m", "border"),
               node("c", "transit", brokers={"capacity": 1, "fee": 0}), node("d", "destination")],
        edges=[edge("slow", "o1", "c", duration=2), edge("walk", "o2", "m"), edge("ford", "m", "c"),
               edge("out", "c", "d")],
        groups=[group("a", share=0.5, origins={"o1": 1.0}), group("b", share=0.5, origins={"o2": 1.0})],
        size=30, end="2003-12"))
    result = ENGINES[engine](sc)
    arrived = result.flows[..., ARRIVED].sum(axis=1)  # (T, G)
    assert result.totals()["arrived"] == 30
    assert arrived[:3].sum() == 0 and (arrived[3:33].sum(axis=1) == 1).all()
    groups = Population(sc, RouteGraph(sc).node_index, run_key(sc.seed)).group  # group of each person index
    assert arrived[3:33].argmax(axis=1).tolist() == groups.tolist()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_wait_that_rounds_to_no_step_ends_in_its_step(engine):
    """Men's dwell at a fixed-dwell node scaled to round(1 x 0.2) = 0 steps: they leave in the step they arrive (the
    event scheduled for the current step is carried out in it), and nobody is left on the way."""
    sc = build(scenario_dict(
        nodes=[node("o", "origin"), node("x", "transit", dwell=1, dwell_distribution="fixed"),
               node("d", "destination")],
        edges=[edge("in", "o", "x"), edge("on", "x", "d")],
        groups=[group(female_share=0.0, transit={"dwell_scale": {"female": 1.0, "male": 0.2}})],
        size=20, end="2000-06"))
    result = ENGINES[engine](sc)
    arrived = result.flows[..., ARRIVED].sum(axis=(1, 2))
    assert arrived.tolist() == [0, 0, 20, 0, 0, 0]  # set out at 0, reach x at 1 and go on at once, arrive at 2
    assert result.in_transit[-1].sum() == 0
