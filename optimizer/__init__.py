"""AI-factory planner: sites, power, chips and cooling at the lowest cost per delivered token."""

from optimizer.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"
