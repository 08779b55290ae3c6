"""Solve a build-out with perfect foresight (one MILP over every planning year) or myopically.

Myopic (``buildout.foresight: myopic``): planning year by planning year, each step solves a build-out
of the years decided so far, the year being decided and ``look_ahead_years`` more (costed only to the
end of the last year it sees), with every earlier year's vintages and retirements held at what the
earlier steps chose; the step keeps its own year's decisions. The plan so made is then costed over
the whole horizon, its vintages held, so its cost compares with perfect foresight's on the same
terms: a myopic plan can never cost less than the perfect-foresight optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import pyomo.environ as pyo

from optimizer.inputs.scenario import ObjectiveOptions, SolverOptions
from optimizer.model.buildout import BuildoutModel, build_buildout
from optimizer.solver.milp import SolveResult, solve

#: decisions a myopic step hands on: vintage index -> value (vintage_added, then vintage_retired)
Decisions = tuple[dict[tuple, float], dict[tuple, float]]


@dataclass
class BuildoutResult:
    """The solve of a build-out: the plan's result over the whole horizon and, when myopic, each step."""

    result: SolveResult
    """the plan over every planning year (myopic: its vintages held, costed over the whole horizon)"""
    foresight: str
    steps: list[tuple[int, SolveResult]] = field(default_factory=list)
    """myopic only: (planning year decided, that step's solve)"""


def solve_buildout(model: BuildoutModel, solver: SolverOptions, objective: ObjectiveOptions) -> BuildoutResult:
    """Solve ``model`` as its scenario's ``buildout.foresight`` says; the plan is written back into it."""
    options = model.scenario.buildout
    if options.foresight == "perfect":
        return BuildoutResult(solve(model, solver, objective), "perfect")
    deadline = time.perf_counter() + solver.time_limit_s
    years = [period.year for period in model.years]
    added: dict[tuple, float] = {}
    retired: dict[tuple, float] = {}
    steps = []
    for position, year in enumerate(years):
        last = min(position + options.look_ahead_years, len(years) - 1)
        window = replace(options, planning_years=years[: last + 1], end_year=model.years[last].end)
        step = build_buildout(replace(model.scenario, buildout=window))
        _hold(step, (added, retired))
        # each step, and the final costing, shares what time is left equally
        share = max(deadline - time.perf_counter(), 0.0) / (len(years) - position + 1)
        result = solve(step, replace(solver, time_limit_s=share), objective)
        steps.append((year, result))
        added.update({i: pyo.value(v) for i, v in step.vintages.added.items() if i[1] == year})
        retired.update({i: pyo.value(v) for i, v in step.vintages.retired.items() if i[2] == year})
    _hold(model, (added, retired))
    final = solve(model, replace(solver, time_limit_s=max(deadline - time.perf_counter(), 1.0)), objective)
    return BuildoutResult(final, "myopic", steps)


def _hold(model: BuildoutModel, decisions: Decisions) -> None:
    """Fix the vintages and retirements of ``model`` that earlier steps decided."""
    added, retired = decisions
    for index, value in added.items():
        if index in model.vintages.added:
            model.vintages.added[index].fix(round(value) if model.vintages.added[index].is_integer() else value)
    for index, value in retired.items():
        if index in model.vintages.retired:
            model.vintages.retired[index].fix(value)
