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
cost per token splits by layer. Emissions (t/yr) and overnight capex (M$) are collected the
same way for the optional caps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyomo.environ as pyo

from optimizer.inputs.cooling import hourly_pue_wue
from optimizer.inputs.profiles import complete_hourly, peak_hours
from optimizer.inputs.scenario import Scenario

LAYERS = ("energy", "chips", "infrastructure")
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


@dataclass
class Shared:
    """Contributions of the layer modules, assembled into constraints by :func:`assemble`."""

    supply: dict[str, list] = field(default_factory=lambda: {name: [] for name in BALANCES})
    use: dict[str, list] = field(default_factory=lambda: {name: [] for name in BALANCES})
    costs: list[CostTerm] = field(default_factory=list)
    emissions_t: list = field(default_factory=list)
    capex_musd: list = field(default_factory=list)
    delivered_ptok: pyo.Expression | None = None
    site_built: pyo.Var | None = None
    """each site's build binary (infrastructure layer), for other layers' tightening constraints"""

    def add_supply(self, balance: str, expression) -> None:
        self.supply[balance].append(expression)

    def add_use(self, balance: str, expression) -> None:
        self.use[balance].append(expression)

    def add_cost(self, layer: str, item: str, by_site) -> None:
        if layer not in LAYERS:
            raise ValueError(f"cost '{item}' tagged with unknown layer '{layer}'")
        self.costs.append(CostTerm(layer, item, by_site))


def site_it_limit_mw(scenario: Scenario) -> dict[str, float]:
    """Largest IT load each site's land could hold: the bound behind every site-level big-M."""
    acres_per_mw = scenario.facility("it_acres_per_mw")
    return (scenario.tables["sites"]["land_acres"] / acres_per_mw).to_dict()


def add_sets(m: pyo.ConcreteModel, scenario: Scenario) -> None:
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
    hourly = complete_hourly(t["hourly"], t["sites"])
    m.peak_hours = peak_hours(hourly_pue_wue(t["cooling"], hourly)[0], hourly)
    m.site_peak_hours = pyo.Set(initialize=list(m.peak_hours.index), dimen=3, ordered=True)


def _sum_at(components: list, index) -> object:
    return sum(component[index] for component in components)


def assemble(m: pyo.ConcreteModel, shared: Shared) -> None:
    """Build the shared balances and the two objective rows (cost and delivered tokens)."""
    for name, (index_name, sense) in BALANCES.items():
        supply, use = shared.supply[name], shared.use[name]
        if not supply and not use:
            continue

        def rule(_, *index, supply=supply, use=use, sense=sense):
            index = index[0] if len(index) == 1 else index
            lhs, rhs = _sum_at(supply, index), _sum_at(use, index)
            if isinstance(lhs, (int, float)) and isinstance(rhs, (int, float)):
                return pyo.Constraint.Skip
            return lhs == rhs if sense == "==" else lhs >= rhs

        m.add_component(f"balance_{name}", pyo.Constraint(getattr(m, index_name), rule=rule))

    m.total_cost_musd = pyo.Expression(expr=sum(term.by_site[s] for term in shared.costs for s in m.S))
    m.delivered_total_ptok = pyo.Expression(expr=shared.delivered_ptok)
    m.emissions_total_t = pyo.Expression(expr=sum(e[s] for e in shared.emissions_t for s in m.S))
    m.capex_total_musd = pyo.Expression(expr=sum(c[s] for c in shared.capex_musd for s in m.S))
    # Both rows are compiled; the solver combines them (cost - lambda * tokens for Dinkelbach).
    m.objective_cost = pyo.Objective(expr=m.total_cost_musd, sense=pyo.minimize)
    m.objective_tokens = pyo.Objective(expr=m.delivered_total_ptok, sense=pyo.minimize)
