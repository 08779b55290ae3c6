"""A solved model as a plan: pandas tables, the cost split by layer, and an atomic CSV export.

The plan reads variable values and the layers' cost expressions; it never talks to the solver.
Everything a later check needs is exported: the tables below plus the resolved scenario, so the
folder alone is enough to re-verify the plan (``aifactory verify``, ``optimizer/verify/``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyomo.environ as pyo

from optimizer.outputs.fullyear import FullYearCheck, check_full_year, summary_columns, with_site_columns
from optimizer.inputs.geo import distance_km
from optimizer.model import FactoryModel
from optimizer.model.applications import site_region_latency_ms
from optimizer.model.core import LAYERS
from optimizer.model.energy import carbon_free_techs, grid_wait_yr
from optimizer.outputs.folders import check_output_folder, clear_leftovers, write_folder
from optimizer.solve.milp import SolveResult
from optimizer.verify import verify_plan
from optimizer.constants import TOKENS_PER_MTOK, TOKENS_PER_PTOK, USD_PER_MUSD

JOULES_PER_MWH = 3.6e9
LITRES_PER_ML = 1e6
TABLE_FILES = (
    "summary", "sites", "chips", "allocation", "power", "dispatch", "storage_days", "deliveries", "costs", "aggregation_error",
)


def _values(component) -> pd.Series:
    """Solved values of an indexed variable or expression, indexed like it."""
    data = {key: pyo.value(item, exception=False) or 0.0 for key, item in component.items()}
    if not data:
        return pd.Series(dtype=float)
    return pd.Series(data, dtype=float)


class PlanFailsVerification(RuntimeError):
    """A plan the independent verifier rejects; ``messages`` holds one line per violation."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("the plan fails its own verification: " + "; ".join(messages))
        self.messages = messages


@dataclass
class Plan:
    tables: dict[str, pd.DataFrame]
    scenario_name: str
    checks_passed: int = 0
    """independent checks the written plan passed (``write(verify=True)``)"""

    @property
    def summary(self) -> pd.Series:
        return self.tables["summary"].iloc[0]

    def write(self, folder: str | Path, scenario, force: bool = False, verify: bool = True,
              protected: Iterable[Path] = (), say: Callable[[str], None] = lambda _: None) -> Path:
        """Write every table, ``sites.geojson`` and the resolved scenario; all or nothing.

        ``folder`` must be new or a plan this tool wrote (replaced only with ``force``), and must not
        touch ``protected`` folders (see :func:`optimizer.outputs.folders.check_output_folder`). With
        ``verify`` the independent verifier re-checks the complete staging folder first, and a plan
        that fails it raises :class:`PlanFailsVerification` and replaces nothing: a plan is never
        handed out that its own checks reject. ``checks_passed`` then counts the checks. ``say``
        hears of each staging folder an interrupted earlier write left, as it is removed.
        """
        target = check_output_folder(Path(folder), "plan", protected=protected, force=force)
        clear_leftovers(target, say)

        def fill(staging: Path) -> None:
            for name in TABLE_FILES:
                self.tables[name].to_csv(staging / f"{name}.csv", index=False)
            sites = self.tables["sites"]
            geometry = gpd.points_from_xy(sites["lon"], sites["lat"], crs="EPSG:4326")
            gpd.GeoDataFrame(sites, geometry=geometry).to_file(staging / "sites.geojson", driver="GeoJSON")
            scenario.write(staging / "scenario")
            if verify:
                verification = verify_plan(staging)
                if not verification.ok:
                    raise PlanFailsVerification(verification.messages)
                self.checks_passed = len(verification.checks)

        return write_folder(target, "plan", fill)


def build_plan(fm: FactoryModel, result: SolveResult) -> Plan:
    costs = _costs(fm)
    full_year = check_full_year(fm)
    sites = with_site_columns(_sites(fm, costs), full_year)
    dispatch = _dispatch(fm)
    _add_carbon_free_score(sites, dispatch)
    tables = {
        "sites": sites,
        "chips": _chips(fm),
        "allocation": _allocation(fm),
        "power": _power(fm),
        "dispatch": dispatch,
        "storage_days": _storage_days(fm),
        "deliveries": _deliveries(fm),
        "costs": costs,
        "aggregation_error": fm.scenario.aggregation_error,
    }
    tables["summary"] = _summary(fm, result, tables, full_year)
    return Plan(tables, fm.scenario.name)


def _costs(fm: FactoryModel) -> pd.DataFrame:
    rows = []
    for term in fm.shared.costs:
        for site, value in _values(term.by_site).items():
            rows.append({"site_id": site, "layer": term.layer, "item": term.item, "usd_per_yr": value * USD_PER_MUSD})
    frame = pd.DataFrame(rows)
    delivered = _delivered_ptok(fm)
    total_mtok = delivered.sum() * TOKENS_PER_PTOK / TOKENS_PER_MTOK
    frame["usd_per_mtok"] = frame["usd_per_yr"] / total_mtok if total_mtok > 0 else float("nan")
    return frame


def _sites(fm: FactoryModel, costs: pd.DataFrame) -> pd.DataFrame:
    m, scenario = fm.model, fm.scenario
    table = scenario.tables["sites"]
    built = _values(m.build).round().astype(int)
    cooling = _values(m.cooling).unstack()
    chosen = cooling.idxmax(axis=1).where(built == 1, "")
    it_capacity = _values(m.it_capacity_mw).groupby(level=0).sum()
    weights = pd.Series(m.weight_h)
    facility_mw = _values(m.facility_load_mw).unstack()
    it_mwh = _values(m.cooled_it_total_mw) * weights.sum()
    facility_mwh = facility_mw.mul(weights, axis=1).sum(axis=1)
    racks = _values(m.racks).unstack()
    chips_per_rack = scenario.tables["chips"]["chips_per_rack"]
    delivered = _delivered_ptok(fm).groupby(level=0).sum().reindex(table.index, fill_value=0.0)
    grid = _values(m.generation_mw)
    grid_import = (
        grid[grid.index.get_level_values(1) == m.grid_tech].groupby(level=0).max().reindex(table.index, fill_value=0.0)
        if len(grid)
        else pd.Series(0.0, index=table.index)
    )
    by_layer = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_layer = by_layer.reindex(index=table.index, columns=list(LAYERS), fill_value=0.0).fillna(0.0)
    tokens = delivered * TOKENS_PER_PTOK
    frame = pd.DataFrame(
        {
            "site_id": table.index,
            "name": table["name"],
            "state": table["state"],
            "iso": table["iso"],
            "lat": table["lat"],
            "lon": table["lon"],
            "built": built,
            "cooling_id": chosen,
            "it_capacity_mw": it_capacity,
            "racks": racks.sum(axis=1),
            "chips": racks.mul(chips_per_rack, axis=1).sum(axis=1),
            "it_energy_mwh_per_yr": it_mwh,
            "facility_energy_mwh_per_yr": facility_mwh,
            "annual_pue": (facility_mwh / it_mwh).where(it_mwh > 0),
            "annual_wue_l_per_kwh": (_values(m.water_ml) * LITRES_PER_ML / (it_mwh * 1000.0)).where(it_mwh > 0),
            "peak_facility_mw": facility_mw.max(axis=1),
            "peak_grid_import_mw": grid_import,
            "grid_capacity_mw": table["grid_capacity_mw"],
            "grid_online_year": table["grid_online_year"],
            "grid_wait_yr": grid_wait_yr(scenario),
            "bridge_share": pd.Series(m.bridge_share, dtype=float).reindex(table.index, fill_value=0.0),
            "land_acres": table["land_acres"],
            "land_used_acres": _values(m.it_land_acres) + _values(m.generation_land_acres),
            "water_ml_per_yr": _values(m.water_ml),
            "emissions_t_per_yr": _values(m.emissions_t),
            "delivered_tokens_per_yr": tokens,
            "cost_usd_per_yr": by_layer.sum(axis=1),
            **{f"{layer}_usd_per_yr": by_layer[layer] for layer in LAYERS},
        },
        index=table.index,  # every series aligns on the site id, in the input order
    ).reset_index(drop=True)
    frame["usd_per_mtok"] = (frame["cost_usd_per_yr"] / (frame["delivered_tokens_per_yr"] / TOKENS_PER_MTOK)).where(
        frame["delivered_tokens_per_yr"] > 0
    )
    return frame


def _chips(fm: FactoryModel) -> pd.DataFrame:
    chips = fm.scenario.tables["chips"]
    racks = _values(fm.model.racks).round()
    racks = racks[racks > 0]
    frame = racks.rename("racks").rename_axis(["site_id", "chip_id"]).reset_index()
    frame["chips"] = frame["racks"] * frame["chip_id"].map(chips["chips_per_rack"])
    frame["rack_power_kw"] = frame["chip_id"].map(chips["rack_power_kw"])
    frame["it_mw"] = frame["racks"] * frame["rack_power_kw"] / 1000.0
    frame["capex_usd"] = frame["chips"] * frame["chip_id"].map(chips["price_usd_per_chip"] + chips["system_usd_per_chip"])
    return frame


def _allocation(fm: FactoryModel) -> pd.DataFrame:
    m = fm.model
    assigned = _values(m.assigned_racks)
    produced = _values(m.tokens_produced_ptok)
    frame = assigned.rename("racks_assigned").rename_axis(["site_id", "chip_id", "workload_id"]).reset_index()
    frame = frame[frame["racks_assigned"] > 1e-6]
    throughput = fm.scenario.tables["chip_throughput"]["tokens_per_s_per_chip"]
    frame["tokens_per_s_per_chip"] = [throughput[c, w] for c, w in zip(frame["chip_id"], frame["workload_id"])]
    site_tokens = produced[produced > 0] * TOKENS_PER_PTOK
    frame["site_workload_tokens_per_yr"] = [site_tokens.get((s, w), 0.0) for s, w in zip(frame["site_id"], frame["workload_id"])]
    return frame.reset_index(drop=True)


def _power(fm: FactoryModel) -> pd.DataFrame:
    m, scenario = fm.model, fm.scenario
    techs = scenario.tables["power_techs"]
    weights = pd.Series(m.weight_h)
    capacity = _values(m.capacity_mw)
    generation = _values(m.generation_mw)
    units = _values(m.units).round() if len(m.units) else pd.Series(dtype=float)
    bridge = _values(m.bridge_annual_generation_mwh)
    rows = []
    for (site, tech), mw in capacity.items():
        if mw <= 1e-6:
            continue
        mwh = sum(weights[t] * generation[site, tech, t] for t in m.T)
        rows.append(
            {
                "site_id": site,
                "tech_id": tech,
                "kind": techs.loc[tech, "kind"],
                "capacity_mw": mw,
                "units": units.get((site, tech), float("nan")),
                "energy_capacity_mwh": float("nan"),
                "generation_mwh_per_yr": mwh,
                "capacity_factor": mwh / (mw * 8760.0),
                "bridge_generation_mwh_per_yr": bridge.get((site, tech), 0.0),
                "land_acres": mw * techs.loc[tech, "land_acres_per_mw"],
            }
        )
    storage = scenario.tables["storage_techs"]
    energy = _values(m.storage_energy_mwh)
    discharge = _values(m.discharge_mw)
    for (site, tech), mw in _values(m.storage_power_mw).items():
        if mw <= 1e-6:
            continue
        mwh = sum(weights[t] * discharge[site, tech, t] for t in m.T)
        rows.append(
            {
                "site_id": site,
                "tech_id": tech,
                "kind": "storage",
                "capacity_mw": mw,
                "units": float("nan"),
                "energy_capacity_mwh": energy[site, tech],
                "generation_mwh_per_yr": mwh,
                "capacity_factor": mwh / (mw * 8760.0),
                "bridge_generation_mwh_per_yr": 0.0,
                "land_acres": mw * storage.loc[tech, "land_acres_per_mw"],
            }
        )
    columns = [
        "site_id", "tech_id", "kind", "capacity_mw", "units", "energy_capacity_mwh", "generation_mwh_per_yr",
        "capacity_factor", "bridge_generation_mwh_per_yr", "land_acres",
    ]
    return pd.DataFrame(rows, columns=columns)


def _dispatch(fm: FactoryModel) -> pd.DataFrame:
    """Hourly operation of every built site: supply by source, storage, IT and facility load."""
    m, scenario = fm.model, fm.scenario
    built = [s for s in m.S if (m.build[s].value or 0) > 0.5]
    slices = scenario.tables["slices"]
    frame = pd.DataFrame(
        [(s, t) for s in built for t in m.T], columns=["site_id", "slice_id"]
    )
    frame["period"] = frame["slice_id"].map(slices["period"])
    frame["hour"] = frame["slice_id"].map(slices["hour"])
    frame["weight_h"] = frame["slice_id"].map(slices["weight_h"])
    keys = list(zip(frame["site_id"], frame["slice_id"]))
    # no site built (no demand): an empty index of the same two levels
    index = pd.MultiIndex.from_tuples(keys) if keys else pd.MultiIndex.from_arrays([[], []])
    profiles = scenario.tables["profiles"].reindex(index)
    for column in ("temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh"):
        frame[column] = profiles[column].to_numpy() if keys else []
    it = _values(m.cooled_it_total_mw)
    facility = _values(m.facility_load_mw)
    frame["it_mw"] = frame["site_id"].map(it)
    frame["facility_mw"] = [facility[k] for k in keys]
    frame["pue"] = (frame["facility_mw"] / frame["it_mw"]).where(frame["it_mw"] > 0)
    generation = _values(m.generation_mw)
    for tech in m.G:
        frame[f"{tech}_mw"] = [generation.get((s, tech, t), 0.0) for s, t in keys]
    for name, component in (("charge", m.charge_mw), ("discharge", m.discharge_mw), ("soc_within_day", m.soc_within_day_mwh)):
        values = _values(component)
        unit = "mwh" if name.startswith("soc") else "mw"
        for b in sorted({b for _, b in m.site_storage}):
            frame[f"{b}_{name}_{unit}"] = [values.get((s, b, t), 0.0) for s, t in keys]
    if len(m.bridge_generation_mw):
        bridge = _values(m.bridge_generation_mw)
        for tech in m.G:
            if tech != m.grid_tech:
                frame[f"bridge_{tech}_mw"] = [bridge.get((s, tech, t), 0.0) for s, t in keys]
        for name, component in (
            ("charge", m.bridge.charge_mw), ("discharge", m.bridge.discharge_mw), ("soc_within_day", m.bridge.soc_within_day_mwh)
        ):
            values = _values(component)
            unit = "mwh" if name.startswith("soc") else "mw"
            for b in sorted({b for _, b in m.site_storage}):
                frame[f"bridge_{b}_{name}_{unit}"] = [values.get((s, b, t), 0.0) for s, t in keys]
    clean = set(carbon_free_techs(scenario))
    grid_cfe = frame["site_id"].map(scenario.tables["sites"]["grid_cfe_share"])
    storage_ids = sorted({b for _, b in m.site_storage})
    storage_net = sum(
        (frame[f"{b}_discharge_mw"] - frame[f"{b}_charge_mw"] for b in storage_ids), pd.Series(0.0, index=frame.index)
    )
    frame["carbon_free_mw"] = (
        sum((frame[f"{g}_mw"] for g in m.G if g in clean), pd.Series(0.0, index=frame.index))
        + grid_cfe * frame[f"{m.grid_tech}_mw"]
        + storage_net
    )
    return frame


def _add_carbon_free_score(sites: pd.DataFrame, dispatch: pd.DataFrame) -> None:
    """Hourly-matched carbon-free share of each site's load over the year (24/7 CFE score)."""
    matched = dispatch["carbon_free_mw"].clip(lower=0).clip(upper=dispatch["facility_mw"]) * dispatch["weight_h"]
    load = dispatch["facility_mw"] * dispatch["weight_h"]
    score = matched.groupby(dispatch["site_id"]).sum() / load.groupby(dispatch["site_id"]).sum()
    sites["cfe_score"] = sites["site_id"].map(score)


def _storage_days(fm: FactoryModel) -> pd.DataFrame:
    """State of charge at the start of each calendar day, for every storage that was built, in the
    grid years and, at sites that wait for their grid, in the bridge years."""
    m = fm.model
    last_slice = m.last_slice_of_period
    rows = []
    for regime, block in (("grid_years", m), ("bridge_years", m.bridge)):
        start = _values(block.soc_run_start_mwh)
        within = _values(block.soc_within_day_mwh)
        for s, b in sorted({(s, b) for s, b, _ in block.soc_run_start_mwh.index_set()}):
            if (m.storage_power_mw[s, b].value or 0.0) <= 1e-6:
                continue
            for r, (first, length, period) in enumerate(m.storage_runs):
                change = within[s, b, last_slice[period]]
                for j in range(length):
                    rows.append({
                        "regime": regime,
                        "site_id": s,
                        "storage_id": b,
                        "day": first + j,
                        "period": period,
                        "soc_start_mwh": start[s, b, r] + j * change,
                        "energy_capacity_mwh": m.storage_energy_mwh[s, b].value,
                    })
    columns = ["regime", "site_id", "storage_id", "day", "period", "soc_start_mwh", "energy_capacity_mwh"]
    return pd.DataFrame(rows, columns=columns)


#: deliveries at or below this (1e6 tokens/yr) are solver noise; every table leaves them out alike
DELIVERY_NOISE_PTOK = 1e-9


def _per(amount: float, delivered: float) -> float:
    """A figure per delivered token (or Mtok); blank when nothing is delivered (zero demand)."""
    return amount / delivered if delivered > 0 else float("nan")


def _delivered_ptok(fm: FactoryModel) -> pd.Series:
    """Delivered Ptok by (site, region, workload), without solver noise."""
    delivered = _values(fm.model.delivered_ptok)
    if delivered.empty:  # no demand, no route: keep the three levels the tables are read by
        return pd.Series(dtype=float, index=pd.MultiIndex.from_arrays([[], [], []]))
    return delivered[delivered > DELIVERY_NOISE_PTOK]


def _deliveries(fm: FactoryModel) -> pd.DataFrame:
    scenario = fm.scenario
    delivered = _delivered_ptok(fm) * TOKENS_PER_PTOK
    frame = delivered.rename("tokens_per_yr").rename_axis(["site_id", "region_id", "workload_id"]).reset_index()
    distance = distance_km(scenario.tables["sites"], scenario.tables["regions"])
    latency = site_region_latency_ms(scenario)
    frame["distance_km"] = [distance.loc[s, r] for s, r in zip(frame["site_id"], frame["region_id"])]
    frame["latency_ms"] = [latency.loc[s, r] for s, r in zip(frame["site_id"], frame["region_id"])]
    frame["latency_budget_ms"] = frame["workload_id"].map(scenario.tables["workloads"]["latency_budget_ms"])
    return frame


def _aggregation_summary(error: pd.DataFrame) -> dict[str, float]:
    """Mean hour-by-hour RMSE of the representative days over the sites, per weather quantity."""
    rmse = error.groupby("quantity")["rmse"].mean()
    return {f"aggregation_rmse_{q}": float(rmse.get(q, float("nan"))) for q in ("solar_cf", "wind_cf", "temp_c")}


def _summary(
    fm: FactoryModel, result: SolveResult, tables: dict[str, pd.DataFrame], full_year: FullYearCheck
) -> pd.DataFrame:
    scenario = fm.scenario
    sites, costs = tables["sites"], tables["costs"]
    tokens = sites["delivered_tokens_per_yr"].sum()
    mtok = tokens / TOKENS_PER_MTOK
    by_layer = costs.groupby("layer")["usd_per_yr"].sum().reindex(list(LAYERS), fill_value=0.0)
    total = by_layer.sum()
    facility_mwh = sites["facility_energy_mwh_per_yr"].sum()
    last = result.iterations[-1] if result.iterations else None
    row = {
        "scenario": scenario.name,
        "objective": scenario.objective.mode,
        "status": result.status,
        "highs_status": result.highs_status,
        "plan_source": result.plan_source,
        "mip_gap": result.mip_gap,
        # no plan costs less than this (the solver's bound; with --screen, over every candidate)
        # a bound of exactly 0 (the greedy plan's, when no LP finished) is a bound, not a blank
        "cost_lower_bound_usd_per_yr": float("nan") if result.cost_lower_bound_musd_per_yr is None
        else result.cost_lower_bound_musd_per_yr * USD_PER_MUSD,
        "build_s": fm.build_s,
        "handoff_s": result.handoff_s,
        "solve_s": result.solve_s,
        "variables": result.size.variables,
        "integer_variables": result.size.integers,
        "constraints": result.size.constraints,
        "nonzeros": result.size.nonzeros,
        "dinkelbach_iterations": len(result.iterations),
        "lambda_usd_per_mtok": last.lambda_usd_per_mtok if last else float("nan"),
        "lambda_lower_bound_usd_per_mtok": result.lambda_lower_bound_usd_per_mtok,
        "total_cost_usd_per_yr": total,
        "delivered_tokens_per_yr": tokens,
        "demand_tokens_per_yr": scenario.tables["demand"]["tokens_per_yr"].sum(),
        "usd_per_mtok": _per(total, mtok),
        **{f"{layer}_usd_per_mtok": _per(by_layer[layer], mtok) for layer in LAYERS},
        "emissions_t_per_yr": sites["emissions_t_per_yr"].sum(),
        "emissions_kg_per_mtok": _per(sites["emissions_t_per_yr"].sum() * 1000.0, mtok),
        "water_ml_per_yr": sites["water_ml_per_yr"].sum(),
        "water_l_per_mtok": _per(sites["water_ml_per_yr"].sum() * LITRES_PER_ML, mtok),
        "facility_energy_mwh_per_yr": facility_mwh,
        "energy_j_per_token": _per(facility_mwh * JOULES_PER_MWH, tokens),
        "representative_days": scenario.time.representative_days,
        "periods": int(scenario.tables["slices"]["period"].nunique()),
        "slices": len(scenario.tables["slices"]),
        **_aggregation_summary(scenario.aggregation_error),
        "sites_built": int(sites["built"].sum()),
        "it_capacity_mw": sites["it_capacity_mw"].sum(),
        "chips": tables["chips"]["chips"].sum(),
        "capex_usd": pyo.value(fm.model.capex_total_musd) * USD_PER_MUSD,
        # the design run through all 8,760 hours: its real cost and how far the representative days are
        **summary_columns(full_year, costs, sites.set_index("site_id")["delivered_tokens_per_yr"]),
    }
    return pd.DataFrame([row])
