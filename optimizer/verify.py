"""Independent re-check of an exported plan from its folder alone.

``verify_plan(folder)`` reads the plan's CSV tables and the resolved scenario copied into
``folder/scenario/`` and re-checks every physical, commercial and policy rule of the formulation
with pandas/numpy arithmetic. It never imports the Pyomo model, the solver, the plan exporter or the
product's cooling formulas (PUE and WUE are re-derived here from cooling.csv): a plan that passes
here is feasible by an independent reading of the data contract, not merely by the model's own
account. ``optimizer.scenario.load_scenario`` is used only to read the copied input tables and
options (it also clusters the hourly table, a result ignored here): the model's time, i.e. the
representative days, their weather and grid profiles and the calendar, is read from the derived
tables the plan copied beside them (``scenario/slices.csv``, ``profiles.csv``, ``days.csv``) and
checked against the 8760 input hours (``aggregation_error.csv`` is re-measured).

Beyond the rules, it checks what the plan claims: every column of every table is in the data
contract (``PLAN_COLUMNS``) and is recomputed or cross-checked by some check, except the few
``DESCRIPTIVE_COLUMNS`` (timing, model size), which keep only their form; every cell holds a finite
number (blank only where ``BLANK_ALLOWED`` says when), or a non-blank id or word; the optimality
claims of summary.csv (a finite lower bound at most the cost, a gap that covers both); the copies
of the scenario's sites and the map layer ``sites.geojson``.

A plan folder may come from anyone, so it is read only where that is safe: no link out of the
folder, no device, FIFO or file above ``MAX_PLAN_TABLE_BYTES`` (``MAX_PLAN_YAML_BYTES`` for YAML),
and a scenario copy that names no file outside the folder. Anything else fails the "files" check
with one line naming the file and the rule, never a traceback.

Each check reports how many items (rows, constraints) it compared, its worst margin, where that
item is and which rule it belongs to, and its violations::

    from optimizer.verify import verification_table, verify_plan
    verification = verify_plan("plans/base")
    rich.print(verification_table(verification))
    assert verification.ok, verification.messages

Margins. An item of a rule ``lhs <= rhs`` has the margin ``rhs - lhs`` (negative: over the limit);
an item of ``a == b`` has ``-|a - b|``. Its relative margin divides that by the comparison's scale
(the larger magnitude of its two sides unless the rule says otherwise) plus ``atol / RTOL``, so an
item is a violation exactly where its relative margin is below ``-RTOL``: beyond ``RTOL x scale +
atol``. A few rules take an absolute tolerance (scale 0: whole racks, years, period numbers); their
relative margin is the margin over ``atol / RTOL`` (one unit). A blank (NaN) where a number is needed
has the margin -inf; two blanks compared agree. An infinite value agrees with nothing, not even
another infinity (inf - inf is NaN, which must not pass as agreement): its margin is -inf too.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
import pandas as pd
import yaml
from pyproj import Geod
from rich.table import Table
from rich.text import Text

from optimizer.safe_io import UnsafeFileError, checked_file, inside, load_yaml, read_text
from optimizer.scenario import Scenario, load_scenario

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
#: the step of the solve that found the plan (optimizer.solve): the greedy plan, relax-and-fix or HiGHS's search
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


# --------------------------------------------------------------------------------------------
# results


@dataclass
class CheckResult:
    """What one check compared, how close the plan came to breaking it, and where it broke."""

    name: str
    description: str
    #: items compared (rows, constraints, yes/no rules)
    checked: int = 0
    #: the worst item's margin in ``unit``: rhs - lhs of an inequality, -|a - b| of an equality (NaN: no numeric item)
    worst_margin: float = math.nan
    #: the same relative to the comparison's scale; the item is a violation where this is below -RTOL
    worst_relative: float = math.nan
    unit: str = ""
    #: where the worst item is, e.g. "site homer_city, slice 37"
    worst_where: str = ""
    #: the rule the worst item belongs to
    worst_rule: str = ""
    #: the first MAX_MESSAGES_PER_CHECK violations, worded for the planner
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    #: the exception that stopped the check before it finished ("" if it ran to the end)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    @property
    def messages(self) -> list[str]:
        lines = [f"[{self.name}] {message}" for message in self.violations]
        unlisted = self.violation_count - len(self.violations)
        if unlisted:
            lines.append(f"[{self.name}] ... {unlisted} further violations of this check not listed")
        return lines


@dataclass
class Verification:
    """Every check of one plan folder; only "files" when its tables could not be read."""

    folder: Path
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def messages(self) -> list[str]:
        return [message for check in self.checks for message in check.messages]

    def check(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"no check named '{name}' in this verification")


# --------------------------------------------------------------------------------------------
# comparisons with tolerances, margins and locations


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _per(numerator, denominator: float):
    """A ratio per delivered unit; blank when nothing was delivered, as the plan writes it."""
    return numerator / denominator if denominator > 0 else np.full(np.shape(numerator), np.nan)


def _scale(*values) -> np.ndarray:
    """Elementwise largest magnitude, ignoring blanks."""
    return functools.reduce(np.fmax, [np.abs(_arr(v)) for v in values])


def _location(at: str | pd.DataFrame, i: int) -> str:
    if isinstance(at, str):
        return at
    return ", ".join(template.format(at[column].iloc[i]) for column, template in LOCATION_COLUMNS.items() if column in at)


def _cell(name: str, table: pd.DataFrame, i: int, column: str) -> str:
    """Where one cell is: "<file> row <n> (<ids>), column '<column>'", rows counted from 1 below the header."""
    where = _location(table, i)
    return f"{name} row {i + 1}{f' ({where})' if where else ''}, column '{column}'"


class _Recorder:
    """Builds one check's result: each comparison adds its items, may move the worst margin, may add violations.

    ``at`` locates the items: a string for a single item, or a frame with one row per item whose id
    columns (LOCATION_COLUMNS) name it. ``describe(row)`` words a violation from that frame's row;
    without it the message is "<where>: <rule>: <lhs> exceeds <rhs>" (or "!= expected").
    """

    def __init__(self, name: str, description: str) -> None:
        self.result = CheckResult(name, description)

    def violation(self, message: str) -> None:
        self.result.violation_count += 1
        if len(self.result.violations) < MAX_MESSAGES_PER_CHECK:
            self.result.violations.append(message)

    def rule(self, ok: bool, message: str, items: int = 1) -> None:
        """A yes/no rule without a numeric margin (ids that must match, a column that must exist)."""
        self.result.checked += items
        if not ok:
            self.violation(message)

    def failed(self, error: Exception) -> None:
        self.result.error = f"{type(error).__name__}: {error}"
        self.violation(f"the check could not finish: {self.result.error}")

    def le(self, rule: str, lhs, rhs, *, unit: str, at, describe=None, scale=None, atol=ATOL) -> None:
        """``lhs <= rhs`` item by item; a blank on either side breaks it."""
        lhs, rhs = (a.ravel() for a in np.broadcast_arrays(_arr(lhs), _arr(rhs)))
        with np.errstate(invalid="ignore", over="ignore"):
            margin = np.where(np.isfinite(lhs) & np.isfinite(rhs), rhs - lhs, -np.inf)
        self._record(rule, "exceeds", lhs, rhs, margin, _scale(lhs, rhs) if scale is None else _scale(scale), atol,
                     unit, at, describe)

    def eq(self, rule: str, a, b, *, unit: str, at, describe=None, scale=None, atol=ATOL) -> None:
        """``a == b`` item by item; a blank must meet a blank."""
        a, b = (x.ravel() for x in np.broadcast_arrays(_arr(a), _arr(b)))
        both_blank = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore", over="ignore"):
            margin = np.where(both_blank, 0.0, np.where(np.isfinite(a) & np.isfinite(b), -np.abs(a - b), -np.inf))
        self._record(rule, "!= expected", a, b, margin, _scale(a, b) if scale is None else _scale(scale), atol,
                     unit, at, describe)

    def _record(self, rule, relation, lhs, rhs, margin, scale, atol, unit, at, describe) -> None:
        # a non-finite scale must not shrink a violation to nothing: it counts as no scale
        scale = np.nan_to_num(np.broadcast_to(scale, margin.shape), nan=0.0, posinf=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = np.where(np.isneginf(margin), -np.inf, margin / (scale + _arr(atol) / RTOL))
        result = self.result
        result.checked += margin.size
        if not margin.size:
            return
        worst = int(np.argmin(relative))
        if math.isnan(result.worst_relative) or relative[worst] < result.worst_relative:
            result.worst_margin, result.worst_relative = float(margin[worst]), float(relative[worst])
            result.unit, result.worst_where, result.worst_rule = unit, _location(at, worst), rule
        bad = np.flatnonzero(relative < -RTOL)
        listed = bad[: max(MAX_MESSAGES_PER_CHECK - len(result.violations), 0)]  # only the first few are worded
        result.violations += [self._message(int(i), rule, relation, lhs, rhs, at, describe) for i in listed]
        result.violation_count += len(bad)

    @staticmethod
    def _message(i: int, rule: str, relation: str, lhs, rhs, at, describe) -> str:
        if describe is not None:
            row = next(at.iloc[[i]].itertuples(index=False))
            try:
                return describe(row)
            except Exception:  # a wording slip must not hide the violation itself
                return f"{rule}: violated at {row._asdict()}"
        where = _location(at, i)
        return f"{where + ': ' if where else ''}{rule}: {lhs[i]:.10g} {relation} {rhs[i]:.10g}"


# --------------------------------------------------------------------------------------------
# loading: an untrusted folder is read only where it is safe to


def _entry_problem(root: Path, path: Path) -> str:
    """Why the verifier must not read ``path`` (a link out of ``root``, a device, a FIFO, a huge file), or ""."""
    try:
        if path.is_symlink() and not inside(path, root):
            return f"{path}: a link to {path.resolve()}, outside the plan folder; only files inside it are read"
        if path.is_dir():
            return ""
        limit = MAX_PLAN_YAML_BYTES if path.suffix in YAML_SUFFIXES else MAX_PLAN_TABLE_BYTES
        checked_file(path, limit, "plan file")
    except UnsafeFileError as error:
        return str(error)
    except (OSError, RuntimeError) as error:  # a link loop, a vanished file
        return f"{path}: cannot be read safely ({type(error).__name__}: {error})"
    return ""


def _unsafe_entries(root: Path) -> list[str]:
    """One line for each entry of the folder tree the verifier must not read; the walk follows no link and stops
    after MAX_PLAN_FOLDER_ENTRIES entries."""
    problems, pending, entries = [], [root], 0
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:  # at most one entry beyond the limit is listed
                batch = list(itertools.islice(listing, MAX_PLAN_FOLDER_ENTRIES + 1 - entries))
        except OSError as error:
            problems.append(f"{folder}: cannot be listed ({error.strerror or error})")
            continue
        entries += len(batch)
        if entries > MAX_PLAN_FOLDER_ENTRIES:
            return [*problems, f"{root}: more than {MAX_PLAN_FOLDER_ENTRIES} files and folders: not a plan folder"]
        for entry in batch:
            path = Path(entry.path)
            problem = _entry_problem(root, path)
            problems += [problem] if problem else []
            if not problem and entry.is_dir(follow_symlinks=False):
                pending.append(path)
    return problems


def _escapes(reference, base: Path, root: Path) -> bool:
    """Whether a path named in the scenario copy is absolute, climbs with '..' or lands outside ``root``."""
    relative = PurePath(str(reference))
    return relative.is_absolute() or ".." in relative.parts or not inside(base / relative, root)


def _scenario_references(root: Path) -> list[str]:
    """One line for each file the scenario copy names outside the plan folder (extends, data, tables, hourly_files).

    load_scenario refuses these too (``trusted_root``); checking first names the key in the verifier's words.
    """
    path = root / SCENARIO_YAML
    try:
        document = load_yaml(path, "scenario copy")
    except (UnsafeFileError, yaml.YAMLError) as error:
        return [f"{path}: cannot be read: {' '.join(str(error).split())}"]
    if not isinstance(document, dict):
        return []  # load_scenario names the shape it must have
    data = root / "scenario" / str(document.get("data", "."))
    references = [(key, document[key], path.parent) for key in ("extends", "data") if key in document]
    for key, base in (("tables", data), ("hourly_files", path.parent)):
        mapping = document.get(key)
        if isinstance(mapping, dict):
            references += [(f"{key}.{name}", file, base) for name, file in mapping.items()]
    return [f"{path}: {key} '{reference}' is absolute or leads outside the plan folder; a plan's scenario copy may "
            f"name only files inside it" for key, reference, base in references if _escapes(reference, base, root)]


@dataclass
class _Inputs:
    """A loaded scenario copy and readings of its inputs that every plan of it shares."""

    scenario: Scenario
    #: quantity -> its 8760-hour series (sites x hours) and the same sorted per site
    hours: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


#: scenario copies already loaded, by a digest of the files load_scenario reads, most recent last:
#: verifying copies of one plan (the tests corrupt one plan many ways) need not load and cluster the
#: same inputs again, which takes seconds
_SCENARIOS: dict[str, _Inputs] = {}
_SCENARIOS_KEPT = 8


def _load_inputs(folder: Path) -> _Inputs:
    digest = hashlib.sha256()
    derived = {f"{name}.csv" for name in DERIVED_TABLES}  # the plan's time: read by the verifier, not by load_scenario
    for path in sorted((folder / "scenario").iterdir()):
        if path.is_file() and path.name not in derived:  # regular and within the limits: _unsafe_entries saw them
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    key = digest.hexdigest()
    inputs = _SCENARIOS.pop(key, None) or _Inputs(load_scenario(folder / SCENARIO_YAML, trusted_root=folder))
    _SCENARIOS[key] = inputs
    while len(_SCENARIOS) > _SCENARIOS_KEPT:
        del _SCENARIOS[next(iter(_SCENARIOS))]
    return inputs


def _non_numbers(name: str, table: pd.DataFrame) -> list[str]:
    """Turn the number columns of a table read as text into numbers; one line per cell that is not one."""
    contract = PLAN_COLUMNS.get(name, {})
    problems = []
    for column in table.columns:
        if contract.get(column, NUMBER) != NUMBER or pd.api.types.is_numeric_dtype(table[column]):
            continue
        numbers = pd.to_numeric(table[column], errors="coerce")
        for i in np.flatnonzero(numbers.isna() & table[column].notna()):
            problems.append(f"{_cell(name, table, int(i), column)}: {table[column].iloc[i]!r} is not a number")
        table[column] = numbers
    return problems


def _read_table(folder: Path, name: str, files: _Recorder) -> tuple[pd.DataFrame | None, list[str]]:
    """A table with its ids and words as text and every other column as numbers, and the cells that are not."""
    text_columns = {column: str for column, kind in PLAN_COLUMNS.get(name, {}).items() if kind != NUMBER}
    try:
        table = pd.read_csv(io.StringIO(read_text(folder / name, MAX_PLAN_TABLE_BYTES, name)), dtype=text_columns)
    except Exception as error:  # an unreadable table is a finding about the plan, not a crash
        files.rule(False, f"{folder}: cannot read {name}: {type(error).__name__}: {' '.join(str(error).split())}")
        return None, []
    absent = [column for column in KEY_COLUMNS.get(name, ()) if column not in table.columns]
    files.rule(not absent, f"{folder}: {name} has no column {', '.join(repr(column) for column in absent)}")
    return (None, []) if absent else (table, _non_numbers(name, table))


def _read_tables(folder: Path, names: Iterable[str], files: _Recorder) -> tuple[dict[str, pd.DataFrame], list[str]]:
    tables, non_numbers = {}, []
    for name in names:
        table, problems = _read_table(folder, name, files)
        if table is not None:
            tables[name] = table
        non_numbers += problems
    return tables, non_numbers


def _safe_folder(folder: Path, files: _Recorder) -> bool:
    """Whether every file of the folder may be read: the folder's tree, then the scenario copy's references."""
    if not folder.is_dir():
        files.rule(False, f"{folder}: not a folder")
        return False
    problems = _unsafe_entries(folder)
    missing = [name for name in PLAN_FILES if not (folder / name).is_file()]
    files.rule(not missing, f"{folder}: missing {', '.join(missing)}", items=len(PLAN_FILES))
    if not problems and not missing:
        problems = _scenario_references(folder)
    for problem in problems:
        files.rule(False, problem)
    return not problems and not missing


def _read_plan(folder: Path, files: _Recorder) -> _Plan | None:
    """The plan's tables and scenario copy, or None with the reason recorded in ``files``."""
    if not _safe_folder(folder, files):
        return None
    names = [f"{name}.csv" for name in PLAN_TABLES] + [f"scenario/{name}.csv" for name in DERIVED_TABLES]
    tables, non_numbers = _read_tables(folder, names, files)
    if len(tables) < len(names):
        return None
    rows = len(tables["summary.csv"])
    files.rule(rows == 1, f"{folder}: summary.csv has {rows} rows, not one")
    if rows != 1:
        return None
    try:
        inputs = _load_inputs(folder)
    except Exception as error:  # every reason the copy cannot be read, one line each
        for line in str(error).splitlines() or [""]:
            files.rule(False, f"{folder}: cannot read {SCENARIO_YAML} and its tables: {type(error).__name__}: {line}")
        return None
    try:
        return _Plan(folder, tables, inputs, non_numbers)
    except Exception as error:
        files.rule(False, f"{folder}: cannot index the tables: {type(error).__name__}: {' '.join(str(error).split())}")
        return None


class _Plan:
    """The plan's tables (``t``), the scenario's tables by their ids (``s``) and readings shared by checks."""

    def __init__(self, folder: Path, files: dict[str, pd.DataFrame], inputs: _Inputs, non_numbers: list[str]) -> None:
        self.folder = folder
        self.inputs = inputs
        scenario = inputs.scenario
        #: every table read, by its file name relative to the folder, and the cells that held no number
        self.files = files
        self.non_numbers = non_numbers
        self.t = {name: files[f"{name}.csv"] for name in PLAN_TABLES}
        self.scenario = scenario
        self.copied_error = files["scenario/aggregation_error.csv"]
        # the scenario's tables indexed by their ids; the time tables from the plan's own copy
        self.s = {
            **scenario.tables,
            "slices": files["scenario/slices.csv"].set_index("slice_id"),
            "profiles": files["scenario/profiles.csv"].set_index(["site_id", "slice_id"]),
            "days": files["scenario/days.csv"].set_index("day"),
        }
        sites = self.t["sites"].copy()
        sites["cooling_id"] = sites["cooling_id"].fillna("").astype(str)
        self.sites = sites.set_index("site_id")
        self.site_rows = pd.DataFrame({"site_id": self.sites.index})  # locates per-site comparisons
        self.built = list(self.sites.index[self.sites["built"] == 1])
        self.dispatch = self.t["dispatch"]
        self.power = self.t["power"]
        self.gen_power = self.power[self.power["kind"] != "storage"]
        self.storage_power = self.power[self.power["kind"] == "storage"]
        techs = self.s["power_techs"]
        self.grid_tech = techs.index[techs["kind"] == "grid"][0]
        weights_h = self.s["slices"]["weight_h"].astype(float)
        self.w = self.dispatch["slice_id"].map(weights_h).astype(float)  # hours a year each dispatch row stands for
        self._keys = pd.MultiIndex.from_arrays([self.dispatch["site_id"], self.dispatch["slice_id"]])
        self._capacities: dict[str, dict] = {}
        self._annual: dict[str, pd.Series] = {}

    @property
    def summary(self) -> pd.Series:
        return self.t["summary"].iloc[0]

    def facility(self, name: str) -> float:
        return float(self.s["facility"].loc[name, "value"])

    def per_site(self, column: str) -> pd.Series:
        return self.sites[column].astype(float)

    def capacity(self, site: str, tech: str, column: str = "capacity_mw") -> float:
        """Built capacity of one technology at one site in power.csv (0 where it has no row)."""
        if column not in self._capacities:
            grouped = self.power.groupby(["site_id", "tech_id"])[column].sum()
            self._capacities[column] = {key: float(value) for key, value in grouped.items()}
        return self._capacities[column].get((site, tech), 0.0)

    def dispatch_column(self, name: str) -> pd.Series:
        if name in self.dispatch.columns:
            return self.dispatch[name].astype(float)
        return pd.Series(0.0, index=self.dispatch.index)

    def dispatch_sum(self, names: Iterable[str]) -> pd.Series:
        """Sum of dispatch columns (absent ones count as 0), aligned with the dispatch rows."""
        return sum((self.dispatch_column(name) for name in names), pd.Series(0.0, index=self.dispatch.index))

    def profile(self, quantity: str) -> pd.Series:
        """One column of profiles.csv, aligned with the dispatch rows."""
        values = self.s["profiles"][quantity].reindex(self._keys).to_numpy(dtype=float)
        return pd.Series(values, index=self.dispatch.index)

    def availability(self, tech: str) -> pd.Series:
        """Largest output per MW of capacity of ``tech`` in each dispatch row."""
        row = self.s["power_techs"].loc[tech]
        if row["kind"] in VARIABLE_KINDS:
            return self.profile(f"{row['kind']}_cf")
        return pd.Series(float(row["availability"]), index=self.dispatch.index)

    def annual(self, column: str) -> pd.Series:
        """MWh per year of one dispatch column, per site (every site of sites.csv); worked out once per column."""
        if column not in self._annual:
            energy = (self.dispatch_column(column) * self.w).groupby(self.dispatch["site_id"]).sum()
            self._annual[column] = energy.reindex(self.sites.index, fill_value=0.0)
        return self._annual[column]

    @property
    def storage_ids(self) -> list[str]:
        return list(self.s["storage_techs"].index)

    @property
    def online_by(self):
        return self.scenario.constraints.online_by_year

    @property
    def clean_techs(self) -> list[str]:
        """On-site technologies without direct CO2: no fuel carbon or no heat rate at all."""
        techs = self.s["power_techs"]
        clean = (techs["kind"] != "grid") & ((techs["co2_kg_per_mmbtu"] == 0) | techs["heat_rate_btu_per_kwh"].isna())
        return list(techs.index[clean])

    def in_time(self, table: pd.DataFrame) -> pd.Series:
        """Technologies of ``table`` that can operate by online_by_year (all if none is set)."""
        if self.online_by is None:
            return pd.Series(True, index=table.index)
        ready = self.scenario.finance.start_year + np.ceil(table["lead_time_yr"].astype(float))
        ok = ready <= self.online_by
        if "first_year" in table:
            ok &= table["first_year"] <= self.online_by
        return ok

    @functools.cached_property
    def grid_wait_yr(self) -> pd.Series:
        """Years each site waits for its grid connection after online_by_year (0 without a deadline)."""
        sites = self.s["sites"]
        if self.online_by is None:
            return pd.Series(0.0, index=sites.index)
        return (sites["grid_online_year"].astype(float) - self.online_by).clip(lower=0.0)

    def grid_allowed(self) -> pd.Series:
        """Sites where the grid tech may be used at all once it is online."""
        sites, limits = self.s["sites"], self.scenario.constraints
        allowed = sites["grid_capacity_mw"].astype(float) > 0
        if limits.allowed_power_techs is not None and self.grid_tech not in limits.allowed_power_techs:
            allowed &= False
        if not bool(self.in_time(self.s["power_techs"])[self.grid_tech]):
            allowed &= False
        return allowed

    @functools.cached_property
    def bridge_share(self) -> pd.Series:
        """Present-value share of the horizon each site spends on bridge power (0 where none)."""
        sites = self.s["sites"]
        share = pd.Series(0.0, index=sites.index)
        if not self.scenario.constraints.bridge_power or self.online_by is None:
            return share
        finance, wait, allowed = self.scenario.finance, self.grid_wait_yr, self.grid_allowed()
        for site in sites.index:
            if wait[site] > 0 and allowed[site]:
                share[site] = present_value_share(float(wait[site]), finance.horizon_yr, finance.wacc)
        return share

    @property
    def bridge_sites(self) -> list[str]:
        share = self.bridge_share
        return list(share.index[share > 0])

    # readings several checks share, worked out once
    @functools.cached_property
    def pue_wue(self) -> tuple[pd.Series, pd.Series]:
        return _site_pue_wue(self)

    @functools.cached_property
    def emissions_t(self) -> pd.Series:
        return _emissions_t(self)

    @functools.cached_property
    def recomputed_costs(self) -> tuple[dict[tuple[str, str], pd.Series], pd.Series]:
        return _recompute_costs(self)


# --------------------------------------------------------------------------------------------
# formulas, written out again on purpose


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1)."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def present_value_share(wait_yr: float, horizon_yr: float, rate: float) -> float:
    """Share of the horizon's discounted years that fall in its first ``wait_yr`` years."""
    wait_yr = min(max(wait_yr, 0.0), horizon_yr)
    if rate == 0:
        return wait_yr / horizon_yr
    return (1.0 - (1.0 + rate) ** -wait_yr) / (1.0 - (1.0 + rate) ** -horizon_yr)


def cooling_pue_wue(k: pd.Series, drybulb: np.ndarray, wetbulb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PUE and WUE (L per kWh of IT) of cooling ``k`` (a row of cooling.csv) in each hour.

    Free cooling takes a linear share from ``free_cooling_max_drybulb_c`` to that plus the band;
    evaporative assist the same share of the rest by wet-bulb, drawing ``evaporative_kw_per_kw_it``
    for pumps and fans; chillers the remainder at a COP that falls with the dry-bulb (floored at 1.5).
    """
    band = float(k["transition_band_c"])
    free = np.clip((float(k["free_cooling_max_drybulb_c"]) + band - drybulb) / band, 0.0, 1.0)
    if pd.isna(k["evaporative_max_wetbulb_c"]):
        evaporative_of_rest = np.zeros_like(free)
    else:
        evaporative_of_rest = np.clip((float(k["evaporative_max_wetbulb_c"]) + band - wetbulb) / band, 0.0, 1.0)
    evaporative = (1.0 - free) * evaporative_of_rest
    mechanical = 1.0 - free - evaporative
    cop = np.maximum(
        MIN_CHILLER_COP,
        float(k["chiller_cop_at_35c"]) + float(k["chiller_cop_gain_per_c"]) * (CHILLER_RATING_TEMP_C - drybulb),
    )
    evaporating = evaporative * float(k.get("evaporative_kw_per_kw_it", 0.0))
    pue = 1.0 + float(k["power_overhead"]) + float(k["fan_pump_kw_per_kw_it"]) + evaporating + mechanical / cop
    wue = evaporative * float(k["evaporative_l_per_kwh"]) + mechanical * float(k["chiller_l_per_kwh"])
    return pue, wue


def _site_pue_wue(p: _Plan) -> tuple[pd.Series, pd.Series]:
    """PUE and WUE of each dispatch row under its site's chosen cooling (NaN where unknown)."""
    d, cooling = p.dispatch, p.s["cooling"]
    pue = pd.Series(np.nan, index=d.index)
    wue = pd.Series(np.nan, index=d.index)
    chosen = d["site_id"].map(p.sites["cooling_id"])
    drybulb, wetbulb = p.profile("temp_c"), p.profile("wetbulb_c")
    for k, rows in d.groupby(chosen).groups.items():
        if k not in cooling.index:
            continue  # reported by the structure check
        pue[rows], wue[rows] = cooling_pue_wue(cooling.loc[k], drybulb[rows].to_numpy(), wetbulb[rows].to_numpy())
    return pue, wue


def _latency(p: _Plan, sites: pd.Series, regions: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (km) and network round trip (ms) of each site -> region pair."""
    s, g = p.s["sites"], p.s["regions"]
    _, _, metres = Geod(ellps="WGS84").inv(
        s.loc[sites, "lon"].to_numpy(float), s.loc[sites, "lat"].to_numpy(float),
        g.loc[regions, "lon"].to_numpy(float), g.loc[regions, "lat"].to_numpy(float),
    )
    km = _arr(metres) / M_PER_KM
    ms = 2.0 * km * p.facility("route_factor") / p.facility("fibre_km_per_ms") + p.facility("latency_overhead_ms")
    return km, ms


def _fuel_usd_per_mwh(p: _Plan, tech: str) -> pd.Series:
    """Fuel cost of a MWh from ``tech`` at each candidate site: heat rate x the fuel's price (the site's, for gas)."""
    t, sites = p.s["power_techs"].loc[tech], p.s["sites"]
    if t["fuel"] == "none" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return pd.Series(0.0, index=sites.index)
    price = sites["gas_price_usd_per_mmbtu"] if t["fuel"] == "gas" else pd.Series(t["fuel_price_usd_per_mmbtu"],
                                                                                   index=sites.index)
    return t["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * price.astype(float).fillna(0.0)


def _fuel_t_co2_per_mwh(p: _Plan, tech: str) -> float:
    t = p.s["power_techs"].loc[tech]
    if t["kind"] == "grid" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return 0.0
    return t["heat_rate_btu_per_kwh"] * MMBTU_PER_MWH_PER_BTU_PER_KWH * t["co2_kg_per_mmbtu"] / KG_PER_T


def _average_year_mwh(p: _Plan, tech: str) -> pd.Series:
    """Generation of one tech in an average year of the horizon, per site: the grid years at their
    present-value share (1 - bridge share) plus the bridge years at theirs."""
    share = p.bridge_share.reindex(p.sites.index, fill_value=0.0)
    steady = p.annual(f"{tech}_mw")
    if tech == p.grid_tech:
        return (1.0 - share) * steady
    return (1.0 - share) * steady + share * p.annual(f"bridge_{tech}_mw")


def _emissions_t(p: _Plan) -> pd.Series:
    """CO2 per site and year: the grid's hourly rate in grid years, fuel carbon of on-site generation."""
    d, techs = p.dispatch, p.s["power_techs"]
    share = p.bridge_share.reindex(p.sites.index, fill_value=0.0)
    grid_t = (p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_co2_kg_per_mwh") / KG_PER_T * p.w)
    out = (1.0 - share) * grid_t.groupby(d["site_id"]).sum().reindex(p.sites.index, fill_value=0.0)
    for tech in techs.index:
        rate = _fuel_t_co2_per_mwh(p, tech)
        if rate > 0:
            out += rate * _average_year_mwh(p, tech)
    return out


def _recompute_costs(p: _Plan) -> tuple[dict[tuple[str, str], pd.Series], pd.Series]:
    """Annual cost per (layer, item) and site (USD/yr) and overnight capex per site (USD), from the tables."""
    s, sites, d = p.s, p.s["sites"], p.dispatch
    wacc = p.scenario.finance.wacc
    techs, storage, cooling, chips = s["power_techs"], s["storage_techs"], s["cooling"], s["chips"]
    index = p.sites.index
    items: dict[tuple[str, str], pd.Series] = {}

    def item(layer: str, name: str) -> pd.Series:
        return items.setdefault((layer, name), pd.Series(0.0, index=index))

    capex = pd.Series(0.0, index=index)

    # chips: racks x chips_per_rack x (price + system) x (CRF + maintenance share)
    chip_cost = item("chips", "accelerators and systems")
    for row in p.t["chips"].itertuples(index=False):
        c = chips.loc[row.chip_id]
        overnight = row.racks * c["chips_per_rack"] * (c["price_usd_per_chip"] + c["system_usd_per_chip"])
        chip_cost[row.site_id] += overnight * (crf(wacc, c["life_yr"]) + c["fom_pct_per_yr"] / 100.0)
        capex[row.site_id] += overnight

    # energy: capacity, grid connection, grid energy at hourly prices, fuel and VOM, storage, carbon price
    generation, connection = item("energy", "generation capacity"), item("energy", "grid connection")
    for row in p.gen_power.itertuples(index=False):
        t = techs.loc[row.tech_id]
        overnight = row.capacity_mw * t["capex_usd_per_kw"] * KW_PER_MW
        annual = overnight * crf(wacc, t["life_yr"]) + row.capacity_mw * t["fom_usd_per_kw_yr"] * KW_PER_MW
        (connection if row.tech_id == p.grid_tech else generation)[row.site_id] += annual
        capex[row.site_id] += overnight
    share = p.bridge_share.reindex(index, fill_value=0.0)
    grid_usd = p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_price_usd_per_mwh") * p.w
    items[("energy", "grid energy")] = (1.0 - share) * grid_usd.groupby(d["site_id"]).sum().reindex(index, fill_value=0.0)
    fuel = item("energy", "fuel and variable O&M")
    for tech, t in techs.iterrows():
        fuel += _average_year_mwh(p, tech) * (t["vom_usd_per_mwh"] + _fuel_usd_per_mwh(p, tech).reindex(index))
    storage_cost = item("energy", "storage")
    for row in p.storage_power.itertuples(index=False):
        b = storage.loc[row.tech_id]
        power_capex = row.capacity_mw * b["power_capex_usd_per_kw"] * KW_PER_MW
        energy_capex = row.energy_capacity_mwh * b["energy_capex_usd_per_kwh"] * KWH_PER_MWH
        storage_cost[row.site_id] += (power_capex + energy_capex) * crf(wacc, b["life_yr"]) + row.capacity_mw * b[
            "fom_usd_per_kw_yr"
        ] * KW_PER_MW
        capex[row.site_id] += power_capex + energy_capex
    price = p.scenario.constraints.carbon_price_usd_per_t
    if price:
        items[("energy", "carbon price")] = p.emissions_t * price

    # infrastructure: site development and land, building and staff, cooling
    f = p.facility
    facility_per_mw = f("facility_capex_usd_per_kw_it") * KW_PER_MW
    facility_annual = (
        facility_per_mw * crf(wacc, f("facility_life_yr"))
        + f("facility_fom_usd_per_kw_it_yr") * KW_PER_MW
        + f("staff_per_mw_it") * f("staff_cost_usd_per_yr")
    )
    land, building, cooling_cost = (
        item("infrastructure", "site development and land"),
        item("infrastructure", "building, power distribution and staff"),
        item("infrastructure", "cooling"),
    )
    for site in p.built:
        land_usd = sites.loc[site, "land_acres"] * sites.loc[site, "land_price_usd_per_acre"]
        it = p.sites.loc[site, "it_capacity_mw"]
        k = cooling.loc[p.sites.loc[site, "cooling_id"]]
        cooling_per_mw = k["capex_usd_per_kw_it"] * KW_PER_MW
        land[site] += f("site_development_usd") * crf(wacc, f("site_development_life_yr")) + land_usd * wacc
        building[site] += it * facility_annual
        cooling_cost[site] += it * (cooling_per_mw * crf(wacc, k["life_yr"]) + k["fom_usd_per_kw_it_yr"] * KW_PER_MW)
        capex[site] += f("site_development_usd") + land_usd + it * (facility_per_mw + cooling_per_mw)
    return items, capex


# --------------------------------------------------------------------------------------------
# checks, in the order they are reported


@dataclass(frozen=True)
class CheckSpec:
    name: str
    description: str
    run: Callable[[_Plan, _Recorder], None]


#: every check after "files" (the reading of the folder), in the order they run and are reported
CHECKS: list[CheckSpec] = []
FILES_CHECK = ("files", "Every table of the plan and of its scenario copy is present and readable")


def _check(name: str, description: str):
    """Register the decorated function as the check ``name``."""

    def register(run: Callable[[_Plan, _Recorder], None]):
        CHECKS.append(CheckSpec(name, description, run))
        return run

    return register


def _dispatch_flow_columns(p: _Plan) -> list[str]:
    """Dispatch columns named after the scenario's technologies: output, bridge output, storage flows."""
    techs = p.s["power_techs"].index
    names = [f"{g}_mw" for g in techs] + [f"bridge_{g}_mw" for g in techs if g != p.grid_tech]
    flows = [f"{prefix}{b}_{flow}" for prefix in REGIMES.values() for b in p.storage_ids for flow in STORAGE_FLOWS]
    return names + flows


def _contract(p: _Plan, name: str) -> dict[str, str]:
    """Columns a table may hold: those it must hold, and in dispatch.csv those of the scenario's technologies
    (which of them it must hold the structure check says: every source's output, the flows of storage built)."""
    if name == "dispatch.csv":
        return {**PLAN_COLUMNS[name], **dict.fromkeys(_dispatch_flow_columns(p), NUMBER)}
    return PLAN_COLUMNS[name]


def _bad_cells(name: str, table: pd.DataFrame, contract: dict[str, str]) -> list[tuple[int, str, str]]:
    """(row, column, what is wrong) of every cell that does not hold what its column promises."""
    numbers = [column for column in contract if contract[column] == NUMBER and column in table.columns]
    words = [column for column in contract if contract[column] != NUMBER and column in table.columns]
    values = table[numbers].to_numpy(dtype=float)
    blank_ok = np.array([(name, column) in BLANK_ALLOWED for column in numbers], dtype=bool)
    bad_numbers = ~np.isfinite(values) & ~(np.isnan(values) & blank_ok)
    found = [(int(i), numbers[j], f"{'blank' if np.isnan(values[i, j]) else values[i, j]} where a finite number is "
              f"needed") for i, j in zip(*np.nonzero(bad_numbers))]
    for column in words:
        if (name, column) not in BLANK_IDS:
            blank = table[column].isna() | (table[column].astype(str).str.strip() == "")
            found += [(int(i), column, "blank where an id or word is needed") for i in np.flatnonzero(blank.to_numpy())]
    return found


@_check("values", "Every table holds exactly the columns of the data contract, and every cell what its column "
        "promises: a finite number (blank only where the contract allows it), a non-blank id or word")
def _check_values(p: _Plan, c: _Recorder) -> None:
    for problem in p.non_numbers:
        c.rule(False, problem)
    for name, table in p.files.items():
        contract = _contract(p, name)
        missing = [column for column in PLAN_COLUMNS[name] if column not in table.columns]
        unknown = [column for column in table.columns if column not in contract]
        c.rule(not missing, f"{name}: no column {', '.join(map(repr, missing))}")
        c.rule(not unknown, f"{name}: column {', '.join(map(repr, unknown))} is not in the data contract "
               f"(PLAN_COLUMNS): nothing checks what it says")
        cells = table.size - len(missing) * len(table)
        bad = _bad_cells(name, table, contract)
        c.rule(True, "", items=cells - len(bad))
        for i, column, wrong in bad:
            c.rule(False, f"{_cell(name, table, i, column)}: {wrong}")


@_check("structure", "Sites, cooling and ids agree with the scenario; only built sites appear in the tables; "
        "dispatch holds every slice of every built site once, with every column")
def _check_structure(p: _Plan, c: _Recorder) -> None:
    for name, key in ROW_KEYS.items():
        table = p.t[name]
        twice = table[table.duplicated(list(key), keep=False)]
        c.rule(twice.empty, f"{name}.csv: {len(twice)} rows share their {'/'.join(key)} (e.g. "
               f"{_location(twice, 0) if len(twice) else ''}); each may appear once", items=len(table))
    scenario_sites = set(p.s["sites"].index)
    c.rule(set(p.sites.index) == scenario_sites,
           f"sites.csv lists {sorted(set(p.sites.index) ^ scenario_sites)} differently from the scenario")
    cooling = p.s["cooling"].index
    for site, built, k in zip(p.sites.index, p.sites["built"], p.sites["cooling_id"]):
        c.rule(built in (0, 1), f"site {site}: built = {built} is not 0/1")
        c.rule(built != 1 or k in cooling, f"site {site}: built but cooling_id '{k}' is not a cooling technology")
        c.rule(built != 0 or not k, f"site {site}: not built but has cooling '{k}'")
    allowed = p.scenario.constraints.allowed_sites
    if allowed is not None:
        for site in p.built:
            c.rule(site in allowed, f"site {site}: built but not in constraints.allowed_sites")

    built = set(p.built)
    for table in ("chips", "allocation", "power", "deliveries", "storage_days"):
        stray = sorted(set(p.t[table]["site_id"].astype(str)) - built)
        c.rule(not stray, f"{table}.csv uses sites that are not built: {stray}")
    costs = p.t["costs"]
    unknown = sorted(set(costs["site_id"].astype(str)) - scenario_sites)
    c.rule(not unknown, f"costs.csv costs sites that are not candidates of the scenario: {unknown}")
    unbuilt = costs[~costs["site_id"].isin(built)]
    c.eq("no cost at a site not built", unbuilt["usd_per_yr"], 0.0, unit="USD/yr", at=unbuilt,
         describe=lambda x: f"costs.csv: site {x.site_id} is not built but costs {x.usd_per_yr:.6g} USD/yr ({x.item})")

    # dispatch covers every slice of every built site exactly once
    slices, d = p.s["slices"], p.dispatch
    expected = {(s, t) for s in built for t in slices.index}
    got = list(zip(d["site_id"].astype(str), d["slice_id"].astype(int)))
    c.rule(len(got) == len(set(got)), "dispatch.csv has duplicate (site, slice) rows")
    missing, extra = expected - set(got), set(got) - expected
    c.rule(not missing and not extra, f"dispatch.csv: {len(missing)} (site, slice) rows missing, {len(extra)} "
           f"unexpected (e.g. {sorted(missing or extra)[:3]})")
    for tech in p.s["power_techs"].index:
        c.rule(f"{tech}_mw" in d.columns, f"dispatch.csv has no column '{tech}_mw'")
    for column in ("carbon_free_mw", "pue", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh"):
        c.rule(column in d.columns, f"dispatch.csv has no column '{column}'")
    for b in p.storage_ids:
        if (p.storage_power["tech_id"] == b).any():
            for column in (f"{b}_charge_mw", f"{b}_discharge_mw", f"{b}_soc_within_day_mwh"):
                c.rule(column in d.columns, f"dispatch.csv has no column '{column}' though {b} is built")
    for column, unit in (("weight_h", "h"), ("period", ""), ("hour", "")):
        frame = d.assign(v_expected=d["slice_id"].map(slices[column]))
        c.eq(f"dispatch {column} = slices.csv", d[column], frame["v_expected"], unit=unit, at=frame,
             describe=lambda x, col=column: f"dispatch {x.site_id}/{x.slice_id}: {col} {getattr(x, col)} differs "
             f"from slices.csv ({x.v_expected})")


#: sites.csv columns copied from the scenario's sites table as they are
SITE_WORDS = ("name", "state", "iso")
SITE_COORDINATES = ("lat", "lon")


@_check("sites", "sites.csv describes the scenario's candidate sites: name, state, ISO and coordinates as in the "
        "scenario copy; a site not built has no IT capacity")
def _check_sites(p: _Plan, c: _Recorder) -> None:
    scenario = p.s["sites"].reindex(p.sites.index)
    for column in SITE_WORDS:
        for site, got, expected in zip(p.sites.index, p.sites[column], scenario[column]):
            c.rule(str(got) == str(expected), f"sites.csv site {site}: {column} {got!r} differs from the scenario "
                   f"copy's {expected!r}")
    for column in SITE_COORDINATES:
        c.eq(f"{column} (sites.csv) = the scenario copy", p.per_site(column), scenario[column].astype(float),
             unit="deg", at=p.site_rows)
    idle = p.sites["built"] != 1
    c.eq("it_capacity_mw = 0 at a site not built", p.per_site("it_capacity_mw")[idle], 0.0, unit="MW",
         at=p.site_rows[idle.to_numpy()])


def _geojson_sites(path: Path) -> pd.DataFrame:
    """The features of the plan's sites.geojson: their properties, and ``v_lon``/``v_lat`` from their geometry."""
    document = json.loads(read_text(path, MAX_PLAN_TABLE_BYTES, "sites.geojson"))
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise ValueError("not a GeoJSON FeatureCollection with a 'features' list")
    rows = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        point = geometry.get("coordinates") if isinstance(geometry, dict) and geometry.get("type") == "Point" else None
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not (isinstance(point, list) and len(point) >= 2 and isinstance(properties, dict)):
            raise ValueError(f"feature {number} is not a Point with properties")
        rows.append({**properties, "v_lon": point[0], "v_lat": point[1]})
    return pd.DataFrame(rows)


def _json_numbers(values: pd.Series) -> pd.Series:
    """JSON numbers as floats, null as blank; anything else (text, a list) as inf, which agrees with nothing."""
    def number(value) -> float:
        if value is None:
            return math.nan
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf

    return values.map(number).astype(float)


def _word(value) -> str:
    """A JSON or CSV value as text; a blank reads the same whether written as null, "" or NaN."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


@_check("sites.geojson", "The plan's map layer says what sites.csv says: the same sites, each a point at its "
        "coordinates, with the same value in every column")
def _check_geojson(p: _Plan, c: _Recorder) -> None:
    try:
        layer = _geojson_sites(p.folder / "sites.geojson")
    except (UnsafeFileError, ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        c.rule(False, f"sites.geojson: cannot be read: {' '.join(str(error).split())}")
        return
    columns = list(p.t["sites"].columns)
    missing = [column for column in columns if column not in layer.columns]
    unknown = [column for column in layer.columns if column not in columns and not column.startswith("v_")]
    c.rule(not missing and not unknown, f"sites.geojson: properties differ from the columns of sites.csv (missing "
           f"{missing}, unknown {unknown})")
    ids = layer["site_id"].astype(str) if "site_id" in layer else pd.Series(dtype=str)
    c.rule(sorted(ids) == sorted(p.sites.index), f"sites.geojson lists sites {sorted(set(ids) ^ set(p.sites.index))} "
           f"differently from sites.csv (or twice)")
    if missing or ids.duplicated().any():
        return
    layer = layer.assign(site_id=ids).set_index("site_id").reindex(p.sites.index)
    for column, point in (("lon", "v_lon"), ("lat", "v_lat")):
        c.eq(f"sites.geojson point {column} = sites.csv", _json_numbers(layer[point]),
             p.per_site(column), unit="deg", at=p.site_rows)
    table = p.t["sites"].set_index("site_id")
    for column in [column for column in columns if column != "site_id"]:
        if PLAN_COLUMNS["sites.csv"].get(column) == NUMBER:
            c.eq(f"sites.geojson {column} = sites.csv", _json_numbers(layer[column]), table[column],
                 unit="", at=p.site_rows)
        else:
            for site, got, expected in zip(table.index, layer[column], table[column]):
                c.rule(_word(got) == _word(expected), f"sites.geojson site {site}: {column} {got!r} differs from "
                       f"sites.csv {expected!r}")


@_check("time", "The representative days: their weights add up to the year in whole days, the calendar maps "
        "every day to one of them, and profiles.csv holds every site and hour")
def _check_time(p: _Plan, c: _Recorder) -> None:
    slices, days, profiles = p.s["slices"], p.s["days"], p.s["profiles"]
    c.eq("sum of slice weights = hours per year", slices["weight_h"].sum(), HOURS_PER_YEAR, unit="h", at="slices.csv")
    c.rule(not slices.index.duplicated().any(), "slices.csv: duplicate slice ids")
    for period, group in slices.groupby("period"):
        c.rule(sorted(group["hour"].tolist()) == list(range(HOURS_PER_DAY)),
               f"slices.csv: period {period} does not hold hours 0..23 once each ({len(group)} slices)")
        c.rule(group["weight_h"].nunique() == 1, f"slices.csv: period {period} has different weights within the day")
    c.rule(sorted(days.index.tolist()) == list(range(DAYS_PER_YEAR)),
           f"days.csv: {len(days)} rows; needs every day 0..{DAYS_PER_YEAR - 1} once")
    stray = sorted(set(days["period"]) - set(slices["period"]))
    c.rule(not stray, f"days.csv: days mapped to periods {stray} that slices.csv does not have")
    # a slice of period p stands for one hour on each calendar day p represents
    counts = days["period"].value_counts()
    frame = slices.reset_index().assign(v_days=lambda x: x["period"].map(counts).fillna(0.0))
    c.eq("slice weight = calendar days of its period", frame["weight_h"], frame["v_days"], unit="h", at=frame,
         describe=lambda x: f"slice {x.slice_id} (period {x.period}): weight_h {x.weight_h:g} != {x.v_days:g} "
         f"calendar days mapped to its period in days.csv")

    expected = {(s, t) for s in p.s["sites"].index for t in slices.index}
    got = set(profiles.index)
    c.rule(got == expected and not profiles.index.duplicated().any(), f"profiles.csv: {len(expected - got)} (site, "
           f"slice) rows missing, {len(got - expected)} unexpected, or duplicates")
    rows = profiles.reset_index()
    for quantity in HOURLY_QUANTITIES:
        c.rule(quantity in profiles.columns, f"profiles.csv has no column '{quantity}'")
        if quantity not in profiles.columns:
            continue
        values = rows[quantity].astype(float)
        c.rule(not values.isna().any(), f"profiles.csv: blank {quantity} values")
        if quantity.endswith("_cf"):
            known = rows[values.notna()]
            for rule, lhs, rhs in (("capacity factor >= 0", 0.0, known[quantity]), ("capacity factor <= 1", known[quantity], 1.0)):
                c.le(rule, lhs, rhs, unit="CF", at=known, describe=lambda x, q=quantity: f"profiles.csv "
                     f"{x.site_id}/{x.slice_id}: {q} {getattr(x, q):.6g} outside [0, 1]")

    summary = p.summary
    c.eq("summary periods = periods of slices.csv", summary["periods"], slices["period"].nunique(), unit="", at="summary")
    c.eq("summary slices = rows of slices.csv", summary["slices"], len(slices), unit="", at="summary")
    c.eq("summary representative_days = time.representative_days", summary["representative_days"],
         p.scenario.time.representative_days, unit="", at="summary")


def _input_hours(p: _Plan, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """8760-hour input series of one quantity (sites x hours, blank grid values at the site's annual value) and
    the same sorted within each site; worked out once per scenario copy."""
    memo = p.inputs.hours
    if quantity not in memo:
        hourly, sites = p.s["hourly"], p.s["sites"]
        hours = range(int(HOURS_PER_YEAR))
        if quantity in hourly.columns:
            wide = hourly[quantity].astype(float).unstack("hour").reindex(index=sites.index, columns=hours).to_numpy()
        else:
            wide = np.full((len(sites), len(hours)), np.nan)
        if quantity in ANNUAL_FALLBACK:
            wide = np.where(np.isnan(wide), sites[quantity].to_numpy(dtype=float)[:, None], wide)
        memo[quantity] = wide, np.sort(wide, axis=1)
    return memo[quantity]


def _slice_of_each_hour(p: _Plan) -> np.ndarray:
    """Position in slices.csv of the slice that stands for each of the 8760 hours (day by day); -1 where none does."""
    slices, days = p.s["slices"], p.s["days"]["period"].sort_index()
    positions = pd.Series(np.arange(len(slices)), index=pd.MultiIndex.from_arrays([slices["period"], slices["hour"]]))
    positions = positions[~positions.index.duplicated()]  # duplicates: the time check
    wanted = pd.MultiIndex.from_arrays([np.repeat(days.to_numpy(), HOURS_PER_DAY), np.tile(np.arange(HOURS_PER_DAY),
                                                                                            len(days))])
    return positions.reindex(wanted).fillna(-1).to_numpy(dtype=int)


def _aggregation_measured(p: _Plan, hour_slices: np.ndarray) -> pd.DataFrame:
    """Each site and quantity's annual mean, mean error, RMSE and duration-curve RMSE of the representative days."""
    sites, slices = list(p.s["sites"].index), p.s["slices"].index
    quantities = [q for q in HOURLY_QUANTITIES if q in p.s["profiles"].columns]  # others: the time check
    wide = p.s["profiles"][quantities].unstack("slice_id")
    frames = []
    for quantity in quantities:
        original, ordered = _input_hours(p, quantity)
        rebuilt = wide[quantity].reindex(index=sites, columns=slices).to_numpy(dtype=float)[:, hour_slices]
        frames.append(pd.DataFrame({
            "site_id": sites,
            "quantity": quantity,
            "annual_mean": original.mean(axis=1),
            "mean_error": rebuilt.mean(axis=1) - original.mean(axis=1),
            "rmse": np.sqrt(((original - rebuilt) ** 2).mean(axis=1)),
            "duration_rmse": np.sqrt(((ordered - np.sort(rebuilt, axis=1)) ** 2).mean(axis=1)),
        }))
    return pd.concat(frames, ignore_index=True)


@_check("aggregation error", "How far the representative days are from the 8760 input hours, re-measured from "
        "hourly inputs, days.csv and profiles.csv, matches aggregation_error.csv and its copy")
def _check_aggregation_error(p: _Plan, c: _Recorder) -> None:
    reported = p.t["aggregation_error"].set_index(["site_id", "quantity"]).sort_index()
    copied = p.copied_error.set_index(["site_id", "quantity"]).sort_index()
    c.rule(reported.index.equals(copied.index), "aggregation_error.csv lists other (site, quantity) rows than "
           "scenario/aggregation_error.csv")
    expected = {(s, q) for s in p.s["sites"].index for q in HOURLY_QUANTITIES}
    c.rule(set(reported.index) == expected and not reported.index.duplicated().any(),
           f"aggregation_error.csv: {len(expected - set(reported.index))} (site, quantity) rows missing, "
           f"{len(set(reported.index) - expected)} unexpected, or duplicates")
    hour_slices = _slice_of_each_hour(p)
    if (hour_slices < 0).any():
        c.rule(False, "days.csv / slices.csv: some calendar hours have no slice of their period and hour")
        return
    measured = _aggregation_measured(p, hour_slices)
    # duplicates are named above; the first of them is compared
    keys = pd.MultiIndex.from_frame(measured[["site_id", "quantity"]])
    aligned = [table[~table.index.duplicated()].reindex(keys) for table in (reported, copied)]
    for quantity, rows in measured.groupby("quantity", sort=False):
        for column in ("annual_mean", "mean_error", "rmse", "duration_rmse"):
            got, copy = (table[column].to_numpy(dtype=float)[rows.index] if column in table
                         else np.full(len(rows), np.nan) for table in aligned)
            frame = rows.assign(v_got=got, v_copy=copy)
            c.eq(f"{column} = re-measured", got, rows[column], unit=HOURLY_QUANTITIES[quantity],
                 scale=_scale(got, rows[column], 1.0), at=frame,
                 describe=lambda x, col=column: f"aggregation_error.csv {x.site_id}/{x.quantity}: {col} {x.v_got:.9g} "
                 f"!= {getattr(x, col):.9g} re-measured from hourly.csv.gz, days.csv and profiles.csv")
            c.eq(f"{column} = scenario/aggregation_error.csv", got, copy, unit=HOURLY_QUANTITIES[quantity], at=frame,
                 describe=lambda x, col=column: f"aggregation_error.csv {x.site_id}/{x.quantity}: {col} {x.v_got:.9g} "
                 f"differs from scenario/aggregation_error.csv ({x.v_copy:.9g})")
    for quantity in SUMMARY_RMSE:
        listed = quantity in reported.index.get_level_values("quantity")
        mean = reported.xs(quantity, level="quantity")["rmse"].mean() if listed else np.nan
        c.eq(f"summary aggregation_rmse_{quantity} = mean rmse over sites", p.summary[f"aggregation_rmse_{quantity}"],
             mean, unit=HOURLY_QUANTITIES[quantity], at="summary")


def _power_columns(p: _Plan) -> list[str]:
    """Dispatch columns that are powers and can never be negative."""
    d = p.dispatch
    names = ["it_mw", "facility_mw", *(f"{g}_mw" for g in p.s["power_techs"].index)]
    names += [f"{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")]
    names += [c for c in d.columns if c.startswith("bridge_") and c.endswith("_mw")]
    return [c for c in names if c in d.columns]


@_check("energy balance", "In every slice of every site, generation + grid + storage discharge - charging = "
        "facility load, and no power is negative")
def _check_energy_balance(p: _Plan, c: _Recorder) -> None:
    d = p.dispatch
    supply = p.dispatch_sum(f"{g}_mw" for g in p.s["power_techs"].index)
    discharge = p.dispatch_sum(f"{b}_discharge_mw" for b in p.storage_ids)
    charge = p.dispatch_sum(f"{b}_charge_mw" for b in p.storage_ids)
    net = supply + discharge - charge
    frame = d.assign(v_net=net)
    c.eq("supply - charging = facility load", net, d["facility_mw"], unit="MW", at=frame,
         scale=_scale(supply + discharge, charge, d["facility_mw"]),
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: supply - charging {x.v_net:.9g} MW != facility "
         f"load {x.facility_mw:.9g} MW")
    for column in _power_columns(p):
        c.le(f"{column} >= 0", 0.0, d[column], unit="MW", at=d,
             describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} is negative or blank "
             f"({getattr(x, col):.6g})")


@_check("pue", "Facility load = IT load x the hourly PUE of the chosen cooling in the slice's weather; annual "
        "energy, PUE, peak load and energy per token agree with the dispatch")
def _check_pue(p: _Plan, c: _Recorder) -> None:
    d = p.dispatch
    pue, _ = p.pue_wue
    temp, wetbulb = p.profile("temp_c"), p.profile("wetbulb_c")
    frame = d.assign(v_expected=d["it_mw"] * pue, v_pue=pue, v_temp=temp, v_wet=wetbulb)
    c.eq("facility load = IT load x PUE", d["facility_mw"], frame["v_expected"], unit="MW", at=frame,
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: facility {x.facility_mw:.9g} MW != IT "
         f"{x.it_mw:.9g} MW x PUE {x.v_pue:.6g} ({x.v_temp:.4g} C dry-bulb, {x.v_wet:.4g} C wet-bulb)")
    running = frame[d["it_mw"] > 0]
    c.eq("reported pue = PUE from cooling.csv", running["pue"] if "pue" in d else np.nan, running["v_pue"], unit="",
         at=running, describe=lambda x: f"site {x.site_id} slice {x.slice_id}: reported pue {x.pue:.9g} != "
         f"{x.v_pue:.9g} from cooling.csv")
    idle = frame[~(d["it_mw"] > 0)]
    c.eq("pue blank without IT load", idle["pue"], np.nan, unit="", at=idle)
    for column, values in (("temp_c", temp), ("wetbulb_c", wetbulb)):
        c.eq(f"dispatch {column} = profiles.csv", p.dispatch_column(column), values, unit="C", at=frame,
             describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col)} differs "
             f"from profiles.csv")

    # annual figures of sites.csv and summary.csv
    it_mwh, facility_mwh = p.annual("it_mw"), p.annual("facility_mw")
    peak = d.groupby("site_id")["facility_mw"].max().reindex(p.sites.index, fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        annual_pue = np.where(it_mwh > 0, facility_mwh / it_mwh, np.nan)
    for column, expected, unit, rule in (
        ("it_energy_mwh_per_yr", it_mwh, "MWh/yr", "vs dispatch"),
        ("facility_energy_mwh_per_yr", facility_mwh, "MWh/yr", "vs dispatch"),
        ("annual_pue", annual_pue, "", "vs facility / IT energy"),
        ("peak_facility_mw", peak, "MW", "vs dispatch"),
    ):
        c.eq(f"{column} (sites.csv) {rule}", p.per_site(column), expected, unit=unit, at=p.site_rows)
    summary, tokens = p.summary, float(p.summary["delivered_tokens_per_yr"])
    c.eq("facility_energy_mwh_per_yr vs dispatch", summary["facility_energy_mwh_per_yr"], facility_mwh.sum(),
         unit="MWh/yr", at="summary")
    c.eq("energy_j_per_token vs dispatch", summary["energy_j_per_token"], _per(facility_mwh.sum() * J_PER_MWH, tokens),
         unit="J/token", at="summary")


@_check("it load", "IT load is the same in every slice, within the site's IT capacity, and equal to the racks "
        "assigned to workloads x their rack power")
def _check_it_load(p: _Plan, c: _Recorder) -> None:
    d, chips, alloc = p.dispatch, p.s["chips"], p.t["allocation"]
    racks_mw = alloc["racks_assigned"] * alloc["chip_id"].map(chips["rack_power_kw"]) / KW_PER_MW
    running = racks_mw.groupby(alloc["site_id"]).sum()
    it = d.groupby("site_id")["it_mw"].agg(["min", "max", "mean"])
    frame = it.assign(v_abs=d["it_mw"].abs().groupby(d["site_id"]).max(), v_cap=p.sites["it_capacity_mw"].reindex(it.index),
                      v_running=running.reindex(it.index, fill_value=0.0)).reset_index()
    c.eq("IT load the same in every slice", frame["max"], frame["min"], unit="MW", scale=frame["v_abs"], at=frame,
         describe=lambda x: f"site {x.site_id}: IT load varies between slices ({x.min:.9g}..{x.max:.9g} MW)")
    c.le("IT load <= it_capacity_mw", frame["max"], frame["v_cap"], unit="MW", at=frame)
    c.eq("IT load = racks assigned x rack power (allocation.csv)", frame["mean"], frame["v_running"], unit="MW",
         at=frame, atol=1e-5)


@_check("generation", "Each source's output in every slice is within its capacity x availability (hourly wind and "
        "solar factors); only allowed sources that are ready by online_by_year are built; power.csv energy figures")
def _check_generation(p: _Plan, c: _Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    for tech in techs.index:
        column = f"{tech}_mw"
        if column not in d.columns:
            continue  # reported by the structure check
        capacity = d["site_id"].map(lambda s, g=tech: p.capacity(s, g))
        avail = p.availability(tech)
        frame = d.assign(v_cap=capacity, v_av=avail)
        c.le(f"{tech} output <= capacity x availability", d[column], capacity * avail, unit="MW", at=frame,
             describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col):.9g} > "
             f"capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}")

    c.eq("energy_capacity_mwh blank for a generator", p.gen_power["energy_capacity_mwh"], np.nan, unit="MWh",
         at=p.gen_power)

    # technologies that could not be built or used by the online-by year (lead time, first year, policy)
    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.gen_power.itertuples(index=False):
        where = f"site {row.site_id}, {row.tech_id}"
        c.rule(row.tech_id in techs.index, f"power.csv: unknown technology '{row.tech_id}' at {row.site_id}")
        if row.tech_id not in techs.index:
            continue
        tech = techs.loc[row.tech_id]
        c.rule(row.kind == tech["kind"], f"power.csv: {row.site_id}/{row.tech_id} kind '{row.kind}' != power_techs.csv "
               f"'{tech['kind']}'")
        if limits.allowed_power_techs is not None:
            c.rule(row.tech_id in limits.allowed_power_techs or row.capacity_mw <= ATOL,
                   f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs")
        if p.online_by is not None:
            ready = start + math.ceil(tech["lead_time_yr"])
            c.rule((ready <= p.online_by and tech["first_year"] <= p.online_by) or row.capacity_mw <= ATOL,
                   f"site {row.site_id}: {row.tech_id} built ({row.capacity_mw:.6g} MW) but cannot operate by "
                   f"{p.online_by} (ready {ready}, first year {tech['first_year']})")
        # the power.csv summary of the dispatch
        energy = float(p.annual(f"{row.tech_id}_mw").get(row.site_id, 0.0))
        c.eq("generation_mwh_per_yr vs dispatch", row.generation_mwh_per_yr, energy, unit="MWh/yr", at=where)
        c.eq("capacity_factor vs generation / (capacity x 8760 h)", row.capacity_factor,
             energy / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan, unit="", at=where)


@_check("grid", "Grid import in every slice is within the site's grid capacity and the connection built; a grid "
        "online after online_by_year is used only after bridge years; sites.csv grid figures and hourly prices")
def _check_grid(p: _Plan, c: _Recorder) -> None:
    d, sites = p.dispatch, p.s["sites"]
    grid = p.dispatch_column(f"{p.grid_tech}_mw")
    frame = d.assign(v_grid=grid, v_limit=d["site_id"].map(sites["grid_capacity_mw"]).astype(float),
                     v_conn=d["site_id"].map(lambda s: p.capacity(s, p.grid_tech)))
    c.le("grid import <= grid_capacity_mw", grid, frame["v_limit"], unit="MW", at=frame,
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW > grid_capacity_mw "
         f"{x.v_limit:.9g}")
    c.le("grid import <= grid connection built", grid, frame["v_conn"], unit="MW", at=frame,
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW > grid connection "
         f"built {x.v_conn:.9g} MW (power.csv)")
    connections = p.gen_power[p.gen_power["tech_id"] == p.grid_tech]
    c.le("grid connection built (power.csv) <= grid_capacity_mw", connections["capacity_mw"],
         connections["site_id"].map(sites["grid_capacity_mw"]), unit="MW", at=connections)
    if p.online_by is not None:
        # a grid that arrives late may be used only at a bridge site (bridge_power), carried until then
        bridge = set(p.bridge_sites)
        late = [s for s in sites.index[sites["grid_online_year"] > p.online_by] if s not in bridge]
        why = "bridge_power is off" if not p.scenario.constraints.bridge_power else "the grid is not allowed there"
        at_late = frame[d["site_id"].isin(late)]
        c.eq("no grid import before a late grid is online", at_late["v_grid"], 0.0, unit="MW", at=at_late,
             describe=lambda x: f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW but the grid "
             f"connection is online only in {sites.loc[x.site_id, 'grid_online_year']} > online_by_year "
             f"{p.online_by} and {why}")
        for row in connections[connections["site_id"].isin(late)].itertuples(index=False):
            c.rule(row.capacity_mw <= ATOL, f"site {row.site_id}: grid connection built but online only after "
                   f"{p.online_by} ({why})")
    # the sites.csv copies and the peak match the dispatch
    peak = grid.groupby(d["site_id"]).max().reindex(p.sites.index, fill_value=0.0)
    c.eq("peak_grid_import_mw (sites.csv) vs dispatch", p.per_site("peak_grid_import_mw"), peak, unit="MW",
         at=p.site_rows)
    for column, unit in (("grid_capacity_mw", "MW"), ("grid_online_year", "year")):
        c.eq(f"{column} (sites.csv) vs the scenario", p.per_site(column), sites[column].reindex(p.sites.index),
             unit=unit, at=p.site_rows)
    for column, unit in (("grid_price_usd_per_mwh", "USD/MWh"), ("grid_co2_kg_per_mwh", "kg/MWh")):
        c.eq(f"dispatch {column} = profiles.csv", p.dispatch_column(column), p.profile(column), unit=unit, at=d,
             describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} differs from profiles.csv")


@_check("bridge", "Until a late grid arrives, on-site generation and storage alone carry the facility load "
        "within their capacity; no bridge generation elsewhere; grid wait, bridge share and bridge energy figures")
def _check_bridge(p: _Plan, c: _Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    share, wait = p.bridge_share.reindex(p.sites.index), p.grid_wait_yr.reindex(p.sites.index)
    c.eq("grid_wait_yr (sites.csv) vs grid_online_year - online_by_year", p.per_site("grid_wait_yr"), wait, unit="yr",
         at=p.site_rows)
    c.eq("bridge_share (sites.csv) vs present-value share of the wait", p.per_site("bridge_share"), share, unit="",
         at=p.site_rows)

    storage_columns = {f"bridge_{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")}
    columns = [col for col in d.columns if col.startswith("bridge_") and col.endswith("_mw") and col not in storage_columns]
    bridge_techs = {col: col[len("bridge_"):-len("_mw")] for col in columns}
    on_site = {col: tech for col, tech in bridge_techs.items() if tech in techs.index and tech != p.grid_tech}
    for column in [col for col in columns if col not in on_site]:
        c.rule(not (d[column].abs() > ATOL).any(), f"dispatch.csv: {column} carries power but "
               f"'{bridge_techs[column]}' is not an on-site technology")
    for column, tech in on_site.items():
        capacity = d["site_id"].map(lambda s, g=tech: p.capacity(s, g))
        avail = p.availability(tech)
        frame = d.assign(v_cap=capacity, v_av=avail)
        c.le(f"bridge {tech} output <= capacity x availability", d[column], capacity * avail, unit="MW", at=frame,
             describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col):.9g} > "
             f"capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}")

    # bridge-year batteries shift energy within the bridge years as they do in the grid years
    supply = p.dispatch_sum(on_site) + p.dispatch_sum(f"bridge_{b}_discharge_mw" for b in p.storage_ids) - p.dispatch_sum(
        f"bridge_{b}_charge_mw" for b in p.storage_ids)
    bridging = d["site_id"].map(share).fillna(0.0) > 0
    frame = d.assign(v_supply=supply)
    c.eq("bridge supply = facility load while the grid is not yet online", frame["v_supply"][bridging],
         d["facility_mw"][bridging], unit="MW", at=frame[bridging],
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: bridge generation + net bridge storage "
         f"{x.v_supply:.9g} MW != facility load {x.facility_mw:.9g} MW while the grid is not yet online")
    c.eq("no bridge supply at a site without bridge years", frame["v_supply"][~bridging], 0.0, unit="MW",
         at=frame[~bridging], describe=lambda x: f"site {x.site_id} slice {x.slice_id}: bridge generation "
         f"{x.v_supply:.9g} MW at a site without bridge years")

    for row in p.power.itertuples(index=False):
        energy = float(p.annual(f"bridge_{row.tech_id}_mw").get(row.site_id, 0.0)) if row.kind != "storage" else 0.0
        c.eq("bridge_generation_mwh_per_yr (power.csv) vs dispatch", row.bridge_generation_mwh_per_yr, energy,
             unit="MWh/yr", at=f"site {row.site_id}, {row.tech_id}")


@_check("cfe", "24/7 carbon-free supply: carbon_free_mw as recomputed (clean generation, the grid's clean share, "
        "net storage), at least cfe_share of supply in every slice of grid and bridge years; cfe_score")
def _check_carbon_free(p: _Plan, c: _Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    clean = p.dispatch_sum(f"{g}_mw" for g in p.clean_techs)
    generation = p.dispatch_sum(f"{g}_mw" for g in techs.index)
    net_storage = p.dispatch_sum(f"{b}_discharge_mw" for b in p.storage_ids) - p.dispatch_sum(
        f"{b}_charge_mw" for b in p.storage_ids)
    grid_cfe = d["site_id"].map(p.s["sites"]["grid_cfe_share"]).astype(float)
    carbon_free = clean + grid_cfe * p.dispatch_column(f"{p.grid_tech}_mw") + net_storage
    load = generation + net_storage
    share = p.scenario.constraints.cfe_share
    frame = d.assign(v_free=carbon_free, v_load=load)
    if "carbon_free_mw" in d.columns:
        c.eq("carbon_free_mw = clean generation + grid x grid_cfe_share + net storage", d["carbon_free_mw"],
             carbon_free, unit="MW", scale=_scale(carbon_free, load), at=frame,
             describe=lambda x: f"site {x.site_id} slice {x.slice_id}: carbon_free_mw {x.carbon_free_mw:.9g} != clean "
             f"generation + grid x grid_cfe_share + net storage discharge = {x.v_free:.9g}")
    if share > 0:
        c.le("cfe_share x supply <= carbon-free supply", share * load, carbon_free, unit="MW",
             scale=_scale(carbon_free, load), at=frame,
             describe=lambda x: f"site {x.site_id} slice {x.slice_id}: carbon-free supply {x.v_free:.9g} MW < "
             f"cfe_share {share:g} x supply {x.v_load:.9g} MW")
        # the bridge years too: no grid, on-site generation and bridge storage only
        b_clean = p.dispatch_sum(f"bridge_{g}_mw" for g in p.clean_techs)
        b_gen = p.dispatch_sum(f"bridge_{g}_mw" for g in techs.index if g != p.grid_tech)
        b_net = p.dispatch_sum(f"bridge_{b}_discharge_mw" for b in p.storage_ids) - p.dispatch_sum(
            f"bridge_{b}_charge_mw" for b in p.storage_ids)
        frame = d.assign(v_free=b_clean + b_net, v_load=b_gen + b_net)
        c.le("cfe_share x bridge supply <= bridge carbon-free supply", share * frame["v_load"], frame["v_free"],
             unit="MW", scale=_scale(b_clean, b_gen), at=frame,
             describe=lambda x: f"site {x.site_id} slice {x.slice_id}: bridge-year carbon-free supply {x.v_free:.9g} "
             f"MW < cfe_share {share:g} x bridge supply {x.v_load:.9g} MW")

    matched = (carbon_free.clip(lower=0.0).clip(upper=d["facility_mw"]) * p.w).groupby(d["site_id"]).sum()
    served = (d["facility_mw"] * p.w).groupby(d["site_id"]).sum()
    score = (matched / served.where(served > 0)).reindex(p.sites.index)
    c.eq("cfe_score (sites.csv) vs hourly-matched carbon-free share", p.per_site("cfe_score"), score, unit="",
         at=p.site_rows)


@_check("land", "Each site's IT and generation footprint fits within its land")
def _check_land(p: _Plan, c: _Recorder) -> None:
    power = p.power
    per_mw = np.where(power["kind"] == "storage", power["tech_id"].map(p.s["storage_techs"]["land_acres_per_mw"]),
                      power["tech_id"].map(p.s["power_techs"]["land_acres_per_mw"])).astype(float)
    footprint = power["capacity_mw"].to_numpy(dtype=float) * per_mw
    c.eq("land_acres (power.csv) vs capacity x land_acres_per_mw", power["land_acres"], footprint, unit="acres",
         at=power)
    generation = pd.Series(footprint).groupby(power["site_id"].to_numpy()).sum().reindex(p.sites.index, fill_value=0.0)
    acres = p.per_site("it_capacity_mw") * p.facility("it_acres_per_mw") + generation
    scenario = p.s["sites"]["land_acres"].reindex(p.sites.index).astype(float)
    land = scenario.where(p.sites.index.isin(p.built), 0.0)
    c.le("IT + generation footprint <= land_acres", acres, land, unit="acres", at=p.site_rows)
    c.eq("land_used_acres (sites.csv) vs recomputed", p.per_site("land_used_acres"), acres, unit="acres",
         at=p.site_rows)
    c.eq("land_acres (sites.csv) vs the scenario", p.per_site("land_acres"), scenario, unit="acres", at=p.site_rows)


@_check("racks", "Whole racks of known SKUs shipped by online_by_year; chips = racks x chips per rack; rack power "
        "within the site's IT capacity; chip supply limits; rack and chip counts of sites.csv and summary.csv")
def _check_racks(p: _Plan, c: _Recorder) -> None:
    chips, plan_chips = p.s["chips"], p.t["chips"]
    known = plan_chips["chip_id"].isin(chips.index)
    for row in plan_chips[~known].itertuples(index=False):
        c.rule(False, f"site {row.site_id} chip {row.chip_id}: unknown chip")
    rows = plan_chips[known]

    def not_whole(x) -> str:
        return f"site {x.site_id} chip {x.chip_id}: {x.racks} racks is not a non-negative integer"

    c.eq("whole racks", rows["racks"], rows["racks"].round(), unit="racks", scale=0.0, at=rows, describe=not_whole)
    c.le("racks >= 0", 0.0, rows["racks"], unit="racks", at=rows, describe=not_whole)
    sku = chips.reindex(rows["chip_id"])
    c.eq("chips = racks x chips_per_rack", rows["chips"], rows["racks"].to_numpy() * sku["chips_per_rack"].to_numpy(),
         unit="chips", at=rows)
    c.eq("rack_power_kw = chips table", rows["rack_power_kw"], sku["rack_power_kw"], unit="kW", at=rows)
    if p.online_by is not None:
        shipping = rows[rows["racks"] > 0]
        frame = shipping.assign(v_year=shipping["chip_id"].map(chips["available_year"]))
        c.le("SKU available_year <= online_by_year", frame["v_year"], p.online_by, unit="year", scale=0.0, at=frame,
             describe=lambda x: f"site {x.site_id} chip {x.chip_id}: SKU ships only in {x.v_year:g} > {p.online_by}")

    rack_mw = plan_chips["racks"] * plan_chips["chip_id"].map(chips["rack_power_kw"]) / KW_PER_MW
    by_site = pd.DataFrame({"mw": rack_mw, "racks": plan_chips["racks"], "chips": plan_chips["chips"]}).groupby(
        plan_chips["site_id"]).sum().reindex(p.sites.index, fill_value=0.0)
    c.le("racks x rack_power_kw <= it_capacity_mw", by_site["mw"], p.per_site("it_capacity_mw"), unit="MW", at=p.site_rows)
    c.eq("racks (sites.csv) = chips.csv", p.per_site("racks"), by_site["racks"], unit="racks", at=p.site_rows)
    c.eq("chips (sites.csv) = chips.csv", p.per_site("chips"), by_site["chips"], unit="chips", at=p.site_rows)
    summary = p.summary
    c.eq("chips = chips.csv", summary["chips"], plan_chips["chips"].sum(), unit="chips", at="summary")
    c.eq("sites_built = sites.csv", summary["sites_built"], len(p.built), unit="sites", at="summary")
    c.eq("it_capacity_mw = sites.csv", summary["it_capacity_mw"], p.sites["it_capacity_mw"].sum(), unit="MW",
         at="summary")

    limits = chips["supply_limit_chips"].dropna()
    installed = plan_chips.groupby("chip_id")["chips"].sum().reindex(limits.index, fill_value=0.0)
    c.le("accelerators installed <= supply_limit_chips", installed, limits, unit="chips",
         at=pd.DataFrame({"chip_id": limits.index}))


@_check("chips table", "chips.csv per site and SKU: IT MW = racks x rack kW, capex = racks x chips per rack x "
        "(price + system) per chip, from the scenario copy's chips table")
def _check_chips_table(p: _Plan, c: _Recorder) -> None:
    chips, plan_chips = p.s["chips"], p.t["chips"]
    rows = plan_chips[plan_chips["chip_id"].isin(chips.index)]  # unknown SKUs: the racks check
    sku = chips.reindex(rows["chip_id"])
    racks = rows["racks"].to_numpy(dtype=float)
    it_mw = racks * sku["rack_power_kw"].to_numpy(dtype=float) / KW_PER_MW
    per_chip = (sku["price_usd_per_chip"] + sku["system_usd_per_chip"]).to_numpy(dtype=float)
    capex = racks * sku["chips_per_rack"].to_numpy(dtype=float) * per_chip
    c.eq("it_mw = racks x rack_power_kw", rows["it_mw"], it_mw, unit="MW", at=rows)
    c.eq("capex_usd = racks x chips_per_rack x (price_usd_per_chip + system_usd_per_chip)", rows["capex_usd"], capex,
         unit="USD", at=rows, atol=COST_ATOL_USD)


@_check("cooling", "Every rack's power is within the rack density its site's cooling can remove (max_rack_kw)")
def _check_cooling(p: _Plan, c: _Recorder) -> None:
    chips, cooling, plan_chips = p.s["chips"], p.s["cooling"], p.t["chips"]
    k = plan_chips["site_id"].map(p.sites["cooling_id"])
    rows = plan_chips[k.isin(cooling.index) & plan_chips["chip_id"].isin(chips.index)]  # others: structure, racks
    frame = rows.assign(v_kw=rows["chip_id"].map(chips["rack_power_kw"]), v_k=k[rows.index],
                        v_max=k[rows.index].map(cooling["max_rack_kw"]))
    c.le("rack power <= max_rack_kw of the cooling", frame["v_kw"], frame["v_max"], unit="kW", at=frame,
         describe=lambda x: f"site {x.site_id} chip {x.chip_id}: rack of {x.v_kw} kW under cooling '{x.v_k}' rated for "
         f"{x.v_max} kW")


@_check("unit sizes", "Plants with a unit size are built in whole units, and their unit counts match their capacity; "
        "other plants and storage have no unit count")
def _check_units(p: _Plan, c: _Recorder) -> None:
    unit_size = p.s["power_techs"]["unit_size_mw"].dropna()
    rows = p.gen_power[p.gen_power["tech_id"].isin(unit_size.index)]
    size = rows["tech_id"].map(unit_size).astype(float)
    n = rows["capacity_mw"] / size
    frame = rows.assign(v_size=size)
    c.eq("capacity = a whole number of units", n, n.round(), unit="units", scale=np.maximum(n.abs(), 1.0), at=frame,
         describe=lambda x: f"site {x.site_id}: {x.tech_id} capacity {x.capacity_mw:.9g} MW is not a multiple of its "
         f"{x.v_size:g} MW unit")
    c.eq("units x unit size = capacity", frame["units"] * frame["v_size"], frame["capacity_mw"], unit="MW", at=frame)
    continuous = p.power[~p.power["tech_id"].isin(unit_size.index)]
    c.eq("units blank without a unit size", continuous["units"], np.nan, unit="units", at=continuous,
         describe=lambda x: f"power.csv site {x.site_id}: {x.tech_id} has no unit size but claims {x.units} units")


def _within_day_table(p: _Plan, site: str, b: str, prefix: str = "") -> pd.DataFrame:
    """State of charge since the start of the day, periods x hours, at one site (from dispatch)."""
    d = p.dispatch[p.dispatch["site_id"] == site]
    column = f"{prefix}{b}_soc_within_day_mwh"
    values = d[column] if column in d.columns else pd.Series(0.0, index=d.index)
    slices = p.s["slices"]
    return pd.DataFrame({"period": d["slice_id"].map(slices["period"]), "hour": d["slice_id"].map(slices["hour"]),
                         "soc": values.astype(float)}).pivot(index="period", columns="hour", values="soc").sort_index(axis=1)


def _check_storage_flows(p: _Plan, c: _Recorder, b: str, prefix: str) -> None:
    """One storage tech in one regime: power rating shared by both directions, the level within each day."""
    d, slices = p.dispatch, p.s["slices"]
    name = f"{prefix}{b}"
    frame = d.assign(
        v_c=p.dispatch_column(f"{name}_charge_mw"), v_d=p.dispatch_column(f"{name}_discharge_mw"),
        v_soc=p.dispatch_column(f"{name}_soc_within_day_mwh"), v_p=d["site_id"].map(lambda s: p.capacity(s, b)),
        v_e=d["site_id"].map(lambda s: p.capacity(s, b, "energy_capacity_mwh")),
        v_period=d["slice_id"].map(slices["period"]), v_hour=d["slice_id"].map(slices["hour"]),
    ).sort_values(["site_id", "v_period", "v_hour"])
    # one power rating for both directions: charge + discharge in an hour stay within it
    c.le(f"{name} charge + discharge <= power", frame["v_c"] + frame["v_d"], frame["v_p"], unit="MW", at=frame,
         describe=lambda x: f"site {x.site_id} slice {x.slice_id}: {name} charge {x.v_c:.9g} + discharge {x.v_d:.9g} MW "
         f"exceed its power {x.v_p:.9g} MW")
    # within a representative day the level starts from 0 and moves by the (lossy) flows
    eta = math.sqrt(float(p.s["storage_techs"].loc[b, "round_trip_efficiency"]))
    previous = frame.groupby(["site_id", "v_period"])["v_soc"].shift(fill_value=0.0)
    frame = frame.assign(v_exp=previous + eta * frame["v_c"] - frame["v_d"] / eta)
    c.eq(f"{name} soc_within_day = previous hour + sqrt(eta) x charge - discharge / sqrt(eta)", frame["v_soc"],
         frame["v_exp"], unit="MWh", scale=_scale(frame["v_soc"], previous, frame["v_c"], frame["v_d"], frame["v_e"]),
         at=frame, describe=lambda x: f"site {x.site_id} slice {x.slice_id}: {name} soc_within_day {x.v_soc:.9g} MWh "
         f"!= previous hour (0 before the first) + sqrt(eta) charge - discharge / sqrt(eta) = {x.v_exp:.9g}")


@_check("storage", "Charge + discharge within the rated power; the level within each representative day follows "
        "the lossy flows, carries from day to day over the 365 days and stays within [0, energy]; durations; "
        "only allowed storage ready in time; power.csv figures")
def _check_storage(p: _Plan, c: _Recorder) -> None:
    storage = p.s["storage_techs"]
    for b in storage.index:
        for prefix in REGIMES.values():
            _check_storage_flows(p, c, b, prefix)

    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.storage_power.itertuples(index=False):
        where = f"site {row.site_id}, {row.tech_id}"
        c.rule(row.tech_id in storage.index, f"power.csv: unknown storage '{row.tech_id}' at {row.site_id}")
        if row.tech_id not in storage.index:
            continue
        b = storage.loc[row.tech_id]
        for rule, lhs, rhs in (("min_duration_h x power <= energy", b["min_duration_h"] * row.capacity_mw,
                                row.energy_capacity_mwh),
                               ("energy <= max_duration_h x power", row.energy_capacity_mwh,
                                b["max_duration_h"] * row.capacity_mw)):
            c.le(rule, lhs, rhs, unit="MWh", at=where)
        if limits.allowed_power_techs is not None:
            c.rule(row.tech_id in limits.allowed_power_techs or row.capacity_mw <= ATOL,
                   f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs")
        if p.online_by is not None:
            c.rule(start + math.ceil(b["lead_time_yr"]) <= p.online_by or row.capacity_mw <= ATOL,
                   f"site {row.site_id}: {row.tech_id} built but cannot operate by {p.online_by}")
        discharged = float(p.annual(f"{row.tech_id}_discharge_mw").get(row.site_id, 0.0))
        c.eq("generation_mwh_per_yr (power.csv) vs annual discharge", row.generation_mwh_per_yr, discharged,
             unit="MWh/yr", at=where)
        c.eq("capacity_factor vs discharge / (power x 8760 h)", row.capacity_factor,
             discharged / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan, unit="", at=where)
    _check_storage_days(p, c)


def _check_storage_days(p: _Plan, c: _Recorder) -> None:
    """The level across the calendar: each day starts where the day before ended, within [0, energy].

    storage_days.csv gives the level at the start of every calendar day; within the day it moves as
    the representative day of that date does (soc_within_day in dispatch.csv). Every one of the
    365 x 24 hours is checked, plus the start of each day.
    """
    table = p.t["storage_days"]
    built = {(row.site_id, row.tech_id): row.energy_capacity_mwh for row in p.storage_power.itertuples(index=False)}
    bridge_sites = set(p.bridge_sites)
    expected = {("grid_years", s, b) for s, b in built} | {("bridge_years", s, b) for s, b in built if s in bridge_sites}
    listed = set(zip(table["regime"], table["site_id"], table["storage_id"]))
    c.rule(not listed - expected, f"storage_days.csv lists storage that is not built there: {sorted(listed - expected)[:3]}")
    for regime, site, b in sorted(expected):
        rows = table[(table["regime"] == regime) & (table["site_id"] == site) & (table["storage_id"] == b)].sort_values("day")
        whole_year = rows["day"].tolist() == list(range(DAYS_PER_YEAR))
        c.rule(whole_year, f"site {site}: {b} ({regime}): storage_days.csv holds {len(rows)} rows, not one per day "
               f"0..{DAYS_PER_YEAR - 1}")
        if whole_year and site in set(p.dispatch["site_id"]) and b in p.storage_ids:  # else: the structure check
            _check_storage_year(p, c, rows, regime, site, b, built[site, b])


def _check_storage_year(p: _Plan, c: _Recorder, rows: pd.DataFrame, regime: str, site: str, b: str,
                        energy: float) -> None:
    """One storage at one site in one regime over the 365 days of storage_days.csv (``rows``, by day)."""
    where = f"site {site}: {b} ({regime})"
    periods = p.s["days"]["period"].sort_index().to_numpy()
    c.eq("period = days.csv", rows["period"], periods, unit="", scale=0.0, at=rows,
         describe=lambda x: f"{where} day {x.day}: period {x.period} differs from days.csv")
    c.eq("energy_capacity_mwh = power.csv", rows["energy_capacity_mwh"], energy, unit="MWh", at=rows,
         describe=lambda x: f"{where} day {x.day}: energy_capacity_mwh {x.energy_capacity_mwh:.9g} != power.csv "
         f"{energy:.9g}")

    within = _within_day_table(p, site, b, REGIMES[regime])
    level = rows["soc_start_mwh"].to_numpy(dtype=float)
    change = within.iloc[:, -1].reindex(periods).to_numpy(dtype=float)  # change over the whole day
    following = np.roll(level, -1)  # day 364 is followed by day 0: the year wraps
    frame = rows.assign(v_next=following, v_expected=level + change)
    c.eq("next day's start = this day's start + its representative day's change", following, level + change,
         unit="MWh", scale=_scale(level, following, change, energy), at=frame,
         describe=lambda x: f"{where}: day {(x.day + 1) % DAYS_PER_YEAR} starts at {x.v_next:.9g} MWh, but day "
         f"{x.day} ends at {x.v_expected:.9g} (start {x.soc_start_mwh:.9g} + its representative day's change)")

    hourly = level[:, None] + within.reindex(periods).to_numpy(dtype=float)  # 365 x 24
    levels = np.concatenate([level[:, None], hourly], axis=1)  # the start of the day, then each hour
    moments = ["at its start", *(f"after hour {h}" for h in within.columns)]
    frame = pd.DataFrame({
        "site_id": site, "storage_id": b, "regime": regime, "day": np.repeat(np.arange(DAYS_PER_YEAR), len(moments)),
        "when": np.tile(moments, DAYS_PER_YEAR), "v_level": levels.ravel(), "v_start": np.repeat(level, len(moments)),
    })

    def outside(x) -> str:
        return (f"{where} day {x.day} {x.when}: level {x.v_level:.9g} MWh outside [0, {energy:.9g}] (day start "
                f"{x.v_start:.9g} + the change within its representative day)")

    c.le("level >= 0", 0.0, frame["v_level"], unit="MWh", scale=energy, at=frame, describe=outside)
    c.le("level <= energy capacity", frame["v_level"], energy, unit="MWh", scale=energy, at=frame, describe=outside)


@_check("demand", "Tokens delivered to each region and workload meet its demand (serve_demand) or stay within it "
        "and above min_demand_share of all demand; no negative delivery")
def _check_demand(p: _Plan, c: _Recorder) -> None:
    deliveries, demand = p.t["deliveries"], p.s["demand"]["tokens_per_yr"]
    delivered = deliveries.groupby(["region_id", "workload_id"])["tokens_per_yr"].sum()
    stray = set(delivered.index) - set(demand.index)
    c.rule(not stray, f"deliveries to (region, workload) pairs without demand: {sorted(stray)[:5]}")
    pairs = demand.index.to_frame(index=False)
    got = delivered.reindex(demand.index, fill_value=0.0)
    objective = p.scenario.objective
    if objective.mode == "serve_demand":
        c.eq("tokens delivered = demand", got, demand, unit="tokens/yr", at=pairs)
    else:
        c.le("tokens delivered <= demand", got, demand, unit="tokens/yr", at=pairs)
        floor = objective.min_demand_share * demand.sum()
        c.le("min_demand_share x demand <= tokens delivered", floor, delivered.sum(), unit="tokens/yr", at="all regions")
    c.le("delivery >= 0", 0.0, deliveries["tokens_per_yr"], unit="tokens/yr", at=deliveries,
         describe=lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: negative delivery {x.tokens_per_yr}")
    c.eq("summary demand_tokens_per_yr = demand.csv", p.summary["demand_tokens_per_yr"], demand.sum(), unit="tokens/yr",
         at="summary")


@_check("latency", "Every delivery's network round trip (geodesic distance x route factor over fibre, plus "
        "overhead) is within its workload's latency budget; reported distances and latencies re-measured")
def _check_latency(p: _Plan, c: _Recorder) -> None:
    deliveries = p.t["deliveries"]
    if not len(deliveries):
        return
    km, ms = _latency(p, deliveries["site_id"], deliveries["region_id"])
    budget = deliveries["workload_id"].map(p.s["workloads"]["latency_budget_ms"]).astype(float)
    frame = deliveries.assign(v_km=km, v_ms=ms, v_budget=budget)
    c.le("round trip <= latency budget", ms, budget, unit="ms", at=frame,
         describe=lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: round trip {x.v_ms:.6g} ms exceeds the "
         f"{x.v_budget:g} ms budget")
    c.le("reported latency <= latency budget", deliveries["latency_ms"], budget, unit="ms", at=frame,
         describe=lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: reported latency {x.latency_ms:.6g} ms "
         f"exceeds the {x.v_budget:g} ms budget")
    c.eq("reported latency = geodesic recomputation", deliveries["latency_ms"], ms, unit="ms", at=frame,
         describe=lambda x: f"{x.site_id}->{x.region_id}: reported latency {x.latency_ms:.9g} ms != geodesic "
         f"recomputation {x.v_ms:.9g} ms")
    c.eq("reported distance = geodesic", deliveries["distance_km"], km, unit="km", at=frame,
         describe=lambda x: f"{x.site_id}->{x.region_id}: reported distance {x.distance_km:.9g} km != geodesic "
         f"{x.v_km:.9g} km")
    c.eq("latency_budget_ms = workloads.csv", deliveries["latency_budget_ms"], budget, unit="ms", at=frame,
         describe=lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: latency_budget_ms {x.latency_budget_ms} != "
         f"workloads.csv {x.v_budget}")


@_check("tokens", "Tokens each site delivers for a workload are produced by the racks assigned to it (MLPerf "
        "tokens/s x chips x utilisation x 8760 h); racks assigned within racks installed; token totals")
def _check_tokens(p: _Plan, c: _Recorder) -> None:
    chips, workloads, throughput = p.s["chips"], p.s["workloads"], p.s["chip_throughput"]["tokens_per_s_per_chip"]
    alloc, deliveries = p.t["allocation"], p.t["deliveries"]
    pairs = pd.MultiIndex.from_arrays([alloc["chip_id"], alloc["workload_id"]])
    served = pairs.isin(throughput.index)
    for row in alloc[~served].itertuples(index=False):
        c.rule(False, f"site {row.site_id}: racks of {row.chip_id} assigned to {row.workload_id}, which it cannot serve "
               f"(no throughput)")
    known = alloc[served].assign(v_rate=throughput.reindex(pairs[served]).to_numpy())
    c.eq("tokens_per_s_per_chip = chip_throughput.csv", known["tokens_per_s_per_chip"], known["v_rate"],
         unit="tokens/s", at=known, describe=lambda x: f"site {x.site_id}: tokens_per_s_per_chip "
         f"{x.tokens_per_s_per_chip} of {x.chip_id}/{x.workload_id} != chip_throughput.csv {x.v_rate}")
    c.le("racks assigned >= 0", 0.0, alloc["racks_assigned"], unit="racks", at=alloc)

    per_rack_year = (throughput.reindex(pairs).fillna(0.0).to_numpy() * alloc["chip_id"].map(chips["chips_per_rack"])
                     * alloc["workload_id"].map(workloads["utilisation"]) * SECONDS_PER_HOUR * HOURS_PER_YEAR)
    keys = [alloc["site_id"], alloc["workload_id"]]
    produced = (alloc["racks_assigned"] * per_rack_year).groupby(keys).sum()
    # allocation.csv leaves out assignments below its export threshold: allow what those could make
    slack = per_rack_year.groupby(keys).max() * ALLOCATION_EXPORT_RACKS * len(chips)
    delivered = deliveries.groupby(["site_id", "workload_id"])["tokens_per_yr"].sum()
    frame = delivered.index.to_frame(index=False)
    c.le("tokens delivered <= tokens produced by the racks assigned", delivered,
         produced.reindex(delivered.index, fill_value=0.0), unit="tokens/yr", at=frame,
         atol=np.maximum(ATOL, slack.reindex(delivered.index, fill_value=0.0)))
    index = pd.MultiIndex.from_frame(alloc[["site_id", "workload_id"]])  # every row repeats its site's total
    c.eq("site_workload_tokens_per_yr = recomputed", alloc["site_workload_tokens_per_yr"], produced.reindex(index),
         unit="tokens/yr", at=alloc, atol=np.maximum(ATOL, slack.reindex(index).to_numpy()))

    assigned = alloc.groupby(["site_id", "chip_id"])["racks_assigned"].sum()
    installed = p.t["chips"].groupby(["site_id", "chip_id"])["racks"].sum().reindex(assigned.index, fill_value=0.0)
    c.le("racks assigned to workloads <= racks installed", assigned, installed, unit="racks",
         at=assigned.index.to_frame(index=False))

    site_tokens = deliveries.groupby("site_id")["tokens_per_yr"].sum().reindex(p.sites.index, fill_value=0.0)
    c.eq("delivered_tokens_per_yr (sites.csv) = deliveries.csv", p.per_site("delivered_tokens_per_yr"), site_tokens,
         unit="tokens/yr", at=p.site_rows)
    c.eq("delivered_tokens_per_yr = deliveries.csv", p.summary["delivered_tokens_per_yr"], deliveries["tokens_per_yr"].sum(),
         unit="tokens/yr", at="summary")


@_check("costs", "Every cost item of every site (chips, generation, grid, fuel, storage, carbon price, land, "
        "building, cooling) recomputed from the plan and the scenario; totals by layer and site; overnight capex")
def _check_costs(p: _Plan, c: _Recorder) -> None:
    summary, costs = p.summary, p.t["costs"]
    c.eq("costs.csv usd_per_yr sum = total_cost_usd_per_yr", costs["usd_per_yr"].sum(), summary["total_cost_usd_per_yr"],
         unit="USD/yr", at="summary", atol=COST_ATOL_USD)
    stray = sorted(set(costs["layer"]) - set(LAYERS))
    c.rule(not stray, f"costs.csv has unknown layers {stray}")
    recomputed, capex = p.recomputed_costs
    unknown = sorted(set(zip(costs["layer"], costs["item"])) - set(recomputed))
    c.rule(not unknown, f"costs.csv has cost items the formulation does not have: {unknown}")
    reported = costs.groupby(["layer", "item", "site_id"])["usd_per_yr"].sum()
    for (layer, name), expected in recomputed.items():
        got = [reported.get((layer, name, site), 0.0) for site in p.sites.index]
        c.eq(f"{layer} / {name} (costs.csv) vs recomputed from the tables", got, expected, unit="USD/yr", at=p.site_rows,
             atol=COST_ATOL_USD)

    by_site = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_site = by_site.reindex(index=p.sites.index, columns=list(LAYERS)).fillna(0.0)
    for layer in LAYERS:
        c.eq(f"{layer}_usd_per_yr (sites.csv) = costs.csv", p.per_site(f"{layer}_usd_per_yr"), by_site[layer],
             unit="USD/yr", at=p.site_rows, atol=COST_ATOL_USD)
        layer_total = sum((v for (lay, _), v in recomputed.items() if lay == layer), pd.Series(0.0, index=p.sites.index))
        c.eq(f"total {layer} layer cost vs recomputed", by_site[layer].sum(), layer_total.sum(), unit="USD/yr",
             at="all sites", atol=COST_ATOL_USD)
    c.eq("cost_usd_per_yr (sites.csv) = costs.csv", p.per_site("cost_usd_per_yr"), by_site.sum(axis=1), unit="USD/yr",
         at=p.site_rows, atol=COST_ATOL_USD)
    c.eq("capex_usd vs recomputed overnight capex", summary["capex_usd"], capex.sum(), unit="USD", at="summary",
         atol=COST_ATOL_USD)


@_check("usd per mtok", "Cost per million tokens = total cost / delivered Mtok, and its split by layer, site and "
        "cost row adds up")
def _check_usd_per_mtok(p: _Plan, c: _Recorder) -> None:
    summary, costs = p.summary, p.t["costs"]
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq("usd_per_mtok = total_cost_usd_per_yr / delivered Mtok", summary["usd_per_mtok"],
         _per(float(summary["total_cost_usd_per_yr"]), mtok), unit="USD/Mtok", at="summary")
    layers = sum(float(summary[f"{layer}_usd_per_mtok"]) for layer in LAYERS)
    c.eq("energy + chips + infrastructure usd_per_mtok = usd_per_mtok", layers, summary["usd_per_mtok"], unit="USD/Mtok",
         at="summary")
    by_layer = costs.groupby("layer")["usd_per_yr"].sum()
    for layer in LAYERS:
        c.eq(f"{layer}_usd_per_mtok = costs.csv / delivered Mtok", summary[f"{layer}_usd_per_mtok"],
             _per(by_layer.get(layer, 0.0), mtok), unit="USD/Mtok", at="summary")
    c.eq("costs.csv usd_per_mtok sum = summary usd_per_mtok", costs["usd_per_mtok"].sum(min_count=1), summary["usd_per_mtok"],
         unit="USD/Mtok", at="costs.csv")
    c.eq("costs.csv usd_per_mtok = usd_per_yr / delivered Mtok", costs["usd_per_mtok"], _per(costs["usd_per_yr"], mtok),
         unit="USD/Mtok", at=costs, describe=lambda x: f"costs.csv {x.site_id}/{x.item}: usd_per_mtok "
         f"{x.usd_per_mtok:.9g} != usd_per_yr / delivered Mtok")
    site_cost = costs.groupby("site_id")["usd_per_yr"].sum().reindex(p.sites.index, fill_value=0.0)
    site_mtok = p.per_site("delivered_tokens_per_yr") / TOKENS_PER_MTOK
    c.eq("usd_per_mtok (sites.csv) = cost / delivered Mtok", p.per_site("usd_per_mtok"),
         site_cost / site_mtok.where(site_mtok > 0), unit="USD/Mtok", at=p.site_rows)


@_check("emissions", "CO2 of every site recomputed from the dispatch (the grid's hourly rate in grid years, fuel "
        "carbon of on-site generation in grid and bridge years); totals and kg per Mtok")
def _check_emissions(p: _Plan, c: _Recorder) -> None:
    summary, emissions = p.summary, p.emissions_t
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq("emissions_t_per_yr (sites.csv) vs recomputed from dispatch", p.per_site("emissions_t_per_yr"), emissions,
         unit="t/yr", at=p.site_rows, atol=EMISSIONS_ATOL_T)
    c.eq("emissions_t_per_yr vs recomputed", summary["emissions_t_per_yr"], emissions.sum(), unit="t/yr", at="summary",
         atol=EMISSIONS_ATOL_T)
    c.eq("emissions_kg_per_mtok vs recomputed", summary["emissions_kg_per_mtok"], _per(emissions.sum() * KG_PER_T, mtok),
         unit="kg/Mtok", at="summary")


@_check("carbon cap", "Emissions, reported and recomputed, within carbon_cap_t_per_yr (when the scenario sets one; "
        "a carbon price is costed under 'costs')")
def _check_carbon_cap(p: _Plan, c: _Recorder) -> None:
    cap = p.scenario.constraints.carbon_cap_t_per_yr
    if cap is None:
        return
    c.le("reported emissions <= carbon_cap_t_per_yr", p.summary["emissions_t_per_yr"], cap, unit="t/yr", at="summary")
    c.le("recomputed emissions <= carbon_cap_t_per_yr", p.emissions_t.sum(), cap, unit="t/yr", at="all sites")


@_check("capex budget", "Overnight capex, recomputed, within capex_budget_usd (when the scenario sets one)")
def _check_capex_budget(p: _Plan, c: _Recorder) -> None:
    budget = p.scenario.constraints.capex_budget_usd
    if budget is None:
        return
    _, capex = p.recomputed_costs
    c.le("overnight capex <= capex_budget_usd", capex.sum(), budget, unit="USD", at="all sites", atol=COST_ATOL_USD)


@_check("water", "Water use = the hourly WUE of the chosen cooling x IT energy, within each site's water limit; "
        "annual WUE and litres per Mtok")
def _check_water(p: _Plan, c: _Recorder) -> None:
    d, sites, summary = p.dispatch, p.s["sites"], p.summary
    _, wue = p.pue_wue
    litres = (wue * d["it_mw"] * KWH_PER_MWH * p.w).groupby(d["site_id"]).sum()
    water_ml = (litres / LITRES_PER_ML).reindex(p.sites.index, fill_value=0.0)
    it_kwh = p.annual("it_mw") * KWH_PER_MWH
    c.eq("water_ml_per_yr (sites.csv) vs hourly WUE x IT energy", p.per_site("water_ml_per_yr"), water_ml, unit="ML/yr",
         at=p.site_rows)
    c.eq("annual_wue_l_per_kwh (sites.csv) vs water / IT energy", p.per_site("annual_wue_l_per_kwh"),
         water_ml * LITRES_PER_ML / it_kwh.where(it_kwh > 0), unit="L/kWh", at=p.site_rows)
    if "water_limit_ml_per_yr" in sites:
        limit = sites["water_limit_ml_per_yr"].reindex(p.sites.index)
        limited = limit.notna().to_numpy()
        at = p.site_rows[limited]
        c.le("water use <= water_limit_ml_per_yr", water_ml[limited], limit[limited], unit="ML/yr", at=at)
        c.le("reported water_ml_per_yr <= water_limit_ml_per_yr", p.per_site("water_ml_per_yr")[limited],
             limit[limited], unit="ML/yr", at=at)
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq("water_ml_per_yr vs recomputed", summary["water_ml_per_yr"], water_ml.sum(), unit="ML/yr", at="summary")
    c.eq("water_l_per_mtok vs recomputed", summary["water_l_per_mtok"], _per(water_ml.sum() * LITRES_PER_ML, mtok),
         unit="L/Mtok", at="summary")


def _site_hours(p: _Plan, site: str, quantity: str) -> np.ndarray:
    """One site's 8760-hour input series of one quantity."""
    hours, _ = _input_hours(p, quantity)
    return hours[p.s["sites"].index.get_loc(site)]


def _full_year_pue(p: _Plan, site: str) -> np.ndarray:
    """PUE of the site's chosen cooling in each of the 8760 input hours."""
    cooling = p.s["cooling"].loc[p.sites.loc[site, "cooling_id"]]
    pue, _ = cooling_pue_wue(cooling, _site_hours(p, site, "temp_c"), _site_hours(p, site, "wetbulb_c"))
    return pue


def _site_sources(p: _Plan, site: str, with_grid: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The site's built sources (not the grid in the bridge years) over the 8760 hours: MW available, the grid's
    price (USD/MWh), CO2 (t/MWh), each hours x sources, and fuel and variable O&M per source (USD/MWh)."""
    techs = p.s["power_techs"]
    rows = p.gen_power[(p.gen_power["site_id"] == site) & (p.gen_power["capacity_mw"] > FULL_YEAR_NOISE_MW)]
    rows = rows[rows["tech_id"].isin(techs.index) & (with_grid | (rows["tech_id"] != p.grid_tech))]
    shape = (int(HOURS_PER_YEAR), len(rows))
    available, price, co2 = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    vom_fuel = np.zeros(len(rows))
    for j, (tech, capacity) in enumerate(zip(rows["tech_id"], rows["capacity_mw"])):
        t = techs.loc[tech]
        variable = t["kind"] in VARIABLE_KINDS
        available[:, j] = capacity * (_site_hours(p, site, f"{t['kind']}_cf") if variable else float(t["availability"]))
        if tech == p.grid_tech:
            price[:, j] = _site_hours(p, site, "grid_price_usd_per_mwh")
            co2[:, j] = _site_hours(p, site, "grid_co2_kg_per_mwh") / KG_PER_T
        else:
            co2[:, j] = _fuel_t_co2_per_mwh(p, tech)
        vom_fuel[j] = t["vom_usd_per_mwh"] + _fuel_usd_per_mwh(p, tech)[site]
    return available, price, co2, vom_fuel


def _merit_order_year(p: _Plan, site: str, load_mw: np.ndarray, with_grid: bool) -> dict[str, float]:
    """One regime's year at one site without storage: every hour served by its cheapest built sources first.

    A source costs its hour's grid price (the grid), its fuel and variable O&M, and the carbon price on its
    CO2. Returns the redispatched cost items (USD/yr), emissions (t/yr), unserved MWh and site-hours, and the
    IT hours lost (unserved share of each hour's load, summed)."""
    available, price, co2, vom_fuel = _site_sources(p, site, with_grid)
    carbon_price = p.scenario.constraints.carbon_price_usd_per_t
    order = np.argsort(price + vom_fuel + carbon_price * co2, axis=1, kind="stable")
    offered = np.take_along_axis(available, order, axis=1)
    used = np.clip(load_mw[:, None] - (np.cumsum(offered, axis=1) - offered), 0.0, offered)
    generation = np.empty_like(used)
    np.put_along_axis(generation, order, used, axis=1)
    unserved = np.maximum(load_mw - available.sum(axis=1), 0.0)
    emissions = float((co2 * generation).sum())
    return {
        GRID_ENERGY_ITEM: float((price * generation).sum()),
        FUEL_AND_VOM_ITEM: float((generation @ vom_fuel).sum()),
        CARBON_PRICE_ITEM: carbon_price * emissions,
        "emissions_t": emissions,
        "unserved_mwh": float(unserved[unserved > FULL_YEAR_NOISE_MW].sum()),
        "unserved_hours": float((unserved > FULL_YEAR_NOISE_MW).sum()),
        "lost_it_hours": float((unserved / np.where(load_mw > 0, load_mw, 1.0)).sum()),
    }


def _full_year_sites(p: _Plan) -> pd.DataFrame:
    """Each built site's full year recomputed: peak PUE and load, and its merit-order operation, grid years and
    bridge years weighted by their present-value shares; ``exact`` where no storage makes it an LP."""
    pue, _ = p.pue_wue
    share = p.bridge_share
    rows = []
    for site in p.built:
        it_mw = float(p.dispatch.loc[p.dispatch["site_id"] == site, "it_mw"].mean())
        hourly_pue = _full_year_pue(p, site)
        load = hourly_pue * it_mw
        year = _merit_order_year(p, site, load, with_grid=True)
        bridge = float(share.get(site, 0.0))
        if bridge > 0:
            bridge_years = _merit_order_year(p, site, load, with_grid=False)
            year = {key: (1.0 - bridge) * value + bridge * bridge_years[key] for key, value in year.items()}
        rows.append({
            "site_id": site, "representative_peak_pue": pue[p.dispatch["site_id"] == site].max(),
            "full_year_peak_pue": hourly_pue.max(), "full_year_peak_facility_mw": load.max(),
            "exact": not (p.storage_power["site_id"] == site).any(), **year,
        })
    figures = [*FULL_YEAR_SITE_COLUMNS[:-1], *FULL_YEAR_ITEMS, "emissions_t", "unserved_mwh", "unserved_hours",
               "lost_it_hours"]
    frame = pd.DataFrame(rows, columns=["site_id", "exact", *figures]).set_index("site_id")
    return frame.astype({"exact": bool, **dict.fromkeys(figures, float)})  # typed even when nothing is built


def _check_full_year_sites(p: _Plan, c: _Recorder, year: pd.DataFrame) -> None:
    """sites.csv: peaks as recomputed; unserved energy exact without storage, within the merit order's with it."""
    for column in FULL_YEAR_SITE_COLUMNS[:-1]:
        c.eq(f"{column} (sites.csv) vs recomputed", p.per_site(column), year[column].reindex(p.sites.index),
             unit="MW" if column.endswith("_mw") else "", at=p.site_rows)
    reported = p.per_site("full_year_unserved_mwh_per_yr").to_numpy()
    merit = year["unserved_mwh"].reindex(p.sites.index).to_numpy()  # blank where not built
    merit_order = year["exact"].reindex(p.sites.index, fill_value=True).to_numpy(dtype=bool) & (
        p.scenario.constraints.cfe_share == 0)
    exact, linked = merit_order | np.isnan(merit), ~merit_order & ~np.isnan(merit)
    c.eq("full_year_unserved_mwh_per_yr (sites.csv) = merit-order dispatch (no storage; blank if not built)",
         reported[exact], merit[exact], unit="MWh/yr", at=p.site_rows[exact], atol=FULL_YEAR_NOISE_MWH)
    c.le("full_year_unserved_mwh_per_yr (sites.csv) <= without storage", reported[linked], merit[linked],
         unit="MWh/yr", at=p.site_rows[linked], atol=FULL_YEAR_NOISE_MWH)
    c.le("full_year_unserved_mwh_per_yr (sites.csv) >= 0", 0.0, reported[linked], unit="MWh/yr", at=p.site_rows[linked])


def _check_full_year_operation(p: _Plan, c: _Recorder, year: pd.DataFrame) -> None:
    """summary.csv's redispatched cost, emissions and tokens, where the merit order is the dispatch (no storage
    at any site, no hourly carbon-free share); otherwise an LP the verifier does not re-solve."""
    summary, costs = p.summary, p.t["costs"]
    if not (year["exact"].all() and p.scenario.constraints.cfe_share == 0):
        return
    planned = costs.loc[costs["item"].isin(FULL_YEAR_ITEMS), "usd_per_yr"].sum()
    total = costs["usd_per_yr"].sum() - planned + year[list(FULL_YEAR_ITEMS)].to_numpy().sum()
    c.eq("full_year_total_cost_usd_per_yr = plan cost with the merit-order year's operating items", summary[
        "full_year_total_cost_usd_per_yr"], total, unit="USD/yr", at="summary", atol=COST_ATOL_USD)
    c.eq("full_year_emissions_t_per_yr = merit-order year", summary["full_year_emissions_t_per_yr"],
         year["emissions_t"].sum(), unit="t/yr", at="summary", atol=EMISSIONS_ATOL_T)
    c.eq("full_year_unserved_hours_per_yr = merit-order year", summary["full_year_unserved_hours_per_yr"],
         year["unserved_hours"].sum(), unit="h", at="summary")
    served = 1.0 - year["lost_it_hours"] / HOURS_PER_YEAR
    tokens = (p.per_site("delivered_tokens_per_yr") * served.reindex(p.sites.index, fill_value=1.0)).sum()
    c.eq("full_year_delivered_tokens_per_yr = tokens of the IT load served", summary[
        "full_year_delivered_tokens_per_yr"], tokens, unit="tokens/yr", at="summary")


def _check_full_year_summary(p: _Plan, c: _Recorder) -> None:
    """summary.csv's full-year figures against each other, sites.csv and costs.csv: always."""
    summary, costs = p.summary, p.t["costs"]
    unserved = float(summary["full_year_unserved_mwh_per_yr"])
    c.eq("full_year_unserved_mwh_per_yr = sum of sites.csv", unserved, p.per_site(
        "full_year_unserved_mwh_per_yr").sum(), unit="MWh/yr", at="summary", atol=FULL_YEAR_NOISE_MWH)
    hours = float(summary["full_year_unserved_hours_per_yr"])
    c.rule((hours > 0) == (unserved > FULL_YEAR_NOISE_MWH), f"summary.csv: {hours:g} full-year unserved hours but "
           f"{unserved:g} MWh unserved")
    c.le("full_year_unserved_hours_per_yr <= 8760 h x sites built", hours, HOURS_PER_YEAR * len(p.built), unit="h",
         at="summary")
    shortfall = summary["full_year_cfe_shortfall_mwh_per_yr"]
    if p.scenario.constraints.cfe_share == 0:
        c.eq("full_year_cfe_shortfall_mwh_per_yr = 0 without a carbon-free share", shortfall, 0.0, unit="MWh/yr",
             at="summary")
    else:
        c.le("full_year_cfe_shortfall_mwh_per_yr >= 0", 0.0, shortfall, unit="MWh/yr", at="summary")
    tokens = float(summary["full_year_delivered_tokens_per_yr"])
    delivered = float(summary["delivered_tokens_per_yr"])
    c.le("full_year_delivered_tokens_per_yr <= delivered_tokens_per_yr", tokens, delivered, unit="tokens/yr",
         at="summary")
    if unserved <= FULL_YEAR_NOISE_MWH:
        c.eq("full_year_delivered_tokens_per_yr = delivered when every hour is served", tokens, delivered,
             unit="tokens/yr", at="summary")
    mtok, full_mtok = delivered / TOKENS_PER_MTOK, tokens / TOKENS_PER_MTOK
    total = float(summary["full_year_total_cost_usd_per_yr"])
    by_layer = costs.groupby("layer")["usd_per_yr"].sum()
    fixed = {layer: float(by_layer.get(layer, 0.0)) for layer in LAYERS if layer != "energy"}  # not redispatched
    full = {"energy": total - sum(fixed.values()), **fixed}
    c.eq("full_year_usd_per_mtok = full_year_total_cost / full-year Mtok", summary["full_year_usd_per_mtok"],
         _per(total, full_mtok), unit="USD/Mtok", at="summary")
    c.eq("representative_error_pct = usd_per_mtok / full_year_usd_per_mtok - 1", summary["representative_error_pct"],
         _error_pct(_per(float(by_layer.sum()), mtok), _per(total, full_mtok)), unit="%", at="summary")
    for layer in LAYERS:
        c.eq(f"full_year_{layer}_usd_per_mtok = its layer's full-year cost / full-year Mtok",
             summary[f"full_year_{layer}_usd_per_mtok"], _per(full[layer], full_mtok), unit="USD/Mtok", at="summary")
        c.eq(f"representative_{layer}_error_pct = {layer}_usd_per_mtok / full_year_{layer}_usd_per_mtok - 1",
             summary[f"representative_{layer}_error_pct"], _error_pct(_per(float(by_layer.get(layer, 0.0)), mtok),
                                                                      _per(full[layer], full_mtok)),
             unit="%", at="summary")


def _error_pct(representative: float, full_year: float) -> float:
    """How far a representative-day figure is from the full year's, in % (blank without a full-year figure)."""
    return PERCENT * (representative / full_year - 1.0) if full_year > 0 else math.nan


@_check("full year", "The design run through all 8,760 hours: peak PUE and load from the hourly weather; where no "
        "storage links the hours (and no hourly carbon-free share), unserved energy, operating cost, emissions and "
        "tokens of the merit-order dispatch; full-year $/Mtok by layer and the representative days' error")
def _check_full_year(p: _Plan, c: _Recorder) -> None:
    year = _full_year_sites(p)
    _check_full_year_sites(p, c, year)
    _check_full_year_operation(p, c, year)
    _check_full_year_summary(p, c)


#: summary.csv figures of how the solve ran: seconds, and the model's size in whole counts
SOLVE_SECONDS = ("build_s", "handoff_s", "solve_s")
MODEL_SIZE = ("variables", "integer_variables", "constraints", "nonzeros")


def _check_solve_figures(p: _Plan, c: _Recorder) -> None:
    """The descriptive figures of the solve are at least of the right form: times >= 0, whole counts."""
    summary = p.summary
    for column in SOLVE_SECONDS:
        c.le(f"{column} >= 0", 0.0, summary[column], unit="s", at="summary")
    for column in MODEL_SIZE:
        count = float(summary[column])
        c.eq(f"{column} is a whole number >= 0", count, abs(round(count)) if math.isfinite(count) else np.nan, unit="",
             scale=0.0, at="summary")
    c.le("integer_variables <= variables", summary["integer_variables"], summary["variables"], unit="", scale=0.0,
         at="summary")


def _check_cost_bound(p: _Plan, c: _Recorder, gap: float) -> None:
    """serve_demand: a finite lower bound on cost, at most the cost, and a gap that covers the distance between them."""
    summary = p.summary
    cost, bound = float(summary["total_cost_usd_per_yr"]), float(summary["cost_lower_bound_usd_per_yr"])
    c.rule(math.isfinite(bound), f"summary.csv: cost_lower_bound_usd_per_yr is {bound}; a serve_demand plan claims a "
           f"finite proven lower bound on its cost")
    c.le("cost_lower_bound_usd_per_yr <= total_cost_usd_per_yr", bound, cost, unit="USD/yr", at="summary",
         atol=COST_ATOL_USD)
    # gap >= (cost - bound) / cost, multiplied out so that a zero cost needs no division
    c.le("total cost - lower bound <= mip_gap x total cost", cost - bound, gap * cost, unit="USD/yr", scale=abs(cost),
         at="summary", atol=COST_ATOL_USD)
    # 'optimal' means proven within the gap asked, 'time_limit_feasible' not proven within it
    asked = p.scenario.solver.mip_gap
    within = gap <= asked + GAP_ATOL
    c.rule(within == (summary["status"] == "optimal"), f"summary.csv: status {summary['status']!r} but mip_gap "
           f"{gap:.6g} is {'within' if within else 'above'} the solver.mip_gap {asked:g} asked")
    for column in ("lambda_usd_per_mtok", "lambda_lower_bound_usd_per_mtok"):
        c.eq(f"{column} blank (serve_demand)", summary[column], np.nan, unit="USD/Mtok", at="summary")
    c.eq("dinkelbach_iterations = 0 (serve_demand)", summary["dinkelbach_iterations"], 0.0, unit="", scale=0.0,
         at="summary")


def _check_ratio_bound(p: _Plan, c: _Recorder) -> None:
    """min_cost_per_token: the search's steps, its last lambda (a plan's ratio) and its lower bound around the ratio."""
    summary = p.summary
    ratio, lam = float(summary["usd_per_mtok"]), float(summary["lambda_usd_per_mtok"])
    bound, steps = float(summary["lambda_lower_bound_usd_per_mtok"]), float(summary["dinkelbach_iterations"])
    c.eq("cost_lower_bound_usd_per_yr blank (min_cost_per_token)", summary["cost_lower_bound_usd_per_yr"], np.nan,
         unit="USD/yr", at="summary")
    c.le("dinkelbach_iterations >= 1", 1.0, steps, unit="", scale=0.0, at="summary")
    c.le("dinkelbach_iterations <= objective.max_iterations", steps, p.scenario.objective.max_iterations, unit="",
         scale=0.0, at="summary")
    c.le("lambda_usd_per_mtok >= 0", 0.0, lam, unit="USD/Mtok", at="summary")
    if steps > 1:  # from the second step on, lambda is the ratio of an earlier plan: no better than the best
        c.le("usd_per_mtok <= lambda_usd_per_mtok of the last step", ratio, lam, unit="USD/Mtok", at="summary")
    demand = float(p.s["demand"]["tokens_per_yr"].sum())
    if math.isfinite(bound) or (summary["status"] == "optimal" and demand > 0):
        c.le("0 <= lambda_lower_bound_usd_per_mtok", 0.0, bound, unit="USD/Mtok", at="summary")
        c.le("lambda_lower_bound_usd_per_mtok <= usd_per_mtok", bound, ratio, unit="USD/Mtok", at="summary")


@_check("optimality", "What the plan says of its solve: the scenario and objective it answers, its status; under "
        "serve_demand a finite cost lower bound at most its cost and a MIP gap that covers the two (within the gap "
        "asked when 'optimal'); under min_cost_per_token the ratio search's lambda and bound around the ratio")
def _check_optimality(p: _Plan, c: _Recorder) -> None:
    summary, scenario = p.summary, p.scenario
    for column, expected in (("scenario", scenario.name), ("objective", scenario.objective.mode)):
        c.rule(summary[column] == expected, f"summary.csv: {column} {summary[column]!r} is not the scenario copy's "
               f"{expected!r}")
    c.rule(summary["status"] in STATUSES, f"summary.csv: status {summary['status']!r} is not one of {STATUSES}")
    c.rule(summary["plan_source"] in PLAN_SOURCES, f"summary.csv: plan_source {summary['plan_source']!r} is not one "
           f"of {PLAN_SOURCES}")
    c.rule(summary["highs_status"] in HIGHS_PLAN_STATUSES, f"summary.csv: highs_status {summary['highs_status']!r} is "
           f"not a HiGHS status that leaves a plan {HIGHS_PLAN_STATUSES}")
    gap = float(summary["mip_gap"])
    c.le("mip_gap >= 0", 0.0, gap, unit="", scale=0.0, at="summary", atol=GAP_ATOL)
    if scenario.objective.mode == "serve_demand":
        _check_cost_bound(p, c, gap)
    else:
        _check_ratio_bound(p, c)
    _check_solve_figures(p, c)


# --------------------------------------------------------------------------------------------
# running and reporting


def verify_plan(folder: str | Path) -> Verification:
    """Re-check an exported plan folder: one result per check, "files" first.

    A missing or unreadable table stops at "files"; an exception inside a check becomes a violation
    of that check and the others still run.
    """
    folder = Path(folder)
    files = _Recorder(*FILES_CHECK)
    plan = _read_plan(folder, files)
    if plan is None:
        return Verification(folder, [files.result])
    results = [files.result]
    for spec in CHECKS:
        recorder = _Recorder(spec.name, spec.description)
        try:
            # arithmetic on a damaged value makes NaN or inf quietly: the comparisons name it
            with np.errstate(all="ignore"):
                spec.run(plan, recorder)
        except Exception as error:  # a malformed table must fail its check, not the whole verification
            recorder.failed(error)
        results.append(recorder.result)
    return Verification(folder, results)


def verify_plan_folder(folder: str | Path) -> list[str]:
    """Violation messages of ``verify_plan`` ("[check] message"); empty when the plan is consistent."""
    return verify_plan(folder).messages


def _signed(value: float, digits: int) -> str:
    """A margin with its sign (+: room to spare, -: short of the rule), an exact zero (or -0.0) as 0."""
    return f"{value:+.{digits}g}" if value else "0"


def _margin_text(check: CheckResult) -> str:
    if math.isnan(check.worst_margin):
        return ""
    if math.isinf(check.worst_margin):
        return "blank value"
    return f"{_signed(check.worst_margin, 4)} {check.unit}".rstrip()


def _status_text(check: CheckResult) -> Text:
    if check.error:
        return Text(f"{check.violation_count} violations, stopped early", style="bold red")
    if not check.ok:
        return Text(f"{check.violation_count} violations", style="bold red")
    return Text("ok" if check.checked else "not applicable", style="green" if check.checked else "dim")


def verification_table(verification: Verification) -> Table:
    """One row per check: items compared, worst margin and where, the rule it belongs to, status."""
    status = "consistent" if verification.ok else "NOT consistent"
    table = Table(title=f"Verification of {verification.folder}: {status}", header_style="bold")
    for column, justify in (("check", "left"), ("items", "right"), ("worst margin", "right"), ("relative", "right"),
                            ("where", "left"), ("rule", "left"), ("status", "left")):
        table.add_column(column, justify=justify)
    for check in verification.checks:
        relative = "" if math.isnan(check.worst_relative) else _signed(check.worst_relative, 2)
        # Text cells: ids and rules may hold brackets that rich would read as markup
        table.add_row(Text(check.name), f"{check.checked:,}", _margin_text(check), relative, Text(check.worst_where),
                      Text(check.worst_rule), _status_text(check))
    return table
