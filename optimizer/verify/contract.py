"""The data contract of a plan folder: its files, every column of every table and what it holds, the
columns only held to their form, and the verifier's tolerances and limits.

The files and columns are declared once, in the output contract (:mod:`optimizer.contract`, CSV data
the plan writer and the reference docs/PLAN_COLUMNS.md read too); this module derives the verifier's
views of it. The contract is data below every layer: reading it loads none of the model's code.
"""

from __future__ import annotations

from optimizer import contract
from optimizer.constants import HOURS_PER_YEAR
from optimizer.contract import CARBON_PRICE_ITEM, DISPATCH_ITEMS, FUEL_AND_VOM_ITEM, GRID_ENERGY_ITEM, NUMBER

RTOL = 1e-6
ATOL = 1e-6
#: costs are compared to a tenth of a cent, emissions to a kilogram
COST_ATOL_USD = 1e-3
EMISSIONS_ATOL_T = 1e-3
PLAN_TABLES = contract.PLAN_TABLES
#: the model's time, derived from the hourly inputs when the scenario loaded, copied with it
DERIVED_TABLES = contract.SCENARIO_TABLES
SCENARIO_YAML = "scenario/scenario.yaml"
#: every file the verifier reads or that the data contract promises, relative to the plan folder
PLAN_FILES = (
    *(f"{name}.csv" for name in PLAN_TABLES),
    "sites.geojson",
    SCENARIO_YAML,
    *(f"{contract.SCENARIO_FOLDER}{name}.csv" for name in DERIVED_TABLES),
)
#: columns the verifier indexes tables by; without them no check can run
KEY_COLUMNS = {
    "sites.csv": ("site_id", "built", "cooling_id"),
    "power.csv": ("site_id", "tech_id", "kind"),
    "dispatch.csv": ("site_id", "slice_id"),
    "scenario/slices.csv": ("slice_id", "period", "hour", "weight_h"),
    "scenario/profiles.csv": ("site_id", "slice_id"),
    "scenario/days.csv": ("day", "period"),
}
#: quantities of the hourly table and of profiles.csv, with their units (the profiles.csv columns the
#: aggregation error check re-measures); the grid ones fall back to the site's annual value
HOURLY_QUANTITIES = {
    c.name: c.unit for c in contract.columns("scenario/profiles.csv") if "aggregation error" in c.checked_by
}
ANNUAL_FALLBACK = ("grid_price_usd_per_mwh", "grid_co2_kg_per_mwh", "grid_cfe_share")
#: the quantities whose mean RMSE summary.csv reports (its columns "aggregation_rmse_<quantity>")
SUMMARY_RMSE = tuple(
    c.name.removeprefix("aggregation_rmse_")
    for c in contract.columns("summary.csv")
    if c.name.startswith("aggregation_rmse_")
)
LAYERS = contract.LAYERS
MAX_MESSAGES_PER_CHECK = 5
#: allocation.csv leaves out assignments of at most this many racks (its export threshold)
ALLOCATION_EXPORT_RACKS = 1e-6
#: cooling: chillers are rated at this dry-bulb and never do worse than this COP
CHILLER_RATING_TEMP_C = 35.0
MIN_CHILLER_COP = 1.5
#: storage regimes: grid years (columns "<b>_...") and bridge years (columns "bridge_<b>_...")
REGIMES = {"grid_years": "", "bridge_years": "bridge_"}
#: dispatch columns of each storage technology, after its id (the contract's patterns "{storage}_<flow>")
STORAGE_FLOWS = tuple(
    c.name.removeprefix("{storage}_") for c in contract.columns("dispatch.csv") if c.name.startswith("{storage}_")
)
#: columns that say where a row is, and how a location names them
LOCATION_COLUMNS = {
    "site_id": "site {}",
    "chip_id": "chip {}",
    "tech_id": "{}",
    "storage_id": "{}",
    "regime": "{}",
    "region_id": "region {}",
    "workload_id": "workload {}",
    "item": "{}",
    "quantity": "{}",
    "slice_id": "slice {}",
    "day": "day {}",
    "when": "{}",
}

#: the full-year re-check (optimizer/outputs/fullyear.py): the design dispatched over all 8,760 hours; the
#: sites.csv columns the full-year check recomputes, the unserved energy last
FULL_YEAR_SITE_COLUMNS = tuple(c.name for c in contract.columns("sites.csv") if "full year" in c.checked_by)
assert FULL_YEAR_SITE_COLUMNS[-1] == "full_year_unserved_mwh_per_yr", FULL_YEAR_SITE_COLUMNS
#: cost items of the energy layer the full year redispatches (every other item follows the fixed design)
FULL_YEAR_ITEMS = DISPATCH_ITEMS
assert set(FULL_YEAR_ITEMS) == {GRID_ENERGY_ITEM, FUEL_AND_VOM_ITEM, CARBON_PRICE_ITEM}, FULL_YEAR_ITEMS
#: flows at or below this are solver noise in the full-year dispatch, and so much energy over a year
FULL_YEAR_NOISE_MW = 1e-6
FULL_YEAR_NOISE_MWH = FULL_YEAR_NOISE_MW * HOURS_PER_YEAR
#: power sources whose output follows the hour's capacity factor (the hourly column "<kind>_cf")
VARIABLE_KINDS = ("solar", "wind")
#: the data contract: every column of every table the verifier reads and what it holds. A column
#: that is not here (nor one of the dispatch columns the scenario's technologies name, the contract's
#: patterns) fails the "values" check: the verifier cannot vouch for what it does not know. Each column
#: is recomputed or cross-checked by some check, except the few of DESCRIPTIVE_COLUMNS.
PLAN_COLUMNS: dict[str, dict[str, str]] = {
    file: {c.name: c.kind for c in contract.columns(file) if not c.is_pattern} for file in contract.FILES
}
#: the only columns no check recomputes, and why: most describe how the solve ran, not the plan.
#: Each is still held to its form (a finite number, a whole count, a known word) and to the figures
#: it must agree with.
DESCRIPTIVE_COLUMNS = {(c.file, c.name): c.descriptive_reason for c in contract.COLUMNS if c.descriptive_reason}
#: numeric columns that may be blank, and when; elsewhere a blank (like inf, always) is a violation
BLANK_ALLOWED = {(c.file, c.name): c.blank_when for c in contract.COLUMNS if c.kind == NUMBER and c.blank_when}
#: ids (and words) that may be blank: the cooling of a site that is not built
BLANK_IDS = {(c.file, c.name) for c in contract.COLUMNS if c.kind != NUMBER and c.blank_when}
#: what identifies a row of each plan table: no two rows may share it (dispatch.csv and
#: aggregation_error.csv are held to their full grid of keys by the structure and aggregation checks)
ROW_KEYS = {
    name: key for name in PLAN_TABLES if (key := tuple(c.name for c in contract.columns(f"{name}.csv") if c.key))
}
#: what summary.csv status may say, and the HiGHS model statuses that leave a plan behind
STATUSES = contract.PLAN_STATUSES
PLAN_SOURCES = contract.PLAN_SOURCES
HIGHS_PLAN_STATUSES = (
    "kOptimal",
    "kObjectiveTarget",
    "kObjectiveBound",
    "kTimeLimit",
    "kIterationLimit",
    "kSolutionLimit",
    "kInterrupt",
    "kHighsInterrupt",
    "kMemoryLimit",
    "kUnknown",
    "kModelEmpty",
)
#: a MIP gap is compared to the gap the cost and its bound leave within this (the solver's gap is
#: of its unrounded solution, the plan's cost of the rounded one)
GAP_ATOL = 1e-6
#: a plan folder is read only if every file in it is a regular file below these sizes, and it has at
#: most this many entries; links may lead only to files inside it (an untrusted folder must not make
#: the verifier read /dev/zero, a FIFO or files elsewhere on the machine)
MAX_PLAN_TABLE_BYTES = 512 << 20
MAX_PLAN_YAML_BYTES = 1 << 20
MAX_PLAN_FOLDER_ENTRIES = 1000
YAML_SUFFIXES = (".yaml", ".yml")
