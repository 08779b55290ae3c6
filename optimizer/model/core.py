"""The meeting point of the layers: sets, shared balances, cost terms and the objective.

Like switch-model's ``Zone_Power_Injections`` and cost lists, each layer module adds its own
variables and constraints and *contributes* indexed expressions to a few shared sums declared
here. Nothing in a layer refers to another layer; :func:`assemble` builds the balances and the
objective from whatever was contributed.

Shared balances (supply ``sense`` use):

===============  ===================  =====  ==========================================================
balance          index                sense  meaning
===============  ===================  =====  ==========================================================
power_mw         site, slice           ==    on-site supply equals facility load plus charging
bridge_power_mw  site, slice           ==    until a late grid arrives, on-site generation equals load
it_power_mw      site                  ==    IT power the cooling carries equals racks running
it_capacity_mw   site, level           >=    cooled IT capacity dense enough for racks >= level kW
racks            site, chip            >=    racks installed cover racks assigned to workloads
tokens_ptok      site, wkld            >=    tokens produced cover tokens delivered
land_acres       site                  >=    land of a built site covers IT and generation footprint
peak_power_mw    site, cooling, hour   >=    power the site can draw covers its facility load in the
                                             hours of the full year that can set its peak
===============  ===================  =====  ==========================================================

Costs are contributed as expressions indexed by site, in M$/yr, tagged with their layer so the
cost per token splits by layer. A *capital* cost term is the annuity of a capacity family the layer
declares (:class:`CapitalFamily`): the build-out (``docs/BUILDOUT.md``) pays it vintage by vintage
instead, from the annuity each build year's block states. Emissions (t/yr) and overnight capex (M$) are collected the
same way for the optional caps.

Results are reported the same way round (like switch-model's ``post_solve``): each layer module has a
``report`` function that turns its own solved families (read with :func:`solved_values`) into its plan
tables and its columns of the shared ones; this module's :func:`report` gives costs.csv and the cost
columns of sites.csv. The plan writer (``optimizer.outputs.plan``) only gathers them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr import RelationalExpression

from optimizer.constants import USD_PER_MUSD
from optimizer.contract import LAYERS
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario

BALANCES = {
    "power_mw": ("site_slices", "=="),
    "bridge_power_mw": ("bridge_site_slices", "=="),  # index set declared by the energy layer
    "it_power_mw": ("S", "=="),
    "it_capacity_mw": ("site_levels", ">="),
    "racks": ("site_chips", ">="),
    "tokens_ptok": ("site_workloads", ">="),
    "land_acres": ("S", ">="),
    "peak_power_mw": ("site_peak_hours", ">="),
}


@dataclass
class CostTerm:
    layer: str
    item: str
    by_site: pyo.Expression  # indexed by site, M$/yr
    capital: bool = False
    """the annuity of a capacity family (:class:`CapitalFamily`), paid by vintage in a build-out"""


@dataclass(frozen=True, eq=False)
class CapitalFamily:
    """Capacity whose capital is paid as an annuity per unit: what a build-out adds by vintage.

    In a one-year model the layer's capital cost is :meth:`cost_by_site` of each item. A build-out
    keeps one such family per block (planning year) as *what stands in that year*, adds a vintage
    variable per build year and key, and pays each vintage the annuity its build year's block states.
    """

    name: str
    """the family's name, e.g. ``racks`` (names its vintage families in a build-out)"""
    layer: str
    capacity: pyo.Var
    """the capacity standing in the year, indexed by site or (site, x)"""
    life_yr: Mapping[Any, float]
    """years a vintage of each key stays in service"""
    buildable: Sequence[Any]
    """keys at which capacity may be added in this model's year (lead times, years of sale)"""
    annuity_musd: Mapping[str, Mapping[Any, float]]
    """cost item -> key -> capital annuity per unit of capacity, M$/yr (keys an item does not cost: absent)"""
    retirable: bool = False
    """whether a vintage may leave service before its life ends (racks: to free power for a newer generation)"""
    purchase_limits: Mapping[str, tuple[Mapping[Any, float], float]] = field(default_factory=dict)
    """limit -> (units counted per unit of capacity at each key, most per year): what a build-out may add
    in one year (chips: a SKU's supply); a one-year model states its own limits on what stands"""

    def site_of(self, key: Hashable) -> Hashable:
        """The site a key of the family belongs to (its first element)."""
        return key[0] if isinstance(key, tuple) else key

    def cost_by_site(self, sites: pyo.Set, item: str) -> pyo.Expression:
        """The item's annuity on the standing capacity, by site, M$/yr."""
        annuity = self.annuity_musd[item]
        keys_at: dict[Hashable, list[Hashable]] = {s: [] for s in sites}
        for key in annuity:
            keys_at[self.site_of(key)].append(key)
        return pyo.Expression(sites, rule=lambda _, s: sum(annuity[key] * self.capacity[key] for key in keys_at[s]))


@dataclass
class Shared:
    """Contributions of the layer modules, assembled into constraints by :func:`assemble`."""

    supply: dict[str, list[pyo.Var | pyo.Expression]] = field(default_factory=lambda: {name: [] for name in BALANCES})
    use: dict[str, list[pyo.Var | pyo.Expression]] = field(default_factory=lambda: {name: [] for name in BALANCES})
    costs: list[CostTerm] = field(default_factory=list)
    emissions_t: list[pyo.Expression] = field(default_factory=list)
    capex_musd: list[pyo.Expression] = field(default_factory=list)
    penalties_musd: list[pyo.Expression] = field(default_factory=list)
    """scalar penalties the objective pays that are not costs of the plan (demand left unserved), M$/yr"""
    capital: list[CapitalFamily] = field(default_factory=list)
    """every capacity family whose capital is paid as an annuity (the build-out's vintages)"""
    delivered_ptok: pyo.Expression | None = None
    site_built: pyo.Var | None = None
    """each site's build binary (infrastructure layer), for other layers' tightening constraints"""

    def add_supply(self, balance: str, expression: pyo.Var | pyo.Expression) -> None:
        self.supply[balance].append(expression)

    def add_use(self, balance: str, expression: pyo.Var | pyo.Expression) -> None:
        self.use[balance].append(expression)

    def add_cost(self, layer: str, item: str, by_site: pyo.Expression) -> None:
        if layer not in LAYERS:
            raise ValueError(f"cost '{item}' tagged with unknown layer '{layer}'")
        self.costs.append(CostTerm(layer, item, by_site))

    def add_capital(self, family: CapitalFamily, item: str, by_site: pyo.Expression) -> None:
        """Contribute ``family``'s annuity for ``item`` (``family.cost_by_site``) as a capital cost term."""
        if item not in family.annuity_musd:
            raise ValueError(f"capital family '{family.name}' has no annuity for cost item '{item}'")
        if all(known is not family for known in self.capital):
            self.capital.append(family)
        self.add_cost(family.layer, item, by_site)
        self.costs[-1].capital = True

    def cost_by_layer_musd(self) -> dict[str, float]:
        """Yearly cost of each layer in a solved model, M$/yr: the one place costs are summed by layer."""
        return {
            layer: float(
                sum(pyo.value(cost) for term in self.costs if term.layer == layer for cost in term.by_site.values())
            )
            for layer in LAYERS
        }


@dataclass(frozen=True)
class CoreHandles:
    """The sets and sums every reader of a built or solved model uses."""

    sites: pyo.Set
    """candidate sites, in the order of the sites table"""
    slices: pyo.Set
    """hours of the representative days"""
    weight_h: dict[int, float]
    """hours of the year each slice stands for"""
    total_cost_musd: pyo.Expression
    """yearly cost of the plan, M$/yr: the sum of every layer's cost terms"""
    delivered_total_ptok: pyo.Expression
    """tokens delivered in a year, Ptok"""
    emissions_total_t: pyo.Expression
    """CO2 of an average year, t"""
    capex_total_musd: pyo.Expression
    """overnight capital of the plan, M$"""
    penalty_musd: pyo.Expression
    """penalties the objective pays besides the plan's cost (demand left unserved), M$/yr"""
    objective_cost: pyo.Objective
    """the cost row the solver minimises (Dinkelbach subtracts lambda x tokens)"""
    objective_tokens: pyo.Objective
    """the tokens row, compiled for the ratio objective"""


def add_sets(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs) -> None:
    """Sets shared by all layers, in the order of the input tables."""
    t = scenario.tables
    m.S = pyo.Set(initialize=list(t["sites"].index), ordered=True)
    m.T = pyo.Set(initialize=list(t["slices"].index), ordered=True)
    m.C = pyo.Set(initialize=list(t["chips"].index), ordered=True)
    m.K = pyo.Set(initialize=list(t["cooling"].index), ordered=True)
    m.W = pyo.Set(initialize=list(t["workloads"].index), ordered=True)
    # rack-density levels: one per distinct rack power; cooling must reach the level of each rack
    m.L = pyo.Set(initialize=sorted(set(t["chips"]["rack_power_kw"].astype(float))), ordered=True)
    m.site_slices = pyo.Set(initialize=m.S * m.T, ordered=True)
    m.site_levels = pyo.Set(initialize=m.S * m.L, ordered=True)
    m.site_chips = pyo.Set(initialize=m.S * m.C, ordered=True)
    m.site_workloads = pyo.Set(initialize=m.S * m.W, ordered=True)
    m.weight_h = t["slices"]["weight_h"].astype(float).to_dict()
    # the hours of the full year (not only of the representative days) that can set a site's peak
    m.peak_hours = inputs.peak_hours
    m.site_peak_hours = pyo.Set(initialize=list(m.peak_hours.index), dimen=3, ordered=True)


def _sum_at(components: list[pyo.Var | pyo.Expression], index: Hashable) -> pyo.NumericValue | float:
    return sum(component[index] for component in components)


def assemble(m: pyo.ConcreteModel, shared: Shared) -> CoreHandles:
    r"""Build the shared balances and the two objective rows (cost and delivered tokens).

    Each balance :math:`n` of :data:`BALANCES`, at every index :math:`i` of its set:

    .. math::

        \sum_{e \in \text{supply}_n} e_i \;\; (= \text{ or } \ge) \;\; \sum_{e \in \text{use}_n} e_i
        \quad \text{(balance_}n\text{)}

        \min \; \sum_{\text{terms}} \sum_s \text{cost}_s + \text{penalties} \quad \text{(objective_cost; M\$/yr)}
    """
    for name, (index_name, sense) in BALANCES.items():
        supply, use = shared.supply[name], shared.use[name]
        if not supply and not use:
            continue

        def rule(
            _: pyo.ConcreteModel,
            *index: str | int | float,
            supply: list[pyo.Var | pyo.Expression] = supply,
            use: list[pyo.Var | pyo.Expression] = use,
            sense: str = sense,
        ) -> RelationalExpression | type[pyo.Constraint.Skip]:
            key = index[0] if len(index) == 1 else index
            lhs, rhs = _sum_at(supply, key), _sum_at(use, key)
            if isinstance(lhs, (int, float)) and isinstance(rhs, (int, float)):
                return pyo.Constraint.Skip
            return lhs == rhs if sense == "==" else lhs >= rhs

        m.add_component(f"balance_{name}", pyo.Constraint(getattr(m, index_name), rule=rule))

    m.total_cost_musd = pyo.Expression(expr=sum(term.by_site[s] for term in shared.costs for s in m.S))
    m.delivered_total_ptok = pyo.Expression(expr=shared.delivered_ptok)
    m.emissions_total_t = pyo.Expression(expr=sum(e[s] for e in shared.emissions_t for s in m.S))
    m.capex_total_musd = pyo.Expression(expr=sum(c[s] for c in shared.capex_musd for s in m.S))
    m.penalty_musd = pyo.Expression(expr=sum(shared.penalties_musd))
    # Both rows are compiled; the solver combines them (cost - lambda * tokens for Dinkelbach).
    m.objective_cost = pyo.Objective(expr=m.total_cost_musd + m.penalty_musd, sense=pyo.minimize)
    m.objective_tokens = pyo.Objective(expr=m.delivered_total_ptok, sense=pyo.minimize)
    return CoreHandles(
        sites=m.S,
        slices=m.T,
        weight_h=m.weight_h,
        total_cost_musd=m.total_cost_musd,
        delivered_total_ptok=m.delivered_total_ptok,
        emissions_total_t=m.emissions_total_t,
        capex_total_musd=m.capex_total_musd,
        penalty_musd=m.penalty_musd,
        objective_cost=m.objective_cost,
        objective_tokens=m.objective_tokens,
    )


def solved_values(component: pyo.Var | pyo.Expression) -> pd.Series:
    """Solved values of an indexed variable or expression, indexed like it (a value not set reads 0).

    The one way the layers' reports read a solved family: a Series keyed by the family's index
    (a MultiIndex for a multi-dimensional one), empty for an empty family.
    """
    data = {key: pyo.value(item, exception=False) or 0.0 for key, item in component.items()}
    if not data:
        return pd.Series(dtype=float)
    return pd.Series(data, dtype=float)


@dataclass(frozen=True)
class CoreReport:
    """What the shared sums of a solved model report."""

    costs: pd.DataFrame
    """costs.csv without its ratio: site_id, layer, item, usd_per_yr (one row per cost term and site)"""
    sites: pd.DataFrame
    """by site id: ``cost_usd_per_yr`` and each layer's ``<layer>_usd_per_yr`` (sites.csv)"""
    capex_usd: float
    """overnight capital of the plan, USD (summary.csv ``capex_usd``)"""


def report(core: CoreHandles, shared: Shared) -> CoreReport:
    """The solved costs: costs.csv (``site_id``, ``layer``, ``item``, ``usd_per_yr``; the plan adds
    ``usd_per_mtok``, a ratio to the tokens of the applications layer), the cost columns of sites.csv
    (``cost_usd_per_yr``, ``energy_usd_per_yr``, ``chips_usd_per_yr``, ``infrastructure_usd_per_yr``)
    and the plan's overnight capital (summary.csv ``capex_usd``).

    Every cost item the layers contributed to ``shared.costs``, site by site, in the order first
    contributed; an item's capital (annuity) and fixed terms are one row.
    """
    rows = []
    for term in shared.costs:
        for site, value in solved_values(term.by_site).items():
            rows.append({"site_id": site, "layer": term.layer, "item": term.item, "usd_per_yr": value * USD_PER_MUSD})
    costs = pd.DataFrame(rows).groupby(["site_id", "layer", "item"], sort=False, as_index=False)["usd_per_yr"].sum()
    sites = pd.Index(list(core.sites), name="site_id")
    by_layer = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_layer = by_layer.reindex(index=sites, columns=list(LAYERS), fill_value=0.0).fillna(0.0)
    columns = pd.DataFrame(
        {"cost_usd_per_yr": by_layer.sum(axis=1), **{f"{layer}_usd_per_yr": by_layer[layer] for layer in LAYERS}},
        index=sites,
    )
    return CoreReport(costs, columns, pyo.value(core.capex_total_musd) * USD_PER_MUSD)
