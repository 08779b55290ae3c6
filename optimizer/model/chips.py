"""Chips layer: integer racks of each accelerator SKU per site, their cost and supply limits.

Contributes racks (to be assigned to workloads by the models layer), the IT capacity that needs
cooling at each rack-density level, and the annualised cost of the accelerators and their systems.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from optimizer.constants import KW_PER_MW, crf
from optimizer.contract import ACCELERATORS_ITEM
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import CapitalFamily, Shared, solved_values


@dataclass(frozen=True)
class ChipsHandles:
    """The chips layer's families that readers of a built or solved model use."""

    racks: pyo.Var
    """(site, chip) integer racks of each SKU installed"""
    chip_supply_limit: pyo.Constraint
    """(chip) chips installed over all sites within the SKU's supply"""
    chip_annuity_musd: pyo.Expression
    """(site) annualised capital of the racks, M$/yr"""
    chip_maintenance_musd: pyo.Expression
    """(site) maintenance of the racks, M$/yr"""


def add_chips(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, shared: Shared) -> ChipsHandles:
    r"""Integer racks of each SKU per site, their cooling density, supply limits and cost.

    For every site :math:`s`, chip :math:`c` and rack-density level :math:`\ell`:

    .. math::

        R_{s,c} \in \{0, \dots, \lfloor \bar I_s / p_c \rfloor\} \;(0 \text{ if } c \text{ ships after the
        online-by year}), \qquad \sum_s n_c R_{s,c} \le \text{supply}_c \quad \text{(chip_supply_limit)}

        \text{racks}_{s,c}:\; R_{s,c} \ge \text{racks assigned}_{s,c}, \qquad
        \text{IT capacity}_{s,\ell}:\; \text{cooled capacity}_{s,\ell} \ge \sum_{c: p_c \ge \ell} p_c R_{s,c}

    :math:`R` is ``racks``, :math:`p_c` a rack's IT MW, :math:`n_c` chips per rack, :math:`\bar I_s` the
    site's land-derived IT limit. Cost: the annuity :math:`\sum_c K_c \text{CRF}_c R_{s,c}` (the capital
    family ``racks``, retirable) and maintenance :math:`\sum_c K_c \text{FOM}_c R_{s,c}`, with :math:`K_c`
    a rack's capital (chips and systems).
    """
    chips = scenario.tables["chips"]
    rack_mw = inputs.rack_mw
    it_limit = inputs.it_limit_mw
    usable = set(inputs.chips_available)

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

    capex = inputs.rack_capex_musd
    wacc = scenario.finance.wacc
    sold = set(inputs.chips_sold)
    life_yr = chips["life_yr"].astype(float).to_dict()
    racks = CapitalFamily(
        name="racks",
        layer="chips",
        capacity=m.racks,
        life_yr={(s, c): life_yr[c] for s, c in m.site_chips},
        buildable=[(s, c) for s, c in m.site_chips if c in sold and m.racks[s, c].ub > 0],
        annuity_musd={ACCELERATORS_ITEM: {(s, c): capex[c] * crf(wacc, life_yr[c]) for s, c in m.site_chips}},
        retirable=True,
        purchase_limits={
            c: ({(s, c): float(chips.loc[c, "chips_per_rack"]) for s in m.S}, float(limited[c])) for c in limited.index
        },
    )
    m.chip_annuity_musd = racks.cost_by_site(m.S, ACCELERATORS_ITEM)
    shared.add_capital(racks, ACCELERATORS_ITEM, m.chip_annuity_musd)
    maintenance_per_rack = {c: capex[c] * chips.loc[c, "fom_pct_per_yr"] / 100.0 for c in m.C}
    m.chip_maintenance_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(maintenance_per_rack[c] * m.racks[s, c] for c in m.C)
    )
    shared.add_cost("chips", ACCELERATORS_ITEM, m.chip_maintenance_musd)
    m.chip_capex_musd = pyo.Expression(m.S, rule=lambda _, s: sum(capex[c] * m.racks[s, c] for c in m.C))
    shared.capex_musd.append(m.chip_capex_musd)
    return ChipsHandles(
        racks=m.racks,
        chip_supply_limit=m.chip_supply_limit,
        chip_annuity_musd=m.chip_annuity_musd,
        chip_maintenance_musd=m.chip_maintenance_musd,
    )


@dataclass(frozen=True)
class ChipsReport:
    """What the chips layer of a solved model reports."""

    chips: pd.DataFrame
    """chips.csv: one row per (site, chip) with racks installed"""
    sites: pd.DataFrame
    """by site id: ``racks`` and ``chips`` installed (sites.csv)"""


def report(chips: ChipsHandles, scenario: Scenario) -> ChipsReport:
    """The solved racks: chips.csv (``site_id``, ``chip_id``, ``racks``, ``chips``, ``rack_power_kw``,
    ``it_mw``, ``capex_usd``) and the ``racks`` and ``chips`` columns of sites.csv."""
    table = scenario.tables["chips"]
    racks = solved_values(chips.racks)
    by_site = racks.unstack()
    sites = pd.DataFrame(
        {
            "racks": by_site.sum(axis=1),
            "chips": by_site.mul(table["chips_per_rack"], axis=1).sum(axis=1),
        }
    )
    sites.index.name = "site_id"
    installed = racks.round()
    installed = installed[installed > 0]
    frame = installed.rename("racks").rename_axis(["site_id", "chip_id"]).reset_index()
    frame["chips"] = frame["racks"] * frame["chip_id"].map(table["chips_per_rack"])
    frame["rack_power_kw"] = frame["chip_id"].map(table["rack_power_kw"])
    frame["it_mw"] = frame["racks"] * frame["rack_power_kw"] / KW_PER_MW
    capex_per_chip = table["price_usd_per_chip"] + table["system_usd_per_chip"]
    frame["capex_usd"] = frame["chips"] * frame["chip_id"].map(capex_per_chip)
    return ChipsReport(frame, sites)
