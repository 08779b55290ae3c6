"""An exact check of the MILP's optimum: enumerate the site sets explicitly, not by HiGHS's branching.

The hard decisions of a plan are which sites to build; once they are fixed the rest of the MILP
(cooling choice, plant units, racks) is much smaller. So the least cost over all plans is the
least, over every non-empty set of candidate sites, of the MILP with the builds fixed to that set.
Enumerating the sets ourselves gives an optimum that does not rely on HiGHS's branch-and-bound
over sites; bounds only skip sets that provably cannot beat the best plan found (the incumbent):

1. **Incumbent.** The MILP with all sites free, at a 1e-4 gap, gives the first best plan.
2. **Site exclusion.** For each site s, the LP relaxation with build[s] = 1 (the other builds free
   in [0, 1]) bounds every set containing s; a site whose bound exceeds the incumbent is in no
   better plan and stays unbuilt in every set below.
3. **Set bounds.** For every non-empty set of the remaining sites, the LP relaxation with the
   builds fixed (1 in the set, 0 outside) bounds that set's MILP. The sets are visited in Gray-code
   order, so each LP differs from the last by one bound and the simplex starts from its basis.
4. **Set MILPs.** In increasing order of their LP bound, each set is solved as a MILP with its
   builds fixed, cut off at the incumbent less ``set_gap``: HiGHS either finds a cheaper plan (the
   new incumbent, proven within ``set_gap``) or proves there is none below the cutoff. Once the
   next LP bound reaches the cutoff, that set and all after it are pruned (an infeasible LP prunes
   its set as well). Two worker processes solve sets side by side.

Each process builds and compiles the model once; each step only moves the bounds of the build
columns of its HiGHS instance. The answer is an interval: the best plan found, and a lower bound
no plan beats (the least over the sets of their dual bound, or of the cutoff they were solved or
pruned against). The interval is at most ``set_gap`` wide. Why not 1e-6: with integer racks and
plant units a set's MILP reaches ~1.5e-5 in about a minute and then stalls (measured: 1e-6 not reached in 300 s).
On the late-2026 data both 10-site cases (8 and 16 days) finish in under 90 s at the default set
gap; on the earlier 24-site data the 16-day case needed ``--set-gap 1e-3`` to fit in 2 h (96 set
MILPs in 70 minutes), because its cheapest sites were close in cost and few sets could be pruned.

Usage::

    python benchmarks/exact.py SCENARIO.yaml [--time-limit 7200] [--set-gap 1e-4] [--out CSV]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from optimizer.inputs.scenario import Scenario, load_scenario
from optimizer.model import FactoryModel, build_model
from optimizer.solver.milp import solve
from optimizer.solver.session import (
    INFEASIBLE_STATUSES,
    OBJECTIVE_BOUND,
    OPTIMAL,
    TIME_LIMIT,
    SolverSession,
    status_name,
)

#: gap of the first incumbent, the MILP with all sites free
INCUMBENT_GAP = 1e-4
#: default gap of each set's MILP with its builds fixed: the width of the exact interval
SET_GAP = 1e-4
#: processes solving site-set MILPs side by side (the machine's 2 cores)
SET_WORKERS = 2
#: relative tolerance of the comparison with the plain MILP
AGREEMENT_TOLERANCE = 1e-6
#: statuses meaning "no plan (below the cutoff)"; costs are bounded below, so "unbounded or
#: infeasible" is infeasible
NO_PLAN = (*INFEASIBLE_STATUSES, OBJECTIVE_BOUND)


@dataclass
class ExactResult:
    """The optimum found by enumerating site sets, and how the plain MILP compares with it."""

    optimum_musd_per_yr: float
    """the cheapest plan over all site sets (an upper bound on the optimum)"""
    optimum_lower_bound_musd_per_yr: float
    """no plan costs less; at most ``set_gap`` below the optimum"""
    sites: list[str]
    candidate_sites: int
    excluded_sites: list[str]
    """sites whose LP bound with build = 1 exceeds the first incumbent less ``set_gap``: built in no set"""
    subsets: int
    """non-empty sets of the remaining sites, each bounded by its LP"""
    pruned_by_lp: int
    solved_as_milp: int
    set_gap: float
    exact_s: float
    lp_s: float
    """steps 1-3: the first incumbent, site exclusion and every set's LP bound"""
    set_milps_s: float
    milp_cost_musd_per_yr: float
    milp_lower_bound_musd_per_yr: float
    milp_gap: float
    milp_s: float
    milp_within_gap: bool
    """the exact interval lies within [MILP dual bound, MILP cost], up to AGREEMENT_TOLERANCE"""


class _SiteFixer:
    """One compiled model whose build columns are fixed or freed between HiGHS runs."""

    def __init__(self, session: SolverSession, build_column: dict[str, int], deadline: float) -> None:
        self.session, self.build_column, self.deadline = session, build_column, deadline
        self.x: np.ndarray | None = None
        """the last run's plan"""

    def set_builds(self, values: dict[str, tuple[float, float]]) -> None:
        """Move the (lower, upper) bounds of the named sites' build columns."""
        columns = np.array([self.build_column[s] for s in values], dtype=np.int32)
        lower = np.array([v[0] for v in values.values()], dtype=float)
        upper = np.array([v[1] for v in values.values()], dtype=float)
        self.session.set_column_bounds(columns, lower, upper)

    def run(self, mip_gap: float, cutoff_musd: float = np.inf) -> tuple[float, float]:
        """Solve as the model stands: (cost of the plan, dual bound), M$/yr; infinite if no plan.

        With a cutoff HiGHS prunes against it as against an incumbent, so unless its plan beats
        the cutoff its reported bound only means "no plan below the cutoff" (measured: it may
        report a plan above the cutoff with that plan's cost as "dual bound"); the caller bounds
        the set by the cutoff then. Out of time is an error, not a weaker answer: a check that
        did not finish proves nothing.
        """
        session = self.session
        time_left_s = self.deadline - time.perf_counter()
        if time_left_s <= 0:
            raise TimeoutError("the exact enumeration ran out of time; raise --time-limit or use fewer sites")
        with session.options(mip_rel_gap=mip_gap, objective_bound=cutoff_musd - session.cost_offset):
            run = session.run(time_left_s)
        self.x = run.x
        if run.status in NO_PLAN:
            return np.inf, np.inf
        if run.status == TIME_LIMIT:
            raise TimeoutError("the exact enumeration ran out of time; raise --time-limit or use fewer sites")
        if run.status != OPTIMAL:
            raise RuntimeError(f"HiGHS stopped with status {status_name(run.status)} during the exact enumeration")
        cost = run.objective_value + session.cost_offset
        return cost, run.dual_bound + session.cost_offset

    def built_sites(self) -> list[str]:
        return [s for s, i in self.build_column.items() if self.x[i] > 0.5]


def _build_columns(fm: FactoryModel, session: SolverSession) -> dict[str, int]:
    """Column of each site's build binary; sites the scenario fixes unbuilt have none."""
    return session.columns_of(fm.infrastructure.build)


def _excluded_sites(fixer: _SiteFixer, cutoff_musd: float) -> list[str]:
    """Sites whose LP bound with build = 1 exceeds the cutoff (call with the model relaxed)."""
    excluded = []
    for s in fixer.build_column:
        fixer.set_builds({s: (1.0, 1.0)})
        bound_musd, _ = fixer.run(0.0)
        fixer.set_builds({s: (0.0, 1.0)})
        if bound_musd > cutoff_musd:
            excluded.append(s)
    return excluded


def _set_lp_bounds(fixer: _SiteFixer, sites: list[str]) -> list[tuple[float, tuple[str, ...]]]:
    """LP bound of every non-empty subset of ``sites`` (builds fixed), visited in Gray-code order.

    Consecutive Gray codes differ in one bit, so each LP moves one build bound and HiGHS's simplex
    restarts from the previous basis. Call with the model relaxed and ``sites`` fixed to 0.
    """
    bounds = []
    chosen = [False] * len(sites)
    for i in range(1, 2 ** len(sites)):
        flipped = (i & -i).bit_length() - 1  # the bit that changes from Gray code i-1 to i
        chosen[flipped] = not chosen[flipped]
        value = 1.0 if chosen[flipped] else 0.0
        fixer.set_builds({sites[flipped]: (value, value)})
        bound_musd, _ = fixer.run(0.0)
        bounds.append((bound_musd, tuple(s for s, c in zip(sites, chosen) if c)))
    return bounds


@dataclass
class _Enumeration:
    """What the enumeration knows so far: the best plan, the bound below every plan, the counts."""

    optimum_musd: float
    lower_musd: float
    sites: list[str]
    candidates: int
    excluded: list[str]
    set_gap: float
    subsets: int = 0
    solved: int = 0
    lp_s: float = 0.0
    milp_s: float = 0.0

    @property
    def cutoff_musd(self) -> float:
        """A set is worth solving only if it may hold a plan below this: the interval's low end."""
        return self.optimum_musd * (1 - self.set_gap)

    def record(self, chosen: tuple[str, ...], cutoff_musd: float, cost_musd: float, dual_musd: float) -> None:
        """One set's MILP, solved against ``cutoff_musd``: a cheaper plan, or none below the cutoff.

        When HiGHS beat the cutoff the set's plans cost at least its dual bound (proven within
        ``set_gap`` of the plan); otherwise they cost at least the cutoff.
        """
        self.solved += 1
        beat_cutoff = cost_musd < cutoff_musd
        self.lower_musd = min(self.lower_musd, dual_musd if beat_cutoff else cutoff_musd)
        if beat_cutoff and cost_musd < self.optimum_musd:
            self.optimum_musd, self.sites = cost_musd, list(chosen)


#: the set MILPs run in separate processes: HiGHS MIP instances are not safe to run side by side in
#: one process (ERGO-Code/HiGHS#810, #3141), and each process builds its own model once
_worker_fixer: _SiteFixer | None = None


def _start_worker(scenario: Scenario) -> None:
    global _worker_fixer
    fm = build_model(scenario)
    session = SolverSession.compile(fm, scenario.solver)
    _worker_fixer = _SiteFixer(session, _build_columns(fm, session), deadline=0.0)


def _solve_set_in_worker(
    builds: dict[str, tuple[float, float]], set_gap: float, cutoff_musd: float, time_left_s: float
) -> tuple[float, float]:
    _worker_fixer.deadline = time.perf_counter() + time_left_s
    _worker_fixer.set_builds(builds)
    return _worker_fixer.run(set_gap, cutoff_musd)


def _solve_sets(scenario: Scenario, candidates: list[str], bounds, found: _Enumeration, deadline: float) -> None:
    """MILP of each set in increasing LP bound, on ``SET_WORKERS`` processes, until the bound reaches the cutoff.

    Every candidate outside the set, excluded ones too, is fixed unbuilt. Each set is solved against
    the cutoff known when it is handed out; a later, lower cutoff only prunes more, so a set solved
    against an older one is still correctly bounded. Updates ``found``.
    """
    queue = sorted(bounds)
    running = {}
    context = multiprocessing.get_context(
        "spawn"
    )  # a forked child would inherit HiGHS's thread pool without its threads
    columns = (
        TextColumn("site-set MILPs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("best {task.fields[best]:,.2f} M$/yr"),
    )
    with (
        ProcessPoolExecutor(SET_WORKERS, context, initializer=_start_worker, initargs=(scenario,)) as pool,
        Progress(*columns, transient=True) as progress,
    ):
        task = progress.add_task("sets", total=None, best=found.optimum_musd)
        while queue or running:
            while queue and len(running) < SET_WORKERS and queue[0][0] < found.cutoff_musd:
                _, chosen = queue.pop(0)
                builds = {s: (1.0, 1.0) if s in chosen else (0.0, 0.0) for s in candidates}
                time_left_s = deadline - time.perf_counter()
                future = pool.submit(_solve_set_in_worker, builds, found.set_gap, found.cutoff_musd, time_left_s)
                running[future] = (chosen, found.cutoff_musd)
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                chosen, cutoff_musd = running.pop(future)
                try:
                    cost_musd, dual_musd = future.result()
                except TimeoutError as error:
                    waiting = sum(b < found.cutoff_musd for b, _ in queue) + len(running)
                    raise TimeoutError(
                        f"{error} ({found.solved} site sets solved as MILPs, "
                        f"{waiting} more with an LP bound below the cutoff)"
                    ) from None
                found.record(chosen, cutoff_musd, cost_musd, dual_musd)
            total = found.solved + len(running) + sum(b < found.cutoff_musd for b, _ in queue)
            progress.update(task, completed=found.solved, total=total, best=found.optimum_musd)
    # every set left in the queue has an LP bound at or above the cutoff
    found.lower_musd = min(found.lower_musd, found.cutoff_musd)


def _enumerate(scenario: Scenario, deadline: float, set_gap: float) -> _Enumeration:
    """Steps 1-4 of the module docstring; steps 1-3 on one compiled model, step 4 on worker processes."""
    started = time.perf_counter()
    fm = build_model(scenario)
    session = SolverSession.compile(fm, scenario.solver)
    fixer = _SiteFixer(session, _build_columns(fm, session), deadline)
    incumbent_musd, _ = fixer.run(INCUMBENT_GAP)
    incumbent_sites = fixer.built_sites()
    with session.relaxed():
        excluded = _excluded_sites(fixer, incumbent_musd * (1 - set_gap))
        found = _Enumeration(incumbent_musd, np.inf, incumbent_sites, len(fixer.build_column), excluded, set_gap)
        remaining = [s for s in fixer.build_column if s not in excluded]
        fixer.set_builds({s: (0.0, 0.0) for s in fixer.build_column})
        bounds = _set_lp_bounds(fixer, remaining)
    found.subsets = len(bounds)
    found.lp_s = time.perf_counter() - started
    candidates = list(fixer.build_column)
    del fixer, session, fm  # the workers build their own
    _solve_sets(scenario, candidates, bounds, found, deadline)
    found.milp_s = time.perf_counter() - started - found.lp_s
    return found


def _within(lower_musd: float, value_musd: float, upper_musd: float) -> bool:
    tolerance_musd = AGREEMENT_TOLERANCE * abs(value_musd)
    return lower_musd - tolerance_musd <= value_musd <= upper_musd + tolerance_musd


def exact_optimum(scenario: Scenario, time_limit_s: float = 7200.0, set_gap: float = SET_GAP) -> ExactResult:
    """Least cost of a serve_demand scenario by enumerating site sets, and the plain MILP beside it.

    The MILP is confirmed when both ends of the exact interval lie between its dual bound and its
    cost: its bound is then no higher than the optimum, and no site set beats its plan by more
    than ``set_gap``. Raises TimeoutError when the enumeration does not finish within
    ``time_limit_s`` (the plain MILP runs afterwards under the scenario's own solver options).
    """
    if scenario.objective.mode != "serve_demand":
        raise ValueError("the exact check enumerates least-cost plans: objective.mode must be serve_demand")
    started = time.perf_counter()
    found = _enumerate(scenario, started + time_limit_s, set_gap)
    exact_s = time.perf_counter() - started

    started = time.perf_counter()
    milp = solve(build_model(scenario), scenario.solver, scenario.objective)
    milp_s = time.perf_counter() - started
    milp_lower_musd, milp_cost_musd = milp.cost_lower_bound_musd_per_yr, milp.cost_musd_per_yr
    return ExactResult(
        optimum_musd_per_yr=found.optimum_musd,
        optimum_lower_bound_musd_per_yr=found.lower_musd,
        sites=sorted(found.sites),
        candidate_sites=found.candidates,
        excluded_sites=found.excluded,
        subsets=found.subsets,
        pruned_by_lp=found.subsets - found.solved,
        solved_as_milp=found.solved,
        set_gap=set_gap,
        exact_s=exact_s,
        lp_s=found.lp_s,
        set_milps_s=found.milp_s,
        milp_cost_musd_per_yr=milp_cost_musd,
        milp_lower_bound_musd_per_yr=milp_lower_musd,
        milp_gap=milp.mip_gap,
        milp_s=milp_s,
        milp_within_gap=_within(milp_lower_musd, found.lower_musd, milp_cost_musd)
        and _within(milp_lower_musd, found.optimum_musd, milp_cost_musd * (1 + set_gap)),
    )


def _table(result: ExactResult, name: str) -> Table:
    table = Table(title=f"exact optimum by site-set enumeration: {name}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = {
        "candidate sites": result.candidate_sites,
        "excluded by LP with build = 1": len(result.excluded_sites),
        "subsets bounded by LP": result.subsets,
        "pruned by LP": result.pruned_by_lp,
        "solved as MILP": result.solved_as_milp,
        "exact optimum, M$/yr": f"{result.optimum_musd_per_yr:,.4f}",
        "exact lower bound, M$/yr": f"{result.optimum_lower_bound_musd_per_yr:,.4f}",
        "interval width": f"{1 - result.optimum_lower_bound_musd_per_yr / result.optimum_musd_per_yr:.2e}",
        "optimal sites": ", ".join(result.sites),
        "exact time, s": f"{result.exact_s:.1f}",
        "  incumbent + LP bounds, s": f"{result.lp_s:.1f}",
        f"  set MILPs on {SET_WORKERS} processes, s": f"{result.set_milps_s:.1f}",
        "MILP cost, M$/yr": f"{result.milp_cost_musd_per_yr:,.4f}",
        "MILP dual bound, M$/yr": f"{result.milp_lower_bound_musd_per_yr:,.4f}",
        "MILP gap": f"{result.milp_gap:.3%}",
        "MILP plan above the exact lower bound": (
            f"{1 - result.optimum_lower_bound_musd_per_yr / result.milp_cost_musd_per_yr:.4%}"
        ),
        "MILP time, s": f"{result.milp_s:.1f}",
        "MILP within its gap of the optimum": "yes" if result.milp_within_gap else "NO",
    }
    for quantity, value in rows.items():
        table.add_row(quantity, str(value))
    return table


def _write_row(result: ExactResult, name: str, out: Path) -> None:
    """Put the result in ``out`` as the row of scenario ``name``, replacing an earlier run of it."""
    row = {"scenario": name, **asdict(result)}
    row["sites"] = "; ".join(row["sites"])
    row["excluded_sites"] = "; ".join(row["excluded_sites"])
    earlier = pd.read_csv(out) if out.exists() else pd.DataFrame(columns=list(row))
    frame = pd.concat([earlier[earlier["scenario"] != name], pd.DataFrame([row])], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--time-limit", type=float, default=7200.0, help="seconds for the enumeration")
    parser.add_argument("--set-gap", type=float, default=SET_GAP, help="MIP gap of each site set's MILP")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "exact.csv",
        help="CSV with a row per scenario checked",
    )
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    try:
        result = exact_optimum(scenario, args.time_limit, args.set_gap)
    except TimeoutError as error:
        raise SystemExit(f"{scenario.name}: {error}") from None
    Console().print(_table(result, scenario.name))
    _write_row(result, scenario.name, args.out)


if __name__ == "__main__":
    main()
