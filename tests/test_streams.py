"""Keyed random streams (sim.rules.streams) and the common random numbers they give across scenarios.

Statistical checks (8 here) use the suite's per-check level `conftest.ALPHA`, chosen so that the whole default
suite fails by chance less than once in 1,000 runs, for any BORDERSIM_TEST_SEED_OFFSET (which shifts every seed).
"""

from __future__ import annotations


import numpy as np
import pytest
from conftest import ALPHA, SEED_OFFSET, seed, ROOT, TOY, build, edge, group, node, scenario_dict
from scipy import stats

from sim.engine.engines import run as run_with
from sim.engine.mesa.model import BorderModel, run
from sim.rules.population import Population
from sim.loading import load_scenario
from sim.rules.streams import departure_candidates, hash_int, hash_u64, journey_uniforms, permutation, run_key, uniforms

KOREA = ROOT / "scenarios" / "korea.yaml"


def test_the_numpy_hash_is_the_documented_function_on_python_ints():
    key = run_key(seed(12345))
    rng = np.random.default_rng(SEED_OFFSET)
    parts = rng.integers(0, 2**63, size=(200, 3), dtype=np.int64)
    got = hash_u64(key, parts[:, 0], parts[:, 1], parts[:, 2])
    assert [int(v) for v in got] == [hash_int(key, *map(int, row)) for row in parts]
    assert run_key(1) != run_key(2)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 17, 1000, 4097, 65536, 100_003])
def test_the_keyed_permutation_is_a_bijection(n):
    p = permutation(run_key(seed(7)), 3, np.arange(n), n)
    assert np.array_equal(np.sort(p), np.arange(n))


def test_departure_uniforms_are_nested_in_the_bound_and_uniform():
    key, n = run_key(seed(11)), 200_000
    small, u_small = departure_candidates(key, 5, n, 0.01)
    large, u_large = departure_candidates(key, 5, n, 0.05)
    # the candidates at 0.01 are exactly those of the 0.05 set whose uniform is below 0.01, with the same value
    below = u_large < 0.01
    assert np.array_equal(large[below], small) and np.array_equal(u_large[below], u_small)
    assert np.unique(large).size == large.size and large.min() >= 0 and large.max() < n
    assert np.all(np.diff(u_large) > 0)
    # count ~ Binomial(n, 0.05); values ~ U(0, 0.05)
    assert stats.binomtest(large.size, n, 0.05).pvalue > ALPHA
    assert stats.kstest(u_large / 0.05, "uniform").pvalue > ALPHA
    # everyone at p_bar = 1: each person once, values U(0, 1)
    everyone, u = departure_candidates(key, 6, 5000, 1.0)
    assert np.array_equal(np.sort(everyone), np.arange(5000)) and stats.kstest(u, "uniform").pvalue > ALPHA


def test_departure_uniforms_of_two_steps_are_independent():
    """Candidate sets of two steps at p overlap like independent Bernoulli(p) sets: Binomial(n, p^2)."""
    key, n, p = run_key(seed(13)), 400_000, 0.02
    a, _ = departure_candidates(key, 1, n, p)
    b, _ = departure_candidates(key, 2, n, p)
    assert stats.binomtest(np.intersect1d(a, b).size, n, p * p).pvalue > ALPHA


def test_journey_uniforms_are_uniform_and_keyed_by_person_and_step():
    key = run_key(seed(17))
    u = journey_uniforms(key, np.arange(20_000), 4, 2)
    assert u.shape == (20_000, 6)
    assert stats.kstest(u.ravel(), "uniform").pvalue > ALPHA
    assert np.array_equal(journey_uniforms(key, np.array([5, 123]), 4, 2), u[[5, 123]])
    assert not np.array_equal(journey_uniforms(key, np.array([5]), 3, 2), u[[5]])
    assert np.array_equal(uniforms(key, 1, 2, 3), uniforms(key, 1, 2, 3))


def test_changing_one_groups_distribution_leaves_the_other_groups_people_alone():
    groups = [group("a", share=0.5, risk_tolerance={"dist": "uniform", "low": 0, "high": 1}, means=100.0),
              group("b", share=0.5, risk_tolerance={"dist": "uniform", "low": 0, "high": 1}, means=100.0)]
    nodes, edges = [node("o", "origin"), node("d", "destination")], [edge("e", "o", "d")]
    base = build(scenario_dict(nodes=nodes, edges=edges, groups=groups, size=3000))
    groups[1] = {**groups[1], "risk_tolerance": {"dist": "beta", "a": 2, "b": 5}, "means": {"dist": "fixed",
                                                                                          "value": 7.0}}
    other = build(scenario_dict(nodes=nodes, edges=edges, groups=groups, size=3000))
    key = run_key(seed(3))
    p, q = Population(base, {"o": 0, "d": 1}, key), Population(other, {"o": 0, "d": 1}, key)
    a = p.group == 0
    assert np.array_equal(p.group, q.group) and np.array_equal(p.female, q.female)
    assert np.array_equal(p.risk_tolerance[a], q.risk_tolerance[a]) and np.array_equal(p.means[a], q.means[a])
    assert not np.array_equal(p.risk_tolerance[~a], q.risk_tolerance[~a])


def _per_route(result) -> dict:
    ts = result.timeseries()
    return {route: frame.drop(columns="route").reset_index(drop=True) for route, frame in
            ts.groupby("route", observed=True)}


def _untouched_routes(scenario, edge_id: str) -> list[str]:
    """Routes none of whose people could choose a path through `edge_id`: every (origin, group) stratum whose
    allowed paths include a route's path has no allowed path using that edge."""
    model = BorderModel(scenario, population=False)
    g = model.graph
    e = g.edge_index[edge_id]
    touched_strata, route_strata = set(), {}
    for gi, grp in enumerate(scenario.population.groups):
        weights = grp.origins if grp.origins is not None else scenario.population.origins
        for o in weights:
            for j in g.allowed_paths(g.node_index[o], model.group_modes[gi]):
                route_strata.setdefault(g.routes[g.paths[j].route], set()).add((o, gi))
                if e in g.paths[j].edges:
                    touched_strata.add((o, gi))
    return [r for r, strata in route_strata.items() if not strata & touched_strata]


@pytest.mark.parametrize("path, size, engine", [(TOY, 20_000, "agents"), (KOREA, 400_000, "arrays")],
                         ids=["toy", "korea"])
def test_more_dmz_mines_change_nobody_who_could_not_go_near_the_dmz(path, size, engine):
    """Common random numbers: mines on the DMZ leave every route whose people cannot choose the DMZ exactly as
    before, step by step and group by group (Korea with the array engine, which gives the Mesa engine's files run
    for run: tests/test_docking.py)."""
    base = load_scenario(path, overrides=[f"population.size={size}"])
    mined = load_scenario(path, overrides=[f"population.size={size}", "network.edges.dmz.controls.mines=1.0"])
    untouched = _untouched_routes(base, "dmz")
    assert len(untouched) >= 3, untouched
    s = seed(11)
    a, b = _per_route(run_with(base, s, engine=engine)), _per_route(run_with(mined, s, engine=engine))
    for route in untouched:
        assert a[route].equals(b[route]), f"route {route} changed although nobody on it can reach the DMZ"
    # and the change did take effect where it should: the DMZ crossing kills more
    before, after = BorderModel(base, population=False), BorderModel(mined, population=False)
    before.step(), after.step()
    dmz = before.graph.edge_index["dmz"]
    assert after.edge_cdf[dmz][1] > before.edge_cdf[dmz][1]


def _transit_with_policy(node_kw: dict, policy_set: dict, size: int = 20_000) -> dict:
    """o -> t (transit) -> d, everyone sets out at step 0 and reaches t at step 1; from 2000-07 (step 6) a
    policy sets `policy_set` on t."""
    return scenario_dict(
        nodes=[node("o", "origin"), node("t", "transit", **node_kw), node("d", "destination")],
        edges=[edge("in", "o", "t"), edge("out", "t", "d")], size=size, end="2001-12", seed=seed(21),
        policies=[{"name": "change", "start": "2000-07", "select": {"nodes": ["t"]}, "set": policy_set}])


def test_an_arrest_hazard_raised_mid_wait_applies_from_its_step_on():
    """Waiting from step 1 with a fixed dwell of 20: arrest hazard h1 at steps 2..5, h2 from step 6 on. Of those
    still waiting after step 5, a share h2 is arrested at step 6; in all, 1 - (1 - h1)^4 (1 - h2)^16."""
    h1, h2 = 0.05, 0.3
    result = run(build(_transit_with_policy({"arrest_hazard": h1, "dwell": 20}, {"arrest_hazard": h2})))
    from sim.outcomes import REPATRIATED, SET_OUT

    flows = result.flows[:, 0, 0]
    n = int(flows[:, SET_OUT].sum())
    assert n == 20_000
    waiting_after_5 = n - int(flows[:6, REPATRIATED].sum())
    assert stats.binomtest(int(flows[6, REPATRIATED]), waiting_after_5, h2).pvalue > ALPHA
    share = 1 - (1 - h1) ** 4 * (1 - h2) ** 16
    assert stats.binomtest(int(flows[:, REPATRIATED].sum()), n, share).pvalue > ALPHA


def test_a_geometric_dwell_shortened_mid_wait_applies_from_its_step_on():
    """Geometric dwell 24 steps, no arrests; from step 6 the mean is 2: of those still waiting after step 5, a
    share 1/2 leaves at step 6 (and arrives at step 7)."""
    result = run(build(_transit_with_policy({"dwell": 24, "dwell_distribution": "geometric"}, {"dwell": 2})))
    from sim.outcomes import ARRIVED

    flows = result.flows[:, 0, 0]
    waiting_after_5 = 20_000 - int(flows[:7, ARRIVED].sum())  # left by step 5 = arrived by step 6
    assert stats.binomtest(int(flows[7, ARRIVED]), waiting_after_5, 0.5).pvalue > ALPHA
