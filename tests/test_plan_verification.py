"""Independent re-check of an exported plan from its folder alone.

``verify_plan_folder(folder)`` reads the plan's CSV tables and the resolved scenario copied into
``folder/scenario/`` and re-checks every physical, commercial and policy rule of the formulation
with pandas/numpy arithmetic. It never imports the Pyomo model or the solver: a plan that passes
here is feasible by an independent reading of the data contract, not merely by the model's own
account. ``optimizer.scenario.load_scenario`` is used only to read the copied tables.

Other tests may reuse it::

    from tests.test_plan_verification import verify_plan_folder
    assert verify_plan_folder(plan_dir) == []
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from optimizer.scenario import load_scenario

RTOL = 1e-6
ATOL = 1e-6
HOURS_PER_YEAR = 8760.0
PLAN_TABLES = ("summary", "sites", "chips", "allocation", "power", "dispatch", "deliveries", "costs")
LAYERS = ("energy", "chips", "infrastructure")
MAX_MESSAGES_PER_CHECK = 5
#: allocation.csv leaves out assignments of at most this many racks (its export threshold)
ALLOCATION_EXPORT_RACKS = 1e-6


# --------------------------------------------------------------------------------------------
# tolerances and reporting


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor r(1+r)^n / ((1+r)^n - 1), written out again on purpose."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _scale(*values) -> np.ndarray:
    return np.maximum.reduce([np.abs(_arr(v)) for v in values])


def _bad_le(lhs, rhs, scale=None, atol: float = ATOL) -> np.ndarray:
    """Where ``lhs <= rhs`` fails beyond the tolerance."""
    lhs, rhs = _arr(lhs), _arr(rhs)
    scale = _scale(lhs, rhs) if scale is None else _arr(scale)
    return lhs > rhs + RTOL * scale + atol


def _bad_eq(a, b, scale=None, atol: float = ATOL) -> np.ndarray:
    a, b = _arr(a), _arr(b)
    scale = _scale(a, b) if scale is None else _arr(scale)
    return np.abs(a - b) > RTOL * scale + atol


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
        if bool(_bad_eq(value, expected, scale, atol)):
            self.add(check, f"{what}: {float(value):.10g} != expected {float(expected):.10g}")

    def scalar_le(self, check: str, what: str, value, limit, atol: float = ATOL) -> None:
        if bool(_bad_le(value, limit, atol=atol)):
            self.add(check, f"{what}: {float(value):.10g} exceeds {float(limit):.10g}")


# --------------------------------------------------------------------------------------------
# loading


class _Plan:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.t = {name: pd.read_csv(folder / f"{name}.csv") for name in PLAN_TABLES}
        self.scenario = load_scenario(folder / "scenario" / "scenario.yaml")
        self.s = self.scenario.tables  # scenario tables indexed by their ids

        sites = self.t["sites"].copy()
        sites["cooling_id"] = sites["cooling_id"].fillna("").astype(str)
        sites["site_id"] = sites["site_id"].astype(str)
        self.sites = sites.set_index("site_id")
        self.built = list(self.sites.index[self.sites["built"] == 1])
        self.dispatch = self.t["dispatch"]
        self.power = self.t["power"]
        self.gen_power = self.power[self.power["kind"] != "storage"]
        self.storage_power = self.power[self.power["kind"] == "storage"]
        self.grid_tech = self.s["power_techs"].index[self.s["power_techs"]["kind"] == "grid"][0]
        self.weights = self.s["slices"]["weight_h"].astype(float)
        self._capacities: dict[str, dict] = {}

    def facility(self, name: str) -> float:
        return float(self.s["facility"].loc[name, "value"])

        self._capacities: dict[str, dict] = {}

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

    @property
    def storage_ids(self) -> list[str]:
        return list(self.s["storage_techs"].index)

    @property
    def online_by(self):
        return self.scenario.constraints.online_by_year


# --------------------------------------------------------------------------------------------
# checks, one function per family


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
    for table in ("chips", "allocation", "power", "deliveries"):
        frame = p.t[table]
        stray = sorted(set(frame["site_id"].astype(str)) - built)
        if stray:
            r.add("structure", f"{table}.csv uses sites that are not built: {stray}")
    costs = p.t["costs"]
    stray = costs[~costs["site_id"].isin(built) & (costs["usd_per_yr"].abs() > ATOL)]
    for row in stray.itertuples(index=False):
        r.add("structure", f"costs.csv: site {row.site_id} is not built but costs {row.usd_per_yr:.6g} USD/yr ({row.item})")

    # dispatch covers every slice of every built site exactly once
    expected = {(s, t) for s in built for t in p.s["slices"].index}
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
    weights = p.dispatch["slice_id"].map(p.weights)
    bad = _bad_eq(p.dispatch["weight_h"], weights)
    r.where("structure", bad, p.dispatch, lambda row: f"dispatch {row.site_id}/{row.slice_id}: weight_h {row.weight_h} "
            f"differs from slices.csv")


def _check_energy_balance(p: _Plan, r: _Report) -> None:
    d = p.dispatch
    supply = sum(p.dispatch_column(f"{g}_mw") for g in p.s["power_techs"].index)
    discharge = sum((p.dispatch_column(f"{b}_discharge_mw") for b in p.storage_ids), pd.Series(0.0, index=d.index))
    charge = sum((p.dispatch_column(f"{b}_charge_mw") for b in p.storage_ids), pd.Series(0.0, index=d.index))
    net = supply + discharge - charge
    scale = _scale(supply + discharge, charge, d["facility_mw"])
    bad = _bad_eq(net, d["facility_mw"], scale)
    frame = d.assign(v_net=net)
    r.where("energy balance", bad, frame, lambda row: f"site {row.site_id} slice {row.slice_id}: supply - charging "
            f"{row.v_net:.9g} MW != facility load {row.facility_mw:.9g} MW")
    for column in d.columns:
        if column.endswith(("_mw", "_mwh")):
            negative = d[column].astype(float) < -ATOL
            r.where("energy balance", negative, d, lambda row, c=column: f"site {row.site_id} slice {row.slice_id}: "
                    f"{c} is negative ({getattr(row, c):.6g})")


def _check_pue(p: _Plan, r: _Report) -> None:
    d, cooling = p.dispatch, p.s["cooling"]
    temp = pd.Series(
        [p.s["profiles"].loc[(s, t), "temp_c"] for s, t in zip(d["site_id"], d["slice_id"])], index=d.index, dtype=float
    )
    k = d["site_id"].map(p.sites["cooling_id"])
    if (~k.isin(cooling.index)).any():
        return  # reported by the structure check
    pue = (
        k.map(cooling["pue_design"])
        + k.map(cooling["pue_slope_per_c"]) * (temp - k.map(cooling["pue_threshold_c"])).clip(lower=0.0)
    )
    expected = d["it_mw"] * pue
    frame = d.assign(v_expected=expected, v_pue=pue, v_temp=temp)
    r.where("pue", _bad_eq(d["facility_mw"], expected), frame, lambda row: f"site {row.site_id} slice {row.slice_id}: "
            f"facility {row.facility_mw:.9g} MW != IT {row.it_mw:.9g} MW x PUE {row.v_pue:.6g} ({row.v_temp} C)")
    r.where("pue", _bad_eq(d["temp_c"], temp), frame, lambda row: f"site {row.site_id} slice {row.slice_id}: "
            f"temp_c {row.temp_c} differs from profiles.csv {row.v_temp}")


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
    d, techs, profiles = p.dispatch, p.s["power_techs"], p.s["profiles"]
    keys = list(zip(d["site_id"], d["slice_id"]))
    for tech, row in techs.iterrows():
        column = f"{tech}_mw"
        if column not in d.columns:
            continue
        if row["kind"] in ("solar", "wind"):
            avail = pd.Series([profiles.loc[k, f"{row['kind']}_cf"] for k in keys], index=d.index, dtype=float)
        else:
            avail = pd.Series(float(row["availability"]), index=d.index)
        capacity = d["site_id"].map(lambda s, g=tech: p.capacity(s, g))
        limit = capacity * avail
        frame = d.assign(v_limit=limit, v_cap=capacity, v_av=avail)
        r.where("generation", _bad_le(d[column], limit), frame, lambda x, c=column: f"site {x.site_id} slice "
                f"{x.slice_id}: {c} {getattr(x, c):.9g} > capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}")

    # technologies that could not be built or used by the online-by year (lead time, first year, policy)
    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.gen_power.itertuples(index=False):
        if row.tech_id not in techs.index:
            r.add("generation", f"power.csv: unknown technology '{row.tech_id}' at {row.site_id}")
            continue
        tech = techs.loc[row.tech_id]
        if limits.allowed_power_techs is not None and row.tech_id not in limits.allowed_power_techs and row.capacity_mw > ATOL:
            r.add("generation", f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs")
        if p.online_by is not None and row.capacity_mw > ATOL:
            ready = start + math.ceil(tech["lead_time_yr"])
            if ready > p.online_by or tech["first_year"] > p.online_by:
                r.add("generation", f"site {row.site_id}: {row.tech_id} built ({row.capacity_mw:.6g} MW) but cannot "
                      f"operate by {p.online_by} (ready {ready}, first year {tech['first_year']})")


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
        late = sites.index[sites["grid_online_year"] > p.online_by]
        frame = d.assign(v_grid=grid)
        bad = d["site_id"].isin(late).to_numpy() & (grid.abs() > ATOL).to_numpy()
        r.where("grid", bad, frame, lambda x: f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW but "
                f"the grid connection is online only in {sites.loc[x.site_id, 'grid_online_year']} > online_by_year "
                f"{p.online_by}")
        for row in p.gen_power[(p.gen_power["tech_id"] == p.grid_tech) & p.gen_power["site_id"].isin(late)].itertuples():
            if row.capacity_mw > ATOL:
                r.add("grid", f"site {row.site_id}: grid connection built but online only after {p.online_by}")
    # the sites.csv peak matches the dispatch
    peak = grid.groupby(d["site_id"]).max()
    for site in p.built:
        r.scalar_eq("grid", f"site {site}: peak_grid_import_mw (sites.csv) vs dispatch", p.sites.loc[site, "peak_grid_import_mw"],
                    peak.get(site, 0.0))


def _check_land(p: _Plan, r: _Report) -> None:
    techs, storage = p.s["power_techs"], p.s["storage_techs"]
    it_acres = p.facility("it_acres_per_mw")
    for site in p.sites.index:
        power = p.power[p.power["site_id"] == site]
        acres = p.sites.loc[site, "it_capacity_mw"] * it_acres
        for row in power.itertuples(index=False):
            table = storage if row.kind == "storage" else techs
            acres += row.capacity_mw * float(table.loc[row.tech_id, "land_acres_per_mw"])
        land = float(p.s["sites"].loc[site, "land_acres"])
        if site not in p.built:
            land = 0.0
        r.scalar_le("land", f"site {site}: IT + generation footprint (acres) vs land_acres", acres, land)
        r.scalar_eq("land", f"site {site}: land_used_acres (sites.csv) vs recomputed", p.sites.loc[site, "land_used_acres"], acres)


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
    for site in p.sites.index:
        r.scalar_le("racks", f"site {site}: racks x rack_power_kw / 1000 (MW) vs it_capacity_mw", rack_it.get(site, 0.0),
                    p.sites.loc[site, "it_capacity_mw"])
        r.scalar_eq("racks", f"site {site}: racks in sites.csv vs chips.csv", p.sites.loc[site, "racks"], racks.get(site, 0.0))

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


def _check_storage(p: _Plan, r: _Report) -> None:
    d, storage, slices = p.dispatch, p.s["storage_techs"], p.s["slices"]
    for b in storage.index:
        charge, discharge = p.dispatch_column(f"{b}_charge_mw"), p.dispatch_column(f"{b}_discharge_mw")
        soc = p.dispatch_column(f"{b}_soc_mwh")
        power = d["site_id"].map(lambda s: p.capacity(s, b))
        energy = d["site_id"].map(lambda s: p.capacity(s, b, "energy_capacity_mwh"))
        frame = d.assign(v_c=charge, v_d=discharge, v_soc=soc, v_p=power, v_e=energy)
        r.where("storage", _bad_le(charge, power) | _bad_le(discharge, power), frame, lambda x: f"site {x.site_id} "
                f"slice {x.slice_id}: {b} charge {x.v_c:.9g} / discharge {x.v_d:.9g} MW exceed its power {x.v_p:.9g} MW")
        r.where("storage", _bad_le(soc, energy) | (soc < -ATOL).to_numpy(), frame, lambda x: f"site {x.site_id} "
                f"slice {x.slice_id}: {b} state of charge {x.v_soc:.9g} MWh outside [0, {x.v_e:.9g}]")

        eta = math.sqrt(float(storage.loc[b, "round_trip_efficiency"]))
        frame = frame.assign(v_period=d["slice_id"].map(slices["period"]), v_hour=d["slice_id"].map(slices["hour"]))
        for (site, _), group in frame.groupby(["site_id", "v_period"]):
            group = group.sort_values("v_hour")
            previous = np.roll(group["v_soc"].to_numpy(), 1)  # the first hour wraps to the last of its period
            expected = previous + eta * group["v_c"].to_numpy() - group["v_d"].to_numpy() / eta
            scale = _scale(group["v_soc"], previous, group["v_c"], group["v_d"])
            r.where("storage", _bad_eq(group["v_soc"], expected, scale), group.assign(v_exp=expected),
                    lambda x: f"site {x.site_id} slice {x.slice_id}: {b} state of charge {x.v_soc:.9g} MWh != previous "
                    f"+ sqrt(eta) charge - discharge / sqrt(eta) = {x.v_exp:.9g}")

    for row in p.storage_power.itertuples(index=False):
        if row.tech_id not in storage.index:
            r.add("storage", f"power.csv: unknown storage '{row.tech_id}' at {row.site_id}")
            continue
        lo, hi = storage.loc[row.tech_id, ["min_duration_h", "max_duration_h"]]
        if _bad_le(lo * row.capacity_mw, row.energy_capacity_mwh) or _bad_le(row.energy_capacity_mwh, hi * row.capacity_mw):
            r.add("storage", f"site {row.site_id}: {row.tech_id} {row.energy_capacity_mwh:.6g} MWh for {row.capacity_mw:.6g} "
                  f"MW is outside its {lo:g}..{hi:g} h duration")


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


def _annual_energy(p: _Plan, column: str) -> pd.Series:
    """MWh per year of one dispatch column, per site."""
    d = p.dispatch
    return (p.dispatch_column(column) * d["slice_id"].map(p.weights)).groupby(d["site_id"]).sum()


def _emissions_t(p: _Plan) -> pd.Series:
    sites, techs = p.s["sites"], p.s["power_techs"]
    out = pd.Series(0.0, index=p.sites.index)
    for tech, row in techs.iterrows():
        mwh = _annual_energy(p, f"{tech}_mw")
        for site, energy in mwh.items():
            if row["kind"] == "grid":
                t_per_mwh = sites.loc[site, "grid_co2_kg_per_mwh"] / 1000.0
            elif pd.isna(row["heat_rate_btu_per_kwh"]):
                t_per_mwh = 0.0
            else:
                t_per_mwh = row["heat_rate_btu_per_kwh"] * 1e-3 * row["co2_kg_per_mmbtu"] / 1000.0
            out[site] += energy * t_per_mwh
    return out


def _recompute_costs(p: _Plan) -> tuple[pd.DataFrame, pd.Series]:
    """Annual cost per site and layer (USD/yr) and overnight capex per site (USD), from the tables."""
    s, sites = p.s, p.s["sites"]
    wacc = p.scenario.finance.wacc
    techs, storage, cooling, chips = s["power_techs"], s["storage_techs"], s["cooling"], s["chips"]
    cost = pd.DataFrame(0.0, index=p.sites.index, columns=list(LAYERS))
    capex = pd.Series(0.0, index=p.sites.index)

    # chips: racks x chips_per_rack x (price + system) x (CRF + maintenance share)
    for row in p.t["chips"].itertuples(index=False):
        c = chips.loc[row.chip_id]
        overnight = row.racks * c["chips_per_rack"] * (c["price_usd_per_chip"] + c["system_usd_per_chip"])
        cost.loc[row.site_id, "chips"] += overnight * (crf(wacc, c["life_yr"]) + c["fom_pct_per_yr"] / 100.0)
        capex[row.site_id] += overnight

    # energy: capacity, grid energy, fuel and variable O&M, storage, carbon price
    for row in p.gen_power.itertuples(index=False):
        t = techs.loc[row.tech_id]
        overnight = row.capacity_mw * t["capex_usd_per_kw"] * 1000.0
        cost.loc[row.site_id, "energy"] += overnight * crf(wacc, t["life_yr"]) + row.capacity_mw * t["fom_usd_per_kw_yr"] * 1000.0
        capex[row.site_id] += overnight
    for tech, t in techs.iterrows():
        mwh = _annual_energy(p, f"{tech}_mw")
        for site, energy in mwh.items():
            per_mwh = t["vom_usd_per_mwh"]
            if t["kind"] == "grid":
                per_mwh += sites.loc[site, "grid_price_usd_per_mwh"]
            if t["fuel"] != "none" and not pd.isna(t["heat_rate_btu_per_kwh"]):
                price = sites.loc[site, "gas_price_usd_per_mmbtu"] if t["fuel"] == "gas" else t["fuel_price_usd_per_mmbtu"]
                per_mwh += t["heat_rate_btu_per_kwh"] * 1e-3 * (0.0 if pd.isna(price) else price)
            cost.loc[site, "energy"] += energy * per_mwh
    for row in p.storage_power.itertuples(index=False):
        b = storage.loc[row.tech_id]
        power_capex = row.capacity_mw * b["power_capex_usd_per_kw"] * 1000.0
        energy_capex = row.energy_capacity_mwh * b["energy_capex_usd_per_kwh"] * 1000.0
        cost.loc[row.site_id, "energy"] += (power_capex + energy_capex) * crf(wacc, b["life_yr"]) + row.capacity_mw * b[
            "fom_usd_per_kw_yr"
        ] * 1000.0
        capex[row.site_id] += power_capex + energy_capex
    cost["energy"] += _emissions_t(p) * p.scenario.constraints.carbon_price_usd_per_t

    # infrastructure: site development and land, building and staff, cooling
    f = p.facility
    facility_per_mw = f("facility_capex_usd_per_kw_it") * 1000.0
    facility_annual = (
        facility_per_mw * crf(wacc, f("facility_life_yr"))
        + f("facility_fom_usd_per_kw_it_yr") * 1000.0
        + f("staff_per_mw_it") * f("staff_cost_usd_per_yr")
    )
    for site in p.built:
        land_usd = sites.loc[site, "land_acres"] * sites.loc[site, "land_price_usd_per_acre"]
        it = p.sites.loc[site, "it_capacity_mw"]
        k = cooling.loc[p.sites.loc[site, "cooling_id"]]
        cooling_per_mw = k["capex_usd_per_kw_it"] * 1000.0
        cost.loc[site, "infrastructure"] += (
            f("site_development_usd") * crf(wacc, f("site_development_life_yr"))
            + land_usd * wacc
            + it * facility_annual
            + it * (cooling_per_mw * crf(wacc, k["life_yr"]) + k["fom_usd_per_kw_it_yr"] * 1000.0)
        )
        capex[site] += f("site_development_usd") + land_usd + it * (facility_per_mw + cooling_per_mw)
    return cost, capex


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
    r.scalar_eq("costs", "summary delivered_tokens_per_yr vs deliveries.csv", tokens, p.t["deliveries"]["tokens_per_yr"].sum())
    r.scalar_eq("costs", "summary demand_tokens_per_yr vs demand.csv", summary["demand_tokens_per_yr"],
                p.s["demand"]["tokens_per_yr"].sum())

    recomputed, capex = _recompute_costs(p)
    reported = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    reported = reported.reindex(index=p.sites.index, columns=list(LAYERS)).fillna(0.0)
    for site in p.sites.index:
        for layer in LAYERS:
            r.scalar_eq("costs", f"site {site}: {layer} layer cost (costs.csv) vs recomputed from the tables",
                        reported.loc[site, layer], recomputed.loc[site, layer], atol=1e-3)
            r.scalar_eq("costs", f"site {site}: {layer}_usd_per_yr (sites.csv) vs costs.csv",
                        p.sites.loc[site, f"{layer}_usd_per_yr"], reported.loc[site, layer], atol=1e-3)
    for layer in LAYERS:
        r.scalar_eq("costs", f"total {layer} layer cost vs recomputed", by_layer.get(layer, 0.0), recomputed[layer].sum(), atol=1e-3)
    r.scalar_eq("costs", "summary capex_usd vs recomputed overnight capex", summary["capex_usd"], capex.sum(), atol=1e-3)
    budget = p.scenario.constraints.capex_budget_usd
    if budget is not None:
        r.scalar_le("policy", "overnight capex vs capex_budget_usd", capex.sum(), budget, atol=1e-3)

    # per-site and summary figures derived from dispatch
    facility_mwh = _annual_energy(p, "facility_mw")
    for site in p.built:
        r.scalar_eq("costs", f"site {site}: facility_energy_mwh_per_yr vs dispatch", p.sites.loc[site, "facility_energy_mwh_per_yr"],
                    facility_mwh.get(site, 0.0))
    r.scalar_eq("costs", "summary energy_j_per_token vs dispatch", summary["energy_j_per_token"],
                facility_mwh.sum() * 3.6e9 / tokens)


def _check_policy(p: _Plan, r: _Report) -> None:
    summary = p.t["summary"].iloc[0]
    emissions = _emissions_t(p)
    for site in p.sites.index:
        r.scalar_eq("carbon", f"site {site}: emissions_t_per_yr (sites.csv) vs recomputed from dispatch",
                    p.sites.loc[site, "emissions_t_per_yr"], emissions[site], atol=1e-3)
    r.scalar_eq("carbon", "summary emissions_t_per_yr vs recomputed", summary["emissions_t_per_yr"], emissions.sum(), atol=1e-3)
    cap = p.scenario.constraints.carbon_cap_t_per_yr
    if cap is not None:
        r.scalar_le("carbon", "summary emissions_t_per_yr vs carbon_cap_t_per_yr", summary["emissions_t_per_yr"], cap)
        r.scalar_le("carbon", "recomputed emissions vs carbon_cap_t_per_yr", emissions.sum(), cap)

    sites, cooling = p.s["sites"], p.s["cooling"]
    it_mw = p.dispatch.groupby("site_id")["it_mw"].mean()
    limits = sites["water_limit_ml_per_yr"] if "water_limit_ml_per_yr" in sites else pd.Series(np.nan, index=sites.index)
    water_total = 0.0
    for site in p.sites.index:
        k = p.sites.loc[site, "cooling_id"]
        water = HOURS_PER_YEAR * cooling.loc[k, "wue_l_per_kwh"] * it_mw.get(site, 0.0) * 1000.0 / 1e6 if k else 0.0
        water_total += water
        r.scalar_eq("water", f"site {site}: water_ml_per_yr (sites.csv) vs WUE x IT energy", p.sites.loc[site, "water_ml_per_yr"], water)
        if not pd.isna(limits[site]):
            r.scalar_le("water", f"site {site}: water use (ML/yr) vs water_limit_ml_per_yr", water, limits[site])
            r.scalar_le("water", f"site {site}: reported water_ml_per_yr vs water_limit_ml_per_yr",
                        p.sites.loc[site, "water_ml_per_yr"], limits[site])
    r.scalar_eq("water", "summary water_ml_per_yr vs recomputed", summary["water_ml_per_yr"], water_total)


CHECKS = (
    _check_structure,
    _check_energy_balance,
    _check_pue,
    _check_it_load,
    _check_generation,
    _check_grid,
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
    for extra in ("sites.geojson", "scenario/scenario.yaml"):
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


@pytest.fixture(scope="module")
def base_plan(tmp_path_factory) -> Path:
    """The default scenario solved once through the CLI."""
    from typer.testing import CliRunner

    from optimizer.cli import app

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("verification") / "base"
    result = CliRunner().invoke(app, ["solve", str(root / "data" / "scenarios" / "base.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


#: a small islanded scenario (no grid, dear gas, three sites, little demand) whose cheapest plan
#: cycles a battery, so the state-of-charge check meets real storage dispatch; solves in a few seconds
STORAGE_SCENARIO = {
    "name": "verification_storage",
    "constraints": {"allowed_sites": ["the_dalles", "quincy_wa", "prineville"], "carbon_cap_t_per_yr": 20000},
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


@pytest.fixture(scope="module")
def storage_plan(tmp_path_factory) -> Path:
    import yaml
    from typer.testing import CliRunner

    from optimizer.cli import app

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path_factory.mktemp("verification_storage")
    scenario = folder / "storage.yaml"
    document = {"extends": str(root / "data" / "scenarios" / "base.yaml"), **STORAGE_SCENARIO}
    scenario.write_text(yaml.safe_dump(document, sort_keys=False))
    out = folder / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_base_plan_passes_independent_verification(base_plan: Path) -> None:
    summary = pd.read_csv(base_plan / "summary.csv").iloc[0]
    assert summary["status"] in ("optimal", "time_limit_feasible")
    assert verify_plan_folder(base_plan) == []


def test_storage_plan_passes_independent_verification(storage_plan: Path) -> None:
    power = pd.read_csv(storage_plan / "power.csv")
    dispatch = pd.read_csv(storage_plan / "dispatch.csv")
    assert (power["kind"] == "storage").any(), "the storage scenario no longer builds storage"
    assert dispatch.filter(like="_discharge_mw").to_numpy().max() > 0.1, "the battery is built but never used"
    assert not (dispatch["grid_mw"] > 0).any()
    assert verify_plan_folder(storage_plan) == []


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


def _grid_online_late(folder: Path) -> None:
    """Move the grid of a site that imports power past the online-by year (in the copied scenario)."""
    import geopandas as gpd

    dispatch = pd.read_csv(folder / "dispatch.csv")
    site = dispatch.loc[_first_grid_row(dispatch), "site_id"]
    path = folder / "scenario" / "sites.geojson"
    sites = gpd.read_file(path)
    sites.loc[sites["site_id"] == site, "grid_online_year"] = 2040
    sites.to_file(path, driver="GeoJSON")


def _break_state_of_charge(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    column = [c for c in dispatch.columns if c.endswith("_soc_mwh")][0]
    row = int(dispatch[column].idxmax())
    dispatch.loc[row, column] *= 0.5
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _unit_fraction(folder: Path) -> None:
    power = pd.read_csv(folder / "power.csv")
    row = power.index[power["units"].notna()][0]
    power.loc[row, "capacity_mw"] += 1.0
    power.to_csv(folder / "power.csv", index=False)


CORRUPTIONS = {
    "grid_mw raised": (_raise_grid_import, "[energy balance]"),
    "grid import beyond interconnection": (_grid_beyond_connection, "[grid]"),
    "delivery row deleted": (_delete_delivery, "[demand]"),
    "one rack added": (_add_rack, "[racks]"),
    "fractional rack": (_fractional_rack, "[racks]"),
    "air cooling under liquid racks": (_air_cooling, "[cooling]"),
    "chips cost moved to infrastructure": (_cheaper_chips, "[costs]"),
    "chat served from a distant site": (_far_delivery, "[latency]"),
    "grid online after the deadline": (_grid_online_late, "[grid]"),
    "gas turbine off its unit size": (_unit_fraction, "[unit sizes]"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_verifier_catches_corrupted_plan(base_plan: Path, tmp_path: Path, name: str) -> None:
    corrupt, expected = CORRUPTIONS[name]
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    corrupt(folder)
    violations = verify_plan_folder(folder)
    assert any(v.startswith(expected) for v in violations), f"{name}: expected a {expected} violation, got {violations}"
    assert not any(v.startswith("[verifier]") for v in violations), violations


def test_verifier_catches_broken_storage_dynamics(storage_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(storage_plan, folder)
    _break_state_of_charge(folder)
    violations = verify_plan_folder(folder)
    assert any(v.startswith("[storage]") for v in violations), violations


def test_verifier_reports_missing_table(base_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    (folder / "power.csv").unlink()
    assert verify_plan_folder(folder) == [f"[files] {folder}: missing power.csv"]
