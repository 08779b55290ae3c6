"""The energy layer's costs, emissions and capex, contributed to the shared sums."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.constants import KG_PER_T, KW_PER_MW, USD_PER_MUSD, crf, musd
from optimizer.contract import (
    FUEL_AND_VOM_ITEM,
    GENERATION_CAPACITY_ITEM,
    GRID_CONNECTION_ITEM,
    GRID_ENERGY_ITEM,
    STORAGE_ITEM,
)
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import CapitalFamily, Shared
from optimizer.model.energy.sites import SiteEnergy


def add_energy_costs(
    m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, sites: SiteEnergy, shared: Shared
) -> None:
    r"""The energy layer's yearly costs (M$/yr, tagged ``energy``), emissions (t/yr) and capex (M$).

    Per site :math:`s`, with :math:`w_t` the hours slice :math:`t` stands for and :math:`\beta_s` the
    present-value share of the bridge years (0 where the grid is on time):

    .. math::

        \text{generation capacity}_s = \sum_{g \ne \text{grid}} F_g\, X_{s,g}, \qquad
        \text{grid connection}_s = \big(F_{\text{grid}} + (1 - \beta_s) c_s\big)\, X_{s,\text{grid}}

        \text{grid energy}_s = (1 - \beta_s) \sum_t w_t\, \pi_{s,t}\, x_{s,\text{grid},t}, \qquad
        \text{fuel and VOM}_s = \sum_g (v_g + f_{s,g})\, A_{s,g}

        A_{s,g} = (1 - \beta_s) \sum_t w_t x_{s,g,t} + \beta_s \sum_t w_t y_{s,g,t}, \qquad
        \text{storage}_s = \sum_b F_b P_{s,b}

        \text{emissions}_s = (1 - \beta_s) \sum_t w_t\, e_{s,t}\, x_{s,\text{grid},t}
        + \sum_g \epsilon_g A_{s,g}

    plus the annuities of the capital families (:func:`_add_power_capital`, :func:`_add_storage_capital`).
    :math:`K` capex per MW (per MWh for storage energy), :math:`F` fixed O&M, CRF the capital recovery
    factor at the scenario's WACC over the asset's life, :math:`c_s` the site's capacity charge per MW of
    grid connection (``grid_capacity_charge_usd_per_kw_yr``, e.g. PJM's capacity price; paid only while the
    grid delivers), :math:`\pi, e` the slice's grid price and
    carbon intensity, :math:`v` variable O&M, :math:`f` fuel per MWh and :math:`\epsilon` direct CO2
    per MWh (:class:`~optimizer.inputs.derived.DerivedInputs`).
    """
    grid, bridge, techs_at, storage_at = sites.grid, sites.bridge_share, sites.techs_at, sites.storage_at
    techs = scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    profiles = scenario.tables["profiles"]
    w = m.weight_h
    fuel = inputs.fuel_usd_per_mwh
    # operating costs and emissions of the grid years and of the bridge years, by present value
    grid_years = {s: 1.0 - bridge.get(s, 0.0) for s in m.S}
    capex_per_mw = {g: musd(techs.loc[g, "capex_usd_per_kw"] * KW_PER_MW) for g in techs.index}
    fom_per_mw = {g: musd(techs.loc[g, "fom_usd_per_kw_yr"] * KW_PER_MW) for g in techs.index}
    _add_power_capital(m, scenario, sites, shared)

    # one annual sum per (site, tech), shared by the energy, fuel and emission terms
    m.annual_generation_mwh = pyo.Expression(
        m.site_techs, rule=lambda _, s, g: sum(w[t] * m.generation_mw[s, g, t] for t in m.T)
    )
    bridge_pairs = sorted({(s, g) for s, g, _ in m.bridge_generation_mw.index_set()})
    m.bridge_annual_generation_mwh = pyo.Expression(
        bridge_pairs, rule=lambda _, s, g: sum(w[t] * m.bridge_generation_mw[s, g, t] for t in m.T)
    )

    def annual_energy(s: str, g: str) -> pyo.NumericValue:
        """Generation in an average year of the horizon: grid years and bridge years weighted."""
        steady = grid_years[s] * m.annual_generation_mwh[s, g]
        return steady + bridge[s] * m.bridge_annual_generation_mwh[s, g] if (s, g) in bridge_pairs else steady

    grid_price = (profiles["grid_price_usd_per_mwh"] / USD_PER_MUSD).to_dict()  # musd() of each price
    grid_co2_t = (profiles["grid_co2_kg_per_mwh"] / KG_PER_T).to_dict()

    m.generation_capacity_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(fom_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s] if g != grid)
    )
    capacity_charge_per_mw = {
        s: grid_years[s] * musd(charge * KW_PER_MW)
        for s, charge in scenario.tables["sites"]["grid_capacity_charge_usd_per_kw_yr"].items()
    }
    m.grid_connection_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(
            (fom_per_mw[g] + capacity_charge_per_mw[s]) * m.capacity_mw[s, g] for g in techs_at[s] if g == grid
        ),
    )
    m.grid_energy_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: (
            grid_years[s] * sum(w[t] * grid_price[s, t] * m.generation_mw[s, grid, t] for t in m.T)
            if grid in techs_at[s]
            else 0.0
        ),
    )
    m.fuel_and_vom_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(
            musd(techs.loc[g, "vom_usd_per_mwh"] + fuel.get((s, g), 0.0)) * annual_energy(s, g) for g in techs_at[s]
        ),
    )
    storage_fom_per_mw = {b: musd(storage.loc[b, "fom_usd_per_kw_yr"] * KW_PER_MW) for b in storage.index}
    m.storage_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(storage_fom_per_mw[b] * m.storage_power_mw[s, b] for b in storage_at[s])
    )
    # the cost items are declared in the output contract (optimizer/contract/cost_items.csv)
    shared.add_cost("energy", GENERATION_CAPACITY_ITEM, m.generation_capacity_cost_musd)
    shared.add_cost("energy", GRID_CONNECTION_ITEM, m.grid_connection_cost_musd)
    shared.add_cost("energy", GRID_ENERGY_ITEM, m.grid_energy_cost_musd)
    shared.add_cost("energy", FUEL_AND_VOM_ITEM, m.fuel_and_vom_cost_musd)
    _add_storage_capital(m, scenario, shared)
    shared.add_cost("energy", STORAGE_ITEM, m.storage_cost_musd)

    fuel_co2 = inputs.fuel_co2_t_per_mwh

    def grid_emissions_t(s: str) -> pyo.NumericValue | float:
        if grid not in techs_at[s]:
            return 0.0
        return grid_years[s] * sum(w[t] * grid_co2_t[s, t] * m.generation_mw[s, grid, t] for t in m.T)

    m.emissions_t = pyo.Expression(
        m.S,
        rule=lambda _, s: (
            grid_emissions_t(s) + sum(fuel_co2[g] * annual_energy(s, g) for g in techs_at[s] if g in fuel_co2)
        ),
    )
    shared.emissions_t.append(m.emissions_t)

    m.energy_capex_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: (
            sum(capex_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s])
            + sum(
                musd(storage.loc[b, "power_capex_usd_per_kw"] * KW_PER_MW) * m.storage_power_mw[s, b]
                + musd(storage.loc[b, "energy_capex_usd_per_kwh"] * KW_PER_MW) * m.storage_energy_mwh[s, b]
                for b in storage_at[s]
            )
        ),
    )
    shared.capex_musd.append(m.energy_capex_musd)


def _annuity_musd_per_unit(capex_usd_per_kw: float, life_yr: float, wacc: float) -> float:
    """Capital annuity of one MW (or MWh at a per-kWh capex), M$/yr."""
    return musd(capex_usd_per_kw * KW_PER_MW) * crf(wacc, life_yr)


def _add_power_capital(m: pyo.ConcreteModel, scenario: Scenario, sites: SiteEnergy, shared: Shared) -> None:
    r"""The capital family ``power`` (capacity of every technology; the grid's is its connection) and its
    annuities, M$/yr:

    .. math::

        \text{generation annuity}_s = \sum_{g \ne \text{grid}} \text{CRF}_g K_g X_{s,g}, \qquad
        \text{grid annuity}_s = \text{CRF}_{\text{grid}} K_{\text{grid}} X_{s,\text{grid}}
    """
    wacc, grid, techs = scenario.finance.wacc, sites.grid, scenario.tables["power_techs"]
    site_techs = list(m.site_techs)
    life = {(s, g): float(techs.loc[g, "life_yr"]) for s, g in site_techs}
    per_mw = {(s, g): _annuity_musd_per_unit(techs.loc[g, "capex_usd_per_kw"], life[s, g], wacc) for s, g in site_techs}
    power = CapitalFamily(
        name="power",
        layer="energy",
        capacity=m.capacity_mw,
        life_yr=life,
        buildable=site_techs,
        annuity_musd={
            GENERATION_CAPACITY_ITEM: {key: value for key, value in per_mw.items() if key[1] != grid},
            GRID_CONNECTION_ITEM: {key: value for key, value in per_mw.items() if key[1] == grid},
        },
    )
    m.generation_capacity_annuity_musd = power.cost_by_site(m.S, GENERATION_CAPACITY_ITEM)
    shared.add_capital(power, GENERATION_CAPACITY_ITEM, m.generation_capacity_annuity_musd)
    m.grid_connection_annuity_musd = power.cost_by_site(m.S, GRID_CONNECTION_ITEM)
    shared.add_capital(power, GRID_CONNECTION_ITEM, m.grid_connection_annuity_musd)


def _add_storage_capital(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    r"""The capital families ``storage_power`` and ``storage_energy`` and their annuities, M$/yr:
    :math:`\text{CRF}_b K^P_b P_{s,b}` and :math:`\text{CRF}_b K^E_b E_{s,b}` summed over the site's storage."""
    wacc, storage = scenario.finance.wacc, scenario.tables["storage_techs"]
    site_storage = list(m.site_storage)
    life = {(s, b): float(storage.loc[b, "life_yr"]) for s, b in site_storage}
    # family -> (capacity, capex column, the annuity expression's name)
    families = {
        "storage_power": (m.storage_power_mw, "power_capex_usd_per_kw", "storage_power_annuity_musd"),
        "storage_energy": (m.storage_energy_mwh, "energy_capex_usd_per_kwh", "storage_energy_annuity_musd"),
    }
    for name, (capacity, capex_column, expression_name) in families.items():
        capex = storage[capex_column].to_dict()
        per_unit = {(s, b): _annuity_musd_per_unit(capex[b], life[s, b], wacc) for s, b in site_storage}
        family = CapitalFamily(
            name=name,
            layer="energy",
            capacity=capacity,
            life_yr=life,
            buildable=site_storage,
            annuity_musd={STORAGE_ITEM: per_unit},
        )
        expression = family.cost_by_site(m.S, STORAGE_ITEM)
        m.add_component(expression_name, expression)
        shared.add_capital(family, STORAGE_ITEM, expression)
