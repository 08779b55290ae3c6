"""Chips layer: integer racks of each accelerator SKU per site, their cost and supply limits.

Contributes racks (to be assigned to workloads by the models layer), the IT capacity that needs
cooling at each rack-density level, and the annualised cost of the accelerators and their systems.
"""

from __future__ import annotations

import math

import pyomo.environ as pyo

from optimizer.model.core import Shared, site_it_limit_mw
from optimizer.inputs.scenario import Scenario
from optimizer.constants import KW_PER_MW, crf


def available_chips(scenario: Scenario) -> list[str]:
    """SKUs that ship in volume by the online-by year (all of them without a deadline)."""
    chips = scenario.tables["chips"]
    deadline = scenario.constraints.online_by_year
    if deadline is None:
        return list(chips.index)
    return list(chips.index[chips["available_year"] <= deadline])


def rack_capex_musd(scenario: Scenario) -> dict[str, float]:
    chips = scenario.tables["chips"]
    return (chips["chips_per_rack"] * (chips["price_usd_per_chip"] + chips["system_usd_per_chip"]) / 1e6).to_dict()


def add_chips(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    chips = scenario.tables["chips"]
    rack_mw = (chips["rack_power_kw"] / KW_PER_MW).to_dict()
    it_limit = site_it_limit_mw(scenario)
    usable = set(available_chips(scenario))

    m.racks = pyo.Var(
        m.site_chips,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, s, c: (0, math.floor(it_limit[s] / rack_mw[c]) if c in usable else 0),
    )
    shared.add_supply("racks", m.racks)

    # A rack of power P needs a cooling rated for at least P: count each rack at every level <= P.
    rack_kw = chips["rack_power_kw"].to_dict()
    m.rack_it_at_level_mw = pyo.Expression(
        m.site_levels,
        rule=lambda _, s, level: sum(rack_mw[c] * m.racks[s, c] for c in m.C if rack_kw[c] >= level),
    )
    shared.add_use("it_capacity_mw", m.rack_it_at_level_mw)

    limited = chips["supply_limit_chips"].dropna()
    m.chip_supply_limit = pyo.Constraint(
        list(limited.index),
        rule=lambda _, c: sum(chips.loc[c, "chips_per_rack"] * m.racks[s, c] for s in m.S) <= limited[c],
    )

    capex = rack_capex_musd(scenario)
    wacc = scenario.finance.wacc
    annual_per_rack = {
        c: capex[c] * (crf(wacc, chips.loc[c, "life_yr"]) + chips.loc[c, "fom_pct_per_yr"] / 100.0) for c in m.C
    }
    m.chip_cost_musd = pyo.Expression(m.S, rule=lambda _, s: sum(annual_per_rack[c] * m.racks[s, c] for c in m.C))
    shared.add_cost("chips", "accelerators and systems", m.chip_cost_musd)
    m.chip_capex_musd = pyo.Expression(m.S, rule=lambda _, s: sum(capex[c] * m.racks[s, c] for c in m.C))
    shared.capex_musd.append(m.chip_capex_musd)

