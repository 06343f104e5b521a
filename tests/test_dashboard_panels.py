"""The dashboard's panels drawn without a server or browser (the page itself: test_dashboard.py)."""

from __future__ import annotations

import sim
from conftest import ROOT


def test_the_waiting_panels_time_axis_is_labelled_by_year():
    """On the toy's 60 months matplotlib's own date labels ran together ("2000-012000-07...", a probe): the
    panel's axis now has the year ticks of every other time axis (sim.plots.style.date_axis)."""
    from sim.dashboard.panels import WaitingView

    result = sim.run(sim.load_scenario(ROOT / "scenarios" / "toy.yaml", overrides=["population.size=2000"]))
    view = WaitingView(result.dates, [], [])
    view.png(result)
    labels = [t.get_text() for t in view.ax.get_xticklabels() if t.get_text()]
    assert labels == ["2000", "2001", "2002", "2003", "2004"], labels
