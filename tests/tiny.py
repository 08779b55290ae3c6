"""Tiny scenarios whose optimum can be worked out by hand: one or two sites, grid power, one chip.

``write_tiny(folder, ...)`` writes every input table and a scenario YAML; keyword arguments
replace whole rows (lists of dicts) so each test states exactly what differs from the default.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml

SITE = {
    "site_id": "a",
    "name": "Site A",
    "state": "TX",
    "iso": "ERCOT",
    "egrid_subregion": "ERCT",
    "lat": 32.0,
    "lon": -97.0,
    "land_acres": 1000.0,
    "land_price_usd_per_acre": 10_000.0,
    "grid_capacity_mw": 1000.0,
    "grid_online_year": 2026,
    "grid_price_usd_per_mwh": 50.0,
    "grid_co2_kg_per_mwh": 400.0,
    "grid_cfe_share": 0.4,
    "gas_price_usd_per_mmbtu": 3.0,
}
GRID = {
    "tech_id": "grid",
    "name": "Grid",
    "kind": "grid",
    "unit_size_mw": None,
    "capex_usd_per_kw": 100.0,
    "fom_usd_per_kw_yr": 0.0,
    "vom_usd_per_mwh": 0.0,
    "heat_rate_btu_per_kwh": None,
    "fuel": "none",
    "fuel_price_usd_per_mmbtu": None,
    "co2_kg_per_mmbtu": 0.0,
    "life_yr": 40.0,
    "lead_time_yr": 0.0,
    "first_year": 2026,
    "land_acres_per_mw": 0.0,
    "availability": 1.0,
}
#: a carbon-free firm plant dearer than the grid (capex 5,000 USD/kW, 60 USD/MWh to run)
CLEAN_FIRM = {
    **GRID,
    "tech_id": "firm",
    "name": "Clean firm",
    "kind": "nuclear",
    "capex_usd_per_kw": 5000.0,
    "vom_usd_per_mwh": 60.0,
}
BATTERY = {
    "storage_id": "battery",
    "name": "Battery",
    "power_capex_usd_per_kw": 400.0,
    "energy_capex_usd_per_kwh": 300.0,
    "fom_usd_per_kw_yr": 40.0,
    "round_trip_efficiency": 0.85,
    "min_duration_h": 2.0,
    "max_duration_h": 8.0,
    "life_yr": 15.0,
    "lead_time_yr": 1.0,
    "land_acres_per_mw": 0.0,
}
CHIP = {
    "chip_id": "x",
    "name": "Chip X",
    "vendor": "V",
    "chips_per_rack": 72,
    "rack_power_kw": 100.0,
    "price_usd_per_chip": 30_000.0,
    "system_usd_per_chip": 0.0,
    "life_yr": 5.0,
    "fom_pct_per_yr": 0.0,
    "available_year": 2025,
    "supply_limit_chips": None,
}
COOLING = {
    "cooling_id": "liquid",
    "name": "Liquid",
    "max_rack_kw": 150.0,
    # free cooling in any weather: PUE = 1 + overhead + fans = 1.1, no water
    "power_overhead": 0.1,
    "fan_pump_kw_per_kw_it": 0.0,
    "free_cooling_max_drybulb_c": 60.0,
    "evaporative_max_wetbulb_c": None,
    "evaporative_l_per_kwh": 0.0,
    "evaporative_kw_per_kw_it": 0.0,
    "chiller_cop_at_35c": 4.0,
    "chiller_cop_gain_per_c": 0.0,
    "chiller_l_per_kwh": 0.0,
    "transition_band_c": 0.1,
    "capex_usd_per_kw_it": 1000.0,
    "fom_usd_per_kw_it_yr": 0.0,
    "life_yr": 15.0,
}
WORKLOAD = {
    "workload_id": "chat",
    "name": "Chat",
    "model": "M",
    "interactive": True,
    "latency_budget_ms": 100.0,
    "utilisation": 1.0,
}
REGION = {"region_id": "r", "name": "Region", "country": "US", "lat": 32.0, "lon": -97.0, "population": 1}
FACILITY = {
    "facility_capex_usd_per_kw_it": 8000.0,
    "facility_fom_usd_per_kw_it_yr": 100.0,
    "facility_life_yr": 20.0,
    "site_development_usd": 50e6,
    "site_development_life_yr": 30.0,
    "it_acres_per_mw": 1.0,
    "staff_per_mw_it": 0.0,
    "staff_cost_usd_per_yr": 0.0,
    "fibre_km_per_ms": 200.0,
    "route_factor": 1.5,
    "latency_overhead_ms": 2.0,
}
HOURS_PER_DAY = 24
HOURS_PER_YEAR = 8760
#: tokens one rack of CHIP makes in a year at full utilisation
TOKENS_PER_RACK_YR = 72 * 1000.0 * 3600 * 8760


def write_tiny(
    folder: Path,
    sites=None,
    techs=None,
    storage=None,
    chips=None,
    throughput=None,
    cooling=None,
    workloads=None,
    regions=None,
    demand=None,
    facility=None,
    temps=(20.0, 20.0),
    hourly=None,
    options=None,
    demand_growth=None,
    chip_years=None,
) -> Path:
    """Write a tiny scenario into ``folder`` and return the path of its YAML.

    Every day of the year is the same: its first half at ``temps[0]``, its second half at
    ``temps[1]`` (wet-bulb 8 C lower), no sun and no wind unless ``hourly`` gives a column as 24
    values (one day, repeated) or 8760 values. One representative day then stands for the year
    exactly, so the hand-computed optimum is the model's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sites = sites or [SITE]
    frame = pd.DataFrame(sites)
    gpd.GeoDataFrame(
        frame.drop(columns=["lat", "lon"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    ).to_file(folder / "sites.geojson", driver="GeoJSON")
    pd.DataFrame(techs or [GRID]).to_csv(folder / "power_techs.csv", index=False)
    pd.DataFrame(storage or [BATTERY]).to_csv(folder / "storage_techs.csv", index=False)
    pd.DataFrame(chips or [CHIP]).to_csv(folder / "chips.csv", index=False)
    pd.DataFrame(
        throughput or [{"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"}]
    ).to_csv(folder / "chip_throughput.csv", index=False)
    pd.DataFrame(cooling or [COOLING]).to_csv(folder / "cooling.csv", index=False)
    pd.DataFrame(workloads or [WORKLOAD]).to_csv(folder / "workloads.csv", index=False)
    pd.DataFrame(regions or [REGION]).to_csv(folder / "regions.csv", index=False)
    pd.DataFrame(
        demand or [{"region_id": "r", "workload_id": "chat", "tokens_per_yr": 100 * TOKENS_PER_RACK_YR}]
    ).to_csv(folder / "demand.csv", index=False)
    # a build-out's tables by year (rows as dicts), written only when given
    for name, rows in (("demand_growth", demand_growth), ("chip_years", chip_years)):
        if rows:
            pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    values = {**FACILITY, **(facility or {})}
    pd.DataFrame([{"parameter": k, "value": v, "unit": "-", "description": k} for k, v in values.items()]).to_csv(
        folder / "facility.csv", index=False
    )
    day_temps = np.repeat(np.asarray(temps, dtype=float), HOURS_PER_DAY // len(temps))
    columns = {
        "solar_cf": np.zeros(HOURS_PER_DAY),
        "wind_cf": np.zeros(HOURS_PER_DAY),
        "temp_c": day_temps,
        "wetbulb_c": day_temps - 8.0,
        **(hourly or {}),
    }
    year = {name: np.resize(np.asarray(values, dtype=float), HOURS_PER_YEAR) for name, values in columns.items()}
    pd.concat(
        [pd.DataFrame({"site_id": s["site_id"], "hour": np.arange(HOURS_PER_YEAR), **year}) for s in sites]
    ).to_csv(folder / "hourly.csv.gz", index=False)
    document = {
        "name": "tiny",
        "data": ".",
        "solver": {"time_limit_s": 30, "mip_gap": 1e-6},
        "time": {"representative_days": 1, "extreme_days": None},
    }
    for section, values in (options or {}).items():
        document.setdefault(section, {}).update(values)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(document))
    return path
