"""Hand a built model to HiGHS and solve it, including the cost-per-token ratio objective.

Hand-off: Pyomo's ``LinearStandardFormCompiler`` turns the model into sparse matrices in one
pass, and ``highspy.Highs.passModel`` takes them whole. Measured on the default scenario this is
several times faster than Pyomo's in-memory HiGHS interface, which adds columns one at a time
(see ``benchmarks/handoff.py``). The compiled matrices keep two objective rows, cost and delivered
tokens, so a Dinkelbach step only changes column costs; the previous plan is the next warm start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.model import FactoryModel
from optimizer.scenario import ObjectiveOptions, SolverOptions
from optimizer.stats import model_stats
from optimizer.units import TOKENS_PER_PTOK, usd_per_mtok

INF = highspy.kHighsInf
#: share of the time limit the first-plan heuristic may use
HEURISTIC_SHARE = 0.4
#: the restricted MILP of the first plan is solved to this share of the requested gap
RESTRICTED_GAP_SHARE = 0.1
#: the first Dinkelbach step only needs a good plan: its gap and share of the time limit
FIRST_STEP_GAP = 0.05
FIRST_STEP_TIME_SHARE = 0.25


#: after Ctrl-C, how long HiGHS may take to notice its interrupt before the caller moves on anyway
INTERRUPT_GRACE_S = 2.0


class SolveError(RuntimeError):
    """The solver found no plan: the scenario is infeasible, or time ran out before a first plan."""

    def __init__(self, message: str, size: ModelSize, infeasible: bool = False) -> None:
        super().__init__(message)
        self.size = size  # the model without a plan: a benchmark still reports its size
        self.infeasible = infeasible

    def __reduce__(self):
        # keeps size and reason across processes (a sweep or benchmark worker hands errors back)
        return SolveError, (str(self), self.size, self.infeasible)


@dataclass
class ModelSize:
    variables: int
    integers: int
    constraints: int
    nonzeros: int


@dataclass
class DinkelbachStep:
    iteration: int
    lambda_usd_per_mtok: float
    cost_musd_per_yr: float
    delivered_ptok_per_yr: float
    residual_musd: float
    mip_gap: float
    seconds: float


@dataclass
class SolveResult:
    status: str
    """optimal (within the MIP gap) or time_limit_feasible (a plan, not proven within the gap)"""
    highs_status: str
    mip_gap: float
    cost_musd_per_yr: float
    delivered_ptok_per_yr: float
    handoff_s: float
    solve_s: float
    size: ModelSize
    iterations: list[DinkelbachStep] = field(default_factory=list)
    lambda_lower_bound_usd_per_mtok: float | None = None
    cost_lower_bound_musd_per_yr: float | None = None
    """HiGHS's proven lower bound on the cost (serve_demand); no plan of this model costs less"""
    numerics_warnings: list[str] = field(default_factory=list)
    """constraint or variable families whose coefficients left the documented range, with their tables"""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CompiledModel:
    highs: highspy.Highs
    columns: list
    cost: np.ndarray
    cost_offset: float
    tokens: np.ndarray
    tokens_offset: float
    size: ModelSize
    handoff_s: float
    objective_rows: dict = field(default_factory=dict)
    """every compiled objective by name -> (coefficients, offset): lets a re-solve reprice columns"""
    row_index: dict = field(default_factory=dict)
    """constraint data -> its row in the matrix: lets a re-solve move a right-hand side"""


def compile_to_highs(fm: FactoryModel, options: SolverOptions) -> CompiledModel:
    """Compile the Pyomo model to matrices and pass them to a new HiGHS instance."""
    started = time.perf_counter()
    m = fm.model
    repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    columns = repn.columns
    objective_row = {id(obj): i for i, obj in enumerate(repn.objectives)}
    c = repn.c.toarray()
    cost = c[objective_row[id(m.objective_cost)]]
    tokens = c[objective_row[id(m.objective_tokens)]] if id(m.objective_tokens) in objective_row else np.zeros(len(columns))
    offsets = np.asarray(repn.c_offset, dtype=float).ravel()
    cost_offset = float(offsets[objective_row[id(m.objective_cost)]])
    tokens_offset = float(offsets[objective_row[id(m.objective_tokens)]]) if id(m.objective_tokens) in objective_row else 0.0

    rhs = np.asarray(repn.rhs, dtype=float)
    kind = np.fromiter((row[1] for row in repn.rows), dtype=np.int8, count=len(repn.rows))
    row_lower = np.where(kind == 1, -INF, rhs)  # 1: body <= rhs, -1: body >= rhs, 0: equality
    row_upper = np.where(kind == -1, INF, rhs)
    col_lower = np.fromiter((-INF if v.lb is None else v.lb for v in columns), dtype=float, count=len(columns))
    col_upper = np.fromiter((INF if v.ub is None else v.ub for v in columns), dtype=float, count=len(columns))
    integer = np.fromiter((v.is_integer() for v in columns), dtype=bool, count=len(columns))

    A = repn.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = len(columns)
    lp.num_row_ = len(rhs)
    lp.col_cost_ = cost
    lp.col_lower_ = col_lower
    lp.col_upper_ = col_upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.log))
    h.setOptionValue("threads", int(options.threads))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.passModel(lp)
    size = ModelSize(len(columns), int(integer.sum()), len(rhs), int(A.nnz))
    objective_rows = {obj.name: (c[i], float(offsets[i])) for obj, i in zip(repn.objectives, range(len(repn.objectives)))}
    row_index = {row[0]: i for i, row in enumerate(repn.rows)}
    return CompiledModel(
        h, columns, cost, cost_offset, tokens, tokens_offset, size, time.perf_counter() - started, objective_rows, row_index
    )


def _run_highs(h: highspy.Highs) -> None:
    """``h.run()`` on a worker thread, so that Ctrl-C reaches Python at once and stops the solve.

    HiGHS holds the thread for minutes; the main thread only waits, so a KeyboardInterrupt is raised
    there immediately. HiGHS is then asked to stop at its next MIP node (a cheap callback, unlike
    the simplex one) and the interrupt goes on to the caller: no plan is built, nothing written.
    """
    stop = threading.Event()

    def interrupt(event) -> None:
        if stop.is_set():
            event.interrupt()

    h.cbMipInterrupt += interrupt
    worker = threading.Thread(target=h.run, name="highs", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        stop.set()
        worker.join(INTERRUPT_GRACE_S)
        raise
    finally:
        if not worker.is_alive():  # a solve that ignored the interrupt keeps its callback
            h.cbMipInterrupt -= interrupt


def _relax_and_fix(cm: CompiledModel, time_limit_s: float) -> np.ndarray | None:
    """A first plan: solve the LP relaxation, fix the integers it leaves whole, solve the rest.

    On the default data HiGHS spends minutes in root cuts on some scenarios (carbon cap) without a
    plan of its own. Fixing every integer the LP leaves whole (builds, coolings, racks and units;
    about 25 of 408 stay free on the default scenario) leaves a restricted MILP that finds a plan
    within ~1 % in about a minute; fixing only the settled binaries left the racks and units free,
    and that MILP's only plan in 95 s was a rounding 2.7 times the optimum. The looser restriction
    is the fallback when the tight one has no plan. Returns None when neither has one.
    """
    h, n = cm.highs, len(cm.columns)
    columns = np.arange(n, dtype=np.int32)
    lp = h.getLp()
    integrality = np.array([int(v) for v in lp.integrality_], dtype=np.uint8)
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    deadline = time.perf_counter() + time_limit_s
    h.setOptionValue("time_limit", max(time_limit_s, 1.0))
    h.changeColsIntegrality(n, columns, np.zeros(n, dtype=np.uint8))
    _run_highs(h)
    relaxed = np.asarray(h.getSolution().col_value) if h.getModelStatus() == highspy.HighsModelStatus.kOptimal else None
    h.changeColsIntegrality(n, columns, integrality)
    if relaxed is None:
        return None
    whole = (integrality == 1) & (np.abs(relaxed - np.round(relaxed)) < 1e-6)
    binary = (integrality == 1) & (lower == 0) & (upper == 1)
    for fixed in (whole, whole & binary):
        fixed_columns = np.flatnonzero(fixed).astype(np.int32)
        plan = _restricted_plan(cm, fixed_columns, np.round(relaxed), lower, upper, deadline)
        if plan is not None or time.perf_counter() >= deadline:
            return plan
    return None


def _restricted_plan(cm: CompiledModel, fixed: np.ndarray, values: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                     deadline: float) -> np.ndarray | None:
    """The MILP with columns ``fixed`` held at ``values``, solved tightly; its plan, or None.
    ``lower`` and ``upper`` are every column's own bounds, put back afterwards."""
    h = cm.highs
    h.changeColsBounds(len(fixed), fixed, values[fixed], values[fixed])
    h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1.0))
    # the restricted MILP is small: solving it tightly hands the full MILP an incumbent close
    # enough to the root bound that the root cuts alone often prove the gap
    gap = h.getOptionValue("mip_rel_gap")[1]
    h.setOptionValue("mip_rel_gap", gap * RESTRICTED_GAP_SHARE)
    _run_highs(h)
    h.setOptionValue("mip_rel_gap", gap)
    found = h.getInfo().primal_solution_status == 2
    plan = np.asarray(h.getSolution().col_value) if found else None
    h.changeColsBounds(len(fixed), fixed, lower[fixed], upper[fixed])
    return plan


def _run(cm: CompiledModel, objective: np.ndarray, time_left_s: float, warm_start: np.ndarray | None,
         stop_at: float = -INF):
    """Solve at ``objective``; HiGHS stops early once it has a plan of objective <= ``stop_at``."""
    h = cm.highs
    started = time.perf_counter()
    h.changeColsCost(len(objective), np.arange(len(objective), dtype=np.int32), objective)
    if warm_start is None:
        warm_start = _relax_and_fix(cm, HEURISTIC_SHARE * time_left_s)
    h.setOptionValue("time_limit", max(time_left_s - (time.perf_counter() - started), 1.0))
    if warm_start is not None:
        start = highspy.HighsSolution()
        start.col_value = list(warm_start)
        h.setSolution(start)
    h.setOptionValue("objective_target", float(stop_at))
    _run_highs(h)
    h.setOptionValue("objective_target", -INF)
    status = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_plan else None
    return status, info, x


def _gap(info) -> float:
    return float(info.mip_gap) if np.isfinite(info.mip_gap) else 0.0


def _dual_bound(info, status) -> float:
    """The MIP's dual bound; an LP (no integers) at its optimum bounds itself."""
    if np.isfinite(info.mip_dual_bound):
        return float(info.mip_dual_bound)
    return float(info.objective_function_value) if status == highspy.HighsModelStatus.kOptimal else -np.inf


def _status_name(status) -> str:
    return str(status).split(".")[-1]


def _fail(status, size: ModelSize, numerics: list[str] = ()) -> SolveError:
    """The error for a solve without a plan; ``numerics`` names families outside the documented
    coefficient range (optimizer.stats), the first suspects when HiGHS stops in trouble."""
    name = _status_name(status)
    suspects = f"; coefficients outside the documented range: {'; '.join(numerics)}" if numerics else ""
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return SolveError(
            "no feasible plan: the scenario's demand, land, grid, latency, carbon, budget or supply limits "
            f"cannot all be met together (HiGHS status {name}){suspects}",
            size, infeasible=True,
        )
    if status == highspy.HighsModelStatus.kSolveError:
        return SolveError(f"HiGHS stopped on numerical trouble (status {name}){suspects or '; see aifactory stats'}", size)
    return SolveError(f"the solver stopped without a plan (HiGHS status {name}); raise solver.time_limit_s{suspects}", size)


def _write_back(fm: FactoryModel, cm: CompiledModel, x: np.ndarray) -> None:
    """Put the solution into the Pyomo variables (rounded integers; unused variables at zero)."""
    for var in fm.model.component_data_objects(pyo.Var, descend_into=True):
        if not var.fixed:
            var.set_value(0, skip_validation=True)
    for var, value in zip(cm.columns, x):
        var.set_value(round(value) if var.is_integer() else value, skip_validation=True)


def solve(fm: FactoryModel, solver: SolverOptions, objective: ObjectiveOptions,
          good_enough_musd_per_yr: float | None = None) -> SolveResult:
    """Solve for least cost (serve_demand) or least cost per token (min_cost_per_token).

    ``good_enough_musd_per_yr`` (serve_demand only): stop at the first plan that costs no more,
    counted as optimal; a caller with its own lower bound sets it to bound / (1 - gap).
    """
    cm = compile_to_highs(fm, solver)
    numerics = model_stats(cm).outside_range()
    deadline = time.perf_counter() + solver.time_limit_s
    started = time.perf_counter()
    if objective.mode == "serve_demand":
        stop_at = -INF if good_enough_musd_per_yr is None else good_enough_musd_per_yr - cm.cost_offset
        status, info, x = _run(cm, cm.cost, solver.time_limit_s, None, stop_at)
        if x is None:
            raise _fail(status, cm.size, numerics)
        done = (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kObjectiveTarget)
        result = SolveResult(
            status="optimal" if status in done else "time_limit_feasible",
            highs_status=_status_name(status),
            # stopped at the caller's target before a bound of its own: its own gap is unknown
            mip_gap=float(info.mip_gap) if status == highspy.HighsModelStatus.kObjectiveTarget else _gap(info),
            cost_musd_per_yr=float(cm.cost @ x + cm.cost_offset),
            delivered_ptok_per_yr=float(cm.tokens @ x + cm.tokens_offset),
            handoff_s=cm.handoff_s,
            solve_s=time.perf_counter() - started,
            size=cm.size,
            cost_lower_bound_musd_per_yr=_dual_bound(info, status) + cm.cost_offset,
        )
    else:
        demand_ptok = fm.scenario.tables["demand"]["tokens_per_yr"].sum() / TOKENS_PER_PTOK
        floor_ptok = objective.min_demand_share * demand_ptok
        result, x = _dinkelbach(cm, objective, deadline, started, floor_ptok, solver.mip_gap)
    result.numerics_warnings = numerics
    _write_back(fm, cm, x)
    return result


def _dinkelbach(
    cm: CompiledModel, objective: ObjectiveOptions, deadline: float, started: float, floor_ptok: float, objective_gap: float
):
    """Least cost per token: minimise cost - lambda * tokens, set lambda to the plan's ratio, repeat.

    Each step is a MILP. The ratio of the last plan is optimal when the step's optimum is ~0; with a
    MIP gap the dual bound LB <= 0 of the last step still bounds the optimum: for the best plan x*,
    cost(x*) - lambda * tokens(x*) >= LB, so lambda* >= lambda + LB / tokens(x*) >= lambda + LB / floor,
    with ``floor`` the fewest tokens any plan may deliver.
    """
    steps: list[DinkelbachStep] = []
    lam, x_best, ratio_best, warm = 0.0, None, np.inf, None
    proven, last_status, last_info = False, None, None
    for iteration in range(1, objective.max_iterations + 1):
        step_started = time.perf_counter()
        time_left = deadline - step_started
        if time_left <= 0:
            break
        # Any plan gives a valid next lambda, so the first step only needs a good plan quickly;
        # later steps are solved tightly. cost - lambda*tokens tends to 0, so their gap is
        # measured against cost (absolute gap) rather than relative to the objective.
        if steps:
            cm.highs.setOptionValue("mip_rel_gap", 0.0)
            cm.highs.setOptionValue("mip_abs_gap", objective_gap * steps[-1].cost_musd_per_yr)
        else:
            cm.highs.setOptionValue("mip_rel_gap", FIRST_STEP_GAP)
            time_left *= FIRST_STEP_TIME_SHARE
        status, info, x = _run(cm, cm.cost - lam * cm.tokens, time_left, warm)
        last_status, last_info = status, info
        if x is None:
            if x_best is None:
                raise _fail(status, cm.size)
            break
        cost = float(cm.cost @ x + cm.cost_offset)
        tokens = float(cm.tokens @ x + cm.tokens_offset)
        residual = cost - lam * tokens
        step_gap = (info.objective_function_value - info.mip_dual_bound) / max(abs(cost), 1e-9)
        steps.append(
            DinkelbachStep(iteration, usd_per_mtok(lam, 1.0), cost, tokens, residual, step_gap, time.perf_counter() - step_started)
        )
        if tokens > 0 and cost / tokens < ratio_best:
            ratio_best, x_best = cost / tokens, x
        warm = x
        if len(steps) > 1 and status != highspy.HighsModelStatus.kOptimal:
            break
        if iteration > 1 and residual >= -objective.dinkelbach_tolerance * max(abs(cost), 1.0):
            proven = True
            break
        lam = cost / tokens
    if x_best is None:
        raise _fail(last_status, cm.size)
    bound = None
    if last_info is not None and np.isfinite(last_info.mip_dual_bound) and floor_ptok > 0:
        bound = usd_per_mtok(max(lam + min(float(last_info.mip_dual_bound), 0.0) / floor_ptok, 0.0), 1.0)
    cost = float(cm.cost @ x_best + cm.cost_offset)
    tokens = float(cm.tokens @ x_best + cm.tokens_offset)
    result = SolveResult(
        status="optimal" if proven else "time_limit_feasible",
        highs_status=_status_name(last_status),
        mip_gap=steps[-1].mip_gap,
        cost_musd_per_yr=cost,
        delivered_ptok_per_yr=tokens,
        handoff_s=cm.handoff_s,
        solve_s=time.perf_counter() - started,
        size=cm.size,
        iterations=steps,
        lambda_lower_bound_usd_per_mtok=bound,
    )
    return result, x_best
