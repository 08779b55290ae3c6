"""Reading a plan folder someone sent: only where it is safe, into tables indexed for the checks."""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import numpy as np
import pandas as pd
import yaml

from optimizer.inputs.safe_io import UnsafeFileError, checked_file, inside, load_yaml, read_text
from optimizer.inputs.scenario import Scenario, load_scenario
from optimizer.verify.contract import (
    DERIVED_TABLES,
    KEY_COLUMNS,
    MAX_PLAN_FOLDER_ENTRIES,
    MAX_PLAN_TABLE_BYTES,
    MAX_PLAN_YAML_BYTES,
    NUMBER,
    PLAN_COLUMNS,
    PLAN_FILES,
    PLAN_TABLES,
    SCENARIO_YAML,
    VARIABLE_KINDS,
    YAML_SUFFIXES,
)
from optimizer.verify.formulas import present_value_share, recompute_costs, site_emissions_t, site_pue_wue
from optimizer.verify.recorder import Recorder, cell_place

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


def _escapes(reference: object, base: Path, root: Path) -> bool:
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
    return [
        f"{path}: {key} '{reference}' is absolute or leads outside the plan folder; a plan's scenario copy may "
        f"name only files inside it"
        for key, reference, base in references
        if _escapes(reference, base, root)
    ]


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
            problems.append(f"{cell_place(name, table, int(i), column)}: {table[column].iloc[i]!r} is not a number")
        table[column] = numbers
    return problems


def _read_table(folder: Path, name: str, files: Recorder) -> tuple[pd.DataFrame | None, list[str]]:
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


def _read_tables(folder: Path, names: Iterable[str], files: Recorder) -> tuple[dict[str, pd.DataFrame], list[str]]:
    tables, non_numbers = {}, []
    for name in names:
        table, problems = _read_table(folder, name, files)
        if table is not None:
            tables[name] = table
        non_numbers += problems
    return tables, non_numbers


def _safe_folder(folder: Path, files: Recorder) -> bool:
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


def read_plan(folder: Path, files: Recorder) -> Plan | None:
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
        return Plan(folder, tables, inputs, non_numbers)
    except Exception as error:
        files.rule(False, f"{folder}: cannot index the tables: {type(error).__name__}: {' '.join(str(error).split())}")
        return None


class Plan:
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

    def capacities_at(self, sites: pd.Series, tech: str, column: str = "capacity_mw") -> pd.Series:
        """:meth:`capacity` of ``tech`` at each site of ``sites``, as numbers also when there are none
        (an empty text column mapped stays text, and text times a number fails)."""
        return sites.map(lambda s: self.capacity(s, tech, column)).astype(float)

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
    def online_by(self) -> int | None:
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
        return site_pue_wue(self)

    @functools.cached_property
    def emissions_t(self) -> pd.Series:
        return site_emissions_t(self)

    @functools.cached_property
    def recomputed_costs(self) -> tuple[dict[tuple[str, str], pd.Series], pd.Series]:
        return recompute_costs(self)
