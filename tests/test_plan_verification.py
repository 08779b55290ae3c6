"""Independent re-check of an exported plan from its folder alone.

``verify_plan_folder(folder)`` reads the plan's CSV tables and the resolved scenario copied into
``folder/scenario/`` and re-checks every physical, commercial and policy rule of the formulation
with pandas/numpy arithmetic. It never imports the Pyomo model, the solver or the product's cooling
formulas (PUE and WUE are re-derived here from cooling.csv): a plan that passes here is feasible by
an independent reading of the data contract, not merely by the model's own account.
``optimizer.scenario.load_scenario`` is used only to read the copied input tables and options (it
also clusters the hourly table, a result ignored here): the model's time, i.e. the representative
days, their weather and grid profiles and the calendar, is read from the derived tables the plan
copied beside them (``scenario/slices.csv``, ``profiles.csv``, ``days.csv``) and checked against the
8760 input hours (``aggregation_error.csv`` is re-measured).

Other tests may reuse it::

    from tests.test_plan_verification import verify_plan_folder
    assert verify_plan_folder(plan_dir) == []
"""

from __future__ import annotations

import functools
import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from optimizer.scenario import Scenario, load_scenario

RTOL = 1e-6
ATOL = 1e-6
HOURS_PER_YEAR = 8760.0
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365
PLAN_TABLES = (
    "summary", "sites", "chips", "allocation", "power", "dispatch", "storage_days", "deliveries", "costs",
    "aggregation_error",
)
#: the model's time, derived from the hourly inputs when the scenario loaded, copied with it
DERIVED_TABLES = ("slices", "profiles", "days", "aggregation_error")
#: quantities of the hourly table and of profiles.csv; the grid ones fall back to the site's annual value
HOURLY_QUANTITIES = ("solar_cf", "wind_cf", "temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh")
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


# --------------------------------------------------------------------------------------------
# tolerances and reporting


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1), written out again on purpose."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def present_value_share(wait_yr: float, horizon_yr: float, rate: float) -> float:
    """Share of the horizon's discounted years that fall in its first ``wait_yr`` years, written out again."""
    wait_yr = min(max(wait_yr, 0.0), horizon_yr)
    if rate == 0:
        return wait_yr / horizon_yr
    return (1.0 - (1.0 + rate) ** -wait_yr) / (1.0 - (1.0 + rate) ** -horizon_yr)


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _scale(*values) -> np.ndarray:
    return functools.reduce(np.maximum, [np.abs(_arr(v)) for v in values])


def _bad_le(lhs, rhs, scale=None, atol: float = ATOL) -> np.ndarray:
    """Where ``lhs <= rhs`` fails beyond the tolerance."""
    lhs, rhs = _arr(lhs), _arr(rhs)
    scale = _scale(lhs, rhs) if scale is None else _arr(scale)
    return lhs > rhs + RTOL * scale + atol


def _bad_eq(a, b, scale=None, atol: float = ATOL) -> np.ndarray:
    a, b = _arr(a), _arr(b)
    scale = _scale(a, b) if scale is None else _arr(scale)
    return np.abs(a - b) > RTOL * scale + atol


def _bad_eq_nan(a, b, scale=None, atol: float = ATOL) -> np.ndarray:
    """Like ``_bad_eq`` where a blank (NaN) must meet a blank."""
    a, b = _arr(a), _arr(b)
    both = np.isnan(a) & np.isnan(b)
    one = np.isnan(a) ^ np.isnan(b)
    with np.errstate(invalid="ignore"):
        differ = _bad_eq(np.where(both | one, 0.0, a), np.where(both | one, 0.0, b), scale, atol)
    return one | (differ & ~both)


class _Report:
    """Collects violation messages, at most a few per check so a broken plan stays readable."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._count: dict[str, int] = {}

    def add(self, check: str, message: str) -> None:
        n = self._count.get(check, 0) + 1
        self._count[check] = n
        if n <= MAX_MESSAGES_PER_CHECK:
            self.messages.append(f"[{check}] {message}")
        elif n == MAX_MESSAGES_PER_CHECK + 1:
            self.messages.append(f"[{check}] ... further violations of this check not listed")

    def where(self, check: str, bad, frame: pd.DataFrame, describe) -> None:
        """Add one message per row of ``frame`` flagged in ``bad``; ``describe(row)`` words it."""
        bad = np.asarray(bad, dtype=bool)
        for row in frame[bad].itertuples(index=False):
            try:
                message = describe(row)
            except Exception:  # a wording slip must not hide the violation itself
                message = f"violated at {row._asdict()}"
            self.add(check, message)

    def scalar_eq(self, check: str, what: str, value, expected, scale=None, atol: float = ATOL) -> None:
        if bool(_bad_eq_nan(value, expected, scale, atol)):
            self.add(check, f"{what}: {float(value):.10g} != expected {float(expected):.10g}")

    def scalar_le(self, check: str, what: str, value, limit, atol: float = ATOL) -> None:
        if bool(_bad_le(value, limit, atol=atol)) or math.isnan(float(value)):
            self.add(check, f"{what}: {float(value):.10g} exceeds {float(limit):.10g}")


# --------------------------------------------------------------------------------------------
# loading

#: input tables and options of a scenario copy, by a digest of its files: the corruption tests
#: re-verify copies of one plan many times, and loading (which also clusters the hourly table,
#: a result this verifier never uses) takes seconds
_SCENARIOS: dict[str, Scenario] = {}


def _load_inputs(folder: Path) -> Scenario:
    digest = hashlib.sha256()
    for path in sorted((folder / "scenario").iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    key = digest.hexdigest()
    if key not in _SCENARIOS:
        _SCENARIOS[key] = load_scenario(folder / "scenario" / "scenario.yaml")
    return _SCENARIOS[key]


def _read_time_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The model's time as the plan copied it: slices, profiles (site x slice), calendar days."""
    scenario = folder / "scenario"
    slices = pd.read_csv(scenario / "slices.csv").set_index("slice_id")
    profiles = pd.read_csv(scenario / "profiles.csv", dtype={"site_id": str}).set_index(["site_id", "slice_id"])
    days = pd.read_csv(scenario / "days.csv").set_index("day")
    error = pd.read_csv(scenario / "aggregation_error.csv", dtype={"site_id": str})
    return {"slices": slices, "profiles": profiles, "days": days, "aggregation_error": error}


class _Plan:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.t = {name: pd.read_csv(folder / f"{name}.csv", dtype={"site_id": str}) for name in PLAN_TABLES}
        self.scenario = _load_inputs(folder)
        time = _read_time_tables(folder)
        self.copied_error = time.pop("aggregation_error")
        # the scenario's tables indexed by their ids; the time tables from the plan's own copy
        self.s = {**self.scenario.tables, **time}

        sites = self.t["sites"].copy()
        sites["cooling_id"] = sites["cooling_id"].fillna("").astype(str)
        self.sites = sites.set_index("site_id")
        self.built = list(self.sites.index[self.sites["built"] == 1])
        self.dispatch = self.t["dispatch"]
        self.power = self.t["power"]
        self.gen_power = self.power[self.power["kind"] != "storage"]
        self.storage_power = self.power[self.power["kind"] == "storage"]
        techs = self.s["power_techs"]
        self.grid_tech = techs.index[techs["kind"] == "grid"][0]
        self.weights = self.s["slices"]["weight_h"].astype(float)
        self.w = self.dispatch["slice_id"].map(self.weights).astype(float)  # weight of each dispatch row
        self._keys = pd.MultiIndex.from_arrays([self.dispatch["site_id"], self.dispatch["slice_id"]])
        self._capacities: dict[str, dict] = {}

    def facility(self, name: str) -> float:
        return float(self.s["facility"].loc[name, "value"])

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

    def profile(self, quantity: str) -> pd.Series:
        """One column of profiles.csv, aligned with the dispatch rows."""
        values = self.s["profiles"][quantity].reindex(self._keys).to_numpy(dtype=float)
        return pd.Series(values, index=self.dispatch.index)

    def availability(self, tech: str) -> pd.Series:
        """Largest output per MW of capacity of ``tech`` in each dispatch row."""
        row = self.s["power_techs"].loc[tech]
        if row["kind"] in ("solar", "wind"):
            return self.profile(f"{row['kind']}_cf")
        return pd.Series(float(row["availability"]), index=self.dispatch.index)

    def annual(self, column: str) -> pd.Series:
        """MWh per year of one dispatch column, per site (every site of sites.csv)."""
        energy = (self.dispatch_column(column) * self.w).groupby(self.dispatch["site_id"]).sum()
        return energy.reindex(self.sites.index, fill_value=0.0)

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

    def bridge_share(self) -> pd.Series:
        """Present-value share of the horizon each site spends on bridge power (0 where none)."""
        sites = self.s["sites"]
        share = pd.Series(0.0, index=sites.index)
        if not self.scenario.constraints.bridge_power or self.online_by is None:
            return share
        finance, wait, allowed = self.scenario.finance, self.grid_wait_yr(), self.grid_allowed()
        for site in sites.index:
            if wait[site] > 0 and allowed[site]:
                share[site] = present_value_share(float(wait[site]), finance.horizon_yr, finance.wacc)
        return share

    @property
    def bridge_sites(self) -> list[str]:
        share = self.bridge_share()
        return list(share.index[share > 0])


def _cooling_pue_wue(k: pd.Series, drybulb: np.ndarray, wetbulb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PUE and WUE (L per kWh of IT) of cooling ``k`` in each hour, re-derived from cooling.csv.

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
        pue[rows], wue[rows] = _cooling_pue_wue(cooling.loc[k], drybulb[rows].to_numpy(), wetbulb[rows].to_numpy())
    return pue, wue


# --------------------------------------------------------------------------------------------
# checks, one function per family


def _power_columns(p: _Plan) -> list[str]:
    """Dispatch columns that are powers and can never be negative."""
    d = p.dispatch
    names = ["it_mw", "facility_mw", *(f"{g}_mw" for g in p.s["power_techs"].index)]
    names += [f"{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")]
    names += [c for c in d.columns if c.startswith("bridge_") and c.endswith("_mw")]
    return [c for c in names if c in d.columns]


def _check_time(p: _Plan, r: _Report) -> None:
    """Representative days: weights add up to the year, whole days, the calendar maps to them."""
    slices, days, profiles = p.s["slices"], p.s["days"], p.s["profiles"]
    r.scalar_eq("time", "slices.csv: sum of weight_h vs hours per year", slices["weight_h"].sum(), HOURS_PER_YEAR)
    if slices.index.duplicated().any():
        r.add("time", "slices.csv: duplicate slice ids")
    for period, group in slices.groupby("period"):
        if sorted(group["hour"].tolist()) != list(range(HOURS_PER_DAY)):
            r.add("time", f"slices.csv: period {period} does not hold hours 0..23 once each ({len(group)} slices)")
        if group["weight_h"].nunique() != 1:
            r.add("time", f"slices.csv: period {period} has different weights within the day")
    if sorted(days.index.tolist()) != list(range(DAYS_PER_YEAR)):
        r.add("time", f"days.csv: {len(days)} rows; needs every day 0..{DAYS_PER_YEAR - 1} once")
    stray = sorted(set(days["period"]) - set(slices["period"]))
    if stray:
        r.add("time", f"days.csv: days mapped to periods {stray} that slices.csv does not have")
    # a slice of period p stands for one hour on each calendar day p represents
    counts = days["period"].value_counts()
    frame = slices.reset_index().assign(v_days=lambda x: x["period"].map(counts).fillna(0.0))
    r.where("time", _bad_eq(frame["weight_h"], frame["v_days"]), frame, lambda x: f"slice {x.slice_id} (period "
            f"{x.period}): weight_h {x.weight_h:g} != {x.v_days:g} calendar days mapped to its period in days.csv")

    expected = {(s, t) for s in p.s["sites"].index for t in slices.index}
    got = set(profiles.index)
    if got != expected or profiles.index.duplicated().any():
        r.add("time", f"profiles.csv: {len(expected - got)} (site, slice) rows missing, {len(got - expected)} "
              f"unexpected, or duplicates")
    for quantity in HOURLY_QUANTITIES:
        if quantity not in profiles.columns:
            r.add("time", f"profiles.csv has no column '{quantity}'")
            continue
        values = profiles[quantity].astype(float)
        if values.isna().any():
            r.add("time", f"profiles.csv: blank {quantity} values")
        if quantity.endswith("_cf") and ((values < -ATOL) | (values > 1 + ATOL)).any():
            r.add("time", f"profiles.csv: {quantity} outside [0, 1]")

    summary = p.t["summary"].iloc[0]
    r.scalar_eq("time", "summary periods vs slices.csv", summary["periods"], slices["period"].nunique())
    r.scalar_eq("time", "summary slices vs slices.csv", summary["slices"], len(slices))
    r.scalar_eq("time", "summary representative_days vs time.representative_days", summary["representative_days"],
                p.scenario.time.representative_days)
    _check_aggregation_error(p, r)


def _complete_hourly(p: _Plan, quantity: str) -> pd.DataFrame:
    """8760-hour input series of one quantity, sites x hours; blank grid values take the annual value."""
    hourly, sites = p.s["hourly"], p.s["sites"]
    if quantity in hourly.columns:
        wide = hourly[quantity].astype(float).unstack("hour")
    else:
        wide = pd.DataFrame(np.nan, index=sites.index, columns=range(int(HOURS_PER_YEAR)))
    wide = wide.reindex(index=sites.index, columns=range(int(HOURS_PER_YEAR)))
    if quantity in ANNUAL_FALLBACK:
        annual = sites[quantity].astype(float)
        wide = wide.apply(lambda row: row.fillna(annual[row.name]), axis=1)
    return wide


def _check_aggregation_error(p: _Plan, r: _Report) -> None:
    """Re-measure how far the calendar of representative days is from the 8760 input hours."""
    slices, days, profiles = p.s["slices"], p.s["days"]["period"], p.s["profiles"]
    reported = p.t["aggregation_error"].set_index(["site_id", "quantity"]).sort_index()
    copied = p.copied_error.set_index(["site_id", "quantity"]).sort_index()
    if not reported.index.equals(copied.index) or not np.allclose(
        reported.to_numpy(float), copied.to_numpy(float), rtol=RTOL, atol=ATOL, equal_nan=True
    ):
        r.add("time", "aggregation_error.csv differs from scenario/aggregation_error.csv")
    expected = {(s, q) for s in p.s["sites"].index for q in HOURLY_QUANTITIES}
    if set(reported.index) != expected or reported.index.duplicated().any():
        r.add("time", f"aggregation_error.csv: {len(expected - set(reported.index))} (site, quantity) rows missing, "
              f"{len(set(reported.index) - expected)} unexpected, or duplicates")
    slice_of = {(int(a), int(b)): int(t) for t, a, b in zip(slices.index, slices["period"], slices["hour"])}
    try:
        hour_slices = [slice_of[int(days[d]), h] for d in range(DAYS_PER_YEAR) for h in range(HOURS_PER_DAY)]
    except KeyError as missing:
        r.add("time", f"days.csv / slices.csv: no slice for (period, hour) {missing}")
        return
    sites = list(p.s["sites"].index)
    for quantity in HOURLY_QUANTITIES:
        original = _complete_hourly(p, quantity).to_numpy()
        table = profiles[quantity].unstack("slice_id").reindex(index=sites, columns=slices.index)
        rebuilt = table[hour_slices].to_numpy(dtype=float)
        rows = pd.DataFrame({
            "site_id": sites,
            "annual_mean": original.mean(axis=1),
            "mean_error": rebuilt.mean(axis=1) - original.mean(axis=1),
            "rmse": np.sqrt(((original - rebuilt) ** 2).mean(axis=1)),
            "duration_rmse": np.sqrt(((np.sort(original, axis=1) - np.sort(rebuilt, axis=1)) ** 2).mean(axis=1)),
        })
        for column in ("annual_mean", "mean_error", "rmse", "duration_rmse"):
            keys = list(zip(rows["site_id"], [quantity] * len(rows)))
            got = reported[column].reindex(keys).to_numpy(dtype=float) if column in reported else np.full(len(rows), np.nan)
            frame = rows.assign(v_got=got)
            r.where("time", _bad_eq_nan(got, rows[column], _scale(got, rows[column], 1.0)), frame,
                    lambda x, c=column, q=quantity: f"aggregation_error.csv {x.site_id}/{q}: {c} {x.v_got:.9g} != "
                    f"{getattr(x, c):.9g} re-measured from hourly.csv.gz, days.csv and profiles.csv")
    summary = p.t["summary"].iloc[0]
    for quantity in SUMMARY_RMSE:
        mean = reported.xs(quantity, level="quantity")["rmse"].mean() if quantity in reported.index.get_level_values(1) else np.nan
        r.scalar_eq("time", f"summary aggregation_rmse_{quantity} vs mean rmse over sites", summary[f"aggregation_rmse_{quantity}"],
                    mean)


def _check_structure(p: _Plan, r: _Report) -> None:
    scenario_sites = set(p.s["sites"].index)
    if set(p.sites.index) != scenario_sites:
        r.add("structure", f"sites.csv lists {sorted(set(p.sites.index) ^ scenario_sites)} differently from the scenario")
    for site in p.sites.index:
        built, cooling = int(p.sites.loc[site, "built"]), p.sites.loc[site, "cooling_id"]
        if built not in (0, 1):
            r.add("structure", f"site {site}: built = {built} is not 0/1")
        if built == 1 and cooling not in p.s["cooling"].index:
            r.add("structure", f"site {site}: built but cooling_id '{cooling}' is not a cooling technology")
        if built == 0 and cooling:
            r.add("structure", f"site {site}: not built but has cooling '{cooling}'")
    allowed = p.scenario.constraints.allowed_sites
    if allowed is not None:
        for site in p.built:
            if site not in allowed:
                r.add("structure", f"site {site}: built but not in constraints.allowed_sites")

    built = set(p.built)
    for table in ("chips", "allocation", "power", "deliveries", "storage_days"):
        frame = p.t[table]
        stray = sorted(set(frame["site_id"].astype(str)) - built)
        if stray:
            r.add("structure", f"{table}.csv uses sites that are not built: {stray}")
    costs = p.t["costs"]
    stray = costs[~costs["site_id"].isin(built) & (costs["usd_per_yr"].abs() > ATOL)]
    for row in stray.itertuples(index=False):
        r.add("structure", f"costs.csv: site {row.site_id} is not built but costs {row.usd_per_yr:.6g} USD/yr ({row.item})")

    # dispatch covers every slice of every built site exactly once
    slices = p.s["slices"]
    expected = {(s, t) for s in built for t in slices.index}
    got = list(zip(p.dispatch["site_id"].astype(str), p.dispatch["slice_id"].astype(int)))
    if len(got) != len(set(got)):
        r.add("structure", "dispatch.csv has duplicate (site, slice) rows")
    if set(got) != expected:
        missing, extra = expected - set(got), set(got) - expected
        r.add("structure", f"dispatch.csv: {len(missing)} (site, slice) rows missing, {len(extra)} unexpected "
              f"(e.g. {sorted(missing or extra)[:3]})")
    for tech in p.s["power_techs"].index:
        if f"{tech}_mw" not in p.dispatch.columns:
            r.add("structure", f"dispatch.csv has no column '{tech}_mw'")
    for column in ("carbon_free_mw", "pue", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh"):
        if column not in p.dispatch.columns:
            r.add("structure", f"dispatch.csv has no column '{column}'")
    for b in p.storage_ids:
        if (p.storage_power["tech_id"] == b).any():
            for column in (f"{b}_charge_mw", f"{b}_discharge_mw", f"{b}_soc_within_day_mwh"):
                if column not in p.dispatch.columns:
                    r.add("structure", f"dispatch.csv has no column '{column}' though {b} is built")
    d = p.dispatch
    for column in ("weight_h", "period", "hour"):
        frame = d.assign(v_expected=d["slice_id"].map(slices[column]))
        r.where("structure", _bad_eq_nan(d[column], frame["v_expected"]), frame, lambda row, c=column: f"dispatch "
                f"{row.site_id}/{row.slice_id}: {c} {getattr(row, c)} differs from slices.csv ({row.v_expected})")


def _check_energy_balance(p: _Plan, r: _Report) -> None:
    d = p.dispatch
    supply = sum((p.dispatch_column(f"{g}_mw") for g in p.s["power_techs"].index), pd.Series(0.0, index=d.index))
    discharge = sum((p.dispatch_column(f"{b}_discharge_mw") for b in p.storage_ids), pd.Series(0.0, index=d.index))
    charge = sum((p.dispatch_column(f"{b}_charge_mw") for b in p.storage_ids), pd.Series(0.0, index=d.index))
    net = supply + discharge - charge
    scale = _scale(supply + discharge, charge, d["facility_mw"])
    bad = _bad_eq(net, d["facility_mw"], scale)
    frame = d.assign(v_net=net)
    r.where("energy balance", bad, frame, lambda row: f"site {row.site_id} slice {row.slice_id}: supply - charging "
            f"{row.v_net:.9g} MW != facility load {row.facility_mw:.9g} MW")
    for column in _power_columns(p):
        negative = (d[column].astype(float) < -ATOL) | d[column].isna()
        r.where("energy balance", negative, d, lambda row, c=column: f"site {row.site_id} slice {row.slice_id}: "
                f"{c} is negative or blank ({getattr(row, c):.6g})")


def _check_pue(p: _Plan, r: _Report) -> None:
    """Facility load = IT load x the hourly PUE of the chosen cooling in the slice's weather."""
    d = p.dispatch
    pue, _ = _site_pue_wue(p)
    temp, wetbulb = p.profile("temp_c"), p.profile("wetbulb_c")
    expected = d["it_mw"] * pue
    frame = d.assign(v_expected=expected, v_pue=pue, v_temp=temp, v_wet=wetbulb)
    r.where("pue", _bad_eq_nan(d["facility_mw"], expected), frame, lambda row: f"site {row.site_id} slice "
            f"{row.slice_id}: facility {row.facility_mw:.9g} MW != IT {row.it_mw:.9g} MW x PUE {row.v_pue:.6g} "
            f"({row.v_temp:.4g} C dry-bulb, {row.v_wet:.4g} C wet-bulb)")
    running = d["it_mw"] > 0
    r.where("pue", running.to_numpy() & _bad_eq_nan(p.dispatch_column("pue"), pue), frame, lambda row: f"site "
            f"{row.site_id} slice {row.slice_id}: reported pue {row.pue:.9g} != {row.v_pue:.9g} from cooling.csv")
    for column, values in (("temp_c", temp), ("wetbulb_c", wetbulb)):
        r.where("pue", _bad_eq_nan(p.dispatch_column(column), values), frame, lambda row, c=column: f"site "
                f"{row.site_id} slice {row.slice_id}: {c} {getattr(row, c)} differs from profiles.csv")

    # annual figures of sites.csv
    it_mwh, facility_mwh = p.annual("it_mw"), p.annual("facility_mw")
    peak = d.groupby("site_id")["facility_mw"].max().reindex(p.sites.index, fill_value=0.0)
    for site in p.sites.index:
        r.scalar_eq("pue", f"site {site}: it_energy_mwh_per_yr (sites.csv) vs dispatch", p.sites.loc[site, "it_energy_mwh_per_yr"],
                    it_mwh[site])
        r.scalar_eq("pue", f"site {site}: facility_energy_mwh_per_yr (sites.csv) vs dispatch",
                    p.sites.loc[site, "facility_energy_mwh_per_yr"], facility_mwh[site])
        annual = facility_mwh[site] / it_mwh[site] if it_mwh[site] > 0 else np.nan
        r.scalar_eq("pue", f"site {site}: annual_pue (sites.csv) vs facility / IT energy", p.sites.loc[site, "annual_pue"], annual)
        r.scalar_eq("pue", f"site {site}: peak_facility_mw (sites.csv) vs dispatch", p.sites.loc[site, "peak_facility_mw"], peak[site])


def _check_it_load(p: _Plan, r: _Report) -> None:
    """IT load: constant through the year, within cooled capacity, equal to the racks running."""
    d, chips = p.dispatch, p.s["chips"]
    alloc = p.t["allocation"]
    running = (alloc["racks_assigned"] * alloc["chip_id"].map(chips["rack_power_kw"]) / 1000.0).groupby(alloc["site_id"]).sum()
    for site, group in d.groupby("site_id"):
        it = group["it_mw"].astype(float)
        if it.max() - it.min() > RTOL * it.abs().max() + ATOL:
            r.add("it load", f"site {site}: IT load varies between slices ({it.min():.9g}..{it.max():.9g} MW)")
        r.scalar_le("it load", f"site {site}: IT load vs it_capacity_mw", it.max(), p.sites.loc[site, "it_capacity_mw"])
        r.scalar_eq("it load", f"site {site}: IT load vs racks assigned x rack power (allocation.csv)",
                    it.mean(), running.get(site, 0.0), atol=1e-5)


def _check_generation(p: _Plan, r: _Report) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    for tech in techs.index:
        column = f"{tech}_mw"
        if column not in d.columns:
            continue
        avail = p.availability(tech)
        capacity = d["site_id"].map(lambda s, g=tech: p.capacity(s, g))
        limit = capacity * avail
        frame = d.assign(v_limit=limit, v_cap=capacity, v_av=avail)
        r.where("generation", _bad_le(d[column], limit) | limit.isna().to_numpy(), frame, lambda x, c=column: f"site "
                f"{x.site_id} slice {x.slice_id}: {c} {getattr(x, c):.9g} > capacity {x.v_cap:.9g} MW x availability "
                f"{x.v_av:.6g}")

    # technologies that could not be built or used by the online-by year (lead time, first year, policy)
    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.gen_power.itertuples(index=False):
        if row.tech_id not in techs.index:
            r.add("generation", f"power.csv: unknown technology '{row.tech_id}' at {row.site_id}")
            continue
        tech = techs.loc[row.tech_id]
        if row.kind != tech["kind"]:
            r.add("generation", f"power.csv: {row.site_id}/{row.tech_id} kind '{row.kind}' != power_techs.csv '{tech['kind']}'")
        if limits.allowed_power_techs is not None and row.tech_id not in limits.allowed_power_techs and row.capacity_mw > ATOL:
            r.add("generation", f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs")
        if p.online_by is not None and row.capacity_mw > ATOL:
            ready = start + math.ceil(tech["lead_time_yr"])
            if ready > p.online_by or tech["first_year"] > p.online_by:
                r.add("generation", f"site {row.site_id}: {row.tech_id} built ({row.capacity_mw:.6g} MW) but cannot "
                      f"operate by {p.online_by} (ready {ready}, first year {tech['first_year']})")
        # the power.csv summary of the dispatch
        energy = float(p.annual(f"{row.tech_id}_mw").get(row.site_id, 0.0))
        r.scalar_eq("generation", f"site {row.site_id}: {row.tech_id} generation_mwh_per_yr vs dispatch",
                    row.generation_mwh_per_yr, energy)
        r.scalar_eq("generation", f"site {row.site_id}: {row.tech_id} capacity_factor vs generation / (capacity x 8760 h)",
                    row.capacity_factor, energy / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan)


def _check_grid(p: _Plan, r: _Report) -> None:
    d, sites = p.dispatch, p.s["sites"]
    column = f"{p.grid_tech}_mw"
    grid = p.dispatch_column(column)
    limit = d["site_id"].map(sites["grid_capacity_mw"]).astype(float)
    frame = d.assign(v_grid=grid, v_limit=limit)
    r.where("grid", _bad_le(grid, limit), frame, lambda x: f"site {x.site_id} slice {x.slice_id}: grid import "
            f"{x.v_grid:.9g} MW > grid_capacity_mw {x.v_limit:.9g}")
    connection = d["site_id"].map(lambda s: p.capacity(s, p.grid_tech))
    frame = frame.assign(v_conn=connection)
    r.where("grid", _bad_le(grid, connection), frame, lambda x: f"site {x.site_id} slice {x.slice_id}: grid import "
            f"{x.v_grid:.9g} MW > grid connection built {x.v_conn:.9g} MW (power.csv)")
    for row in p.gen_power[p.gen_power["tech_id"] == p.grid_tech].itertuples(index=False):
        r.scalar_le("grid", f"site {row.site_id}: grid connection built (power.csv)", row.capacity_mw,
                    sites.loc[row.site_id, "grid_capacity_mw"])
    if p.online_by is not None:
        # a grid that arrives late may be used only at a bridge site (bridge_power), carried until then
        bridge = set(p.bridge_sites)
        late = [s for s in sites.index[sites["grid_online_year"] > p.online_by] if s not in bridge]
        frame = d.assign(v_grid=grid)
        bad = d["site_id"].isin(late).to_numpy() & (grid.abs() > ATOL).to_numpy()
        why = "bridge_power is off" if not p.scenario.constraints.bridge_power else "the grid is not allowed there"
        r.where("grid", bad, frame, lambda x: f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW but "
                f"the grid connection is online only in {sites.loc[x.site_id, 'grid_online_year']} > online_by_year "
                f"{p.online_by} and {why}")
        for row in p.gen_power[(p.gen_power["tech_id"] == p.grid_tech) & p.gen_power["site_id"].isin(late)].itertuples():
            if row.capacity_mw > ATOL:
                r.add("grid", f"site {row.site_id}: grid connection built but online only after {p.online_by} ({why})")
    # the sites.csv copies and the peak match the dispatch
    peak = grid.groupby(d["site_id"]).max()
    for site in p.sites.index:
        r.scalar_eq("grid", f"site {site}: peak_grid_import_mw (sites.csv) vs dispatch", p.sites.loc[site, "peak_grid_import_mw"],
                    peak.get(site, 0.0))
        for column in ("grid_capacity_mw", "grid_online_year"):
            r.scalar_eq("grid", f"site {site}: {column} (sites.csv) vs the scenario", p.sites.loc[site, column],
                        sites.loc[site, column])
    r.where("grid", _bad_eq_nan(p.dispatch_column("grid_price_usd_per_mwh"), p.profile("grid_price_usd_per_mwh")), d,
            lambda x: f"site {x.site_id} slice {x.slice_id}: grid_price_usd_per_mwh differs from profiles.csv")
    r.where("grid", _bad_eq_nan(p.dispatch_column("grid_co2_kg_per_mwh"), p.profile("grid_co2_kg_per_mwh")), d,
            lambda x: f"site {x.site_id} slice {x.slice_id}: grid_co2_kg_per_mwh differs from profiles.csv")


def _check_bridge(p: _Plan, r: _Report) -> None:
    """Time to power: until a late grid arrives, on-site generation alone carries the facility load."""
    d, techs = p.dispatch, p.s["power_techs"]
    share, wait = p.bridge_share(), p.grid_wait_yr()
    for site in p.sites.index:
        r.scalar_eq("bridge", f"site {site}: grid_wait_yr (sites.csv) vs grid_online_year - online_by_year",
                    p.sites.loc[site, "grid_wait_yr"], wait[site])
        r.scalar_eq("bridge", f"site {site}: bridge_share (sites.csv) vs present-value share of the wait",
                    p.sites.loc[site, "bridge_share"], share[site])

    storage_columns = {f"bridge_{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")}
    columns = [c for c in d.columns if c.startswith("bridge_") and c.endswith("_mw") and c not in storage_columns]
    bridge_techs = {c: c[len("bridge_"):-len("_mw")] for c in columns}
    for column, tech in bridge_techs.items():
        if tech not in techs.index or tech == p.grid_tech:
            if (d[column].abs() > ATOL).any():
                r.add("bridge", f"dispatch.csv: {column} carries power but '{tech}' is not an on-site technology")
            continue
        avail = p.availability(tech)
        capacity = d["site_id"].map(lambda s, g=tech: p.capacity(s, g))
        frame = d.assign(v_cap=capacity, v_av=avail)
        r.where("bridge", _bad_le(d[column], capacity * avail), frame, lambda x, c=column: f"site {x.site_id} slice "
                f"{x.slice_id}: {c} {getattr(x, c):.9g} > capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}")

    bridge = d["site_id"].map(share).fillna(0.0).to_numpy() > 0
    supply = sum((p.dispatch_column(c) for c, g in bridge_techs.items() if g in techs.index and g != p.grid_tech),
                 pd.Series(0.0, index=d.index))
    # bridge-year batteries shift energy within the bridge years as they do in the grid years
    supply = supply + sum((p.dispatch_column(f"bridge_{b}_discharge_mw") - p.dispatch_column(f"bridge_{b}_charge_mw")
                           for b in p.storage_ids), pd.Series(0.0, index=d.index))
    frame = d.assign(v_supply=supply)
    r.where("bridge", bridge & _bad_eq(supply, d["facility_mw"]), frame, lambda x: f"site {x.site_id} slice "
            f"{x.slice_id}: bridge generation + net bridge storage {x.v_supply:.9g} MW != facility load "
            f"{x.facility_mw:.9g} MW while the grid is not yet online")
    r.where("bridge", ~bridge & (supply.abs() > ATOL).to_numpy(), frame, lambda x: f"site {x.site_id} slice "
            f"{x.slice_id}: bridge generation {x.v_supply:.9g} MW at a site without bridge years")

    for row in p.power.itertuples(index=False):
        column = f"bridge_{row.tech_id}_mw"
        energy = float(p.annual(column).get(row.site_id, 0.0)) if row.kind != "storage" else 0.0
        r.scalar_eq("bridge", f"site {row.site_id}: {row.tech_id} bridge_generation_mwh_per_yr (power.csv) vs dispatch",
                    row.bridge_generation_mwh_per_yr, energy)


def _check_carbon_free(p: _Plan, r: _Report) -> None:
    """24/7 carbon-free supply in every slice: clean generation, the grid's clean share, net storage."""
    d, techs = p.dispatch, p.s["power_techs"]
    zero = pd.Series(0.0, index=d.index)
    clean = sum((p.dispatch_column(f"{g}_mw") for g in p.clean_techs), zero)
    generation = sum((p.dispatch_column(f"{g}_mw") for g in techs.index), zero)
    net_storage = sum((p.dispatch_column(f"{b}_discharge_mw") - p.dispatch_column(f"{b}_charge_mw") for b in p.storage_ids), zero)
    grid_cfe = d["site_id"].map(p.s["sites"]["grid_cfe_share"]).astype(float)
    carbon_free = clean + grid_cfe * p.dispatch_column(f"{p.grid_tech}_mw") + net_storage
    load = generation + net_storage
    share = p.scenario.constraints.cfe_share
    frame = d.assign(v_free=carbon_free, v_load=load)
    if "carbon_free_mw" in d.columns:
        r.where("cfe", _bad_eq(d["carbon_free_mw"], carbon_free, _scale(carbon_free, load)), frame, lambda x: f"site "
                f"{x.site_id} slice {x.slice_id}: carbon_free_mw {x.carbon_free_mw:.9g} != clean generation + grid x "
                f"grid_cfe_share + net storage discharge = {x.v_free:.9g}")
    if share > 0:
        r.where("cfe", _bad_le(share * load, carbon_free, _scale(carbon_free, load)), frame, lambda x: f"site "
                f"{x.site_id} slice {x.slice_id}: carbon-free supply {x.v_free:.9g} MW < cfe_share {share:g} x "
                f"supply {x.v_load:.9g} MW")

    if share > 0:
        # the bridge years too: no grid, on-site generation and bridge storage only
        techs_on_site = [g for g in techs.index if g != p.grid_tech]
        b_clean = sum((p.dispatch_column(f"bridge_{g}_mw") for g in p.clean_techs), zero)
        b_gen = sum((p.dispatch_column(f"bridge_{g}_mw") for g in techs_on_site), zero)
        b_net = sum((p.dispatch_column(f"bridge_{b}_discharge_mw") - p.dispatch_column(f"bridge_{b}_charge_mw")
                     for b in p.storage_ids), zero)
        frame = d.assign(v_free=b_clean + b_net, v_load=b_gen + b_net)
        r.where("cfe", _bad_le(share * (b_gen + b_net), b_clean + b_net, _scale(b_clean, b_gen)), frame, lambda x:
                f"site {x.site_id} slice {x.slice_id}: bridge-year carbon-free supply {x.v_free:.9g} MW < cfe_share "
                f"{share:g} x bridge supply {x.v_load:.9g} MW")

    matched = (carbon_free.clip(lower=0.0).clip(upper=d["facility_mw"]) * p.w).groupby(d["site_id"]).sum()
    served = (d["facility_mw"] * p.w).groupby(d["site_id"]).sum()
    for site in p.sites.index:
        expected = matched[site] / served[site] if site in served.index and served[site] > 0 else np.nan
        r.scalar_eq("cfe", f"site {site}: cfe_score (sites.csv) vs hourly-matched carbon-free share",
                    p.sites.loc[site, "cfe_score"], expected)


def _check_land(p: _Plan, r: _Report) -> None:
    techs, storage = p.s["power_techs"], p.s["storage_techs"]
    it_acres = p.facility("it_acres_per_mw")
    for site in p.sites.index:
        power = p.power[p.power["site_id"] == site]
        acres = p.sites.loc[site, "it_capacity_mw"] * it_acres
        for row in power.itertuples(index=False):
            table = storage if row.kind == "storage" else techs
            footprint = row.capacity_mw * float(table.loc[row.tech_id, "land_acres_per_mw"])
            r.scalar_eq("land", f"site {site}: {row.tech_id} land_acres (power.csv) vs capacity x land_acres_per_mw",
                        row.land_acres, footprint)
            acres += footprint
        land = float(p.s["sites"].loc[site, "land_acres"])
        if site not in p.built:
            land = 0.0
        r.scalar_le("land", f"site {site}: IT + generation footprint (acres) vs land_acres", acres, land)
        r.scalar_eq("land", f"site {site}: land_used_acres (sites.csv) vs recomputed", p.sites.loc[site, "land_used_acres"], acres)
        r.scalar_eq("land", f"site {site}: land_acres (sites.csv) vs the scenario", p.sites.loc[site, "land_acres"],
                    p.s["sites"].loc[site, "land_acres"])


def _check_chips(p: _Plan, r: _Report) -> None:
    chips, cooling = p.s["chips"], p.s["cooling"]
    plan_chips = p.t["chips"]
    for row in plan_chips.itertuples(index=False):
        where = f"site {row.site_id} chip {row.chip_id}"
        if row.chip_id not in chips.index:
            r.add("racks", f"{where}: unknown chip")
            continue
        if abs(row.racks - round(row.racks)) > ATOL or row.racks < 0:
            r.add("racks", f"{where}: {row.racks} racks is not a non-negative integer")
        r.scalar_eq("racks", f"{where}: chips = racks x chips_per_rack", row.chips, row.racks * chips.loc[row.chip_id, "chips_per_rack"])
        r.scalar_eq("racks", f"{where}: rack_power_kw vs chips table", row.rack_power_kw, chips.loc[row.chip_id, "rack_power_kw"])
        k = p.sites.loc[row.site_id, "cooling_id"] if row.site_id in p.sites.index else ""
        if k in cooling.index and chips.loc[row.chip_id, "rack_power_kw"] > cooling.loc[k, "max_rack_kw"] + ATOL:
            r.add("cooling", f"{where}: rack of {chips.loc[row.chip_id, 'rack_power_kw']} kW under cooling '{k}' rated "
                  f"for {cooling.loc[k, 'max_rack_kw']} kW")
        if p.online_by is not None and chips.loc[row.chip_id, "available_year"] > p.online_by and row.racks > 0:
            r.add("racks", f"{where}: SKU ships only in {chips.loc[row.chip_id, 'available_year']} > {p.online_by}")

    rack_it = (plan_chips["racks"] * plan_chips["chip_id"].map(chips["rack_power_kw"]) / 1000.0).groupby(plan_chips["site_id"]).sum()
    racks = plan_chips.groupby("site_id")["racks"].sum()
    accelerators = plan_chips.groupby("site_id")["chips"].sum()
    for site in p.sites.index:
        r.scalar_le("racks", f"site {site}: racks x rack_power_kw / 1000 (MW) vs it_capacity_mw", rack_it.get(site, 0.0),
                    p.sites.loc[site, "it_capacity_mw"])
        r.scalar_eq("racks", f"site {site}: racks in sites.csv vs chips.csv", p.sites.loc[site, "racks"], racks.get(site, 0.0))
        r.scalar_eq("racks", f"site {site}: chips in sites.csv vs chips.csv", p.sites.loc[site, "chips"],
                    accelerators.get(site, 0.0))
    summary = p.t["summary"].iloc[0]
    r.scalar_eq("racks", "summary chips vs chips.csv", summary["chips"], plan_chips["chips"].sum())
    r.scalar_eq("racks", "summary sites_built vs sites.csv", summary["sites_built"], len(p.built))
    r.scalar_eq("racks", "summary it_capacity_mw vs sites.csv", summary["it_capacity_mw"], p.sites["it_capacity_mw"].sum())

    limits = chips["supply_limit_chips"].dropna()
    per_chip = plan_chips.groupby("chip_id")["chips"].sum()
    for chip, limit in limits.items():
        r.scalar_le("racks", f"chip {chip}: accelerators installed vs supply_limit_chips", per_chip.get(chip, 0.0), limit)


def _check_units(p: _Plan, r: _Report) -> None:
    unit_size = p.s["power_techs"]["unit_size_mw"].dropna()
    for row in p.gen_power.itertuples(index=False):
        if row.tech_id not in unit_size.index:
            continue
        size = float(unit_size[row.tech_id])
        n = row.capacity_mw / size
        if abs(n - round(n)) > RTOL * max(abs(n), 1.0) + ATOL:
            r.add("unit sizes", f"site {row.site_id}: {row.tech_id} capacity {row.capacity_mw:.9g} MW is not a multiple "
                  f"of its {size:g} MW unit")
        if not pd.isna(row.units):
            r.scalar_eq("unit sizes", f"site {row.site_id}: {row.tech_id} units x unit size vs capacity", row.units * size,
                        row.capacity_mw)


#: storage regimes: grid years (columns "<b>_...") and bridge years (columns "bridge_<b>_...")
REGIMES = {"grid_years": "", "bridge_years": "bridge_"}


def _within_day_table(p: _Plan, site: str, b: str, prefix: str = "") -> pd.DataFrame:
    """State of charge since the start of the day, periods x hours, at one site (from dispatch)."""
    d = p.dispatch[p.dispatch["site_id"] == site]
    column = f"{prefix}{b}_soc_within_day_mwh"
    values = d[column] if column in d.columns else pd.Series(0.0, index=d.index)
    slices = p.s["slices"]
    return pd.DataFrame({"period": d["slice_id"].map(slices["period"]), "hour": d["slice_id"].map(slices["hour"]),
                         "soc": values.astype(float)}).pivot(index="period", columns="hour", values="soc").sort_index(axis=1)


def _check_storage(p: _Plan, r: _Report) -> None:
    d, storage, slices = p.dispatch, p.s["storage_techs"], p.s["slices"]
    for (b, prefix) in [(b, prefix) for b in storage.index for prefix in REGIMES.values()]:
        charge, discharge = p.dispatch_column(f"{prefix}{b}_charge_mw"), p.dispatch_column(f"{prefix}{b}_discharge_mw")
        soc = p.dispatch_column(f"{prefix}{b}_soc_within_day_mwh")
        power = d["site_id"].map(lambda s: p.capacity(s, b))
        energy = d["site_id"].map(lambda s: p.capacity(s, b, "energy_capacity_mwh"))
        frame = d.assign(v_c=charge, v_d=discharge, v_soc=soc, v_p=power, v_e=energy)
        # one power rating for both directions: charge + discharge in an hour stay within it
        r.where("storage", _bad_le(charge + discharge, power), frame, lambda x: f"site {x.site_id} slice {x.slice_id}: "
                f"{prefix}{b} charge {x.v_c:.9g} + discharge {x.v_d:.9g} MW exceed its power {x.v_p:.9g} MW")

        # within a representative day the level starts from 0 and moves by the (lossy) flows
        eta = math.sqrt(float(storage.loc[b, "round_trip_efficiency"]))
        frame = frame.assign(v_period=d["slice_id"].map(slices["period"]), v_hour=d["slice_id"].map(slices["hour"]))
        for (site, _), group in frame.groupby(["site_id", "v_period"]):
            group = group.sort_values("v_hour")
            previous = np.concatenate([[0.0], group["v_soc"].to_numpy()[:-1]])
            expected = previous + eta * group["v_c"].to_numpy() - group["v_d"].to_numpy() / eta
            scale = _scale(group["v_soc"], previous, group["v_c"], group["v_d"], group["v_e"])
            r.where("storage", _bad_eq(group["v_soc"], expected, scale), group.assign(v_exp=expected),
                    lambda x: f"site {x.site_id} slice {x.slice_id}: {prefix}{b} soc_within_day {x.v_soc:.9g} MWh != previous "
                    f"hour (0 before the first) + sqrt(eta) charge - discharge / sqrt(eta) = {x.v_exp:.9g}")

    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.storage_power.itertuples(index=False):
        if row.tech_id not in storage.index:
            r.add("storage", f"power.csv: unknown storage '{row.tech_id}' at {row.site_id}")
            continue
        b = storage.loc[row.tech_id]
        lo, hi = b["min_duration_h"], b["max_duration_h"]
        if _bad_le(lo * row.capacity_mw, row.energy_capacity_mwh) or _bad_le(row.energy_capacity_mwh, hi * row.capacity_mw):
            r.add("storage", f"site {row.site_id}: {row.tech_id} {row.energy_capacity_mwh:.6g} MWh for {row.capacity_mw:.6g} "
                  f"MW is outside its {lo:g}..{hi:g} h duration")
        if limits.allowed_power_techs is not None and row.tech_id not in limits.allowed_power_techs and row.capacity_mw > ATOL:
            r.add("storage", f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs")
        if p.online_by is not None and start + math.ceil(b["lead_time_yr"]) > p.online_by and row.capacity_mw > ATOL:
            r.add("storage", f"site {row.site_id}: {row.tech_id} built but cannot operate by {p.online_by}")
        discharged = float(p.annual(f"{row.tech_id}_discharge_mw").get(row.site_id, 0.0))
        r.scalar_eq("storage", f"site {row.site_id}: {row.tech_id} generation_mwh_per_yr (power.csv) vs annual discharge",
                    row.generation_mwh_per_yr, discharged)
        r.scalar_eq("storage", f"site {row.site_id}: {row.tech_id} capacity_factor vs discharge / (power x 8760 h)",
                    row.capacity_factor, discharged / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan)
    _check_storage_days(p, r)


def _check_storage_days(p: _Plan, r: _Report) -> None:
    """The level across the calendar: each day starts where the day before ended, within [0, energy].

    storage_days.csv gives the level at the start of every calendar day; within the day it moves as
    the representative day of that date does (soc_within_day in dispatch.csv). Every one of the
    365 x 24 hours is checked, plus the start of each day.
    """
    table = p.t["storage_days"]
    period_of_day = p.s["days"]["period"].sort_index()
    built = {(row.site_id, row.tech_id): row.energy_capacity_mwh for row in p.storage_power.itertuples(index=False)}
    bridge_sites = set(p.bridge_sites)
    expected = {("grid_years", s, b) for s, b in built} | {("bridge_years", s, b) for s, b in built if s in bridge_sites}
    listed = set(zip(table["regime"], table["site_id"], table["storage_id"]))
    if listed - expected:
        r.add("storage", f"storage_days.csv lists storage that is not built there: {sorted(listed - expected)[:3]}")
    for regime, site, b in sorted(expected):
        energy, prefix = built[site, b], REGIMES[regime]
        rows = table[(table["regime"] == regime) & (table["site_id"] == site) & (table["storage_id"] == b)].sort_values("day")
        where = f"site {site}: {b} ({regime})"
        if rows["day"].tolist() != list(range(DAYS_PER_YEAR)):
            r.add("storage", f"{where}: storage_days.csv holds {len(rows)} rows, not one per day 0..{DAYS_PER_YEAR - 1}")
            continue
        if site not in set(p.dispatch["site_id"]) or b not in p.storage_ids:
            continue  # reported by the structure check
        periods = period_of_day.to_numpy()
        bad = rows["period"].to_numpy() != periods
        r.where("storage", bad, rows, lambda x: f"{where} day {x.day}: period {x.period} differs from days.csv")
        r.where("storage", _bad_eq(rows["energy_capacity_mwh"], energy), rows, lambda x: f"{where} day {x.day}: "
                f"energy_capacity_mwh {x.energy_capacity_mwh:.9g} != power.csv {energy:.9g}")

        within = _within_day_table(p, site, b, prefix)
        level = rows["soc_start_mwh"].to_numpy(dtype=float)
        change = within.iloc[:, -1].reindex(periods).to_numpy(dtype=float)  # change over the whole day
        following = np.roll(level, -1)  # day 364 is followed by day 0: the year wraps
        frame = rows.assign(v_next=following, v_expected=level + change)
        scale = _scale(level, following, change, energy)
        r.where("storage", _bad_eq(following, level + change, scale), frame, lambda x: f"{where}: day "
                f"{(x.day + 1) % DAYS_PER_YEAR} starts at {x.v_next:.9g} MWh, but day {x.day} ends at "
                f"{x.v_expected:.9g} (start {x.soc_start_mwh:.9g} + its representative day's change)")

        hourly = level[:, None] + within.reindex(periods).to_numpy(dtype=float)  # 365 x 24
        levels = np.concatenate([level[:, None], hourly], axis=1)  # the start of the day, then each hour
        low = _bad_le(0.0, levels, energy)
        high = _bad_le(levels, energy, energy)
        for day, hour in zip(*np.nonzero(low | high | np.isnan(levels))):
            when = "at its start" if hour == 0 else f"after hour {hour - 1}"
            r.add("storage", f"{where} day {day} {when}: level {levels[day, hour]:.9g} MWh outside [0, {energy:.9g}] "
                  f"(day start {level[day]:.9g} + the change within its representative day)")


def _latency(p: _Plan, sites: pd.Series, regions: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    s, g = p.s["sites"], p.s["regions"]
    _, _, metres = Geod(ellps="WGS84").inv(
        s.loc[sites, "lon"].to_numpy(float), s.loc[sites, "lat"].to_numpy(float),
        g.loc[regions, "lon"].to_numpy(float), g.loc[regions, "lat"].to_numpy(float),
    )
    km = _arr(metres) / 1000.0
    ms = 2.0 * km * p.facility("route_factor") / p.facility("fibre_km_per_ms") + p.facility("latency_overhead_ms")
    return km, ms


def _check_demand(p: _Plan, r: _Report) -> None:
    deliveries, demand = p.t["deliveries"], p.s["demand"]["tokens_per_yr"]
    delivered = deliveries.groupby(["region_id", "workload_id"])["tokens_per_yr"].sum()
    stray = set(delivered.index) - set(demand.index)
    if stray:
        r.add("demand", f"deliveries to (region, workload) pairs without demand: {sorted(stray)[:5]}")
    mode = p.scenario.objective.mode
    for key, tokens in demand.items():
        got = float(delivered.get(key, 0.0))
        if mode == "serve_demand":
            r.scalar_eq("demand", f"{key[0]}/{key[1]}: tokens delivered vs demand", got, tokens)
        else:
            r.scalar_le("demand", f"{key[0]}/{key[1]}: tokens delivered vs demand", got, tokens)
    if mode != "serve_demand":
        floor = p.scenario.objective.min_demand_share * demand.sum()
        if _bad_le(floor, delivered.sum()):
            r.add("demand", f"delivered {delivered.sum():.6g} tokens/yr < min_demand_share floor {floor:.6g}")
    r.where("demand", (deliveries["tokens_per_yr"] < -ATOL).to_numpy(), deliveries,
            lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: negative delivery {x.tokens_per_yr}")

    if len(deliveries):
        km, ms = _latency(p, deliveries["site_id"], deliveries["region_id"])
        budget = deliveries["workload_id"].map(p.s["workloads"]["latency_budget_ms"]).astype(float)
        frame = deliveries.assign(v_km=km, v_ms=ms, v_budget=budget)
        r.where("latency", _bad_le(ms, budget), frame, lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: round "
                f"trip {x.v_ms:.6g} ms exceeds the {x.v_budget:g} ms budget")
        r.where("latency", _bad_le(deliveries["latency_ms"], budget), frame, lambda x: f"{x.site_id}->{x.region_id}/"
                f"{x.workload_id}: reported latency {x.latency_ms:.6g} ms exceeds the {x.v_budget:g} ms budget")
        r.where("latency", _bad_eq(deliveries["latency_ms"], ms), frame, lambda x: f"{x.site_id}->{x.region_id}: "
                f"reported latency {x.latency_ms:.9g} ms != geodesic recomputation {x.v_ms:.9g} ms")
        r.where("latency", _bad_eq(deliveries["distance_km"], km), frame, lambda x: f"{x.site_id}->{x.region_id}: "
                f"reported distance {x.distance_km:.9g} km != geodesic {x.v_km:.9g} km")
        r.where("latency", _bad_eq(deliveries["latency_budget_ms"], budget), frame, lambda x: f"{x.site_id}->"
                f"{x.region_id}/{x.workload_id}: latency_budget_ms {x.latency_budget_ms} != workloads.csv {x.v_budget}")


def _check_tokens(p: _Plan, r: _Report) -> None:
    chips, workloads, throughput = p.s["chips"], p.s["workloads"], p.s["chip_throughput"]["tokens_per_s_per_chip"]
    alloc, deliveries = p.t["allocation"], p.t["deliveries"]
    pairs = list(zip(alloc["chip_id"], alloc["workload_id"]))
    for (c, w), row in zip(pairs, alloc.itertuples(index=False)):
        if (c, w) not in throughput.index:
            r.add("tokens", f"site {row.site_id}: racks of {c} assigned to {w}, which it cannot serve (no throughput)")
        elif _bad_eq(row.tokens_per_s_per_chip, throughput[c, w]):
            r.add("tokens", f"site {row.site_id}: tokens_per_s_per_chip {row.tokens_per_s_per_chip} of {c}/{w} != "
                  f"chip_throughput.csv {throughput[c, w]}")
    if (alloc["racks_assigned"] < -ATOL).any():
        r.add("tokens", "allocation.csv has negative racks_assigned")

    per_rack_year = pd.Series(
        [
            throughput.get((c, w), 0.0) * chips.loc[c, "chips_per_rack"] * workloads.loc[w, "utilisation"] * 3600.0 * HOURS_PER_YEAR
            for c, w in pairs
        ],
        index=alloc.index,
        dtype=float,
    )
    produced = (alloc["racks_assigned"] * per_rack_year).groupby([alloc["site_id"], alloc["workload_id"]]).sum()
    # allocation.csv leaves out assignments below its export threshold: allow what those could make
    slack = per_rack_year.groupby([alloc["site_id"], alloc["workload_id"]]).max() * ALLOCATION_EXPORT_RACKS
    delivered = deliveries.groupby(["site_id", "workload_id"])["tokens_per_yr"].sum()
    for key, tokens in delivered.items():
        made = float(produced.get(key, 0.0))
        atol = max(ATOL, float(slack.get(key, 0.0)) * len(chips))
        r.scalar_le("tokens", f"site {key[0]} workload {key[1]}: tokens delivered vs produced by assigned racks", tokens, made,
                    atol=atol)
    for row in alloc.drop_duplicates(["site_id", "workload_id"]).itertuples(index=False):
        reported = float(row.site_workload_tokens_per_yr)
        r.scalar_eq("tokens", f"site {row.site_id} workload {row.workload_id}: site_workload_tokens_per_yr vs recomputed",
                    reported, produced[row.site_id, row.workload_id],
                    atol=max(ATOL, float(slack[row.site_id, row.workload_id]) * len(chips)))

    assigned = alloc.groupby(["site_id", "chip_id"])["racks_assigned"].sum()
    installed = p.t["chips"].set_index(["site_id", "chip_id"])["racks"]
    for key, racks in assigned.items():
        r.scalar_le("tokens", f"site {key[0]} chip {key[1]}: racks assigned to workloads vs racks installed", racks,
                    float(installed.get(key, 0.0)))

    site_tokens = deliveries.groupby("site_id")["tokens_per_yr"].sum()
    for site in p.sites.index:
        r.scalar_eq("tokens", f"site {site}: delivered_tokens_per_yr (sites.csv) vs deliveries.csv",
                    p.sites.loc[site, "delivered_tokens_per_yr"], site_tokens.get(site, 0.0))


def _fuel_usd_per_mwh(p: _Plan, site: str, tech: str) -> float:
    t = p.s["power_techs"].loc[tech]
    if t["fuel"] == "none" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return 0.0
    price = p.s["sites"].loc[site, "gas_price_usd_per_mmbtu"] if t["fuel"] == "gas" else t["fuel_price_usd_per_mmbtu"]
    return t["heat_rate_btu_per_kwh"] * 1e-3 * (0.0 if pd.isna(price) else float(price))


def _fuel_t_co2_per_mwh(p: _Plan, tech: str) -> float:
    t = p.s["power_techs"].loc[tech]
    if t["kind"] == "grid" or pd.isna(t["heat_rate_btu_per_kwh"]):
        return 0.0
    return t["heat_rate_btu_per_kwh"] * 1e-3 * t["co2_kg_per_mmbtu"] / 1000.0


def _average_year_mwh(p: _Plan, tech: str) -> pd.Series:
    """Generation of one tech in an average year of the horizon, per site: the grid years at their
    present-value share (1 - bridge share) plus the bridge years at theirs."""
    share = p.bridge_share().reindex(p.sites.index, fill_value=0.0)
    steady = p.annual(f"{tech}_mw")
    if tech == p.grid_tech:
        return (1.0 - share) * steady
    return (1.0 - share) * steady + share * p.annual(f"bridge_{tech}_mw")


def _emissions_t(p: _Plan) -> pd.Series:
    """CO2 per site and year: the grid's hourly rate in grid years, fuel carbon of on-site generation."""
    d, techs = p.dispatch, p.s["power_techs"]
    share = p.bridge_share().reindex(p.sites.index, fill_value=0.0)
    grid_t = (p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_co2_kg_per_mwh") / 1000.0 * p.w).groupby(d["site_id"]).sum()
    out = (1.0 - share) * grid_t.reindex(p.sites.index, fill_value=0.0)
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
        overnight = row.capacity_mw * t["capex_usd_per_kw"] * 1000.0
        annual = overnight * crf(wacc, t["life_yr"]) + row.capacity_mw * t["fom_usd_per_kw_yr"] * 1000.0
        (connection if row.tech_id == p.grid_tech else generation)[row.site_id] += annual
        capex[row.site_id] += overnight
    share = p.bridge_share().reindex(index, fill_value=0.0)
    grid_usd = p.dispatch_column(f"{p.grid_tech}_mw") * p.profile("grid_price_usd_per_mwh") * p.w
    items[("energy", "grid energy")] = (1.0 - share) * grid_usd.groupby(d["site_id"]).sum().reindex(index, fill_value=0.0)
    fuel = item("energy", "fuel and variable O&M")
    for tech, t in techs.iterrows():
        mwh = _average_year_mwh(p, tech)
        for site in index:
            fuel[site] += mwh[site] * (t["vom_usd_per_mwh"] + _fuel_usd_per_mwh(p, site, tech))
    storage_cost = item("energy", "storage")
    for row in p.storage_power.itertuples(index=False):
        b = storage.loc[row.tech_id]
        power_capex = row.capacity_mw * b["power_capex_usd_per_kw"] * 1000.0
        energy_capex = row.energy_capacity_mwh * b["energy_capex_usd_per_kwh"] * 1000.0
        storage_cost[row.site_id] += (power_capex + energy_capex) * crf(wacc, b["life_yr"]) + row.capacity_mw * b[
            "fom_usd_per_kw_yr"
        ] * 1000.0
        capex[row.site_id] += power_capex + energy_capex
    price = p.scenario.constraints.carbon_price_usd_per_t
    if price:
        items[("energy", "carbon price")] = _emissions_t(p) * price

    # infrastructure: site development and land, building and staff, cooling
    f = p.facility
    facility_per_mw = f("facility_capex_usd_per_kw_it") * 1000.0
    facility_annual = (
        facility_per_mw * crf(wacc, f("facility_life_yr"))
        + f("facility_fom_usd_per_kw_it_yr") * 1000.0
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
        cooling_per_mw = k["capex_usd_per_kw_it"] * 1000.0
        land[site] += f("site_development_usd") * crf(wacc, f("site_development_life_yr")) + land_usd * wacc
        building[site] += it * facility_annual
        cooling_cost[site] += it * (cooling_per_mw * crf(wacc, k["life_yr"]) + k["fom_usd_per_kw_it_yr"] * 1000.0)
        capex[site] += f("site_development_usd") + land_usd + it * (facility_per_mw + cooling_per_mw)
    return items, capex


def _check_costs(p: _Plan, r: _Report) -> None:
    summary, costs = p.t["summary"].iloc[0], p.t["costs"]
    total = float(summary["total_cost_usd_per_yr"])
    tokens = float(summary["delivered_tokens_per_yr"])
    mtok = tokens / 1e6
    r.scalar_eq("costs", "summary usd_per_mtok vs total_cost_usd_per_yr / (delivered tokens / 1e6)",
                summary["usd_per_mtok"], total / mtok)
    layers = sum(float(summary[f"{layer}_usd_per_mtok"]) for layer in LAYERS)
    r.scalar_eq("costs", "energy + chips + infrastructure usd_per_mtok vs usd_per_mtok", layers, summary["usd_per_mtok"])
    r.scalar_eq("costs", "costs.csv usd_per_yr sum vs total_cost_usd_per_yr", costs["usd_per_yr"].sum(), total)
    by_layer = costs.groupby("layer")["usd_per_yr"].sum()
    stray = set(by_layer.index) - set(LAYERS)
    if stray:
        r.add("costs", f"costs.csv has unknown layers {sorted(stray)}")
    for layer in LAYERS:
        r.scalar_eq("costs", f"summary {layer}_usd_per_mtok vs costs.csv", summary[f"{layer}_usd_per_mtok"],
                    by_layer.get(layer, 0.0) / mtok)
    r.scalar_eq("costs", "costs.csv usd_per_mtok sum vs summary usd_per_mtok", costs["usd_per_mtok"].sum(), summary["usd_per_mtok"])
    r.where("costs", _bad_eq(costs["usd_per_mtok"], costs["usd_per_yr"] / mtok), costs, lambda x: f"costs.csv "
            f"{x.site_id}/{x.item}: usd_per_mtok {x.usd_per_mtok:.9g} != usd_per_yr / delivered Mtok")
    r.scalar_eq("costs", "summary delivered_tokens_per_yr vs deliveries.csv", tokens, p.t["deliveries"]["tokens_per_yr"].sum())
    r.scalar_eq("costs", "summary demand_tokens_per_yr vs demand.csv", summary["demand_tokens_per_yr"],
                p.s["demand"]["tokens_per_yr"].sum())

    # every cost item of every site, recomputed from the plan's decisions and the scenario
    recomputed, capex = _recompute_costs(p)
    reported = costs.groupby(["layer", "item", "site_id"])["usd_per_yr"].sum()
    unknown = sorted(set(zip(costs["layer"], costs["item"])) - set(recomputed))
    if unknown:
        r.add("costs", f"costs.csv has cost items the formulation does not have: {unknown}")
    for (layer, name), expected in recomputed.items():
        for site in p.sites.index:
            r.scalar_eq("costs", f"site {site}: {layer} / {name} (costs.csv) vs recomputed from the tables",
                        reported.get((layer, name, site), 0.0), expected[site], atol=1e-3)
    per_layer = pd.DataFrame({layer: sum((v for (lay, _), v in recomputed.items() if lay == layer),
                                         pd.Series(0.0, index=p.sites.index)) for layer in LAYERS})
    reported_layer = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    reported_layer = reported_layer.reindex(index=p.sites.index, columns=list(LAYERS)).fillna(0.0)
    for site in p.sites.index:
        for layer in LAYERS:
            r.scalar_eq("costs", f"site {site}: {layer}_usd_per_yr (sites.csv) vs costs.csv",
                        p.sites.loc[site, f"{layer}_usd_per_yr"], reported_layer.loc[site, layer], atol=1e-3)
        r.scalar_eq("costs", f"site {site}: cost_usd_per_yr (sites.csv) vs costs.csv", p.sites.loc[site, "cost_usd_per_yr"],
                    reported_layer.loc[site].sum(), atol=1e-3)
        site_mtok = p.sites.loc[site, "delivered_tokens_per_yr"] / 1e6
        r.scalar_eq("costs", f"site {site}: usd_per_mtok (sites.csv) vs cost / delivered Mtok", p.sites.loc[site, "usd_per_mtok"],
                    reported_layer.loc[site].sum() / site_mtok if site_mtok > 0 else np.nan)
    for layer in LAYERS:
        r.scalar_eq("costs", f"total {layer} layer cost vs recomputed", by_layer.get(layer, 0.0), per_layer[layer].sum(), atol=1e-3)
    r.scalar_eq("costs", "summary capex_usd vs recomputed overnight capex", summary["capex_usd"], capex.sum(), atol=1e-3)
    budget = p.scenario.constraints.capex_budget_usd
    if budget is not None:
        r.scalar_le("policy", "overnight capex vs capex_budget_usd", capex.sum(), budget, atol=1e-3)

    # summary figures derived from dispatch
    facility_mwh = p.annual("facility_mw")
    r.scalar_eq("costs", "summary facility_energy_mwh_per_yr vs dispatch", summary["facility_energy_mwh_per_yr"], facility_mwh.sum())
    r.scalar_eq("costs", "summary energy_j_per_token vs dispatch", summary["energy_j_per_token"],
                facility_mwh.sum() * 3.6e9 / tokens)


def _check_policy(p: _Plan, r: _Report) -> None:
    summary = p.t["summary"].iloc[0]
    mtok = float(summary["delivered_tokens_per_yr"]) / 1e6
    emissions = _emissions_t(p)
    for site in p.sites.index:
        r.scalar_eq("carbon", f"site {site}: emissions_t_per_yr (sites.csv) vs recomputed from dispatch",
                    p.sites.loc[site, "emissions_t_per_yr"], emissions[site], atol=1e-3)
    r.scalar_eq("carbon", "summary emissions_t_per_yr vs recomputed", summary["emissions_t_per_yr"], emissions.sum(), atol=1e-3)
    r.scalar_eq("carbon", "summary emissions_kg_per_mtok vs recomputed", summary["emissions_kg_per_mtok"],
                emissions.sum() * 1000.0 / mtok)
    cap = p.scenario.constraints.carbon_cap_t_per_yr
    if cap is not None:
        r.scalar_le("carbon", "summary emissions_t_per_yr vs carbon_cap_t_per_yr", summary["emissions_t_per_yr"], cap)
        r.scalar_le("carbon", "recomputed emissions vs carbon_cap_t_per_yr", emissions.sum(), cap)

    # water: the hourly WUE of the chosen cooling over the year's IT energy
    d, sites = p.dispatch, p.s["sites"]
    _, wue = _site_pue_wue(p)
    litres = (wue * d["it_mw"] * KWH_PER_MWH * p.w).groupby(d["site_id"]).sum()
    water = (litres / LITRES_PER_ML).reindex(p.sites.index, fill_value=0.0)
    it_kwh = p.annual("it_mw") * KWH_PER_MWH
    limits = sites["water_limit_ml_per_yr"] if "water_limit_ml_per_yr" in sites else pd.Series(np.nan, index=sites.index)
    for site in p.sites.index:
        r.scalar_eq("water", f"site {site}: water_ml_per_yr (sites.csv) vs hourly WUE x IT energy",
                    p.sites.loc[site, "water_ml_per_yr"], water[site])
        r.scalar_eq("water", f"site {site}: annual_wue_l_per_kwh (sites.csv) vs water / IT energy",
                    p.sites.loc[site, "annual_wue_l_per_kwh"],
                    water[site] * LITRES_PER_ML / it_kwh[site] if it_kwh[site] > 0 else np.nan)
        if not pd.isna(limits[site]):
            r.scalar_le("water", f"site {site}: water use (ML/yr) vs water_limit_ml_per_yr", water[site], limits[site])
            r.scalar_le("water", f"site {site}: reported water_ml_per_yr vs water_limit_ml_per_yr",
                        p.sites.loc[site, "water_ml_per_yr"], limits[site])
    r.scalar_eq("water", "summary water_ml_per_yr vs recomputed", summary["water_ml_per_yr"], water.sum())
    r.scalar_eq("water", "summary water_l_per_mtok vs recomputed", summary["water_l_per_mtok"], water.sum() * LITRES_PER_ML / mtok)


CHECKS = (
    _check_time,
    _check_structure,
    _check_energy_balance,
    _check_pue,
    _check_it_load,
    _check_generation,
    _check_grid,
    _check_bridge,
    _check_carbon_free,
    _check_land,
    _check_chips,
    _check_units,
    _check_storage,
    _check_demand,
    _check_tokens,
    _check_costs,
    _check_policy,
)


def verify_plan_folder(folder) -> list[str]:
    """Re-check an exported plan folder; returns violation messages (empty: the plan is consistent)."""
    folder = Path(folder)
    missing = [f"{name}.csv" for name in PLAN_TABLES if not (folder / f"{name}.csv").exists()]
    for extra in ("sites.geojson", "scenario/scenario.yaml", *(f"scenario/{name}.csv" for name in DERIVED_TABLES)):
        if not (folder / extra).exists():
            missing.append(extra)
    if missing:
        return [f"[files] {folder}: missing {', '.join(missing)}"]
    plan = _Plan(folder)
    report = _Report()
    for check in CHECKS:
        try:
            check(plan, report)
        except Exception as error:  # a malformed table must fail verification, not crash it
            report.add("verifier", f"{check.__name__} could not run: {type(error).__name__}: {error}")
    return report.messages


# --------------------------------------------------------------------------------------------
# tests

ROOT = Path(__file__).resolve().parents[1]


def _solve(folder: Path, document: dict | None = None) -> Path:
    """Solve a scenario through the CLI into ``folder/plan``: base.yaml itself, or a document extending it."""
    import yaml
    from typer.testing import CliRunner

    from optimizer.cli import app

    scenario = ROOT / "data" / "scenarios" / "base.yaml"
    if document is not None:
        folder.mkdir(parents=True, exist_ok=True)
        scenario = folder / f"{document['name']}.yaml"
        scenario.write_text(yaml.safe_dump({"extends": str(ROOT / "data" / "scenarios" / "base.yaml"), **document},
                                           sort_keys=False))
    out = folder / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def base_plan(tmp_path_factory) -> Path:
    """The default scenario solved once through the CLI."""
    return _solve(tmp_path_factory.mktemp("verification_base"))


#: a small islanded scenario (no grid, dear gas, three sites, little demand) whose cheapest plan
#: cycles a battery, so the state-of-charge checks meet real storage dispatch; solves in seconds
STORAGE_SCENARIO = {
    "name": "verification_storage",
    "constraints": {"allowed_sites": ["the_dalles", "quincy_wa", "prineville"], "carbon_cap_t_per_yr": 20000},
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "seattle/chat_70b": {"tokens_per_yr": 2.0e14},
            "seattle/batch_70b": {"tokens_per_yr": 2.0e14},
            "san_francisco/reasoning_r1": {"tokens_per_yr": 1.0e14},
        },
        "sites": {"*": {"grid_capacity_mw": 0, "gas_price_usd_per_mmbtu": {"scale": 15}}},
    },
}

#: time to power: three PJM sites whose grid arrives in 2032, everything online by 2027. The grid is
#: cheaper than dear gas, so a site bridges on engines for five years, then imports: solves in seconds
BRIDGE_SCENARIO = {
    "name": "verification_bridge",
    "constraints": {
        "allowed_sites": ["stargate_lordstown", "aws_n_indiana", "coreweave_lancaster"],
        "online_by_year": 2027,
    },
    "time": {"representative_days": 4},
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "philadelphia/chat_70b": {"tokens_per_yr": 1.0e14},
            "new_york_city/batch_70b": {"tokens_per_yr": 2.0e14},
            "chicago/reasoning_r1": {"tokens_per_yr": 0.5e14},
        },
        "sites": {"*": {"gas_price_usd_per_mmbtu": {"scale": 3}}},
    },
}

#: 24/7 carbon-free supply: 80 % of every hour's load at three north-west sites; solves in seconds
CFE_SCENARIO = {
    "name": "verification_cfe",
    "constraints": {"allowed_sites": ["quincy_wa", "the_dalles", "prineville"], "cfe_share": 0.8},
    "time": {"representative_days": 4},
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "seattle/chat_70b": {"tokens_per_yr": 2.0e14},
            "seattle/batch_70b": {"tokens_per_yr": 2.0e14},
            "san_francisco/reasoning_r1": {"tokens_per_yr": 1.0e14},
        },
    },
}


@pytest.fixture(scope="module")
def storage_plan(tmp_path_factory) -> Path:
    return _solve(tmp_path_factory.mktemp("verification_storage"), STORAGE_SCENARIO)


@pytest.fixture(scope="module")
def bridge_plan(tmp_path_factory) -> Path:
    plan = _solve(tmp_path_factory.mktemp("verification_bridge"), BRIDGE_SCENARIO)
    sites = pd.read_csv(plan / "sites.csv")
    power = pd.read_csv(plan / "power.csv")
    dispatch = pd.read_csv(plan / "dispatch.csv")
    bridged = sites[(sites["built"] == 1) & (sites["bridge_share"] > 0)]
    assert len(bridged), "no built site waits for its grid: the bridge scenario no longer tests bridge power"
    site = bridged["site_id"].iloc[0]
    assert power.loc[power["site_id"] == site, "bridge_generation_mwh_per_yr"].sum() > 1.0, "no bridge generation"
    assert dispatch.filter(like="bridge_").to_numpy().max() > 0.1, "no bridge generation in dispatch.csv"
    assert dispatch.loc[dispatch["site_id"] == site, "grid_mw"].max() > 0.1, "the late grid is never used after the bridge"
    return plan


@pytest.fixture(scope="module")
def cfe_plan(tmp_path_factory) -> Path:
    return _solve(tmp_path_factory.mktemp("verification_cfe"), CFE_SCENARIO)


def test_base_plan_passes_independent_verification(base_plan: Path) -> None:
    summary = pd.read_csv(base_plan / "summary.csv").iloc[0]
    assert summary["status"] in ("optimal", "time_limit_feasible")
    assert verify_plan_folder(base_plan) == []


def test_storage_plan_passes_independent_verification(storage_plan: Path) -> None:
    power = pd.read_csv(storage_plan / "power.csv")
    dispatch = pd.read_csv(storage_plan / "dispatch.csv")
    days = pd.read_csv(storage_plan / "storage_days.csv")
    assert (power["kind"] == "storage").any(), "the storage scenario no longer builds storage"
    assert dispatch.filter(like="_discharge_mw").to_numpy().max() > 0.1, "the battery is built but never used"
    assert len(days) == DAYS_PER_YEAR * (power["kind"] == "storage").sum()
    assert not (dispatch["grid_mw"] > 0).any()
    assert verify_plan_folder(storage_plan) == []


def test_bridge_plan_passes_independent_verification(bridge_plan: Path) -> None:
    assert verify_plan_folder(bridge_plan) == []


def test_cfe_plan_passes_independent_verification(cfe_plan: Path) -> None:
    sites = pd.read_csv(cfe_plan / "sites.csv")
    built = sites[sites["built"] == 1]
    assert (built["cfe_score"] >= 0.8 - 1e-6).all(), built[["site_id", "cfe_score"]]
    assert verify_plan_folder(cfe_plan) == []


def test_cooling_formula_by_hand() -> None:
    """The verifier's own PUE/WUE against values worked out by hand from the stage shares."""
    air = pd.Series({
        "power_overhead": 0.06, "fan_pump_kw_per_kw_it": 0.06, "free_cooling_max_drybulb_c": 18.0,
        "evaporative_max_wetbulb_c": 19.0, "evaporative_l_per_kwh": 1.0, "evaporative_kw_per_kw_it": 0.03,
        "chiller_cop_at_35c": 2.96,
        "chiller_cop_gain_per_c": 0.10, "chiller_l_per_kwh": 0.5, "transition_band_c": 3.0,
    })
    drybulb = np.array([10.0, 19.5, 35.0, 50.0])
    wetbulb = np.array([5.0, 20.5, 25.0, 25.0])
    pue, wue = _cooling_pue_wue(air, drybulb, wetbulb)
    # 10 C: free cooling only. 19.5/20.5 C: half free, a quarter evaporative (pumps 0.03 kW/kW), a
    # quarter by chillers at COP 2.96 + 0.1 x 15.5. 35 C: chillers only at their rated COP. 50 C: COP
    # floored at 1.5.
    assert pue == pytest.approx([1.12, 1.12 + 0.25 * 0.03 + 0.25 / 4.51, 1.12 + 1 / 2.96, 1.12 + 1 / 1.5])
    assert wue == pytest.approx([0.0, 0.25 * 1.0 + 0.25 * 0.5, 0.5, 0.5])
    dry_only = air.copy()
    dry_only["evaporative_max_wetbulb_c"] = np.nan  # no evaporative stage: chillers carry the rest
    pue, wue = _cooling_pue_wue(dry_only, drybulb[1:2], wetbulb[1:2])
    assert pue == pytest.approx([1.12 + 0.5 / 4.51])
    assert wue == pytest.approx([0.25])


def test_bridge_share_by_hand() -> None:
    assert present_value_share(5, 20, 0.08) == pytest.approx((1 - 1.08**-5) / (1 - 1.08**-20))
    assert present_value_share(5, 20, 0.08) == pytest.approx(0.4066663, rel=1e-6)
    assert present_value_share(5, 20, 0.0) == pytest.approx(0.25)
    assert present_value_share(30, 20, 0.08) == pytest.approx(1.0)
    assert present_value_share(0, 20, 0.08) == 0.0


#: a renewable-and-battery site whose grid arrives two years after online_by_year (Lordstown: 2032)
ISLANDED_LATE_GRID = {
    "constraints": {
        "allowed_sites": ["stargate_lordstown"],
        "allowed_power_techs": ["grid", "solar_pv_tracking", "wind_onshore", "battery_li_ion"],
        "online_by_year": 2030,
    },
    "time": {"representative_days": 4},
    "solver": {"time_limit_s": 30},
    "overrides": {"demand": {"*": {"tokens_per_yr": 0}, "new_york_city/batch_70b": {"tokens_per_yr": 2.0e14}}},
}


def test_bridge_power_only_adds_options(tmp_path: Path) -> None:
    """Allowing a late grid after bridge years must not forbid a plan that never uses that grid."""
    without = _solve(tmp_path / "off", {"name": "late_grid_no_bridge", **ISLANDED_LATE_GRID,
                                        "constraints": {**ISLANDED_LATE_GRID["constraints"], "bridge_power": False}})
    assert verify_plan_folder(without) == []
    cost = pd.read_csv(without / "summary.csv").iloc[0]["total_cost_usd_per_yr"]
    with_bridge = _solve(tmp_path / "on", {"name": "late_grid_bridge", **ISLANDED_LATE_GRID})
    assert verify_plan_folder(with_bridge) == []
    assert pd.read_csv(with_bridge / "summary.csv").iloc[0]["total_cost_usd_per_yr"] <= cost * (1 + 0.01)


# ---- corruptions: each breaks one rule of a solved plan, the verifier must name that rule


def _first_grid_row(dispatch: pd.DataFrame) -> int:
    return int(dispatch.index[dispatch["grid_mw"] > 1.0][0])


def _raise_grid_import(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    dispatch.loc[_first_grid_row(dispatch), "grid_mw"] += 5.0
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _grid_beyond_connection(folder: Path) -> None:
    """Shift load from another source onto the grid: the balance holds, the grid limit does not."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    sites = pd.read_csv(folder / "sites.csv").set_index("site_id")
    row = _first_grid_row(dispatch)
    site = dispatch.loc[row, "site_id"]
    extra = sites.loc[site, "grid_capacity_mw"] + 1.0
    dispatch.loc[row, "grid_mw"] += extra
    dispatch.loc[row, "facility_mw"] += extra  # keep the energy balance, break the limits
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _delete_delivery(folder: Path) -> None:
    deliveries = pd.read_csv(folder / "deliveries.csv")
    deliveries.drop(index=deliveries["tokens_per_yr"].idxmax()).to_csv(folder / "deliveries.csv", index=False)


def _add_rack(folder: Path) -> None:
    chips = pd.read_csv(folder / "chips.csv")
    chips.loc[0, "racks"] += 1
    chips.to_csv(folder / "chips.csv", index=False)


def _fractional_rack(folder: Path) -> None:
    chips = pd.read_csv(folder / "chips.csv")
    chips.loc[0, "racks"] -= 0.5
    chips.to_csv(folder / "chips.csv", index=False)


def _air_cooling(folder: Path) -> None:
    sites = pd.read_csv(folder / "sites.csv", keep_default_na=False)
    built = sites.index[sites["built"] == 1][0]
    sites.loc[built, "cooling_id"] = "air"
    sites.to_csv(folder / "sites.csv", index=False)


def _cheaper_chips(folder: Path) -> None:
    costs = pd.read_csv(folder / "costs.csv")
    row = costs.index[(costs["layer"] == "chips") & (costs["usd_per_yr"] > 0)][0]
    moved = costs.loc[row, "usd_per_yr"] * 0.1
    costs.loc[row, "usd_per_yr"] -= moved  # move cost between layers: the total still adds up
    infra = costs.index[(costs["layer"] == "infrastructure") & (costs["site_id"] == costs.loc[row, "site_id"])][0]
    costs.loc[infra, "usd_per_yr"] += moved
    costs.to_csv(folder / "costs.csv", index=False)


def _far_delivery(folder: Path) -> None:
    """Re-route a chat delivery from the farthest built site, claiming the original latency."""
    deliveries = pd.read_csv(folder / "deliveries.csv")
    sites = pd.read_csv(folder / "sites.csv")
    built = sites[sites["built"] == 1]
    row = deliveries.index[deliveries["workload_id"] == "chat_70b"][0]
    region = deliveries.loc[row, "region_id"]
    regions = pd.read_csv(folder / "scenario" / "regions.csv").set_index("region_id")
    lon, lat = regions.loc[region, ["lon", "lat"]]
    far = built.loc[((built["lon"] - lon) ** 2 + (built["lat"] - lat) ** 2).idxmax(), "site_id"]
    deliveries.loc[row, "site_id"] = far
    deliveries.to_csv(folder / "deliveries.csv", index=False)


def _edit_scenario_sites(folder: Path, site: str, column: str, value) -> None:
    """Change one value of the copied scenario's sites table."""
    import geopandas as gpd

    path = folder / "scenario" / "sites.geojson"
    sites = gpd.read_file(path)
    sites.loc[sites["site_id"] == site, column] = value
    sites.to_file(path, driver="GeoJSON")


def _edit_scenario_options(folder: Path, section: str, **values) -> None:
    import yaml

    path = folder / "scenario" / "scenario.yaml"
    document = yaml.safe_load(path.read_text())
    document.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _grid_online_late(folder: Path) -> None:
    """Move the grid of a site that imports power past the online-by year (in the copied scenario).

    With bridge power (the default) the site may keep its grid only if on-site generation carries its
    whole load until then, which this plan never arranged.
    """
    dispatch = pd.read_csv(folder / "dispatch.csv")
    _edit_scenario_sites(folder, dispatch.loc[_first_grid_row(dispatch), "site_id"], "grid_online_year", 2040)


def _grid_online_late_without_bridge(folder: Path) -> None:
    """As above with bridge power switched off: a late grid is simply forbidden."""
    _grid_online_late(folder)
    _edit_scenario_options(folder, "constraints", bridge_power=False)


def _tamper_pue(folder: Path) -> None:
    """Claim a 3 % higher facility load in one slice, supplied by the grid: only the PUE rule breaks."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    row = _first_grid_row(dispatch)
    extra = 0.03 * dispatch.loc[row, "facility_mw"]
    dispatch.loc[row, ["facility_mw", "grid_mw"]] += extra
    dispatch.loc[row, "pue"] = dispatch.loc[row, "facility_mw"] / dispatch.loc[row, "it_mw"]
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _water_over_limit(folder: Path) -> None:
    """Give the thirstiest built site a water limit half its use (in the copied scenario)."""
    sites = pd.read_csv(folder / "sites.csv")
    row = sites.loc[sites["water_ml_per_yr"].idxmax()]
    assert row["water_ml_per_yr"] > 0.01, "no built site uses water"
    _edit_scenario_sites(folder, row["site_id"], "water_limit_ml_per_yr", 0.5 * row["water_ml_per_yr"])


def _move_calendar_day(folder: Path) -> None:
    """Map the first day of the year to another representative day: weights no longer count days."""
    days = pd.read_csv(folder / "scenario" / "days.csv")
    periods = sorted(days["period"].unique())
    days.loc[0, "period"] = next(p for p in periods if p != days.loc[0, "period"])
    days.to_csv(folder / "scenario" / "days.csv", index=False)


def _warmer_profile(folder: Path) -> None:
    """Warm one hour of a built site's representative weather (and its dispatch copy) by 4 C."""
    profiles = pd.read_csv(folder / "scenario" / "profiles.csv")
    dispatch = pd.read_csv(folder / "dispatch.csv")
    site, slice_id = dispatch.loc[0, ["site_id", "slice_id"]]
    profiles.loc[(profiles["site_id"] == site) & (profiles["slice_id"] == slice_id), "temp_c"] += 4.0
    dispatch.loc[0, "temp_c"] += 4.0
    profiles.to_csv(folder / "scenario" / "profiles.csv", index=False)
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _unit_fraction(folder: Path) -> None:
    power = pd.read_csv(folder / "power.csv")
    row = power.index[power["units"].notna()][0]
    power.loc[row, "capacity_mw"] += 1.0
    power.to_csv(folder / "power.csv", index=False)


def _break_state_of_charge(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    column = [c for c in dispatch.columns if c.endswith("_soc_within_day_mwh")][0]
    row = int(dispatch[column].abs().idxmax())
    dispatch.loc[row, column] *= 0.5
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _shift_storage_day(folder: Path) -> None:
    """Start one calendar day with a tenth of the battery more than the day before left in it."""
    days = pd.read_csv(folder / "storage_days.csv")
    row = DAYS_PER_YEAR // 2
    days.loc[row, "soc_start_mwh"] += 0.1 * days.loc[row, "energy_capacity_mwh"]
    days.to_csv(folder / "storage_days.csv", index=False)


def _overfill_battery(folder: Path) -> None:
    """Start every day fuller by the battery's whole capacity: the chain holds, the bounds do not."""
    days = pd.read_csv(folder / "storage_days.csv")
    days["soc_start_mwh"] += days["energy_capacity_mwh"]
    days.to_csv(folder / "storage_days.csv", index=False)


def _drop_bridge_slice(folder: Path) -> None:
    """Remove the bridge generation of one slice at a bridge site."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    columns = [c for c in dispatch.columns if c.startswith("bridge_")]
    row = int(dispatch.index[dispatch[columns].sum(axis=1) > 1.0][0])
    dispatch.loc[row, columns] = 0.0
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _grid_energy_all_years(folder: Path) -> None:
    """Cost the grid's energy over the whole horizon, ignoring the bridge years (total kept)."""
    costs = pd.read_csv(folder / "costs.csv")
    sites = pd.read_csv(folder / "sites.csv").set_index("site_id")
    bridged = costs["site_id"].map(sites["bridge_share"]) > 0
    row = costs.index[(costs["item"] == "grid energy") & (costs["usd_per_yr"] > 0) & bridged][0]
    share = sites.loc[costs.loc[row, "site_id"], "bridge_share"]
    extra = costs.loc[row, "usd_per_yr"] * share / (1.0 - share)
    costs.loc[row, "usd_per_yr"] += extra
    fuel = costs.index[(costs["item"] == "fuel and variable O&M") & (costs["site_id"] == costs.loc[row, "site_id"])][0]
    costs.loc[fuel, "usd_per_yr"] -= extra
    costs.to_csv(folder / "costs.csv", index=False)


def _demand_more_carbon_free(folder: Path) -> None:
    """Ask, in the copied scenario, for a carbon-free share above what the plan reaches in its worst hour."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    worst = (dispatch["carbon_free_mw"] / dispatch["facility_mw"]).min()
    _edit_scenario_options(folder, "constraints", cfe_share=min(1.0, float(worst) + 0.05))


def _overstate_carbon_free(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    dispatch.loc[0, "carbon_free_mw"] += 0.1 * dispatch.loc[0, "facility_mw"]
    dispatch.to_csv(folder / "dispatch.csv", index=False)


CORRUPTIONS = {
    "grid_mw raised": ("base_plan", _raise_grid_import, "[energy balance]"),
    "grid import beyond interconnection": ("base_plan", _grid_beyond_connection, "[grid]"),
    "delivery row deleted": ("base_plan", _delete_delivery, "[demand]"),
    "one rack added": ("base_plan", _add_rack, "[racks]"),
    "fractional rack": ("base_plan", _fractional_rack, "[racks]"),
    "air cooling under liquid racks": ("base_plan", _air_cooling, "[cooling]"),
    "chips cost moved to infrastructure": ("base_plan", _cheaper_chips, "[costs]"),
    "chat served from a distant site": ("base_plan", _far_delivery, "[latency]"),
    "grid online late, no bridge generation": ("base_plan", _grid_online_late, "[bridge]"),
    "grid online late, bridge power off": ("base_plan", _grid_online_late_without_bridge, "[grid]"),
    "gas turbine off its unit size": ("base_plan", _unit_fraction, "[unit sizes]"),
    "PUE of one slice tampered": ("base_plan", _tamper_pue, "[pue]"),
    "water over the site limit": ("base_plan", _water_over_limit, "[water]"),
    "calendar day moved to another period": ("base_plan", _move_calendar_day, "[time]"),
    "representative weather changed": ("base_plan", _warmer_profile, "[time]"),
    "state of charge within a day broken": ("storage_plan", _break_state_of_charge, "[storage]"),
    "storage day start shifted": ("storage_plan", _shift_storage_day, "[storage]"),
    "battery above its energy capacity": ("storage_plan", _overfill_battery, "[storage]"),
    "bridge generation dropped in one slice": ("bridge_plan", _drop_bridge_slice, "[bridge]"),
    "grid energy costed through the bridge years": ("bridge_plan", _grid_energy_all_years, "[costs]"),
    "cfe_share above what the plan reaches": ("cfe_plan", _demand_more_carbon_free, "[cfe]"),
    "carbon_free_mw overstated": ("cfe_plan", _overstate_carbon_free, "[cfe]"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_verifier_catches_corrupted_plan(request, tmp_path: Path, name: str) -> None:
    plan, corrupt, expected = CORRUPTIONS[name]
    folder = tmp_path / "plan"
    shutil.copytree(request.getfixturevalue(plan), folder)
    corrupt(folder)
    violations = verify_plan_folder(folder)
    assert any(v.startswith(expected) for v in violations), f"{name}: expected a {expected} violation, got {violations}"
    assert not any(v.startswith("[verifier]") for v in violations), violations


def test_verifier_stays_independent_of_the_model(cfe_plan: Path) -> None:
    """The verifier re-derives the formulation: it must not load the model, the solver or the product's cooling."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tests.test_plan_verification import verify_plan_folder\n"
        f"assert verify_plan_folder({str(cfe_plan)!r}) == []\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyomo', 'highspy') or m.startswith(('optimizer.model', "
        "'optimizer.cooling', 'optimizer.plan', 'optimizer.solve'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"the verifier imported {result.stdout.strip()}"


def test_verifier_reports_missing_table(base_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    (folder / "power.csv").unlink()
    assert verify_plan_folder(folder) == [f"[files] {folder}: missing power.csv"]
    shutil.copy(base_plan / "power.csv", folder / "power.csv")
    (folder / "scenario" / "days.csv").unlink()
    assert verify_plan_folder(folder) == [f"[files] {folder}: missing scenario/days.csv"]
