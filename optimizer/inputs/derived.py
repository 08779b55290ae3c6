"""Derived inputs: every figure the model, the greedy plan, screening and diagnosis read from the
tables, computed once, in one place.

Data flows down: the scenario's tables → :class:`DerivedInputs` → its readers. No reader computes
one of these figures itself, and none borrows it from another reader (the model does not lend the
greedy its capacity bounds, screening does not recompute which sites reach a region).

Each figure is computed the first time it is read (a cached property), so a reader pays only for
what it uses and an error in one figure (demand no site can reach) surfaces where it matters.

=========================  ================================================================
figure                     meaning
=========================  ================================================================
it_limit_mw                largest IT load each site's land could hold, MW (every site big-M)
chips_available            SKUs that ship in volume by the online-by year
halls_ready                IT halls begun in the start year are energised by the online-by year
chips_sold                 SKUs on sale in the online-by year (before their last year of sale)
rack_mw                    IT power of one rack of each SKU, MW
rack_capex_musd            capital of one rack of each SKU (chips and systems), M$
tokens_ptok_per_rack_hour  tokens a busy rack of each (chip, workload) makes per hour, Ptok
grid_tech                  id of the grid connection among the power technologies
grid_wait_yr               years each site waits for its grid after the online-by year
allowed_techs              (site x tech) may be built there in time and is not excluded
bridge_share               sites that bridge to a late grid → present-value share of the wait
storage_allowed            storage technologies that may be built in time
availability               largest output per MW of capacity, per (site, tech, slice)
peak_draw_pue              facility MW per IT MW no hour exceeds (bounds power and storage)
capacity_bound_mw          (site x tech) largest capacity, MW
fuel_usd_per_mwh           fuel cost of a MWh from each thermal tech at each site
fuel_co2_t_per_mwh         direct CO2 of a MWh from each fuel-burning tech, t
carbon_free_techs          on-site technologies without direct CO2
distance_km, latency_ms    site x region great-circle distance and round-trip latency
reach                      site x (region, workload with demand): within the latency budget
routes                     (site, region, workload) triples that may carry demand
storage_runs               (first day, days, period) of each run of equal calendar days
last_slice_of_period       last slice of each representative day
pue_wue                    hourly PUE and WUE of each cooling on the representative slices
full_year_hourly, ..._pue  every hour of the year, filled, and each cooling's PUE in it
peak_hours                 the full-year hours that can set each site's peak load
=========================  ================================================================
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pandas as pd

from optimizer.constants import (
    KG_PER_T,
    KW_PER_MW,
    MMBTU_PER_MWH_PER_BTU_PER_KWH,
    SECONDS_PER_HOUR,
    TOKENS_PER_PTOK,
    USD_PER_MUSD,
)
from optimizer.inputs.cooling import hourly_pue_wue
from optimizer.inputs.geo import distance_km, round_trip_latency_ms
from optimizer.inputs.profiles import complete_hourly, peak_hours
from optimizer.inputs.scenario import Scenario, ScenarioError

#: facility MW per IT MW assumed at most when bounding power plants and storage; checked against the
#: data (:attr:`DerivedInputs.peak_draw_pue`): a cooling that needs more in some hour raises the bound
PEAK_DRAW_PUE_FLOOR = 2.0
#: kinds whose output follows the hour's weather (``<kind>_cf``); the others run at their availability
VARIABLE_KINDS = ("solar", "wind")
#: kinds of plant that only serve their site, so their capacity never needs to exceed its peak draw
SITE_ONLY_KINDS = ("thermal", "nuclear")
#: a capacity no land or load bounds (solar, wind on land-free rows) is bounded at this multiple of
#: the site's peak draw: loose enough never to bind, finite so the LP stays well scaled
LOOSE_BOUND_MULTIPLE = 5.0
#: the slack a unit count is floored with, so a bound that is a whole number of units stays one
UNIT_COUNT_TOLERANCE = 1e-9


def bridge_share(wait_yr: float, horizon_yr: float, wacc: float) -> float:
    """Present-value share of the horizon that falls in the first ``wait_yr`` years."""
    wait_yr = min(wait_yr, horizon_yr)
    if wacc == 0:
        return wait_yr / horizon_yr
    return (1 - (1 + wacc) ** -wait_yr) / (1 - (1 + wacc) ** -horizon_yr)


def storage_runs(days: pd.DataFrame) -> list[tuple[int, int, int]]:
    """(first day, number of days, period) of each run of consecutive days with the same period."""
    period = days["period"].to_numpy()
    starts = [0, *(np.flatnonzero(period[1:] != period[:-1]) + 1)]
    ends = [*starts[1:], len(period)]
    return [(int(a), int(b - a), int(period[a])) for a, b in zip(starts, ends, strict=True)]


def max_units(bound_mw: float, unit_size_mw: float) -> int:
    """Whole units of ``unit_size_mw`` that fit within ``bound_mw``."""
    return math.floor(bound_mw / unit_size_mw + UNIT_COUNT_TOLERANCE)


#: figures that depend only on the sites, their weather, the coolings and the time slices: the same in
#: every planning year of a build-out, computed once (:meth:`DerivedInputs.for_year`)
YEAR_INDEPENDENT = (
    "it_limit_mw",
    "availability",
    "distance_km",
    "latency_ms",
    "storage_runs",
    "last_slice_of_period",
    "pue_wue",
    "full_year_hourly",
    "full_year_pue",
    "peak_hours",
    "peak_draw_pue",
    "peak_draw_mw",
)


class DerivedInputs:
    """The figures every reader of a scenario needs, each computed once (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.tables = scenario.tables

    def for_year(self, scenario: Scenario) -> DerivedInputs:
        """The derived inputs of ``scenario`` (a planning year of this one), sharing the figures no
        planning year changes (``YEAR_INDEPENDENT``: computed here once, for every year). A scenario
        whose ``by_year`` may change the tables behind them (sites, coolings, facility) shares nothing."""
        derived = DerivedInputs(scenario)
        if not self.scenario.by_year:
            for name in YEAR_INDEPENDENT:
                derived.__dict__[name] = getattr(self, name)
        return derived

    # ---- sites and chips ------------------------------------------------------------------

    @cached_property
    def it_limit_mw(self) -> dict[str, float]:
        """Largest IT load each site's land could hold: the bound behind every site-level big-M."""
        acres_per_mw = self.scenario.facility("it_acres_per_mw")
        return (self.tables["sites"]["land_acres"] / acres_per_mw).to_dict()

    @cached_property
    def chips_available(self) -> list[str]:
        """SKUs that ship in volume by the online-by year (all of them without a deadline)."""
        chips = self.tables["chips"]
        deadline = self.scenario.constraints.online_by_year
        if deadline is None:
            return list(chips.index)
        return list(chips.index[chips["available_year"] <= deadline])

    @cached_property
    def halls_ready(self) -> bool:
        """Whether an IT hall begun in the start year is energised by the online-by year (a build-out's
        halls; the one-year model takes its scenario's word that its halls are ready in time)."""
        year = self.scenario.constraints.online_by_year
        lead = self.scenario.facility("hall_lead_time_yr")
        return year is None or self.scenario.finance.start_year + math.ceil(lead) <= year

    @cached_property
    def chips_sold(self) -> list[str]:
        """SKUs on sale in the online-by year: shipping by then and not past their last year of sale.

        What a build-out may buy in a planning year; racks bought earlier stay (``chips_available``).
        """
        chips = self.tables["chips"]
        year = self.scenario.constraints.online_by_year
        if year is None:
            return list(chips.index)
        last = chips["last_year"] if "last_year" in chips else pd.Series(np.nan, index=chips.index)
        on_sale = (chips["available_year"] <= year) & ~(last < year)
        return list(chips.index[on_sale.to_numpy()])

    @cached_property
    def rack_mw(self) -> dict[str, float]:
        """IT power of one rack of each SKU, MW."""
        return (self.tables["chips"]["rack_power_kw"] / KW_PER_MW).to_dict()

    @cached_property
    def rack_capex_musd(self) -> dict[str, float]:
        """Capital of one rack of each SKU: its chips and their systems, M$."""
        chips = self.tables["chips"]
        per_rack_usd = chips["chips_per_rack"] * (chips["price_usd_per_chip"] + chips["system_usd_per_chip"])
        return (per_rack_usd / USD_PER_MUSD).to_dict()

    @cached_property
    def tokens_ptok_per_rack_hour(self) -> dict[tuple[str, str], float]:
        """Tokens a fully busy rack of each chip makes in an hour for each workload, scaled by utilisation."""
        chips, workloads = self.tables["chips"], self.tables["workloads"]
        out = {}
        for (c, w), row in self.tables["chip_throughput"].iterrows():
            per_rack_per_s = row["tokens_per_s_per_chip"] * chips.loc[c, "chips_per_rack"]
            out[c, w] = per_rack_per_s * SECONDS_PER_HOUR * workloads.loc[w, "utilisation"] / TOKENS_PER_PTOK
        return out

    # ---- power ----------------------------------------------------------------------------

    @cached_property
    def grid_tech(self) -> str:
        """The grid connection's id among the power technologies (the schema requires exactly one)."""
        techs = self.tables["power_techs"]
        return str(techs.index[techs["kind"] == "grid"][0])

    @cached_property
    def grid_wait_yr(self) -> pd.Series:
        """Years each site waits for its grid connection after the online-by year (0 if none)."""
        sites = self.tables["sites"]
        online_by = self.scenario.constraints.online_by_year
        if online_by is None:
            return pd.Series(0.0, index=sites.index)
        return (sites["grid_online_year"] - online_by).clip(lower=0).astype(float)

    @cached_property
    def allowed_techs(self) -> pd.DataFrame:
        """(site x tech) mask: the technology may be built there in time and is not excluded.

        A late grid stays allowed when bridge power may carry the site until it arrives.
        """
        sites, techs = self.tables["sites"], self.tables["power_techs"]
        limits = self.scenario.constraints
        allowed = pd.DataFrame(True, index=sites.index, columns=techs.index)
        if limits.allowed_power_techs is not None:
            allowed.loc[:, ~techs.index.isin(limits.allowed_power_techs)] = False
        grid = self.grid_tech
        allowed[grid] &= sites["grid_capacity_mw"] > 0
        if limits.online_by_year is not None:
            ready = self.scenario.finance.start_year + np.ceil(techs["lead_time_yr"])
            in_time = (ready <= limits.online_by_year) & (techs["first_year"] <= limits.online_by_year)
            allowed.loc[:, ~in_time.to_numpy()] = False
            if not limits.bridge_power:
                allowed[grid] &= self.grid_wait_yr == 0
        return allowed

    @cached_property
    def site_techs(self) -> list[tuple[str, str]]:
        """(site, tech) pairs that may be built, site by site in table order."""
        allowed = self.allowed_techs
        return [(s, g) for s in allowed.index for g in allowed.columns[allowed.loc[s].to_numpy()]]

    @cached_property
    def bridge_share(self) -> dict[str, float]:
        """Sites that may use a late grid after bridge years → present-value share of those years."""
        if not self.scenario.constraints.bridge_power:
            return {}
        wait, finance, grid = self.grid_wait_yr, self.scenario.finance, self.grid_tech
        return {
            s: bridge_share(float(wait[s]), finance.horizon_yr, finance.wacc)
            for s in wait.index
            if wait[s] > 0 and self.allowed_techs.loc[s, grid]
        }

    @cached_property
    def storage_allowed(self) -> list[str]:
        """Storage technologies not excluded and ready by the online-by year."""
        storage = self.tables["storage_techs"]
        limits = self.scenario.constraints
        if limits.allowed_power_techs is not None:
            storage = storage[storage.index.isin(limits.allowed_power_techs)]
        if limits.online_by_year is not None:
            ready = self.scenario.finance.start_year + np.ceil(storage["lead_time_yr"])
            storage = storage[ready <= limits.online_by_year]
        return list(storage.index)

    @cached_property
    def availability(self) -> dict[tuple[str, str, int], float]:
        """Largest output per MW of capacity, per (site, tech, slice)."""
        techs, profiles = self.tables["power_techs"], self.tables["profiles"]
        out = {}
        for tech, kind in techs["kind"].items():
            if kind in VARIABLE_KINDS:
                series = profiles[f"{kind}_cf"]
            else:
                series = pd.Series(float(techs.loc[tech, "availability"]), index=profiles.index)
            for (site, t), value in series.items():
                out[site, tech, t] = float(value)
        return out

    @cached_property
    def peak_draw_pue(self) -> float:
        """Facility MW per IT MW that no hour of the full year exceeds with any cooling.

        The power bounds assume :data:`PEAK_DRAW_PUE_FLOOR`; the schema lets a cooling row need more
        (a weak chiller in a hot climate), so the worst hour in the data raises the bound instead of
        silently cutting off the plans that need it.
        """
        worst = float(self.peak_hours["pue"].max()) if len(self.peak_hours) else 0.0
        return max(PEAK_DRAW_PUE_FLOOR, worst)

    @cached_property
    def peak_draw_mw(self) -> dict[str, float]:
        """Largest facility load each site could draw: its land's IT limit at the worst PUE."""
        return {s: limit * self.peak_draw_pue for s, limit in self.it_limit_mw.items()}

    @cached_property
    def capacity_bound_mw(self) -> pd.DataFrame:
        """(site x tech) largest capacity: the grid's connection, else the land's and (for plants that
        only serve the site) the facility's peak draw; unbounded kinds get a loose multiple of it."""
        sites, techs = self.tables["sites"], self.tables["power_techs"]
        peak_draw_mw = pd.Series(self.peak_draw_mw).reindex(sites.index).to_numpy()
        acres_per_mw = techs["land_acres_per_mw"].to_numpy()
        with np.errstate(divide="ignore"):
            land_mw = np.where(acres_per_mw > 0, sites["land_acres"].to_numpy()[:, None] / acres_per_mw, np.inf)
        serves_site_only = techs["kind"].isin(SITE_ONLY_KINDS).to_numpy()
        load_mw = np.where(serves_site_only, peak_draw_mw[:, None], np.inf)
        bound = np.minimum(land_mw, load_mw)
        bound = np.where(np.isfinite(bound), bound, LOOSE_BOUND_MULTIPLE * peak_draw_mw[:, None])
        out = pd.DataFrame(bound, index=sites.index, columns=techs.index)
        out[self.grid_tech] = sites["grid_capacity_mw"].astype(float)
        return out

    @cached_property
    def fuel_usd_per_mwh(self) -> dict[tuple[str, str], float]:
        """Fuel cost of one MWh from each thermal tech at each site: (site, tech) → USD/MWh."""
        sites, techs = self.tables["sites"], self.tables["power_techs"]
        out = {}
        for tech, row in techs.iterrows():
            if row["fuel"] == "none" or pd.isna(row["heat_rate_btu_per_kwh"]):
                continue
            mmbtu_per_mwh = row["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH
            for site in sites.index:
                gas = row["fuel"] == "gas"
                price = sites.loc[site, "gas_price_usd_per_mmbtu"] if gas else row["fuel_price_usd_per_mmbtu"]
                out[site, tech] = mmbtu_per_mwh * float(0.0 if pd.isna(price) else price)
        return out

    @cached_property
    def fuel_co2_t_per_mwh(self) -> dict[str, float]:
        """Direct CO2 of one MWh from each on-site tech that burns a fuel with carbon: tech → t/MWh."""
        techs = self.tables["power_techs"]
        burns = (techs["kind"] != "grid") & techs["heat_rate_btu_per_kwh"].notna() & (techs["co2_kg_per_mmbtu"] > 0)
        rate = techs["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * techs["co2_kg_per_mmbtu"] / KG_PER_T
        return rate[burns].to_dict()

    @cached_property
    def carbon_free_techs(self) -> list[str]:
        """On-site technologies with no direct CO2 (the grid counts by its own carbon-free share)."""
        techs = self.tables["power_techs"]
        free = (techs["kind"] != "grid") & ((techs["co2_kg_per_mmbtu"] == 0) | techs["heat_rate_btu_per_kwh"].isna())
        return list(techs.index[free])

    # ---- delivery -------------------------------------------------------------------------

    @cached_property
    def distance_km(self) -> pd.DataFrame:
        """Great-circle distance of every site (rows) to every region (columns), km."""
        return distance_km(self.tables["sites"], self.tables["regions"])

    @cached_property
    def latency_ms(self) -> pd.DataFrame:
        """Round-trip network latency of every site (rows) to every region (columns), ms."""
        f = self.scenario.facility
        return round_trip_latency_ms(
            self.distance_km, f("fibre_km_per_ms"), f("route_factor"), f("latency_overhead_ms")
        )

    @cached_property
    def reach(self) -> pd.DataFrame:
        """Whether each site (rows) reaches each demand (columns: region, workload) within its budget."""
        budget = self.tables["workloads"]["latency_budget_ms"]
        demand = self.tables["demand"]["tokens_per_yr"]
        served = demand[demand > 0].index
        return pd.DataFrame({(r, w): self.latency_ms[r] <= budget[w] for r, w in served})

    @cached_property
    def routes(self) -> list[tuple[str, str, str]]:
        """(site, region, workload) triples with demand whose round trip fits the workload's budget.

        Raises a :class:`ScenarioError` in planner's words when some demand has no reachable site.
        """
        scenario, latency = self.scenario, self.latency_ms
        budget = self.tables["workloads"]["latency_budget_ms"]
        demand = self.tables["demand"]["tokens_per_yr"]
        allowed = scenario.constraints.allowed_sites
        sites = [s for s in latency.index if allowed is None or s in allowed]
        routes = []
        for (r, w), tokens in demand.items():
            if tokens <= 0:
                continue
            reachable = list(latency.index[(latency[r] <= budget[w]).to_numpy()].intersection(sites, sort=False))
            if not reachable:
                nearest = latency.loc[sites, r].idxmin()
                raise ScenarioError(
                    f"{scenario.source}: region '{r}' (regions.csv) needs {tokens:.3g} tokens/yr of '{w}' "
                    f"(demand.csv), but no candidate site is within its {budget[w]:g} ms latency budget "
                    f"(workloads.csv, column 'latency_budget_ms'; nearest: '{nearest}' at "
                    f"{latency.loc[nearest, r]:.1f} ms)"
                )
            routes += [(s, r, w) for s in reachable]
        return routes

    # ---- time and cooling -----------------------------------------------------------------

    @cached_property
    def storage_runs(self) -> list[tuple[int, int, int]]:
        """(first day, number of days, period) of each run of calendar days sharing a representative day."""
        return storage_runs(self.tables["days"])

    @cached_property
    def last_slice_of_period(self) -> dict[int, int]:
        """The last slice (by hour) of each representative day."""
        slices = self.tables["slices"]
        return slices.reset_index().sort_values("hour").groupby("period")["slice_id"].last().to_dict()

    @cached_property
    def pue_wue(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Hourly PUE and WUE (l/kWh) of each cooling (columns) on every (site, slice)."""
        return hourly_pue_wue(self.tables["cooling"], self.tables["profiles"])

    @cached_property
    def full_year_hourly(self) -> pd.DataFrame:
        """The hourly table with every quantity filled (blank grid columns take the site's annual value)."""
        return complete_hourly(self.tables["hourly"], self.tables["sites"])

    @cached_property
    def full_year_pue(self) -> pd.DataFrame:
        """PUE of each cooling (columns) in every hour of the full year at every site."""
        return hourly_pue_wue(self.tables["cooling"], self.full_year_hourly)[0]

    @cached_property
    def peak_hours(self) -> pd.DataFrame:
        """The hours of the full year (not only of the representative days) that can set a site's peak."""
        return peak_hours(self.full_year_pue, self.full_year_hourly)

    # ---- rows the model can never use ---------------------------------------------------

    @cached_property
    def never_used(self) -> list[str]:
        """Chips no cooling can carry, that ship too late or have no throughput figure, and power and
        storage technologies that can never be built (excluded, too late, no grid anywhere): one line
        each naming the file, the row and why.

        Nothing here is an error: a scenario may exclude technologies on purpose. But a row the model
        can never pick is named, so that a 220 kW rack added without a cooling that carries it is not
        dropped without a word.
        """
        scenario, tables, limits = self.scenario, self.tables, self.scenario.constraints
        files = {table: scenario.table_files.get(table, f"{table}.csv") for table in tables}
        chips, cooling = tables["chips"], tables["cooling"]
        lines = []
        densest = cooling["max_rack_kw"].idxmax()
        with_throughput = set(tables["chip_throughput"].index.get_level_values("chip_id"))
        for chip, row in chips.iterrows():
            where = f"{files['chips']}: chip '{chip}'"
            if row["rack_power_kw"] > cooling.loc[densest, "max_rack_kw"]:
                lines.append(
                    f"{where}: its {row['rack_power_kw']:g} kW rack fits no cooling of {files['cooling']} "
                    f"(densest: '{densest}' at {cooling.loc[densest, 'max_rack_kw']:g} kW)"
                )
            if chip not in self.chips_available:
                year, deadline = int(row["available_year"]), limits.online_by_year
                lines.append(f"{where}: ships in {year}, after constraints.online_by_year {deadline}")
            if chip not in with_throughput:
                lines.append(f"{where}: {files['chip_throughput']} has no throughput figure for it")
        techs, storage = tables["power_techs"], tables["storage_techs"]
        for tech in techs.index[~self.allowed_techs.any(axis=0).to_numpy()]:
            lines.append(f"{files['power_techs']}: '{tech}' can be built at no site: {_why_not(scenario, tech, techs)}")
        for tech in storage.index.difference(self.storage_allowed, sort=False):
            why = _why_not(scenario, tech, storage)
            lines.append(f"{files['storage_techs']}: '{tech}' can be built at no site: {why}")
        return lines


def _why_not(scenario: Scenario, tech: str, table: pd.DataFrame) -> str:
    """Why a power or storage technology can never be built (the first reason that applies)."""
    limits = scenario.constraints
    if limits.allowed_power_techs is not None and tech not in limits.allowed_power_techs:
        return "not in constraints.allowed_power_techs"
    row = table.loc[tech]
    if limits.online_by_year is not None:
        ready = scenario.finance.start_year + math.ceil(row["lead_time_yr"])
        if ready > limits.online_by_year:
            return (
                f"a {row['lead_time_yr']:g}-year lead time from finance.start_year {scenario.finance.start_year} "
                f"makes it ready in {ready}, after constraints.online_by_year {limits.online_by_year}"
            )
        if "first_year" in row and row["first_year"] > limits.online_by_year:
            first = int(row["first_year"])
            return f"first available in {first}, after constraints.online_by_year {limits.online_by_year}"
    if row.get("kind") == "grid":
        if (scenario.tables["sites"]["grid_capacity_mw"] > 0).any():
            return "every site's grid arrives after constraints.online_by_year and bridge_power is off"
        return "no site has grid capacity (sites, column 'grid_capacity_mw')"
    return "not allowed at any site"
