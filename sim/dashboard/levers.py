"""The dashboard's levers: the scenario values a user changes with sliders and switches.

A lever is a dotted `--set` path of the scenario (`network.edges.dmz.controls.mines`) with a readable label and a
range. The levers of a scenario are, in this order:

- for each edge that carries a route label (the edge that names a route, e.g. `dmz`, `tumen_crossing`), each
  control that is not zero on it (guards, fence, mines, surveillance, patrol), in [0, 1];
- for each transit node, its arrest hazard per month, from 0 to min(1, max(0.05, 4 x its value)) (a hazard is a
  probability);
- for each transit node with brokers, their capacity (passages per month, 0 to max(10, 4 x it)) and base fee
  (USD, 0 to 5 x it);
- each dated policy, on or off (`policies.<name>.enabled`).

Their values are applied as overrides to the scenario as loaded, and the result is validated again: the same
scenario `bordersim run FILE --set PATH=VALUE ...` would run (`apply_levers`). A slider moves on the grid
low + k x step, its step the coarsest of the lever's usual step and the decimal steps 5, 2, 1 x 10^k below it (at
most MAX_POINTS points) on which the file's value lies, so that it shows the file's value and every value it
shows is the value it runs (China's 23.6 passages a month move in steps of 0.2). A file value on no such grid
(1e-7 on a slider from 0 to 1, or a value of many digits) is shown at the nearest point of the usual grid, and a
lever still at that point keeps the file's exact value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sim.loading import read_scenario, validate_dict
from sim.scenario.dates import parse_month
from sim.scenario.overrides import scenario_to_dict, set_path
from sim.scenario.schema import CONTROLS, Scenario

__all__ = ["Lever", "apply_levers", "changed", "levers_of", "with_levers"]


@dataclass(frozen=True)
class Lever:
    """One slider (kind "float" or "int") or switch (kind "bool") over the scenario value `exact` at `path`;
    `value` is where the slider shows it, the nearest point low + k x step (`exact` itself for a switch)."""

    path: str
    label: str
    kind: str
    exact: float | int | bool
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0

    @property
    def value(self) -> float | int | bool:
        if self.kind == "bool":
            return self.exact
        # the browser's slider (Vuetify) snaps with JavaScript's Math.round, which rounds halves up
        point = self.low + math.floor((self.exact - self.low) / self.step + 0.5) * self.step
        return int(point) if self.kind == "int" else _clean(float(point))


def _top(value: float, factor: float, floor: float) -> float:
    return max(floor, factor * value)


MAX_POINTS = 5000  # grid points a slider may have, so that a file's value such as 0.00205 can lie on its grid


def _steps(step: float) -> Iterator[float]:
    """`step`, then the decimal steps 5, 2, 1 x 10^k below it, largest first (0.05: 0.02, 0.01, 0.005, ...)."""
    yield step
    k = math.floor(math.log10(step))
    while True:
        for m in (5, 2, 1):
            candidate = float(f"{m}e{k}")  # exact decimal spelling: 2e-05, not 2 * 10.0 ** -5
            if candidate < step:
                yield candidate
        k -= 1


def _lever(path: str, label: str, exact: float, low: float, high: float, step: float) -> Lever:
    """A slider over `exact` in [low, high], on the coarsest grid low + k x s, s = `step` or a decimal step 5, 2,
    1 x 10^k below it (`_steps`), with at most MAX_POINTS points, on which `exact` lies (to a relative 1e-12, the
    rounding of k x s): the slider then shows the file's value itself. `step` when there is none (a value such
    as 1e-7 on a slider from 0 to 1). A whole-number lever (step 1, a whole exact) is an "int"."""
    chosen = step
    for s in _steps(step):
        if (high - low) / s > MAX_POINTS:
            break
        if abs(low + round((exact - low) / s) * s - exact) <= 1e-12 * abs(exact):
            chosen = s
            break
    whole = chosen == 1 and float(exact).is_integer() and float(low).is_integer()
    if whole:
        return Lever(path, label, "int", int(exact), int(low), int(high), 1)
    return Lever(path, label, "float", exact, float(low), float(high), chosen)


def levers_of(scenario: Scenario) -> list[Lever]:
    """The levers of a scenario, at its values (the order of the module docstring)."""
    out: list[Lever] = []
    for e in scenario.network.edges:
        if e.route is None:
            continue
        for c in CONTROLS:
            v = getattr(e.controls, c)
            if v > 0:
                out.append(_lever(f"network.edges.{e.id}.controls.{c}", f"{e.route}: {c}", v, 0.0, 1.0, 0.05))
    for n in scenario.network.nodes:
        if n.kind != "transit":
            continue
        h = n.arrest_hazard
        out.append(_lever(f"network.nodes.{n.id}.arrest_hazard", f"{n.id}: arrest hazard per month", h, 0.0,
                          min(1.0, _top(h, 4, 0.05)), 0.001))
        if n.brokers is not None:
            cap = n.brokers.capacity
            out.append(_lever(f"network.nodes.{n.id}.brokers.capacity", f"{n.id}: broker passages per month", cap,
                              0, round(_top(cap, 4, 10)), 1))
            fee = n.brokers.fee
            out.append(_lever(f"network.nodes.{n.id}.brokers.fee", f"{n.id}: broker base fee (USD)", fee, 0.0,
                              _top(fee, 5, 1000), 100.0))
    for p in scenario.policies:
        span = f"from {p.start}" if p.end is None else f"{p.start} to {_last_month(p.end)}"
        out.append(Lever(f"policies.{p.name}.enabled", f"policy {p.name} ({span})", "bool", p.enabled))
    return out


def apply_levers(path: str | Path, overrides: list[str] | tuple[str, ...] = (),
                 values: dict[str, float | int | bool] | None = None) -> Scenario:
    """The scenario file at `path` with its `--set` overrides, then the levers' values (path -> value) set in
    it, validated again."""
    return with_levers(read_scenario(path, overrides=list(overrides)), values or {}, source=f"{path} (dashboard)")


def with_levers(base: Scenario, values: dict[str, float | int | bool], *, source: str) -> Scenario:
    """`base` with the levers' values (path -> value) set in it, validated again (errors name `source`). A
    lever at the point where its slider shows the base's value keeps the base's exact value."""
    shown = {lever.path: lever.value for lever in levers_of(base)}
    moved = {key: value for key, value in values.items()
             if key not in shown or _clean(value) != shown[key]}
    if not moved:
        return base
    data = scenario_to_dict(base)
    for key, value in moved.items():
        set_path(data, key, _clean(value), source=source)
    return validate_dict(data, path=source)


def changed(base: Scenario, values: dict[str, float | int | bool]) -> list[tuple[str, float | int | bool]]:
    """(label, value) of the levers whose value differs from the base scenario's, in lever order."""
    return [(lever.label, _clean(values[lever.path])) for lever in levers_of(base)
            if lever.path in values and _clean(values[lever.path]) != lever.value]


def _clean(value: float | int | bool) -> float | int | bool:
    """A slider's float as written in YAML: rounded to 9 decimals (0.30000000000000004 -> 0.3)."""
    return round(value, 9) if isinstance(value, float) else value


def _last_month(end: str) -> str:
    """The last month a policy ending at `end` (exclusive, docs/scenario.md) is in force, as the flows figure
    labels it: 2003-01 -> 2002-12."""
    year, month = parse_month(end)
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"
