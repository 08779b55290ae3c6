"""The formulation's arithmetic written out again on purpose (capital recovery, PUE and WUE of a
cooling, fuel, emissions, costs), independent of the model's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyproj import Geod

from optimizer.constants import KG_PER_T, KW_PER_MW, KWH_PER_MWH, M_PER_KM, MMBTU_PER_MWH_PER_BTU_PER_KWH
from optimizer.verify.contract import CHILLER_RATING_TEMP_C, MIN_CHILLER_COP
from optimizer.verify.recorder import arr

if TYPE_CHECKING:  # the plan reader uses these formulas: the type only, to avoid a cycle
    from optimizer.verify.folder import Plan


# --------------------------------------------------------------------------------------------
# formulas, written out again on purpose


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1)."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def present_value_share(wait_yr: float, horizon_yr: float, rate: float) -> float:
    """Share of the horizon's discounted years that fall in its first ``wait_yr`` years."""
    wait_yr = min(max(wait_yr, 0.0), horizon_yr)
    if rate == 0:
        return wait_yr / horizon_yr
    return (1.0 - (1.0 + rate) ** -wait_yr) / (1.0 - (1.0 + rate) ** -horizon_yr)


def cooling_pue_wue(k: pd.Series, drybulb: np.ndarray, wetbulb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PUE and WUE (L per kWh of IT) of cooling ``k`` (a row of cooling.csv) in each hour.

    Free cooling takes a linear share from ``free_cooling_max_drybulb_c`` to that plus the band;
    evaporative assist the same share of the rest by wet-bulb, drawing ``evaporative_kw_per_kw_it``
    for pumps and fans; chillers the remainder at a COP that falls with the dry-bulb (floored at 1.5).
    """
    band = float(k["transition_band_c"])
    free = np.clip((float(k["free_cooling_max_drybulb_c"]) + band - drybulb) / band, 0.0, 1.0)
    if pd.isna(k["evaporative_max_wetbulb_c"]):
        evaporative_of_rest = np.zeros_like(free)
    else:
        evaporative_of_rest = np.clip((float(k["evaporative_max_wetbulb_c"]) + band - wetbulb) / band, 0.0, 1.0)
    evaporative = (1.0 - free) * evaporative_of_rest
    mechanical = 1.0 - free - evaporative
    cop = np.maximum(
        MIN_CHILLER_COP,
        float(k["chiller_cop_at_35c"]) + float(k["chiller_cop_gain_per_c"]) * (CHILLER_RATING_TEMP_C - drybulb),
    )
    evaporating = evaporative * float(k.get("evaporative_kw_per_kw_it", 0.0))
    pue = 1.0 + float(k["power_overhead"]) + float(k["fan_pump_kw_per_kw_it"]) + evaporating + mechanical / cop
    wue = evaporative * float(k["evaporative_l_per_kwh"]) + mechanical * float(k["chiller_l_per_kwh"])
    return pue, wue


def site_pue_wue(p: Plan) -> tuple[pd.Series, pd.Series]:
    """PUE and WUE of each dispatch row under its site's chosen cooling (NaN where unknown)."""
    d, cooling = p.dispatch, p.s["cooling"]
    pue = pd.Series(np.nan, index=d.index)
    wue = pd.Series(np.nan, index=d.index)
    chosen = d["site_id"].map(p.sites["cooling_id"])
    drybulb, wetbulb = p.profile("temp_c"), p.profile("wetbulb_c")
    for k, rows in d.groupby(chosen).groups.items():
        if k not in cooling.index:
            continue  # reported by the structure check
        pue[rows], wue[rows] = cooling_pue_wue(cooling.loc[k], drybulb[rows].to_numpy(), wetbulb[rows].to_numpy())
    return pue, wue


def distance_and_latency(p: Plan, sites: pd.Series, regions: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (km) and network round trip (ms) of each site -> region pair."""
    s, g = p.s["sites"], p.s["regions"]
    _, _, metres = Geod(ellps="WGS84").inv(
        s.loc[sites, "lon"].to_numpy(float),
        s.loc[sites, "lat"].to_numpy(float),
        g.loc[regions, "lon"].to_numpy(float),
        g.loc[regions, "lat"].to_numpy(float),
    )
    km = arr(metres) / M_PER_KM
    ms = 2.0 * km * p.facility("route_factor") / p.facility("fibre_km_per_ms") + p.facility("latency_overhead_ms")
    return km, ms


def fuel_usd_per_mwh(p: Plan, tech: str) -> pd.Series:
    """Fuel cost of a MWh from ``tech`` at each candidate site: heat rate x the fuel's price (the site's, for gas)."""
    t, sites = p.s["power_techs"].loc[tech], p.s["sites"]
    if t["fuel"] == "none" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return pd.Series(0.0, index=sites.index)
    price = (
        sites["gas_price_usd_per_mmbtu"]
        if t["fuel"] == "gas"
        else pd.Series(t["fuel_price_usd_per_mmbtu"], index=sites.index)
    )
    return t["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * price.astype(float).fillna(0.0)


def fuel_t_co2_per_mwh(p: Plan, tech: str) -> float:
    t = p.s["power_techs"].loc[tech]
    if t["kind"] == "grid" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return 0.0
    return t["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * t["co2_kg_per_mmbtu"] / KG_PER_T


def _average_year_mwh(p: Plan, tech: str) -> pd.Series:
    """Generation of one tech in an average year of the horizon, per site: the grid years at their
    present-value share (1 - bridge share) plus the bridge years at theirs."""
    share = p.bridge_share.reindex(p.sites.index, fill_value=0.0)
    steady = p.annual(f"{tech}_mw")
    if tech == p.grid_tech:
        return (1.0 - share) * steady
    return (1.0 - share) * steady + share * p.annual(f"bridge_{tech}_mw")


def site_emissions_t(p: Plan) -> pd.Series:
    """CO2 per site and year: the grid's hourly rate in grid years, fuel carbon of on-site generation."""
    d, techs = p.dispatch, p.s["power_techs"]
    share = p.bridge_share.reindex(p.sites.index, fill_value=0.0)
    grid_t = p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_co2_kg_per_mwh") / KG_PER_T * p.w
    out = (1.0 - share) * grid_t.groupby(d["site_id"]).sum().reindex(p.sites.index, fill_value=0.0)
    for tech in techs.index:
        rate = fuel_t_co2_per_mwh(p, tech)
        if rate > 0:
            out += rate * _average_year_mwh(p, tech)
    return out


def recompute_costs(p: Plan) -> tuple[dict[tuple[str, str], pd.Series], pd.Series]:
    """Annual cost per (layer, item) and site (USD/yr) and overnight capex per site (USD), from the tables."""
    s, sites, d = p.s, p.s["sites"], p.dispatch
    wacc = p.scenario.finance.wacc
    techs, storage, cooling, chips = s["power_techs"], s["storage_techs"], s["cooling"], s["chips"]
    index = p.sites.index
    items: dict[tuple[str, str], pd.Series] = {}

    def item(layer: str, name: str) -> pd.Series:
        return items.setdefault((layer, name), pd.Series(0.0, index=index))

    capex = pd.Series(0.0, index=index)

    # chips: racks x chips_per_rack x (price + system) x (CRF + maintenance share)
    chip_cost = item("chips", "accelerators and systems")
    for row in p.t["chips"].itertuples(index=False):
        c = chips.loc[row.chip_id]
        overnight = row.racks * c["chips_per_rack"] * (c["price_usd_per_chip"] + c["system_usd_per_chip"])
        chip_cost[row.site_id] += overnight * (crf(wacc, c["life_yr"]) + c["fom_pct_per_yr"] / 100.0)
        capex[row.site_id] += overnight

    # energy: capacity, grid connection, grid energy at hourly prices, fuel and VOM, storage, carbon price
    generation, connection = item("energy", "generation capacity"), item("energy", "grid connection")
    share = p.bridge_share.reindex(index, fill_value=0.0)
    for row in p.gen_power.itertuples(index=False):
        t = techs.loc[row.tech_id]
        overnight = row.capacity_mw * t["capex_usd_per_kw"] * KW_PER_MW
        annual = overnight * crf(wacc, t["life_yr"]) + row.capacity_mw * t["fom_usd_per_kw_yr"] * KW_PER_MW
        if row.tech_id == p.grid_tech:
            # the capacity charge is paid on the connection only while the grid delivers
            charge_usd_per_kw_yr = sites.loc[row.site_id, "grid_capacity_charge_usd_per_kw_yr"]
            annual += (1.0 - share[row.site_id]) * charge_usd_per_kw_yr * row.capacity_mw * KW_PER_MW
            connection[row.site_id] += annual
        else:
            generation[row.site_id] += annual
        capex[row.site_id] += overnight
    grid_usd = p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_price_usd_per_mwh") * p.w
    grid_usd_by_site = grid_usd.groupby(d["site_id"]).sum().reindex(index, fill_value=0.0)
    items[("energy", "grid energy")] = (1.0 - share) * grid_usd_by_site
    fuel = item("energy", "fuel and variable O&M")
    for tech, t in techs.iterrows():
        fuel += _average_year_mwh(p, tech) * (t["vom_usd_per_mwh"] + fuel_usd_per_mwh(p, tech).reindex(index))
    storage_cost = item("energy", "storage")
    for row in p.storage_power.itertuples(index=False):
        b = storage.loc[row.tech_id]
        power_capex = row.capacity_mw * b["power_capex_usd_per_kw"] * KW_PER_MW
        energy_capex = row.energy_capacity_mwh * b["energy_capex_usd_per_kwh"] * KWH_PER_MWH
        storage_cost[row.site_id] += (power_capex + energy_capex) * crf(wacc, b["life_yr"]) + row.capacity_mw * b[
            "fom_usd_per_kw_yr"
        ] * KW_PER_MW
        capex[row.site_id] += power_capex + energy_capex
    price = p.scenario.constraints.carbon_price_usd_per_t
    if price:
        items[("energy", "carbon price")] = p.emissions_t * price

    # infrastructure: site development and land, building and staff, cooling
    f = p.facility
    facility_per_mw = f("facility_capex_usd_per_kw_it") * KW_PER_MW
    facility_annual = (
        facility_per_mw * crf(wacc, f("facility_life_yr"))
        + f("facility_fom_usd_per_kw_it_yr") * KW_PER_MW
        + f("staff_per_mw_it") * f("staff_cost_usd_per_yr")
    )
    land, building, cooling_cost = (
        item("infrastructure", "site development and land"),
        item("infrastructure", "building, power distribution and staff"),
        item("infrastructure", "cooling"),
    )
    for site in p.built:
        land_usd = sites.loc[site, "land_acres"] * sites.loc[site, "land_price_usd_per_acre"]
        it = p.sites.loc[site, "it_capacity_mw"]
        k = cooling.loc[p.sites.loc[site, "cooling_id"]]
        cooling_per_mw = k["capex_usd_per_kw_it"] * KW_PER_MW
        land[site] += f("site_development_usd") * crf(wacc, f("site_development_life_yr")) + land_usd * wacc
        building[site] += it * facility_annual
        cooling_cost[site] += it * (cooling_per_mw * crf(wacc, k["life_yr"]) + k["fom_usd_per_kw_it_yr"] * KW_PER_MW)
        capex[site] += f("site_development_usd") + land_usd + it * (facility_per_mw + cooling_per_mw)
    return items, capex
