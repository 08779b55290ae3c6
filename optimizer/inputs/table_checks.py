"""Checks of a scenario's tables taken together, after each has passed its own schema: ids that refer
to other tables, rows and hours that must be there, coordinates that must be plausible (errors), and
values that look like another unit (warnings)."""

from __future__ import annotations

import pandas as pd

from optimizer.constants import HOURS_PER_YEAR
from optimizer.inputs.errors import ScenarioError, nearest_hint
from optimizer.inputs.geo import regions_far_from_sites, sites_outside_their_state, us_state_outlines
from optimizer.inputs.schemas import FACILITY_DEFAULTS, FACILITY_PARAMETERS

#: tables without which there is nothing to plan (demand may be empty: a plan of nothing)
REQUIRED_ROWS = ("sites", "power_techs", "chips", "chip_throughput", "cooling", "workloads", "regions", "facility")


def _unknown_ids(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> None:
    """Every id a table refers to must exist in the table that defines it."""
    references = [
        ("chip_throughput", "chip_id", "chips"),
        ("chip_throughput", "workload_id", "workloads"),
        ("demand", "region_id", "regions"),
        ("demand", "workload_id", "workloads"),
        ("hourly", "site_id", "sites"),
        ("demand_growth", "workload_id", "workloads"),
        ("chip_years", "chip_id", "chips"),
    ]
    for table, column, owner in references:
        known = set(tables[owner].index)
        values = tables[table].index.get_level_values(column)
        for row, value in enumerate(values):
            if value not in known:
                raise ScenarioError(
                    f"{files[table]}: row {row + 1}, column '{column}': unknown id '{value}' "
                    f"(not in {owner}).{nearest_hint(str(value), map(str, known))}"
                )


#: (table, column, low, high, hint below low, hint above high): values outside [low, high] are legal
#: but typical of another unit; a zero is never suspicious (no grid CO2, no demand)
UNIT_HINTS = (
    (
        "sites",
        "grid_price_usd_per_mwh",
        5.0,
        500.0,
        "a price in $/kWh? ($/MWh = $/kWh x 1000)",
        "a price in cents/kWh x 100 or $/GWh?",
    ),
    (
        "sites",
        "grid_co2_kg_per_mwh",
        1.0,
        1500.0,
        "a rate in t/MWh? (kg/MWh = t/MWh x 1000)",
        "a rate in lb/MWh? (kg = lb / 2.2046)",
    ),
    ("sites", "gas_price_usd_per_mmbtu", 0.5, 40.0, "a price in $/therm x 0.1?", "a price in $/MWh or $/Mcf x 10?"),
    ("sites", "land_acres", 1.0, 100_000.0, "an area in km2 or square miles?", "an area in m2 or ft2?"),
    ("chips", "price_usd_per_chip", 1_000.0, 200_000.0, "a price in thousands of USD?", "a price per server or rack?"),
    ("chips", "rack_power_kw", 2.0, 1200.0, "a power in MW?", "a power in W?"),
    ("power_techs", "capex_usd_per_kw", 10.0, 30_000.0, "a cost in $/W? ($/kW = $/W x 1000)", "a cost in $/MW?"),
    ("demand", "tokens_per_yr", 1e9, 1e19, "tokens per second, or billions of tokens?", "a total over many years?"),
    (
        "chip_throughput",
        "tokens_per_s_per_chip",
        1.0,
        100_000.0,
        "tokens per second per rack divided twice?",
        "tokens per second per server or rack, not per accelerator?",
    ),
)


def unit_warnings(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> list[str]:
    """Values that pass the schemas but look like a different unit, one line each (file, row, column)."""
    warnings = []
    for table, column, low, high, below, above in UNIT_HINTS:
        values = tables[table][column]
        for key, value in values[(values > 0) & ((values < low) | (values > high))].items():
            row = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
            hint = below if value < low else above
            warnings.append(
                f"{files[table]}: row '{row}', column '{column}': {value:g} is outside the usual "
                f"{low:g} .. {high:g}; {hint}"
            )
    return warnings


def with_facility_defaults(facility: pd.DataFrame) -> pd.DataFrame:
    """facility.csv with each parameter of ``FACILITY_DEFAULTS`` it leaves out added at its default."""
    absent = {name: value for name, value in FACILITY_DEFAULTS.items() if name not in facility.index}
    if not absent:
        return facility
    unit = {name: FACILITY_PARAMETERS[name][0] for name in absent}
    rows = pd.DataFrame(
        {
            "value": [value for value, _ in absent.values()],
            "unit": list(unit.values()),
            "description": [description for _, description in absent.values()],
        },
        index=pd.Index(list(absent), name=facility.index.name),
    )
    return pd.concat([facility, rows.reindex(columns=facility.columns)])


def check_consistency(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> None:
    """Raise ScenarioError unless the tables fit together: known ids, required rows, facility parameters in
    range, every hour of every site, storage durations in order, one grid, plausible coordinates."""
    _unknown_ids(tables, files)
    for table in REQUIRED_ROWS:
        if tables[table].empty:
            raise ScenarioError(f"{files[table]}: the table has no rows; the model needs at least one")
    facility = tables["facility"]["value"]
    missing = set(FACILITY_PARAMETERS) - set(facility.index)
    if missing:
        raise ScenarioError(f"{files['facility']}: missing parameters {sorted(missing)}")
    for name, (unit, low, high) in FACILITY_PARAMETERS.items():
        value = facility[name]
        if not low <= value <= high:
            row = facility.index.get_loc(name) + 1
            raise ScenarioError(
                f"{files['facility']}: row {row} ({name}), column 'value': {value:g} {unit} is "
                f"outside {low:g} .. {high:g}"
            )
    hours = tables["hourly"].groupby(level="site_id").size().reindex(tables["sites"].index, fill_value=0)
    short = hours[hours != HOURS_PER_YEAR]
    if len(short):
        raise ScenarioError(
            f"{files['hourly']}: site '{short.index[0]}' has {short.iloc[0]} hours; every site needs hours 0..8759 "
            f"({int(HOURS_PER_YEAR)} rows)"
        )
    storage = tables["storage_techs"]
    bad = storage.index[storage["min_duration_h"] > storage["max_duration_h"]]
    if len(bad):
        raise ScenarioError(f"{files['storage_techs']}: row '{bad[0]}': min_duration_h exceeds max_duration_h")
    grid_rows = (tables["power_techs"]["kind"] == "grid").sum()
    if grid_rows != 1:
        raise ScenarioError(
            f"{files['power_techs']}: exactly one technology of kind 'grid' is needed, found {grid_rows}"
        )
    _plausible_coordinates(tables, files)


def _plausible_coordinates(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> None:
    """Sites inside the state they name, regions within reach of the candidates: swapped latitude
    and longitude pass the range checks but would serve New York from the Indian Ocean."""
    problems = [f"{files['sites']}: {line}" for line in sites_outside_their_state(tables["sites"])]
    problems += [f"{files['regions']}: {line}" for line in regions_far_from_sites(tables["sites"], tables["regions"])]
    if problems:
        raise ScenarioError("\n".join(problems))


def unknown_states(sites: pd.DataFrame, file: str) -> list[str]:
    """Sites naming a code that is not a US state: a warning, their coordinates go unchecked."""
    known = us_state_outlines()
    return [
        f"{file}: row '{site}', column 'state': '{state}' is not a US state code; its coordinates are not checked"
        for site, state in sites["state"].items()
        if state not in known
    ]
