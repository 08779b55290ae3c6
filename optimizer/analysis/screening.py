"""Long lists of candidate sites: a relaxation bounds every plan, the full model plans a shortlist.

A planner's long list has hundreds to thousands of parcels; the full model of all of them is too
big to solve (1,000 sites at 8 representative days: ~3.8 M variables), and so is its LP relaxation
at once (200 sites did not finish in 13 minutes). Four steps keep the answer exact:

1. **Block relaxation.** Each representative day's hours are merged into blocks of a few hours
   and every integer is relaxed. It is a relaxation of the full model, not an approximation: a
   block's capacity factors are its hours' means (the per-hour rows summed), its grid price and
   CO2 rate the lowest of its hours and its grid carbon-free share the highest, its temperatures
   the lowest (so the facility needs no more power than in its coolest hour; checked against the
   hourly PUE), storage is kept within its
   energy at block ends, and water limits are dropped.
2. **Column generation over sites.** The relaxation of a shortlist (the greedy ranking's best,
   covering every demand's latency reach) gives a price for each demand. At those prices every
   other site is *priced* on its own: its least cost less the value of what it could deliver, in
   the relaxation with demand priced instead of required (sites are then independent, so one LP
   per batch of sites). Sites that would profit join the shortlist and the round repeats.
3. **Lower bound (Lagrangian).** For any prices, the shortlist's relaxed optimum plus every
   other site's negative reduced cost bounds every plan over all candidates from below; the
   bound is exact for the relaxation once no site profits.
4. **Plan.** The sites the relaxation builds, plus the next ones, are solved with the full
   model on the full model's own representative days (the restricted model is the full model
   with the other sites left unbuilt), so its plan is a plan of the full problem. gap =
   (plan - bound) / plan is a true optimality gap over all candidates; the planning MILP stops
   as soon as that gap is within the one asked for (HiGHS's objective target).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.constants import usd_per_mtok
from optimizer.inputs.blocks import BLOCK_HOURS, block_relaxation
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario, ScenarioError, YearChange
from optimizer.model import FactoryModel, build_model
from optimizer.solver.greedy import site_ranking
from optimizer.solver.milp import SolveResult, solve
from optimizer.solver.session import OPTIMAL, TIME_LIMIT, Run, SolverSession, status_name

#: price of demand a shortlist cannot serve, M$/yr per Ptok/yr ($10/Mtok: ~100x a plan's cost)
UNSERVED_MUSD_PER_PTOK = 1e4
#: sites of the greedy ranking in the first shortlist (more are added to cover every demand)
FIRST_SHORTLIST_SITES = 16
#: sites of the first shortlist within reach of each demand: a demand whose only reachable site is
#: full gets the unserved price, and so would make every site within its reach look profitable
FIRST_SITES_PER_DEMAND = 3
#: sites added to the shortlist per round, most profitable first
SITES_ADDED_PER_ROUND = 12
#: rounds of pricing at most
PRICING_ROUNDS = 4
#: stop pricing once the other sites' reduced costs sum to less than this share of the bound (they
#: still count in it: a true bound, a little below the relaxation of all sites)
PRICING_TOLERANCE = 1e-3
#: sites solved with the full model beyond those the relaxation builds (next in the ranking)
EXTRA_PLANNED_SITES = 4
#: the planning MILP's own gap as a share of the gap asked for: it runs on until its plan is within
#: the gap asked for of the bound over all sites (most of that gap is the relaxation's), or this
PLANNING_GAP_SHARE = 0.1
#: pricing LPs solved at once (each HiGHS dual simplex is serial; the machine has 2 cores)
PRICING_THREADS = 2
#: a site counts as built in the relaxation above this build share
BUILT_IN_RELAXATION = 1e-4


@dataclass
class ScreenedPlan:
    """The shortlist's plan of the full model and its proven distance from the best plan."""

    fm: FactoryModel
    result: SolveResult
    planned_sites: list[str]
    """candidates the full model planned"""
    shortlist: list[str]
    """candidates in the last relaxation solved with demand required"""
    upper_musd_per_yr: float
    lower_musd_per_yr: float
    """proven lower bound on the cost of every plan over all candidate sites"""
    gap: float
    """(plan cost - lower bound) / plan cost over all candidate sites"""
    relaxation_musd_per_yr: float
    other_sites_reduced_cost_musd_per_yr: float
    """sum of the other sites' negative reduced costs at the last prices (0: none would profit)"""
    rounds: int
    candidate_sites: int
    bound_s: float
    plan_s: float
    priced_variables: int
    """variables of the largest pricing LP batch"""


@dataclass
class _BlockLP:
    """The block relaxation of a scenario, built and compiled with every integer relaxed."""

    fm: FactoryModel
    session: SolverSession
    demand_rows: pyo.Constraint | None
    """delivered + unserved == demand of each (region, workload), with demand required (else None)"""


#: rules of the model to drop before it is relaxed (a relaxation of the model stays a relaxation)
Relax = Callable[[FactoryModel], None]


def _lp_of(scenario: Scenario, block_h: int, demand_required: bool = True, relax: Relax | None = None) -> _BlockLP:
    """The block relaxation of ``scenario``, built and compiled with every integer relaxed.

    With demand required, demand the sites cannot serve is left unserved at a penalty (so a
    shortlist short of capacity still prices demand, dearly); without, demand rows are dropped.
    ``relax`` drops further rules of the built model first (a build-out year's own rules).
    """
    relaxed = block_relaxation(unserved_priced(scenario) if demand_required else scenario, block_h)
    fm = build_model(relaxed)
    if relax is not None:
        relax(fm)
    rows = _demand_served(fm)
    if not demand_required:
        rows.deactivate()
    return _BlockLP(fm, SolverSession.compile(fm, relaxed.solver, relaxed=True), rows if demand_required else None)


def _demand_served(fm: FactoryModel) -> pyo.Constraint:
    """The model's demand rows (delivered, and unserved where it is priced, equal each demand;
    screening plans serve_demand scenarios)."""
    if fm.applications.minimum_delivery is not None:
        raise ScenarioError(f"{fm.scenario.source}: screening plans least cost: objective.mode must be serve_demand")
    return fm.applications.demand_rows


def unserved_priced(scenario: Scenario) -> Scenario:
    """The scenario with unserved demand priced, at ``UNSERVED_MUSD_PER_PTOK`` where it is not: a
    relaxation that keeps a shortlist's LP feasible and its demand rows priced.

    The penalty is a fictitious supplier priced above any demand's dual, so its own reduced cost is
    >= 0 and it adds nothing to the Lagrangian bound. A scenario that prices unserved demand itself
    (``objective.unserved_usd_per_mtok``) keeps its own, cheaper price."""
    if scenario.objective.unserved_usd_per_mtok is not None:
        return scenario
    penalty = usd_per_mtok(UNSERVED_MUSD_PER_PTOK, 1.0)
    objective = dataclasses.replace(scenario.objective, unserved_usd_per_mtok=penalty)
    return dataclasses.replace(scenario, objective=objective)


class LPOutOfTime(RuntimeError):
    """An LP of screening ran out of its time before its optimum (so it bounds nothing yet)."""


def dual_simplex(session: SolverSession, cost: np.ndarray, time_limit_s: float, what: str) -> Run:
    """Solve an LP at ``cost`` to optimality by HiGHS's dual simplex (from the last basis, if any;
    primal simplex if it stalls: :meth:`~optimizer.solver.session.SolverSession.solve_lp`).

    Measured on a 100-site pricing LP (99k columns): dual simplex 5.7 s, interior point with
    crossover 62 s, PDLP 733 s.
    """
    run = session.solve_lp(max(time_limit_s, 1.0), objective=cost)
    if run.status == TIME_LIMIT:
        raise LPOutOfTime(
            f"the {what} did not solve to optimality in {max(time_limit_s, 1.0):.0f} s; raise solver.time_limit_s"
        )
    if run.status != OPTIMAL:
        raise RuntimeError(
            f"the {what} did not solve to optimality (HiGHS {status_name(run.status)}); raise solver.time_limit_s"
        )
    return run


@dataclass
class MasterLP:
    """The block relaxation over the shortlist: its optimum and the price of each demand."""

    cost_musd_per_yr: float
    prices_musd_per_ptok: pd.Series
    """dual of each (region, workload) demand: what one more Ptok would cost, M$/yr per Ptok/yr"""
    build: pd.Series
    """relaxed build share of each shortlisted site"""
    seconds: float


def master_lp(
    scenario: Scenario, sites: list[str], block_h: int, time_limit_s: float, relax: Relax | None = None
) -> MasterLP:
    """Block relaxation of the shortlist and the duals of its demand rows."""
    started = time.perf_counter()
    lp = _lp_of(scenario.with_sites(sites), block_h, relax=relax)
    session, demand_rows = lp.session, lp.demand_rows
    if demand_rows is None:
        raise AssertionError("the block relaxation with demand required has its demand rows")
    run = dual_simplex(session, session.cost, time_limit_s, "block relaxation of the shortlist")
    x = run.x
    if x is None:
        raise AssertionError("an optimal LP run has a solution")
    cost = run.objective_value + session.cost_offset
    row_dual = session.row_duals()
    prices = pd.Series({key: row_dual[session.row(row)] for key, row in demand_rows.items()})
    prices.index.names = ["region_id", "workload_id"]
    build = pd.Series({s: x[j] for s, j in session.columns_of(lp.fm.infrastructure.build).items()})
    return MasterLP(cost, prices, build, time.perf_counter() - started)


def site_of_columns(session: SolverSession, sites: list[str]) -> np.ndarray:
    """Position in ``sites`` of the site each column belongs to: the site its index names, wherever
    in the index (a build-out's vintages lead with their build year); -1: none."""
    where = {s: i for i, s in enumerate(sites)}
    out = np.full(len(session.columns), -1, dtype=np.int64)
    for j, var in enumerate(session.columns):
        index = var.index()
        for part in index if isinstance(index, tuple) else (index,):
            if part in where:
                out[j] = where[part]
                break
    return out


def check_sites_separate(session: SolverSession, site_of: np.ndarray, what: str) -> None:
    """Raise unless the LP falls apart by site: every costed column belongs to one site and no row
    holds columns of two sites (so the batch's optimum is the sum of its sites' own optima)."""
    if (site_of < 0).any() and np.abs(session.cost[site_of < 0]).max() > 0:
        raise RuntimeError(f"{what} needs every costed column to belong to one site")
    rows, columns = session.nonzero_positions()
    mine = site_of[columns] >= 0
    pairs = np.unique(np.stack([rows[mine], site_of[columns[mine]]]), axis=1)
    joined = np.flatnonzero(np.bincount(pairs[0], minlength=session.size.constraints) > 1)
    if joined.size:
        raise RuntimeError(f"{what}: {joined.size} rows join sites (the first: {session.row_names([joined[0]])[0]})")


#: constraint options whose rows join sites (screening's pricing leaves them out; the master keeps them)
JOINING_CONSTRAINTS = ("carbon_cap_t_per_yr", "capex_budget_usd")
#: builds the pricing LP of a batch of sites: (scenario, sites, block hours, relax) -> batch
MakeBatch = Callable[[Scenario, list[str], int, "Relax | None"], "PricingBatch"]


@dataclass
class SitePricing:
    """Each site's best profit at given demand prices, in the block relaxation (<= 0 is no profit)."""

    reduced_cost_musd_per_yr: pd.Series
    """min over the site's own plans of cost - prices x deliveries; 0 when no plan of it pays"""
    variables: int
    """of the largest batch's LP"""
    nonzeros: int
    seconds: float


@dataclass
class PricingBatch:
    """One batch's pricing LP in HiGHS, kept between rounds: only the demand prices change."""

    sites: list[str]
    session: SolverSession
    cost: np.ndarray
    """cost of each column without the value of deliveries, M$/yr per unit"""
    delivered_columns: np.ndarray
    delivered_keys: list[tuple[Hashable, ...]]
    """the demand (its index in the prices) each delivered column serves"""
    site_of: np.ndarray
    """position in ``sites`` of each column's site"""
    variables: int
    nonzeros: int


def pricing_batch(scenario: Scenario, sites: list[str], block_h: int, relax: Relax | None) -> PricingBatch:
    """The pricing LP of a batch of sites in one year: its block relaxation, demand dropped."""
    lp = _lp_of(uncoupled(scenario.with_sites(sites)), block_h, demand_required=False, relax=relax)
    session, applications = lp.session, lp.fm.applications
    routes: list[tuple[int, tuple[Hashable, ...]]] = [
        (j, (r, w))
        for s, r, w in applications.routes
        if (j := session.column(applications.delivered_ptok[s, r, w])) is not None
    ]
    return batch_of(session, sites, routes, "site pricing")


def batch_of(
    session: SolverSession, sites: list[str], routes: list[tuple[int, tuple[Hashable, ...]]], what: str
) -> PricingBatch:
    """A compiled pricing LP as a batch: ``routes`` are its delivered columns, each with its demand's
    key in the prices; checked to fall apart by site first."""
    site_of = site_of_columns(session, sites)
    check_sites_separate(session, site_of, what)
    return PricingBatch(
        sites,
        session,
        session.cost.copy(),
        np.array([j for j, _ in routes], dtype=np.int64),
        [key for _, key in routes],
        site_of,
        session.size.variables,
        session.size.nonzeros,
    )


class SitePricer:
    """Lagrangian pricing of sites: the block relaxation with demand priced instead of required.

    With the demand rows (and the other rows joining sites: chip supply, carbon cap, capital
    budget) dropped, each site's plan is independent, so one LP per batch of sites gives each
    site's least cost less the value of its deliveries at given prices. For any plan of the full
    problem, a site's cost is at least prices x its deliveries plus this reduced cost. The LPs are
    built once; later rounds change their costs and restart the simplex from the last basis.
    """

    def __init__(
        self,
        scenario: Scenario,
        sites: list[str],
        block_h: int,
        batch: int = 100,
        relax: Relax | None = None,
        make_batch: MakeBatch | None = None,
    ) -> None:
        self.scenario, self.sites, self.block_h, self.batch, self.relax = scenario, sites, block_h, batch, relax
        self.make_batch = make_batch or pricing_batch
        self.batches: list[PricingBatch] = []

    def price(
        self, prices: pd.Series, time_limit_s: float, progress: Callable[[str], None] | None = None
    ) -> SitePricing:
        """Each site's reduced cost at ``prices``. HiGHS releases the GIL while it solves, so the
        batches are solved on PRICING_THREADS threads while the next batch's model is built."""
        started = time.perf_counter()
        deadline = started + time_limit_s
        reduced: dict[str, float] = {}
        firsts = range(0, len(self.sites), self.batch)

        def report(done_sites: dict[str, float]) -> None:
            reduced.update(done_sites)
            if progress is not None:
                progress(f"priced {len(reduced)} of {len(self.sites)} other sites")

        with ThreadPoolExecutor(max_workers=PRICING_THREADS) as pool:
            pending = []
            for number, first in enumerate(firsts):
                if number == len(self.batches):
                    batch_sites = self.sites[first : first + self.batch]
                    self.batches.append(self.make_batch(self.scenario, batch_sites, self.block_h, self.relax))
                pending.append(pool.submit(_price_batch, self.batches[number], prices, deadline))
                while pending and pending[0].done():
                    report(pending.pop(0).result())
            for future in pending:
                report(future.result())
        return SitePricing(
            pd.Series(reduced, dtype=float),
            max((b.variables for b in self.batches), default=0),
            max((b.nonzeros for b in self.batches), default=0),
            time.perf_counter() - started,
        )


def _price_batch(b: PricingBatch, prices: pd.Series, deadline: float) -> dict[str, float]:
    """The batch's sites' reduced costs at ``prices``: its LP re-solved from the last basis."""
    cost = b.cost.copy()
    cost[b.delivered_columns] -= np.array([prices.get(key, 0.0) for key in b.delivered_keys])
    x = dual_simplex(b.session, cost, deadline - time.perf_counter(), "site pricing LP").x
    mine = b.site_of >= 0
    by_site = np.bincount(b.site_of[mine], weights=(cost * x)[mine], minlength=len(b.sites))
    return {s: min(float(v), 0.0) for s, v in zip(b.sites, by_site)}


def price_sites(
    scenario: Scenario,
    sites: list[str],
    prices: pd.Series,
    block_h: int,
    time_limit_s: float,
    batch: int = 100,
    progress: Callable[[str], None] | None = None,
) -> SitePricing:
    """Each of ``sites``' reduced cost at ``prices`` (see :class:`SitePricer`), in one round."""
    return SitePricer(scenario, sites, block_h, batch).price(prices, time_limit_s, progress)


def uncoupled(scenario: Scenario) -> Scenario:
    """The scenario without the limits that join sites (a relaxation): no supply caps, carbon cap
    or capital budget. Demand is dropped by the caller, which prices it instead, and with it any
    unserved demand (it belongs to no site: the shortlist's relaxation holds it)."""
    chips = scenario.tables["chips"].copy()
    chips["supply_limit_chips"] = np.nan
    # demand no site here reaches has no routes to price (and would stop the model as unreachable)
    demand = scenario.tables["demand"].copy()
    reached = DerivedInputs(scenario).reach.any()
    keys = list(demand.index)
    demand["tokens_per_yr"] = [v if reached.get(k, False) else 0.0 for k, v in zip(keys, demand["tokens_per_yr"])]
    unjoined: dict[str, Any] = dict.fromkeys(JOINING_CONSTRAINTS)
    constraints = dataclasses.replace(scenario.constraints, **unjoined)
    objective = dataclasses.replace(scenario.objective, unserved_usd_per_mtok=None)
    tables = {**scenario.tables, "chips": chips, "demand": demand}
    by_year = [_uncoupled_change(change) for change in scenario.by_year]
    return dataclasses.replace(scenario, tables=tables, constraints=constraints, objective=objective, by_year=by_year)


def _uncoupled_change(change: YearChange) -> YearChange:
    """A build-out year's changes without the limits that join sites (set from that year on)."""
    constraints = {key: value for key, value in change.constraints.items() if key not in JOINING_CONSTRAINTS}
    overrides = dict(change.overrides)
    if "chips" in overrides:
        overrides["chips"] = {
            chip: {column: value for column, value in columns.items() if column != "supply_limit_chips"}
            for chip, columns in overrides["chips"].items()
        }
    return YearChange(change.year, constraints, overrides)


def covering_shortlist(scenario: Scenario, ranked_sites: list[str], size: int, per_demand: int = 1) -> list[str]:
    """The first ``size`` sites, plus the best-ranked sites within reach of each demand until
    ``per_demand`` of the chosen reach it (or all that do)."""
    reach = DerivedInputs(scenario).reach.loc[ranked_sites]
    chosen = list(ranked_sites[:size])
    for key in reach.columns:
        reaching = reach.index[reach[key].to_numpy()]
        missing = per_demand - int(reaching.isin(chosen).sum())
        if missing > 0:
            chosen += [s for s in reaching if s not in chosen][:missing]
    return chosen


def bound_all_sites(
    scenario: Scenario,
    block_h: int = BLOCK_HOURS,
    time_limit_s: float = 600.0,
    progress: Callable[[str], None] | None = None,
    relax: Relax | None = None,
) -> tuple[MasterLP, SitePricing, list[str], int]:
    """Column generation over sites: (last master, last pricing, shortlist, rounds).

    The bound ``master.cost + pricing.sum()`` holds at every round; rounds only tighten it, so a
    round that runs out of time returns the round before it (the first has no bound to fall back on).
    ``relax`` drops rules of every model built (see :func:`_lp_of`).
    """
    started = time.perf_counter()
    ranked = list(site_ranking(DerivedInputs(scenario)).index)
    chosen = covering_shortlist(scenario, ranked, FIRST_SHORTLIST_SITES, FIRST_SITES_PER_DEMAND)
    pricer = SitePricer(scenario, [s for s in ranked if s not in chosen], block_h, relax=relax)
    last: tuple[MasterLP, SitePricing, list[str], int] | None = None
    for rounds in range(1, PRICING_ROUNDS + 1):
        try:
            left_s = time_limit_s - (time.perf_counter() - started)
            master = master_lp(scenario, chosen, block_h, left_s, relax)
            left_s = time_limit_s - (time.perf_counter() - started)
            pricing = pricer.price(master.prices_musd_per_ptok, left_s, progress=progress)
        except LPOutOfTime:
            if last is None:
                raise
            return last
        # sites that joined the shortlist are in the master now, not among the others
        pricing.reduced_cost_musd_per_yr = pricing.reduced_cost_musd_per_yr.drop(chosen, errors="ignore")
        reduced = pricing.reduced_cost_musd_per_yr
        if progress is not None:
            progress(
                f"round {rounds}: relaxation {master.cost_musd_per_yr:,.1f} M$/yr over {len(chosen)} sites, "
                f"others' reduced costs {reduced.sum():,.2f}"
            )
        last = master, pricing, chosen, rounds
        if reduced.sum() > -PRICING_TOLERANCE * master.cost_musd_per_yr or rounds == PRICING_ROUNDS:
            return last
        profitable = reduced[reduced < 0].sort_values()
        chosen = chosen + list(profitable.index[:SITES_ADDED_PER_ROUND])
    raise AssertionError("unreachable")


def planned_sites(scenario: Scenario, built: list[str], ranked: list[str]) -> list[str]:
    """The sites the full model plans: those the relaxation ``built``, best first, then the next of
    ``ranked`` and enough to reach every demand."""
    rest = [s for s in ranked if s not in built]
    return covering_shortlist(scenario, built + rest, len(built) + EXTRA_PLANNED_SITES)


def planning_scenario(scenario: Scenario, planned: list[str], time_left_s: float) -> Scenario:
    """The scenario of the ``planned`` sites, with a tenth of the gap asked (``PLANNING_GAP_SHARE``:
    most of the gap is the relaxation's) and the time the bounds left."""
    restricted = scenario.with_sites(planned)
    solver = dataclasses.replace(
        restricted.solver,
        mip_gap=scenario.solver.mip_gap * PLANNING_GAP_SHARE,
        time_limit_s=max(time_left_s, 1.0),
    )
    return dataclasses.replace(restricted, solver=solver)


def screened_solve(
    scenario: Scenario, block_h: int = BLOCK_HOURS, progress: Callable[[str], None] | None = None
) -> ScreenedPlan:
    """Bound all candidates, plan the relaxation's sites with the full model, and prove the gap."""
    if scenario.objective.mode != "serve_demand":
        raise ScenarioError(f"{scenario.source}: screening plans least cost: objective.mode must be serve_demand")
    started = time.perf_counter()
    master, pricing, chosen, rounds = bound_all_sites(scenario, block_h, scenario.solver.time_limit_s, progress)
    bound_s = time.perf_counter() - started
    reduced_sum = float(pricing.reduced_cost_musd_per_yr.sum())
    lower = master.cost_musd_per_yr + reduced_sum

    built = list(master.build[master.build > BUILT_IN_RELAXATION].sort_values(ascending=False).index)
    planned = planned_sites(scenario, built, chosen)
    restricted = planning_scenario(scenario, planned, scenario.solver.time_limit_s - bound_s)
    started = time.perf_counter()
    fm = build_model(restricted)
    good_enough = lower / (1 - scenario.solver.mip_gap)
    result = solve(fm, restricted.solver, restricted.objective, good_enough_musd_per_yr=good_enough)
    upper = result.cost_musd_per_yr
    # the shortlist MILP's own bound holds only for plans of its sites; the relaxation's for all
    gap = max(upper - lower, 0.0) / upper
    return ScreenedPlan(
        fm=fm,
        result=result,
        planned_sites=planned,
        shortlist=chosen,
        upper_musd_per_yr=upper,
        lower_musd_per_yr=lower,
        gap=gap,
        relaxation_musd_per_yr=master.cost_musd_per_yr,
        other_sites_reduced_cost_musd_per_yr=reduced_sum,
        rounds=rounds,
        candidate_sites=len(scenario.tables["sites"]),
        bound_s=bound_s,
        plan_s=time.perf_counter() - started,
        priced_variables=pricing.variables,
    )
