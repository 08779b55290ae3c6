"""AI-factory planner: sites, power, chips and cooling at the lowest cost per delivered token."""

__all__ = ["Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # imported on first use, so that the console script (optimizer.entry) starts, and catches a
    # Ctrl-C, before the model stack (pandas, geopandas, Pyomo) is loaded
    if name in __all__:
        from optimizer import scenario

        return getattr(scenario, name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
