"""The planner's spreadsheet: the greedy plan a planner would make without this tool.

It answers "how much does the optimisation buy?". The greedy works the way a spreadsheet does,
one decision after the other and each on its own, with no Pyomo:

1. rank the candidate sites by a levelised $/MWh: the energy price (grid, plus carbon and the
   connection; a firm on-site plant where the grid is late or absent) plus the site's fixed costs
   spread over the energy its land could host;
2. pick, for each workload, the chip with the lowest cost per token (its annualised price and its
   energy at the best site's $/MWh);
3. give each site the cheapest cooling that holds those racks, in the site's own weather;
4. fill the sites in rank order with integer racks, the tightest latency budget first, each demand
   at the best-ranked site that reaches it, until the site's land (less room for the firm plant
   that carries the load beyond its grid), water or the chip supply is used up.

:func:`evaluate_greedy` then costs the greedy plan with exactly the model's accounting: the real
model is built, every greedy decision is fixed and the solver chooses only the power capacities
and their dispatch ("add power to cover the load", done optimally: generous to the greedy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from optimizer.constants import (
    HOURS_PER_YEAR,
    KG_PER_T,
    KW_PER_MW,
    LITRES_PER_ML,
    TOKENS_PER_MTOK,
    TOKENS_PER_PTOK,
    USD_PER_MUSD,
    crf,
    usd_per_mtok,
)
from optimizer.inputs.derived import SITE_ONLY_KINDS, DerivedInputs, bridge_share
from optimizer.inputs.scenario import Scenario
from optimizer.model import FactoryModel, build_model
from optimizer.solver.milp import SolveError, SolveResult, solve

#: PUE a planner assumes before the cooling is chosen (hyperscale campuses report 1.1 to 1.2)
TYPICAL_PUE = 1.2
#: racks within this of a whole number count as that number (split demand sums in floating point)
RACK_TOLERANCE = 1e-9
#: demand left unplaced below this share counts as placed (floating-point remainder)
DEMAND_TOLERANCE = 1e-12


class GreedyError(RuntimeError):
    """The greedy plan cannot be made or cannot be operated; the message says what the greedy did."""


@dataclass
class GreedyChoice:
    """The greedy's decisions as plain tables, in the model's units (Ptok/yr for tokens)."""

    site_ranking: pd.DataFrame
    """candidate sites, best first: energy and levelised $/MWh, fixed M$/yr, cooling, usable IT MW"""
    chip_ranking: pd.DataFrame
    """index (workload_id, chip_id), cheapest per token first within each workload"""
    built: list[str]
    cooling: dict[str, str]
    """built site -> cooling id"""
    racks: pd.Series
    """integer racks, index (site_id, chip_id)"""
    assigned_racks: pd.Series
    """racks running each workload, index (site_id, chip_id, workload_id)"""
    delivered_ptok: pd.Series
    """tokens per year, index (site_id, region_id, workload_id)"""
    log: list[str] = field(default_factory=list)


@dataclass
class GreedyResult:
    """The greedy plan costed by the model: what the planner's spreadsheet really costs."""

    usd_per_mtok: float
    layer_usd_per_mtok: dict[str, float]
    sites_built: list[str]
    it_mw: float
    fm: FactoryModel
    result: SolveResult


def _annualised(scenario: Scenario, capex: pd.Series, life_yr: pd.Series, fom: pd.Series | float = 0.0) -> pd.Series:
    """Yearly cost of each asset: its capital recovered over its life at the scenario's WACC, plus fixed O&M."""
    return capex * life_yr.map(lambda life: crf(scenario.finance.wacc, life)) + fom


def _at(table: pd.DataFrame, column_of_row: pd.Series) -> pd.Series:
    """``table[row, column_of_row[row]]`` for every row (NaN where the column is missing)."""
    position = table.columns.get_indexer(column_of_row.reindex(table.index))
    picked = table.to_numpy()[np.arange(len(table)), position]
    return pd.Series(np.where(position >= 0, picked, np.nan), index=table.index)


def _weighted_mean_by_site(hourly: pd.DataFrame | pd.Series, scenario: Scenario) -> pd.DataFrame | pd.Series:
    """Mean over the year of a (site, slice) table: each slice weighted by the hours it stands for."""
    weights = scenario.tables["slices"]["weight_h"]
    weight = hourly.index.get_level_values("slice_id").map(weights).to_numpy()
    return hourly.mul(weight, axis=0).groupby(level="site_id").sum() / weights.sum()


def _it_mw_by_site(scenario: Scenario, racks: pd.Series) -> pd.Series:
    """IT MW of the racks (index site_id, chip_id) at each site."""
    rack_kw = racks.index.get_level_values("chip_id").map(scenario.tables["chips"]["rack_power_kw"]).to_numpy()
    return (racks * rack_kw).groupby(level="site_id").sum() / KW_PER_MW


# ---- 1. sites -------------------------------------------------------------------------------


def _grid_usd_per_mwh(scenario: Scenario) -> pd.Series:
    """Each site's mean grid price over the year, its carbon price and its connection (with any capacity
    charge) per MWh."""
    profiles = scenario.tables["profiles"]
    carbon_usd_per_kg = scenario.constraints.carbon_price_usd_per_t / KG_PER_T
    energy = _weighted_mean_by_site(
        profiles["grid_price_usd_per_mwh"] + carbon_usd_per_kg * profiles["grid_co2_kg_per_mwh"], scenario
    )
    techs = scenario.tables["power_techs"]
    grid = techs[techs["kind"] == "grid"].iloc[0]
    sites = scenario.tables["sites"]
    connection = (
        grid["capex_usd_per_kw"] * crf(scenario.finance.wacc, grid["life_yr"])
        + grid["fom_usd_per_kw_yr"]
        + sites["grid_capacity_charge_usd_per_kw_yr"]
    )
    return (energy + connection * KW_PER_MW / HOURS_PER_YEAR).reindex(sites.index)


def _firm_power(inputs: DerivedInputs) -> pd.DataFrame:
    """The firm on-site plant (thermal or nuclear) with the lowest $/MWh each site may build in time.

    Columns: tech_id; capacity_usd_per_mwh (capital and fixed O&M over its output at full
    availability); running_usd_per_mwh (fuel, variable O&M, carbon); acres_per_mw_load (land per
    MW of load it carries). All NaN where no firm plant may be built.
    """
    scenario = inputs.scenario
    techs, sites = scenario.tables["power_techs"], scenario.tables["sites"]
    firm = techs[techs["kind"].isin(SITE_ONLY_KINDS)]
    capital_usd_per_kw_yr = _annualised(scenario, firm["capex_usd_per_kw"], firm["life_yr"], firm["fom_usd_per_kw_yr"])
    capacity = capital_usd_per_kw_yr * KW_PER_MW / (HOURS_PER_YEAR * firm["availability"])
    # fuel as the model prices it, plus the carbon price on the fuel's direct CO2
    fuel_usd_per_mwh = pd.DataFrame(
        {g: [inputs.fuel_usd_per_mwh.get((s, g), 0.0) for s in sites.index] for g in firm.index},
        index=sites.index,
        dtype=float,
    )
    co2_t_per_mwh = pd.Series(inputs.fuel_co2_t_per_mwh, dtype=float).reindex(firm.index, fill_value=0.0)
    carbon_usd_per_mwh = scenario.constraints.carbon_price_usd_per_t * co2_t_per_mwh
    running = fuel_usd_per_mwh + carbon_usd_per_mwh + firm["vom_usd_per_mwh"]
    allowed = inputs.allowed_techs
    allowed_running = running.where(allowed[firm.index]).stack().dropna().rename_axis(["site_id", "tech_id"])
    tech = allowed_running.index.get_level_values("tech_id")
    options = pd.DataFrame(
        {
            "running_usd_per_mwh": allowed_running,
            "capacity_usd_per_mwh": tech.map(capacity).to_numpy(),
            "acres_per_mw_load": tech.map(firm["land_acres_per_mw"] / firm["availability"]).to_numpy(),
        },
        index=allowed_running.index,
    )
    total = options["running_usd_per_mwh"] + options["capacity_usd_per_mwh"]
    best = options.loc[total.groupby(level="site_id").idxmin()].reset_index("tech_id")
    return best.reindex(sites.index)


def _site_fixed_musd_per_yr(scenario: Scenario) -> pd.Series:
    """Site development (annualised) and the return forgone on the land, as the model counts them."""
    sites, wacc = scenario.tables["sites"], scenario.finance.wacc
    development_usd = scenario.facility("site_development_usd") * crf(
        wacc, scenario.facility("site_development_life_yr")
    )
    return (development_usd + sites["land_acres"] * sites["land_price_usd_per_acre"] * wacc) / USD_PER_MUSD


def site_ranking(inputs: DerivedInputs) -> pd.DataFrame:
    """Candidate sites, lowest levelised $/MWh (of facility energy) first.

    The energy price is the grid's where the grid is there by the online-by year. Where it comes
    later, a firm on-site plant is built to carry the bridge years (its capital counts in full,
    its running cost for the bridge years' present-value share) and the grid is bought afterwards;
    where no grid may be used the plant runs all the time. A site with neither is no candidate
    (sites outside ``constraints.allowed_sites`` left the scenario when it loaded). The fixed
    costs are spread over the energy of the IT load its land could host, at a typical PUE.
    """
    scenario = inputs.scenario
    allowed, grid_id, wait = inputs.allowed_techs, inputs.grid_tech, inputs.grid_wait_yr
    finance = scenario.finance
    share = wait.map(lambda years: bridge_share(years, finance.horizon_yr, finance.wacc))
    grid, firm = _grid_usd_per_mwh(scenario), _firm_power(inputs)
    grid_on_time = allowed[grid_id] & (wait == 0)
    grid_late = allowed[grid_id] & (wait > 0)
    bridged = firm["capacity_usd_per_mwh"] + share * firm["running_usd_per_mwh"] + (1.0 - share) * grid
    firm_only = firm["capacity_usd_per_mwh"] + firm["running_usd_per_mwh"]
    energy = pd.Series(np.select([grid_on_time, grid_late], [grid, bridged], firm_only), index=grid.index)
    land_it_mw = pd.Series(inputs.it_limit_mw)
    fixed = _site_fixed_musd_per_yr(scenario)
    table = pd.DataFrame(
        {
            "energy_usd_per_mwh": energy,
            "fixed_musd_per_yr": fixed,
            "usd_per_mwh": energy + fixed * USD_PER_MUSD / (land_it_mw * HOURS_PER_YEAR * TYPICAL_PUE),
            "land_it_mw": land_it_mw,
            "grid_planned_mw": scenario.tables["sites"]["grid_capacity_mw"].where(grid_on_time, 0.0),
            "grid_wait_yr": wait,
            "firm_tech_id": firm["tech_id"],
            "firm_acres_per_mw_load": firm["acres_per_mw_load"],
        }
    )
    return table[table["usd_per_mwh"].notna()].sort_values("usd_per_mwh", kind="stable")


# ---- 2. chips -------------------------------------------------------------------------------


def chip_ranking(inputs: DerivedInputs, usd_per_mwh: float) -> pd.DataFrame:
    """(workload, chip) pairs, cheapest per token first within each workload.

    A rack costs its annualised price and fixed O&M plus its facility energy at ``usd_per_mwh``
    (a typical PUE); only chips that ship by the online-by year and fit some cooling are ranked.
    """
    scenario = inputs.scenario
    chips = scenario.tables["chips"]
    fits = chips["rack_power_kw"] <= scenario.tables["cooling"]["max_rack_kw"].max()
    usable = [c for c in inputs.chips_available if fits[c]]
    capex_musd = pd.Series(inputs.rack_capex_musd)
    rack_musd_per_yr = _annualised(scenario, capex_musd, chips["life_yr"], capex_musd * chips["fom_pct_per_yr"] / 100.0)
    energy_musd_per_yr = chips["rack_power_kw"] / KW_PER_MW * HOURS_PER_YEAR * TYPICAL_PUE * usd_per_mwh / USD_PER_MUSD
    rate = pd.Series(inputs.tokens_ptok_per_rack_hour, dtype=float).rename_axis(["chip_id", "workload_id"])
    rate = rate[rate.index.get_level_values("chip_id").isin(usable) & (rate > 0)]
    annual_musd = (rack_musd_per_yr + energy_musd_per_yr).reindex(rate.index.get_level_values("chip_id")).to_numpy()
    ptok_per_rack_yr = rate.to_numpy() * HOURS_PER_YEAR
    table = pd.DataFrame(
        {
            "rack_musd_per_yr": annual_musd,
            "ptok_per_rack_yr": ptok_per_rack_yr,
            "rack_kw": chips["rack_power_kw"].reindex(rate.index.get_level_values("chip_id")).to_numpy(),
            "usd_per_ptok": annual_musd * USD_PER_MUSD / ptok_per_rack_yr,
        },
        index=rate.index,
    )
    return table.reorder_levels(["workload_id", "chip_id"]).sort_values(["workload_id", "usd_per_ptok"])


# ---- 3. cooling -----------------------------------------------------------------------------


def cooling_choice(inputs: DerivedInputs, usd_per_mwh: pd.Series, rack_kw: float) -> pd.DataFrame:
    """The cheapest cooling at each site of ``usd_per_mwh`` that holds racks of ``rack_kw``.

    Cost per MW of IT and year: annualised capital and fixed O&M plus the facility energy of its
    annual mean PUE in the site's weather. Columns: cooling_id, max_rack_kw, mean_pue, peak_pue
    (sizes the power beyond the grid) and water_l_per_mw_yr (litres per MW of IT and year).
    """
    scenario = inputs.scenario
    cooling = scenario.tables["cooling"]
    cooling = cooling[cooling["max_rack_kw"] >= rack_kw]
    if cooling.empty:
        raise GreedyError(f"no cooling holds the greedy's densest rack ({rack_kw:g} kW)")
    pue, wue = inputs.pue_wue
    ranked = pue.index.get_level_values("site_id").isin(usd_per_mwh.index)
    pue, wue = pue.loc[ranked, cooling.index], wue.loc[ranked, cooling.index]
    mean_pue = _weighted_mean_by_site(pue, scenario)
    capital_usd_per_mw_yr = KW_PER_MW * _annualised(
        scenario, cooling["capex_usd_per_kw_it"], cooling["life_yr"], cooling["fom_usd_per_kw_it_yr"]
    )
    usd_per_mw_yr = mean_pue.mul(usd_per_mwh, axis=0) * HOURS_PER_YEAR + capital_usd_per_mw_yr
    best = usd_per_mw_yr.idxmin(axis=1)
    water_l_per_mw_yr = _weighted_mean_by_site(wue, scenario) * HOURS_PER_YEAR * KW_PER_MW
    return pd.DataFrame(
        {
            "cooling_id": best,
            "max_rack_kw": best.map(cooling["max_rack_kw"]),
            "mean_pue": _at(mean_pue, best),
            "peak_pue": _at(pue.groupby(level="site_id").max(), best),
            "water_l_per_mw_yr": _at(water_l_per_mw_yr, best),
        }
    )


# ---- 4. fill --------------------------------------------------------------------------------


def usable_it_mw(scenario: Scenario, sites: pd.DataFrame) -> pd.Series:
    """IT load each ranked site can take: its land must also hold the firm plant that carries the
    peak facility load beyond the grid planned there, and its cooling's water must fit its limit.

    With IT load x, peak PUE p, grid g, IT land a and firm land f per MW of load, the land holds
    ``a x + f (p x - g)`` when ``p x > g``; without a firm plant the load stops at the grid.
    """
    land = scenario.tables["sites"]["land_acres"].reindex(sites.index)
    it_acres_per_mw = scenario.facility("it_acres_per_mw")
    peak, grid, firm = sites["peak_pue"], sites["grid_planned_mw"], sites["firm_acres_per_mw_load"]
    land_mw = land / it_acres_per_mw
    with_firm = (land + grid * firm) / (it_acres_per_mw + peak * firm)
    beyond_grid = pd.Series(np.where(firm.notna(), with_firm, grid / peak), index=sites.index)
    power_mw = land_mw.where(land_mw * peak <= grid, beyond_grid)
    water_limit = scenario.tables["sites"].get("water_limit_ml_per_yr", pd.Series(dtype=float)).reindex(sites.index)
    water_mw = (water_limit * LITRES_PER_ML / sites["water_l_per_mw_yr"]).fillna(np.inf)
    return np.minimum(power_mw, water_mw)


@dataclass
class _Fill:
    """Running totals while the sites are filled."""

    room_mw: dict[str, float]
    supply_racks: dict[str, float]
    rack_mw: dict[str, float]
    racks: dict[tuple[str, str], int] = field(default_factory=dict)
    assigned: dict[tuple[str, str, str], float] = field(default_factory=dict)
    delivered: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def _assigned(self, site: str, chip: str) -> float:
        return sum(x for (s, c, _), x in self.assigned.items() if (s, c) == (site, chip))

    def in_supply(self, site: str, chip: str) -> bool:
        """A rack of ``chip`` can still be had at the site: a new one, or room in a partly used one."""
        if self.supply_racks[chip] >= 1:
            return True
        return self.racks.get((site, chip), 0) - self._assigned(site, chip) > RACK_TOLERANCE

    def room_racks(self, site: str, chip: str) -> float:
        """More racks of ``chip`` the site's room and the chip's remaining supply allow (whole racks)."""
        others_mw = sum(n * self.rack_mw[c] for (s, c), n in self.racks.items() if s == site and c != chip)
        fits = math.floor((self.room_mw[site] - others_mw) / self.rack_mw[chip] + RACK_TOLERANCE)
        have = self.racks.get((site, chip), 0)
        return max(0.0, min(fits, have + self.supply_racks[chip]) - self._assigned(site, chip))

    def place(self, site: str, chip: str, region: str, workload: str, racks: float, ptok: float) -> None:
        key = (site, chip, workload)
        self.assigned[key] = self.assigned.get(key, 0.0) + racks
        self.delivered[site, region, workload] = self.delivered.get((site, region, workload), 0.0) + ptok
        whole = math.ceil(self._assigned(site, chip) - RACK_TOLERANCE)
        self.supply_racks[chip] -= whole - self.racks.get((site, chip), 0)
        self.racks[site, chip] = whole


def _demand_order(scenario: Scenario) -> pd.Series:
    """Demand in Ptok/yr, tightest latency budget first (it has the fewest sites), then largest."""
    demand = scenario.tables["demand"]["tokens_per_yr"] / TOKENS_PER_PTOK
    demand = demand[demand > 0]
    budget = demand.index.get_level_values("workload_id").map(scenario.tables["workloads"]["latency_budget_ms"])
    order = pd.DataFrame({"budget": budget.to_numpy(), "ptok": demand.to_numpy()}, index=demand.index)
    return demand.loc[order.sort_values(["budget", "ptok"], ascending=[True, False], kind="stable").index]


def _place_demand(
    fill: _Fill, sites: pd.DataFrame, chips: pd.DataFrame, demand: tuple[str, str], ptok: float, reach: list[str]
) -> float:
    """Place one (region, workload) demand at the best-ranked sites in ``reach``, each filled with
    the cheapest chip per token its cooling holds; the next chip only once that chip's supply runs
    out, the next site once the site is full. Returns the Ptok/yr left unplaced."""
    region, workload = demand
    left = ptok
    for site in reach:
        fitting = chips.loc[workload][chips.loc[workload, "rack_kw"] <= sites.loc[site, "max_rack_kw"]]
        for chip, per_rack in fitting["ptok_per_rack_yr"].items():
            if not fill.in_supply(site, chip):
                continue
            placed = min(left, fill.room_racks(site, chip) * per_rack)
            if placed > 0:
                fill.place(site, chip, region, workload, placed / per_rack, placed)
                left -= placed
            if left <= DEMAND_TOLERANCE * ptok:
                return 0.0
            if fill.in_supply(site, chip):
                break  # full for the cheapest chip it can still get: on to the next site
    return left


def _fill_sites(inputs: DerivedInputs, sites: pd.DataFrame, chips: pd.DataFrame) -> _Fill:
    """Each demand, tightest latency first, to the best-ranked site within reach until it is full."""
    scenario = inputs.scenario
    table = scenario.tables["chips"]
    supply = (table["supply_limit_chips"] // table["chips_per_rack"]).fillna(np.inf)
    fill = _Fill(sites["usable_it_mw"].to_dict(), supply.to_dict(), inputs.rack_mw)
    routes = pd.DataFrame(inputs.routes, columns=["site_id", "region_id", "workload_id"])
    routes = routes[routes["site_id"].isin(sites.index)]
    routes["rank"] = routes["site_id"].map({s: i for i, s in enumerate(sites.index)})
    reach = routes.sort_values("rank").groupby(["region_id", "workload_id"])["site_id"].agg(list).to_dict()
    for demand, ptok in _demand_order(scenario).items():
        left = _place_demand(fill, sites, chips, demand, ptok, reach.get(demand, []))
        if left > 0:
            region, workload = demand
            raise GreedyError(
                f"the greedy filled every candidate site within reach of '{region}' for '{workload}' and still has "
                f"{left:.4g} of {ptok:.4g} Ptok/yr to place (reachable: {', '.join(reach.get(demand, [])) or 'none'})"
            )
    return fill


def greedy_choice(scenario: Scenario, inputs: DerivedInputs | None = None) -> GreedyChoice:
    """The planner's spreadsheet: rank sites, pick chips and cooling, fill the sites (no solver).

    ``inputs`` are the scenario's derived inputs (computed here unless the caller holds them).
    """
    inputs = inputs if inputs is not None else DerivedInputs(scenario)
    log: list[str] = []
    sites = site_ranking(inputs)
    if sites.empty:
        raise GreedyError("no candidate site has grid or firm on-site power by the online-by year")
    best_usd_per_mwh = float(sites["usd_per_mwh"].iloc[0])
    log.append(f"sites ranked by levelised $/MWh: {_listing(sites['usd_per_mwh'])}")
    chips = chip_ranking(inputs, best_usd_per_mwh)
    workloads = _demand_order(scenario).index.get_level_values("workload_id").unique()
    missing = [w for w in workloads if w not in chips.index.get_level_values("workload_id")]
    if missing:
        raise GreedyError(f"no chip available by the online-by year serves {', '.join(missing)}")
    first = chips.loc[list(workloads)].groupby(level="workload_id").head(1)
    log += [
        f"cheapest chip for {w}: {c} at ${row['usd_per_ptok'] * TOKENS_PER_MTOK / TOKENS_PER_PTOK:.4f}/Mtok"
        for (w, c), row in first.iterrows()
    ]
    sites = sites.join(cooling_choice(inputs, sites["usd_per_mwh"], float(first["rack_kw"].max())))
    sites["usable_it_mw"] = usable_it_mw(scenario, sites)
    fill = _fill_sites(inputs, sites, chips)
    racks = pd.Series(fill.racks, dtype=int).rename_axis(["site_id", "chip_id"])
    racks = racks[racks > 0]
    built = [s for s in sites.index if s in racks.index.get_level_values("site_id")]
    delivered = pd.Series(fill.delivered, dtype=float).rename_axis(["site_id", "region_id", "workload_id"])
    log += _fill_log(scenario, sites.loc[built], racks, delivered)
    return GreedyChoice(
        site_ranking=sites,
        chip_ranking=chips,
        built=built,
        cooling=sites.loc[built, "cooling_id"].to_dict(),
        racks=racks,
        assigned_racks=pd.Series(fill.assigned, dtype=float).rename_axis(["site_id", "chip_id", "workload_id"]),
        delivered_ptok=delivered,
        log=log,
    )


def _fill_log(scenario: Scenario, built: pd.DataFrame, racks: pd.Series, delivered: pd.Series) -> list[str]:
    """One line per built site, in rank order: what went there and how full it is."""
    it_mw = _it_mw_by_site(scenario, racks)
    by_workload = delivered.groupby(level=["site_id", "workload_id"]).sum()
    lines = []
    for s, site in built.iterrows():
        chips = ", ".join(f"{n} racks of {c}" for c, n in racks.loc[s].items())
        tokens = ", ".join(f"{ptok:.3g} Ptok/yr of {w}" for w, ptok in by_workload.loc[s].items())
        lines.append(
            f"fill {s}: {chips} ({it_mw[s]:.1f} of {site['usable_it_mw']:.1f} usable MW IT, "
            f"{site['cooling_id']} cooling) serving {tokens}"
        )
    return lines


def _listing(values: pd.Series, shown: int = 5) -> str:
    head = ", ".join(f"{k} {v:.2f}" for k, v in values.head(shown).items())
    return head + (f" (+{len(values) - shown} more)" if len(values) > shown else "")


# ---- evaluation -----------------------------------------------------------------------------


def greedy_decisions(fm: FactoryModel, choice: GreedyChoice) -> list[tuple[pyo.Var, float]]:
    """Every greedy decision as (model variable, value): builds, coolings and racks (integer),
    racks per workload and deliveries (continuous); every site, chip and route, zero where unused."""
    infrastructure = fm.infrastructure
    decisions = [(var, float(s in choice.built)) for s, var in infrastructure.build.items()]
    decisions += [(var, float(choice.cooling.get(s) == k)) for (s, k), var in infrastructure.cooling.items()]
    decisions += [(var, float(choice.racks.get((s, c), 0))) for (s, c), var in fm.chips.racks.items()]
    continuous = (
        (fm.workloads.assigned_racks, choice.assigned_racks),
        (fm.applications.delivered_ptok, choice.delivered_ptok),
    )
    for var, values in continuous:
        decisions += [(data, float(values.get(index, 0.0))) for index, data in var.items()]
    return decisions


def fix_choice(fm: FactoryModel, choice: GreedyChoice) -> None:
    """Fix every greedy decision in a built model; only power capacities and dispatch stay free.

    Continuous decisions are held by their bounds, not ``fix``: a fixed variable turns its rows
    into constants, which Pyomo's compiler checks with no tolerance (a demand split over sites may
    differ from its total in the last bit); HiGHS keeps its own."""
    for var, value in greedy_decisions(fm, choice):
        if var.is_integer():
            var.fix(round(value))
        else:
            var.setlb(value)
            var.setub(value)


def _what_the_greedy_did(scenario: Scenario, choice: GreedyChoice) -> str:
    """The greedy plan and the scenario's limits it does not look at, for an error message."""
    it_mw = _it_mw_by_site(scenario, choice.racks)
    sites, limits = scenario.tables["sites"], scenario.constraints
    placed = "; ".join(
        f"{s}: {it_mw[s]:.0f} MW IT, {choice.cooling[s]} cooling, {sites.loc[s, 'land_acres']:g} acres, "
        f"grid {sites.loc[s, 'grid_capacity_mw']:g} MW from {sites.loc[s, 'grid_online_year']}"
        for s in choice.built
    )
    ignored = {
        "carbon cap": limits.carbon_cap_t_per_yr is not None,
        "capital budget": limits.capex_budget_usd is not None,
        "24/7 carbon-free share": limits.cfe_share > 0,
    }
    power = ", ".join(limits.allowed_power_techs) if limits.allowed_power_techs else "all"
    text = (
        f"the greedy placed {it_mw.sum():.0f} MW of IT ({placed}); online by {limits.online_by_year}, bridge power "
        f"{'allowed' if limits.bridge_power else 'forbidden'}, power sources: {power}"
    )
    unseen = [name for name, active in ignored.items() if active]
    return text + (f"; the greedy does not look at the {', '.join(unseen)}" if unseen else "")


def evaluate_greedy(scenario: Scenario, choice: GreedyChoice) -> GreedyResult:
    """Cost the greedy plan with the model's own accounting: its decisions fixed, power optimised.

    The tokens are fixed, so least cost is least cost per token whatever the scenario's objective.
    Raises :class:`GreedyError` when no power plan can carry what the greedy placed.
    """
    # only the built sites are modelled: the rest would be fixed unbuilt and cost nothing, and a
    # long candidate list would otherwise make this model as big as the full problem
    fm = build_model(scenario.with_sites(list(choice.built)))
    fix_choice(fm, choice)
    try:
        # the greedy plan is what is being costed: no greedy fallback inside its own costing
        result = solve(fm, scenario.solver, replace(scenario.objective, mode="serve_demand"), greedy_fallback=False)
    except (SolveError, InfeasibleConstraintException) as error:
        if isinstance(error, SolveError) and not error.infeasible:
            raise
        what = _what_the_greedy_did(scenario, choice)
        raise GreedyError(f"no power plan can operate the greedy plan: {what} ({error})") from error
    layer_musd = fm.shared.cost_by_layer_musd()
    ptok = result.delivered_ptok_per_yr
    return GreedyResult(
        usd_per_mtok=usd_per_mtok(result.cost_musd_per_yr, ptok),
        layer_usd_per_mtok={layer: usd_per_mtok(musd, ptok) for layer, musd in layer_musd.items()},
        sites_built=list(choice.built),
        it_mw=float(sum(pyo.value(var) for var in fm.infrastructure.it_capacity_mw.values())),
        fm=fm,
        result=result,
    )
