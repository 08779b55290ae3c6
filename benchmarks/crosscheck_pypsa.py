"""Cross-check of a small build-out's energy layer against PyPSA, an independent energy-system tool.

The build-out (``optimizer.model.buildout``) is solved whole with perfect foresight; its sites, halls,
cooling, racks and deliveries are then held at the plan's values and the energy layer alone is solved
again. What the energy layer then serves, each planning year, site and hour, is the plan's facility
load (IT load x the hour's PUE). PyPSA gets that load and, read afresh from the scenario's tables,
everything else (capex, fixed and variable O&M, fuel, carbon, lives, hourly prices and capacity
factors, the WACC), and solves the same multi-period power problem with its own formulation:

- investment periods = the planning years; snapshots = (planning year, slice of the representative
  days); snapshot weightings ``objective`` and ``generators`` = the hours each slice stands for,
  ``stores`` = 1 (the state of charge moves hour by hour);
- every (site, technology, build year) the build-out may add is an extendable component with that
  ``build_year`` and ``lifetime`` (both tools count a vintage in service in the planning years v <= y
  < v + life); PyPSA annuitises its ``overnight_cost`` itself at ``discount_rate`` = the WACC and adds
  ``fom_cost`` (fixed O&M, and the grid's capacity charge) in every period it stands;
- each period's objective weight is W_y / sum W (``optimizer.inputs.years.pv_weight``: the discount
  factors of the calendar years the planning year stands for) and its ``years`` weight the length of
  the period, so PyPSA's objective is the build-out's energy cost on the build-out's own scale
  (present value over the sum of the weights, M$/yr once divided by 1e6);
- the grid: an extendable connection (a Link per build year) from a supply bus whose generator has
  the site's ``grid_capacity_mw`` as its fixed ``p_nom`` (a limit on what stands, however many
  vintages) and the hour's price plus variable O&M and carbon as its marginal cost;
- a planning year's carbon cap (``by_year``) is a ``primary_energy`` global constraint of that
  investment period, its constant the cap times the period's years (PyPSA weighs a period's
  emissions by them), over a CO2 carrier per site's grid and per fuel-burning technology.

Two cases, each inside what both tools formulate alike:

- ``two_days``: two sites, two representative days (a sunny, mild one and a cloudy, hot one), grid
  with hourly prices, solar and gas, a carbon price and a binding carbon cap in 2032. No storage:
  the build-out carries a battery's level across the calendar days through runs of equal days
  (Kotzur et al. 2018: 182 sunny days, then 183 cloudy ones, the level bounded on the first and last
  day of each run) while PyPSA cycles it over the period's 48 snapshots, as if sunny and cloudy days
  alternated. With two distinct days those are different problems, not a mapping error (measured on
  the storage case with a sunny and a cloudy day: PyPSA 3.3e-4 cheaper, 1.4 MW less solar in 2030);
- ``storage``: one site, one representative day (every day alike: both tools cycle the same day),
  grid, solar and a four-hour battery living four years, so the 2028 vintage leaves in 2032 and is
  replaced.

Both tools solve with HiGHS (ours through its own hand-off, PyPSA through linopy). They agree when
the energy layer's present-value cost matches to ``COST_TOLERANCE`` and every capacity added per
(site, technology, build year) to ``CAPACITY_TOLERANCE`` (relative to the larger of the two, or to
1 MW or MWh below that).

Usage::

    python benchmarks/crosscheck_pypsa.py [--case two_days] [--case storage] [--out CSV]

Without ``--case`` it runs both; the CSV (default ``benchmarks/results/crosscheck_pypsa.csv``) has a
row per case and quantity: ours, PyPSA's and their relative difference, and the build and solve
times of both tools.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pypsa
from pyomo.core.expr import identify_variables
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from optimizer.constants import (  # noqa: E402
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    KG_PER_T,
    KW_PER_MW,
    MMBTU_PER_MWH_PER_BTU_PER_KWH,
    USD_PER_MUSD,
)
from optimizer.inputs.scenario import Scenario, load_scenario  # noqa: E402
from optimizer.inputs.years import planning_years, year_scenario  # noqa: E402
from optimizer.model.buildout import BuildoutModel, build_buildout  # noqa: E402
from optimizer.solver.buildout import solve_buildout  # noqa: E402
from optimizer.solver.milp import solve  # noqa: E402
from tests.tiny import BATTERY, COOLING, GRID, SITE, write_tiny  # noqa: E402

#: relative agreement asked of the energy layer's present-value cost
COST_TOLERANCE = 1e-6
#: agreement asked of each capacity added, relative to the larger of the two tools' figures
CAPACITY_TOLERANCE = 1e-6
#: below this capacity (MW or MWh) a difference counts relative to it: a zero against 1e-9 agrees
CAPACITY_FLOOR = 1.0
#: the unit of each energy capital family's capacity in a build-out
UNIT_OF_FAMILY = {"power": "MW", "storage_power": "MW", "storage_energy": "MWh"}

# ---- the cases: tiny scenarios (tests/tiny.py) over three planning years of two years each -------

PLANNING_YEARS = [2028, 2030, 2032]
END_YEAR = 2034
#: demand as a multiple of 100 racks' worth (10 MW of IT) in each planning year
DEMAND_INDEX = {2028: 1.0, 2030: 2.0, 2032: 3.0}
#: the hours of a day, 0..23
HOUR_OF_DAY = np.arange(HOURS_PER_DAY)
#: a liquid cooling that needs chillers above 25 C, so the facility load follows the hour's temperature
CHILLED_COOLING = {
    **COOLING,
    "free_cooling_max_drybulb_c": 25.0,
    "transition_band_c": 5.0,
    "chiller_cop_gain_per_c": 0.1,
}
SOLAR = {
    **GRID,
    "tech_id": "solar",
    "name": "Solar PV",
    "kind": "solar",
    "capex_usd_per_kw": 700.0,
    "fom_usd_per_kw_yr": 15.0,
    "life_yr": 30.0,
}
#: continuous (no unit size): whole units would be PyPSA's modular expansion, not mapped here
GAS = {
    **GRID,
    "tech_id": "gas",
    "name": "Gas turbine",
    "kind": "thermal",
    "capex_usd_per_kw": 1000.0,
    "fom_usd_per_kw_yr": 20.0,
    "vom_usd_per_mwh": 5.0,
    "heat_rate_btu_per_kwh": 9000.0,
    "fuel": "gas",
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "availability": 0.95,
}
#: one duration (PyPSA's StorageUnit has one) and a four-year life: the 2028 vintage leaves in 2032
BATTERY_4H = {
    **BATTERY,
    "power_capex_usd_per_kw": 150.0,
    "energy_capex_usd_per_kwh": 120.0,
    "fom_usd_per_kw_yr": 10.0,
    "min_duration_h": 4.0,
    "max_duration_h": 4.0,
    "life_yr": 4.0,
    "lead_time_yr": 0.0,
}
#: both sites' CO2 in 2032 (by_year), t/yr: about 10 % below what the carbon price alone leaves
CARBON_CAP_2032_T = 100_000.0


def _bump(centre_h: float, width_h: float) -> np.ndarray:
    return np.exp(-(((HOUR_OF_DAY - centre_h) / width_h) ** 2))


def _sun(peak_cf: float) -> np.ndarray:
    return peak_cf * np.clip(np.sin(np.pi * (HOUR_OF_DAY - 6) / 12), 0.0, None)


def _temperature_c(mean_c: float) -> np.ndarray:
    return mean_c + 6.0 * np.cos(2 * np.pi * (HOUR_OF_DAY - 15) / HOURS_PER_DAY)


#: a sunny, mild day, cheap at noon, and a cloudy, hot one, dear in the evening
SUNNY_DAY = {
    "solar_cf": _sun(0.9),
    "temp_c": _temperature_c(18.0),
    "grid_price_usd_per_mwh": 30.0 + 40.0 * _bump(19, 2.5) - 10.0 * _bump(12, 3),
}
CLOUDY_DAY = {
    "solar_cf": _sun(0.3),
    "temp_c": _temperature_c(28.0),
    "grid_price_usd_per_mwh": 40.0 + 80.0 * _bump(18, 3),
}
#: the storage case's every day: sunny and mild, with scarcity prices in the evening a battery can shave
SCARCE_EVENING_DAY = {**SUNNY_DAY, "grid_price_usd_per_mwh": 30.0 + 250.0 * _bump(19, 2.0)}


def _year_of(first_days: dict[str, np.ndarray], rest_days: dict[str, np.ndarray], first: int) -> dict[str, np.ndarray]:
    """8760 hourly values: the first ``first`` days like ``first_days``, the rest like ``rest_days``."""
    rest = DAYS_PER_YEAR - first
    year = {
        name: np.concatenate([np.tile(values, first), np.tile(rest_days[name], rest)])
        for name, values in first_days.items()
    }
    year["wetbulb_c"] = year["temp_c"] - 8.0
    return year


def _options(**sections: dict[Any, Any]) -> dict[str, dict[Any, Any]]:
    """A build-out over ``PLANNING_YEARS`` solved to a 1e-6 gap, plus the given scenario sections."""
    options: dict[str, dict[Any, Any]] = {
        "buildout": {"planning_years": PLANNING_YEARS, "end_year": END_YEAR},
        "solver": {"time_limit_s": 60, "mip_gap": 1e-6},
        "time": {"representative_days": 2, "extreme_days": None},
    }
    for section, values in sections.items():
        options.setdefault(section, {}).update(values)
    return options


def _demand_growth() -> list[dict[str, Any]]:
    return [{"workload_id": "chat", "year": year, "demand_index": index} for year, index in DEMAND_INDEX.items()]


def two_days_case(folder: Path) -> Path:
    """Two sites, two representative days, grid + solar + gas, a carbon price and a cap in 2032."""
    sites = [
        # site a: its land holds 20 MW of IT and its grid carries 16 MW
        {**SITE, "land_acres": 20.0, "grid_capacity_mw": 16.0},
        # site b, opened for 2032's growth: room and grid enough, but a dirtier grid with a capacity charge
        {
            **SITE,
            "site_id": "b",
            "name": "Site B",
            "lat": 32.5,
            "grid_capacity_mw": 40.0,
            "grid_co2_kg_per_mwh": 450.0,
            "grid_capacity_charge_usd_per_kw_yr": 60.0,
            "gas_price_usd_per_mmbtu": 4.0,
        },
    ]
    return write_tiny(
        folder,
        sites=sites,
        techs=[GRID, SOLAR, GAS],
        cooling=[CHILLED_COOLING],
        demand_growth=_demand_growth(),
        facility={"hall_lead_time_yr": 0.0},
        hourly=_year_of(SUNNY_DAY, CLOUDY_DAY, 182),
        options=_options(
            constraints={"allowed_power_techs": ["grid", "solar", "gas"], "carbon_price_usd_per_t": 40.0},
            by_year={2032: {"constraints": {"carbon_cap_t_per_yr": CARBON_CAP_2032_T}}},
        ),
    )


def storage_case(folder: Path) -> Path:
    """One site, one representative day, grid + solar + a four-hour battery replaced in 2032."""
    return write_tiny(
        folder,
        sites=[{**SITE, "grid_capacity_mw": 25.0}],
        techs=[GRID, SOLAR],
        storage=[BATTERY_4H],
        cooling=[CHILLED_COOLING],
        demand_growth=_demand_growth(),
        facility={"hall_lead_time_yr": 0.0},
        hourly=_year_of(SCARCE_EVENING_DAY, SCARCE_EVENING_DAY, DAYS_PER_YEAR),
        options=_options(time={"representative_days": 1}),
    )


#: case name -> writes the case's tables and scenario into a folder, returns the scenario YAML
CASES: dict[str, Callable[[Path], Path]] = {"two_days": two_days_case, "storage": storage_case}


# ---- our side: the build-out, then its energy layer alone with everything else held ---------------


@dataclass
class OurEnergyLayer:
    """The build-out's energy layer with the chips fixed: what it serves, what it costs, what it adds."""

    scenario: Scenario
    pv_weights: dict[int, float]
    """planning year -> W_y"""
    facility_load_mw: pd.DataFrame
    """index (planning year, slice), a column per site: the load the energy layer serves, MW"""
    slice_weight_h: pd.Series
    """hours of the year each slice stands for (the scenario's representative days)"""
    plan_energy_cost_musd_per_yr: float
    """the energy layer's share of the whole build-out's optimum (PV over the sum of the weights)"""
    energy_cost_musd_per_yr: float
    """the same once the energy layer is solved alone, everything else held"""
    added: pd.Series
    """(family, site, technology, build year) capacity added, MW or MWh"""
    build_s: float
    """building the whole build-out (every layer, every year)"""
    plan_solve_s: float
    """solving the whole build-out"""
    energy_solve_s: float
    """handing the energy layer alone to HiGHS and solving it"""


def energy_families(model: BuildoutModel) -> set[str]:
    """The capital families the energy layer declares (power, storage power and energy)."""
    return {
        name for declared in model.vintages.families.values() for name, f in declared.items() if f.layer == "energy"
    }


def energy_cost_musd_per_yr(model: BuildoutModel) -> float:
    """The energy layer's present-value cost over the sum of the weights, counted as the build-out's
    objective counts it: each year's operating terms tagged ``energy`` (fixed O&M, grid energy and
    capacity charge, fuel and variable O&M, carbon) and the annuities of the energy vintages in
    service, weighted by W_y."""
    energy = energy_families(model)
    pv_musd = 0.0
    for period in model.years:
        fm = model.blocks[period.year]
        operating_musd = sum(
            pyo.value(term.by_site[s])
            for term in fm.shared.costs
            if term.layer == "energy" and not term.capital
            for s in fm.core.sites
        )
        annuities_musd = sum(
            pyo.value(annuity)
            for (year, family, _, _), annuity in model.core.annuities_musd.items()
            if year == period.year and family in energy
        )
        pv_musd += period.pv_weight * (operating_musd + annuities_musd)
    return pv_musd / sum(period.pv_weight for period in model.years)


def _fix_at_value(var: pyo.Var) -> None:
    value = var.value or 0.0
    var.fix(round(value) if var.is_integer() else max(value, 0.0))  # a solve's -1e-11 is a zero


def hold_all_but_energy(model: BuildoutModel) -> None:
    """Fix every decision outside the energy layer at the plan's value (sites, cooling, halls, IT load,
    racks and their assignment, deliveries, unserved demand, the other layers' vintages and every
    retirement) and free the energy vintages. A row left without a free variable only restates the
    plan, to the solve's tolerances, and is dropped (as a myopic build-out drops its settled rows)."""
    for fm in model.blocks.values():
        infrastructure, applications = fm.infrastructure, fm.applications
        held = [
            infrastructure.build,
            infrastructure.cooling,
            infrastructure.it_capacity_mw,
            infrastructure.cooled_it_mw,
            fm.chips.racks,
            fm.workloads.assigned_racks,
            applications.delivered_ptok,
        ]
        if applications.unserved_ttok is not None:
            held.append(applications.unserved_ttok)
        for component in held:
            for var in component.values():
                _fix_at_value(var)
    energy = energy_families(model)
    for index, var in model.vintages.added.items():
        if index[0] in energy:
            var.unfix()
        else:
            _fix_at_value(var)
    for var in model.vintages.retired.values():
        _fix_at_value(var)
    for row in model.model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        if all(var.fixed for var in identify_variables(row.body)):
            row.deactivate()


def solve_ours(scenario: Scenario) -> OurEnergyLayer:
    """Solve the build-out with perfect foresight, then its energy layer alone with the rest held."""
    model = build_buildout(scenario)
    plan = solve_buildout(model, scenario.solver, scenario.objective)
    if plan.result.status != "optimal":
        raise RuntimeError(f"{scenario.name}: the build-out is not solved to optimality ({plan.result.status})")
    plan_energy_musd = energy_cost_musd_per_yr(model)
    loads = {
        period.year: pd.Series(
            {key: pyo.value(load) for key, load in model.blocks[period.year].infrastructure.facility_load_mw.items()}
        ).unstack(level=0)
        for period in model.years
    }
    hold_all_but_energy(model)
    alone = solve(model, scenario.solver, scenario.objective)
    if alone.status != "optimal":
        raise RuntimeError(f"{scenario.name}: the energy layer alone is not solved to optimality ({alone.status})")
    energy = energy_families(model)
    # every energy family is keyed by (site, technology): its vintages are (family, build year, site, tech)
    added = {
        (index[0], index[2], index[3], index[1]): pyo.value(var)
        for index, var in model.vintages.added.items()
        if index[0] in energy
    }
    return OurEnergyLayer(
        scenario=scenario,
        pv_weights={period.year: period.pv_weight for period in model.years},
        facility_load_mw=pd.concat(loads, names=["year", "slice_id"]),
        slice_weight_h=scenario.tables["slices"]["weight_h"].astype(float),
        plan_energy_cost_musd_per_yr=plan_energy_musd,
        energy_cost_musd_per_yr=energy_cost_musd_per_yr(model),
        # + 0.0: a solve's -0.0 reads 0.0
        added=(pd.Series(added, dtype=float) + 0.0).rename_axis(["family", "site_id", "tech_id", "build_year"]),
        build_s=model.build_s,
        plan_solve_s=plan.result.solve_s,
        energy_solve_s=alone.handoff_s + alone.solve_s,
    )


# ---- PyPSA's side: the same multi-period power problem, from the scenario's own tables -------------

#: a quantity of one planning year's scenario, by slice
SliceValues = Callable[[Scenario], pd.Series]


@dataclass
class PypsaEnergy:
    """PyPSA's optimum of the same power problem."""

    objective_musd_per_yr: float
    """its objective: present value over the sum of the weights, as the build-out counts it"""
    added: pd.Series
    """(family, site, technology, build year) capacity added, MW or MWh"""
    build_s: float
    """building the network and its linopy model"""
    solve_s: float
    """handing it to HiGHS, solving, and reading the solution back"""


def _may_build(scenario: Scenario, table: pd.DataFrame, year: int) -> list[str]:
    """The technologies of ``table`` (power or storage) that may be added in ``year``: allowed by the
    scenario, ready after their lead time from the start year and, where stated, on sale by then."""
    allowed = scenario.constraints.allowed_power_techs
    ready = scenario.finance.start_year + np.ceil(table["lead_time_yr"]) <= year
    if "first_year" in table:
        ready &= table["first_year"] <= year
    return [tech for tech in table.index[ready.to_numpy()] if allowed is None or tech in allowed]


def _fuel_usd_per_mwh(tech: pd.Series, site: pd.Series) -> float:
    if tech["fuel"] == "none" or pd.isna(tech["heat_rate_btu_per_kwh"]):
        return 0.0
    price = site["gas_price_usd_per_mmbtu"] if tech["fuel"] == "gas" else tech["fuel_price_usd_per_mmbtu"]
    return float(tech["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * price)


def _co2_t_per_mwh(tech: pd.Series) -> float:
    if pd.isna(tech["heat_rate_btu_per_kwh"]):
        return 0.0
    return float(tech["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * tech["co2_kg_per_mmbtu"] / KG_PER_T)


def _grid_tech(scenario: Scenario) -> str:
    techs = scenario.tables["power_techs"]
    return str(techs.index[techs["kind"] == "grid"][0])


def _add_grid(
    n: pypsa.Network, scenario_of: dict[int, Scenario], per_snapshot: Callable[[SliceValues], np.ndarray]
) -> None:
    """Each site's grid: a supply bus whose generator sells at the hour's price up to the connection
    limit, and an extendable connection (a Link per build year) from it into the site's bus."""
    years = list(scenario_of)
    first = scenario_of[years[0]]
    grid = _grid_tech(first)
    n.add("Carrier", grid)
    has_cap = any(one.constraints.carbon_cap_t_per_yr is not None for one in scenario_of.values())
    for site_id, site in first.tables["sites"].iterrows():
        limit_mw = pd.Series(
            {year: one.tables["sites"].loc[site_id, "grid_capacity_mw"] for year, one in scenario_of.items()}
        )
        if limit_mw.max() <= 0:
            continue
        if site["grid_online_year"] > years[0]:
            raise ValueError(f"site '{site_id}': a grid arriving after {years[0]} needs bridge years, not mapped")
        co2_kg_per_mwh = first.tables["profiles"].loc[site_id, "grid_co2_kg_per_mwh"].unique()
        if len(co2_kg_per_mwh) > 1 and has_cap:
            raise ValueError(f"site '{site_id}': a carbon cap on an hourly grid CO2 rate has no PyPSA carrier")

        def price_usd_per_mwh(one: Scenario, site_id: str = str(site_id)) -> pd.Series:
            profiles = one.tables["profiles"].loc[site_id]
            carbon_usd_per_t = one.constraints.carbon_price_usd_per_t or 0.0
            vom_usd_per_mwh = one.tables["power_techs"].loc[grid, "vom_usd_per_mwh"]
            co2_t_per_mwh = profiles["grid_co2_kg_per_mwh"] / KG_PER_T
            return profiles["grid_price_usd_per_mwh"] + vom_usd_per_mwh + carbon_usd_per_t * co2_t_per_mwh

        supply_bus = f"{site_id} grid"
        n.add("Carrier", supply_bus, co2_emissions=co2_kg_per_mwh[0] / KG_PER_T)
        n.add("Bus", supply_bus, carrier="AC")
        n.add(
            "Generator",
            f"{site_id} grid supply",
            bus=supply_bus,
            carrier=supply_bus,
            p_nom=limit_mw.max(),
            # the period's limit on what stands, however many vintages of connection stand
            p_max_pu=limit_mw.reindex(n.snapshots.get_level_values(0)).to_numpy() / limit_mw.max(),
            marginal_cost=per_snapshot(price_usd_per_mwh),
        )
        for year, one in scenario_of.items():
            if limit_mw[year] <= 0 or grid not in _may_build(one, one.tables["power_techs"], year):
                continue
            tech = one.tables["power_techs"].loc[grid]
            charge = one.tables["sites"].loc[site_id, "grid_capacity_charge_usd_per_kw_yr"]
            n.add(
                "Link",
                f"{site_id} {grid} {year}",
                bus0=supply_bus,
                bus1=site_id,
                carrier=grid,
                # the grid's capacity charge is a fixed cost of the connection standing, like its O&M
                **_vintage(one, year, tech["life_yr"], tech["capex_usd_per_kw"], tech["fom_usd_per_kw_yr"] + charge),
            )


def _vintage(one: Scenario, year: int, life_yr: float, capex_usd_per_kw: float, fom_usd_per_kw_yr: float) -> dict:
    """An extendable component's vintage attributes: built in ``year``, living ``life_yr``; PyPSA
    annuitises its overnight cost at the WACC and adds the fixed O&M in every period it stands."""
    return {
        "p_nom_extendable": True,
        "build_year": year,
        "lifetime": life_yr,
        "overnight_cost": capex_usd_per_kw * KW_PER_MW,
        "discount_rate": one.finance.wacc,
        "fom_cost": fom_usd_per_kw_yr * KW_PER_MW,
    }


def _add_plants(
    n: pypsa.Network, scenario_of: dict[int, Scenario], per_snapshot: Callable[[SliceValues], np.ndarray]
) -> None:
    """On-site plants: an extendable generator per (site, technology, build year), available at the
    hour's capacity factor (solar, wind) or at its availability, running at variable O&M + fuel +
    carbon. Capital and fixed O&M are the build year's; what varies by hour is the operating year's."""
    first = scenario_of[next(iter(scenario_of))]
    grid = _grid_tech(first)
    techs = first.tables["power_techs"].drop(index=grid)
    n.add("Carrier", list(techs.index), co2_emissions=[_co2_t_per_mwh(row) for _, row in techs.iterrows()])
    for site_id in first.tables["sites"].index:
        for g in techs.index:

            def available(one: Scenario, g: str = g, site_id: str = site_id) -> pd.Series:
                tech, profiles = one.tables["power_techs"].loc[g], one.tables["profiles"].loc[site_id]
                if tech["kind"] in ("solar", "wind"):
                    return profiles[f"{tech['kind']}_cf"]
                return pd.Series(float(tech["availability"]), index=profiles.index)

            def cost_usd_per_mwh(one: Scenario, g: str = g, site_id: str = site_id) -> pd.Series:
                tech, site = one.tables["power_techs"].loc[g], one.tables["sites"].loc[site_id]
                carbon_usd_per_t = one.constraints.carbon_price_usd_per_t or 0.0
                usd_per_mwh = (
                    tech["vom_usd_per_mwh"] + _fuel_usd_per_mwh(tech, site) + carbon_usd_per_t * _co2_t_per_mwh(tech)
                )
                return pd.Series(usd_per_mwh, index=one.tables["profiles"].loc[site_id].index)

            for year, one in scenario_of.items():
                if g not in _may_build(one, one.tables["power_techs"], year):
                    continue
                tech = one.tables["power_techs"].loc[g]
                if not pd.isna(tech["unit_size_mw"]):
                    raise ValueError(f"'{g}': whole units are not mapped (use a continuous technology)")
                n.add(
                    "Generator",
                    f"{site_id} {g} {year}",
                    bus=site_id,
                    carrier=g,
                    **_vintage(one, year, tech["life_yr"], tech["capex_usd_per_kw"], tech["fom_usd_per_kw_yr"]),
                    p_max_pu=per_snapshot(available),
                    marginal_cost=per_snapshot(cost_usd_per_mwh),
                )


def _add_storage(n: pypsa.Network, scenario_of: dict[int, Scenario]) -> None:
    """Storage: an extendable StorageUnit of one duration per (site, storage, build year), cycling
    within each period; each direction loses the square root of the round trip, as in the build-out."""
    first = scenario_of[next(iter(scenario_of))]
    n.add("Carrier", list(first.tables["storage_techs"].index))
    for site_id in first.tables["sites"].index:
        for year, one in scenario_of.items():
            for b in _may_build(one, one.tables["storage_techs"], year):
                row = one.tables["storage_techs"].loc[b]
                if row["min_duration_h"] != row["max_duration_h"]:
                    raise ValueError(f"'{b}': a range of durations is not mapped (PyPSA's StorageUnit has one)")
                duration_h = row["max_duration_h"]
                one_way_efficiency = math.sqrt(row["round_trip_efficiency"])
                n.add(
                    "StorageUnit",
                    f"{site_id} {b} {year}",
                    bus=site_id,
                    carrier=b,
                    p_nom_extendable=True,
                    build_year=year,
                    lifetime=row["life_yr"],
                    max_hours=duration_h,
                    overnight_cost=(row["power_capex_usd_per_kw"] + duration_h * row["energy_capex_usd_per_kwh"])
                    * KW_PER_MW,
                    discount_rate=one.finance.wacc,
                    fom_cost=row["fom_usd_per_kw_yr"] * KW_PER_MW,
                    efficiency_store=one_way_efficiency,
                    efficiency_dispatch=one_way_efficiency,
                    cyclic_state_of_charge_per_period=True,
                )


def build_pypsa(ours: OurEnergyLayer) -> pypsa.Network:
    """The multi-period PyPSA network of ``ours``'s scenario that serves ``ours``'s facility load."""
    periods = planning_years(ours.scenario)
    years = [period.year for period in periods]
    scenario_of = {period.year: year_scenario(ours.scenario, period) for period in periods}
    slices = ours.slice_weight_h.index
    n = pypsa.Network()
    n.set_snapshots(list(slices))
    n.investment_periods = years
    hours_of_snapshot = ours.slice_weight_h.reindex(n.snapshots.get_level_values(1)).to_numpy()
    n.snapshot_weightings["objective"] = hours_of_snapshot
    n.snapshot_weightings["generators"] = hours_of_snapshot
    n.snapshot_weightings["stores"] = 1.0  # a slice is an hour: the state of charge moves by one hour's flow
    total_weight = sum(ours.pv_weights.values())
    n.investment_period_weightings["objective"] = [ours.pv_weights[year] / total_weight for year in years]
    n.investment_period_weightings["years"] = [period.years for period in periods]

    def per_snapshot(values: SliceValues) -> np.ndarray:
        """A quantity of each planning year's slices (from that year's scenario), along the snapshots."""
        return np.concatenate([values(scenario_of[year]).reindex(slices).to_numpy(dtype=float) for year in years])

    n.add("Carrier", "AC")
    for site_id in ours.scenario.tables["sites"].index:
        n.add("Bus", site_id, carrier="AC")
        n.add(
            "Load",
            f"{site_id} facility",
            bus=site_id,
            p_set=ours.facility_load_mw[site_id].reindex(n.snapshots).to_numpy(),
        )
    _add_grid(n, scenario_of, per_snapshot)
    _add_plants(n, scenario_of, per_snapshot)
    _add_storage(n, scenario_of)
    for period in periods:
        cap_t_per_yr = scenario_of[period.year].constraints.carbon_cap_t_per_yr
        if cap_t_per_yr is not None:
            n.add(
                "GlobalConstraint",
                f"carbon cap {period.year}",
                type="primary_energy",
                carrier_attribute="co2_emissions",
                sense="<=",
                constant=cap_t_per_yr * period.years,
                investment_period=period.year,
            )
    return n


def solve_pypsa(ours: OurEnergyLayer) -> PypsaEnergy:
    """Build PyPSA's network of ``ours`` and solve it with HiGHS through linopy (one thread)."""
    # nothing is fetched from the network (PyPSA may look for a newer release when it reads a network);
    # pandas 3's string columns are kept as PyPSA 1.x keeps them, explicitly so that it does not warn
    with pypsa.option_context("general.allow_network_requests", False, "api.legacy_string_dtype", True):
        started = time.perf_counter()
        n = build_pypsa(ours)
        # no capacity stands before the horizon, so there is no objective constant to carry
        n.optimize.create_model(multi_investment_periods=True, include_objective_constant=False)
        built = time.perf_counter()
        status, condition = n.optimize.solve_model(
            solver_name="highs", solver_options={"threads": 1}, log_to_console=False
        )
        solved = time.perf_counter()
    if status != "ok" or n.objective is None:
        raise RuntimeError(f"{ours.scenario.name}: PyPSA did not solve ({status}, {condition})")
    added = {}
    generators, links = n.generators, n.links
    for _, row in generators[generators["p_nom_extendable"]].iterrows():
        added["power", row["bus"], row["carrier"], int(row["build_year"])] = row["p_nom_opt"]
    for _, row in links[links["p_nom_extendable"]].iterrows():
        added["power", row["bus1"], row["carrier"], int(row["build_year"])] = row["p_nom_opt"]
    for _, row in n.storage_units.iterrows():
        key = (row["bus"], row["carrier"], int(row["build_year"]))
        added[("storage_power", *key)] = row["p_nom_opt"]
        added[("storage_energy", *key)] = row["p_nom_opt"] * row["max_hours"]
    return PypsaEnergy(
        objective_musd_per_yr=n.objective / USD_PER_MUSD,
        added=pd.Series(added, dtype=float).rename_axis(["family", "site_id", "tech_id", "build_year"]),
        build_s=built - started,
        solve_s=solved - built,
    )


# ---- the comparison ------------------------------------------------------------------------------


def relative_difference(ours: float, theirs: float, floor: float = 0.0) -> float:
    """|ours - theirs| relative to the larger of the two, or to ``floor`` where both are smaller."""
    scale = max(abs(ours), abs(theirs), floor)
    return abs(ours - theirs) / scale if scale > 0 else 0.0


def _capacity_label(family: str, site: str, tech: str, build_year: int) -> str:
    """``a battery added 2028`` (its power), ``a battery energy added 2028``, ``a grid added 2030``."""
    return f"{site} {tech}{' energy' if family == 'storage_energy' else ''} added {build_year}"


def compare(case: str, ours: OurEnergyLayer, theirs: PypsaEnergy) -> pd.DataFrame:
    """A row per quantity: ours, PyPSA's, their relative difference and the tolerance it must meet
    (none for times). Every (family, site, technology, build year) either tool may add is a row."""
    pypsa_cost_musd_per_yr = theirs.objective_musd_per_yr
    # quantity, unit, ours, PyPSA's, tolerance, floor of the relative difference
    rows: list[tuple[str, str, float, float, float, float]] = [
        ("PV cost, energy alone", "M$/yr", ours.energy_cost_musd_per_yr, pypsa_cost_musd_per_yr, COST_TOLERANCE, 0.0),
        (
            "PV cost, energy in plan",
            "M$/yr",
            ours.plan_energy_cost_musd_per_yr,
            pypsa_cost_musd_per_yr,
            COST_TOLERANCE,
            0.0,
        ),
    ]
    added = pd.concat({"ours": ours.added, "pypsa": theirs.added}, axis=1).fillna(0.0)
    added = added.sort_index(level=["build_year", "site_id", "tech_id", "family"])
    for (family, site, tech, build_year), row in added.iterrows():
        label = _capacity_label(family, site, tech, build_year)
        unit = UNIT_OF_FAMILY[family]
        rows.append((label, unit, row["ours"], row["pypsa"], CAPACITY_TOLERANCE, CAPACITY_FLOOR))
    frame = pd.DataFrame(
        [
            (quantity, unit, value, other, relative_difference(value, other, floor), tolerance)
            for quantity, unit, value, other, tolerance, floor in rows
        ],
        columns=["quantity", "unit", "ours", "pypsa", "relative_difference", "tolerance"],
    )
    times = pd.DataFrame(
        [
            ("build time", "s", ours.build_s, theirs.build_s),
            ("solve time, energy layer", "s", ours.energy_solve_s, theirs.solve_s),
            ("solve time, whole build-out", "s", ours.plan_solve_s, math.nan),
        ],
        columns=["quantity", "unit", "ours", "pypsa"],
    )
    frame = pd.concat([frame, times], ignore_index=True)
    frame.insert(0, "case", case)
    return frame


def crosscheck(case: str, folder: Path) -> pd.DataFrame:
    """Write ``case`` into ``folder``, solve it with both tools and compare (see :func:`compare`)."""
    scenario = load_scenario(CASES[case](folder))
    ours = solve_ours(scenario)
    return compare(case, ours, solve_pypsa(ours))


def disagreements(rows: pd.DataFrame) -> list[str]:
    """The compared quantities whose relative difference exceeds their tolerance, one line each."""
    checked = rows[rows["tolerance"].notna()]
    bad = checked[~(checked["relative_difference"] <= checked["tolerance"])]
    return [
        f"{row.case}: {row.quantity}: ours {row.ours:.9g} {row.unit}, PyPSA {row.pypsa:.9g} "
        f"(relative difference {row.relative_difference:.1e} > {row.tolerance:.0e})"
        for row in bad.itertuples()
    ]


def _shown(value: float, digits: int) -> str:
    """``value`` to ``digits`` decimals, a solve's -1e-12 shown as 0; blank for no value."""
    return "" if math.isnan(value) else f"{round(value, digits) + 0.0:.{digits}f}"


def _table(rows: pd.DataFrame, case: str) -> Table:
    table = Table(title=f"build-out energy layer, chips fixed: ours and PyPSA ({case})")
    table.add_column("quantity", no_wrap=True)
    for label in ("ours", "PyPSA", "rel. diff.", "agrees"):
        table.add_column(label, justify="right")
    for row in rows.itertuples():
        compared = not math.isnan(row.tolerance)
        digits = 4 if compared else 2
        table.add_row(
            f"{row.quantity}, {row.unit}",
            _shown(row.ours, digits),
            _shown(row.pypsa, digits),
            f"{row.relative_difference:.1e}" if compared else "",
            ("yes" if row.relative_difference <= row.tolerance else "NO") if compared else "",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES), help="a case to run (default: all)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "crosscheck_pypsa.csv")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # before PyPSA's first Network sets the root logger to INFO
    console = Console()
    frames = []
    for case in args.case or list(CASES):
        with tempfile.TemporaryDirectory() as folder, console.status(f"{case}: the build-out, then PyPSA"):
            rows = crosscheck(case, Path(folder))
        console.print(_table(rows, case))
        frames.append(rows)
    results = pd.concat(frames, ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    console.print(f"written {args.out}")
    problems = disagreements(results)
    for line in problems:
        console.print(f"[red]{line}[/red]")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
