"""Checks of what the plan says of its solve: scenario, objective, status, source, lower bound and gap."""

from __future__ import annotations

import math

import numpy as np

from optimizer.verify.contract import COST_ATOL_USD, GAP_ATOL, HIGHS_PLAN_STATUSES, PLAN_SOURCES, STATUSES
from optimizer.verify.folder import Plan
from optimizer.verify.recorder import Recorder
from optimizer.verify.registry import register_check

SOLVE_SECONDS = ("build_s", "handoff_s", "solve_s")
MODEL_SIZE = ("variables", "integer_variables", "constraints", "nonzeros")


def _check_solve_figures(p: Plan, c: Recorder) -> None:
    """The descriptive figures of the solve are at least of the right form: times >= 0, whole counts."""
    summary = p.summary
    for column in SOLVE_SECONDS:
        c.le(f"{column} >= 0", 0.0, summary[column], unit="s", at="summary")
    for column in MODEL_SIZE:
        count = float(summary[column])
        c.eq(
            f"{column} is a whole number >= 0",
            count,
            abs(round(count)) if math.isfinite(count) else np.nan,
            unit="",
            scale=0.0,
            at="summary",
        )
    c.le(
        "integer_variables <= variables",
        summary["integer_variables"],
        summary["variables"],
        unit="",
        scale=0.0,
        at="summary",
    )


def _check_cost_bound(p: Plan, c: Recorder, gap: float) -> None:
    """serve_demand: a finite lower bound on cost, at most the cost, and a gap that covers the distance between them."""
    summary = p.summary
    # the solver bounds what it minimises: the plan's cost plus the price of any demand left unserved
    cost = float(summary["total_cost_usd_per_yr"]) + float(summary["unserved_usd_per_yr"])
    bound = float(summary["cost_lower_bound_usd_per_yr"])
    c.rule(
        math.isfinite(bound),
        f"summary.csv: cost_lower_bound_usd_per_yr is {bound}; a serve_demand plan claims a "
        f"finite proven lower bound on its cost",
    )
    c.le(
        "cost_lower_bound_usd_per_yr <= total_cost_usd_per_yr + unserved_usd_per_yr",
        bound,
        cost,
        unit="USD/yr",
        at="summary",
        atol=COST_ATOL_USD,
    )
    # gap >= (cost - bound) / cost, multiplied out so that a zero cost needs no division
    c.le(
        "total cost - lower bound <= mip_gap x total cost (each with the price of unserved demand)",
        cost - bound,
        gap * cost,
        unit="USD/yr",
        scale=abs(cost),
        at="summary",
        atol=COST_ATOL_USD,
    )
    # 'optimal' means proven within the gap asked, 'time_limit_feasible' not proven within it
    asked = p.scenario.solver.mip_gap
    within = gap <= asked + GAP_ATOL
    c.rule(
        within == (summary["status"] == "optimal"),
        f"summary.csv: status {summary['status']!r} but mip_gap "
        f"{gap:.6g} is {'within' if within else 'above'} the solver.mip_gap {asked:g} asked",
    )
    for column in ("lambda_usd_per_mtok", "lambda_lower_bound_usd_per_mtok"):
        c.eq(f"{column} blank (serve_demand)", summary[column], np.nan, unit="USD/Mtok", at="summary")
    c.eq(
        "dinkelbach_iterations = 0 (serve_demand)",
        summary["dinkelbach_iterations"],
        0.0,
        unit="",
        scale=0.0,
        at="summary",
    )


def _check_ratio_bound(p: Plan, c: Recorder) -> None:
    """min_cost_per_token: the search's steps, its last lambda (a plan's ratio) and its lower bound around the ratio."""
    summary = p.summary
    ratio, lam = float(summary["usd_per_mtok"]), float(summary["lambda_usd_per_mtok"])
    bound, steps = float(summary["lambda_lower_bound_usd_per_mtok"]), float(summary["dinkelbach_iterations"])
    c.eq(
        "cost_lower_bound_usd_per_yr blank (min_cost_per_token)",
        summary["cost_lower_bound_usd_per_yr"],
        np.nan,
        unit="USD/yr",
        at="summary",
    )
    c.le("dinkelbach_iterations >= 1", 1.0, steps, unit="", scale=0.0, at="summary")
    c.le(
        "dinkelbach_iterations <= objective.max_iterations",
        steps,
        p.scenario.objective.max_iterations,
        unit="",
        scale=0.0,
        at="summary",
    )
    c.le("lambda_usd_per_mtok >= 0", 0.0, lam, unit="USD/Mtok", at="summary")
    if steps > 1:  # from the second step on, lambda is the ratio of an earlier plan: no better than the best
        c.le("usd_per_mtok <= lambda_usd_per_mtok of the last step", ratio, lam, unit="USD/Mtok", at="summary")
    demand = float(p.s["demand"]["tokens_per_yr"].sum())
    if math.isfinite(bound) or (summary["status"] == "optimal" and demand > 0):
        c.le("0 <= lambda_lower_bound_usd_per_mtok", 0.0, bound, unit="USD/Mtok", at="summary")
        c.le("lambda_lower_bound_usd_per_mtok <= usd_per_mtok", bound, ratio, unit="USD/Mtok", at="summary")


@register_check(
    "optimality",
    "What the plan says of its solve: the scenario and objective it answers, its status; "
    "under serve_demand a finite cost lower bound at most its cost and a MIP gap that covers the two (within the "
    "gap asked when 'optimal'); under min_cost_per_token the ratio search's lambda and bound around the ratio",
)
def _check_optimality(p: Plan, c: Recorder) -> None:
    summary, scenario = p.summary, p.scenario
    for column, expected in (("scenario", scenario.name), ("objective", scenario.objective.mode)):
        c.rule(
            summary[column] == expected,
            f"summary.csv: {column} {summary[column]!r} is not the scenario copy's {expected!r}",
        )
    c.rule(summary["status"] in STATUSES, f"summary.csv: status {summary['status']!r} is not one of {STATUSES}")
    c.rule(
        summary["plan_source"] in PLAN_SOURCES,
        f"summary.csv: plan_source {summary['plan_source']!r} is not one of {PLAN_SOURCES}",
    )
    c.rule(
        summary["highs_status"] in HIGHS_PLAN_STATUSES,
        f"summary.csv: highs_status {summary['highs_status']!r} is "
        f"not a HiGHS status that leaves a plan {HIGHS_PLAN_STATUSES}",
    )
    gap = float(summary["mip_gap"])
    c.le("mip_gap >= 0", 0.0, gap, unit="", scale=0.0, at="summary", atol=GAP_ATOL)
    if scenario.objective.mode == "serve_demand":
        _check_cost_bound(p, c, gap)
    else:
        _check_ratio_bound(p, c)
    _check_solve_figures(p, c)
