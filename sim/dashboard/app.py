"""The SolaraViz page over a scenario file (`bordersim dashboard SCENARIO`, docs/dashboard.md).

`page(path, overrides)` builds the page: Mesa's SolaraViz with the scenario's levers as model parameters
(sliders and switches, `sim.dashboard.levers`), Mesa's step / play / reset controls, and the panels of
`sim.dashboard.panels` as matplotlib components on two pages (tabs): the route network, arrivals per year and
the totals; the female share, outcome shares and people waiting. As everywhere in SolaraViz, changed parameters
take effect at Reset, which builds a new `DashboardModel` with the new values from the scenario the page read
when it opened.

`Page` is the page `solara run` serves: the scenario comes from the environment (`sim.dashboard.SCENARIO_ENV`,
and `OVERRIDES_ENV` as a JSON list of `--set` items), which `bordersim dashboard` sets. Each browser session builds
its own model.
"""

from __future__ import annotations

import json
import os
from html import escape

import numpy as np
import solara
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import update_counter

from sim.dashboard import OVERRIDES_ENV, SCENARIO_ENV, panels
from sim.dashboard.levers import Lever, levers_of
from sim.dashboard.model import DashboardModel
from sim.errors import InputError
from sim.outcomes import TOTAL_KEYS
from sim.plots.style import OUTCOME_LABELS

__all__ = ["Page", "model_params", "page"]



def _parameter(lever: Lever) -> Slider | dict:
    if lever.kind == "bool":
        return {"type": "Checkbox", "value": lever.value, "label": lever.label}
    dtype = int if lever.kind == "int" else float
    return Slider(lever.label, value=lever.value, min=lever.low, max=lever.high, step=lever.step, dtype=dtype)


def model_params(model: DashboardModel) -> dict:
    """SolaraViz's model parameters: the file, its overrides and the scenario read from them (fixed), then one
    input per lever, keyed by the lever's dotted path (DashboardModel's keyword arguments)."""
    params: dict = {"path": model.path, "overrides": model.overrides, "base": model.base}
    params.update({lever.path: _parameter(lever) for lever in levers_of(model.spec)})
    return params


def _panel(make, name: str):
    """A SolaraViz component showing `view.png(result)` of the run so far, where `view = make(model)` is built
    once per model; drawn again only when the model or its step changes (not when a parameter is moved)."""

    @solara.component
    def Panel(model: DashboardModel):
        update_counter.get()  # SolaraViz bumps it after each step
        view = solara.use_memo(lambda: make(model), [model])
        image = solara.use_memo(lambda: view.png(model.result_so_far()) if model.steps_done else b"",
                                [model, model.steps_done])
        if not image:
            return solara.Info("Press Step or ▶ to start the run.")
        return solara.Image(image, format="png")

    Panel.__name__ = name
    return Panel


@solara.component
def Totals(model: DashboardModel):
    """Current date and the totals so far by route, the conservation identity, and the scenario download."""
    update_counter.get()
    n = len(model.dates)
    with solara.Column():
        if model.refused:
            solara.Error(f"The levers were not applied (this run has the values of {os.path.basename(model.path)}):"
                         f" {model.refused}. Move them back, or switch the policy off, and press Reset.")
        if not model.steps_done:
            solara.Text(f"{model.spec.name}: step 0 of {n} (nothing run yet)")
        else:
            result = model.result_so_far()  # the step text, table and identity all of this one result
            rows = panels.totals_table(result)
            keys = [k for k in (*TOTAL_KEYS, "initial_stock") if k in rows[0][1]]
            left, right = panels.identity(rows[0][1])
            check = "holds" if left == right else "DOES NOT HOLD"
            start = " + initial stock" if "initial_stock" in keys else ""
            solara.Text(f"{model.spec.name}: step {len(result.dates)} of {n}, {result.dates[-1]:%Y-%m}")
            solara.HTML(tag="table", unsafe_innerHTML=_table_html(rows, keys), style=TABLE_STYLE)
            solara.Text(f"set out{start} = {left:,}; arrived + caught + killed + repatriated + turned back + in "
                        f"transit = {right:,}: the identity {check}")
        moved = ", ".join(f"{label} = {value}" for label, value in model.changed)
        solara.Text(f"Levers changed from {os.path.basename(model.path)} in this run: {moved or 'none'}. A slider "
                    "moved since takes effect at Reset, and only then goes into the download.")
        solara.FileDownload(lambda: model.scenario_yaml().encode(), filename=f"{model.spec.name}-dashboard.yaml",
                            label="Download this scenario (YAML)", mime_type="application/x-yaml")


TABLE_STYLE = "border-collapse: collapse; text-align: right; font-variant-numeric: tabular-nums"


def _table_html(rows: list[tuple[str, dict[str, int]]], keys: list[str]) -> str:
    """The totals as the rows of an HTML table (a header, then one row per name), the names escaped. Not
    solara.Markdown: it asks the server for KaTeX, which Solara's server fetches from a CDN on the internet."""
    cell = "padding: 2px 8px; border-bottom: 1px solid #ddd"
    head = "".join(f'<th style="{cell}">{escape(OUTCOME_LABELS.get(k, k.replace("_", " ")))}</th>' for k in keys)
    body = "".join(f'<tr><td style="{cell}; text-align: left">{escape(name)}</td>'
                   + "".join(f'<td style="{cell}">{row[k]:,}</td>' for k in keys) + "</tr>" for name, row in rows)
    return f'<tr><th style="{cell}"></th>{head}</tr>{body}'


# (component, page): SolaraViz draws only the page (tab) on view.
PANELS = [
    (_panel(lambda m: panels.NetworkView(m.spec), "Network"), 0),
    (_panel(lambda m: panels.ArrivalsView(_years(m), m.spec.observed), "Arrivals"), 0),
    (Totals, 0),
    (_panel(lambda m: panels.FemaleShareView(_years(m), m.spec.observed), "FemaleShare"), 1),
    (_panel(lambda m: panels.OutcomesView(m.graph.routes, [g.name for g in m.spec.population.groups]),
            "Outcomes"), 1),
    (_panel(lambda m: panels.WaitingView(m.dates, m.broker_nodes, m.graph.node_ids), "Waiting"), 1),
]


def _years(model: DashboardModel) -> np.ndarray:
    """The calendar year of each date of the horizon."""
    return np.array([d.year for d in model.dates])

def page(path: str, overrides: tuple[str, ...] = (), model: DashboardModel | None = None):
    """The SolaraViz element for the scenario file at `path` (a model is built unless given)."""
    model = model or DashboardModel(path, overrides)
    return SolaraViz(model, components=PANELS, model_params=model_params(model),
                     name=f"bordersim: {model.spec.name}", play_interval=50)


@solara.component
def Page():
    """The page `solara run` serves: the scenario of the environment, read when the page opens (a message, not a
    traceback, if the file went bad since the server started), and a model per browser session."""
    path = os.environ.get(SCENARIO_ENV, "")
    overrides = tuple(json.loads(os.environ.get(OVERRIDES_ENV) or "[]"))
    model = solara.use_memo(lambda: _first_model(path, overrides), [])
    if isinstance(model, str):
        return solara.Error(model)
    return page(path, overrides, model)


def _first_model(path: str, overrides: tuple[str, ...]) -> DashboardModel | str:
    """The page's first model, or why there is none (the message of bad input)."""
    if not path:
        return (f"no scenario: start the dashboard with `bordersim dashboard SCENARIO` (or set {SCENARIO_ENV})")
    try:
        return DashboardModel(path, overrides)
    except InputError as exc:
        return f"error: {exc.format()} (mend the file, then reload the page)"
