"""Long lists of candidate sites over years: screening (:mod:`optimizer.analysis.screening`) per planning year.

A build-out of hundreds of candidate sites over several planning years is too big for one model (200
sites at 8 representative days are 531 k variables a year). Screening extends to years:

1. **A bound per year.** Each planning year's one-year relaxation (the year's scenario with the
   rules a build-out's block drops also dropped: :func:`~optimizer.model.buildout.drop_one_year_rules`)
   is bounded over every candidate by screening's block relaxation and column generation over sites.
   Weighted by the years' present-value weights, the years' bounds bound the build-out of every
   candidate, for the reason the year-by-year bound of
   :func:`~optimizer.solver.buildout.year_by_year_bound` does, wherever no annuity rises from one
   build year to the next. Its sites are the shortlist. It is loose when prices fall: a year's
   bound charges racks bought earlier that year's lower price.
2. **A bound over the years.** The sites any year's relaxation builds, plus the next ones in the
   ranking and enough to reach every demand, are the planned sites. The block LP of their build-out
   (every year on the block relaxation, integers relaxed, the vintages kept: racks pay their own
   build year's price) prices every (year, region, workload) demand; at those prices each other
   candidate's own build-out over all years, as an LP of the block relaxation with demand priced
   instead of required, gives its reduced cost. The LP's cost plus the others' negative reduced
   costs bounds the build-out of every candidate (Lagrangian relaxation of the demand rows, the only
   rows that join sites once the limits joining them are left out) whatever the annuities do.
3. **Plan.** The planned sites' build-out is solved as the scenario's ``buildout.foresight`` says,
   to a tenth of the gap asked (``PLANNING_GAP_SHARE``: most of the gap is the relaxation's); with
   perfect foresight it stops at the first plan within the gap asked of the better bound.

The plan's cost against the better of the two bounds is a true optimality gap over all candidates.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import pandas as pd

from optimizer.analysis.screening import (
    BLOCK_HOURS,
    BUILT_IN_RELAXATION,
    LPOutOfTime,
    MasterLP,
    PricingBatch,
    Relax,
    SitePricer,
    batch_of,
    bound_all_sites,
    dual_simplex,
    planned_sites,
    planning_scenario,
    uncoupled,
    unserved_priced,
)
from optimizer.inputs.blocks import block_relaxation
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario, ScenarioError
from optimizer.inputs.years import planning_years, year_scenario
from optimizer.model.buildout import BuildoutModel, annuities_never_rise, build_buildout, drop_one_year_rules
from optimizer.solver.buildout import BuildoutResult, solve_buildout
from optimizer.solver.session import SolverSession

#: share of the scenario's time limit the years' bounds may take together
BOUND_SHARE = 0.3
#: share of the scenario's time limit for the bound over the years (with what the years' bounds
#: leave of theirs); the plan has the rest
OVER_YEARS_BOUND_SHARE = 0.3
#: sites per pricing LP over the years: each holds their build-out of every planning year (a one-year
#: pricing batch holds 100)
OVER_YEARS_PRICING_BATCH = 20


@dataclass
class ScreenedBuildout:
    """The planned sites' build-out and its proven distance from the best build-out of all candidates."""

    model: BuildoutModel
    """the build-out of the planned sites, solved"""
    result: BuildoutResult
    """the planned sites' solve, its gap and bound those of the planned sites only"""
    outcome: BuildoutResult
    """``result`` with the status, gap and lower bound that hold over every candidate"""
    planned_sites: list[str]
    year_bounds_musd_per_yr: dict[int, float]
    """each planning year's bound over all candidates (its one-year relaxation's), M$/yr"""
    years_bound_musd_per_yr: float | None
    """the years' bounds weighted like the objective; None where it would not be a bound"""
    over_years_bound_musd_per_yr: float | None
    """the planned sites' block LP over the years plus the others' reduced costs; None if out of time"""
    lower_musd_per_yr: float | None
    """the better of the two bounds; None without either"""
    why_no_years_bound: str
    """why ``years_bound_musd_per_yr`` is None ('' when it is a bound)"""
    upper_musd_per_yr: float
    gap: float
    """(plan - bound over all candidates) / plan; NaN without a bound"""
    candidate_sites: int
    bound_s: float
    """the years' bounds and the bound over the years together"""
    plan_s: float

    def describe(self) -> str:
        """One sentence: what was bounded, the bound, and what the build-out planned."""
        bound = (
            f"every build-out costs at least {self.lower_musd_per_yr:,.1f} M$/yr"
            if self.lower_musd_per_yr is not None
            else f"no bound over all candidates ({self.why_no_years_bound}; the bound over the years ran out of time)"
        )
        years, planned = len(self.year_bounds_musd_per_yr), len(self.planned_sites)
        return (
            f"screened {self.candidate_sites:,} candidate sites in {years} planning years in {self.bound_s:.0f} s: "
            f"{bound}; the build-out planned {planned} of them in {self.plan_s:.0f} s"
        )


def screened_buildout(
    scenario: Scenario, block_h: int = BLOCK_HOURS, progress: Callable[[str], None] | None = None
) -> ScreenedBuildout:
    """Bound every planning year over all candidates, choose the sites the bounds build, bound the
    build-out of every candidate over the years at the prices of those sites' block LP, plan the
    chosen sites' build-out (stopping at a plan within the gap of the better bound), prove the gap."""
    years = planning_years(scenario)
    if not years:
        raise ScenarioError(f"{scenario.source}: screening over years needs buildout.planning_years")
    if scenario.objective.mode != "serve_demand":
        raise ScenarioError(f"{scenario.source}: screening plans least cost: objective.mode must be serve_demand")
    limit_s = scenario.solver.time_limit_s
    started = time.perf_counter()
    bounds_deadline = started + BOUND_SHARE * limit_s
    bounds: dict[int, float] = {}
    built_share: dict[str, float] = {}
    ranked: list[str] = []
    for number, period in enumerate(years):
        # an even share of the time left: early years (less demand) leave time to the later ones
        bound_time_s = (bounds_deadline - time.perf_counter()) / (len(years) - number)
        one_year = year_scenario(scenario, period)
        master, pricing, chosen, _ = bound_all_sites(one_year, block_h, bound_time_s, progress, drop_one_year_rules)
        bounds[period.year] = master.cost_musd_per_yr + float(pricing.reduced_cost_musd_per_yr.sum())
        for site, share in master.build[master.build > BUILT_IN_RELAXATION].items():
            built_share[site] = max(built_share.get(site, 0.0), float(share))
        ranked = chosen  # the last year's shortlist, best first: the one with the most demand
        if progress is not None:
            progress(f"{period.year}: bound {bounds[period.year]:,.1f} M$/yr, {len(built_share)} sites built so far")
    years_bound_s = time.perf_counter() - started

    built = sorted(built_share, key=lambda site: -built_share[site])
    planned = planned_sites(scenario, built, ranked)
    started = time.perf_counter()
    others = [site for site in scenario.tables["sites"].index if site not in planned]
    # the bound over the years has its own share and what the years' bounds left of theirs
    over_years_limit_s = (BOUND_SHARE + OVER_YEARS_BOUND_SHARE) * limit_s - years_bound_s
    over_years = bound_over_years(scenario, planned, others, block_h, over_years_limit_s, progress)
    over_years_s = time.perf_counter() - started
    # the plan has the time the bounds left
    restricted = planning_scenario(scenario, planned, limit_s - years_bound_s - over_years_s)

    started = time.perf_counter()
    model = build_buildout(restricted)
    why = _why_no_years_bound(scenario, restricted, model)
    weights = {period.year: period.pv_weight for period in years}
    years_bound = None if why else sum(weights[y] * bounds[y] for y in bounds) / sum(weights.values())
    known = [bound for bound in (years_bound, over_years) if bound is not None]
    lower = max(known) if known else None
    # a plan within the gap of the bound over all candidates needs no more work (perfect foresight
    # then stops at its myopic start)
    good_enough = None if lower is None else lower / (1 - scenario.solver.mip_gap)
    result = solve_buildout(model, restricted.solver, restricted.objective, good_enough)
    plan_s = time.perf_counter() - started

    upper = result.result.cost_musd_per_yr
    gap = max(upper - lower, 0.0) / upper if lower is not None and upper else math.nan
    proven = dataclasses.replace(
        result.result,
        status="optimal" if gap <= scenario.solver.mip_gap else "time_limit_feasible",
        mip_gap=gap,
        cost_lower_bound_musd_per_yr=lower,
    )
    return ScreenedBuildout(
        model=model,
        result=result,
        outcome=dataclasses.replace(result, result=proven),
        planned_sites=planned,
        year_bounds_musd_per_yr=bounds,
        years_bound_musd_per_yr=years_bound,
        over_years_bound_musd_per_yr=over_years,
        lower_musd_per_yr=lower,
        why_no_years_bound=why,
        upper_musd_per_yr=upper,
        gap=gap,
        candidate_sites=len(scenario.tables["sites"]),
        bound_s=years_bound_s + over_years_s,
        plan_s=plan_s,
    )


def bound_over_years(
    scenario: Scenario,
    planned: list[str],
    others: list[str],
    block_h: int = BLOCK_HOURS,
    time_limit_s: float = 600.0,
    progress: Callable[[str], None] | None = None,
) -> float | None:
    """A lower bound on the build-out of every candidate: the block LP of the ``planned`` sites'
    build-out plus the ``others``' negative reduced costs at its demand prices, each their own
    build-out over every year (None if an LP runs out of ``time_limit_s``).

    Lagrangian relaxation of the demand rows: at any prices, a plan's cost is at least the prices
    times the demand plus each site's least cost less the value of its deliveries at those prices.
    The planned sites' least costs together are the master's dual objective; each other site's is
    its reduced cost, at most 0 (it may stay unbuilt)."""
    deadline = time.perf_counter() + time_limit_s
    try:
        master = over_years_master_lp(scenario, planned, block_h, time_limit_s)
        if not others:
            return master.cost_musd_per_yr
        pricer = SitePricer(scenario, others, block_h, OVER_YEARS_PRICING_BATCH, make_batch=over_years_pricing_batch)
        pricing = pricer.price(master.prices_musd_per_ptok, deadline - time.perf_counter(), progress)
    except LPOutOfTime:
        return None
    reduced = float(pricing.reduced_cost_musd_per_yr.sum())
    if progress is not None:
        progress(f"over the years: block LP {master.cost_musd_per_yr:,.1f} M$/yr, others' reduced costs {reduced:,.2f}")
    return master.cost_musd_per_yr + reduced


def over_years_master_lp(scenario: Scenario, sites: list[str], block_h: int, time_limit_s: float) -> MasterLP:
    """The block LP of ``sites``' build-out and the dual of each (year, region, workload) demand."""
    started = time.perf_counter()
    restricted = unserved_priced(scenario).with_sites(sites)
    model = build_buildout(block_relaxation(restricted, block_h))
    session = SolverSession.compile(model, restricted.solver, relaxed=True)
    run = dual_simplex(session, session.cost, time_limit_s, "block LP of the planned sites' build-out")
    if run.x is None:
        raise AssertionError("an optimal LP run has a solution")
    row_dual = session.row_duals()
    prices = pd.Series(
        {
            (year, *key): row_dual[session.row(row)]
            for year, fm in model.blocks.items()
            for key, row in fm.applications.demand_rows.items()
            if row in session.row_index
        },
        dtype=float,
    )
    build = pd.Series(0.0, index=sites)
    for fm in model.blocks.values():
        for site, j in session.columns_of(fm.infrastructure.build).items():
            build[site] = max(build[site], float(run.x[j]))
    return MasterLP(run.objective_value + session.cost_offset, prices, build, time.perf_counter() - started)


def over_years_pricing_batch(scenario: Scenario, sites: list[str], block_h: int, relax: Relax | None) -> PricingBatch:
    """The pricing LP of a batch of sites over every planning year: the block LP of their build-out
    with every year's demand priced instead of required and the limits joining sites left out."""
    if relax is not None:
        raise ValueError("the build-out's pricing LP relaxes no rules")
    model = build_buildout(block_relaxation(uncoupled(scenario.with_sites(sites)), block_h))
    for fm in model.blocks.values():
        fm.applications.demand_rows.deactivate()
    session = SolverSession.compile(model, scenario.solver, relaxed=True)
    routes: list[tuple[int, tuple[Hashable, ...]]] = [
        (j, (year, r, w))
        for year, fm in model.blocks.items()
        for s, r, w in fm.applications.routes
        if (j := session.column(fm.applications.delivered_ptok[s, r, w])) is not None
    ]
    return batch_of(session, sites, routes, "build-out site pricing")


def _why_no_years_bound(scenario: Scenario, restricted: Scenario, model: BuildoutModel) -> str:
    """Why the years' bounds weighted together would not bound every build-out ('' when they do)."""
    if not annuities_never_rise(model):
        return "an annuity rises from one build year to the next"
    everywhere = {tech for _, tech in DerivedInputs(scenario).site_techs}
    planned = {tech for _, tech in DerivedInputs(restricted).site_techs}
    if not everywhere <= planned:
        return f"power technologies no planned site can host: {', '.join(sorted(everywhere - planned))}"
    return ""
