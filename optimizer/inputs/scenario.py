"""Load a scenario: YAML options + input tables, overrides applied, everything validated.

A scenario YAML names a data folder, may ``extends:`` another scenario (its own keys win), sets
finance, objective, constraint and solver options, and may override any table value::

    overrides:
      sites:
        stargate_abilene: {grid_capacity_mw: 400}
        "*": {gas_price_usd_per_mmbtu: {scale: 1.3}}
      demand:
        new_york_city/chat_70b: {tokens_per_yr: 1.0e15}

Rows are addressed by their id (ids joined with ``/`` for two-key tables) or ``*`` for all rows;
a value is either a number or ``{scale: factor}``. Every problem is reported as a
:class:`ScenarioError` naming the file, row, column, value and rule.
"""

from __future__ import annotations

import copy
import math
import typing
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
import yaml

from optimizer.constants import DAYS_PER_YEAR
from optimizer.inputs.errors import ScenarioError, nearest_hint
from optimizer.inputs.geojson import GeoJSONError, read_points
from optimizer.inputs.profiles import (
    EXTREME_DAYS,
    GRID_QUANTITIES,
    NOT_STATED,
    SOURCE_COLUMNS,
    WEATHER_QUANTITIES,
    complete_hourly,
    follow_annual_grid,
    representative_days,
)
from optimizer.inputs.safe_io import UnsafeFileError, inside, load_yaml, read_csv
from optimizer.inputs.schemas import ANNOUNCED_BASIS, OPTIONAL_TABLES, TABLES
from optimizer.inputs.table_checks import check_consistency, unit_warnings, unknown_states, with_facility_defaults
from optimizer.inputs.table_rules import apply_overrides, validate_table


@dataclass
class FinanceOptions:
    wacc: float = 0.08
    """weighted average cost of capital, real, per year (annualises every capex with its life)"""
    start_year: int = 2026
    """year of the investment decision; lead times count from here"""
    dollar_year: int = 2025
    """all money in constant USD of this year"""
    horizon_yr: float = 20.0
    """years of operation the plan is costed over: weighs bridge years against grid years"""


@dataclass
class ObjectiveOptions:
    mode: str = "serve_demand"
    """serve_demand: deliver all demand at least cost; min_cost_per_token: choose delivered tokens too"""
    min_demand_share: float = 0.5
    """min_cost_per_token only: deliver at least this share of total demand"""
    dinkelbach_tolerance: float = 1e-6
    """min_cost_per_token only: stop when cost - lambda*tokens > -tolerance*cost"""
    max_iterations: int = 20
    """min_cost_per_token only: most Dinkelbach MILPs"""
    unserved_usd_per_mtok: float | None = None
    """price of demand left unserved, USD per million tokens; none: all demand must be served"""


@dataclass
class ConstraintOptions:
    online_by_year: int | None = None
    """every asset must be able to operate by this year (grid queue, lead times, first years)"""
    carbon_cap_t_per_yr: float | None = None
    """most CO2 per year over all sites, tonnes"""
    carbon_price_usd_per_t: float = 0.0
    """price on every tonne of CO2, USD/t"""
    capex_budget_usd: float | None = None
    """most overnight capital spend over all layers, USD"""
    allowed_power_techs: list[str] | None = None
    """power technologies the plan may use (default: all)"""
    allowed_sites: list[str] | None = None
    """candidate sites the plan may build (default: all); the others are left out when the scenario loads"""
    bridge_power: bool = True
    """where the grid arrives after online_by_year, on-site generation may carry the site until it does"""
    cfe_share: float = 0.0
    """24/7 carbon-free share: at every site and hour, this share of the load met by carbon-free supply"""
    announced_chips: bool = False
    """also buy SKUs with announced throughput only (chip_throughput.csv basis A: a vendor's FP4 figures,
    no MLPerf result yet); left out when the scenario loads otherwise"""


@dataclass
class TimeOptions:
    representative_days: int = 4
    """typical days picked from the 8760 hours by tsam (365 = the full chronological year); see
    benchmarks/representative_days.py for the error against the full year (4 days: ~0.7 % on $/Mtok)"""
    extreme_days: list[str] | None = field(default_factory=lambda: list(EXTREME_DAYS))
    """days kept as they are, besides the typical ones: lowest_wind, lowest_solar, hottest"""


@dataclass
class SolverOptions:
    time_limit_s: float = 110.0
    """wall-clock limit for the whole solve (all Dinkelbach iterations together)"""
    mip_gap: float = 0.005
    """relative MIP gap at which HiGHS stops"""
    threads: int = 2
    """HiGHS threads"""
    log: bool = False
    """print the HiGHS log"""


@dataclass
class BuildoutOptions:
    planning_years: list[int] | None = None
    """years the plan is made for, each standing for the years until the next (none: the one-year model)"""
    end_year: int | None = None
    """the horizon ends at the start of this year (default: the last planning year + 1)"""
    foresight: str = "perfect"
    """perfect: one MILP over all years; myopic: year by year, each year's decisions fixed before the next"""
    look_ahead_years: int = 0
    """myopic only: how many later planning years each year's solve also sees"""
    resale_share: float = 0.0
    """share of the capital still owed on racks retired early that selling them recovers"""


#: one section of a scenario's options
Section = TypeVar(
    "Section", FinanceOptions, ObjectiveOptions, ConstraintOptions, TimeOptions, SolverOptions, BuildoutOptions
)
OPTION_SECTIONS: dict[str, type] = {
    "finance": FinanceOptions,
    "objective": ObjectiveOptions,
    "constraints": ConstraintOptions,
    "time": TimeOptions,
    "solver": SolverOptions,
    "buildout": BuildoutOptions,
}
FORESIGHTS = ("perfect", "myopic")
TOP_LEVEL_KEYS = {
    "name",
    "description",
    "extends",
    "data",
    "tables",
    "hourly_files",
    "overrides",
    "by_year",
    *OPTION_SECTIONS,
}
#: tables a build-out's ``by_year`` may change (the hourly table and what is derived from it may not)
YEARLY_TABLES = tuple(table for table in TABLES if table != "hourly")
OBJECTIVE_MODES = ("serve_demand", "min_cost_per_token")
#: constraint options ``by_year`` may not change, and what says when instead
WHOLE_SCENARIO_CONSTRAINTS = {"announced_chips": "chips.csv available_year says when a SKU ships"}
#: tables derived from the inputs when a scenario loads (time reduction of ``hourly``)
DERIVED_TABLES = ("slices", "profiles", "days")


@dataclass(frozen=True)
class YearChange:
    """What a build-out changes from a year on (``by_year``): constraint options and table values."""

    year: int
    constraints: dict[str, Any]
    overrides: dict[str, Any]


@dataclass
class Scenario:
    """A validated scenario: options plus tables indexed by their id columns."""

    name: str
    description: str
    tables: dict[str, pd.DataFrame]
    finance: FinanceOptions = field(default_factory=FinanceOptions)
    objective: ObjectiveOptions = field(default_factory=ObjectiveOptions)
    constraints: ConstraintOptions = field(default_factory=ConstraintOptions)
    time: TimeOptions = field(default_factory=TimeOptions)
    solver: SolverOptions = field(default_factory=SolverOptions)
    buildout: BuildoutOptions = field(default_factory=BuildoutOptions)
    source: str = ""
    data_folder: str = ""
    """the folder the tables were read from"""
    aggregation_error: pd.DataFrame = field(default_factory=pd.DataFrame)
    """per site and hourly quantity: how far the representative days are from the 8760 hours"""
    warnings: list[str] = field(default_factory=list)
    """values that pass validation but look like another unit (see ``UNIT_HINTS``)"""
    table_files: dict[str, str] = field(default_factory=dict)
    """the file each table was read from, as messages name it"""
    by_year: list[YearChange] = field(default_factory=list)
    """a build-out's changes from a year on, in year order (``changed_in``)"""

    def facility(self, parameter: str) -> float:
        """Value of one scalar parameter of facility.csv."""
        return float(self.tables["facility"].loc[parameter, "value"])

    def input_folders(self) -> list[Path]:
        """The scenario's own folder and its data folder: no output may be written in them."""
        folders = [Path(self.source).parent] if self.source else []
        return folders + ([Path(self.data_folder)] if self.data_folder else [])

    def options(self) -> dict[str, Any]:
        return {section: asdict(getattr(self, section)) for section in OPTION_SECTIONS}

    def changed_in(self, year: int) -> Scenario:
        """The scenario as it stands in ``year``: every ``by_year`` change of that year or before
        applied in year order (a later year's value wins; ``{scale: x}`` scales the value as it stands)."""
        if not any(change.year <= year for change in self.by_year):
            return self
        tables, constraints = dict(self.tables), self.constraints
        for change in self.by_year:
            if change.year > year:
                break
            where = f"{self.source} (by_year.{change.year})"
            constraints = _options(
                "constraints", ConstraintOptions, {**asdict(constraints), **change.constraints}, Path(where)
            )
            for table, rows in change.overrides.items():
                _, ids, _ = TABLES[table]
                frame = apply_overrides(table, tables[table].reset_index(), rows, where)
                tables[table] = validate_table(table, frame, f"{where} (overrides.{table})").set_index(list(ids))
        if "profiles" in tables:  # made once the scenario has loaded (the checks at load come first)
            tables["profiles"] = follow_annual_grid(tables["profiles"], tables["hourly"], tables["sites"])
        return replace(self, tables=tables, constraints=constraints)

    def with_sites(self, keep: list[str]) -> Scenario:
        """The same scenario (same representative days) with only ``keep`` as candidate sites.

        A plan that builds only sites of ``keep`` costs the same in both: unbuilt sites add nothing.
        """
        tables = dict(self.tables)
        tables["sites"] = tables["sites"].loc[keep]
        for name in ("profiles", "hourly"):
            frame = tables[name]
            tables[name] = frame[frame.index.get_level_values("site_id").isin(keep)]
        error = self.aggregation_error
        if "site_id" in error.columns:
            error = error[error["site_id"].isin(keep)].reset_index(drop=True)
        return replace(self, tables=tables, aggregation_error=error)

    def write(self, folder: Path) -> Path:
        """Write the resolved scenario (options + tables after overrides) so it reloads as is.

        The derived time tables (slices, profiles, days and the aggregation error) are written
        beside the inputs, so a plan can be re-checked from its folder without re-clustering.
        """
        folder.mkdir(parents=True, exist_ok=True)
        for table, (_, _ids, file_name) in TABLES.items():
            frame = self.tables[table].reset_index()
            if file_name.endswith(".geojson"):
                geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
                gpd.GeoDataFrame(frame, geometry=geometry).to_file(folder / file_name, driver="GeoJSON")
            else:
                frame.to_csv(folder / file_name, index=False)
        for table in DERIVED_TABLES:
            self.tables[table].reset_index().to_csv(folder / f"{table}.csv", index=False)
        self.aggregation_error.to_csv(folder / "aggregation_error.csv", index=False)
        document = {"name": self.name, "description": self.description, "data": ".", **self.options()}
        if self.by_year:
            document["by_year"] = {
                change.year: {"constraints": change.constraints, "overrides": change.overrides}
                for change in self.by_year
            }
        path = folder / "scenario.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path


def _yaml_place(error: yaml.YAMLError) -> str:
    """' at line L, column C: what the parser missed', on one line (PyYAML's own text spans five)."""
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{where}: {problem}"


def _read_yaml(path: Path) -> dict:
    try:
        document = load_yaml(path, "scenario file") or {}
    except UnsafeFileError as error:
        raise ScenarioError(str(error)) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML{_yaml_place(error)}") from None
    if not isinstance(document, dict):
        raise ScenarioError(f"{path}: a scenario must be a mapping of keys to values")
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            raise ScenarioError(f"{path}: unknown key '{key}'.{nearest_hint(key, TOP_LEVEL_KEYS)}")
    _check_document_shape(document, path)
    return document


#: what each top-level key holds, checked before any of it is used
DOCUMENT_SHAPES = {
    "extends": "a path to a scenario YAML",
    "data": "a path to a data folder",
    "tables": "a mapping of table names to file names",
    "hourly_files": "a mapping of site ids to hourly CSV files",
    "overrides": "a mapping of table names to {row id: {column: value}}",
    "by_year": "a mapping of years to {constraints: {option: value}, overrides: {table: {row id: {column: value}}}}",
}


def _check_document_shape(document: dict, path: Path) -> None:
    """Reject a key whose value has the wrong shape (a list for a mapping, a number for a path)."""

    def fail(key: str) -> None:
        raise ScenarioError(f"{path}: '{key}' must be {DOCUMENT_SHAPES[key]}, not {document[key]!r}")

    for key in ("extends", "data"):
        if key in document and not isinstance(document[key], str):
            fail(key)
    for key in ("tables", "hourly_files"):
        value = document.get(key)
        if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            fail(key)
    overrides = document.get("overrides")
    if overrides is not None and not isinstance(overrides, dict):
        fail("overrides")
    for table, changes in (overrides or {}).items():
        if not isinstance(changes, dict):
            raise ScenarioError(f"{path}: overrides.{table} must map row ids to {{column: value}}, not {changes!r}")
        for row_id, columns in changes.items():
            if not isinstance(columns, dict):
                raise ScenarioError(f"{path}: overrides.{table}.{row_id} must map columns to values, not {columns!r}")
            for column, value in columns.items():
                if isinstance(value, (list, tuple)) or (isinstance(value, dict) and set(value) != {"scale"}):
                    raise ScenarioError(
                        f"{path}: overrides.{table}.{row_id}.{column}: use a single value or "
                        f"{{scale: x}}, not {value!r}"
                    )
    for section in OPTION_SECTIONS:
        if document.get(section) is not None and not isinstance(document[section], dict):
            raise ScenarioError(f"{path}: '{section}' must be a mapping of options, not {document[section]!r}")


def merge_documents(base: dict, child: dict) -> dict:
    """A deep copy of ``base`` with ``child``'s keys on top, nested mappings merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_documents(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _reference(yaml_path: Path, reference: str, what: str, trusted_root: Path | None) -> Path:
    """A path named in a scenario YAML, resolved against the YAML's folder.

    A relative path may reach at most one folder above the YAML's own (``data: ..`` beside
    ``scenarios/``), so that a scenario someone sent cannot read files elsewhere on the machine;
    an absolute path is the user's explicit choice. Under ``trusted_root`` (a plan folder being
    verified) every path must stay inside that folder, absolute or not.
    """
    target = Path(reference)
    root = trusted_root or yaml_path.parent.parent
    if target.is_absolute() and trusted_root is None:
        return target.resolve()
    resolved = target if target.is_absolute() else yaml_path.parent / target
    if not inside(resolved, root):
        raise ScenarioError(
            f"{yaml_path}: {what} '{reference}' lies outside {root}; a relative path may reach at most one folder "
            "above the scenario's own" + ("" if trusted_root else " (give an absolute path to use a file elsewhere)")
        )
    return resolved.resolve()


def _resolve_document(path: Path, trusted_root: Path | None, seen: tuple[Path, ...] = ()) -> dict:
    """The YAML with ``extends`` followed and ``data`` and ``hourly_files`` made absolute."""
    path = path.resolve()
    if path in seen:
        raise ScenarioError(f"{path}: 'extends' forms a cycle")
    document = _read_yaml(path)
    if "data" in document:
        document["data"] = str(_reference(path, document["data"], "data folder", trusted_root))
    for site, file in (document.get("hourly_files") or {}).items():
        document["hourly_files"][site] = str(_reference(path, file, f"hourly_files.{site}", trusted_root))
    parent = document.pop("extends", None)
    if parent is None:
        return document
    base = _reference(path, parent, "extends", trusted_root)
    return merge_documents(_resolve_document(base, trusted_root, (*seen, path)), document)


def _fits(value: Any, hint: Any) -> bool:
    """Whether an option value matches its annotation (int/float/bool/str, optional, list[str])."""
    if value is None:
        return type(None) in typing.get_args(hint)
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    for option in options:
        origin = typing.get_origin(option)
        if origin is list:
            (item_hint,) = typing.get_args(option)
            if isinstance(value, list) and all(_fits(item, item_hint) for item in value):
                return True
        elif option is bool:
            if isinstance(value, bool):
                return True
        elif option in (int, float):
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if number and (option is float or float(value).is_integer()):
                return True
        elif isinstance(value, option):
            return True
    return False


def _options(section: str, cls: type[Section], values: Any, path: Path) -> Section:
    if values is None:
        return cls()
    if not isinstance(values, dict):
        raise ScenarioError(f"{path}: '{section}' must be a mapping")
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if key not in hints:
            raise ScenarioError(f"{path}: unknown key '{section}.{key}'.{nearest_hint(key, hints)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ScenarioError(f"{path}: {section}.{key}: value {value!r} must be a finite number")
        if not _fits(value, hints[key]):
            raise ScenarioError(f"{path}: {section}.{key}: value {value!r} is not a {hints[key]}")
    return cls(**values)


def _read_table(table: str, path: Path) -> pd.DataFrame:
    """A table file as read: GeoJSON points or CSV (optionally gzipped), in any common encoding; an
    optional table the folder leaves out reads as no rows."""
    if table in OPTIONAL_TABLES and not path.exists():
        return pd.DataFrame(columns=list(TABLES[table][0].columns))
    try:
        if path.suffix in (".geojson", ".json"):
            return read_points(path)
        return read_csv(path, f"table '{table}'", comment=None, skipinitialspace=True)
    except (UnsafeFileError, GeoJSONError) as error:
        raise ScenarioError(str(error)) from None


def _replace_site_hours(hourly: pd.DataFrame, site_files: Any, path: Path) -> pd.DataFrame:
    """Replace a site's hourly columns with a user's 8760-hour CSV (``hourly_files: {site: file}``)."""
    if not site_files:
        return hourly
    from optimizer.inputs.weather import WeatherFileError, read_site_hourly_csv  # read only when a site names a file

    if not isinstance(site_files, dict):
        raise ScenarioError(f"{path}: hourly_files must map site ids to CSV files")
    known = set(hourly["site_id"])
    frame = hourly.set_index(["site_id", "hour"])
    for site, file in site_files.items():
        if site not in known:
            raise ScenarioError(f"{path}: hourly_files: unknown site '{site}'.{nearest_hint(str(site), known)}")
        try:
            replacement = read_site_hourly_csv(Path(file), site)
        except WeatherFileError as error:
            raise ScenarioError(str(error)) from None
        if "temp_c" in replacement and "wetbulb_c" not in replacement:
            raise ScenarioError(
                f"{file}: gives temp_c but no humidity: add wetbulb_c, dewpoint_c or rh_percent "
                f"so the wet-bulb temperature matches the new dry-bulb temperature"
            )
        replacement = replacement.set_index(["site_id", "hour"])
        for column in replacement.columns:
            if column not in frame.columns:
                frame[column] = float("nan")
            frame.loc[replacement.index, column] = replacement[column]
        _name_user_source(frame, site, Path(file).name, list(replacement.columns))
    return validate_table("hourly", frame.reset_index(), f"{path} (hourly_files)")


def _name_user_source(frame: pd.DataFrame, site: str, file_name: str, replaced: list[str]) -> None:
    """Say in the site's weather_source / grid_source that a user's file replaced (some of) its hours."""
    rows = frame.index.get_level_values("site_id") == site
    for kind, quantities in (("weather", WEATHER_QUANTITIES), ("grid", GRID_QUANTITIES)):
        column, taken = SOURCE_COLUMNS[kind], [q for q in quantities if q in replaced]
        if not taken:
            continue
        before = frame.loc[rows, column].iloc[0] if column in frame else NOT_STATED
        before = NOT_STATED if pd.isna(before) else before
        kept = "" if len(taken) == len(quantities) else f"; other columns: {before}"
        if column not in frame:
            frame[column] = NOT_STATED
        frame.loc[rows, column] = f"user file {file_name} ({', '.join(taken)}){kept}"


#: (section, option) -> (low, high, rule in words): the range a numeric option may take
OPTION_RANGES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("finance", "wacc"): (0.0, 1.0 - 1e-9, "a fraction in [0, 1)"),
    ("finance", "start_year"): (2000, 2100, "a year in 2000..2100"),
    ("finance", "dollar_year"): (2000, 2100, "a year in 2000..2100"),
    ("finance", "horizon_yr"): (1.0, 100.0, "a number of years in 1..100"),
    ("objective", "min_demand_share"): (1e-9, 1.0, "a fraction in (0, 1]"),
    ("objective", "dinkelbach_tolerance"): (1e-12, 0.1, "a tolerance in (0, 0.1]"),
    ("objective", "max_iterations"): (1, 1000, "a count in 1..1000"),
    ("objective", "unserved_usd_per_mtok"): (0.0, math.inf, "a price of at least 0"),
    ("constraints", "online_by_year"): (2000, 2100, "a year in 2000..2100"),
    ("constraints", "carbon_cap_t_per_yr"): (0.0, math.inf, "a tonnage of at least 0"),
    ("constraints", "carbon_price_usd_per_t"): (
        0.0,
        math.inf,
        "a price of at least 0 (a negative price pays for emitting)",
    ),
    ("constraints", "capex_budget_usd"): (0.0, math.inf, "an amount of at least 0"),
    ("constraints", "cfe_share"): (0.0, 1.0, "a fraction in [0, 1]"),
    ("time", "representative_days"): (1, DAYS_PER_YEAR, f"a count between 1 and {DAYS_PER_YEAR}"),
    ("solver", "time_limit_s"): (1e-3, math.inf, "a positive number of seconds"),
    ("solver", "mip_gap"): (0.0, 1.0 - 1e-9, "a fraction in [0, 1)"),
    ("solver", "threads"): (1, 1024, "a count in 1..1024"),
    ("buildout", "end_year"): (2000, 2101, "a year in 2000..2101"),
    ("buildout", "look_ahead_years"): (0, 100, "a count in 0..100"),
    ("buildout", "resale_share"): (0.0, 1.0, "a fraction in [0, 1]"),
}


def _option_problems(scenario: Scenario) -> list[str]:
    """Every numeric option finite and within its range; names from the option sections."""
    problems = []
    for section in OPTION_SECTIONS:
        for name, value in asdict(getattr(scenario, section)).items():
            if value is None or isinstance(value, (bool, str, list)):
                continue
            option = f"{section}.{name}"
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.append(f"{option}: value {value!r} must be a finite number")
                continue
            low, high, rule = OPTION_RANGES.get((section, name), (-math.inf, math.inf, ""))
            if not low <= value <= high:
                problems.append(f"{option}: value {value!r} must be {rule}")
    return problems


def _buildout_problems(scenario: Scenario) -> list[str]:
    """Planning years in order, from the start year, inside the horizon; a known foresight."""
    options, start = scenario.buildout, scenario.finance.start_year
    problems = []
    if options.foresight not in FORESIGHTS:
        hint = nearest_hint(options.foresight, FORESIGHTS)
        problems.append(f"buildout.foresight '{options.foresight}' is not one of {FORESIGHTS}.{hint}")
    years = options.planning_years
    if years is None:
        return problems
    if not years:
        problems.append("buildout.planning_years is an empty list (leave it out for the one-year model)")
        return problems
    if any(not 2000 <= year <= 2100 for year in years):
        problems.append(f"buildout.planning_years {years}: every year must be in 2000..2100")
    if list(years) != sorted(set(years)):
        problems.append(f"buildout.planning_years {years} must be distinct and in increasing order")
    if years[0] < start:
        problems.append(f"buildout.planning_years starts in {years[0]}, before finance.start_year {start}")
    if options.end_year is not None and options.end_year <= years[-1]:
        problems.append(
            f"buildout.end_year {options.end_year} must come after the last planning year {years[-1]} "
            "(the horizon ends at the start of end_year)"
        )
    return problems


def _year_changes(by_year: Any, path: Path) -> list[YearChange]:
    """``by_year`` as YearChanges in year order; the shape of each entry checked (its values are
    checked by applying it, see ``Scenario.changed_in``)."""
    if by_year is None:
        return []
    if not isinstance(by_year, dict):
        raise ScenarioError(f"{path}: 'by_year' must be {DOCUMENT_SHAPES['by_year']}, not {by_year!r}")
    changes = []
    for year, change in by_year.items():
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise ScenarioError(f"{path}: by_year: '{year}' is not a year in 2000..2100")
        if not isinstance(change, dict) or set(change) - {"constraints", "overrides"}:
            raise ScenarioError(f"{path}: by_year.{year} may hold only 'constraints' and 'overrides', not {change!r}")
        constraints, overrides = change.get("constraints") or {}, change.get("overrides") or {}
        hints = typing.get_type_hints(ConstraintOptions)
        for key in constraints:
            if key not in hints:
                raise ScenarioError(
                    f"{path}: by_year.{year}: unknown key 'constraints.{key}'.{nearest_hint(key, hints)}"
                )
            if key in WHOLE_SCENARIO_CONSTRAINTS:
                raise ScenarioError(
                    f"{path}: by_year.{year}: constraints.{key} holds for the whole scenario, not from a year on "
                    f"({WHOLE_SCENARIO_CONSTRAINTS[key]})"
                )
        for table in overrides:
            if table not in YEARLY_TABLES:
                raise ScenarioError(
                    f"{path}: by_year.{year}.overrides: '{table}' cannot change by year "
                    f"(one of {', '.join(YEARLY_TABLES)}).{nearest_hint(str(table), YEARLY_TABLES)}"
                )
        _check_document_shape({"overrides": overrides}, path)
        changes.append(YearChange(year, dict(constraints), dict(overrides)))
    return sorted(changes, key=lambda change: change.year)


def check_options(scenario: Scenario, where: str) -> None:
    """Raise ScenarioError unless every option is valid. The command line's options pass here too,
    after they replace the YAML's, so ``--time-limit 0`` is refused like ``time_limit_s: 0``."""
    problems = _option_problems(scenario)
    if scenario.objective.mode not in OBJECTIVE_MODES:
        problems.append(
            f"objective.mode '{scenario.objective.mode}' is not one of {OBJECTIVE_MODES}."
            f"{nearest_hint(scenario.objective.mode, OBJECTIVE_MODES)}"
        )
    for name in scenario.time.extreme_days or []:
        if name not in EXTREME_DAYS:
            problems.append(f"time.extreme_days: unknown day '{name}'.{nearest_hint(name, EXTREME_DAYS)}")
    if scenario.objective.mode == "min_cost_per_token" and not scenario.tables["demand"]["tokens_per_yr"].sum() > 0:
        problems.append(
            "objective.mode min_cost_per_token needs some demand: a cost per token of no tokens is undefined"
        )
    online_by = scenario.constraints.online_by_year
    if online_by is not None and online_by < scenario.finance.start_year:
        problems.append(
            f"constraints.online_by_year {online_by} is before finance.start_year "
            f"{scenario.finance.start_year}: nothing can be built in time"
        )
    if scenario.objective.unserved_usd_per_mtok is not None and scenario.objective.mode != "serve_demand":
        problems.append(
            "objective.unserved_usd_per_mtok prices demand left unserved under serve_demand; "
            "min_cost_per_token chooses the tokens it delivers itself (leave it out)"
        )
    problems += _buildout_problems(scenario)
    tables = scenario.tables
    choices = {
        "allowed_power_techs": [*tables["power_techs"].index, *tables["storage_techs"].index],
        "allowed_sites": list(tables["sites"].index),
    }
    for option, known in choices.items():
        chosen = getattr(scenario.constraints, option)
        if chosen is not None and not chosen:
            problems.append(
                f"constraints.{option} is an empty list: nothing could be built (leave it out to allow all)"
            )
        for item in chosen or []:
            if item not in known:
                problems.append(f"constraints.{option}: unknown id '{item}'.{nearest_hint(item, known)}")
    if problems:
        raise ScenarioError("\n".join(f"{where}: {problem}" for problem in problems))


def load_scenario(path: str | Path, trusted_root: str | Path | None = None) -> Scenario:
    """Read, override and validate a scenario YAML and all its tables.

    ``trusted_root``: read no file outside this folder (a plan folder someone sent, re-checked by
    ``aifactory verify``); see :func:`_reference` for the rule without it.
    """
    path = Path(path)
    trusted_root = None if trusted_root is None else Path(trusted_root).resolve()
    if trusted_root is not None and not inside(path, trusted_root):
        raise ScenarioError(f"{path}: the scenario lies outside {trusted_root}")
    document = _resolve_document(path, trusted_root)
    data_dir = Path(document.get("data", path.parent.resolve()))
    names = document.get("tables") or {}
    for table in names:
        if table not in TABLES:
            raise ScenarioError(f"{path}: tables: unknown table '{table}'.{nearest_hint(table, TABLES)}")
    overrides = document.get("overrides") or {}
    for table in overrides:
        if table not in TABLES:
            raise ScenarioError(f"{path}: overrides: unknown table '{table}'.{nearest_hint(table, TABLES)}")

    tables, files = {}, {}
    for table, (_, ids, default_file) in TABLES.items():
        file = data_dir / names.get(table, default_file)
        if not inside(file, data_dir):
            raise ScenarioError(f"{path}: tables.{table}: '{names[table]}' lies outside the data folder {data_dir}")
        files[table] = str(file)
        frame = validate_table(table, _read_table(table, file), str(file))
        if table == "hourly":
            frame = _replace_site_hours(frame, document.get("hourly_files"), path)
        if table in overrides:
            frame = apply_overrides(table, frame, overrides[table], str(path))
            frame = validate_table(table, frame, f"{path} (overrides.{table})")
        tables[table] = frame.set_index(list(ids))
    tables["facility"] = with_facility_defaults(tables["facility"])
    check_consistency(tables, files)

    scenario = Scenario(
        name=str(document.get("name", path.stem)),
        description=str(document.get("description", "")),
        tables=tables,
        source=str(path),
        data_folder=str(data_dir),
        warnings=unit_warnings(tables, files) + unknown_states(tables["sites"], files["sites"]),
        table_files=files,
        finance=_options("finance", FinanceOptions, document.get("finance"), path),
        objective=_options("objective", ObjectiveOptions, document.get("objective"), path),
        constraints=_options("constraints", ConstraintOptions, document.get("constraints"), path),
        time=_options("time", TimeOptions, document.get("time"), path),
        solver=_options("solver", SolverOptions, document.get("solver"), path),
        buildout=_options("buildout", BuildoutOptions, document.get("buildout"), path),
    )
    if not scenario.constraints.announced_chips:
        _leave_out_announced(tables)
    check_options(scenario, str(path))
    scenario.by_year = _year_changes(document.get("by_year"), path)
    for change in scenario.by_year:  # every year's changes checked now, not when that year is built
        check_options(scenario.changed_in(change.year), f"{path} (by_year.{change.year})")
    if scenario.constraints.allowed_sites is not None:
        # only the allowed candidates enter the model, and the representative days fit their weather
        keep = tables["sites"].index.isin(scenario.constraints.allowed_sites)
        tables["sites"] = tables["sites"][keep]
        hourly_sites = tables["hourly"].index.get_level_values("site_id")
        tables["hourly"] = tables["hourly"][hourly_sites.isin(tables["sites"].index)]
    extremes = scenario.time.extreme_days or []
    time = representative_days(
        complete_hourly(tables["hourly"], tables["sites"]), scenario.time.representative_days, extremes
    )
    tables.update(slices=time.slices, profiles=time.profiles, days=time.days)
    scenario.aggregation_error = time.error
    return scenario


def _leave_out_announced(tables: dict[str, pd.DataFrame]) -> None:
    """Drop throughput that is only announced, and the SKUs left with none (with their years)."""
    throughput = tables["chip_throughput"]
    announced = throughput["basis"] == ANNOUNCED_BASIS
    if not announced.any():
        return
    tables["chip_throughput"] = throughput[~announced]
    chips_with_throughput = tables["chip_throughput"].index.get_level_values("chip_id")
    dropped = set(throughput[announced].index.get_level_values("chip_id")) - set(chips_with_throughput)
    tables["chips"] = tables["chips"][~tables["chips"].index.isin(dropped)]
    if "chip_years" in tables:
        years = tables["chip_years"]
        tables["chip_years"] = years[~years.index.get_level_values("chip_id").isin(dropped)]
