"""The fast engine (`BorderModel`: thinned home population, event-driven migrants) against the plain-Mesa
reference (`NaiveBorderModel`: every person an agent stepped each step) on one small scenario that exercises
every rule: three groups, a push series, a river route through a geometric-dwell transit node, a sea route
through a fixed-dwell transit node, a shoot-on-sight DMZ, an edge closed for a while (people on the way turn
back, choice shifts), a crackdown raising an arrest hazard mid-run.

Each engine runs over its own seeds; for every count (totals per outcome, per route x outcome, per edge x
outcome, set-out and arrivals per half-year, repatriations per node) the two pooled totals S_fast over K_fast
runs and S_naive over K_naive runs are compared with the exact conditional test of equal Poisson rates:
S_fast ~ Binomial(S_fast + S_naive, K_fast / (K_fast + K_naive)). Every count is a sum of independent
per-person indicators (people do not interact), so its variance is at most its mean and the Poisson test is
conservative.
Each test is at the suite's per-check level `conftest.ALPHA`; at most `conftest.EQUIVALENCE_CHECKS` counts are
compared, the number conftest.py counts in the suite's family-wise error (below 1 in 1,000 for the whole suite).
Seeds are `conftest.seed(k)`, shifted by BORDERSIM_TEST_SEED_OFFSET.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ALPHA, EQUIVALENCE_CHECKS, TOY, build, seed
from scipy.stats import binomtest

from sim.outcomes import FLOWS, TOTAL_KEYS
from sim.engine.mesa.model import BorderModel
from sim.engine.reference import NaiveBorderModel
from sim.loading import load_scenario
from sim.scenario.overrides import scenario_to_dict

K_FAST, K_NAIVE = 40, 10


def busy_toy() -> dict:
    """toy.yaml over two years with 3,000 people who leave about 20 times faster, a cheaper, less guarded
    river route, a fixed-dwell island on the sea route, and policies moved inside the window."""
    d = scenario_to_dict(load_scenario(TOY))
    d["time"] = {"start": "2000-01", "end": "2001-12", "step": "month"}
    d["population"]["size"] = 3000
    for g in d["population"]["groups"]:
        g["departure_rate"] = 0.05
    d["push"]["hardship"]["values"] = {"2000-01": 1.0, "2001-06": 1.6}
    nodes = {n["id"]: n for n in d["network"]["nodes"]}
    nodes["thirdland"].update(arrest_hazard=0.1, dwell=3.0, dwell_distribution="geometric")
    d["network"]["nodes"].append({"id": "island", "kind": "transit", "label": "Island", "arrest_hazard": 0.08,
                                  "dwell": 3.0, "dwell_distribution": "fixed"})
    edges = {e["id"]: e for e in d["network"]["edges"]}
    edges["boat"]["to"] = "island"
    edges["walk"]["cost"], edges["ford"]["cost"], edges["flight"]["cost"] = 200.0, 300.0, 600.0
    edges["walk"]["controls"]["guards"] = edges["ford"]["controls"]["guards"] = 0.1
    d["network"]["edges"].append({"id": "ferry", "from": "island", "to": "south", "mode": "sea",
                                  "duration": 1, "cost": 100.0, "controls": {"patrol": 0.2}})
    d["policies"] = [
        {"name": "river_closed", "start": "2000-07", "end": "2000-11", "select": {"edges": ["ford"]},
         "set": {"open": False}},
        {"name": "transit_crackdown", "start": "2001-01", "select": {"nodes": ["thirdland", "island"]},
         "scale": {"arrest_hazard": 2.5}},
    ]
    return d


def statistics(result) -> dict[str, int]:
    """Every count compared between the engines, by name."""
    out = {f"total.{k}": v for k, v in result.totals().items()}
    for route, row in result.by_route().items():
        out.update({f"route.{route}.{k}": v for k, v in row.items()})
    for e, row in result.by_edge().items():
        out.update({f"edge.{e}.{k}": v for k, v in row.items()})
    for n, v in zip(result.node_ids, result.repatriated_at):
        out[f"repatriated_at.{n}"] = int(v)
    flows = result.flows.sum(axis=(1, 2))  # (T, F)
    for h in range(len(result.dates) // 6):
        for k in ("set_out", "arrived"):
            out[f"half{h}.{k}"] = int(flows[6 * h:6 * h + 6, FLOWS.index(k)].sum())
    return out


def pooled(engine, scenario, seeds) -> tuple[dict[str, int], list]:
    totals: dict[str, int] = {}
    results = []
    for s in seeds:
        res = engine(scenario, rng=s).run()
        results.append(res)
        for k, v in statistics(res).items():
            totals[k] = totals.get(k, 0) + v
    return totals, results


@pytest.fixture(scope="module")
def both_engines():
    sc = build(busy_toy())
    fast, fast_runs = pooled(BorderModel, sc, [seed(1000 + i) for i in range(K_FAST)])
    naive, naive_runs = pooled(NaiveBorderModel, sc, [seed(2000 + i) for i in range(K_NAIVE)])
    return fast, naive, fast_runs, naive_runs


def test_the_scenario_exercises_every_outcome_in_both_engines(both_engines):
    fast, naive, _, _ = both_engines
    for pooled_counts in (fast, naive):
        for k in TOTAL_KEYS:
            assert pooled_counts[f"total.{k}"] >= 20, (k, pooled_counts[f"total.{k}"])
        assert pooled_counts["repatriated_at.island"] >= 20
        assert pooled_counts["repatriated_at.thirdland"] >= 20
        assert pooled_counts["edge.ford.returned"] > 0  # closed-edge turn-backs and fence blocks


def test_naive_reference_keeps_every_person_accounted_for(both_engines):
    _, _, fast_runs, naive_runs = both_engines
    assert all(r.conservation_holds() for r in fast_runs + naive_runs)


def test_fast_and_naive_engines_agree_in_law(both_engines):
    fast, naive, _, _ = both_engines
    names = [k for k in fast if fast[k] + naive.get(k, 0) > 0]
    assert set(fast) == set(naive)
    assert 60 <= len(names) <= EQUIVALENCE_CHECKS, len(names)
    share = K_FAST / (K_FAST + K_NAIVE)
    failures = []
    for k in names:
        n = fast[k] + naive[k]
        p = binomtest(fast[k], n, share).pvalue
        if p < ALPHA:
            failures.append(f"{k}: fast {fast[k] / K_FAST:.2f}/run, "
                            f"naive {naive[k] / K_NAIVE:.2f}/run (p={p:.2g})")
    assert not failures, "engines differ:\n" + "\n".join(failures)


def test_same_seed_gives_both_engines_the_same_people():
    sc = build(busy_toy())
    fast = BorderModel(sc, rng=seed(7)).population
    naive = NaiveBorderModel(sc, rng=seed(7))
    people = list(naive.agents)
    assert len(people) == fast.size
    assert np.array_equal([p.group for p in people], fast.group)
    assert np.array_equal([p.means for p in people], fast.means.astype(float))
