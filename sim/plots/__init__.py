"""Figures and reports of run, sweep, sensitivity, calibration and effects directories (`bordersim plot`,
`bordersim report`).

Plots read only what `bordersim run`, `sweep`, `sensitivity`, `calibrate` and `effects` wrote to disk, never the
live model. One module per figure family (run_figures, route_map, sweep_figures, policy_figures, sensitivity,
calibration, effects)
sharing style; detect reads and checks directories, api makes and writes figures, report writes the HTML report;
every file is written atomically and reproducibly (style.save, docs/plots.md).
Names below are imported lazily (matplotlib loads on first use).
"""

from importlib import import_module

_EXPORTS = {
    "make_figures": "sim.plots.api",
    "build_figures": "sim.plots.api",
    "FIGURE_NAMES": "sim.plots.api",
    "write_report": "sim.plots.report",
    "report_html": "sim.plots.report",
    "load_run": "sim.directories",
    "load_sweep_dir": "sim.directories",
}

__all__ = ["FIGURE_NAMES", "build_figures", "load_run", "load_sweep_dir", "make_figures", "report_html",
           "write_report"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim.plots' has no attribute {name!r}")
