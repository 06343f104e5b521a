"""Limits of the route graph and of policy values (issue 10, items 7, 13, 11, 14): path enumeration stops at its
limit with a message instead of hanging or exhausting memory; values a policy makes too large are errors, not
wrapped; a group with no usable path at the first step is warned about."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TOY, edge, group, node, scenario_dict

from sim.cli import main
from sim.errors import ScenarioError
from sim.rules.network import MAX_PATHS, RouteGraph
from sim.rules.policies import MAX_DURATION, network_state
from sim.scenario.schema import Scenario
from sim.scenario.validation import validate_model

MEMORY_LIMIT = 1_500_000_000  # bytes of address space for the subprocess
GUARD_SECONDS = 60  # a hang fails the test after this long; not a timing assertion


# ------------------------------------------------------------------------------------------- shapes


def complete_transit(n: int = 11, cutoff: int = 20) -> dict:
    """An origin into n fully connected transit nodes, the last of which leads to the destination."""
    nodes = [node("o", "origin"), node("d", "destination")] + [node(f"t{i}", "transit") for i in range(n)]
    edges = [edge("o_t0", "o", "t0")]
    edges += [edge(f"t{i}_t{j}", f"t{i}", f"t{j}") for i in range(n) for j in range(n) if i != j]
    edges.append(edge(f"t{n - 1}_d", f"t{n - 1}", "d"))
    return scenario_dict(nodes=nodes, edges=edges, max_path_edges=cutoff)


def parallel_hops(k: int = 10, hops: int = 8) -> dict:
    """A chain of `hops` hops from origin to destination with k parallel edges on each: k**hops paths."""
    ids = ["o"] + [f"h{i}" for i in range(1, hops)] + ["d"]
    nodes = [node("o", "origin")] + [node(i, "transit") for i in ids[1:-1]] + [node("d", "destination")]
    edges = [edge(f"e{h}_{j}", ids[h], ids[h + 1]) for h in range(hops) for j in range(k)]
    return scenario_dict(nodes=nodes, edges=edges, max_path_edges=hops)


def dead_end_hub(n: int = 11, cutoff: int = 20) -> dict:
    """One candidate path o -> hub -> d, but the hub also opens onto n fully connected transit nodes that lead
    only back to the hub: a search without a bound wanders through every simple path among them."""
    nodes = [node("o", "origin"), node("hub", "transit"), node("d", "destination")]
    nodes += [node(f"t{i}", "transit") for i in range(n)]
    edges = [edge("o_hub", "o", "hub"), edge("hub_d", "hub", "d")]
    edges += [edge(f"hub_t{i}", "hub", f"t{i}") for i in range(n)] + [edge(f"t{i}_hub", f"t{i}", "hub")
                                                                          for i in range(n)]
    edges += [edge(f"t{i}_t{j}", f"t{i}", f"t{j}") for i in range(n) for j in range(n) if i != j]
    return scenario_dict(nodes=nodes, edges=edges, max_path_edges=cutoff)


def write(tmp_path: Path, data: dict, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


# ------------------------------------------------------------------------------ item 7: path explosion


@pytest.mark.parametrize("shape", [complete_transit, parallel_hops, dead_end_hub])
def test_path_explosion_stops_at_the_limit_with_exit_2(tmp_path, shape):
    """Each shape once hung `validate` or ran out of memory; now it ends at once with a message (exit 2), in a
    fresh process with 1.5 GB of address space."""
    path = write(tmp_path, shape())
    proc = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=GUARD_SECONDS, preexec_fn=_limit_memory)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    err = proc.stderr
    assert str(path) in err and "network.max_path_edges" in err and "too many candidate paths" in err, err
    assert f"at most {MAX_PATHS:,}" in err and "paths found" in err, err


def test_route_graph_refuses_too_many_paths_when_called_directly():
    """RouteGraph(scenario) on a scenario that skipped the checks stops at the limit too (5**7 = 78,125 paths)."""
    sc = validate_model(Scenario, parallel_hops(k=5, hops=7))
    with pytest.raises(ScenarioError) as info:
        RouteGraph(sc)
    assert info.value.key == "network.max_path_edges"
    assert f"{MAX_PATHS + 1:,} paths found" in info.value.message
    assert f"at most {MAX_PATHS:,}" in info.value.message


def _two_hops(first: int, second: int, direct: int = 0) -> dict:
    nodes = [node("o", "origin"), node("a", "transit"), node("d", "destination")]
    edges = [edge(f"oa{i}", "o", "a") for i in range(first)] + [edge(f"ad{i}", "a", "d") for i in range(second)]
    edges += [edge(f"od{i}", "o", "d") for i in range(direct)]
    return scenario_dict(nodes=nodes, edges=edges)


def test_a_network_just_under_the_limit_still_works(tmp_path, capsys):
    """Exactly MAX_PATHS paths (20 x 1,000 parallel edges) validate; one more path is refused."""
    assert MAX_PATHS == 20 * 1000
    assert main(["validate", str(write(tmp_path, _two_hops(20, 1000), "at.yaml"))]) == 0
    assert len(RouteGraph(validate_model(Scenario, _two_hops(20, 1000))).paths) == MAX_PATHS
    capsys.readouterr()
    assert main(["validate", str(write(tmp_path, _two_hops(20, 1000, direct=1), "over.yaml"))]) == 2
    assert f"{MAX_PATHS + 1:,} paths found" in capsys.readouterr().err


def _reference_paths(graph, origin, destinations, cutoff):
    """The unbounded enumeration the limits replaced, for comparison on small graphs."""
    out = []

    def extend(n, visited, path):
        if len(path) >= cutoff:
            return
        for _, v, k in graph.out_edges(n, keys=True):
            if v in visited:
                continue
            if v in destinations:
                out.append(path + [(n, v, k)])
            else:
                extend(v, visited | {v}, path + [(n, v, k)])

    extend(origin, {origin}, [])
    return out


@pytest.mark.parametrize("cutoff", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("data", [complete_transit(5, 8), dead_end_hub(4, 8), parallel_hops(2, 4)],
                         ids=["complete", "hub", "parallel"])
def test_pruning_keeps_every_path_in_the_same_order(data, cutoff):
    """The bounded search finds exactly the paths of the unbounded one, in the same order, for the shipped
    scenarios and small dense graphs at several edge limits."""
    for sc in [validate_model(Scenario, {**data, "network": {**data["network"], "max_path_edges": cutoff}})] + [
            validate_model(Scenario, yaml.safe_load(p.read_text())) for p in (TOY, ROOT / "scenarios/korea.yaml")]:
        graph = RouteGraph(sc)
        dests = {n.id for n in sc.network.nodes if n.kind == "destination"}
        want = [tuple(graph.edge_index[k] for _, _, k in p)
                for o in (n.id for n in sc.network.nodes if n.kind == "origin")
                for p in _reference_paths(graph.graph, o, dests, sc.network.max_path_edges)]
        assert [p.edges for p in graph.paths] == want


# ----------------------------------------------------------------------- items 13 and 11: policy values


def _toy_with(policies: list[dict]) -> dict:
    data = yaml.safe_load(TOY.read_text())
    data["policies"] = data["policies"] + policies
    return data


BAD_VALUES = {
    "scale_duration": ([{"name": "slow", "start": "2001-03", "select": {"edges": ["boat"]},
                         "scale": {"duration": 1e20}}], "policies[slow].scale.duration", "at most 600 months"),
    "set_duration": ([{"name": "slow", "start": "2001-03", "select": {"edges": ["boat"]},
                       "set": {"duration": 1e20}}], "policies[slow].set.duration", "at most 600 months"),
    "duration_just_over": ([{"name": "slow", "start": "2001-03", "select": {"edges": ["boat"]},
                             "scale": {"duration": 300.5}}], "policies[slow].scale.duration", "at most 600 months"),
    "set_duration_0": ([{"name": "fast", "start": "2001-03", "select": {"edges": ["boat"]},
                         "set": {"duration": 0}}], "policies[fast].set.duration", "more than 0"),
    "scale_duration_0": ([{"name": "fast", "start": "2001-03", "select": {"edges": ["boat"]},
                           "scale": {"duration": 0.0}}], "policies[fast].scale.duration", "more than 0"),
    "set_dwell": ([{"name": "wait", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                    "set": {"dwell": 1e20}}], "policies[wait].set.dwell", "at most 600 months"),
    "dwell_to_infinity": ([{"name": "wait", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                            "set": {"dwell": 1e300}, "scale": {"dwell": 1e300}}], "policies[wait].scale.dwell",
                          "at most 600 months"),
    # thirdland's geometric dwell of 6 months under one step: the file's own value would be refused (it ran as a
    # probability 1 of leaving, a one-step wait)
    "geometric_dwell_under_a_step": ([{"name": "short", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                                       "set": {"dwell": 0.5}}], "policies[short].set.dwell", "at least one step"),
    "geometric_dwell_scaled_under": ([{"name": "short", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                                       "scale": {"dwell": 0.05}}], "policies[short].scale.dwell",
                                     "at least one step"),
    "cost_to_infinity": ([{"name": f"fee{i}", "start": "2001-03", "select": {"edges": ["boat"]},
                           "scale": {"cost": 1e300}} for i in range(2)], "policies[fee1].scale.cost",
                         "a finite number"),
    "control_to_nan": ([{"name": f"g{i}", "start": "2001-03", "end": "2001-05", "select": {"edges": ["dmz"]},
                         "scale": {"controls.guards": 1e300}} for i in range(2)]
                       + [{"name": "zero", "start": "2001-04", "end": "2001-05", "select": {"edges": ["dmz"]},
                           "scale": {"controls.guards": 0.0}}], "policies[g1].scale.controls.guards",
                       "a finite number"),
    "rate_to_infinity": ([{"name": f"r{i}", "start": "2001-03", "scale": {"departure_rate": 1e300}}
                          for i in range(2)], "policies[r1].scale.departure_rate", "a finite number"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_values_that_do_not_fit_are_refused_by_validate(tmp_path, capsys, case):
    """A policy value that overflows or passes a limit is exit 2 naming the policy and key, not wrapped around
    (scale 1e20 once made a boat trip 1 step long), not cut to fit (a duration of 0 was one step) and not an
    OverflowError."""
    policies, key, allowed = BAD_VALUES[case]
    path = write(tmp_path, _toy_with(policies))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"key '{key}'" in err and allowed in err and str(path) in err, err


def test_values_at_the_limit_still_work(tmp_path, capsys):
    """A duration scaled to exactly the limit (2 x 300 = 600 months) is valid and in force as 600 monthly steps;
    a geometric dwell set to 0 (no wait) or to one step, or to half a month with weekly steps, is valid."""
    for dwell, step in ((0.0, "month"), (1.0, "month"), (0.5, "week")):
        data = _toy_with([{"name": "short", "start": "2001-03", "select": {"nodes": ["thirdland"]},
                           "set": {"dwell": dwell}}])
        data["time"]["step"] = step
        assert main(["validate", str(write(tmp_path, data))]) == 0, capsys.readouterr().err
    data = _toy_with([{"name": "slow", "start": "2001-03", "select": {"edges": ["boat"]},
                       "scale": {"duration": 300.0}}])
    assert main(["validate", str(write(tmp_path, data))]) == 0
    sc = validate_model(Scenario, data)
    graph = RouteGraph(sc)
    st = network_state(sc, graph, (len(sc.policies) - 1,))
    assert st.duration[graph.edge_index["boat"]] == MAX_DURATION == 600


@pytest.mark.parametrize("case", ["scale_duration", "set_duration", "set_dwell", "cost_to_infinity",
                                  "control_to_nan", "geometric_dwell_under_a_step"])
def test_network_state_refuses_values_that_do_not_fit(case):
    """Second line of defence: network_state itself raises ScenarioError for a scenario that skipped the checks,
    instead of wrapping (int64 overflow) or raising OverflowError. With every added policy in force, the key is
    that of the last policy that changed the value."""
    policies, key, allowed = BAD_VALUES[case]
    sc = validate_model(Scenario, _toy_with(policies))
    graph = RouteGraph(sc)
    active = tuple(range(2, len(sc.policies)))
    with pytest.raises(ScenarioError) as info:
        network_state(sc, graph, active)
    if case == "control_to_nan":  # inf times 0
        key = "policies[zero].scale.controls.guards"
        assert "would be nan" in info.value.message and "policies[g0].scale.controls.guards" in info.value.message
    assert info.value.key == key and allowed in info.value.message


# ------------------------------------------------------------------- item 14: no usable path at the start


def _closed_network(**kw) -> dict:
    nodes = [node("o", "origin"), node("b", "border"), node("d", "destination")]
    edges = [edge("walk", "o", "b", "land", open=False), edge("swim", "b", "d", "river", open=False),
             edge("boat", "o", "d", "sea", open=False)]
    return scenario_dict(nodes=nodes, edges=edges, size=200, end="2000-03", **kw)


def test_every_edge_closed_warns_on_validate_and_run(tmp_path, capsys):
    """Valid (exit 0), but each group is warned about on stderr as `warning: FILE: ...`."""
    path = write(tmp_path, _closed_network(groups=[group("a", share=0.5), group("b", share=0.5, modes=["sea"])]))
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith(f"warning: {path}: ")]
    assert len(warnings) == 2, captured.err
    assert "group 'a' has no usable path at the first step (2000-01)" in warnings[0]
    assert "group 'b'" in warnings[1] and "boat (open: false in the network)" in warnings[1]
    assert captured.out.startswith("ok: ")
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert "group 'a' has no usable path" in capsys.readouterr().err


def test_modes_closed_by_a_policy_from_the_first_month_warn(tmp_path, capsys):
    """A policy closing the only mode of one group from the first month warns about that group alone; the same
    closure from a later month warns about nobody."""
    edges = [edge("walk", "o", "d", "land"), edge("boat", "o", "d", "sea")]
    groups = [group("sailors", share=0.5, modes=["sea"]), group("walkers", share=0.5, modes=["land"])]

    def data(start, end=None):
        return scenario_dict(nodes=[node("o", "origin"), node("d", "destination")], edges=edges, groups=groups,
                             policies=[{"name": "coast_shut", "start": start, "select": {"modes": ["sea"]},
                                        "set": {"open": False}, **({"end": end} if end else {})}])

    assert main(["validate", str(write(tmp_path, data("2000-01"), "first.yaml"))]) == 0
    err = capsys.readouterr().err
    assert "group 'sailors' has no usable path" in err and "boat (policy 'coast_shut')" in err, err
    assert "walkers" not in err and "sets out while they stay closed" in err
    # a closure that ends reopens the edge by itself: the warning said "until a policy opens one" (a probe)
    assert main(["validate", str(write(tmp_path, data("2000-01", "2000-02"), "ends.yaml"))]) == 0
    err = capsys.readouterr().err
    assert "boat (policy 'coast_shut', which ends 2000-02)" in err and "until a policy opens" not in err, err
    assert main(["validate", str(write(tmp_path, data("2000-02"), "later.yaml"))]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_repeat_propensity_without_a_delay_warns_that_it_does_nothing(tmp_path, capsys):
    """`repeat: {propensity: 0.8}` alone leaves repeat attempts off (a run's totals are those without it) while
    it enters the resolved scenario and its hash: said, not silently ignored."""
    data = yaml.safe_load(TOY.read_text())
    data["repeat"] = {"propensity": 0.8}
    path = write(tmp_path, data)
    assert main(["validate", str(path)]) == 0
    assert f"warning: {path}: repeat.propensity is 0.8 but no repeat.after delay is set" in capsys.readouterr().err
    data["repeat"]["after"] = {"caught": 6}
    assert main(["validate", str(write(tmp_path, data, "on.yaml"))]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_stock_whose_lognormal_time_waited_likely_passes_50_years_warns(tmp_path, capsys):
    """Each draw past 600 months stops the run (exit 2), so `validate` says ok only with a warning when the chance
    of one among the entry's persons is 1% or more: one in 1,795 persons for median 12, sigma 1.2, so 67% among
    2,000 (1 - (1 - p)^2000), the probability the run stops."""
    data = yaml.safe_load(TOY.read_text())
    data["initial_stock"] = [{"node": "thirdland", "size": 2000, "groups": {"ordinary": 1},
                              "waited": {"dist": "lognormal", "median": 12, "sigma": 1.2}}]
    path = write(tmp_path, data)
    assert main(["validate", str(path)]) == 0
    assert ("initial_stock[0].waited: a lognormal of median 12 and sigma 1.2 passes 600 months for one person in "
            "1,795; among 2,000 persons a run draws one such time with probability 67%") in capsys.readouterr().err
    data["initial_stock"][0]["waited"]["sigma"] = 0.5  # one in 10^15: no warning
    assert main(["validate", str(write(tmp_path, data, "narrow.yaml"))]) == 0
    assert "warning" not in capsys.readouterr().err


def test_shipped_scenarios_give_no_warning(capsys):
    assert main(["validate", str(TOY), str(ROOT / "scenarios/korea.yaml")]) == 0
    assert capsys.readouterr().err == ""
