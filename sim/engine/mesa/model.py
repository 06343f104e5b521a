"""BorderModel: one step is one month (or one week). Wires the population, the network and the migrants.

The state of a run that is not a migrant, and the rules acting on it (policies, what people know, departures,
brokers' sales, repeat attempts, the initial stock's paths), are `sim.engine.core.EngineCore`'s, shared with the
array engine (`sim.engine.arrays`); this module adds the migrants as Mesa agents (`sim.engine.mesa.agents`).

Each step t, in this order:
1. policies: if the set of active policies changed, rebuild the network state and the path metrics, and
   reschedule everyone waiting at a node whose hazard or dwell changed (`Migrant.replan_wait`);
2. migrants: every migrant with an event due at t acts (`Migrant.step`), in the order the events were scheduled
   (events scheduled for t while doing so are carried out too); those whose wait at a broker node ends join its
   queue, in increasing person index (`EngineCore.flush_joins`); then the brokers of each broker node sell the step's
   passages (`BrokerQueue.sell`, docs/model.md §14), in node order, and the buyers enter their next edge;
3. departures: persons at home set out (`EngineCore.decide_departures`), in order of person index; each becomes a
   `Migrant` and enters the first edge of the path it chose;
4. the ledger closes the step (stock in transit).

Two mechanisms are off unless the scenario sets them (docs/model.md sections 9 and 10): repeat attempts (a failed
person is detained, `EngineCore.attempts_ended`, and back home after a delay, `_release`, just before the
departures of that step, setting out again at a rate scaled by `sim.rules.repeat.rate_multiplier`), and an initial
stock of people waiting at transit nodes, placed in step 0 after the policies (`_place_stock`).

What people know (`_update_knowledge`, once per step after the policies, only when a mechanism asks for it): the
perceived risk per route from the outcomes of the steps before (`sim.rules.perception`), and the chain-migration
multipliers per origin from the arrivals before (`sim.rules.chain`).
"""

from __future__ import annotations

import math
import numbers
from typing import cast
from collections.abc import Callable

import mesa
import numpy as np
from mesa.discrete_space import Cell, Network

from sim.api_checks import callback_argument, seed_argument
from sim.engine.core import EngineCore, model_arguments, run_result
from sim.provenance import package_version
from sim.engine.ledger import RunResult, result_so_far
from sim.engine.mesa.agents import Migrant
from sim.errors import UsageError
from sim.rules.streams import journey_uniforms
from sim.scenario.schema import Scenario
from sim.scenario.units import step_months

__all__ = ["BorderModel", "RouteCell", "package_version", "run", "run_result"]


class RouteCell(Cell):
    """A network node's cell holding its agents in an insertion-ordered dict: O(1) removal, where Mesa's list
    makes removal O(agents in the cell) and a crowded origin or transit node quadratic."""

    __slots__ = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._agents = {}

    def add_agent(self, agent) -> None:
        if self.capacity is not None and len(self._agents) >= self.capacity:
            raise RuntimeError(f"cell {self.coordinate} is full")
        self._agents[agent] = None
        self._empty = False  # type: ignore[misc]  # in the __slots__ of mesa's Cell, which ships no types

    def remove_agent(self, agent) -> None:
        del self._agents[agent]
        self._empty = not self._agents  # type: ignore[misc]  # as in add_agent

    @property
    def agents(self) -> list:
        return list(self._agents)


class BorderModel(EngineCore, mesa.Model):
    """Agent-based model of people leaving along a route network under dated border policies.

    Stepped by hand: `model.step()` runs the next date of the horizon (Mesa counts it in `steps`); `running` is
    False after the last. A step past the horizon is a UsageError (`PAST_END_REFUSED`; Mesa's `run_for` /
    `run_until` stop at the horizon instead), and so is any step, run (`run_model` too) or result after a step that
    was interrupted part way (Ctrl-C, an error inside it): the state is then that of no step, and Mesa's schedule
    has lost its next step (it only advanced its clock).

    `BorderModel(scenario, rng=None, population=True)`: `scenario` a Scenario (`sim.load_scenario(PATH)`, validated
    again from its values here); `rng` the seed (Mesa's name for it; None: the scenario's `seed`), an integer in
    [0, 2^63); `population` False builds the model with nobody at home (no departures: for launching migrants by
    hand with `launch`, as the benchmark does)."""

    steps: int  # mesa.Model's step counter (mesa ships no types)
    PAST_END_REFUSED = True

    def __init__(self, scenario: Scenario, rng: int | None = None, population: bool = True):
        scenario, seed, population = model_arguments(scenario, rng, population)
        mesa.Model.__init__(self, rng=seed)
        self.setup_core(scenario, seed, population)
        self.space = Network(self.graph.graph, layout=None, random=self.random, cell_klass=RouteCell)
        self.node_cells = [self.space[n] for n in self.graph.node_ids]
        self._due: dict[int, list] = {}
        self.blocked: dict[int, dict[Migrant, None]] = {}  # per closed edge, the migrants held for it
        self._ended: list[tuple[int, int, int, int]] = []  # (person, route, group, outcome) of this step's attempts
        for _n, queue in self.brokers:
            queue.on_compact = _reposition
        self.running = len(self.dates) > 0  # Mesa's flag (run_model steps while it holds): False at the end
        self._mid_step = False  # True while a step runs: still True after one interrupted part way
        # model.step(): Mesa's, after the checks (Mesa itself made step an instance attribute, its _wrapped_step)
        self.step = self._checked_step  # type: ignore[method-assign]

    def _checked_step(self) -> None:
        """model.step(): UsageError after an interrupted step, or (PAST_END_REFUSED) past the horizon; else
        Mesa's step (which counts it and calls `step`). The checks come first: an error raised inside Mesa's step
        event loses its schedule."""
        self._refuse_if_interrupted()
        if self.steps >= len(self.dates):
            if self.PAST_END_REFUSED:
                raise UsageError(f"the model has run all {len(self.dates)} steps of its horizon "
                                 f"({self.spec.time.start}..{self.spec.time.end}); it cannot step further")
            return
        self._wrapped_step()

    def run_for(self, duration: float | int) -> None:
        """Mesa's run_for: the steps of the next `duration` time units (one unit a step), stopping at the horizon;
        refused after a step interrupted part way."""
        self.run_until(self.time + _time_units(duration, "duration"))

    def run_until(self, end_time: float | int) -> None:
        """Mesa's run_until: the steps due up to time `end_time` (step k of the horizon is due at time k), stopping
        at the horizon: its clock goes no further than the last step's time; refused after a step interrupted part
        way. (Mesa's own would go on advancing its clock one unit at a time, with no step to run, up to
        `end_time`.)"""
        self._refuse_if_interrupted()
        end = min(_time_units(end_time, "end_time"), float(len(self.dates)))
        if end > self.time:
            super().run_until(end)

    def run_model(self) -> None:
        """Mesa's run_model (step while `running`), refused after a step interrupted part way: `running` is False
        then, and Mesa's loop ended quietly as if the run were complete (a probe)."""
        self._refuse_if_interrupted()
        super().run_model()

    def _refuse_if_interrupted(self) -> None:
        if self._mid_step:
            raise UsageError(f"step {self.steps} of this model was interrupted part way (Ctrl-C or an error inside "
                             "it): its state is that of no step, so it cannot go on; build a new model (the same "
                             "scenario and seed give the same run)")

    # ------------------------------------------------------------------------------- hooks of EngineCore
    def _replan_waits(self, t: int, nodes: list[int], old_hazard: list[float], old_dwell: list[float]) -> None:
        for n in nodes:
            waiting = [a for a in self.node_cells[n].agents if a.waiting_at == n]
            for agent in waiting:
                agent.replan_wait(t - 1, old_hazard[n], old_dwell[n])

    def _release_blocked(self, t: int, was_open: list[bool] | None) -> None:
        """Edges that reopened at step t: the people waiting for them move on, in the order they stopped, unless
        an arrest is due at t (an arrest wins a tie)."""
        if not self.blocked:
            return
        for e in sorted(self.blocked):
            if not self.edge_open[e] or (was_open is not None and was_open[e]):
                continue
            for agent in list(self.blocked.pop(e)):
                if agent.arrest_at <= t:
                    self.blocked.setdefault(e, {})[agent] = None
                    continue
                agent.move_on(t, agent.means + agent.savings * (t - agent.arrived_at))

    def _joined(self, items: list, positions: np.ndarray) -> None:
        for agent, pos in zip(items, positions.tolist()):
            agent.queue_pos = pos

    def _move_on_bought(self, items: list, means: np.ndarray, t: int) -> None:
        for agent, m in zip(items, means.tolist()):
            agent.move_on(t, m)

    # ----------------------------------------------------------------------------------------- scheduling
    def schedule(self, agent: Migrant, step: int) -> None:
        """Have `agent.step()` called at `step` (events past the horizon are never run)."""
        self._due.setdefault(step, []).append((agent, agent.token))

    # ------------------------------------------------------------------------------------------------ step
    def step(self) -> None:
        """Step `steps - 1` of the horizon (Mesa counts a step before calling this; through Mesa's `run_for` /
        `run_until` past the horizon nothing is run); `running` turns False after the last."""
        if self.steps > len(self.dates):
            self.steps = len(self.dates)
            return
        self._refuse_if_interrupted()
        self._mid_step = True
        self.running = False  # until the step is complete
        t = self.steps - 1
        self.t = t
        self._apply_policies(t)
        self._update_knowledge(t)
        if t == 0 and self._stock is not None:
            self._place_stock()
        while True:  # an event may schedule another for this step (a wait that rounds to no step): carried out too
            due = self._due.pop(t, None)
            if not due:
                break
            for agent, token in due:
                if agent.token == token:
                    agent.step()
        if self.broker_nodes:
            self._sell(t)
        if self._releases:
            self._release(t)
        if self.population is not None:
            self._departures(t)
        if self._ended:
            self._flush_ended(t)
        self.close_step(t)
        self._mid_step = False
        self.running = self.steps < len(self.dates)

    def attempt_ended(self, agent: Migrant, outcome: int, t: int) -> None:
        """An attempt ended at step t (with repeat attempts or an initial stock): counted with the step's others
        by `EngineCore.attempts_ended`."""
        self._ended.append((agent.person, agent.route, agent.group, outcome))

    def _flush_ended(self, t: int) -> None:
        persons, routes, groups, outcomes = (np.array(x, dtype=np.int64) for x in zip(*self._ended))
        self._ended = []
        self.attempts_ended(persons, routes, groups, outcomes, t)

    def _departures(self, t: int) -> None:
        persons, path_idx = self.decide_departures(t)
        if persons.size == 0:
            return
        pop = self.population
        assert pop is not None
        draws = journey_uniforms(self.key, persons, t, self.graph.max_legs).tolist()
        for person, j, u, g, f, m in zip(persons.tolist(), path_idx.tolist(), draws, pop.group[persons].tolist(),
                                         pop.female[persons].tolist(), pop.means[persons].tolist()):
            self.launch(person, g, f, j, t, u, means=m)

    def launch(self, person: int, group: int, female: bool, path_index: int, t: int,
               draws: list[float] | None = None, means: float = 0.0) -> Migrant:
        """Create the Migrant for a person setting out on a path at step t with `means` USD and start the first
        crossing. `draws` are the journey's keyed uniforms (`sim.rules.streams.journey_uniforms`; computed here if
        omitted). The group's `transit` section gives the person's dwell scale, savings and arrest scale by sex."""
        path = self.graph.paths[path_index]
        if draws is None:
            draws = journey_uniforms(self.key, np.array([person]), t, self.graph.max_legs)[0].tolist()
        scale, savings, arrest = self.group_transit[group][female]
        agent = Migrant(self, person, group, female, path, draws, means, savings, scale, arrest, left_home=t)
        self.ledger.set_out(path.route, group)
        agent.enter_edge(t)
        return agent

    def _place_stock(self) -> None:
        """Step 0: each person of the initial stock picks a path through its node (`EngineCore.stock_paths`) and
        waits there, having already waited round(a / step) steps; the journey's draws are
        U(k, JOURNEY, person, 0, slot)."""
        sd, persons = self._stock, self._stock_persons
        assert sd is not None
        chosen = self.stock_paths()
        draws = journey_uniforms(self.key, persons, 0, self.graph.max_legs).tolist()
        months = step_months(self.spec.time.step)
        for i, (person, j, u_row) in enumerate(zip(persons.tolist(), chosen.tolist(), draws)):
            path = self.graph.paths[j]
            node = int(sd.node[i])
            group = int(sd.group[i])
            female = bool(sd.female[i])
            scale, savings, arrest = self.group_transit[group][female]
            waited = round(float(sd.waited[i]) / months)
            agent = Migrant(self, person, group, female, path, u_row, float(sd.means[i]), savings, scale, arrest,
                            left_home=-waited)
            self.ledger.initial(path.route, group)
            agent.leg = path.nodes.index(node) + 1
            agent.cell = self.node_cells[node]
            if self.waits_at[node]:
                agent.waiting_at = node
                agent.start_wait(0, waited=waited)
            elif self.may_hold[node] and self.holds_at(node, path.edges[agent.leg]):
                agent.waiting_at = node  # brokers, or a closed edge onward (docs/model.md §14)
                agent.start_wait(0, hold=True)
            else:
                agent.enter_edge(0)

    # ------------------------------------------------------------------------------------------------- run
    def run(self, progress: Callable[[int, int], None] | None = None) -> RunResult:
        """Step through the whole horizon; `progress(done, total)` is called after each step."""
        callback_argument(progress)  # before the first step, not at its end
        total = len(self.dates)
        while self.steps < total:
            self.step()
            if progress is not None:
                progress(self.steps, total)
        return self.result()

    def result(self) -> RunResult:
        """The RunResult of the steps run so far: the whole run after `run()` or the last `step()`, else the
        first steps only (`result_so_far`), which `write_run` refuses to write as a run. UsageError before the
        first step, or after a step interrupted part way."""
        self._refuse_if_interrupted()
        if self.steps == 0:
            raise UsageError("no step has run yet: call model.step() (one date) or model.run() first")
        whole = super().result()
        return whole if self.steps >= len(self.dates) else result_so_far(whole, self.steps)


def _time_units(value: object, name: str) -> float:
    """A number of time units (int or float, Python's or numpy's; not a bool, not NaN) as a float (an int too
    large for one is infinite); UsageError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(f"{name}: give a number of time units (one a step), not {value!r}")
    real = cast(float, value)  # numbers.Real: compares and converts as a float does
    try:
        number = float(real)
    except OverflowError:  # an int beyond a float
        number = math.inf if real > 0 else -math.inf
    if math.isnan(number):
        raise UsageError(f"{name}: give a number of time units (one a step), not {value!r}")
    return number


def _reposition(agents: list) -> None:
    """A queue was compacted: its agents now stand at positions 0, 1, ..."""
    for pos, agent in enumerate(agents):
        agent.queue_pos = pos


def run(scenario: Scenario, seed: int | None = None,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run a scenario once: the single entry point used by the CLI, sweeps and calibration. `scenario` is a
    Scenario (`sim.load_scenario(PATH)`), `seed` None (the scenario's) or an integer >= 0, `progress` None or a
    callback(done, total); anything else is a UsageError naming the argument."""
    return BorderModel(scenario, rng=seed_argument(seed)).run(progress=callback_argument(progress))
