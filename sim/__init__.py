"""bordersim: agent-based simulation of departures along a route network under border policies."""

from sim.model import BorderModel, run
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["BorderModel", "Scenario", "ScenarioError", "load_scenario", "run"]
