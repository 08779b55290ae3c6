"""Why a scenario has no plan, in the planner's words.

Three steps, each cheaper to read than the next is to run:

1. **Consistency** (no solve): a workload no accelerator can serve (no throughput figure, ships
   after the online-by year, or its rack fits no cooling), or no power source that can be online
   in time anywhere.
2. **What cannot be served** (an elastic solve): every region's demand may fall short, every other
   limit holds; the shortfall is minimised (relative to each demand). The answer names each region
   and workload left short, how much the sites within its latency budget can deliver, and which
   sites those are.
3. **What must move** (an elastic solve): all demand is met, and each limit may be exceeded at a
   price: land and grid connection per site, carbon cap, capital budget, chip supply, water per
   site, the 24/7 carbon-free share per site and hour. Each excess is weighted relative to the limit
   it breaks, so the answer is a smallest relative move that makes the scenario feasible, e.g.
   "site a has 100 acres; the demand needs 125 (+25 %)".

Like the relaxations of PyPSA's and Calliope's "load shedding" or GenX's unserved energy, but run
only when asked or when a solve finds no plan. This module owns its elastic model: it builds the
ordinary model from a copy of the scenario whose land and grid bounds are loose enough for any one
site to serve all demand, then restores the real limits as rows with slack.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentSet
from pyomo.core.base.var import VarData

from optimizer.constants import HOURS_PER_YEAR, KW_PER_MW, TOKENS_PER_PTOK, USD_PER_MUSD
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model import FactoryModel, build_model
from optimizer.solver.milp import plan_within
from optimizer.solver.session import INFEASIBLE, OPTIMAL, SolverSession

#: an elastic solve stops at this gap: the size of a move matters, not its last percent
DIAGNOSIS_GAP = 0.02
#: shares of the scenario's time limit for the two elastic solves (the first starts from a plan)
UNSERVED_TIME_SHARE = 0.5
MOVES_TIME_SHARE = 1.0
#: slack below this share of its limit is solver noise, not a finding
NOISE = 1e-6
#: a shortfall names the sites within reach when there are at most this many
SITES_NAMED = 5
#: findings of one kind listed in full; the rest are summed up in one line
FINDINGS_LISTED = 8


@dataclass
class Finding:
    limit: str  # consistency | demand | land | grid | carbon_cap | capex_budget | chip_supply | water | carbon_free
    where: str  # site, region/workload, chip, or "portfolio"
    message: str
    amount: float = math.nan  # how far the limit must move (or how much is short), in ``unit``
    unit: str = ""
    relative: float = math.nan  # amount / the limit


@dataclass
class Diagnosis:
    feasible: bool
    consistency: list[Finding] = field(default_factory=list)
    unserved: list[Finding] = field(default_factory=list)
    to_move: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return self.consistency + self.unserved + self.to_move

    def text(self) -> str:
        """The explanation as a planner reads it, one finding per line."""
        if self.feasible:
            return "the scenario has a feasible plan: no limit needs to move"
        lines = []
        if self.consistency:
            lines.append("The inputs cannot work together:")
            lines += [f"  - {f.message}" for f in self.consistency]
        if self.unserved:
            lines.append("Demand that cannot be served with every limit as it is:")
            lines += _listed(self.unserved, "tokens/yr short")
        if self.to_move:
            lines.append("Limits that must move to serve all demand (one smallest relative set of moves):")
            lines += _listed(self.to_move, "")
        lines += self.notes
        return "\n".join(lines)


def _listed(findings: list[Finding], total_unit: str) -> list[str]:
    """The largest findings (by relative size) one per line; the others summed up in one line."""
    ranked = sorted(findings, key=lambda f: -(f.relative if math.isfinite(f.relative) else math.inf))
    lines = [f"  - {f.message}" for f in ranked[:FINDINGS_LISTED]]
    rest = ranked[FINDINGS_LISTED:]
    if rest:
        total = f", {sum(f.amount for f in rest):.3g} {total_unit} in all" if total_unit else ""
        lines.append(f"  - ... and {len(rest)} more of the same kind{total}")
    return lines


# ---------------------------------------------------------------------------------------------
# 1. consistency


def consistency_findings(scenario: Scenario) -> list[Finding]:
    """Contradictions visible in the tables alone: each one rules out every plan."""
    findings = []
    chips, cooling = scenario.tables["chips"], scenario.tables["cooling"]
    densest = cooling["max_rack_kw"].max()
    densest_id = cooling["max_rack_kw"].idxmax()
    inputs = DerivedInputs(scenario)
    in_time = set(inputs.chips_available)
    rates = inputs.tokens_ptok_per_rack_hour
    deadline = scenario.constraints.online_by_year
    demand = scenario.tables["demand"]["tokens_per_yr"]
    for w in sorted({w for (_, w), tokens in demand.items() if tokens > 0}):
        reasons = []
        for c in chips.index:
            if rates.get((c, w), 0.0) <= 0:
                reasons.append(f"{c} has no throughput figure for it")
            elif c not in in_time:
                reasons.append(f"{c} ships in {int(chips.loc[c, 'available_year'])}, after online_by_year {deadline}")
            elif chips.loc[c, "rack_power_kw"] > densest:
                reasons.append(
                    f"{c}'s {chips.loc[c, 'rack_power_kw']:g} kW rack fits no cooling "
                    f"(densest: {densest_id} at {densest:g} kW)"
                )
            else:
                break
        else:
            findings.append(
                Finding("consistency", w, f"no accelerator can serve workload '{w}': " + "; ".join(reasons))
            )
    allowed = inputs.allowed_techs
    if not allowed.to_numpy().any():
        findings.append(
            Finding(
                "consistency",
                "portfolio",
                f"no power source can be online by {deadline} at any site (grid connections, lead times and "
                f"allowed_power_techs together rule out all of {list(allowed.columns)})",
            )
        )
    return findings


# ---------------------------------------------------------------------------------------------
# elastic rows

#: the index of one row of a Pyomo family: an id (chip, site) or a tuple such as (site, slice) or
#: (region, workload); Pyomo's indices carry no static type
RowKey: TypeAlias = Any


@dataclass
class _Elastic:
    """Slack variables of one kind of limit, with what a planner needs to word them."""

    limit: str
    slack: list[VarData]
    keys: list[RowKey]  # index of each relaxed row (e.g. (site, slice))
    where: list[str]
    bound: list[float]  # the limit each slack relaxes, in its unit
    weight: list[float]  # objective weight of one unit of slack


def _relax(
    m: pyo.ConcreteModel,
    component: pyo.Constraint,
    limit: str,
    where: Callable[[RowKey], str],
    bound: Callable[[RowKey], float],
    weight: Callable[[RowKey], float],
) -> _Elastic:
    """Replace each row of ``component`` (a family, reached through its handle) by one that may be exceeded
    by a non-negative slack. The slack and the relaxed rows are diagnose's own components, added to the
    model as ``diagnose_slack_<family>`` and ``diagnose_rows_<family>``."""
    rows = list(component.values())
    slack = pyo.Var(
        range(len(rows)),
        domain=pyo.NonNegativeReals,
        doc=f"added by diagnose: how far each row of {component.local_name} is exceeded",
    )
    m.add_component(f"diagnose_slack_{component.local_name}", slack)
    relaxed = pyo.ConstraintList(doc=f"added by diagnose: the rows of {component.local_name}, with their slack")
    m.add_component(f"diagnose_rows_{component.local_name}", relaxed)
    for number, row in enumerate(rows):
        row.deactivate()
        if row.equality or row.upper is None:  # body >= lower (or ==): the slack makes up a shortfall
            value = row.lower
            relaxed.add(row.body + slack[number] == value if row.equality else row.body + slack[number] >= value)
        else:
            relaxed.add(row.body - slack[number] <= row.upper)
    keys = list(component.keys())
    return _Elastic(
        limit,
        [slack[n] for n in range(len(rows))],
        keys,
        [where(k) for k in keys],
        [bound(k) for k in keys],
        [weight(k) for k in keys],
    )


class DiagnosisTimeout(RuntimeError):
    """An elastic solve found no plan within its time: the answer is unknown, not "no plan"."""


#: how far an elastic answer is established
PROVEN, TIME_LIMIT, LP_BOUND = "proven", "time_limit", "lp_bound"


def _lp_relaxation(session: SolverSession, objective: np.ndarray, time_limit_s: float) -> np.ndarray | None:
    """The elastic model without integrality, by interior point (on the default model it is about
    twice as fast as simplex on this all-slack objective); None if even that has no solution."""
    with session.relaxed(), session.options(solver="ipm"):
        run = session.run(max(time_limit_s, 1.0), objective=objective)
    if run.status == OPTIMAL:
        return run.x
    if run.status != INFEASIBLE:
        raise DiagnosisTimeout(f"the relaxed model did not solve within {time_limit_s:g} s; raise solver.time_limit_s")
    return None


def _solve_elastic(
    scenario: Scenario,
    fm: FactoryModel,
    elastic: list[_Elastic],
    time_share: float,
    start: list[tuple[VarData, float]] | None = None,
) -> tuple[dict[str, np.ndarray] | None, str]:
    """Minimise the weighted slack: the slack values of each kind (None if even that has no plan)
    and how far they are established: PROVEN smallest within the gap, TIME_LIMIT (the best plan
    found), or LP_BOUND (no plan in time: the LP relaxation's values, lower bounds on the moves).

    The LP relaxation comes first: fast, and if even it has no solution nothing will. ``start``
    ((variable, value) pairs, every other variable at zero) is a plan known to be feasible for the
    MILP, which spares HiGHS the search for a first plan. The weighted slack is diagnose's own objective,
    added to the model as ``diagnose_objective``.
    """
    weighted = pyo.Objective(
        expr=sum(w * s for e in elastic for s, w in zip(e.slack, e.weight)),
        sense=pyo.minimize,
        doc="added by diagnose: the weighted slack of every relaxed limit",
    )
    fm.model.add_component("diagnose_objective", weighted)
    options = replace(scenario.solver, mip_gap=max(scenario.solver.mip_gap, DIAGNOSIS_GAP))
    session = SolverSession.compile(fm, options)

    def slack_values(x: np.ndarray) -> dict[str, np.ndarray]:
        return {e.limit: np.array([session.value(x, s) for s in e.slack]) for e in elastic}

    objective = session.objective_rows[weighted.name][0]
    deadline = time.perf_counter() + time_share * options.time_limit_s
    relaxed = _lp_relaxation(session, objective, deadline - time.perf_counter())
    if relaxed is None:
        return None, PROVEN
    warm = session.vector(start) if start is not None else None
    outcome = plan_within(session, objective, deadline - time.perf_counter(), warm)
    status, x = outcome.status, outcome.x
    if status == INFEASIBLE:
        return None, PROVEN
    proven = status == OPTIMAL
    # a plan grown from the trivial start and stopped by the clock may be that start itself: the
    # relaxation's values say more (as bounds) than a plan that serves nothing
    if x is None or (start is not None and not proven):
        return slack_values(relaxed), LP_BOUND
    return slack_values(x), PROVEN if proven else TIME_LIMIT


# ---------------------------------------------------------------------------------------------
# 2. what cannot be served


def unserved_demand(scenario: Scenario, fm: FactoryModel | None = None) -> tuple[list[Finding] | None, str]:
    """Regions and workloads left short when every limit holds (None if no plan exists even then),
    and how far that is established (PROVEN, TIME_LIMIT or LP_BOUND)."""
    fm = fm or build_model(scenario)
    m, applications = fm.model, fm.applications
    demand = scenario.tables["demand"]["tokens_per_yr"]
    if applications.minimum_delivery is None:  # serve_demand: every demand row is met (demand_served)
        elastic = _relax(
            m,
            applications.demand_rows,
            "demand",
            lambda k: f"{k[0]}/{k[1]}",
            lambda k: demand[k],
            lambda k: 1.0 / (demand[k] / TOKENS_PER_PTOK),
        )
    else:  # min_cost_per_token: the floor on total delivery is the demand limit
        floor = scenario.objective.min_demand_share * demand.sum()
        elastic = _relax(
            m,
            applications.minimum_delivery,
            "demand",
            lambda k: "portfolio",
            lambda k: floor,
            lambda k: 1.0 / (floor / TOKENS_PER_PTOK),
        )
    # serving nothing is a plan: every shortfall at its whole demand, everything else at zero
    nothing_served = [(var, bound / TOKENS_PER_PTOK) for var, bound in zip(elastic.slack, elastic.bound)]
    slack, quality = _solve_elastic(scenario, fm, [elastic], UNSERVED_TIME_SHARE, nothing_served)
    if slack is None:
        return None, quality
    reach: dict[tuple[str, str], list[str]] = {}
    for s, r, w in applications.routes:
        reach.setdefault((r, w), []).append(s)
    budget = scenario.tables["workloads"]["latency_budget_ms"]
    findings = []
    for where, needed, short_ptok in zip(elastic.where, elastic.bound, slack["demand"]):
        short = short_ptok * TOKENS_PER_PTOK
        if short <= NOISE * needed:
            continue
        if where == "portfolio":
            message = (
                f"the plan must deliver {needed:.3g} tokens/yr ({scenario.objective.min_demand_share:.0%} of "
                f"demand); at most {needed - short:.3g} can be delivered"
            )
        else:
            region, workload = where.split("/")
            sites = reach.get((region, workload), [])
            named = f" ({', '.join(sites)})" if len(sites) <= SITES_NAMED else ""
            message = (
                f"region '{region}' needs {needed:.3g} tokens/yr of '{workload}'; the {len(sites)} site(s) "
                f"within its {budget[workload]:g} ms latency budget{named} can deliver at most "
                f"{max(needed - short, 0.0):.3g} ({short / needed:.0%} short)"
            )
        findings.append(Finding("demand", where, message, short, "tokens/yr", short / needed))
    return findings, quality


# ---------------------------------------------------------------------------------------------
# 3. what must move


def _loosened(scenario: Scenario) -> Scenario:
    """A copy whose land and grid connections could each carry all demand at one site, so that
    the variable bounds derived from them do not hide the real limits (restored as rows)."""
    loose = copy.deepcopy(scenario)
    sites = loose.tables["sites"]
    chips = loose.tables["chips"]
    rates = DerivedInputs(scenario).tokens_ptok_per_rack_hour
    demand = scenario.tables["demand"]["tokens_per_yr"].groupby(level="workload_id").sum() / TOKENS_PER_PTOK
    it_needed_mw = 0.0
    for w, ptok in demand.items():
        per_mw = [
            rate * HOURS_PER_YEAR / (chips.loc[c, "rack_power_kw"] / KW_PER_MW)
            for (c, ww), rate in rates.items()
            if ww == w and rate > 0
        ]
        if per_mw:
            it_needed_mw += ptok / max(per_mw)
    # twice the IT load: the facility's PUE and on-site generation's land come on top
    it_needed_mw = 2.0 * it_needed_mw + 1.0
    acres = it_needed_mw * scenario.facility("it_acres_per_mw")
    sites["land_acres"] = np.maximum(sites["land_acres"], acres)
    sites["grid_capacity_mw"] = np.maximum(sites["grid_capacity_mw"], it_needed_mw)
    return loose


def _restore_land_and_grid(scenario: Scenario, fm: FactoryModel) -> list[_Elastic]:
    """The real land and grid connection of each site, as rows that may be exceeded: diagnose's own
    components, added to the model as ``diagnose_land`` and ``diagnose_grid`` with their slack."""
    m, sites_set = fm.model, fm.core.sites
    build, capacity_mw = fm.infrastructure.build, fm.energy.capacity_mw
    sites = scenario.tables["sites"]
    land = sites["land_acres"]
    land_slack = pyo.Var(
        sites_set, domain=pyo.NonNegativeReals, doc="added by diagnose: acres of land a site would need beyond its own"
    )
    m.add_component("diagnose_land_slack", land_slack)
    land_used = fm.shared.use["land_acres"]  # the land balance's use side: IT halls, plants and storage
    m.add_component(
        "diagnose_land",
        pyo.Constraint(
            sites_set,
            rule=lambda _, s: sum(u[s] for u in land_used) <= land[s] * build[s] + land_slack[s],
            doc="added by diagnose: the land a built site uses within its land, or its slack",
        ),
    )
    grid = fm.energy.sites.grid
    connected = [s for s in sites_set if grid in fm.energy.sites.techs_at[s]]
    grid_slack = pyo.Var(
        connected,
        domain=pyo.NonNegativeReals,
        doc="added by diagnose: MW of grid connection a site would need beyond its own",
    )
    m.add_component("diagnose_grid_slack", grid_slack)
    capacity = sites["grid_capacity_mw"]
    m.add_component(
        "diagnose_grid",
        pyo.Constraint(
            connected,
            rule=lambda _, s: capacity_mw[s, grid] <= capacity[s] + grid_slack[s],
            doc="added by diagnose: the grid connection within the site's, or its slack",
        ),
    )
    every = list(sites_set)
    return [
        _Elastic(
            "land",
            [land_slack[s] for s in every],
            every,
            every,
            [land[s] for s in every],
            [1.0 / max(land[s], 1.0) for s in every],
        ),
        _Elastic(
            "grid",
            [grid_slack[s] for s in connected],
            connected,
            connected,
            [capacity[s] for s in connected],
            [1.0 / max(capacity[s], 1.0) for s in connected],
        ),
    ]


def _relax_policy_rows(fm: FactoryModel, scenario: Scenario) -> list[_Elastic]:
    """Carbon cap, capital budget, chip supply, water and the 24/7 carbon-free share, where set."""
    m = fm.model
    limits = scenario.constraints
    chips = scenario.tables["chips"]
    sites = scenario.tables["sites"]
    weight_h = scenario.tables["slices"]["weight_h"]
    elastic = []
    # the policy layer adds the cap and budget rows only when their limits are set
    cap, budget_usd = limits.carbon_cap_t_per_yr, limits.capex_budget_usd
    if fm.policy.carbon_cap is not None and cap is not None:
        elastic.append(
            _relax(
                m,
                fm.policy.carbon_cap,
                "carbon_cap",
                lambda k: "portfolio",
                lambda k: cap,
                lambda k: 1.0 / max(cap, 1.0),
            )
        )
    if fm.policy.capex_budget is not None and budget_usd is not None:
        budget_musd = budget_usd / USD_PER_MUSD
        elastic.append(
            _relax(
                m,
                fm.policy.capex_budget,
                "capex_budget",
                lambda k: "portfolio",
                lambda k: budget_musd,
                lambda k: 1.0 / max(budget_musd, 1.0),
            )
        )
    if len(fm.chips.chip_supply_limit):
        supply = chips["supply_limit_chips"]
        elastic.append(
            _relax(
                m,
                fm.chips.chip_supply_limit,
                "chip_supply",
                lambda c: c,
                lambda c: supply[c],
                lambda c: 1.0 / max(supply[c], 1.0),
            )
        )
    if len(fm.infrastructure.water_limit):
        water = sites["water_limit_ml_per_yr"]
        elastic.append(
            _relax(
                m,
                fm.infrastructure.water_limit,
                "water",
                lambda s: s,
                lambda s: water[s],
                lambda s: 1.0 / max(water[s], 1.0),
            )
        )
    for component in (fm.energy.carbon_free_share, fm.energy.bridge_carbon_free_share):
        if component is not None and len(component):
            # MW short in one slice, weighted by the hours it stands for: MWh/yr relative to 1 GWh/yr
            elastic.append(
                _relax(
                    m,
                    component,
                    "carbon_free",
                    lambda k: k[0],
                    lambda k: limits.cfe_share,
                    lambda k: weight_h[k[1]] / 1000.0,
                )
            )
    return elastic


def _usd(musd: float) -> str:
    return f"${musd / 1e3:,.2f} bn" if musd >= 1e3 else f"${musd:,.1f} M"


#: how a move of each limit is worded (fields: where, limit, needed, amount, change, money) and its unit
WORDING = {
    "land": ("site '{where}' has {limit:,.0f} acres; the plan needs {needed:,.0f} ({change})", "acres"),
    "grid": (
        "the grid connection of site '{where}' ({limit:,.0f} MW) would need to be {needed:,.0f} MW ({change})",
        "MW",
    ),
    "carbon_cap": ("the carbon cap of {limit:,.0f} t/yr must rise to {needed:,.0f} t/yr ({change})", "t/yr"),
    "capex_budget": ("the capital budget of {money[0]} must rise to {money[1]} ({change})", "M$"),
    "chip_supply": ("the supply of {where} must rise from {limit:,.0f} to {needed:,.0f} chips ({change})", "chips"),
    "water": (
        "the water limit of site '{where}' ({limit:,.1f} ML/yr) must rise to {needed:,.1f} ML/yr ({change})",
        "ML/yr",
    ),
    "carbon_free": (
        "site '{where}' lacks {amount:,.0f} MWh/yr of carbon-free supply for a {limit:.0%} hourly "
        "carbon-free share: lower constraints.cfe_share or allow more clean sources",
        "MWh/yr",
    ),
}


def _words(limit: str, where: str, bound: float, amount: float) -> Finding:
    """A move of ``amount`` beyond the limit ``bound`` (for carbon_free: MWh/yr short of the share)."""
    # plain floats: a limit of a few 1e-300 gives inf ("from none") without numpy's overflow warning
    amount, bound = float(amount), float(bound)
    relative = math.nan if limit == "carbon_free" else (amount / bound if bound > 0 else math.inf)
    change = f"+{relative:.0%}" if math.isfinite(relative) else "from none"
    template, unit = WORDING[limit]
    message = template.format(
        where=where,
        limit=bound,
        needed=bound + amount,
        amount=amount,
        change=change,
        money=(_usd(bound), _usd(bound + amount)),
    )
    return Finding(limit, where, message, amount, unit, relative)


def land_bounded(fm: FactoryModel) -> ComponentSet:
    """The variables whose upper bounds derive from land or the grid connection: in the loosened model the
    restored land and grid rows limit them instead."""
    return ComponentSet(
        [fm.chips.racks, fm.infrastructure.it_capacity_mw, fm.infrastructure.cooled_it_mw, fm.workloads.assigned_racks]
    )


def tech_bounded(fm: FactoryModel) -> ComponentSet:
    """The variables indexed by (site, tech, ...) whose bounds follow the tech's land or grid."""
    return ComponentSet([fm.energy.capacity_mw, fm.energy.units, fm.energy.generation_mw])


def variable_upper_bounds(fm: FactoryModel) -> dict[str, float | None]:
    """Upper bound of every variable of a built model, by name."""
    return {v.name: v.ub for v in fm.model.component_data_objects(pyo.Var, descend_into=True)}


def _keep_other_bounds(loose_fm: FactoryModel, scenario: Scenario, original: dict[str, float | None]) -> None:
    """Give every variable not limited by land or grid its bound of the real scenario: the model's
    other bounds (storage power, plants sized to the load) must not loosen with the land."""
    techs = scenario.tables["power_techs"]
    land_or_grid = set(techs.index[(techs["land_acres_per_mw"] > 0) | (techs["kind"] == "grid")])
    by_land, by_tech = land_bounded(loose_fm), tech_bounded(loose_fm)
    for var in loose_fm.model.component_data_objects(pyo.Var, descend_into=True):
        component = var.parent_component()
        if component in by_land or (component in by_tech and var.index()[1] in land_or_grid):
            continue
        bound = original.get(var.name)
        if bound is not None and (var.ub is None or bound < var.ub):
            var.setub(bound)


def limits_to_move(
    scenario: Scenario, original_bounds: dict[str, float | None] | None = None
) -> tuple[list[Finding] | None, str]:
    """A smallest relative set of limit moves that lets all demand be served (None if no move of
    these limits does), and how far that is established (PROVEN, TIME_LIMIT or LP_BOUND)."""
    fm = build_model(_loosened(scenario))
    _keep_other_bounds(fm, scenario, original_bounds or variable_upper_bounds(build_model(scenario)))
    elastic = _restore_land_and_grid(scenario, fm) + _relax_policy_rows(fm, scenario)
    slack, quality = _solve_elastic(scenario, fm, elastic, MOVES_TIME_SHARE)
    if slack is None:
        return None, quality
    weight_h = scenario.tables["slices"]["weight_h"]
    findings = []
    for e in elastic:
        values = slack[e.limit]
        if e.limit == "carbon_free":  # per site: MW short in each slice x the hours it stands for
            short: dict[str, float] = {}
            for (site, slice_id), mw in zip(e.keys, values):
                short[site] = short.get(site, 0.0) + mw * weight_h[slice_id]
            findings += [
                _words("carbon_free", s, scenario.constraints.cfe_share, mwh)
                for s, mwh in short.items()
                if mwh > NOISE * HOURS_PER_YEAR
            ]
            continue
        for where, bound, amount in zip(e.where, e.bound, values):
            if amount > NOISE * max(bound, 1.0):
                findings.append(_words(e.limit, where, bound, float(amount)))
    return sorted(findings, key=lambda f: -(f.relative if math.isfinite(f.relative) else 1e9)), quality


#: said of an elastic answer that is not proven smallest
QUALITY = {
    TIME_LIMIT: "(the solver stopped at its time limit: these amounts suffice but may not be the smallest)",
    LP_BOUND: "(no whole-unit plan within the time limit: from the continuous relaxation, so at least this much)",
}


def diagnose(scenario: Scenario) -> Diagnosis:
    """Explain why ``scenario`` has no plan (or say that it has one)."""
    consistency = consistency_findings(scenario)
    if consistency:
        return Diagnosis(False, consistency=consistency)
    diagnosis = Diagnosis(False)
    try:
        # one build of the real model serves both steps: elastic rows for the first, bounds for the second
        fm = build_model(scenario)
        bounds = variable_upper_bounds(fm)
        unserved, quality = unserved_demand(scenario, fm)
    except DiagnosisTimeout as error:
        diagnosis.notes.append(f"Demand that cannot be served: unknown ({error}).")
    else:
        if unserved == []:
            return Diagnosis(True)
        if unserved is None:
            diagnosis.notes.append(
                "Even serving no demand at all has no plan: a limit beyond demand (e.g. a minimum share) cannot be met."
            )
        diagnosis.unserved = unserved or []
        if unserved and quality != PROVEN:
            diagnosis.notes.append(f"Demand short {QUALITY[quality]}.")
    try:
        moves, quality = limits_to_move(scenario, bounds)
    except DiagnosisTimeout as error:
        diagnosis.notes.append(f"Limits that must move: unknown ({error}).")
        return diagnosis
    if moves is None:
        diagnosis.notes.append(
            "No move of land, grid, carbon, budget, chip supply, water or carbon-free limits makes "
            "the scenario feasible: check online_by_year, allowed sites and techs, and latency "
            "budgets."
        )
    else:
        diagnosis.to_move = moves
        if quality != PROVEN:
            diagnosis.notes.append(f"Limits to move {QUALITY[quality]}.")
    return diagnosis
