"""The home population of an ensemble's runs, drawn once per process and shared (issue 13).

Runs of an ensemble often have the same home population: replicate k of every parameter point has the same seed
(common random numbers), and most parameters (rates, weights, hazards, policies) do not touch who lives at home. The
population is a pure function of the run key, `population.size`, `population.origins`, each group's share, sex
share, origins and attribute distributions, and the origin nodes' indices (`sim.rules.population.Population`);
`home_population` keys a small cache by the sha256 of exactly those, so a run gets the persons a fresh build gives,
byte for byte (tests/test_array_speed.py), without drawing them again.

The cached arrays are made read-only and shared; each run gets its own `Population.fresh()` copy, whose run state
(who is away, appended persons, attempts) is its own, so nothing a run changes reaches the cache or another run.
The cache keeps at most MAX_ENTRIES populations and MAX_BYTES of them (least recently used dropped first).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

from sim.rules.population import BINS, CHUNK, Population
from sim.scenario.schema import Scenario

MAX_ENTRIES = 4
MAX_BYTES = 300 * 2**20

_cache: OrderedDict[str, Population] = OrderedDict()


def population_key(scenario: Scenario, origin_index: dict[str, int], key: int) -> str:
    """sha256 of everything the home population is drawn from (see the module doc)."""
    pop = scenario.population
    groups = [{"share": g.share, "female_share": g.female_share, "origins": g.origins,
               "risk_tolerance": g.risk_tolerance.model_dump(mode="json"),
               "means": g.means.model_dump(mode="json")} for g in pop.groups]
    # Keys in the order written: the population draws origins in that order, so the same weights in another
    # order are another population (sorting the keys gave them one key, and a run the wrong persons).
    text = json.dumps({"key": key, "size": pop.size, "origins": pop.origins, "groups": groups,
                       "origin_index": origin_index, "chunk": CHUNK, "bins": BINS})
    return hashlib.sha256(text.encode()).hexdigest()


def home_population(scenario: Scenario, origin_index: dict[str, int], key: int) -> Population:
    """A Population for one run: `Population(scenario, origin_index, key)`, from the cache when it holds one."""
    k = population_key(scenario, origin_index, key)
    template = _cache.get(k)
    if template is None:
        template = Population(scenario, origin_index, key)
        template.freeze()
        size = template.nbytes()
        if size <= MAX_BYTES:
            _cache[k] = template
            while len(_cache) > MAX_ENTRIES or sum(p.nbytes() for p in _cache.values()) > MAX_BYTES:
                _cache.popitem(last=False)
    else:
        _cache.move_to_end(k)
    return template.fresh()


def clear() -> None:
    """Empty the cache."""
    _cache.clear()
