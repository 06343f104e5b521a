"""Issue 13, the array engine's speed work: the draws it changed are keyed as docs/model.md says."""

from __future__ import annotations

import numpy as np

from sim.rules.streams import (CHOICE, JOURNEY, journey_keys, journey_uniform, journey_uniform_of, journey_uniforms,
                               run_key, uniforms)


def test_journey_draws_are_keyed_by_the_journey_purpose():
    key = run_key(3)
    persons, steps, slots = np.arange(50), 7, np.arange(6)
    u = journey_uniform(key, persons[:, None], steps, slots[None, :])
    assert np.array_equal(u, uniforms(key, JOURNEY, persons[:, None], steps, slots[None, :]))
    assert np.array_equal(journey_uniforms(key, persons, steps, 2), u)
    # without the purpose, person CHOICE's journey draw at (step p, slot t) was the choice draw of person p at t
    p, t = np.arange(20), 5
    assert not np.any(journey_uniform(key, CHOICE, p, t) == uniforms(key, CHOICE, p, t))


def test_a_journey_key_and_its_slot_give_the_journey_draw():
    """The array engine's per-row journey key (sim.rules.streams.journey_keys) gives the same draws as hashing the
    person, the step and the slot every time."""
    key = run_key(11)
    persons = np.array([0, 1, 7, 2**31 - 1, 123456], dtype=np.int32)
    steps = np.array([0, 5, 323, 1, 77], dtype=np.int32)
    jk = journey_keys(key, persons, steps)
    for slot in (0, 1, 2, 5, 29):
        assert np.array_equal(journey_uniform_of(jk, np.full(persons.size, slot)),
                              journey_uniform(key, persons, steps, slot))
    assert np.array_equal(journey_keys(key, persons, 9), journey_keys(key, persons, np.full(persons.size, 9)))


# ------------------------------------------------------------------ thinning in blocks (lever 1)

from conftest import build, edge, group, node, scenario_dict, seed  # noqa: E402
from scipy import stats  # noqa: E402

from sim.engine.mesa.model import BorderModel  # noqa: E402
from sim.rules.streams import block_candidates  # noqa: E402


def test_the_blocks_partition_the_home_population():
    sc = build(scenario_dict(nodes=[node("o", "origin"), node("q", "origin"), node("d", "destination")],
                             edges=[edge("e", "o", "d"), edge("f", "q", "d")], size=5000,
                             groups=[group("a", share=0.6, risk_tolerance={"dist": "beta", "a": 2, "b": 3}),
                                     group("b", share=0.4, risk_tolerance={"dist": "uniform", "low": 0.2,
                                                                           "high": 0.9})]))
    pop = BorderModel(sc).population
    assert np.array_equal(np.sort(pop.block_members), np.arange(pop.size))
    assert pop.block_size.sum() == pop.size and len(set(pop.block_key.tolist())) == pop.block_key.size
    for b in range(pop.block_key.size):
        people = pop.block_members[pop.block_start[b]:][:pop.block_size[b]]
        assert np.all(np.diff(people) > 0)  # in increasing index
        assert pop.block_r_max[b] == float(pop.risk_tolerance[people].max())


def test_the_initial_stock_is_thinned_in_blocks_of_its_own():
    """The appended persons (initial stock, home again with repeat attempts) are in blocks apart from the home
    population's, keyed apart; every person, home or appended, is in exactly one block."""
    from test_initial_stock import transit_scenario

    data = transit_scenario([{"node": "t", "size": 40}], hazard=1.0, end="2000-04",
                            groups=[group(departure_rate=50.0)])
    data["repeat"] = {"after": {"repatriated": 1}, "propensity": 1.0}
    model = BorderModel(build(data))
    pop = model.population
    assert np.array_equal(np.sort(pop.block_members), np.arange(pop.size + pop.extra))
    for b in range(pop.block_key.size):
        people = pop.block_members[pop.block_start[b]:][:pop.block_size[b]]
        assert (people < pop.size).all() == bool(pop.block_home[b]) and ((people >= pop.size).all()
                                                                         != bool(pop.block_home[b]))
    assert not set(pop.block_key[pop.block_home].tolist()) & set(pop.block_key[~pop.block_home].tolist())
    for _ in range(3):
        model.step()
    assert model.ledger.flows[2, ..., 0].sum() == 40  # the stock set out again at step 2, from its blocks


def test_block_candidates_are_nested_in_the_bound_uniform_and_distinct():
    """The candidates for a larger bound contain those for a smaller one with the same uniforms; at bound 1 every
    rank of every block appears once and the uniforms are U(0, 1) (Kolmogorov-Smirnov, level 0.001)."""
    key = run_key(seed(11))
    blocks = np.arange(60) * 7 + 3
    n = np.arange(60) * 37 + 1
    p = np.linspace(0.001, 0.3, 60)
    small = block_candidates(key, 3, blocks, n, p)
    large = block_candidates(key, 3, blocks, n, np.minimum(1.0, 2 * p))
    as_set = lambda c: set(zip(*(a.tolist() for a in c)))  # noqa: E731
    assert as_set(small) <= as_set(large) and len(as_set(large)) > len(as_set(small))
    b, x, u = block_candidates(key, 3, blocks, n, np.ones(60))
    for i in range(60):
        assert np.array_equal(np.sort(x[b == i]), np.arange(n[i]))
    assert stats.kstest(u, "uniform").pvalue > 0.001
    # another step: other persons
    b2, x2, _ = block_candidates(key, 4, blocks, n, p)
    assert not np.array_equal(x2, small[1]) or not np.array_equal(b2, small[0])


def test_blocks_list_far_fewer_candidates_than_a_single_bound():
    """Two groups, the second with a higher rate, risk tolerance spread over [0, 1]: the expected number of
    candidates with the blocks' bounds is under a fifth of that with a single bound for everyone (at least the
    largest block's)."""
    sc = build(scenario_dict(nodes=[node("o", "origin"), node("d", "destination")],
                             edges=[edge("e", "o", "d", controls={"guards": 1.0})], size=20000,
                             hazards={"block": {}, "kill": {}, "detect": {"guards": 0.5},
                                      "shot_kill_probability": 0.0},
                             route_choice={"risk_weight": 8.0, "cost_weight": 0.0, "time_weight": 0.0},
                             groups=[group("a", share=0.9, departure_rate=0.01,
                                           risk_tolerance={"dist": "beta", "a": 2, "b": 3}),
                                     group("b", share=0.1, departure_rate=0.05,
                                           risk_tolerance={"dist": "uniform", "low": 0.0, "high": 1.0})]))
    model = BorderModel(sc)
    model.step()
    pop = model.population
    bounds = model.block_bounds(0)
    blocked = float((pop.block_size * bounds).sum())
    single = pop.size * bounds.max()  # a single bound for everyone is at least the largest block's
    assert blocked < 0.2 * single, (blocked, single)


# ------------------------------------------------------------------ per-step overhead (lever 4)


def test_the_policies_in_force_per_step_are_those_of_active_set():
    """`active_sets` (parsed once per run, used by the engines) gives `active_set` at every step, disabled and
    open-ended policies included; the group rates are unchanged by parsing the push series once."""
    from conftest import ROOT

    from sim.loading import load_scenario
    from sim.rules.policies import active_set, active_sets, group_rate, group_rates, push_value
    from sim.scenario.dates import step_dates
    from sim.scenario.units import step_months

    sc = load_scenario(ROOT / "scenarios" / "korea.yaml")
    pols = list(sc.policies)
    pols[0] = pols[0].model_copy(update={"enabled": False})
    pols[1] = pols[1].model_copy(update={"end": None})
    sc = sc.model_copy(update={"policies": pols})
    dates = step_dates(sc.time)
    assert active_sets(sc, dates) == [active_set(sc, d) for d in dates]
    assert len({active_set(sc, d) for d in dates}) > 3
    expected = np.array([[group_rate(g, {name: push_value(s, d) for name, s in sc.push.items()},
                                     [sc.policies[i] for i in active_set(sc, d)])
                          for g in sc.population.groups] for d in dates]) * step_months(sc.time.step)
    assert np.array_equal(group_rates(sc, dates), expected)


# ------------------------------------------------------------------ the home population drawn once (lever 3)


def _small_korea(size: int = 20_000, **group0):
    from conftest import ROOT

    from sim.loading import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "korea.yaml")
    groups = list(sc.population.groups)
    if group0:
        groups[0] = groups[0].model_copy(update=group0)
    pop = sc.population.model_copy(update={"size": size, "groups": groups})
    return sc.model_copy(update={"population": pop})


def _arrays(pop):
    names = ["group", "female", "origin", "risk_tolerance", "means", "away", "block_key", "block_origin",
             "block_group", "block_size", "block_start", "block_r_max", "block_home", "block_members"]
    return {n: getattr(pop, n) for n in names}


def test_a_cached_home_population_is_what_a_fresh_build_gives_and_runs_do_not_leak_into_it():
    from sim.engine.arrays import homes
    from sim.engine.arrays.model import ArrayModel
    from sim.rules.population import Population

    homes.clear()
    sc = _small_korea()
    first = ArrayModel(sc)  # a miss: drawn, cached
    for t in range(60):
        first.step(t)  # people set out, the stock is appended, attempts are counted
    assert first.population.away.any()
    second = ArrayModel(sc)  # a hit
    assert len(homes._cache) == 1
    fresh = Population(sc, second.graph.node_index, second.key)
    fresh_stock = ArrayModel(sc)  # to compare the appended stock too
    got, want = _arrays(ArrayModel(sc).population), _arrays(fresh_stock.population)
    for name, arr in want.items():
        assert got[name].dtype == arr.dtype and np.array_equal(got[name], arr), name
    cached = homes.home_population(sc, second.graph.node_index, second.key)
    for name, arr in _arrays(fresh).items():
        assert cached.__dict__[name].tobytes() == arr.tobytes(), name
    assert not cached.away.any() and cached.extra == 0 and cached.attempts is None
    with np.testing.assert_raises(ValueError):
        cached.means[0] = 1.0  # the shared arrays are read-only


def test_runs_that_share_a_home_population_give_the_results_of_fresh_processes():
    """Korea at 20,000 (stock, repeats, brokers): a run after two others in this process (the cache hit, the
    earlier runs' state gone) gives the run's result of an empty cache; a changed departure rate shares the
    population, a changed means distribution does not."""
    from sim.engine.arrays import homes
    from sim.engine.arrays.model import run

    sc = _small_korea()
    other = _small_korea(departure_rate=sc.population.groups[0].departure_rate * 2)
    homes.clear()
    alone = run(sc).flows.copy()
    homes.clear()
    run(other)
    run(sc)
    assert len(homes._cache) == 1  # the departure rate does not define the population
    again = run(sc)
    assert np.array_equal(again.flows, alone)
    from sim.scenario.schema import AttributeDistribution

    run(_small_korea(means=AttributeDistribution(dist="fixed", value=5000.0)))
    assert len(homes._cache) == 2


def test_origins_written_in_another_order_are_another_population():
    """The population draws origins in the order written, so the same weights in another order give other
    persons: the cache must not hand one's population to the other (their keys were equal: sorted)."""
    from sim.engine.arrays import homes
    from sim.engine.arrays.model import run

    def two_origins(order: list[str]):
        weights = {"o0": 1.0, "o1": 3.0}
        return build(scenario_dict(nodes=[node("o0", "origin"), node("o1", "origin"), node("d", "destination")],
                                   edges=[edge("from_o0", "o0", "d"), edge("from_o1", "o1", "d")],
                                   groups=[group(departure_rate=0.05)], size=2000,
                                   origins={o: weights[o] for o in order}))

    first, second = two_origins(["o0", "o1"]), two_origins(["o1", "o0"])
    homes.clear()
    alone = run(second).by_route()
    homes.clear()
    run(first)
    assert run(second).by_route() == alone != run(first).by_route()


def test_the_per_block_prefixes_give_the_documented_draws():
    """block_candidates hashes h(key, DEPART_ORDER, step, B) and h(key, DEPART_PERM, step, r, B) once per block
    (sim.rules.streams._last_part, _block_permutation); the numbers are those of the documented hashes."""
    from sim.rules.streams import (DEPART_ORDER, _block_permutation, _last_part, _to_unit, block_permutation,
                                   hash_u64)
    key, step = run_key(5), 17
    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 2**41, 30)
    b = np.sort(rng.integers(0, 30, 500))
    bits = rng.integers(1, 20, 30)[b]
    x = rng.integers(0, 2**19, 500) % (np.int64(1) << bits)
    assert np.array_equal(_block_permutation(key, step, blocks, b, x, bits),
                          block_permutation(key, step, blocks[b], x, bits))
    j = rng.integers(0, 10**6, 500)
    prefix = hash_u64(key, DEPART_ORDER, step, blocks)
    assert np.array_equal(_to_unit(_last_part(prefix[b], j)), uniforms(key, DEPART_ORDER, step, blocks[b], j))
