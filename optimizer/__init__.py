"""AI-factory planner: sites, power, chips and cooling at the lowest cost per delivered token.

The package follows the data: ``inputs`` (scenario → derived inputs) → ``model`` (one module per
layer) → ``solve`` (HiGHS) → ``verify`` and ``outputs`` (plan tables) → ``analysis`` (diagnosis,
screening, re-solves, sweeps) → ``cli``. The names below are the entrance from Python; each is
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: the public entrance: name -> module that defines it
API = {
    "Scenario": "optimizer.inputs.scenario",
    "ScenarioError": "optimizer.inputs.scenario",
    "load_scenario": "optimizer.inputs.scenario",
    "build_model": "optimizer.model",
    "solve": "optimizer.solver.milp",
    "SolveError": "optimizer.solver.milp",
    "build_plan": "optimizer.outputs.plan",
    "verify_plan": "optimizer.verify",
    "WhatIf": "optimizer.analysis.resolve",
    # a build-out over planning years (docs/BUILDOUT.md)
    "build_buildout": "optimizer.model.buildout",
    "solve_buildout": "optimizer.solver.buildout",
    "build_buildout_plan": "optimizer.outputs.buildout",
    "verify_buildout": "optimizer.verify.buildout",
}
__all__ = sorted(API)


def __getattr__(name: str) -> Any:
    # imported on first use, so that the console script (optimizer.entry) starts, and catches a
    # Ctrl-C, before the model stack (pandas, geopandas, Pyomo) is loaded
    if name in API:
        return getattr(importlib.import_module(API[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
