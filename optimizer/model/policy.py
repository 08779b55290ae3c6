"""Limits across layers: carbon price and cap, capital budget. Built from the shared sums."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.model.core import Shared
from optimizer.inputs.scenario import Scenario
from optimizer.constants import musd

#: the cost item of the carbon price (energy layer): it follows the hourly dispatch's emissions
CARBON_PRICE_ITEM = "carbon price"


def add_policy(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    limits = scenario.constraints
    if limits.carbon_price_usd_per_t:
        price = musd(limits.carbon_price_usd_per_t)
        m.carbon_cost_musd = pyo.Expression(m.S, rule=lambda _, s: price * sum(e[s] for e in shared.emissions_t))
        shared.add_cost("energy", CARBON_PRICE_ITEM, m.carbon_cost_musd)
    if limits.carbon_cap_t_per_yr is not None:
        m.carbon_cap = pyo.Constraint(
            expr=sum(e[s] for e in shared.emissions_t for s in m.S) <= limits.carbon_cap_t_per_yr
        )
    if limits.capex_budget_usd is not None:
        m.capex_budget = pyo.Constraint(
            expr=sum(c[s] for c in shared.capex_musd for s in m.S) <= musd(limits.capex_budget_usd)
        )
