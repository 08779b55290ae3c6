"""Checks of the full-year re-check's figures (optimizer/fullyear.py), recomputed by a merit order
where no storage links the hours.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.constants import HOURS_PER_YEAR, KG_PER_T, PERCENT, TOKENS_PER_MTOK
from optimizer.verify.checks_tables import input_hours
from optimizer.verify.contract import (
    CARBON_PRICE_ITEM,
    COST_ATOL_USD,
    EMISSIONS_ATOL_T,
    FUEL_AND_VOM_ITEM,
    FULL_YEAR_ITEMS,
    FULL_YEAR_NOISE_MW,
    FULL_YEAR_NOISE_MWH,
    FULL_YEAR_SITE_COLUMNS,
    GRID_ENERGY_ITEM,
    LAYERS,
    VARIABLE_KINDS,
)
from optimizer.verify.folder import Plan
from optimizer.verify.formulas import cooling_pue_wue, fuel_t_co2_per_mwh, fuel_usd_per_mwh
from optimizer.verify.recorder import Recorder, per_delivered
from optimizer.verify.registry import register_check


def _site_hours(p: Plan, site: str, quantity: str) -> np.ndarray:
    """One site's 8760-hour input series of one quantity."""
    hours, _ = input_hours(p, quantity)
    return hours[p.s["sites"].index.get_loc(site)]


def _full_year_pue(p: Plan, site: str) -> np.ndarray:
    """PUE of the site's chosen cooling in each of the 8760 input hours."""
    cooling = p.s["cooling"].loc[p.sites.loc[site, "cooling_id"]]
    pue, _ = cooling_pue_wue(cooling, _site_hours(p, site, "temp_c"), _site_hours(p, site, "wetbulb_c"))
    return pue


def _site_sources(p: Plan, site: str, with_grid: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The site's built sources (not the grid in the bridge years) over the 8760 hours: MW available, the grid's
    price (USD/MWh), CO2 (t/MWh), each hours x sources, and fuel and variable O&M per source (USD/MWh)."""
    techs = p.s["power_techs"]
    rows = p.gen_power[(p.gen_power["site_id"] == site) & (p.gen_power["capacity_mw"] > FULL_YEAR_NOISE_MW)]
    rows = rows[rows["tech_id"].isin(techs.index) & (with_grid | (rows["tech_id"] != p.grid_tech))]
    shape = (int(HOURS_PER_YEAR), len(rows))
    available, price, co2 = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    vom_fuel = np.zeros(len(rows))
    for j, (tech, capacity) in enumerate(zip(rows["tech_id"], rows["capacity_mw"])):
        t = techs.loc[tech]
        variable = t["kind"] in VARIABLE_KINDS
        available[:, j] = capacity * (_site_hours(p, site, f"{t['kind']}_cf") if variable else float(t["availability"]))
        if tech == p.grid_tech:
            price[:, j] = _site_hours(p, site, "grid_price_usd_per_mwh")
            co2[:, j] = _site_hours(p, site, "grid_co2_kg_per_mwh") / KG_PER_T
        else:
            co2[:, j] = fuel_t_co2_per_mwh(p, tech)
        vom_fuel[j] = t["vom_usd_per_mwh"] + fuel_usd_per_mwh(p, tech)[site]
    return available, price, co2, vom_fuel


def _merit_order_year(p: Plan, site: str, load_mw: np.ndarray, with_grid: bool) -> dict[str, float]:
    """One regime's year at one site without storage: every hour served by its cheapest built sources first.

    A source costs its hour's grid price (the grid), its fuel and variable O&M, and the carbon price on its
    CO2. Returns the redispatched cost items (USD/yr), emissions (t/yr), unserved MWh and site-hours, and the
    IT hours lost (unserved share of each hour's load, summed)."""
    available, price, co2, vom_fuel = _site_sources(p, site, with_grid)
    carbon_price = p.scenario.constraints.carbon_price_usd_per_t
    order = np.argsort(price + vom_fuel + carbon_price * co2, axis=1, kind="stable")
    offered = np.take_along_axis(available, order, axis=1)
    used = np.clip(load_mw[:, None] - (np.cumsum(offered, axis=1) - offered), 0.0, offered)
    generation = np.empty_like(used)
    np.put_along_axis(generation, order, used, axis=1)
    unserved = np.maximum(load_mw - available.sum(axis=1), 0.0)
    emissions = float((co2 * generation).sum())
    return {
        GRID_ENERGY_ITEM: float((price * generation).sum()),
        FUEL_AND_VOM_ITEM: float((generation @ vom_fuel).sum()),
        CARBON_PRICE_ITEM: carbon_price * emissions,
        "emissions_t": emissions,
        "unserved_mwh": float(unserved[unserved > FULL_YEAR_NOISE_MW].sum()),
        "unserved_hours": float((unserved > FULL_YEAR_NOISE_MW).sum()),
        "lost_it_hours": float((unserved / np.where(load_mw > 0, load_mw, 1.0)).sum()),
    }


def _full_year_sites(p: Plan) -> pd.DataFrame:
    """Each built site's full year recomputed: peak PUE and load, and its merit-order operation, grid years and
    bridge years weighted by their present-value shares; ``exact`` where no storage makes it an LP."""
    pue, _ = p.pue_wue
    share = p.bridge_share
    rows = []
    for site in p.built:
        it_mw = float(p.dispatch.loc[p.dispatch["site_id"] == site, "it_mw"].mean())
        hourly_pue = _full_year_pue(p, site)
        load = hourly_pue * it_mw
        year = _merit_order_year(p, site, load, with_grid=True)
        bridge = float(share.get(site, 0.0))
        if bridge > 0:
            bridge_years = _merit_order_year(p, site, load, with_grid=False)
            year = {key: (1.0 - bridge) * value + bridge * bridge_years[key] for key, value in year.items()}
        rows.append(
            {
                "site_id": site,
                "representative_peak_pue": pue[p.dispatch["site_id"] == site].max(),
                "full_year_peak_pue": hourly_pue.max(),
                "full_year_peak_facility_mw": load.max(),
                "exact": not (p.storage_power["site_id"] == site).any(),
                **year,
            }
        )
    figures = [
        *FULL_YEAR_SITE_COLUMNS[:-1],
        *FULL_YEAR_ITEMS,
        "emissions_t",
        "unserved_mwh",
        "unserved_hours",
        "lost_it_hours",
    ]
    frame = pd.DataFrame(rows, columns=["site_id", "exact", *figures]).set_index("site_id")
    return frame.astype({"exact": bool, **dict.fromkeys(figures, float)})  # typed even when nothing is built


def _check_full_year_sites(p: Plan, c: Recorder, year: pd.DataFrame) -> None:
    """sites.csv: peaks as recomputed; unserved energy exact without storage, within the merit order's with it."""
    for column in FULL_YEAR_SITE_COLUMNS[:-1]:
        c.eq(
            f"{column} (sites.csv) vs recomputed",
            p.per_site(column),
            year[column].reindex(p.sites.index),
            unit="MW" if column.endswith("_mw") else "",
            at=p.site_rows,
        )
    reported = p.per_site("full_year_unserved_mwh_per_yr").to_numpy()
    merit = year["unserved_mwh"].reindex(p.sites.index).to_numpy()  # blank where not built
    merit_order = year["exact"].reindex(p.sites.index, fill_value=True).to_numpy(dtype=bool) & (
        p.scenario.constraints.cfe_share == 0
    )
    exact, linked = merit_order | np.isnan(merit), ~merit_order & ~np.isnan(merit)
    c.eq(
        "full_year_unserved_mwh_per_yr (sites.csv) = merit-order dispatch (no storage; blank if not built)",
        reported[exact],
        merit[exact],
        unit="MWh/yr",
        at=p.site_rows[exact],
        atol=FULL_YEAR_NOISE_MWH,
    )
    c.le(
        "full_year_unserved_mwh_per_yr (sites.csv) <= without storage",
        reported[linked],
        merit[linked],
        unit="MWh/yr",
        at=p.site_rows[linked],
        atol=FULL_YEAR_NOISE_MWH,
    )
    c.le("full_year_unserved_mwh_per_yr (sites.csv) >= 0", 0.0, reported[linked], unit="MWh/yr", at=p.site_rows[linked])


def _check_full_year_operation(p: Plan, c: Recorder, year: pd.DataFrame) -> None:
    """summary.csv's redispatched cost, emissions and tokens, where the merit order is the dispatch (no storage
    at any site, no hourly carbon-free share); otherwise an LP the verifier does not re-solve."""
    summary, costs = p.summary, p.t["costs"]
    if not (year["exact"].all() and p.scenario.constraints.cfe_share == 0):
        return
    planned = costs.loc[costs["item"].isin(FULL_YEAR_ITEMS), "usd_per_yr"].sum()
    total = costs["usd_per_yr"].sum() - planned + year[list(FULL_YEAR_ITEMS)].to_numpy().sum()
    c.eq(
        "full_year_total_cost_usd_per_yr = plan cost with the merit-order year's operating items",
        summary["full_year_total_cost_usd_per_yr"],
        total,
        unit="USD/yr",
        at="summary",
        atol=COST_ATOL_USD,
    )
    c.eq(
        "full_year_emissions_t_per_yr = merit-order year",
        summary["full_year_emissions_t_per_yr"],
        year["emissions_t"].sum(),
        unit="t/yr",
        at="summary",
        atol=EMISSIONS_ATOL_T,
    )
    c.eq(
        "full_year_unserved_hours_per_yr = merit-order year",
        summary["full_year_unserved_hours_per_yr"],
        year["unserved_hours"].sum(),
        unit="h",
        at="summary",
    )
    served = 1.0 - year["lost_it_hours"] / HOURS_PER_YEAR
    tokens = (p.per_site("delivered_tokens_per_yr") * served.reindex(p.sites.index, fill_value=1.0)).sum()
    c.eq(
        "full_year_delivered_tokens_per_yr = tokens of the IT load served",
        summary["full_year_delivered_tokens_per_yr"],
        tokens,
        unit="tokens/yr",
        at="summary",
    )


def _check_full_year_summary(p: Plan, c: Recorder) -> None:
    """summary.csv's full-year figures against each other, sites.csv and costs.csv: always."""
    summary, costs = p.summary, p.t["costs"]
    unserved = float(summary["full_year_unserved_mwh_per_yr"])
    c.eq(
        "full_year_unserved_mwh_per_yr = sum of sites.csv",
        unserved,
        p.per_site("full_year_unserved_mwh_per_yr").sum(),
        unit="MWh/yr",
        at="summary",
        atol=FULL_YEAR_NOISE_MWH,
    )
    hours = float(summary["full_year_unserved_hours_per_yr"])
    c.rule(
        (hours > 0) == (unserved > FULL_YEAR_NOISE_MWH),
        f"summary.csv: {hours:g} full-year unserved hours but {unserved:g} MWh unserved",
    )
    c.le(
        "full_year_unserved_hours_per_yr <= 8760 h x sites built",
        hours,
        HOURS_PER_YEAR * len(p.built),
        unit="h",
        at="summary",
    )
    shortfall = summary["full_year_cfe_shortfall_mwh_per_yr"]
    if p.scenario.constraints.cfe_share == 0:
        c.eq(
            "full_year_cfe_shortfall_mwh_per_yr = 0 without a carbon-free share",
            shortfall,
            0.0,
            unit="MWh/yr",
            at="summary",
        )
    else:
        c.le("full_year_cfe_shortfall_mwh_per_yr >= 0", 0.0, shortfall, unit="MWh/yr", at="summary")
    tokens = float(summary["full_year_delivered_tokens_per_yr"])
    delivered = float(summary["delivered_tokens_per_yr"])
    c.le(
        "full_year_delivered_tokens_per_yr <= delivered_tokens_per_yr",
        tokens,
        delivered,
        unit="tokens/yr",
        at="summary",
    )
    if unserved <= FULL_YEAR_NOISE_MWH:
        c.eq(
            "full_year_delivered_tokens_per_yr = delivered when every hour is served",
            tokens,
            delivered,
            unit="tokens/yr",
            at="summary",
        )
    mtok, full_mtok = delivered / TOKENS_PER_MTOK, tokens / TOKENS_PER_MTOK
    total = float(summary["full_year_total_cost_usd_per_yr"])
    by_layer = costs.groupby("layer")["usd_per_yr"].sum()
    fixed = {layer: float(by_layer.get(layer, 0.0)) for layer in LAYERS if layer != "energy"}  # not redispatched
    full = {"energy": total - sum(fixed.values()), **fixed}
    c.eq(
        "full_year_usd_per_mtok = full_year_total_cost / full-year Mtok",
        summary["full_year_usd_per_mtok"],
        per_delivered(total, full_mtok),
        unit="USD/Mtok",
        at="summary",
    )
    c.eq(
        "representative_error_pct = usd_per_mtok / full_year_usd_per_mtok - 1",
        summary["representative_error_pct"],
        _error_pct(per_delivered(float(by_layer.sum()), mtok), per_delivered(total, full_mtok)),
        unit="%",
        at="summary",
    )
    for layer in LAYERS:
        c.eq(
            f"full_year_{layer}_usd_per_mtok = its layer's full-year cost / full-year Mtok",
            summary[f"full_year_{layer}_usd_per_mtok"],
            per_delivered(full[layer], full_mtok),
            unit="USD/Mtok",
            at="summary",
        )
        c.eq(
            f"representative_{layer}_error_pct = {layer}_usd_per_mtok / full_year_{layer}_usd_per_mtok - 1",
            summary[f"representative_{layer}_error_pct"],
            _error_pct(per_delivered(float(by_layer.get(layer, 0.0)), mtok), per_delivered(full[layer], full_mtok)),
            unit="%",
            at="summary",
        )


def _error_pct(representative: float, full_year: float) -> float:
    """How far a representative-day figure is from the full year's, in % (blank without a full-year figure)."""
    return PERCENT * (representative / full_year - 1.0) if full_year > 0 else math.nan


@register_check(
    "full year",
    "The design run through all 8,760 hours: peak PUE and load from the hourly weather; "
    "where no storage links the hours (and no hourly carbon-free share), unserved energy, operating cost, "
    "emissions and tokens of the merit-order dispatch; full-year $/Mtok by layer and the representative days' "
    "error",
)
def _check_full_year(p: Plan, c: Recorder) -> None:
    year = _full_year_sites(p)
    _check_full_year_sites(p, c, year)
    _check_full_year_operation(p, c, year)
    _check_full_year_summary(p, c)


#: summary.csv figures of how the solve ran: seconds, and the model's size in whole counts
