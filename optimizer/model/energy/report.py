"""What the energy layer of a solved model reports: its plants and storage, their hourly operation, and
each site's emissions and grid import."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from optimizer.constants import HOURS_PER_YEAR
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import CoreHandles, solved_values
from optimizer.model.energy.storage import StorageOperation

if TYPE_CHECKING:  # the energy package re-exports this module's report: no import cycle at run time
    from optimizer.model.energy import EnergyHandles

#: capacities at or below this (MW) are solver noise: power.csv and storage_days.csv leave them out
CAPACITY_NOISE_MW = 1e-6
POWER_COLUMNS = [
    "site_id",
    "tech_id",
    "kind",
    "capacity_mw",
    "units",
    "energy_capacity_mwh",
    "generation_mwh_per_yr",
    "capacity_factor",
    "bridge_generation_mwh_per_yr",
    "land_acres",
]
STORAGE_DAYS_COLUMNS = ["regime", "site_id", "storage_id", "day", "period", "soc_start_mwh", "energy_capacity_mwh"]


@dataclass(frozen=True)
class EnergyReport:
    """What the energy layer of a solved model reports."""

    power: pd.DataFrame
    """power.csv: one row per power plant (grid connection included) and storage built"""
    storage_days: pd.DataFrame
    """storage_days.csv: the state of charge at the start of each calendar day of every storage built"""
    dispatch: pd.DataFrame
    """the supply columns of dispatch.csv for the sites asked for, one row per (site, slice) in the order
    asked: ``site_id``, ``slice_id``, ``{tech}_mw``, ``{storage}_charge_mw``, ``{storage}_discharge_mw``,
    ``{storage}_soc_within_day_mwh``, the bridge years' ``bridge_...`` twins (plans with bridge years only)
    and ``carbon_free_mw``"""
    sites: pd.DataFrame
    """by site id: ``peak_grid_import_mw``, ``grid_wait_yr``, ``bridge_share`` and ``emissions_t_per_yr``
    (sites.csv)"""
    generation_land_acres: pd.Series
    """by site id: land the power plants and storage take, acres (the energy share of sites.csv
    ``land_used_acres``)"""


def report(
    energy: EnergyHandles, scenario: Scenario, inputs: DerivedInputs, core: CoreHandles, dispatch_sites: Sequence[str]
) -> EnergyReport:
    """The solved energy layer: power.csv, storage_days.csv, the supply columns of dispatch.csv for
    ``dispatch_sites`` (the built sites, whose hourly operation the plan shows), and each site's peak grid
    import, wait for its grid, bridge share, emissions (columns of sites.csv) and generation land."""
    sites = scenario.tables["sites"].index
    grid = solved_values(energy.generation_mw)
    grid_import = (
        grid[grid.index.get_level_values(1) == energy.sites.grid].groupby(level=0).max().reindex(sites, fill_value=0.0)
        if len(grid)
        else pd.Series(0.0, index=sites)
    )
    site_columns = pd.DataFrame(
        {
            "peak_grid_import_mw": grid_import,
            "grid_wait_yr": inputs.grid_wait_yr,
            "bridge_share": pd.Series(energy.sites.bridge_share, dtype=float).reindex(sites, fill_value=0.0),
            "emissions_t_per_yr": solved_values(energy.emissions_t),
        },
        index=sites,
    )
    site_columns.index.name = "site_id"
    return EnergyReport(
        power=_power(energy, scenario, core),
        storage_days=_storage_days(energy),
        dispatch=_dispatch(energy, scenario, inputs, core, dispatch_sites),
        sites=site_columns,
        generation_land_acres=solved_values(energy.generation_land_acres),
    )


def _power(energy: EnergyHandles, scenario: Scenario, core: CoreHandles) -> pd.DataFrame:
    """power.csv: capacity, units, yearly generation, capacity factor and land of every plant and storage built."""
    techs = scenario.tables["power_techs"]
    weights = pd.Series(core.weight_h)
    capacity = solved_values(energy.capacity_mw)
    generation = solved_values(energy.generation_mw)
    units = solved_values(energy.units).round() if len(energy.units) else pd.Series(dtype=float)
    bridge = solved_values(energy.bridge_annual_generation_mwh)
    rows = []
    for (site, tech), mw in capacity.items():
        if mw <= CAPACITY_NOISE_MW:
            continue
        mwh = sum(weights[t] * generation[site, tech, t] for t in core.slices)
        rows.append(
            {
                "site_id": site,
                "tech_id": tech,
                "kind": techs.loc[tech, "kind"],
                "capacity_mw": mw,
                "units": units.get((site, tech), float("nan")),
                "energy_capacity_mwh": float("nan"),
                "generation_mwh_per_yr": mwh,
                "capacity_factor": mwh / (mw * HOURS_PER_YEAR),
                "bridge_generation_mwh_per_yr": bridge.get((site, tech), 0.0),
                "land_acres": mw * techs.loc[tech, "land_acres_per_mw"],
            }
        )
    storage = scenario.tables["storage_techs"]
    stored = solved_values(energy.storage_energy_mwh)
    discharge = solved_values(energy.grid_years.discharge_mw)
    for (site, tech), mw in solved_values(energy.storage_power_mw).items():
        if mw <= CAPACITY_NOISE_MW:
            continue
        mwh = sum(weights[t] * discharge[site, tech, t] for t in core.slices)
        rows.append(
            {
                "site_id": site,
                "tech_id": tech,
                "kind": "storage",
                "capacity_mw": mw,
                "units": float("nan"),
                "energy_capacity_mwh": stored[site, tech],
                "generation_mwh_per_yr": mwh,
                "capacity_factor": mwh / (mw * HOURS_PER_YEAR),
                "bridge_generation_mwh_per_yr": 0.0,
                "land_acres": mw * storage.loc[tech, "land_acres_per_mw"],
            }
        )
    return pd.DataFrame(rows, columns=POWER_COLUMNS)


def _storage_days(energy: EnergyHandles) -> pd.DataFrame:
    """State of charge at the start of each calendar day, for every storage that was built, in the
    grid years and, at sites that wait for their grid, in the bridge years."""
    last_slice = energy.last_slice_of_period
    rows = []
    for regime, operation in (("grid_years", energy.grid_years), ("bridge_years", energy.bridge_years)):
        start = solved_values(operation.soc_run_start_mwh)
        within = solved_values(operation.soc_within_day_mwh)
        for s, b in sorted({(s, b) for s, b, _ in operation.soc_run_start_mwh.index_set()}):
            if (energy.storage_power_mw[s, b].value or 0.0) <= CAPACITY_NOISE_MW:
                continue
            for r, (first, length, period) in enumerate(energy.storage_runs):
                change = within[s, b, last_slice[period]]
                for j in range(length):
                    rows.append(
                        {
                            "regime": regime,
                            "site_id": s,
                            "storage_id": b,
                            "day": first + j,
                            "period": period,
                            "soc_start_mwh": start[s, b, r] + j * change,
                            "energy_capacity_mwh": energy.storage_energy_mwh[s, b].value,
                        }
                    )
    return pd.DataFrame(rows, columns=STORAGE_DAYS_COLUMNS)


def _dispatch(
    energy: EnergyHandles, scenario: Scenario, inputs: DerivedInputs, core: CoreHandles, dispatch_sites: Sequence[str]
) -> pd.DataFrame:
    """Hourly supply of each site asked for: output by source, storage flows and levels, in the grid years and
    (plans with bridge years) the bridge years, and the carbon-free supply of every slice."""
    frame = pd.DataFrame([(s, t) for s in dispatch_sites for t in core.slices], columns=["site_id", "slice_id"])
    keys = list(zip(frame["site_id"], frame["slice_id"]))
    techs, grid = list(energy.techs), energy.sites.grid
    storage_ids = sorted({b for _, b in energy.site_storage})
    generation = solved_values(energy.generation_mw)
    for tech in techs:
        frame[f"{tech}_mw"] = [generation.get((s, tech, t), 0.0) for s, t in keys]
    _storage_columns(frame, keys, energy.grid_years, storage_ids, "")
    if len(energy.bridge_generation_mw):
        bridge = solved_values(energy.bridge_generation_mw)
        for tech in techs:
            if tech != grid:
                frame[f"bridge_{tech}_mw"] = [bridge.get((s, tech, t), 0.0) for s, t in keys]
        _storage_columns(frame, keys, energy.bridge_years, storage_ids, "bridge_")
    clean = set(inputs.carbon_free_techs)
    grid_cfe = pd.Series(scenario.tables["profiles"]["grid_cfe_share"].reindex(keys).to_numpy(), index=frame.index)
    storage_net = sum(
        (frame[f"{b}_discharge_mw"] - frame[f"{b}_charge_mw"] for b in storage_ids), pd.Series(0.0, index=frame.index)
    )
    frame["carbon_free_mw"] = (
        sum((frame[f"{g}_mw"] for g in techs if g in clean), pd.Series(0.0, index=frame.index))
        + grid_cfe * frame[f"{grid}_mw"]
        + storage_net
    )
    return frame


def _storage_columns(
    frame: pd.DataFrame, keys: list[tuple[str, int]], operation: StorageOperation, storage_ids: list[str], prefix: str
) -> None:
    """Charge, discharge and the change of the level within the day of each storage, in one regime."""
    for name, component in (
        ("charge", operation.charge_mw),
        ("discharge", operation.discharge_mw),
        ("soc_within_day", operation.soc_within_day_mwh),
    ):
        values = solved_values(component)
        unit = "mwh" if name.startswith("soc") else "mw"
        for b in storage_ids:
            frame[f"{prefix}{b}_{name}_{unit}"] = [values.get((s, b, t), 0.0) for s, t in keys]
