"""Limits across layers: carbon price and cap, capital budget. Built from the shared sums."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.constants import musd
from optimizer.contract import CARBON_PRICE_ITEM
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared


@dataclass(frozen=True)
class PolicyHandles:
    """The limits across layers that readers of a built or solved model use (None where not set)."""

    carbon_cap: pyo.Constraint | None
    """emissions of all sites within ``constraints.carbon_cap_t_per_yr``"""
    capex_budget: pyo.Constraint | None
    """overnight capital of all sites within ``constraints.capex_budget_usd``"""


def add_policy(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> PolicyHandles:
    r"""The carbon price (a cost of the energy layer), the carbon cap and the capital budget.

    .. math::

        \text{carbon price}_s = \pi_{CO_2} \sum_e e_s, \qquad
        \sum_s \sum_e e_s \le \text{cap} \quad \text{(carbon_cap)}, \qquad
        \sum_s \sum_k K_{k,s} \le \text{budget} \quad \text{(capex_budget)}

    over the emissions :math:`e` (t/yr) and overnight capital :math:`K` (M$) every layer contributes.
    """
    limits = scenario.constraints
    carbon_cap = capex_budget = None
    if limits.carbon_price_usd_per_t:
        price = musd(limits.carbon_price_usd_per_t)
        m.carbon_cost_musd = pyo.Expression(m.S, rule=lambda _, s: price * sum(e[s] for e in shared.emissions_t))
        shared.add_cost("energy", CARBON_PRICE_ITEM, m.carbon_cost_musd)
    if limits.carbon_cap_t_per_yr is not None:
        m.carbon_cap = carbon_cap = pyo.Constraint(
            expr=sum(e[s] for e in shared.emissions_t for s in m.S) <= limits.carbon_cap_t_per_yr
        )
    if limits.capex_budget_usd is not None:
        m.capex_budget = capex_budget = pyo.Constraint(
            expr=sum(c[s] for c in shared.capex_musd for s in m.S) <= musd(limits.capex_budget_usd)
        )
    return PolicyHandles(carbon_cap, capex_budget)
