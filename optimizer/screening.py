"""Long lists of candidate sites: a relaxation bounds every plan, the full model plans a shortlist.

A planner's long list has hundreds to thousands of parcels; the full model of all of them is too
big to solve (1,000 sites at 8 representative days: ~3.8 M variables). Three steps keep it exact:

1. **Lower bound.** The *block relaxation* merges each representative day's hours into blocks of
   a few hours and relaxes every integer. It is a relaxation of the full model, not an
   approximation: a block's capacity factors are its hours' means (the per-hour rows summed), its
   grid price and CO2 rate the lowest of its hours, its temperatures the lowest (so the facility
   needs no more power than in its coolest hour; checked against the hourly PUE), storage is kept
   within its energy at block ends, and water limits are dropped. Any plan of the full model maps
   to a solution of the relaxation of no higher cost, so its optimum bounds every plan from below.
2. **Shortlist.** Sites the relaxation builds, plus the next ones by reduced cost, are solved
   with the full model, on the full model's own representative days (not re-clustered on the
   shortlist, so the restricted model is the full model with the other sites left unbuilt). Its
   plan is a plan of the full problem: an upper bound.
3. **Proof.** gap = (upper - lower) / upper is a true optimality gap for the full problem. Sites
   whose reduced cost alone lifts the bound above the plan's cost cannot be in any better plan
   (reduced-cost fixing); the result counts them.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from optimizer.cooling import hourly_pue_wue
from optimizer.model import FactoryModel, build_model
from optimizer.scenario import Scenario
from optimizer.solve import SolveResult, _run_highs, compile_to_highs, solve

#: hours merged into one slice of the block relaxation
BLOCK_HOURS = 4
#: sites solved with the full model beyond those the relaxation builds (next by reduced cost)
EXTRA_SHORTLIST_SITES = 8
#: the shortlist MILP's gap as a share of the gap asked for
SHORTLIST_GAP_SHARE = 0.25
#: a site counts as built in the relaxation above this share of its land
BUILT_IN_RELAXATION = 1e-4


@dataclass
class LowerBound:
    """The block relaxation's optimum and what it says about each site."""

    cost_musd_per_yr: float
    build: pd.Series  # relaxed build share per site
    build_reduced_cost_musd: pd.Series  # rise of the bound per unit of build, per site
    status: str
    build_s: float
    handoff_s: float
    solve_s: float
    variables: int
    constraints: int
    nonzeros: int


@dataclass
class ScreenedPlan:
    """The shortlist's plan of the full model and its proven distance from the best plan."""

    fm: FactoryModel
    result: SolveResult
    bound: LowerBound
    shortlist: list[str]
    upper_musd_per_yr: float
    lower_musd_per_yr: float
    """proven lower bound on the cost of every plan over all candidate sites"""
    gap: float
    """(plan cost - lower bound) / plan cost over all candidate sites"""
    excluded_sites: int
    """candidates that provably cannot be in any plan cheaper than this one"""
    candidate_sites: int


def _blocks(slices: pd.DataFrame, block_h: int) -> pd.Series:
    """Block slice id of each hourly slice: consecutive hours of one representative day."""
    block_of_day = (slices["hour"] // block_h).astype(int)
    blocks_per_day = int(np.ceil(24 / block_h))
    return slices["period"].astype(int) * blocks_per_day + block_of_day


def block_relaxation(scenario: Scenario, block_h: int = BLOCK_HOURS) -> Scenario:
    """The scenario with each day's hours merged into blocks, a relaxation of the hourly model."""
    tables = dict(scenario.tables)
    slices = tables["slices"]
    block = _blocks(slices, block_h)
    grouped = slices.assign(block=block).groupby("block")
    block_slices = pd.DataFrame({
        "period": grouped["period"].first(),
        "hour": grouped["hour"].min(),
        "weight_h": grouped["weight_h"].sum(),
        "duration_h": grouped["hour"].size().astype(float),
    })
    block_slices.index.name = "slice_id"
    profiles = tables["profiles"]
    by_block = profiles.groupby([profiles.index.get_level_values("site_id"),
                                 profiles.index.get_level_values("slice_id").map(block)])
    block_profiles = pd.concat([by_block[["solar_cf", "wind_cf"]].mean(),
                                by_block[["temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh"]].min()],
                               axis=1)[list(profiles.columns)]
    block_profiles.index.names = ["site_id", "slice_id"]
    _check_block_pue(tables["cooling"], profiles, block_profiles, block)
    sites = tables["sites"].copy()
    if "water_limit_ml_per_yr" in sites:
        sites["water_limit_ml_per_yr"] = np.nan  # dropping a limit only relaxes
    tables.update(slices=block_slices, profiles=block_profiles, sites=sites)
    return dataclasses.replace(scenario, name=f"{scenario.name} (block relaxation)", tables=tables)


def _check_block_pue(cooling: pd.DataFrame, hourly: pd.DataFrame, blocks: pd.DataFrame, block: pd.Series) -> None:
    """A block's PUE must not exceed any of its hours' (else the relaxation would not be one)."""
    hourly_pue, _ = hourly_pue_wue(cooling, hourly)
    block_pue, _ = hourly_pue_wue(cooling, blocks)
    keys = [hourly_pue.index.get_level_values("site_id"), hourly_pue.index.get_level_values("slice_id").map(block)]
    lowest = hourly_pue.groupby(keys).min()
    lowest.index.names = block_pue.index.names
    excess = (block_pue - lowest.reindex(block_pue.index)).to_numpy().max()
    if excess > 1e-9:
        raise ValueError(f"block PUE exceeds its hours' lowest by {excess:.3g}: cooling model not monotone in temperature")


def restrict_sites(scenario: Scenario, keep: list[str]) -> Scenario:
    """The same scenario (same representative days) with only ``keep`` as candidate sites."""
    tables = dict(scenario.tables)
    tables["sites"] = tables["sites"].loc[keep]
    for name in ("profiles", "hourly"):
        frame = tables[name]
        tables[name] = frame[frame.index.get_level_values("site_id").isin(keep)]
    return dataclasses.replace(scenario, tables=tables)


def lower_bound(scenario: Scenario, time_limit_s: float) -> LowerBound:
    """Solve the LP of the block relaxation (integers relaxed) with HiGHS's interior point."""
    relaxed = block_relaxation(scenario)
    fm = build_model(relaxed)
    cm = compile_to_highs(fm, relaxed.solver)
    h, n = cm.highs, len(cm.columns)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cm.cost)
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("time_limit", float(time_limit_s))
    started = time.perf_counter()
    _run_highs(h)
    solve_s = time.perf_counter() - started
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"the block relaxation did not solve to optimality (HiGHS {status}); raise the time limit")
    solution = h.getSolution()
    value = np.asarray(solution.col_value)
    reduced = np.asarray(solution.col_dual)
    position = {id(var): i for i, var in enumerate(cm.columns)}
    sites = list(fm.model.S)
    where = [position[id(fm.model.build[s])] for s in sites]
    return LowerBound(
        cost_musd_per_yr=float(h.getInfo().objective_function_value + cm.cost_offset),
        build=pd.Series(value[where], index=sites),
        build_reduced_cost_musd=pd.Series(reduced[where], index=sites),
        status="optimal",
        build_s=fm.build_s,
        handoff_s=cm.handoff_s,
        solve_s=solve_s,
        variables=cm.size.variables,
        constraints=cm.size.constraints,
        nonzeros=cm.size.nonzeros,
    )


def shortlist(bound: LowerBound, extra: int = EXTRA_SHORTLIST_SITES) -> list[str]:
    """Sites the relaxation builds, then the ``extra`` unbuilt ones that would raise it least."""
    built = bound.build[bound.build > BUILT_IN_RELAXATION]
    rest = bound.build_reduced_cost_musd.drop(built.index).sort_values()
    return [*built.sort_values(ascending=False).index, *rest.index[:extra]]


def proven_lower_bound(bound: LowerBound, chosen: list[str], shortlist_bound_musd: float) -> float:
    """A lower bound on every plan of the full problem, from both solves.

    A plan either builds only shortlisted sites, and then costs at least the shortlist MILP's dual
    bound, or builds some other site s, and then costs at least the relaxation's optimum plus s's
    reduced cost (the relaxation's optimum is convex in a site's build share, so forcing it to 1
    raises the optimum by at least that). The worse of the two cases bounds all plans; the
    relaxation's optimum alone is a weaker bound that always holds.
    """
    others = bound.build_reduced_cost_musd.drop(chosen)
    cheapest_other = bound.cost_musd_per_yr + max(float(others.min()), 0.0) if len(others) else np.inf
    return max(bound.cost_musd_per_yr, min(shortlist_bound_musd, cheapest_other))


def screened_solve(scenario: Scenario, extra: int = EXTRA_SHORTLIST_SITES) -> ScreenedPlan:
    """Bound all candidates, plan the shortlist with the full model, and prove the gap."""
    bound = lower_bound(scenario, scenario.solver.time_limit_s)
    chosen = shortlist(bound, extra)
    restricted = restrict_sites(scenario, chosen)
    # the shortlist is small: solve it tighter than the gap asked for, the relaxation takes the rest
    restricted = dataclasses.replace(
        restricted, solver=dataclasses.replace(restricted.solver, mip_gap=scenario.solver.mip_gap * SHORTLIST_GAP_SHARE)
    )
    fm = build_model(restricted)
    result = solve(fm, restricted.solver, restricted.objective)
    upper = result.cost_musd_per_yr
    lower = proven_lower_bound(bound, chosen, result.cost_lower_bound_musd_per_yr)
    gap = max(upper - lower, 0.0) / upper
    # a site whose build alone lifts the bound above this plan is in no better plan
    excluded = int((bound.cost_musd_per_yr + bound.build_reduced_cost_musd > upper).sum())
    return ScreenedPlan(fm, result, bound, chosen, upper, lower, gap, excluded, len(bound.build))
