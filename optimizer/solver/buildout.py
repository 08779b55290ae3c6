"""Solve a build-out with perfect foresight (one MILP over every planning year) or myopically.

Myopic (``buildout.foresight: myopic``): planning year by planning year, each step solves a build-out
of the years decided so far, the year being decided and ``look_ahead_years`` more (costed only to the
end of the last year it sees), with every earlier year held exactly as its own step left it (its
vintages, retirements and every variable of its block, so HiGHS's presolve removes it and a step
costs about one year's solve); the step keeps its own year's solution. The plan so made is the years
put together, costed over the whole horizon on the full model, so its cost compares with perfect
foresight's on the same terms: a myopic plan can never cost less than the perfect-foresight optimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import pyomo.environ as pyo
from pyomo.core.expr import identify_variables

from optimizer.inputs.blocks import block_relaxation
from optimizer.inputs.scenario import ObjectiveOptions, SolverOptions
from optimizer.model.buildout import BuildoutModel, annuities_never_rise, build_buildout, one_year_relaxation
from optimizer.solver.milp import SolveError, SolveResult, solve
from optimizer.solver.session import OPTIMAL, SolverSession

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


#: share of a perfect-foresight solve's time its myopic first plan may take, then the block LP's bound
#: and the year-by-year bound (measured on the default build-out: the myopic plan about 110 s of 2 cores,
#: the block LP about 40 s and within 0.2 % of it; the whole model's root LP about 6 minutes)
MYOPIC_START_SHARE = 0.35
BLOCK_BOUND_SHARE = 0.3
YEAR_BOUND_SHARE = 0.2
#: each year's one-year relaxation is solved to this share of the gap asked, so that the bound they
#: sum to is tight enough for the plan to be proven within the gap
YEAR_BOUND_GAP_SHARE = 0.5


def solve_buildout(
    model: BuildoutModel,
    solver: SolverOptions,
    objective: ObjectiveOptions,
    good_enough_musd_per_yr: float | None = None,
) -> BuildoutResult:
    """Solve ``model`` as its scenario's ``buildout.foresight`` says; the plan is written back into it.

    Perfect foresight under ``serve_demand``:

    1. the myopic plan (the whole model solved year by year, in ``MYOPIC_START_SHARE`` of the time);
       if one of its steps finds no plan in its time, the MILP of every year is solved as a
       one-year model is, in the time left (:func:`_without_start`);
    2. a lower bound on every plan: the block LP (:func:`block_lp_bound`), and if the myopic plan is not
       within the gap of it, the better of it and the bound year by year (:func:`year_by_year_bound`);
       a myopic plan within the gap of the bound is proven and the answer;
    3. otherwise HiGHS's MILP of every year at once, started from the myopic plan, improves on it and
       bounds it; the best bound is the plan's. If HiGHS has no better plan by the time limit, the
       myopic plan stands with that bound.

    ``good_enough_musd_per_yr``: a caller with a bound of its own (screening over years) stops at the
    first plan that costs no more, as :func:`~optimizer.solver.milp.solve` does.
    """
    if model.scenario.buildout.foresight == "myopic":
        return _myopic(model, solver, objective)
    if objective.mode != "serve_demand":
        return BuildoutResult(solve(model, solver, objective), "perfect")
    started = time.perf_counter()
    try:
        first = _myopic(model, replace(solver, time_limit_s=MYOPIC_START_SHARE * solver.time_limit_s), objective)
    except SolveError:
        # a step found no plan in its share of the start's time: HiGHS's MILP of every year looks
        # for one, by relax-and-fix first, in the time that is left
        return _without_start(model, solver, objective, good_enough_musd_per_yr, started)
    if good_enough_musd_per_yr is not None and first.result.cost_musd_per_yr <= good_enough_musd_per_yr:
        return BuildoutResult(first.result, "perfect", first.steps)  # the caller's bound proves it
    bound = block_lp_bound(model, replace(solver, time_limit_s=BLOCK_BOUND_SHARE * solver.time_limit_s))
    proven = _bounded(first.result, bound, solver.mip_gap, time.perf_counter() - started)
    if proven.status != "optimal":
        by_year = year_by_year_bound(
            model, replace(solver, time_limit_s=YEAR_BOUND_SHARE * solver.time_limit_s), objective
        )
        bound = max(bound or -math.inf, by_year or -math.inf)
        proven = _bounded(first.result, bound, solver.mip_gap, time.perf_counter() - started)
    if proven.status == "optimal":
        return BuildoutResult(proven, "perfect", first.steps)
    for var in [*model.vintages.added.values(), *model.vintages.retired.values()]:
        var.unfix()
    left = max(solver.time_limit_s - (time.perf_counter() - started), 1.0)
    try:
        result = solve(
            model, replace(solver, time_limit_s=left), objective, good_enough_musd_per_yr, start_from_values=True
        )
    except SolveError:
        # HiGHS found nothing in the time left, not even the start it was given: the myopic plan stands
        _hold(model, _decisions(model))
        return BuildoutResult(proven, "perfect", first.steps)
    best_bound = max(bound or -math.inf, result.cost_lower_bound_musd_per_yr or -math.inf)
    elapsed = time.perf_counter() - started
    return BuildoutResult(_bounded(result, best_bound, solver.mip_gap, elapsed), "perfect", first.steps)


def _without_start(
    model: BuildoutModel,
    solver: SolverOptions,
    objective: ObjectiveOptions,
    good_enough_musd_per_yr: float | None,
    started: float,
) -> BuildoutResult:
    """Perfect foresight when the myopic start has no plan: the MILP of every year solved as a
    one-year model is (relax-and-fix, then HiGHS's MILP) in the time left, with its own bound.
    Raises SolveError if it has no plan either."""
    left = max(solver.time_limit_s - (time.perf_counter() - started), 1.0)
    result = solve(model, replace(solver, time_limit_s=left), objective, good_enough_musd_per_yr)
    return BuildoutResult(result, "perfect")


def block_lp_bound(model: BuildoutModel, solver: SolverOptions) -> float | None:
    """A lower bound on the objective of every plan of ``model``: the LP relaxation of the same
    build-out on its scenario's block relaxation (:func:`~optimizer.inputs.blocks.block_relaxation`:
    each day's hours merged into blocks, a relaxation of every year's hourly model), solved by
    simplex (:meth:`~optimizer.solver.session.SolverSession.solve_lp`). Unlike the year-by-year
    bound it keeps the links between the years, so capacity bought early pays its own, dearer build
    year's price; about a quarter of the model's size. None if the LP is not solved to optimality
    in ``solver.time_limit_s``."""
    relaxed = build_buildout(block_relaxation(model.scenario))
    session = SolverSession.compile(relaxed, solver, relaxed=True)
    run = session.solve_lp(solver.time_limit_s, objective=session.cost)
    return run.objective_value + session.cost_offset if run.status == OPTIMAL else None


def year_by_year_bound(model: BuildoutModel, solver: SolverOptions, objective: ObjectiveOptions) -> float | None:
    """A lower bound on the objective of every plan of ``model``: each planning year's one-year
    relaxation (:func:`~optimizer.model.buildout.one_year_relaxation`) solved for its proven bound,
    weighted like the objective. None where it would not be a bound (an annuity rises from one build
    year to the next, or something can be bought early but not later) or a year has no bound in time.

    Why it bounds: in every year, what stands pays at least the year's own annuities for it (none
    rises over the build years), retired racks and what selling them recovers only add cost, and the
    links between the years only take plans away; each year's least cost alone is then at most its
    share of any plan's cost.
    """
    if not annuities_never_rise(model):
        return None
    deadline = time.perf_counter() + solver.time_limit_s
    gap = solver.mip_gap * YEAR_BOUND_GAP_SHARE
    total = 0.0
    for position, period in enumerate(model.years):
        share = max(deadline - time.perf_counter(), 0.0) / (len(model.years) - position)
        try:
            result = solve(
                one_year_relaxation(model.scenario, period, model.inputs),
                replace(solver, time_limit_s=share, mip_gap=gap),
                objective,
            )
        except SolveError:
            return None
        if result.cost_lower_bound_musd_per_yr is None:
            return None
        total += period.pv_weight * result.cost_lower_bound_musd_per_yr
    return total / sum(period.pv_weight for period in model.years)


def _bounded(result: SolveResult, bound: float | None, gap_asked: float, solve_s: float) -> SolveResult:
    """``result`` with ``bound`` as its lower bound (when it has one) and the gap and status that follow."""
    if bound is None or not math.isfinite(bound):
        return replace(result, status="time_limit_feasible", mip_gap=math.nan, solve_s=solve_s)
    bound = min(bound, result.cost_musd_per_yr)
    gap = (result.cost_musd_per_yr - bound) / abs(result.cost_musd_per_yr) if result.cost_musd_per_yr else 0.0
    return replace(
        result,
        status="optimal" if gap <= gap_asked else "time_limit_feasible",
        mip_gap=gap,
        cost_lower_bound_musd_per_yr=bound,
        solve_s=solve_s,
    )


def _myopic(model: BuildoutModel, solver: SolverOptions, objective: ObjectiveOptions) -> BuildoutResult:
    """Year by year: each step builds the years so far and its look-ahead, holds every earlier year
    exactly as its own step left it (vintages, retirements and every variable of its block), and keeps
    its own year's solution. The plan over the whole horizon is then those years put together."""
    options = model.scenario.buildout
    deadline = time.perf_counter() + solver.time_limit_s
    years = [period.year for period in model.years]
    added: dict[tuple, float] = {}
    retired: dict[tuple, float] = {}
    blocks: dict[int, dict[str, float]] = {}
    steps = []
    for position, year in enumerate(years):
        last = min(position + options.look_ahead_years, len(years) - 1)
        window = replace(options, planning_years=years[: last + 1], end_year=model.years[last].end)
        step = build_buildout(replace(model.scenario, buildout=window), model.inputs)
        _hold(step, (added, retired))
        for earlier in years[:position]:
            _put(step.blocks[earlier].model, blocks[earlier], fix=True)
            step.blocks[earlier].model.deactivate()  # a settled year is no longer a set of rows
        _drop_settled_rows(step.model)
        # each step shares the time left equally with the steps after it
        share = max(deadline - time.perf_counter(), 0.0) / (len(years) - position)
        result = solve(step, replace(solver, time_limit_s=share), objective)
        steps.append((year, result))
        blocks[year] = _values(step.blocks[year].model)
        added.update({i: pyo.value(v) for i, v in step.vintages.added.items() if i[1] == year})
        retired.update({i: pyo.value(v) for i, v in step.vintages.retired.items() if i[2] == year})
    for year in years:
        _put(model.blocks[year].model, blocks[year], fix=False)
    _hold(model, (added, retired))
    return BuildoutResult(_whole_horizon(model, steps), "myopic", steps)


def _values(block: pyo.Block) -> dict[str, float]:
    """Every variable's value in a block, by its name within the block."""
    return {
        var.getname(fully_qualified=True, relative_to=block): var.value
        for var in block.component_data_objects(pyo.Var, descend_into=True)
        if var.value is not None
    }


def _put(block: pyo.Block, values: dict[str, float], fix: bool) -> None:
    """Set (and with ``fix``, hold) a block's variables at ``values`` (a block of the same year)."""
    for var in block.component_data_objects(pyo.Var, descend_into=True):
        value = values.get(var.getname(fully_qualified=True, relative_to=block))
        if value is None:
            value = 0.0  # no row used it: zero, as a solve writes it back
        var.set_value(value, skip_validation=True)
        if fix:
            var.fix()


def _drop_settled_rows(model: pyo.ConcreteModel) -> None:
    """Deactivate the build-out's own rows whose every variable is held (the links of settled years):
    they only restate the past, and held at values a solve left, to its tolerances, the compiler would
    reject them as infeasible constants."""
    for row in model.component_data_objects(pyo.Constraint, active=True, descend_into=False):
        if all(var.fixed for var in identify_variables(row.body)):
            row.deactivate()


def _whole_horizon(model: BuildoutModel, steps: list[tuple[int, SolveResult]]) -> SolveResult:
    """The myopic plan's result over the whole horizon: its objective evaluated on the full model;
    proven within the steps' gaps year by year, not against the perfect-foresight optimum."""
    results = [result for _, result in steps]
    proven = all(result.status == "optimal" for result in results)
    return SolveResult(
        status="optimal" if proven else "time_limit_feasible",
        highs_status=results[-1].highs_status,
        mip_gap=max(result.mip_gap for result in results),
        cost_musd_per_yr=float(pyo.value(model.core.objective_cost)),
        delivered_ptok_per_yr=float(pyo.value(model.core.objective_tokens)),
        handoff_s=sum(result.handoff_s for result in results),
        solve_s=sum(result.solve_s for result in results),
        size=results[-1].size,
        plan_source="myopic",
    )


def _decisions(model: BuildoutModel) -> Decisions:
    """The vintages and retirements ``model``'s variables hold now."""
    added = {i: pyo.value(v) for i, v in model.vintages.added.items()}
    return added, {i: pyo.value(v) for i, v in model.vintages.retired.items()}


def _hold(model: BuildoutModel, decisions: Decisions) -> None:
    """Fix the vintages and retirements of ``model`` that earlier steps decided."""
    added, retired = decisions
    for index, value in added.items():
        if index in model.vintages.added:
            var = model.vintages.added[index]
            var.fix(round(value) if var.is_integer() else max(value, 0.0))  # a solve's -1e-11 is a zero
    for index, value in retired.items():
        if index in model.vintages.retired:
            model.vintages.retired[index].fix(max(value, 0.0))
