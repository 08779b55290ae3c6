"""Hand a built model to HiGHS and solve it, including the cost-per-token ratio objective.

Hand-off (``optimizer.solver.session``, the one owner of HiGHS): Pyomo's
``LinearStandardFormCompiler`` turns the model into sparse matrices in one pass, and
``highspy.Highs.passModel`` takes them whole. Measured on the default scenario this is several
times faster than Pyomo's in-memory HiGHS interface, which adds columns one at a time (see
``benchmarks/handoff.py``). The compiled matrices keep two objective rows, cost and delivered
tokens, so a Dinkelbach step only changes column costs; the previous plan is the next warm start.

A plan whenever one exists, within the time limit. The greedy plan (``optimizer.solver.greedy``) is
costed first, its decisions held and the power solved by HiGHS: about a second on the default
scenario, it is a plan whatever happens next. Relax-and-fix (the LP relaxation, then a small
restricted MILP) comes next; the LP relaxation alone takes ten seconds there, several times that
on a busy machine. HiGHS's full MILP starts from the better of the two plans. Every plan handed out
is HiGHS's solution of the whole model with some columns held, so it meets every row, and it is
marked with where it came from and with its gap against the best proven bound: HiGHS's dual bound,
the LP relaxation's optimum, or at least the bound the column bounds alone give.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from optimizer.constants import TOKENS_PER_PTOK, usd_per_mtok
from optimizer.inputs.scenario import ObjectiveOptions, SolverOptions
from optimizer.model import FactoryModel
from optimizer.model.buildout import BuildoutModel
from optimizer.solver.session import (
    DONE,
    INF,
    INFEASIBLE_STATUSES,
    OBJECTIVE_TARGET,
    OPTIMAL,
    OUT_OF_TIME,
    TIME_LIMIT,
    ModelSize,
    SolverSession,
    Status,
    status_name,
)
from optimizer.solver.stats import model_stats

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


class SolveError(RuntimeError):
    """The solver found no plan. Three kinds: the scenario is proven infeasible (``infeasible``),
    time ran out before any plan, HiGHS's, relax-and-fix's or the greedy's (``timed_out``), or
    neither: HiGHS stopped on numerical or other trouble."""

    def __init__(self, message: str, size: ModelSize, infeasible: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.size = size  # the model without a plan: a benchmark still reports its size
        self.infeasible = infeasible
        self.timed_out = timed_out

    def __reduce__(self) -> tuple[type[SolveError], tuple[str, ModelSize, bool, bool]]:
        # keeps size and reason across processes (a sweep or benchmark worker hands errors back)
        return SolveError, (str(self), self.size, self.infeasible, self.timed_out)


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


def _time_left(deadline: float) -> float:
    return deadline - time.perf_counter()


@dataclass
class _FirstPlan:
    """Relax-and-fix: the LP relaxation's status and optimum (a bound on every plan) and its plan."""

    lp_status: Status
    bound: float
    x: np.ndarray | None


def _relax_and_fix(session: SolverSession, deadline: float, stop_at: float) -> _FirstPlan:
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
    with session.relaxed():
        lp = session.solve_lp(_time_left(deadline))
    relaxed = lp.x if lp.status == OPTIMAL else None
    bound = lp.objective_value if relaxed is not None else -INF
    if relaxed is None:
        return _FirstPlan(lp.status, bound, None)
    restricted_deadline = time.perf_counter() + HEURISTIC_SHARE * _time_left(deadline)
    lower, upper = session.column_bounds()
    integer = session.integer
    whole = integer & (np.abs(relaxed - np.round(relaxed)) < WHOLE_TOLERANCE)
    binary = integer & (lower == 0) & (upper == 1)
    plan = None
    for fixed in (whole, whole & binary):
        plan = _restricted_plan(
            session, np.flatnonzero(fixed).astype(np.int32), np.round(relaxed), restricted_deadline, stop_at
        )
        if plan is not None or _time_left(restricted_deadline) <= 0:
            break
    return _FirstPlan(lp.status, bound, plan)


def _restricted_plan(
    session: SolverSession, fixed: np.ndarray, values: np.ndarray, deadline: float, target: float
) -> np.ndarray | None:
    """The MILP with columns ``fixed`` held at ``values``, solved tightly unless a plan reaches the
    caller's ``target`` first; its plan, or None."""
    if _time_left(deadline) <= 0:
        return None
    # the restricted MILP is small: solving it tightly hands the full MILP an incumbent close
    # enough to the root bound that the root cuts alone often prove the gap
    gap = float(session.option("mip_rel_gap")) * RESTRICTED_GAP_SHARE
    with session.held(fixed, values[fixed]), session.options(mip_rel_gap=gap, objective_target=target):
        return session.run(_time_left(deadline)).x


def _greedy_plan(fm: FactoryModel, session: SolverSession, deadline: float) -> np.ndarray | None:
    """The greedy plan costed by the model: its builds, coolings, racks and deliveries held, HiGHS
    chooses the power and its dispatch. None if the greedy has no plan or HiGHS none in time."""
    # optimizer.solver.greedy costs its own plans through solve(): imported here, a top-level import
    # would be circular
    from optimizer.solver.greedy import greedy_choice, greedy_decisions

    if _time_left(deadline) <= 0:
        return None
    try:
        choice = greedy_choice(fm.scenario, fm.inputs)
    except Exception:
        # a GreedyError, or a scenario the spreadsheet logic was not written for: either way the
        # solve goes on without this plan, as it did before the greedy ran first (the greedy's
        # own failures are tests/test_greedy.py's business)
        return None
    decided = [(j, value) for var, value in greedy_decisions(fm, choice) if (j := session.column(var)) is not None]
    fixed = np.array([j for j, _ in decided], dtype=np.int32)
    gap = max(float(session.option("mip_rel_gap")), FALLBACK_GAP)
    with session.held(fixed, np.array([value for _, value in decided])), session.options(mip_rel_gap=gap):
        return session.run(_time_left(deadline)).x


#: the plan of last resort, costed before any other: fallback(deadline) -> plan or None
Fallback = Callable[[float], np.ndarray | None]


@dataclass
class Outcome:
    """The best plan of one objective by its deadline, where it came from, and what bounds it."""

    status: Status
    """HiGHS's status of the full MILP; kOptimal or kObjectiveTarget when a plan before it already
    met the gap or the caller's target (no full MILP then); kTimeLimit when no time was left for it"""
    x: np.ndarray | None
    source: str
    bound: float
    """proven lower bound on the objective (without offsets) over every plan of the model"""


def _within_gap(session: SolverSession, value: float, bound: float) -> bool:
    """The plan of objective ``value`` is proven within HiGHS's relative or absolute MIP gap."""
    excess = value - bound
    abs_gap, rel_gap = float(session.option("mip_abs_gap")), float(session.option("mip_rel_gap"))
    return excess <= abs_gap or excess <= rel_gap * abs(value)


def _full_milp(
    session: SolverSession, start: np.ndarray | None, deadline: float, stop_at: float
) -> tuple[Status, np.ndarray | None, float]:
    """HiGHS's MILP of the whole model from ``start``: its status, plan (or None) and dual bound."""
    with session.options(objective_target=float(stop_at)):
        run = session.run(_time_left(deadline), start=start)
    return run.status, run.x, run.dual_bound


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

    def outcome(self, status: Status) -> Outcome:
        return Outcome(status, self.x, self.source, self.bound)


def _solve_within(
    session: SolverSession,
    objective: np.ndarray,
    deadline: float,
    warm_start: np.ndarray | None,
    stop_at: float = -INF,
    fallback: Fallback | None = None,
) -> Outcome:
    """The best plan at ``objective`` by ``deadline``; HiGHS stops early at a plan <= ``stop_at``.

    ``fallback`` (the greedy plan) is costed first, in ``GREEDY_SHARE`` of the time. Without a warm
    start (a hint HiGHS checks, not a plan known to be feasible) relax-and-fix follows. The first
    plan that meets the target, or the gap against the LP relaxation, is the answer; otherwise the
    full MILP starts from the best plan so far with the time left, and the cheapest plan wins.
    """
    session.set_objective(objective)
    best = _Best(objective, session.bound_from_columns(objective))
    if fallback is not None:
        best.offer(fallback(time.perf_counter() + GREEDY_SHARE * _time_left(deadline)), GREEDY)
        if best.value() <= stop_at:
            return best.outcome(OBJECTIVE_TARGET)
    if warm_start is None:
        first = _relax_and_fix(session, deadline, stop_at)
        if first.lp_status in INFEASIBLE_STATUSES and best.x is None:
            return best.outcome(first.lp_status)
        best.bound = max(best.bound, first.bound)
        best.offer(first.x, RELAX_AND_FIX)
    if best.value() <= stop_at:
        return best.outcome(OBJECTIVE_TARGET)
    if best.x is not None and _within_gap(session, best.value(), best.bound):
        return best.outcome(OPTIMAL)
    if _time_left(deadline) <= 0:
        return best.outcome(TIME_LIMIT)
    status, x, highs_bound = _full_milp(session, warm_start if best.x is None else best.x, deadline, stop_at)
    best.bound = max(best.bound, highs_bound)
    best.improve(x)
    return best.outcome(status)


def plan_within(
    session: SolverSession,
    objective: np.ndarray,
    time_left_s: float,
    warm_start: np.ndarray | None = None,
    stop_at: float = -INF,
) -> Outcome:
    """The best plan of ``session``'s model at ``objective`` within ``time_left_s``, as
    :func:`solve` finds it but without the greedy plan (the caller's model may not be the planning
    model): relax-and-fix unless ``warm_start`` is given, then HiGHS's MILP; stops early at a plan
    <= ``stop_at``."""
    return _solve_within(session, objective, time.perf_counter() + time_left_s, warm_start, stop_at)


def _relative_gap(cost: float, bound: float) -> float:
    """(cost - bound) / cost; no gap for a plan that costs nothing."""
    return (cost - bound) / abs(cost) if cost else 0.0


def _fail(status: Status, size: ModelSize, numerics: Sequence[str] = ()) -> SolveError:
    """The error for a solve without a plan; ``numerics`` names families outside the documented
    coefficient range (optimizer.solver.stats), the first suspects when HiGHS stops in trouble."""
    name = status_name(status)
    suspects = f"; coefficients outside the documented range: {'; '.join(numerics)}" if numerics else ""
    if status in INFEASIBLE_STATUSES:
        return SolveError(
            "no feasible plan: the scenario's demand, land, grid, latency, carbon, budget or supply limits "
            f"cannot all be met together (HiGHS status {name}){suspects}",
            size,
            infeasible=True,
        )
    if status in OUT_OF_TIME:
        return SolveError(
            f"time ran out before any plan, HiGHS's, relax-and-fix's or the greedy's (HiGHS status {name}); "
            f"raise solver.time_limit_s{suspects}",
            size,
            timed_out=True,
        )
    return SolveError(
        f"HiGHS stopped without a plan on numerical or other trouble (status {name})"
        f"{suspects or '; see aifactory stats'}",
        size,
    )


def solve(
    fm: FactoryModel | BuildoutModel,
    solver: SolverOptions,
    objective: ObjectiveOptions,
    good_enough_musd_per_yr: float | None = None,
    greedy_fallback: bool = True,
    start_from_values: bool = False,
) -> SolveResult:
    """Solve for least cost (serve_demand) or least cost per token (min_cost_per_token).

    ``good_enough_musd_per_yr`` (serve_demand only): stop at the first plan that costs no more,
    counted as optimal; a caller with its own lower bound sets it to bound / (1 - gap).
    ``greedy_fallback``: cost the greedy plan first, the plan of last resort (off when the greedy
    plan is itself what is being costed; a build-out has no greedy plan). ``start_from_values``
    (serve_demand): the model's variables already hold a plan (a myopic build-out's); HiGHS's MILP
    starts from it instead of relax-and-fix.
    """
    session = SolverSession.compile(fm, solver)
    numerics = model_stats(session).outside_range()
    started = time.perf_counter()
    deadline = started + solver.time_limit_s
    fallback = partial(_greedy_plan, fm, session) if greedy_fallback and isinstance(fm, FactoryModel) else None
    if objective.mode == "serve_demand":
        start = session.vector((var, var.value or 0.0) for var in session.columns) if start_from_values else None
        result, x = _least_cost(session, deadline, started, good_enough_musd_per_yr, fallback, numerics, start)
    else:
        demand_ptok = (
            fm.levelised_demand_ptok()
            if isinstance(fm, BuildoutModel)
            else fm.scenario.tables["demand"]["tokens_per_yr"].sum() / TOKENS_PER_PTOK
        )
        floor_ptok = objective.min_demand_share * demand_ptok
        result, x = _dinkelbach(session, objective, deadline, started, floor_ptok, solver.mip_gap, fallback, numerics)
    result.numerics_warnings = numerics
    session.write_back(x)
    return result


def _least_cost(
    session: SolverSession,
    deadline: float,
    started: float,
    good_enough_musd_per_yr: float | None,
    fallback: Fallback | None,
    numerics: list[str],
    start: np.ndarray | None = None,
) -> tuple[SolveResult, np.ndarray]:
    """serve_demand: the least-cost plan by the deadline, its gap against the best proven bound;
    ``start``: a plan HiGHS's MILP starts from (no relax-and-fix then)."""
    stop_at = -INF if good_enough_musd_per_yr is None else good_enough_musd_per_yr - session.cost_offset
    outcome = _solve_within(session, session.cost, deadline, start, stop_at, fallback)
    if outcome.x is None:
        raise _fail(outcome.status, session.size, numerics)
    cost = float(session.cost @ outcome.x + session.cost_offset)
    bound = min(outcome.bound + session.cost_offset, cost)  # a plan at its bound may sit a rounding below it
    proven = outcome.status in DONE or _within_gap(session, cost, bound)
    result = SolveResult(
        status="optimal" if proven else "time_limit_feasible",
        highs_status=status_name(outcome.status),
        mip_gap=_relative_gap(cost, bound),
        cost_musd_per_yr=cost,
        delivered_ptok_per_yr=float(session.tokens @ outcome.x + session.tokens_offset),
        handoff_s=session.handoff_s,
        solve_s=time.perf_counter() - started,
        size=session.size,
        cost_lower_bound_musd_per_yr=bound,
        plan_source=outcome.source,
    )
    return result, outcome.x


def _dinkelbach(
    session: SolverSession,
    objective: ObjectiveOptions,
    deadline: float,
    started: float,
    floor_ptok: float,
    objective_gap: float,
    fallback: Fallback | None,
    numerics: list[str],
) -> tuple[SolveResult, np.ndarray]:
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
        step_objective = session.cost - lam * session.tokens
        with session.options(**gaps):
            outcome = _solve_within(session, step_objective, step_deadline, warm, fallback=None if steps else fallback)
        # every step's bound holds at its own lambda: the best of them bounds the ratio
        last, lambda_bound = outcome, max(lambda_bound, _ratio_bound(session, outcome, lam, floor_ptok))
        if outcome.x is None:
            break
        x = outcome.x
        cost = float(session.cost @ x + session.cost_offset)
        tokens = float(session.tokens @ x + session.tokens_offset)
        residual = cost - lam * tokens
        step_gap = (float(step_objective @ x) - outcome.bound) / max(abs(cost), 1e-9)
        steps.append(
            DinkelbachStep(
                iteration, usd_per_mtok(lam, 1.0), cost, tokens, residual, step_gap, time.perf_counter() - step_started
            )
        )
        if tokens > 0 and (best is None or cost / tokens < best[0]):
            best = (cost / tokens, x, outcome.source)
        warm = x
        if len(steps) > 1 and outcome.status != OPTIMAL:
            break
        if iteration > 1 and residual >= -objective.dinkelbach_tolerance * max(abs(cost), 1.0):
            proven = True
            break
        lam = cost / tokens
    if best is None or last is None:  # a plan (best) comes with the step that found it (last)
        raise _fail(last.status if last is not None else TIME_LIMIT, session.size, numerics)
    _, x_best, source = best
    cost = float(session.cost @ x_best + session.cost_offset)
    tokens = float(session.tokens @ x_best + session.tokens_offset)
    # the gap of the ratio: what these tokens would cost at the bound, against what they cost
    cost_at_bound = min(lambda_bound * tokens, cost)
    gap = _relative_gap(cost, cost_at_bound)
    result = SolveResult(
        status="optimal" if proven or gap <= objective_gap else "time_limit_feasible",
        highs_status=status_name(last.status),
        mip_gap=gap,
        cost_musd_per_yr=cost,
        delivered_ptok_per_yr=tokens,
        handoff_s=session.handoff_s,
        solve_s=time.perf_counter() - started,
        size=session.size,
        iterations=steps,
        lambda_lower_bound_usd_per_mtok=usd_per_mtok(cost_at_bound / tokens, 1.0),
        plan_source=source,
    )
    return result, x_best


def _ratio_bound(session: SolverSession, step: Outcome, lam: float, floor_ptok: float) -> float:
    """lambda + LB / floor (M$/Ptok) from one step at ``lam``; 0 (costs are never negative) when
    the step has no finite bound or no plan need deliver tokens."""
    step_bound = step.bound + session.cost_offset - lam * session.tokens_offset
    if not np.isfinite(step_bound) or floor_ptok <= 0:
        return 0.0
    return max(lam + min(step_bound, 0.0) / floor_ptok, 0.0)
