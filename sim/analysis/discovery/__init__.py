"""Scenario discovery (docs/discovery.md): over a design of uncertain parameters and policy levers, the box of
inputs where an outcome meets a condition, found by PRIM (EMA Workbench, extra bordersim[discovery]).

A discovery spec names the parameters with their ranges (`sim.experiments.parameters`), an LHS or Sobol design,
one outcome in the sensitivity outcome language (`arrived(2020..2024)`, `killed(dmz)`, `share(west_sea +
east_sea)`), a condition (below / above a value or a quantile) and PRIM settings. The design runs through the sweep
engine into OUT/sweep (parallel, Dask, resumable); the outcome is averaged over each point's replicates, the
condition flags the cases of interest, and PRIM (`boxes.find_box`) returns the peeling trajectory and the chosen
box, written as OUT/points.csv, trajectory.csv, box.csv and summary.txt.
"""

from sim.analysis.discovery.boxes import EXTRA, PrimResult, find_box, load_prim
from sim.analysis.discovery.run import DiscoveryResult, run_discovery
from sim.analysis.discovery.spec import LoadedDiscovery, load_discovery

__all__ = ["EXTRA", "DiscoveryResult", "LoadedDiscovery", "PrimResult", "find_box", "load_discovery", "load_prim",
           "run_discovery"]
