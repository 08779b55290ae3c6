"""Hand a built model to HiGHS and solve it, including the cost-per-token ratio objective.

Hand-off: Pyomo's ``LinearStandardFormCompiler`` turns the model into sparse matrices in one
pass, and ``highspy.Highs.passModel`` takes them whole. Measured on the default scenario this is
several times faster than Pyomo's in-memory HiGHS interface, which adds columns one at a time
(see ``benchmarks/handoff.py``). The compiled matrices keep two objective rows, cost and delivered
tokens, so a Dinkelbach step only changes column costs; the previous plan is the next warm start.

A plan whenever one exists, within the time limit. The greedy plan (``optimizer.solve.greedy``) is
costed first, its decisions held and the power solved by HiGHS: about a second on the default
scenario, it is a plan whatever happens next. Relax-and-fix (the LP relaxation, then a small
restricted MILP) comes next; the LP relaxation alone takes ten seconds there, several times that
on a busy machine. HiGHS's full MILP starts from the better of the two plans. Every plan handed out
is HiGHS's solution of the whole model with some columns held, so it meets every row, and it is
marked with where it came from and with its gap against the best proven bound: HiGHS's dual bound,
the LP relaxation's optimum, or at least the bound the column bounds alone give.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.model import FactoryModel
from optimizer.inputs.scenario import ObjectiveOptions, SolverOptions
from optimizer.solve.stats import model_stats
from optimizer.constants import TOKENS_PER_PTOK, usd_per_mtok

INF = highspy.kHighsInf
FEASIBLE = highspy.SolutionStatus.kSolutionStatusFeasible
Status = highspy.HighsModelStatus
#: HiGHS proved that no plan exists
INFEASIBLE = (Status.kInfeasible, Status.kUnboundedOrInfeasible)
#: HiGHS stopped at a limit of its effort before it had a plan
OUT_OF_TIME = (Status.kTimeLimit, Status.kIterationLimit)
#: the plan is within the asked gap (kOptimal) or at the caller's target (kObjectiveTarget)
DONE = (Status.kOptimal, Status.kObjectiveTarget)
#: where a plan came from: HiGHS's MILP of the whole model, the restricted MILP of relax-and-fix,
#: or the greedy plan costed by the model
HIGHS, RELAX_AND_FIX, GREEDY = "highs", "relax_and_fix", "greedy"
#: share of the time the greedy plan's costing may take. On the default scenario it needs 1.5 s,
#: the LP relaxation after it 11 s: when the machine is so busy that the greedy needs more than
#: an eighth of the time the LP cannot finish anyway, and the greedy plan is all there will be;
#: the cap only keeps a greedy plan HiGHS struggles with from taking all the time
GREEDY_SHARE = 0.5
#: share of the time left after the LP relaxation that the restricted MILPs of the first plan may
#: use. carbon_cap at 60 s (LP 20 s): with 0.4 of it their plan was 17 % above the LP bound, with
#: 0.8 they had one within 0.98 % after 21 s (stopping there instead of solving on to a tenth of
#: the gap would cost quality: the quick line's first plan within its 2 % was 0.9 % above the
#: bound, 3 s later 0.39 %)
HEURISTIC_SHARE = 0.7
#: the restricted MILP of the first plan is solved to this share of the requested gap
RESTRICTED_GAP_SHARE = 0.1
#: an integer column of the LP relaxation this close to a whole number counts as whole
WHOLE_TOLERANCE = 1e-6
#: HiGHS's plan is its own when it costs less than the plan it started from by more than this
#: share (re-solving the start's continuous part may move the cost in its last digits)
MIN_IMPROVEMENT = 1e-9
#: the greedy plan's power is costed to this gap at most: a last resort needs a plan soon (on the
#: default scenario HiGHS has one within 1.1 % after 1 s, and needs 10 s more to prove 1 %)
FALLBACK_GAP = 0.05
#: the first Dinkelbach step only needs a good plan: its gap and share of the time limit
FIRST_STEP_GAP = 0.05
FIRST_STEP_TIME_SHARE = 0.25


#: after Ctrl-C, how long HiGHS may take to notice its interrupt before the caller moves on anyway
INTERRUPT_GRACE_S = 2.0


class SolveError(RuntimeError):
    """The solver found no plan. Three kinds: the scenario is proven infeasible (``infeasible``),
    time ran out before any plan, HiGHS's, relax-and-fix's or the greedy's (``timed_out``), or
    neither: HiGHS stopped on numerical or other trouble."""

    def __init__(self, message: str, size: ModelSize, infeasible: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.size = size  # the model without a plan: a benchmark still reports its size
        self.infeasible = infeasible
        self.timed_out = timed_out

    def __reduce__(self):
        # keeps size and reason across processes (a sweep or benchmark worker hands errors back)
        return SolveError, (str(self), self.size, self.infeasible, self.timed_out)


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
    """serve_demand: proven lower bound on the cost, no plan of this model costs less; mip_gap is
    (cost - bound) / cost. min_cost_per_token: None, the ratio is bounded instead and mip_gap is
    1 - lambda_lower_bound / the plan's ratio"""
    plan_source: str = HIGHS
    """the step that found the plan: highs (the full MILP), relax_and_fix (its restricted MILP) or
    greedy (the greedy plan costed by the model), the full MILP having found none cheaper or not
    having run; ``status`` says whether the plan is proven within the gap, whatever its source"""
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


@contextmanager
def _restored(undo: Callable[[], None]) -> Iterator[None]:
    """Run ``undo`` when the block ends, so a sub-solve leaves HiGHS as it found it. Not after
    Ctrl-C: HiGHS may then still be stopping on its own thread, and the caller stops anyway."""
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not interrupted:
            undo()


def _set_options(h: highspy.Highs, values: dict) -> None:
    for name, value in values.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS refused option {name} = {value!r}")


@contextmanager
def _options(h: highspy.Highs, **values) -> Iterator[None]:
    """HiGHS options for one sub-solve; the previous values are put back afterwards."""
    saved = {name: h.getOptionValue(name)[1] for name in values}
    _set_options(h, values)
    with _restored(lambda: _set_options(h, saved)):
        yield


@dataclass
class _Columns:
    """Every column's own bounds and integrality, read before a sub-solve changes any of them."""

    lower: np.ndarray
    upper: np.ndarray
    integrality: np.ndarray

    @classmethod
    def of(cls, h: highspy.Highs) -> _Columns:
        lp = h.getLp()
        integrality = np.array([int(v) for v in lp.integrality_], dtype=np.uint8)
        return cls(np.array(lp.col_lower_), np.array(lp.col_upper_), integrality)

    @property
    def mip(self) -> bool:
        """HiGHS solves the model as a MIP (it has integer columns), not as an LP."""
        return bool(self.integrality.any())

    def relaxed(self, h: highspy.Highs):
        """Integrality dropped for the block (the LP relaxation), put back afterwards."""
        n = len(self.integrality)
        every = np.arange(n, dtype=np.int32)
        h.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
        return _restored(lambda: h.changeColsIntegrality(n, every, self.integrality))

    def held(self, h: highspy.Highs, fixed: np.ndarray, values: np.ndarray):
        """Columns ``fixed`` held at ``values`` (clipped to their own bounds) for the block."""
        values = np.clip(values, self.lower[fixed], self.upper[fixed])
        h.changeColsBounds(len(fixed), fixed, values, values)
        return _restored(lambda: h.changeColsBounds(len(fixed), fixed, self.lower[fixed], self.upper[fixed]))

    def bound(self, objective: np.ndarray) -> float:
        """The least ``objective`` the column bounds alone allow: a bound on every plan, weak but
        known before any solve (0 on the cost, whose coefficients and columns are all >= 0)."""
        rising, falling = objective > 0, objective < 0
        return float(objective[rising] @ self.lower[rising] + objective[falling] @ self.upper[falling])


def _time_left(deadline: float) -> float:
    return deadline - time.perf_counter()


def _time_limit(h: highspy.Highs, deadline: float, mip: bool) -> float:
    """HiGHS's time_limit for a run to ``deadline`` (none once it is past). HiGHS 1.x measures a
    MIP's limit from the start of its run, but an LP's on its run clock, which counts every earlier
    run of the instance (ERGO-Code/HiGHS#1477): after a 2 s run, an LP given 2 s stopped at once."""
    left = max(_time_left(deadline), 0.0)
    return left if mip else h.getRunTime() + left


def _plan_of(h: highspy.Highs) -> np.ndarray | None:
    """The last run's plan if it has one that meets every row and bound."""
    return np.asarray(h.getSolution().col_value) if h.getInfo().primal_solution_status == FEASIBLE else None


@dataclass
class _FirstPlan:
    """Relax-and-fix: the LP relaxation's status and optimum (a bound on every plan) and its plan."""

    lp_status: highspy.HighsModelStatus
    bound: float
    x: np.ndarray | None


def _relax_and_fix(cm: CompiledModel, columns: _Columns, deadline: float, stop_at: float) -> _FirstPlan:
    """A first plan: solve the LP relaxation, fix the integers it leaves whole, solve the rest.

    On the default data HiGHS spends minutes in root cuts on some scenarios (carbon cap) without a
    plan of its own. Fixing every integer the LP leaves whole (builds, coolings, racks and units;
    about 25 of 408 stay free on the default scenario) leaves a restricted MILP that finds a plan
    within ~1 % in about a minute; fixing only the settled binaries left the racks and units free,
    and that MILP's only plan in 95 s was a rounding 2.7 times the optimum. The looser restriction
    is the fallback when the tight one has no plan. The LP may take the time up to ``deadline``
    (the full MILP's root LP is no faster: it could do nothing with what the LP leaves), the
    restricted MILPs ``HEURISTIC_SHARE`` of what it leaves; they stop early at a plan <= ``stop_at``.
    """
    h = cm.highs
    with columns.relaxed(h), _options(h, time_limit=_time_limit(h, deadline, mip=False)):
        _run_highs(h)
        status = h.getModelStatus()
        relaxed = np.asarray(h.getSolution().col_value) if status == Status.kOptimal else None
        bound = float(h.getInfo().objective_function_value) if relaxed is not None else -INF
    if relaxed is None:
        return _FirstPlan(status, bound, None)
    restricted_deadline = time.perf_counter() + HEURISTIC_SHARE * _time_left(deadline)
    integer = columns.integrality == 1
    whole = integer & (np.abs(relaxed - np.round(relaxed)) < WHOLE_TOLERANCE)
    binary = integer & (columns.lower == 0) & (columns.upper == 1)
    plan = None
    for fixed in (whole, whole & binary):
        plan = _restricted_plan(cm, columns, np.flatnonzero(fixed).astype(np.int32), np.round(relaxed),
                                restricted_deadline, stop_at)
        if plan is not None or _time_left(restricted_deadline) <= 0:
            break
    return _FirstPlan(status, bound, plan)


def _restricted_plan(cm: CompiledModel, columns: _Columns, fixed: np.ndarray, values: np.ndarray,
                     deadline: float, target: float) -> np.ndarray | None:
    """The MILP with columns ``fixed`` held at ``values``, solved tightly unless a plan reaches the
    caller's ``target`` first; its plan, or None."""
    h = cm.highs
    if _time_left(deadline) <= 0:
        return None
    # the restricted MILP is small: solving it tightly hands the full MILP an incumbent close
    # enough to the root bound that the root cuts alone often prove the gap
    gap = h.getOptionValue("mip_rel_gap")[1] * RESTRICTED_GAP_SHARE
    limit = _time_limit(h, deadline, columns.mip)
    with columns.held(h, fixed, values[fixed]), _options(h, time_limit=limit, mip_rel_gap=gap, objective_target=target):
        _run_highs(h)
        return _plan_of(h)


def _greedy_plan(fm: FactoryModel, cm: CompiledModel, columns: _Columns, deadline: float) -> np.ndarray | None:
    """The greedy plan costed by the model: its builds, coolings, racks and deliveries held, HiGHS
    chooses the power and its dispatch. None if the greedy has no plan or HiGHS none in time."""
    # optimizer.solve.greedy costs its own plans through solve(): imported here, a top-level import
    # would be circular
    from optimizer.solve.greedy import greedy_choice, greedy_decisions

    if _time_left(deadline) <= 0:
        return None
    try:
        choice = greedy_choice(fm.scenario)
    except Exception:
        # a GreedyError, or a scenario the spreadsheet logic was not written for: either way the
        # solve goes on without this plan, as it did before the greedy ran first (the greedy's
        # own failures are tests/test_greedy.py's business)
        return None
    column = {id(var): j for j, var in enumerate(cm.columns)}
    decided = [(column[id(var)], value) for var, value in greedy_decisions(fm, choice) if id(var) in column]
    fixed = np.array([j for j, _ in decided], dtype=np.int32)
    h = cm.highs
    gap = max(h.getOptionValue("mip_rel_gap")[1], FALLBACK_GAP)
    with (columns.held(h, fixed, np.array([value for _, value in decided])),
          _options(h, time_limit=_time_limit(h, deadline, columns.mip), mip_rel_gap=gap)):
        _run_highs(h)
        return _plan_of(h)


#: the plan of last resort, costed before any other: fallback(columns, deadline) -> plan or None
Fallback = Callable[[_Columns, float], np.ndarray | None]


@dataclass
class _Outcome:
    """The best plan of one objective by its deadline, where it came from, and what bounds it."""

    status: highspy.HighsModelStatus
    """HiGHS's status of the full MILP; kOptimal or kObjectiveTarget when a plan before it already
    met the gap or the caller's target (no full MILP then); kTimeLimit when no time was left for it"""
    x: np.ndarray | None
    source: str
    bound: float
    """proven lower bound on the objective (without offsets) over every plan of the model"""


def _within_gap(h: highspy.Highs, value: float, bound: float) -> bool:
    """The plan of objective ``value`` is proven within HiGHS's relative or absolute MIP gap."""
    excess = value - bound
    return excess <= h.getOptionValue("mip_abs_gap")[1] or excess <= h.getOptionValue("mip_rel_gap")[1] * abs(value)


def _full_milp(cm: CompiledModel, columns: _Columns, start: np.ndarray | None, deadline: float, stop_at: float):
    """HiGHS's MILP of the whole model from ``start``: its status, plan (or None) and dual bound."""
    h = cm.highs
    if start is not None:
        solution = highspy.HighsSolution()
        solution.col_value = list(start)
        h.setSolution(solution)
    with _options(h, time_limit=_time_limit(h, deadline, columns.mip), objective_target=float(stop_at)):
        _run_highs(h)
        status, info = h.getModelStatus(), h.getInfo()
        return status, _plan_of(h), _dual_bound(info, status)


@dataclass
class _Best:
    """The cheapest plan so far at one objective, where it came from, and the best proven bound."""

    objective: np.ndarray
    bound: float
    x: np.ndarray | None = None
    source: str = HIGHS

    def value(self) -> float:
        return float(self.objective @ self.x) if self.x is not None else INF

    def offer(self, x: np.ndarray | None, source: str) -> None:
        """Keep ``x``, found on its own, unless it costs more: relax-and-fix's plan after the
        greedy's, a tie going to the more thorough step."""
        if x is not None and float(self.objective @ x) <= self.value():
            self.x, self.source = x, source

    def improve(self, x: np.ndarray | None) -> None:
        """Keep HiGHS's plan if it is cheaper than the plan it started from by more than a
        rounding; the start handed back unimproved keeps its source."""
        if x is None:
            return
        if self.x is None or float(self.objective @ x) < self.value() - MIN_IMPROVEMENT * abs(self.value()):
            self.x, self.source = x, HIGHS

    def outcome(self, status: highspy.HighsModelStatus) -> _Outcome:
        return _Outcome(status, self.x, self.source, self.bound)


def _solve_within(cm: CompiledModel, objective: np.ndarray, deadline: float, warm_start: np.ndarray | None,
                  stop_at: float = -INF, fallback: Fallback | None = None) -> _Outcome:
    """The best plan at ``objective`` by ``deadline``; HiGHS stops early at a plan <= ``stop_at``.

    ``fallback`` (the greedy plan) is costed first, in ``GREEDY_SHARE`` of the time. Without a warm
    start (a hint HiGHS checks, not a plan known to be feasible) relax-and-fix follows. The first
    plan that meets the target, or the gap against the LP relaxation, is the answer; otherwise the
    full MILP starts from the best plan so far with the time left, and the cheapest plan wins.
    """
    h, n = cm.highs, len(objective)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), objective)
    columns = _Columns.of(h)
    best = _Best(objective, columns.bound(objective))
    if fallback is not None:
        best.offer(fallback(columns, time.perf_counter() + GREEDY_SHARE * _time_left(deadline)), GREEDY)
        if best.value() <= stop_at:
            return best.outcome(Status.kObjectiveTarget)
    if warm_start is None:
        first = _relax_and_fix(cm, columns, deadline, stop_at)
        if first.lp_status in INFEASIBLE and best.x is None:
            return best.outcome(first.lp_status)
        best.bound = max(best.bound, first.bound)
        best.offer(first.x, RELAX_AND_FIX)
    if best.value() <= stop_at:
        return best.outcome(Status.kObjectiveTarget)
    if best.x is not None and _within_gap(h, best.value(), best.bound):
        return best.outcome(Status.kOptimal)
    if _time_left(deadline) <= 0:
        return best.outcome(Status.kTimeLimit)
    status, x, highs_bound = _full_milp(cm, columns, warm_start if best.x is None else best.x, deadline, stop_at)
    best.bound = max(best.bound, highs_bound)
    best.improve(x)
    return best.outcome(status)


def _run(cm: CompiledModel, objective: np.ndarray, time_left_s: float, warm_start: np.ndarray | None,
         stop_at: float = -INF):
    """Solve at ``objective`` within ``time_left_s``, without the greedy plan (the caller's model
    may not be the planning model): HiGHS's status, info and the plan (or None)."""
    outcome = _solve_within(cm, objective, time.perf_counter() + time_left_s, warm_start, stop_at)
    return outcome.status, cm.highs.getInfo(), outcome.x


def _dual_bound(info, status) -> float:
    """The MIP's dual bound; an LP (no integers) at its optimum bounds itself."""
    if np.isfinite(info.mip_dual_bound):
        return float(info.mip_dual_bound)
    return float(info.objective_function_value) if status == Status.kOptimal else -INF


def _relative_gap(cost: float, bound: float) -> float:
    """(cost - bound) / cost; no gap for a plan that costs nothing."""
    return (cost - bound) / abs(cost) if cost else 0.0


def _status_name(status) -> str:
    return str(status).split(".")[-1]


def _fail(status, size: ModelSize, numerics: list[str] = ()) -> SolveError:
    """The error for a solve without a plan; ``numerics`` names families outside the documented
    coefficient range (optimizer.solve.stats), the first suspects when HiGHS stops in trouble."""
    name = _status_name(status)
    suspects = f"; coefficients outside the documented range: {'; '.join(numerics)}" if numerics else ""
    if status in INFEASIBLE:
        return SolveError(
            "no feasible plan: the scenario's demand, land, grid, latency, carbon, budget or supply limits "
            f"cannot all be met together (HiGHS status {name}){suspects}",
            size, infeasible=True,
        )
    if status in OUT_OF_TIME:
        return SolveError(
            f"time ran out before any plan, HiGHS's, relax-and-fix's or the greedy's (HiGHS status {name}); "
            f"raise solver.time_limit_s{suspects}",
            size, timed_out=True,
        )
    return SolveError(f"HiGHS stopped without a plan on numerical or other trouble (status {name})"
                      f"{suspects or '; see aifactory stats'}", size)


def _write_back(fm: FactoryModel, cm: CompiledModel, x: np.ndarray) -> None:
    """Put the solution into the Pyomo variables (rounded integers; unused variables at zero)."""
    for var in fm.model.component_data_objects(pyo.Var, descend_into=True):
        if not var.fixed:
            var.set_value(0, skip_validation=True)
    for var, value in zip(cm.columns, x):
        var.set_value(round(value) if var.is_integer() else value, skip_validation=True)


def solve(fm: FactoryModel, solver: SolverOptions, objective: ObjectiveOptions,
          good_enough_musd_per_yr: float | None = None, greedy_fallback: bool = True) -> SolveResult:
    """Solve for least cost (serve_demand) or least cost per token (min_cost_per_token).

    ``good_enough_musd_per_yr`` (serve_demand only): stop at the first plan that costs no more,
    counted as optimal; a caller with its own lower bound sets it to bound / (1 - gap).
    ``greedy_fallback``: cost the greedy plan first, the plan of last resort (off when the greedy
    plan is itself what is being costed).
    """
    cm = compile_to_highs(fm, solver)
    numerics = model_stats(cm).outside_range()
    started = time.perf_counter()
    deadline = started + solver.time_limit_s
    fallback = partial(_greedy_plan, fm, cm) if greedy_fallback else None
    if objective.mode == "serve_demand":
        result, x = _least_cost(cm, deadline, started, good_enough_musd_per_yr, fallback, numerics)
    else:
        demand_ptok = fm.scenario.tables["demand"]["tokens_per_yr"].sum() / TOKENS_PER_PTOK
        floor_ptok = objective.min_demand_share * demand_ptok
        result, x = _dinkelbach(cm, objective, deadline, started, floor_ptok, solver.mip_gap, fallback, numerics)
    result.numerics_warnings = numerics
    _write_back(fm, cm, x)
    return result


def _least_cost(cm: CompiledModel, deadline: float, started: float, good_enough_musd_per_yr: float | None,
                fallback: Fallback | None, numerics: list[str]):
    """serve_demand: the least-cost plan by the deadline, its gap against the best proven bound."""
    stop_at = -INF if good_enough_musd_per_yr is None else good_enough_musd_per_yr - cm.cost_offset
    outcome = _solve_within(cm, cm.cost, deadline, None, stop_at, fallback)
    if outcome.x is None:
        raise _fail(outcome.status, cm.size, numerics)
    cost = float(cm.cost @ outcome.x + cm.cost_offset)
    bound = min(outcome.bound + cm.cost_offset, cost)  # a plan at its bound may sit a rounding below it
    proven = outcome.status in DONE or _within_gap(cm.highs, cost, bound)
    result = SolveResult(
        status="optimal" if proven else "time_limit_feasible",
        highs_status=_status_name(outcome.status),
        mip_gap=_relative_gap(cost, bound),
        cost_musd_per_yr=cost,
        delivered_ptok_per_yr=float(cm.tokens @ outcome.x + cm.tokens_offset),
        handoff_s=cm.handoff_s,
        solve_s=time.perf_counter() - started,
        size=cm.size,
        cost_lower_bound_musd_per_yr=bound,
        plan_source=outcome.source,
    )
    return result, outcome.x


def _dinkelbach(cm: CompiledModel, objective: ObjectiveOptions, deadline: float, started: float, floor_ptok: float,
                objective_gap: float, fallback: Fallback | None, numerics: list[str]):
    """Least cost per token: minimise cost - lambda * tokens, set lambda to the plan's ratio, repeat.

    Each step is a MILP. The ratio of the last plan is optimal when the step's optimum is ~0; with a
    MIP gap the lower bound LB <= 0 of a step at lambda still bounds the optimum: for the best plan
    x*, cost(x*) - lambda * tokens(x*) >= LB, so lambda* >= lambda + LB / tokens(x*) >= lambda + LB / floor,
    with ``floor`` the fewest tokens any plan may deliver. At the deadline the best plan so far is
    the answer; the first step, which has no plan to start from, also costs the greedy plan.
    """
    steps: list[DinkelbachStep] = []
    lam, best, warm = 0.0, None, None
    proven, last, lambda_bound = False, None, 0.0
    for iteration in range(1, objective.max_iterations + 1):
        step_started = time.perf_counter()
        if deadline <= step_started:
            break
        # Any plan gives a valid next lambda, so the first step only needs a good plan quickly;
        # later steps are solved tightly. cost - lambda*tokens tends to 0, so their gap is
        # measured against cost (absolute gap) rather than relative to the objective.
        if steps:
            gaps = {"mip_rel_gap": 0.0, "mip_abs_gap": objective_gap * steps[-1].cost_musd_per_yr}
            step_deadline = deadline
        else:
            gaps = {"mip_rel_gap": FIRST_STEP_GAP}
            step_deadline = step_started + FIRST_STEP_TIME_SHARE * (deadline - step_started)
        step_objective = cm.cost - lam * cm.tokens
        with _options(cm.highs, **gaps):
            outcome = _solve_within(cm, step_objective, step_deadline, warm, fallback=None if steps else fallback)
        # every step's bound holds at its own lambda: the best of them bounds the ratio
        last, lambda_bound = outcome, max(lambda_bound, _ratio_bound(cm, outcome, lam, floor_ptok))
        if outcome.x is None:
            break
        x = outcome.x
        cost = float(cm.cost @ x + cm.cost_offset)
        tokens = float(cm.tokens @ x + cm.tokens_offset)
        residual = cost - lam * tokens
        step_gap = (float(step_objective @ x) - outcome.bound) / max(abs(cost), 1e-9)
        steps.append(
            DinkelbachStep(iteration, usd_per_mtok(lam, 1.0), cost, tokens, residual, step_gap, time.perf_counter() - step_started)
        )
        if tokens > 0 and (best is None or cost / tokens < best[0]):
            best = (cost / tokens, x, outcome.source)
        warm = x
        if len(steps) > 1 and outcome.status != Status.kOptimal:
            break
        if iteration > 1 and residual >= -objective.dinkelbach_tolerance * max(abs(cost), 1.0):
            proven = True
            break
        lam = cost / tokens
    if best is None:
        raise _fail(last.status if last is not None else Status.kTimeLimit, cm.size, numerics)
    _, x_best, source = best
    cost = float(cm.cost @ x_best + cm.cost_offset)
    tokens = float(cm.tokens @ x_best + cm.tokens_offset)
    # the gap of the ratio: what these tokens would cost at the bound, against what they cost
    cost_at_bound = min(lambda_bound * tokens, cost)
    gap = _relative_gap(cost, cost_at_bound)
    result = SolveResult(
        status="optimal" if proven or gap <= objective_gap else "time_limit_feasible",
        highs_status=_status_name(last.status),
        mip_gap=gap,
        cost_musd_per_yr=cost,
        delivered_ptok_per_yr=tokens,
        handoff_s=cm.handoff_s,
        solve_s=time.perf_counter() - started,
        size=cm.size,
        iterations=steps,
        lambda_lower_bound_usd_per_mtok=usd_per_mtok(cost_at_bound / tokens, 1.0),
        plan_source=source,
    )
    return result, x_best


def _ratio_bound(cm: CompiledModel, step: _Outcome, lam: float, floor_ptok: float) -> float:
    """lambda + LB / floor (M$/Ptok) from one step at ``lam``; 0 (costs are never negative) when
    the step has no finite bound or no plan need deliver tokens."""
    step_bound = step.bound + cm.cost_offset - lam * cm.tokens_offset
    if not np.isfinite(step_bound) or floor_ptok <= 0:
        return 0.0
    return max(lam + min(step_bound, 0.0) / floor_ptok, 0.0)
