"""One pandera schema per input table.

Every column carries its unit in the name and a description; the checks are the rules a
planner can read back in an error message ("greater_than_or_equal_to(0)"). Cross-table rules
(unknown ids) live in :mod:`optimizer.inputs.scenario`, because a single-table schema cannot see them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.pandas import Check, Column, DataFrameSchema

from optimizer.constants import MIN_DELIVERY_TOKENS_PER_YR

NON_NEGATIVE = Check.ge(0)
POSITIVE = Check.gt(0)
FRACTION = Check.in_range(0, 1)
YEAR = Check.in_range(2000, 2100)
#: inf and -inf pass every range check written with an open end: refused in every number column
FINITE = Check(np.isfinite, element_wise=False, name="finite", error="must be a finite number")
#: spellings a boolean cell may take, read case-insensitively; anything else is an error
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
#: an asset's economic life: at least a year (shorter is a lease, not capital), at most a century
LIFE_YR = Check.in_range(1, 100)


def _col(
    dtype: type,
    description: str,
    checks: Sequence[Check] | None = None,
    nullable: bool = False,
    required: bool = True,
    default: float | None = None,
) -> Column:
    """A column that must be present (unless optional) and coercible to ``dtype``; numbers finite.

    An optional column with a ``default`` takes it where it is absent or blank (see ``fill_defaults``)."""
    checks = list(checks or [])
    if dtype in (float, int):
        checks.insert(0, FINITE)
    return Column(
        dtype,
        checks=checks,
        nullable=nullable,
        required=required,
        coerce=True,
        description=description,
        default=default,
    )


def fill_defaults(schema: DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every absent optional column that has a default added at that default (blank cells
    of such a column take it when the schema validates)."""
    absent = {name: column.default for name, column in schema.columns.items() if column.default is not None}
    return frame.assign(**{name: value for name, value in absent.items() if name not in frame.columns})


def _id(description: str) -> Column:
    return _col(str, description, checks=[Check.str_matches(r"^[A-Za-z0-9_\-\.]+$")])


SITES = DataFrameSchema(
    {
        "site_id": _id("unique site id"),
        "name": _col(str, "site name"),
        "state": _col(str, "US state, 2-letter code", [Check.str_length(2, 2)]),
        "iso": _col(str, "market / balancing area"),
        "egrid_subregion": _col(str, "EPA eGRID subregion found by spatial join"),
        "lat": _col(float, "latitude, degrees", [Check.in_range(-90, 90)]),
        "lon": _col(float, "longitude, degrees", [Check.in_range(-180, 180)]),
        "land_acres": _col(float, "land available for IT and on-site generation, acres", [POSITIVE]),
        "land_price_usd_per_acre": _col(float, "land price, USD/acre", [NON_NEGATIVE]),
        "grid_capacity_mw": _col(float, "largest grid import the interconnection allows, MW", [NON_NEGATIVE]),
        "grid_online_year": _col(int, "first year the grid connection delivers", [YEAR]),
        "grid_price_usd_per_mwh": _col(float, "grid energy price, USD/MWh", [NON_NEGATIVE, Check.le(2000)]),
        "grid_co2_kg_per_mwh": _col(float, "grid CO2 output rate, kg/MWh", [NON_NEGATIVE, Check.le(2000)]),
        "grid_cfe_share": _col(
            float, "carbon-free share of the grid's generation (nuclear, wind, solar, hydro)", [FRACTION]
        ),
        "gas_price_usd_per_mmbtu": _col(float, "delivered natural gas price, USD/MMBtu", [NON_NEGATIVE, Check.le(100)]),
        "water_limit_ml_per_yr": _col(
            float,
            "on-site water available, megalitres/yr (blank = no limit)",
            [NON_NEGATIVE],
            nullable=True,
            required=False,
        ),
        "grid_capacity_charge_usd_per_kw_yr": _col(
            float,
            "capacity charge on each kW of grid connection in the grid years, USD/kW-yr (blank = 0)",
            [NON_NEGATIVE, Check.le(1000)],
            required=False,
            default=0.0,
        ),
    },
    unique=["site_id"],
    strict=False,
    name="sites",
)

POWER_TECHS = DataFrameSchema(
    {
        "tech_id": _id("unique power technology id"),
        "name": _col(str, "technology name"),
        "kind": _col(
            str,
            "grid | solar | wind | thermal | nuclear",
            [Check.isin(["grid", "solar", "wind", "thermal", "nuclear"])],
        ),
        "unit_size_mw": _col(float, "size of one unit, MW (blank = continuous)", [POSITIVE], nullable=True),
        "capex_usd_per_kw": _col(float, "overnight capital cost, USD/kW", [NON_NEGATIVE, Check.le(50_000)]),
        "fom_usd_per_kw_yr": _col(float, "fixed O&M, USD/kW-yr", [NON_NEGATIVE]),
        "vom_usd_per_mwh": _col(float, "variable O&M, USD/MWh", [NON_NEGATIVE]),
        "heat_rate_btu_per_kwh": _col(
            float, "heat rate, Btu/kWh (blank = no fuel)", [Check.in_range(3412, 20_000)], nullable=True
        ),
        "fuel": _col(str, "none | gas | uranium", [Check.isin(["none", "gas", "uranium"])]),
        "fuel_price_usd_per_mmbtu": _col(
            float, "fuel price where not site-specific, USD/MMBtu", [NON_NEGATIVE], nullable=True
        ),
        "co2_kg_per_mmbtu": _col(float, "fuel CO2 content, kg/MMBtu", [NON_NEGATIVE]),
        "life_yr": _col(float, "economic life, years", [LIFE_YR]),
        "lead_time_yr": _col(float, "years from decision to operation", [NON_NEGATIVE]),
        "first_year": _col(int, "first year the technology can be ordered to operate", [YEAR]),
        "land_acres_per_mw": _col(float, "land footprint, acres/MW", [NON_NEGATIVE]),
        "availability": _col(float, "largest share of capacity available in any hour", [FRACTION]),
    },
    unique=["tech_id"],
    name="power_techs",
)

STORAGE_TECHS = DataFrameSchema(
    {
        "storage_id": _id("unique storage technology id"),
        "name": _col(str, "storage name"),
        "power_capex_usd_per_kw": _col(float, "power capital cost, USD/kW", [NON_NEGATIVE]),
        "energy_capex_usd_per_kwh": _col(float, "energy capital cost, USD/kWh", [NON_NEGATIVE]),
        "fom_usd_per_kw_yr": _col(float, "fixed O&M, USD/kW-yr", [NON_NEGATIVE]),
        "round_trip_efficiency": _col(float, "round-trip efficiency", [Check.gt(0), Check.le(1)]),
        "min_duration_h": _col(float, "smallest energy/power ratio, h", [POSITIVE]),
        "max_duration_h": _col(float, "largest energy/power ratio, h", [POSITIVE]),
        "life_yr": _col(float, "economic life, years", [LIFE_YR]),
        "lead_time_yr": _col(float, "years from decision to operation", [NON_NEGATIVE]),
        "land_acres_per_mw": _col(float, "land footprint, acres/MW", [NON_NEGATIVE]),
    },
    unique=["storage_id"],
    name="storage_techs",
)

CHIPS = DataFrameSchema(
    {
        "chip_id": _id("unique accelerator SKU id"),
        "name": _col(str, "SKU name"),
        "vendor": _col(str, "vendor"),
        "chips_per_rack": _col(int, "accelerators per rack", [POSITIVE]),
        "rack_power_kw": _col(
            float,
            "rack power incl. host and network, kW (megawatt-class racks are announced for 2027-28)",
            [POSITIVE, Check.le(1500)],
        ),
        "price_usd_per_chip": _col(float, "accelerator price, USD", [POSITIVE, Check.le(1_000_000)]),
        "system_usd_per_chip": _col(float, "host, network and rack share per accelerator, USD", [NON_NEGATIVE]),
        "life_yr": _col(float, "economic life, years", [LIFE_YR]),
        "fom_pct_per_yr": _col(float, "maintenance, % of capex per year", [Check.in_range(0, 100)]),
        "available_year": _col(int, "first year the SKU ships in volume", [YEAR]),
        "last_year": _col(
            float,
            "last year the SKU is sold (blank = still sold); racks bought before run out their life",
            [YEAR],
            nullable=True,
            required=False,
        ),
        "supply_limit_chips": _col(
            float,
            "most accelerators obtainable (blank = unlimited); in a build-out, per year",
            [NON_NEGATIVE],
            nullable=True,
        ),
    },
    unique=["chip_id"],
    name="chips",
)

#: chip_throughput.csv basis of throughput announced by a vendor, not measured
ANNOUNCED_BASIS = "A"

CHIP_THROUGHPUT = DataFrameSchema(
    {
        "chip_id": _id("accelerator SKU id"),
        "workload_id": _id("workload id"),
        "tokens_per_s_per_chip": _col(float, "output tokens/s per accelerator (MLPerf)", [POSITIVE, Check.le(1e6)]),
        "basis": _col(
            str,
            "S measured / D derived from measured rows / A announced (vendor figures; bought only with "
            "constraints.announced_chips)",
            [Check.isin(["S", "D", ANNOUNCED_BASIS])],
        ),
    },
    unique=["chip_id", "workload_id"],
    name="chip_throughput",
)

COOLING = DataFrameSchema(
    {
        "cooling_id": _id("unique cooling technology id"),
        "name": _col(str, "cooling name"),
        "max_rack_kw": _col(float, "densest rack the cooling can carry, kW", [POSITIVE]),
        "power_overhead": _col(float, "UPS, distribution, lighting losses per kW of IT", [Check.in_range(0, 0.5)]),
        "fan_pump_kw_per_kw_it": _col(
            float, "fans and pumps that always run, kW per kW of IT", [Check.in_range(0, 0.5)]
        ),
        "free_cooling_max_drybulb_c": _col(
            float, "dry-bulb up to which free cooling carries all heat, C", [Check.in_range(-40, 60)]
        ),
        "evaporative_max_wetbulb_c": _col(
            float,
            "wet-bulb up to which evaporation carries the rest, C (blank = no evaporative stage)",
            [Check.in_range(-40, 60)],
            nullable=True,
        ),
        "evaporative_l_per_kwh": _col(
            float, "water evaporated per kWh of IT heat in evaporative hours, L/kWh", [Check.in_range(0, 20)]
        ),
        "evaporative_kw_per_kw_it": _col(
            float, "pumps and extra fan power in evaporative hours, kW per kW of IT", [Check.in_range(0, 0.5)]
        ),
        "chiller_cop_at_35c": _col(
            float, "chiller coefficient of performance at 35 C dry-bulb", [Check.in_range(1, 20)]
        ),
        "chiller_cop_gain_per_c": _col(float, "chiller COP gained per C cooler than 35 C", [Check.in_range(0, 1)]),
        "chiller_l_per_kwh": _col(
            float, "water per kWh of IT heat in chiller hours (towers), L/kWh", [Check.in_range(0, 20)]
        ),
        "transition_band_c": _col(
            float, "width of the partial free-cooling and evaporative range, C", [Check.in_range(0.1, 20)]
        ),
        "capex_usd_per_kw_it": _col(float, "cooling plant capital cost, USD/kW of IT", [NON_NEGATIVE]),
        "fom_usd_per_kw_it_yr": _col(float, "cooling fixed O&M, USD/kW-yr of IT", [NON_NEGATIVE]),
        "life_yr": _col(float, "economic life, years", [LIFE_YR]),
    },
    unique=["cooling_id"],
    name="cooling",
)

WORKLOADS = DataFrameSchema(
    {
        "workload_id": _id("unique workload id"),
        "name": _col(str, "workload name"),
        "model": _col(str, "model served"),
        "interactive": _col(bool, "true: chips powered every slice; false: may follow cheap power"),
        "latency_budget_ms": _col(float, "largest network round trip site-region, ms", [POSITIVE]),
        "utilisation": _col(float, "share of MLPerf throughput realised in production", [Check.gt(0), Check.le(1)]),
    },
    unique=["workload_id"],
    name="workloads",
)

REGIONS = DataFrameSchema(
    {
        "region_id": _id("unique demand region id"),
        "name": _col(str, "region name"),
        "lat": _col(float, "latitude, degrees", [Check.in_range(-90, 90)]),
        "lon": _col(float, "longitude, degrees", [Check.in_range(-180, 180)]),
    },
    unique=["region_id"],
    name="regions",
)

DEMAND = DataFrameSchema(
    {
        "region_id": _id("demand region id"),
        "workload_id": _id("workload id"),
        "tokens_per_yr": _col(
            float,
            "output tokens demanded per year",
            [
                NON_NEGATIVE,
                Check.le(1e20),
                # a plan reports no delivery this small (solver noise): such a demand could never be shown met
                Check(
                    lambda tokens: (tokens == 0) | (tokens > MIN_DELIVERY_TOKENS_PER_YR),
                    error=f"0, or above {MIN_DELIVERY_TOKENS_PER_YR:g} tokens/yr (the least a plan reports)",
                ),
            ],
        ),
    },
    unique=["region_id", "workload_id"],
    name="demand",
)

FACILITY = DataFrameSchema(
    {
        "parameter": _id("parameter name"),
        "value": _col(float, "value in the stated unit", [NON_NEGATIVE]),
        "unit": _col(str, "unit"),
        "description": _col(str, "what the parameter means"),
    },
    unique=["parameter"],
    name="facility",
)

HOURLY = DataFrameSchema(
    {
        "site_id": _id("site id"),
        "hour": _col(
            int, "hour of a non-leap year, local standard time, 0 = 1 Jan 00:00-01:00", [Check.in_range(0, 8759)]
        ),
        "solar_cf": _col(float, "PV AC output per MW of AC capacity", [FRACTION]),
        "wind_cf": _col(float, "wind output per MW installed", [FRACTION]),
        "temp_c": _col(float, "ambient dry-bulb temperature, C", [Check.in_range(-60, 60)]),
        "wetbulb_c": _col(float, "ambient wet-bulb temperature, C", [Check.in_range(-60, 60)]),
        "grid_price_usd_per_mwh": _col(
            float,
            "hourly grid energy price, USD/MWh (blank = the site's annual price)",
            [Check.in_range(-1000, 10_000)],
            nullable=True,
            required=False,
        ),
        "grid_co2_kg_per_mwh": _col(
            float,
            "hourly grid CO2 rate, kg/MWh (blank = the site's annual eGRID rate)",
            [Check.in_range(0, 2000)],
            nullable=True,
            required=False,
        ),
        "grid_cfe_share": _col(
            float,
            "carbon-free share of the grid's supply in the hour (blank = the site's annual share)",
            [FRACTION],
            nullable=True,
            required=False,
        ),
        "weather_source": _col(
            str,
            "where the site's weather hours come from (measured station or synthetic)",
            nullable=True,
            required=False,
        ),
        "grid_source": _col(
            str,
            "where the site's hourly grid CO2 and carbon-free share come from",
            nullable=True,
            required=False,
        ),
    },
    unique=["site_id", "hour"],
    name="hourly",
)

#: table name -> (schema, id columns, default file name)
DEMAND_GROWTH = DataFrameSchema(
    {
        "workload_id": _id("workload id (workloads.csv)"),
        "year": _col(int, "calendar year", [YEAR]),
        "demand_index": _col(
            float,
            "the workload's demand in the year as a multiple of demand.csv (linear between stated years)",
            [NON_NEGATIVE],
        ),
    },
    unique=["workload_id", "year"],
    name="demand_growth",
)

CHIP_YEARS = DataFrameSchema(
    {
        "chip_id": _id("accelerator SKU id (chips.csv)"),
        "year": _col(int, "calendar year", [YEAR]),
        "price_index": _col(
            float, "price per chip in the year as a multiple of chips.csv price_usd_per_chip", [POSITIVE]
        ),
        "throughput_index": _col(
            float,
            "tokens/s per chip in the year as a multiple of chip_throughput.csv (software gains reach every rack)",
            [POSITIVE],
        ),
    },
    unique=["chip_id", "year"],
    name="chip_years",
)

TABLES: dict[str, tuple[DataFrameSchema, tuple[str, ...], str]] = {
    "sites": (SITES, ("site_id",), "sites.geojson"),
    "power_techs": (POWER_TECHS, ("tech_id",), "power_techs.csv"),
    "storage_techs": (STORAGE_TECHS, ("storage_id",), "storage_techs.csv"),
    "chips": (CHIPS, ("chip_id",), "chips.csv"),
    "chip_throughput": (CHIP_THROUGHPUT, ("chip_id", "workload_id"), "chip_throughput.csv"),
    "cooling": (COOLING, ("cooling_id",), "cooling.csv"),
    "workloads": (WORKLOADS, ("workload_id",), "workloads.csv"),
    "regions": (REGIONS, ("region_id",), "regions.csv"),
    "demand": (DEMAND, ("region_id", "workload_id"), "demand.csv"),
    "facility": (FACILITY, ("parameter",), "facility.csv"),
    "hourly": (HOURLY, ("site_id", "hour"), "hourly.csv.gz"),
    "demand_growth": (DEMAND_GROWTH, ("workload_id", "year"), "demand_growth.csv"),
    "chip_years": (CHIP_YEARS, ("chip_id", "year"), "chip_years.csv"),
}
#: tables a data folder may leave out (they change a build-out's years; absent, nothing changes by year)
OPTIONAL_TABLES = ("demand_growth", "chip_years")

#: parameters facility.csv must define: unit and the range a value may take
FACILITY_PARAMETERS: dict[str, tuple[str, float, float]] = {
    "facility_capex_usd_per_kw_it": ("USD/kW", 0, 100_000),
    "facility_fom_usd_per_kw_it_yr": ("USD/kW-yr", 0, 10_000),
    "facility_life_yr": ("yr", 1, 100),
    "site_development_usd": ("USD", 0, 1e10),
    "site_development_life_yr": ("yr", 1, 100),
    "it_acres_per_mw": ("acres/MW", 0.01, 100),
    "staff_per_mw_it": ("FTE/MW", 0, 100),
    "staff_cost_usd_per_yr": ("USD/yr", 0, 10_000_000),
    "fibre_km_per_ms": ("km/ms", 100, 300),
    "route_factor": ("-", 1, 10),
    "latency_overhead_ms": ("ms", 0, 1000),
    "hall_lead_time_yr": ("yr", 0, 20),
}
#: facility parameters a facility.csv written before they existed may leave out: (value, description)
FACILITY_DEFAULTS: dict[str, tuple[float, str]] = {
    "hall_lead_time_yr": (1.5, "Years from ground-breaking to an energised IT hall (build-out only)"),
}

__all__ = ["FACILITY_DEFAULTS", "FACILITY_PARAMETERS", "FALSE_WORDS", "OPTIONAL_TABLES", "TABLES", "TRUE_WORDS", "pa"]
