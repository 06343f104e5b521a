"""`DashboardModel`: the Mesa engine (`BorderModel`) over a scenario file with the dashboard's lever values, and
the run so far in the shape the plots read (`RunData`).

Mesa's SolaraViz builds a new model with the page's parameter values on Reset, so the levers are keyword
arguments of the model: their names are the levers' dotted paths (`sim.dashboard.levers`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.engine.core import run_result
from sim.engine.ledger import RunResult, result_so_far
from sim.engine.mesa.model import BorderModel
from sim.dashboard.levers import changed, with_levers
from sim.errors import InputError
from sim.loading import read_scenario
from sim.scenario.overrides import dump_scenario
from sim.scenario.schema import Scenario

__all__ = ["DashboardModel"]


class DashboardModel(BorderModel):
    """The Mesa engine over `path` with its `--set` `overrides` and then the `levers` (dotted path -> value)
    applied; the scenario's seed. Steps one date at a time and stops (running = False) at the end of the
    horizon, where further steps do nothing. `base` is the file with its overrides as read before (the page
    reads it once, when it opens, and builds every model of its Resets from it: a file edited meanwhile, or
    broken, changes nothing); None reads it now. Levers that make an invalid scenario are not applied: the model
    runs `base` and `refused` says why (None when the levers are applied)."""

    PAST_END_REFUSED = False

    def __init__(self, path: str, overrides: tuple[str, ...] = (), base: Scenario | None = None,
                 **levers: float | int | bool):
        # SolaraViz's Reset passes a mesa Scenario to any model whose __init__ takes **kwargs: not ours to use.
        levers.pop("scenario", None)
        self.path = str(path)
        self.overrides = tuple(overrides)
        self.levers = levers
        self._so_far: tuple[int, RunResult] | None = None
        # (steps completed, their edge counts, their repatriations), replaced as a whole once a step is over
        self._done: tuple[int, np.ndarray, np.ndarray] = (0, np.empty(0), np.empty(0))
        if base is None:
            base = read_scenario(path, overrides=list(self.overrides))
        self.base = base
        self.changed = changed(base, levers)  # (label, value) of the levers moved away from the file's values
        # Levers that make an invalid scenario (a policy switched on whose dates lie outside the horizon): the
        # page says why and runs the file's values (a traceback in the page left it without its buttons).
        self.refused: str | None = None
        try:
            scenario = with_levers(base, levers, source=f"{path} (dashboard)")
        except InputError as exc:
            scenario, self.refused, self.changed = base, exc.format(), []
        try:
            super().__init__(scenario)
        except InputError as exc:  # found while building (a draw of means or waits past what is stored)
            exc.path = exc.path or self.path  # the page names the file, as `bordersim run` does
            raise
        # The RunResult over the ledger's own arrays, which the steps fill in place: built (and the scenario
        # dumped for its sha256) once, then cut to the steps taken (`result_so_far`).
        self._whole = run_result(self)

    def step(self) -> None:
        """One date of the horizon (Mesa has counted it). Past its end nothing happens (PAST_END_REFUSED is off:
        SolaraViz's render interval may ask for more steps than are left)."""
        super().step()
        self._done = (self.steps, self.ledger.edges, self.ledger.repatriated_at)  # the ledger's copies

    @property
    def steps_done(self) -> int:
        """The steps completed. Mesa counts a step (`steps`) before it runs, so a page drawn while a step runs
        (Mesa's threaded play, or a render from another thread) shows the steps done, not the one under way."""
        return self._done[0]

    def scenario_yaml(self) -> str:
        """The scenario this model runs, seed and lever values written in: `bordersim run` on this text
        reproduces the model's counts (the text of scenario.resolved.yaml)."""
        return dump_scenario(self.spec.model_copy(update={"seed": self.seed}))

    def result_so_far(self) -> RunResult:
        """The RunResult of the steps completed so far (at least one): the ledger's rows of those steps and its
        edge and repatriation counts as they were when the last of them ended, so that a step under way never
        shows; computed once per completed step, however many panels ask."""
        steps, edges, repatriated = self._done
        so_far = self._so_far
        if so_far is None or so_far[0] != steps:
            now = dataclasses.replace(self._whole, edges=edges, repatriated_at=repatriated)
            so_far = self._so_far = (steps, result_so_far(now, steps))
        return so_far[1]
