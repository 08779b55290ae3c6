"""The data contract of a plan folder: its files, every column of every table and what it holds, the
columns only held to their form, and the verifier's tolerances and limits.
"""

from __future__ import annotations


RTOL = 1e-6
ATOL = 1e-6
#: costs are compared to a tenth of a cent, emissions to a kilogram
COST_ATOL_USD = 1e-3
EMISSIONS_ATOL_T = 1e-3
HOURS_PER_YEAR = 8760.0
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365
SECONDS_PER_HOUR = 3600.0
TOKENS_PER_MTOK = 1e6
J_PER_MWH = 3.6e9
PLAN_TABLES = (
    "summary", "sites", "chips", "allocation", "power", "dispatch", "storage_days", "deliveries", "costs",
    "aggregation_error",
)
#: the model's time, derived from the hourly inputs when the scenario loaded, copied with it
DERIVED_TABLES = ("slices", "profiles", "days", "aggregation_error")
SCENARIO_YAML = "scenario/scenario.yaml"
#: every file the verifier reads or that the data contract promises, relative to the plan folder
PLAN_FILES = (
    *(f"{name}.csv" for name in PLAN_TABLES), "sites.geojson", SCENARIO_YAML,
    *(f"scenario/{name}.csv" for name in DERIVED_TABLES),
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
#: quantities of the hourly table and of profiles.csv, with their units; the grid ones fall back to
#: the site's annual value
HOURLY_QUANTITIES = {
    "solar_cf": "CF", "wind_cf": "CF", "temp_c": "C", "wetbulb_c": "C", "grid_price_usd_per_mwh": "USD/MWh",
    "grid_co2_kg_per_mwh": "kg/MWh",
}
ANNUAL_FALLBACK = ("grid_price_usd_per_mwh", "grid_co2_kg_per_mwh")
SUMMARY_RMSE = ("solar_cf", "wind_cf", "temp_c")
LAYERS = ("energy", "chips", "infrastructure")
MAX_MESSAGES_PER_CHECK = 5
#: allocation.csv leaves out assignments of at most this many racks (its export threshold)
ALLOCATION_EXPORT_RACKS = 1e-6
#: cooling: chillers are rated at this dry-bulb and never do worse than this COP
CHILLER_RATING_TEMP_C = 35.0
MIN_CHILLER_COP = 1.5
LITRES_PER_ML = 1e6
KWH_PER_MWH = 1000.0
KW_PER_MW = 1000.0
KG_PER_T = 1000.0
#: a heat rate in Btu/kWh is this many MMBtu per MWh for each Btu/kWh
MMBTU_PER_MWH_PER_BTU_PER_KWH = 1e-3
M_PER_KM = 1000.0
#: storage regimes: grid years (columns "<b>_...") and bridge years (columns "bridge_<b>_...")
REGIMES = {"grid_years": "", "bridge_years": "bridge_"}
#: dispatch columns of each storage technology, after its id
STORAGE_FLOWS = ("charge_mw", "discharge_mw", "soc_within_day_mwh")
#: columns that say where a row is, and how a location names them
LOCATION_COLUMNS = {
    "site_id": "site {}", "chip_id": "chip {}", "tech_id": "{}", "storage_id": "{}", "regime": "{}",
    "region_id": "region {}", "workload_id": "workload {}", "item": "{}", "quantity": "{}", "slice_id": "slice {}",
    "day": "day {}", "when": "{}",
}

#: what a column holds: an id (of a site, chip, ...), a word from a known list, or a number
ID, WORD, NUMBER = "id", "word", "number"


def _columns(ids: tuple[str, ...] = (), words: tuple[str, ...] = (), numbers: tuple[str, ...] = ()) -> dict[str, str]:
    return {**dict.fromkeys(ids, ID), **dict.fromkeys(words, WORD), **dict.fromkeys(numbers, NUMBER)}


#: the full-year re-check (optimizer/fullyear.py): the design dispatched over all 8,760 hours
FULL_YEAR_SITE_COLUMNS = ("representative_peak_pue", "full_year_peak_pue", "full_year_peak_facility_mw",
                          "full_year_unserved_mwh_per_yr")
FULL_YEAR_SUMMARY_COLUMNS = (
    "full_year_check_s", "full_year_total_cost_usd_per_yr", "full_year_delivered_tokens_per_yr",
    "full_year_usd_per_mtok",
    *(f"full_year_{layer}_usd_per_mtok" for layer in LAYERS), "full_year_emissions_t_per_yr",
    "full_year_unserved_mwh_per_yr", "full_year_unserved_hours_per_yr", "full_year_cfe_shortfall_mwh_per_yr",
    "representative_error_pct", *(f"representative_{layer}_error_pct" for layer in LAYERS),
)
#: cost items of the energy layer the full year redispatches (every other item follows the fixed design)
GRID_ENERGY_ITEM, FUEL_AND_VOM_ITEM, CARBON_PRICE_ITEM = "grid energy", "fuel and variable O&M", "carbon price"
FULL_YEAR_ITEMS = (GRID_ENERGY_ITEM, FUEL_AND_VOM_ITEM, CARBON_PRICE_ITEM)
#: flows at or below this are solver noise in the full-year dispatch, and so much energy over a year
FULL_YEAR_NOISE_MW = 1e-6
FULL_YEAR_NOISE_MWH = FULL_YEAR_NOISE_MW * HOURS_PER_YEAR
PERCENT = 100.0
#: power sources whose output follows the hour's capacity factor (the hourly column "<kind>_cf")
VARIABLE_KINDS = ("solar", "wind")
AGGREGATION_ERROR_COLUMNS = _columns(("site_id",), ("quantity",),
                                     ("annual_mean", "mean_error", "rmse", "duration_rmse"))
#: the data contract: every column of every table the verifier reads and what it holds. A column
#: that is not here (nor one of the dispatch columns the scenario's technologies name) fails the
#: "values" check: the verifier cannot vouch for what it does not know. Each column is recomputed
#: or cross-checked by some check, except the few of DESCRIPTIVE_COLUMNS.
PLAN_COLUMNS: dict[str, dict[str, str]] = {
    "summary.csv": _columns(
        words=("scenario", "objective", "status", "highs_status", "plan_source"),
        numbers=(
            "mip_gap", "cost_lower_bound_usd_per_yr", "build_s", "handoff_s", "solve_s", "variables",
            "integer_variables", "constraints", "nonzeros", "dinkelbach_iterations", "lambda_usd_per_mtok",
            "lambda_lower_bound_usd_per_mtok", "total_cost_usd_per_yr", "delivered_tokens_per_yr",
            "demand_tokens_per_yr",
            "usd_per_mtok", *(f"{layer}_usd_per_mtok" for layer in LAYERS), "emissions_t_per_yr",
            "emissions_kg_per_mtok", "water_ml_per_yr", "water_l_per_mtok", "facility_energy_mwh_per_yr",
            "energy_j_per_token", "representative_days", "periods", "slices",
            *(f"aggregation_rmse_{quantity}" for quantity in SUMMARY_RMSE), "sites_built", "it_capacity_mw", "chips",
            "capex_usd", *FULL_YEAR_SUMMARY_COLUMNS,
        ),
    ),
    "sites.csv": _columns(
        ids=("site_id", "cooling_id"), words=("name", "state", "iso"),
        numbers=(
            "lat", "lon", "built", "it_capacity_mw", "racks", "chips", "it_energy_mwh_per_yr",
            "facility_energy_mwh_per_yr", "annual_pue", "annual_wue_l_per_kwh", "peak_facility_mw",
            "peak_grid_import_mw", "grid_capacity_mw", "grid_online_year", "grid_wait_yr", "bridge_share", "land_acres",
            "land_used_acres", "water_ml_per_yr", "emissions_t_per_yr", "delivered_tokens_per_yr", "cost_usd_per_yr",
            *(f"{layer}_usd_per_yr" for layer in LAYERS), "usd_per_mtok", *FULL_YEAR_SITE_COLUMNS, "cfe_score",
        ),
    ),
    "chips.csv": _columns(("site_id", "chip_id"), numbers=("racks", "chips", "rack_power_kw", "it_mw", "capex_usd")),
    "allocation.csv": _columns(
        ("site_id", "chip_id", "workload_id"), numbers=("racks_assigned", "tokens_per_s_per_chip",
                                                        "site_workload_tokens_per_yr"),
    ),
    "power.csv": _columns(
        ("site_id", "tech_id"), ("kind",),
        ("capacity_mw", "units", "energy_capacity_mwh", "generation_mwh_per_yr", "capacity_factor",
         "bridge_generation_mwh_per_yr", "land_acres"),
    ),
    # and one column per technology and storage flow (see _dispatch_flow_columns)
    "dispatch.csv": _columns(
        ("site_id",),
        numbers=("slice_id", "period", "hour", "weight_h", "temp_c", "wetbulb_c", "grid_price_usd_per_mwh",
                 "grid_co2_kg_per_mwh", "it_mw", "facility_mw", "pue", "carbon_free_mw"),
    ),
    "storage_days.csv": _columns(
        ("site_id", "storage_id"), ("regime",), ("day", "period", "soc_start_mwh", "energy_capacity_mwh"),
    ),
    "deliveries.csv": _columns(
        ("site_id", "region_id", "workload_id"), numbers=("tokens_per_yr", "distance_km", "latency_ms",
                                                         "latency_budget_ms"),
    ),
    "costs.csv": _columns(("site_id",), ("layer", "item"), ("usd_per_yr", "usd_per_mtok")),
    "aggregation_error.csv": AGGREGATION_ERROR_COLUMNS,
    "scenario/slices.csv": _columns(numbers=("slice_id", "period", "hour", "weight_h")),
    "scenario/profiles.csv": _columns(("site_id",), numbers=("slice_id", *HOURLY_QUANTITIES)),
    "scenario/days.csv": _columns(numbers=("day", "period")),
    "scenario/aggregation_error.csv": AGGREGATION_ERROR_COLUMNS,
}
#: the only columns no check recomputes, and why: most describe how the solve ran, not the plan.
#: Each is still held to its form (a finite number, a whole count, a known word) and to the figures
#: it must agree with.
DESCRIPTIVE_COLUMNS = {
    ("summary.csv", "build_s"): "seconds to build the model: timing, not a claim about the plan",
    ("summary.csv", "handoff_s"): "seconds to hand the model to HiGHS: timing",
    ("summary.csv", "solve_s"): "seconds HiGHS ran: timing",
    **dict.fromkeys((("summary.csv", "variables"), ("summary.csv", "integer_variables"), ("summary.csv", "constraints"),
                     ("summary.csv", "nonzeros")), "model size as the solver saw it, not a claim about the plan"),
    ("summary.csv", "highs_status"): "HiGHS's own word for why it stopped; the claim is 'status', checked against "
                                     "the gap",
    ("summary.csv", "dinkelbach_iterations"): "steps the ratio search took; only its range for the objective is "
                                              "checked",
    ("summary.csv", "plan_source"): "which step of the solve found the plan (greedy, relax-and-fix, HiGHS): how the "
                                    "solve ran; only its spelling is checked",
    ("summary.csv", "full_year_check_s"): "seconds the full-year re-check took: timing",
    # the full-year dispatch is recomputed (a merit order) only where no storage links the hours and no hourly
    # carbon-free share applies; otherwise it is an LP over 8,760 hours whose solution the plan does not export
    **dict.fromkeys((("summary.csv", "full_year_emissions_t_per_yr"),
                     ("summary.csv", "full_year_unserved_hours_per_yr"),
                     ("summary.csv", "full_year_cfe_shortfall_mwh_per_yr")),
                    "with storage or a carbon-free share the full-year dispatch is an LP not re-solved here; checked "
                    "exactly without them, and against the other full-year figures always"),
}
#: numeric columns that may be blank, and when; elsewhere a blank (like inf, always) is a violation
BLANK_ALLOWED = {
    ("summary.csv", "cost_lower_bound_usd_per_yr"): "min_cost_per_token (a ratio objective bounds the ratio instead)",
    ("summary.csv", "lambda_usd_per_mtok"): "serve_demand",
    ("summary.csv", "lambda_lower_bound_usd_per_mtok"): "serve_demand, or no proof of the ratio",
    **{("summary.csv", name): "nothing delivered" for name in (
        "usd_per_mtok", *(f"{layer}_usd_per_mtok" for layer in LAYERS), "emissions_kg_per_mtok", "water_l_per_mtok",
        "energy_j_per_token",
    )},
    **{("summary.csv", name): "nothing delivered" for name in (
        "full_year_usd_per_mtok", *(f"full_year_{layer}_usd_per_mtok" for layer in LAYERS), "representative_error_pct",
        *(f"representative_{layer}_error_pct" for layer in LAYERS),
    )},
    **{("sites.csv", name): "site not built" for name in FULL_YEAR_SITE_COLUMNS},
    ("sites.csv", "usd_per_mtok"): "nothing delivered from the site",
    ("costs.csv", "usd_per_mtok"): "nothing delivered",
    ("sites.csv", "annual_pue"): "no IT energy (site not built)",
    ("sites.csv", "annual_wue_l_per_kwh"): "no IT energy (site not built)",
    ("sites.csv", "cfe_score"): "no facility load (site not built)",
    ("power.csv", "units"): "a technology without a unit size",
    ("power.csv", "energy_capacity_mwh"): "a generator (not storage)",
    ("power.csv", "capacity_factor"): "no capacity",
    ("dispatch.csv", "pue"): "no IT load",
}
#: ids that may be blank: the cooling of a site that is not built
BLANK_IDS = {("sites.csv", "cooling_id")}
#: what identifies a row of each plan table: no two rows may share it (dispatch.csv and
#: aggregation_error.csv are held to their full grid of keys by the structure and aggregation checks)
ROW_KEYS = {
    "sites": ("site_id",), "chips": ("site_id", "chip_id"), "allocation": ("site_id", "chip_id", "workload_id"),
    "power": ("site_id", "tech_id"), "deliveries": ("site_id", "region_id", "workload_id"),
    "costs": ("site_id", "layer", "item"), "storage_days": ("regime", "site_id", "storage_id", "day"),
}
#: what summary.csv status may say, and the HiGHS model statuses that leave a plan behind
STATUSES = ("optimal", "time_limit_feasible")
#: the step of the solve that found the plan (optimizer.solve.milp): the greedy plan, relax-and-fix or HiGHS's search
PLAN_SOURCES = ("greedy", "relax_and_fix", "highs")
HIGHS_PLAN_STATUSES = (
    "kOptimal", "kObjectiveTarget", "kObjectiveBound", "kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt",
    "kHighsInterrupt", "kMemoryLimit", "kUnknown", "kModelEmpty",
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
