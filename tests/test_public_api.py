"""The package's public names: a literal __all__, listed by dir(sim), each resolving, imported lazily."""

from __future__ import annotations

import subprocess
import sys

import sim

NOTEBOOK_NAMES = {"load_scenario", "run", "RunResult", "write_run", "sweep", "load_sweep", "calibrate",
                  "sensitivity", "compare", "effects", "load_observed", "BorderModel"}


def test_all_lists_what_a_notebook_needs_and_dir_shows_it():
    assert NOTEBOOK_NAMES <= set(sim.__all__)
    assert set(sim.__all__) <= set(dir(sim))
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    assert callable(sim.calibrate) and callable(sim.sensitivity) and sim.sensitivity is sim.run_sensitivity
    from sim.analysis.compare import compare

    assert sim.compare is compare  # B - A of two runs or sweep points (docs/compare.md)
    from sim.analysis.effects.run import run_effects

    assert sim.effects is run_effects  # policy effects over a posterior (docs/effects.md)


def test_importing_sim_imports_no_engine():
    code = "import sys, sim; print(sorted(m for m in ('mesa', 'pandas', 'sim.engine.mesa.model') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
