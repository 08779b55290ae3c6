"""Energy layer: grid import, on-site generation, storage, fuel and carbon.

Supplies the site's power balance in every slice, uses land for its footprint, and contributes
its annualised capital, fixed and variable costs (all tagged ``energy``), emissions and capex.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.model.core import Shared, site_it_limit_mw
from optimizer.scenario import Scenario
from optimizer.units import KW_PER_MW, crf, musd

#: the densest facility load a site can draw per MW of IT it can hold (worst PUE in the data)
MAX_PUE = 2.0
MMBTU_PER_MWH_PER_BTU_PER_KWH = 1e-3


def allowed_techs(scenario: Scenario) -> pd.DataFrame:
    """(site x tech) mask: the technology may be built there in time and is not excluded."""
    sites, techs = scenario.tables["sites"], scenario.tables["power_techs"]
    limits = scenario.constraints
    allowed = pd.DataFrame(True, index=sites.index, columns=techs.index)
    if limits.allowed_power_techs is not None:
        allowed.loc[:, ~techs.index.isin(limits.allowed_power_techs)] = False
    grid = techs.index[techs["kind"] == "grid"][0]
    allowed[grid] &= sites["grid_capacity_mw"] > 0
    if limits.online_by_year is not None:
        ready = scenario.finance.start_year + np.ceil(techs["lead_time_yr"])
        in_time = (ready <= limits.online_by_year) & (techs["first_year"] <= limits.online_by_year)
        allowed.loc[:, ~in_time.to_numpy()] = False
        allowed[grid] &= sites["grid_online_year"] <= limits.online_by_year
    return allowed


def storage_allowed(scenario: Scenario) -> list[str]:
    storage = scenario.tables["storage_techs"]
    limits = scenario.constraints
    if limits.allowed_power_techs is not None:
        storage = storage[storage.index.isin(limits.allowed_power_techs)]
    if limits.online_by_year is not None:
        ready = scenario.finance.start_year + np.ceil(storage["lead_time_yr"])
        storage = storage[ready <= limits.online_by_year]
    return list(storage.index)


def _availability(scenario: Scenario, kinds: pd.Series) -> dict:
    """Largest output per MW of capacity, per (site, tech, slice)."""
    techs = scenario.tables["power_techs"]
    profiles = scenario.tables["profiles"]
    out = {}
    for tech, kind in kinds.items():
        if kind in ("solar", "wind"):
            series = profiles[f"{kind}_cf"]
        else:
            series = pd.Series(float(techs.loc[tech, "availability"]), index=profiles.index)
        for (site, t), value in series.items():
            out[site, tech, t] = float(value)
    return out


def _fuel_usd_per_mwh(scenario: Scenario) -> dict:
    """Fuel cost of one MWh from each thermal tech at each site."""
    sites, techs = scenario.tables["sites"], scenario.tables["power_techs"]
    out = {}
    for tech, row in techs.iterrows():
        if row["fuel"] == "none" or pd.isna(row["heat_rate_btu_per_kwh"]):
            continue
        mmbtu_per_mwh = row["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH
        for site in sites.index:
            price = sites.loc[site, "gas_price_usd_per_mmbtu"] if row["fuel"] == "gas" else row["fuel_price_usd_per_mmbtu"]
            out[site, tech] = mmbtu_per_mwh * float(0.0 if pd.isna(price) else price)
    return out


def add_energy(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    sites, techs = scenario.tables["sites"], scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    wacc = scenario.finance.wacc
    allowed = allowed_techs(scenario)
    it_limit = site_it_limit_mw(scenario)
    grid = techs.index[techs["kind"] == "grid"][0]
    m.grid_tech = grid

    pairs = [(s, g) for s in m.S for g in techs.index if allowed.loc[s, g]]
    m.G = pyo.Set(initialize=list(techs.index), ordered=True)
    m.site_techs = pyo.Set(initialize=pairs, dimen=2, ordered=True)

    def capacity_bound(s, g):
        if g == grid:
            return float(sites.loc[s, "grid_capacity_mw"])
        land_bound = sites.loc[s, "land_acres"] / techs.loc[g, "land_acres_per_mw"] if techs.loc[g, "land_acres_per_mw"] > 0 else math.inf
        load_bound = it_limit[s] * MAX_PUE if techs.loc[g, "kind"] in ("thermal", "nuclear") else math.inf
        bound = min(land_bound, load_bound)
        return float(bound if math.isfinite(bound) else it_limit[s] * MAX_PUE * 5)

    m.capacity_mw = pyo.Var(m.site_techs, bounds=lambda _, s, g: (0, capacity_bound(s, g)))

    # integer units where the technology comes in unit sizes (turbines, engines, reactors)
    unit_size = techs["unit_size_mw"].dropna().to_dict()
    unit_pairs = [(s, g) for s, g in pairs if g in unit_size]
    m.site_unit_techs = pyo.Set(initialize=unit_pairs, dimen=2, ordered=True)
    m.units = pyo.Var(
        m.site_unit_techs,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, s, g: (0, math.ceil(capacity_bound(s, g) / unit_size[g])),
    )
    m.capacity_in_units = pyo.Constraint(
        m.site_unit_techs, rule=lambda _, s, g: m.capacity_mw[s, g] == unit_size[g] * m.units[s, g]
    )

    availability = _availability(scenario, techs["kind"])
    m.site_tech_slices = pyo.Set(initialize=[(s, g, t) for s, g in pairs for t in m.T], dimen=3, ordered=True)
    m.generation_mw = pyo.Var(
        m.site_tech_slices,
        bounds=lambda _, s, g, t: (0, capacity_bound(s, g) * availability[s, g, t]),
    )
    m.generation_within_available_capacity = pyo.Constraint(
        m.generation_mw.index_set(),
        rule=lambda _, s, g, t: m.generation_mw[s, g, t] <= availability[s, g, t] * m.capacity_mw[s, g],
    )

    # storage: power and energy sized separately within a duration range, cyclic in each period
    storage_ids = storage_allowed(scenario)
    m.site_storage = pyo.Set(initialize=[(s, b) for s in m.S for b in storage_ids], dimen=2, ordered=True)
    power_bound = {s: it_limit[s] * MAX_PUE for s in m.S}
    m.storage_power_mw = pyo.Var(m.site_storage, bounds=lambda _, s, b: (0, power_bound[s]))
    m.storage_energy_mwh = pyo.Var(
        m.site_storage, bounds=lambda _, s, b: (0, power_bound[s] * storage.loc[b, "max_duration_h"])
    )
    m.storage_duration_min = pyo.Constraint(
        m.site_storage,
        rule=lambda _, s, b: m.storage_energy_mwh[s, b] >= storage.loc[b, "min_duration_h"] * m.storage_power_mw[s, b],
    )
    m.storage_duration_max = pyo.Constraint(
        m.site_storage,
        rule=lambda _, s, b: m.storage_energy_mwh[s, b] <= storage.loc[b, "max_duration_h"] * m.storage_power_mw[s, b],
    )
    storage_slices = m.site_storage_slices = pyo.Set(
        initialize=[(s, b, t) for s, b in m.site_storage for t in m.T], dimen=3, ordered=True
    )
    m.charge_mw = pyo.Var(storage_slices, bounds=lambda _, s, b, t: (0, power_bound[s]))
    m.discharge_mw = pyo.Var(storage_slices, bounds=lambda _, s, b, t: (0, power_bound[s]))
    m.state_of_charge_mwh = pyo.Var(
        storage_slices, bounds=lambda _, s, b, t: (0, power_bound[s] * storage.loc[b, "max_duration_h"])
    )
    m.charge_within_power = pyo.Constraint(
        storage_slices, rule=lambda _, s, b, t: m.charge_mw[s, b, t] <= m.storage_power_mw[s, b]
    )
    m.discharge_within_power = pyo.Constraint(
        storage_slices, rule=lambda _, s, b, t: m.discharge_mw[s, b, t] <= m.storage_power_mw[s, b]
    )
    m.state_within_energy = pyo.Constraint(
        storage_slices, rule=lambda _, s, b, t: m.state_of_charge_mwh[s, b, t] <= m.storage_energy_mwh[s, b]
    )
    slices = scenario.tables["slices"]
    previous = {}
    for _, group in slices.groupby("period"):
        ordered = list(group.sort_values("hour").index)
        previous.update(dict(zip(ordered, ordered[-1:] + ordered[:-1])))
    one_way = {b: math.sqrt(storage.loc[b, "round_trip_efficiency"]) for b in storage.index}

    def state_of_charge(_, s, b, t):
        # slices are hours; the last hour of a representative day wraps to its first
        return m.state_of_charge_mwh[s, b, t] == (
            m.state_of_charge_mwh[s, b, previous[t]] + one_way[b] * m.charge_mw[s, b, t] - m.discharge_mw[s, b, t] / one_way[b]
        )

    m.state_of_charge_balance = pyo.Constraint(storage_slices, rule=state_of_charge)

    techs_at = {s: [g for (ss, g) in pairs if ss == s] for s in m.S}
    storage_at = {s: [b for (ss, b) in m.site_storage if ss == s] for s in m.S}
    m.energy_supply_mw = pyo.Expression(
        m.site_slices,
        rule=lambda _, s, t: sum(m.generation_mw[s, g, t] for g in techs_at[s])
        + sum(m.discharge_mw[s, b, t] for b in storage_at[s]),
    )
    m.storage_charging_mw = pyo.Expression(
        m.site_slices, rule=lambda _, s, t: sum(m.charge_mw[s, b, t] for b in storage_at[s])
    )
    shared.add_supply("power_mw", m.energy_supply_mw)
    shared.add_use("power_mw", m.storage_charging_mw)

    m.generation_land_acres = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(techs.loc[g, "land_acres_per_mw"] * m.capacity_mw[s, g] for g in techs_at[s])
        + sum(storage.loc[b, "land_acres_per_mw"] * m.storage_power_mw[s, b] for b in storage_at[s]),
    )
    shared.add_use("land_acres", m.generation_land_acres)

    _add_costs(m, scenario, shared, techs_at, storage_at, grid, wacc)


def _add_costs(m, scenario: Scenario, shared: Shared, techs_at, storage_at, grid: str, wacc: float) -> None:
    sites, techs = scenario.tables["sites"], scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    w = m.weight_h
    fuel = _fuel_usd_per_mwh(scenario)
    capex_per_mw = {g: musd(techs.loc[g, "capex_usd_per_kw"] * KW_PER_MW) for g in techs.index}
    annual_per_mw = {
        g: capex_per_mw[g] * crf(wacc, techs.loc[g, "life_yr"]) + musd(techs.loc[g, "fom_usd_per_kw_yr"] * KW_PER_MW)
        for g in techs.index
    }

    # one annual sum per (site, tech), shared by the energy, fuel and emission terms
    m.annual_generation_mwh = pyo.Expression(
        m.site_techs, rule=lambda _, s, g: sum(w[t] * m.generation_mw[s, g, t] for t in m.T)
    )

    def annual_energy(s, g):
        return m.annual_generation_mwh[s, g]

    m.generation_capacity_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(annual_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s] if g != grid)
    )
    m.grid_connection_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(annual_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s] if g == grid)
    )
    m.grid_energy_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(
            musd(sites.loc[s, "grid_price_usd_per_mwh"]) * annual_energy(s, g) for g in techs_at[s] if g == grid
        ),
    )
    m.fuel_and_vom_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(
            musd(techs.loc[g, "vom_usd_per_mwh"] + fuel.get((s, g), 0.0)) * annual_energy(s, g) for g in techs_at[s]
        ),
    )
    storage_annual = {
        b: (
            musd(storage.loc[b, "power_capex_usd_per_kw"] * KW_PER_MW) * crf(wacc, storage.loc[b, "life_yr"])
            + musd(storage.loc[b, "fom_usd_per_kw_yr"] * KW_PER_MW),
            musd(storage.loc[b, "energy_capex_usd_per_kwh"] * KW_PER_MW) * crf(wacc, storage.loc[b, "life_yr"]),
        )
        for b in storage.index
    }
    m.storage_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(
            storage_annual[b][0] * m.storage_power_mw[s, b] + storage_annual[b][1] * m.storage_energy_mwh[s, b]
            for b in storage_at[s]
        ),
    )
    shared.add_cost("energy", "generation capacity", m.generation_capacity_cost_musd)
    shared.add_cost("energy", "grid connection", m.grid_connection_cost_musd)
    shared.add_cost("energy", "grid energy", m.grid_energy_cost_musd)
    shared.add_cost("energy", "fuel and variable O&M", m.fuel_and_vom_cost_musd)
    shared.add_cost("energy", "storage", m.storage_cost_musd)

    co2_t_per_mwh = {}
    for s in m.S:
        for g in techs_at[s]:
            if g == grid:
                co2_t_per_mwh[s, g] = sites.loc[s, "grid_co2_kg_per_mwh"] / 1000.0
            elif not pd.isna(techs.loc[g, "heat_rate_btu_per_kwh"]):
                mmbtu = techs.loc[g, "heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH
                co2_t_per_mwh[s, g] = mmbtu * techs.loc[g, "co2_kg_per_mmbtu"] / 1000.0
    m.emissions_t = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(co2_t_per_mwh[s, g] * annual_energy(s, g) for g in techs_at[s] if co2_t_per_mwh.get((s, g))),
    )
    shared.emissions_t.append(m.emissions_t)

    m.energy_capex_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: sum(capex_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s])
        + sum(
            musd(storage.loc[b, "power_capex_usd_per_kw"] * KW_PER_MW) * m.storage_power_mw[s, b]
            + musd(storage.loc[b, "energy_capex_usd_per_kwh"] * KW_PER_MW) * m.storage_energy_mwh[s, b]
            for b in storage_at[s]
        ),
    )
    shared.capex_musd.append(m.energy_capex_musd)
