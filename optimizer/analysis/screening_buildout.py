"""Long lists of candidate sites over years: screening (:mod:`optimizer.analysis.screening`) per planning year.

A build-out of hundreds of candidate sites over several planning years is too big for one model (200
sites at 8 representative days are 531 k variables a year). Screening extends to years:

1. **A bound per year.** Each planning year's one-year relaxation (the year's scenario with the
   rules a build-out's block drops also dropped: :func:`~optimizer.model.buildout.drop_one_year_rules`)
   is bounded over every candidate by screening's block relaxation and column generation over sites.
2. **A bound over the years.** Weighted by the years' present-value weights, the years' bounds bound
   the build-out of every candidate, for the reason the year-by-year bound of
   :func:`~optimizer.solver.buildout.year_by_year_bound` does: what stands in a year pays at least
   that year's annuities for it wherever no annuity rises from one build year to the next. It is
   checked on the planned sites' build-out; every annuity is a technology's, SKU's, cooling's or the
   facility's per unit and the same at every site, so the check holds for every candidate as long
   as the planned sites can host every power technology any candidate can.
3. **Plan.** The sites any year's relaxation builds, plus the next ones in the ranking and enough to
   reach every demand, are planned by the build-out itself (as the scenario's ``buildout.foresight``
   says), to a tenth of the gap asked (``PLANNING_GAP_SHARE``: most of the gap is the relaxation's)
   or, with perfect foresight, until its plan is within the gap asked of the bound over the years.
   Its cost against that bound is a true optimality gap over all candidates.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from optimizer.analysis.screening import BLOCK_HOURS, BUILT_IN_RELAXATION, bound_all_sites, planned_sites
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario, ScenarioError
from optimizer.inputs.years import planning_years, year_scenario
from optimizer.model.buildout import BuildoutModel, annuities_never_rise, build_buildout, drop_one_year_rules
from optimizer.solver.buildout import BuildoutResult, solve_buildout

#: share of the scenario's time limit the years' bounds may take together; the plan has the rest
BOUND_SHARE = 0.5


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
    lower_musd_per_yr: float | None
    """the years' bounds weighted like the objective; None where it would not be a bound"""
    why_no_bound: str
    """why ``lower_musd_per_yr`` is None ('' when it is a bound)"""
    upper_musd_per_yr: float
    gap: float
    """(plan - bound over all candidates) / plan; NaN without a bound"""
    candidate_sites: int
    bound_s: float
    plan_s: float

    def describe(self) -> str:
        """One sentence: what was bounded, the bound, and what the build-out planned."""
        bound = (
            f"every build-out costs at least {self.lower_musd_per_yr:,.1f} M$/yr"
            if self.lower_musd_per_yr is not None
            else f"no bound over all candidates ({self.why_no_bound})"
        )
        years, planned = len(self.year_bounds_musd_per_yr), len(self.planned_sites)
        return (
            f"screened {self.candidate_sites:,} candidate sites in {years} planning years in {self.bound_s:.0f} s: "
            f"{bound}; the build-out planned {planned} of them in {self.plan_s:.0f} s"
        )


def screened_buildout(
    scenario: Scenario, block_h: int = BLOCK_HOURS, progress: Callable[[str], None] | None = None
) -> ScreenedBuildout:
    """Bound every planning year over all candidates, plan the sites the bounds build, prove the gap."""
    years = planning_years(scenario)
    if not years:
        raise ScenarioError(f"{scenario.source}: screening over years needs buildout.planning_years")
    if scenario.objective.mode != "serve_demand":
        raise ScenarioError(f"{scenario.source}: screening plans least cost: objective.mode must be serve_demand")
    started = time.perf_counter()
    bounds_deadline = started + BOUND_SHARE * scenario.solver.time_limit_s
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
    bound_s = time.perf_counter() - started

    built = sorted(built_share, key=lambda site: -built_share[site])
    planned, restricted = planned_sites(scenario, built, ranked, bound_s)
    started = time.perf_counter()
    model = build_buildout(restricted)
    why = _why_no_bound(scenario, restricted, model)
    weights = {period.year: period.pv_weight for period in years}
    lower = None if why else sum(weights[y] * bounds[y] for y in bounds) / sum(weights.values())
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
        lower_musd_per_yr=lower,
        why_no_bound=why,
        upper_musd_per_yr=upper,
        gap=gap,
        candidate_sites=len(scenario.tables["sites"]),
        bound_s=bound_s,
        plan_s=plan_s,
    )


def _why_no_bound(scenario: Scenario, restricted: Scenario, model: BuildoutModel) -> str:
    """Why the years' bounds weighted together would not bound every build-out ('' when they do)."""
    if not annuities_never_rise(model):
        return "an annuity rises from one build year to the next"
    everywhere = {tech for _, tech in DerivedInputs(scenario).site_techs}
    planned = {tech for _, tech in DerivedInputs(restricted).site_techs}
    if not everywhere <= planned:
        return f"power technologies no planned site can host: {', '.join(sorted(everywhere - planned))}"
    return ""
