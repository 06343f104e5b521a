"""The interactive dashboard: Mesa's SolaraViz over the Mesa engine (`bordersim dashboard`, docs/dashboard.md).

- `levers`: the main levers of a scenario (controls on each route's labelled edge, transit arrest hazards, brokers'
  capacity and fee, each dated policy on or off) and how their values become a scenario (`--set` overrides);
- `model`: `DashboardModel`, the Mesa engine's `BorderModel` built from a scenario file with lever values, and the
  run so far as the plots' `RunData`;
- `panels`: the figures and the totals table, drawn from the run so far;
- `app`: the SolaraViz page (imports solara: the `bordersim[dashboard]` extra).

Only `app` needs solara; the rest is importable (and tested) without it.
"""

from __future__ import annotations

__all__ = ["OVERRIDES_ENV", "SCENARIO_ENV"]

# How `bordersim dashboard` hands the scenario to the page `solara run` serves (`app.Page`): its path, and its
# `--set` items as a JSON list.
SCENARIO_ENV = "BORDERSIM_DASHBOARD_SCENARIO"
OVERRIDES_ENV = "BORDERSIM_DASHBOARD_SET"
