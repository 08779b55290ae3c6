"""Energy layer: grid import, on-site generation, storage, bridge power, fuel and carbon.

Supplies the site's power balance in every slice, uses land for its footprint, and contributes
its annualised capital, fixed and variable costs (all tagged ``energy``), emissions and capex.

Storage carries energy within a representative day *and* from one calendar day to the next: the
state of charge is split into a level at the start of each run of consecutive calendar days that
share a representative day, plus the change within the day (Kotzur et al. 2018, "Time series
aggregation for energy system design: modeling seasonal storage", Applied Energy 213). Since the
level moves linearly across a run, bounding it on the first and last day of each run bounds it on
every day.

Time to power: where a site's grid connection arrives after ``online_by_year``, the grid may still
be used once it arrives, if on-site generation carries the whole facility load until then (the
*bridge years*, without storage). The operating costs and emissions of the bridge years and of the
grid years are weighted by their present-value shares of the planning horizon.

Peak power: the representative days need not hold a site's own hottest hours, so the power a site
can draw is also checked against its facility load in every hour of the full year that can set its
peak (:func:`_add_peak_supply`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.model.core import Shared, site_it_limit_mw
from optimizer.inputs.scenario import Scenario
from optimizer.constants import KW_PER_MW, crf, musd

#: the densest facility load a site can draw per MW of IT it can hold (worst PUE in the data)
MAX_PUE = 2.0
MMBTU_PER_MWH_PER_BTU_PER_KWH = 1e-3
KG_PER_T = 1000.0
#: kinds whose output follows the hour's weather (``<kind>_cf``); the others run at their availability
VARIABLE_KINDS = ("solar", "wind")
#: cost items that depend on how the plants run hour by hour (the others follow the capacities)
GRID_ENERGY_ITEM = "grid energy"
FUEL_AND_VOM_ITEM = "fuel and variable O&M"


def grid_wait_yr(scenario: Scenario) -> pd.Series:
    """Years each site waits for its grid connection after the online-by year (0 if none)."""
    sites = scenario.tables["sites"]
    online_by = scenario.constraints.online_by_year
    if online_by is None:
        return pd.Series(0.0, index=sites.index)
    return (sites["grid_online_year"] - online_by).clip(lower=0).astype(float)


def allowed_techs(scenario: Scenario) -> pd.DataFrame:
    """(site x tech) mask: the technology may be built there in time and is not excluded.

    A late grid stays allowed when bridge power may carry the site until it arrives.
    """
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
        if not limits.bridge_power:
            allowed[grid] &= grid_wait_yr(scenario) == 0
    return allowed


def bridge_share(wait_yr: float, horizon_yr: float, wacc: float) -> float:
    """Present-value share of the horizon that falls in the first ``wait_yr`` years."""
    wait_yr = min(wait_yr, horizon_yr)
    if wacc == 0:
        return wait_yr / horizon_yr
    return (1 - (1 + wacc) ** -wait_yr) / (1 - (1 + wacc) ** -horizon_yr)


def bridge_sites(scenario: Scenario, allowed: pd.DataFrame, grid: str) -> dict[str, float]:
    """Sites that may use a late grid after bridge years -> present-value share of those years.

    ``allowed`` is the (site x tech) mask of :func:`allowed_techs`.
    """
    if not scenario.constraints.bridge_power:
        return {}
    wait = grid_wait_yr(scenario)
    finance = scenario.finance
    return {
        s: bridge_share(float(wait[s]), finance.horizon_yr, finance.wacc)
        for s in wait.index
        if wait[s] > 0 and allowed.loc[s, grid]
    }


def storage_runs(days: pd.DataFrame) -> list[tuple[int, int, int]]:
    """(first day, number of days, period) of each run of consecutive days with the same period."""
    period = days["period"].to_numpy()
    starts = [0, *(np.flatnonzero(period[1:] != period[:-1]) + 1)]
    ends = [*starts[1:], len(period)]
    return [(int(a), int(b - a), int(period[a])) for a, b in zip(starts, ends)]


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
        if kind in VARIABLE_KINDS:
            series = profiles[f"{kind}_cf"]
        else:
            series = pd.Series(float(techs.loc[tech, "availability"]), index=profiles.index)
        for (site, t), value in series.items():
            out[site, tech, t] = float(value)
    return out


def capacity_bound_mw(scenario: Scenario, it_limit: dict[str, float], grid: str) -> pd.DataFrame:
    """(site x tech) largest capacity: the grid's connection, else the land's and (for plants that
    only serve the site) the facility's peak draw; unbounded kinds get a loose multiple of it."""
    sites, techs = scenario.tables["sites"], scenario.tables["power_techs"]
    peak_draw_mw = pd.Series(it_limit).reindex(sites.index).to_numpy() * MAX_PUE
    acres_per_mw = techs["land_acres_per_mw"].to_numpy()
    with np.errstate(divide="ignore"):
        land_mw = np.where(acres_per_mw > 0, sites["land_acres"].to_numpy()[:, None] / acres_per_mw, np.inf)
    serves_site_only = techs["kind"].isin(["thermal", "nuclear"]).to_numpy()
    load_mw = np.where(serves_site_only, peak_draw_mw[:, None], np.inf)
    bound = np.minimum(land_mw, load_mw)
    bound = np.where(np.isfinite(bound), bound, 5 * peak_draw_mw[:, None])
    out = pd.DataFrame(bound, index=sites.index, columns=techs.index)
    out[grid] = sites["grid_capacity_mw"].astype(float)
    return out


def fuel_usd_per_mwh(scenario: Scenario) -> dict:
    """Fuel cost of one MWh from each thermal tech at each site: (site, tech) -> USD/MWh."""
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
    techs = scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    wacc = scenario.finance.wacc
    allowed = allowed_techs(scenario)
    it_limit = site_it_limit_mw(scenario)
    grid = techs.index[techs["kind"] == "grid"][0]
    m.grid_tech = grid

    pairs = [(s, g) for s in m.S for g in techs.index[allowed.loc[s].to_numpy()]]
    m.G = pyo.Set(initialize=list(techs.index), ordered=True)
    m.site_techs = pyo.Set(initialize=pairs, dimen=2, ordered=True)

    bound_mw = capacity_bound_mw(scenario, it_limit, grid).stack().to_dict()
    m.capacity_mw = pyo.Var(m.site_techs, bounds=lambda _, s, g: (0, bound_mw[s, g]))

    # integer units where the technology comes in unit sizes (turbines, engines, reactors); as
    # many as fit whole within the capacity bound (rounding down also tightens the LP relaxation)
    unit_size = techs["unit_size_mw"].dropna().to_dict()
    unit_pairs = [(s, g) for s, g in pairs if g in unit_size]
    m.site_unit_techs = pyo.Set(initialize=unit_pairs, dimen=2, ordered=True)
    m.units = pyo.Var(
        m.site_unit_techs,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, s, g: (0, math.floor(bound_mw[s, g] / unit_size[g] + 1e-9)),
    )
    m.capacity_in_units = pyo.Constraint(
        m.site_unit_techs, rule=lambda _, s, g: m.capacity_mw[s, g] == unit_size[g] * m.units[s, g]
    )

    availability = _availability(scenario, techs["kind"])
    m.site_tech_slices = pyo.Set(initialize=[(s, g, t) for s, g in pairs for t in m.T], dimen=3, ordered=True)
    m.generation_mw = pyo.Var(
        m.site_tech_slices,
        bounds=lambda _, s, g, t: (0, bound_mw[s, g] * availability[s, g, t]),
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
    # runs of consecutive calendar days that share a representative day (storage levels)
    m.storage_runs = storage_runs(scenario.tables["days"])
    slices = scenario.tables["slices"]
    m.last_slice_of_period = slices.reset_index().sort_values("hour").groupby("period")["slice_id"].last().to_dict()
    m.R = pyo.Set(initialize=range(len(m.storage_runs)), ordered=True)
    _add_storage_operation(m, m, list(m.site_storage), scenario, storage, power_bound)

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

    bridge = bridge_sites(scenario, allowed, grid)
    _add_bridge_power(m, scenario, techs_at, storage_at, availability, grid, bridge, shared, power_bound)
    _add_peak_supply(m, scenario, techs_at, storage_at, grid, bridge, shared)
    if scenario.constraints.cfe_share > 0:
        _add_carbon_free_share(m, scenario, techs_at, storage_at, grid)
    _add_costs(m, scenario, shared, techs_at, storage_at, grid, wacc, bridge)


def _add_storage_operation(b, m, site_storage: list, scenario: Scenario, storage: pd.DataFrame, power_bound: dict) -> None:
    """Hourly charge and discharge, state of charge within each representative day, and its level
    across the calendar days, for one operating regime: the grid years (``b`` is the model) or the
    bridge years (``b`` is ``m.bridge``). Sizes (power, energy) are the model's, shared by both.
    """
    slices = scenario.tables["slices"]
    starts_day = (slices["hour"] == slices.groupby("period")["hour"].transform("min")).to_dict()
    previous = {}
    for _, group in slices.groupby("period"):
        ordered = list(group.sort_values("hour").index)
        previous.update(dict(zip(ordered[1:], ordered[:-1])))
    last_slice = m.last_slice_of_period
    periods = sorted(last_slice)
    runs = m.storage_runs
    one_way = {k: math.sqrt(storage.loc[k, "round_trip_efficiency"]) for k in storage.index}
    energy_bound = {(s, k): power_bound[s] * storage.loc[k, "max_duration_h"] for s, k in site_storage}

    b.storage_slices = pyo.Set(initialize=[(s, k, t) for s, k in site_storage for t in m.T], dimen=3, ordered=True)
    storage_slices = b.storage_slices
    b.charge_mw = pyo.Var(storage_slices, bounds=lambda _, s, k, t: (0, power_bound[s]))
    b.discharge_mw = pyo.Var(storage_slices, bounds=lambda _, s, k, t: (0, power_bound[s]))
    # one row for both directions: charging and discharging in the same hour only burns energy in
    # losses, which curtailing generation does for free, so no plan gains from both at once (except
    # by dumping grid energy at a negative hourly price, which this row deliberately limits)
    b.charge_and_discharge_within_power = pyo.Constraint(
        storage_slices,
        rule=lambda _, s, k, t: b.charge_mw[s, k, t] + b.discharge_mw[s, k, t] <= m.storage_power_mw[s, k],
    )
    b.soc_within_day_mwh = pyo.Var(
        storage_slices, bounds=lambda _, s, k, t: (-energy_bound[s, k], energy_bound[s, k])
    )

    # a slice is an hour, or a block of hours in the screening relaxation (optimizer.analysis.screening)
    duration_h = slices["duration_h"].to_dict() if "duration_h" in slices else dict.fromkeys(slices.index, 1.0)

    def within_day(_, s, k, t):
        # change of the state of charge since the start of the day; the day starts at 0
        before = 0.0 if starts_day[t] else b.soc_within_day_mwh[s, k, previous[t]]
        flow = one_way[k] * b.charge_mw[s, k, t] - b.discharge_mw[s, k, t] / one_way[k]
        return b.soc_within_day_mwh[s, k, t] == before + duration_h[t] * flow

    b.state_of_charge_within_day = pyo.Constraint(storage_slices, rule=within_day)
    site_storage_periods = [(s, k, p) for s, k in site_storage for p in periods]
    b.soc_day_high_mwh = pyo.Var(site_storage_periods, bounds=lambda _, s, k, p: (0, energy_bound[s, k]))
    b.soc_day_low_mwh = pyo.Var(site_storage_periods, bounds=lambda _, s, k, p: (-energy_bound[s, k], 0))
    period_of = slices["period"].to_dict()
    b.soc_day_high_covers = pyo.Constraint(
        storage_slices, rule=lambda _, s, k, t: b.soc_day_high_mwh[s, k, period_of[t]] >= b.soc_within_day_mwh[s, k, t]
    )
    b.soc_day_low_covers = pyo.Constraint(
        storage_slices, rule=lambda _, s, k, t: b.soc_day_low_mwh[s, k, period_of[t]] <= b.soc_within_day_mwh[s, k, t]
    )

    def day_change(s, k, p):
        return b.soc_within_day_mwh[s, k, last_slice[p]]

    b.soc_run_start_mwh = pyo.Var(
        [(s, k, r) for s, k in site_storage for r in m.R], bounds=lambda _, s, k, r: (0, energy_bound[s, k])
    )

    def run_chain(_, s, k, r):
        # the level after a run of n equal days is its start plus n day-changes; the year wraps
        _, length, period = runs[r]
        following = (r + 1) % len(runs)
        return b.soc_run_start_mwh[s, k, following] == b.soc_run_start_mwh[s, k, r] + length * day_change(s, k, period)

    b.soc_across_days = pyo.Constraint(b.soc_run_start_mwh.index_set(), rule=run_chain)
    ends = [(s, k, r, last) for s, k in site_storage for r, (_, length, _) in enumerate(runs) for last in {0, length - 1}]
    b.soc_run_ends = pyo.Set(initialize=ends, dimen=4, ordered=True)

    def level_at(s, k, r, day_in_run):
        return b.soc_run_start_mwh[s, k, r] + day_in_run * day_change(s, k, runs[r][2])

    b.soc_within_energy = pyo.Constraint(
        b.soc_run_ends,
        rule=lambda _, s, k, r, j: level_at(s, k, r, j) + b.soc_day_high_mwh[s, k, runs[r][2]] <= m.storage_energy_mwh[s, k],
    )
    b.soc_above_empty = pyo.Constraint(
        b.soc_run_ends, rule=lambda _, s, k, r, j: level_at(s, k, r, j) + b.soc_day_low_mwh[s, k, runs[r][2]] >= 0
    )


def _add_bridge_power(
    m, scenario: Scenario, techs_at, storage_at, availability, grid: str, bridge: dict[str, float], shared: Shared, power_bound
) -> None:
    """On-site generation and storage that carry the facility load alone until a late grid arrives.

    The bridge years run their own dispatch on the same plants and batteries. A site that never
    uses its grid can run the bridge years exactly like the others, so the rule only costs
    something where the plan really waits for a grid.
    """
    m.bridge_share = bridge
    m.bridge_site_slices = pyo.Set(initialize=[(s, t) for s in bridge for t in m.T], dimen=2, ordered=True)
    keys = [(s, g, t) for s in bridge for g in techs_at[s] if g != grid for t in m.T]
    m.bridge_generation_mw = pyo.Var(keys, bounds=(0, None))
    m.bridge_within_capacity = pyo.Constraint(
        keys, rule=lambda _, s, g, t: m.bridge_generation_mw[s, g, t] <= availability[s, g, t] * m.capacity_mw[s, g]
    )
    m.bridge = pyo.Block()
    _add_storage_operation(
        m.bridge, m, [(s, k) for s in bridge for k in storage_at[s]], scenario, scenario.tables["storage_techs"], power_bound
    )
    m.bridge_supply_mw = pyo.Expression(
        m.bridge_site_slices,
        rule=lambda _, s, t: sum(m.bridge_generation_mw[s, g, t] for g in techs_at[s] if g != grid)
        + sum(m.bridge.discharge_mw[s, k, t] for k in storage_at[s]),
    )
    m.bridge_charging_mw = pyo.Expression(
        m.bridge_site_slices, rule=lambda _, s, t: sum(m.bridge.charge_mw[s, k, t] for k in storage_at[s])
    )
    shared.add_supply("bridge_power_mw", m.bridge_supply_mw)
    shared.add_use("bridge_power_mw", m.bridge_charging_mw)


def _add_peak_supply(
    m, scenario: Scenario, techs_at, storage_at, grid: str, bridge: dict[str, float], shared: Shared
) -> None:
    r"""Power a site can draw in the hours of the full year that can set its peak
    (supply of ``balance_peak_power_mw``; the facility load is the infrastructure layer's).

    For every site :math:`s`, cooling :math:`k` and hour :math:`h \in H_{s,k}` of the 8,760:

    .. math::

        \sum_{g \in F_s} a_g X_{s,g} + \sum_{g \in V_s} cf_{s,g}(h) X_{s,g} + \sum_{b} P_{s,b}
        \;\ge\; PUE_{s,k}(h)\, I_{s,k}

    ==================  ==========================================================================
    :math:`X_{s,g}`     capacity of source g, MW (``capacity_mw``)
    :math:`F_s`         sources that run at their availability :math:`a_g` (grid connection, gas,
                        fuel cells, reactors); the grid is left out at a site that waits for a late
                        grid (``bridge``): the same hours must then be carried on site in the bridge
                        years, and that row implies the grid years' one
    :math:`V_s`         solar and wind, at the hour's own capacity factor :math:`cf_{s,g}(h)`
    :math:`P_{s,b}`     storage power, MW (``storage_power_mw``)
    :math:`I_{s,k}`     IT load on cooling k, MW (``cooled_it_mw``; zero but on the chosen cooling)
    :math:`H_{s,k}`     the hours no other hour dominates (higher PUE, less sun and less wind:
                        :func:`optimizer.inputs.profiles.peak_hours`); they bound every hour of the year
    ==================  ==========================================================================

    The rule is *necessary* for a design to carry the full year: in any hourly dispatch, supply is at
    most the left-hand side (generation within availability x capacity, discharge within storage
    power), so it never removes a design that could. Without storage it is also *sufficient*: the
    generation alone can then meet every hour of the year. Solar and wind count only at the hour's own
    weather: counting them at the hottest hour alone would miss a hot, still evening with almost the
    same PUE and no sun. Storage counts at its power, not its energy; whether it holds the energy
    those hours need is what the full-year re-check (:mod:`optimizer.outputs.fullyear`) measures, and it
    reports any energy the design cannot serve.
    """
    techs = scenario.tables["power_techs"]
    kind, availability = techs["kind"].to_dict(), techs["availability"].astype(float).to_dict()
    weather = {v: m.peak_hours[f"{v}_cf"].to_dict() for v in VARIABLE_KINDS}

    def available(s, k, h, g):
        return weather[kind[g]][s, k, h] if kind[g] in VARIABLE_KINDS else availability[g]

    def rule(_, s, k, h):
        sources = [g for g in techs_at[s] if not (g == grid and s in bridge)]
        return sum(available(s, k, h, g) * m.capacity_mw[s, g] for g in sources) + sum(
            m.storage_power_mw[s, b] for b in storage_at[s]
        )

    m.peak_supply_mw = pyo.Expression(m.site_peak_hours, rule=rule)
    shared.add_supply("peak_power_mw", m.peak_supply_mw)


def carbon_free_techs(scenario: Scenario) -> list[str]:
    """On-site technologies with no direct CO2 (the grid counts by its own carbon-free share)."""
    techs = scenario.tables["power_techs"]
    free = (techs["kind"] != "grid") & ((techs["co2_kg_per_mmbtu"] == 0) | techs["heat_rate_btu_per_kwh"].isna())
    return list(techs.index[free])


def _add_carbon_free_share(m, scenario: Scenario, techs_at, storage_at, grid: str) -> None:
    """24/7 matching: in every hour, carbon-free supply covers ``cfe_share`` of the site's load,
    in the grid years and in the bridge years alike.

    Storage counts by its net discharge, so energy stored from carbon-free hours moves with it and
    its losses count against the share.
    """
    share = scenario.constraints.cfe_share
    grid_cfe = scenario.tables["sites"]["grid_cfe_share"].to_dict()
    clean = set(carbon_free_techs(scenario))

    def net_storage(b, s, t):
        return sum(b.discharge_mw[s, k, t] - b.charge_mw[s, k, t] for k in storage_at[s])

    def rule(_, s, t):
        carbon_free = sum(
            (grid_cfe[s] if g == grid else 1.0) * m.generation_mw[s, g, t] for g in techs_at[s] if g == grid or g in clean
        )
        load = sum(m.generation_mw[s, g, t] for g in techs_at[s]) + net_storage(m, s, t)
        return carbon_free + net_storage(m, s, t) >= share * load

    m.carbon_free_share = pyo.Constraint(m.site_slices, rule=rule)

    def bridge_rule(_, s, t):
        on_site = [g for g in techs_at[s] if g != grid]
        carbon_free = sum(m.bridge_generation_mw[s, g, t] for g in on_site if g in clean)
        load = sum(m.bridge_generation_mw[s, g, t] for g in on_site) + net_storage(m.bridge, s, t)
        return carbon_free + net_storage(m.bridge, s, t) >= share * load

    m.bridge_carbon_free_share = pyo.Constraint(m.bridge_site_slices, rule=bridge_rule)


def fuel_co2_t_per_mwh(scenario: Scenario) -> dict[str, float]:
    """Direct CO2 of one MWh from each on-site tech that burns a fuel with carbon: tech -> t/MWh."""
    techs = scenario.tables["power_techs"]
    burns = (techs["kind"] != "grid") & techs["heat_rate_btu_per_kwh"].notna() & (techs["co2_kg_per_mmbtu"] > 0)
    rate = techs["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * techs["co2_kg_per_mmbtu"] / KG_PER_T
    return rate[burns].to_dict()


def _add_costs(m, scenario: Scenario, shared: Shared, techs_at, storage_at, grid: str, wacc: float, bridge) -> None:
    techs = scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    profiles = scenario.tables["profiles"]
    w = m.weight_h
    fuel = fuel_usd_per_mwh(scenario)
    # operating costs and emissions of the grid years and of the bridge years, by present value
    grid_years = {s: 1.0 - bridge.get(s, 0.0) for s in m.S}
    capex_per_mw = {g: musd(techs.loc[g, "capex_usd_per_kw"] * KW_PER_MW) for g in techs.index}
    annual_per_mw = {
        g: capex_per_mw[g] * crf(wacc, techs.loc[g, "life_yr"]) + musd(techs.loc[g, "fom_usd_per_kw_yr"] * KW_PER_MW)
        for g in techs.index
    }

    # one annual sum per (site, tech), shared by the energy, fuel and emission terms
    m.annual_generation_mwh = pyo.Expression(
        m.site_techs, rule=lambda _, s, g: sum(w[t] * m.generation_mw[s, g, t] for t in m.T)
    )
    bridge_pairs = sorted({(s, g) for s, g, _ in m.bridge_generation_mw.index_set()})
    m.bridge_annual_generation_mwh = pyo.Expression(
        bridge_pairs, rule=lambda _, s, g: sum(w[t] * m.bridge_generation_mw[s, g, t] for t in m.T)
    )

    def annual_energy(s, g):
        """Generation in an average year of the horizon: grid years and bridge years weighted."""
        steady = grid_years[s] * m.annual_generation_mwh[s, g]
        return steady + bridge[s] * m.bridge_annual_generation_mwh[s, g] if (s, g) in bridge_pairs else steady

    grid_price = musd(profiles["grid_price_usd_per_mwh"]).to_dict()
    grid_co2_t = (profiles["grid_co2_kg_per_mwh"] / 1000.0).to_dict()

    m.generation_capacity_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(annual_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s] if g != grid)
    )
    m.grid_connection_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(annual_per_mw[g] * m.capacity_mw[s, g] for g in techs_at[s] if g == grid)
    )
    m.grid_energy_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: grid_years[s] * sum(w[t] * grid_price[s, t] * m.generation_mw[s, grid, t] for t in m.T)
        if grid in techs_at[s]
        else 0.0,
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
    shared.add_cost("energy", GRID_ENERGY_ITEM, m.grid_energy_cost_musd)
    shared.add_cost("energy", FUEL_AND_VOM_ITEM, m.fuel_and_vom_cost_musd)
    shared.add_cost("energy", "storage", m.storage_cost_musd)

    fuel_co2 = fuel_co2_t_per_mwh(scenario)

    def grid_emissions_t(s):
        if grid not in techs_at[s]:
            return 0.0
        return grid_years[s] * sum(w[t] * grid_co2_t[s, t] * m.generation_mw[s, grid, t] for t in m.T)

    m.emissions_t = pyo.Expression(
        m.S,
        rule=lambda _, s: grid_emissions_t(s)
        + sum(fuel_co2[g] * annual_energy(s, g) for g in techs_at[s] if g in fuel_co2),
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
