"""Numerics of a compiled model: coefficient ranges by constraint and by variable family.

A simplex code such as HiGHS is reliable when the matrix, the costs, the bounds and the right-hand
sides each stay within a few orders of magnitude: its feasibility tolerance is absolute (1e-7), so a
coefficient of 1e-9 is lost in it and one of 1e9 turns rounding into violations. The model's units
keep the default data inside ``DOCUMENTED_RANGE``: power in MW, energy in MWh, money in M$ (cost
rows) and tokens in Ptok (1e15), so a site's yearly cost is ~1e2, its tokens ~1e1 and an hour's load
~1e2. ``aifactory stats SCENARIO`` prints the ranges; a solve warns, naming the constraint family
and the input tables behind it, when a scenario's data push a family outside the documented range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: magnitudes of non-zero entries (absolute values) the unit scaling keeps the default scenarios in
DOCUMENTED_RANGE = {
    "matrix": (1e-4, 1e5),
    "cost": (1e-6, 1e3),
    "bound": (1e-3, 1e7),
    "rhs": (1e-3, 1e7),
}
#: input tables whose values end up in each constraint or variable family (by Pyomo name)
FAMILY_TABLES = {
    "generation_within_available_capacity": "hourly.csv.gz (solar_cf, wind_cf), power_techs.csv (availability)",
    "bridge_within_capacity": "hourly.csv.gz (solar_cf, wind_cf), power_techs.csv (availability)",
    "capacity_in_units": "power_techs.csv (unit_size_mw)",
    "storage_duration_min": "storage_techs.csv (min_duration_h)",
    "storage_duration_max": "storage_techs.csv (max_duration_h)",
    "state_of_charge_within_day": "storage_techs.csv (round_trip_efficiency)",
    "balance_power_mw": "cooling.csv and hourly.csv.gz (PUE from temperatures)",
    "balance_bridge_power_mw": "cooling.csv and hourly.csv.gz (PUE from temperatures)",
    "balance_it_capacity_mw": "chips.csv (rack_power_kw)",
    "balance_racks": "chips.csv (chips_per_rack)",
    "balance_tokens_ptok": "chip_throughput.csv (tokens_per_s_per_chip), workloads.csv (utilisation)",
    "balance_land_acres": "sites.geojson (land_acres), power_techs.csv (land_acres_per_mw), facility.csv (it_acres_per_mw)",
    "it_capacity_needs_cooling": "sites.geojson (land_acres), facility.csv (it_acres_per_mw)",
    "demand_served": "demand.csv (tokens_per_yr)",
    "demand_ceiling": "demand.csv (tokens_per_yr)",
    "minimum_delivery": "demand.csv (tokens_per_yr)",
    "chip_supply_limit": "chips.csv (supply_limit_chips)",
    "water_limit": "sites.geojson (water_limit_ml_per_yr), cooling.csv (water use)",
    "carbon_cap": "scenario constraints.carbon_cap_t_per_yr, sites.geojson (grid_co2_kg_per_mwh), power_techs.csv",
    "capex_budget": "scenario constraints.capex_budget_usd, chips.csv and power_techs.csv (capex)",
    "carbon_free_share": "scenario constraints.cfe_share, sites.geojson (grid_cfe_share)",
    "capacity_mw": "sites.geojson (grid_capacity_mw, land_acres), power_techs.csv (land_acres_per_mw)",
    "racks": "sites.geojson (land_acres), chips.csv (rack_power_kw)",
    "delivered_ptok": "demand.csv (tokens_per_yr)",
    "build": "sites.geojson (land_acres, site costs)",
    "cooling": "sites.geojson (land_acres) through the IT limit, cooling.csv",
    "assigned_racks": "chip_throughput.csv (tokens_per_s_per_chip), chips.csv (rack_power_kw)",
    "storage_power_mw": "storage_techs.csv (durations, land_acres_per_mw)",
    "generation_mw": "hourly.csv.gz, power_techs.csv (fuel and O&M costs)",
    "objective_cost": "every cost column (prices, capex, O&M, fuel)",
}


def family_tables(family: str) -> str:
    """Input tables behind a family; a bridge-year family has the same tables as its grid-year one."""
    return FAMILY_TABLES.get(family.removeprefix("bridge."), "model structure (no input values)")


@dataclass
class ModelStats:
    rows: pd.DataFrame  # one per constraint family: count, matrix and rhs magnitudes
    columns: pd.DataFrame  # one per variable family: count, matrix, bound and cost magnitudes
    overall: pd.DataFrame  # one per quantity (matrix, cost, bound, rhs): min and max |value|, in range?

    def outside_range(self) -> list[str]:
        """Families with a magnitude outside the documented range, with their input tables."""
        out = []
        for kind, frame, quantities in (("constraint", self.rows, ("matrix", "rhs")),
                                        ("variable", self.columns, ("bound", "cost"))):
            for family, row in frame.iterrows():
                for quantity in quantities:
                    low, high = DOCUMENTED_RANGE[quantity]
                    smallest, largest = row[f"{quantity}_min"], row[f"{quantity}_max"]
                    if (np.isfinite(smallest) and smallest < low) or (np.isfinite(largest) and largest > high):
                        out.append(f"{kind} family '{family}': {quantity} values {smallest:.2g} .. {largest:.2g} "
                                   f"outside {low:g} .. {high:g} (from {family_tables(family)})")
        return out


def _magnitudes(values: np.ndarray, groups: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Smallest and largest non-zero |value| of each group (NaN where a group has none)."""
    frame = pd.DataFrame({"group": groups, "abs": np.abs(values)})
    frame = frame[(frame["abs"] > 0) & np.isfinite(frame["abs"])]
    summary = frame.groupby("group")["abs"].agg(["min", "max"])
    return summary.reindex(range(len(names))).set_axis(names)


def model_stats(cm) -> ModelStats:
    """Coefficient ranges of a :class:`optimizer.solve.milp.CompiledModel` by family."""
    lp = cm.highs.getLp()
    starts = np.asarray(lp.a_matrix_.start_)
    row_of_entry = np.asarray(lp.a_matrix_.index_)
    values = np.asarray(lp.a_matrix_.value_)
    column_of_entry = np.repeat(np.arange(lp.num_col_), np.diff(starts))

    row_names = sorted({data.parent_component().name for data in cm.row_index})
    row_number = {name: n for n, name in enumerate(row_names)}
    row_family = np.empty(lp.num_row_, dtype=np.int64)
    for data, row in cm.row_index.items():
        row_family[row] = row_number[data.parent_component().name]
    column_names = sorted({var.parent_component().name for var in cm.columns})
    column_number = {name: n for n, name in enumerate(column_names)}
    column_family = np.fromiter((column_number[var.parent_component().name] for var in cm.columns), dtype=np.int64,
                                count=len(cm.columns))

    lower, upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    rhs = np.where(np.isfinite(lower), lower, upper)
    rows = pd.concat([
        pd.Series(np.bincount(row_family, minlength=len(row_names)), index=row_names, name="count"),
        _magnitudes(values, row_family[row_of_entry], row_names).add_prefix("matrix_"),
        _magnitudes(rhs, row_family, row_names).add_prefix("rhs_"),
    ], axis=1)
    bounds = np.concatenate([np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)])
    columns = pd.concat([
        pd.Series(np.bincount(column_family, minlength=len(column_names)), index=column_names, name="count"),
        _magnitudes(values, column_family[column_of_entry], column_names).add_prefix("matrix_"),
        _magnitudes(bounds, np.concatenate([column_family, column_family]), column_names).add_prefix("bound_"),
        _magnitudes(cm.cost, column_family, column_names).add_prefix("cost_"),
    ], axis=1)
    overall = []
    for quantity, frame in (("matrix", rows), ("rhs", rows), ("bound", columns), ("cost", columns)):
        smallest, largest = frame[f"{quantity}_min"].min(), frame[f"{quantity}_max"].max()
        low, high = DOCUMENTED_RANGE[quantity]
        overall.append({"quantity": quantity, "min_abs": smallest, "max_abs": largest, "documented_min": low,
                        "documented_max": high, "within": bool(smallest >= low and largest <= high)})
    return ModelStats(rows.rename_axis("family"), columns.rename_axis("family"),
                      pd.DataFrame(overall).set_index("quantity"))
