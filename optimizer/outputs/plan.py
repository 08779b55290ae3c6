"""A solved model as a plan: pandas tables, the cost split by layer, and an atomic CSV export.

Each layer of the model reports its own results (its ``report`` function turns its solved families
into its tables and its columns of the shared ones); the plan only gathers them, adds the ratios
across layers and the full-year re-check, and writes. It never talks to the solver.
Everything a later check needs is exported: the tables below plus the resolved scenario, so the
folder alone is enough to re-verify the plan (``aifactory verify``, ``optimizer/verify/``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from optimizer.constants import J_PER_MWH, LITRES_PER_ML, TOKENS_PER_MTOK, TOKENS_PER_PTOK, USD_PER_MUSD
from optimizer.contract import PLAN_TABLES, conform
from optimizer.contract import columns as contract_columns
from optimizer.inputs.profiles import site_sources
from optimizer.inputs.scenario import Scenario
from optimizer.model import FactoryModel, applications, chips, core, energy, infrastructure, workloads
from optimizer.model.core import LAYERS
from optimizer.outputs.folders import write_plan_folder
from optimizer.outputs.fullyear import FullYearCheck, check_full_year, summary_columns, with_site_columns
from optimizer.solver.milp import SolveResult
from optimizer.verify import verify_plan


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

    def write(
        self,
        folder: str | Path,
        scenario: Scenario,
        force: bool = False,
        verify: bool = True,
        protected: Iterable[Path] = (),
        say: Callable[[str], None] = lambda _: None,
    ) -> Path:
        """Write every table, ``sites.geojson`` and the resolved scenario; all or nothing.

        ``folder`` must be new or a plan this tool wrote (replaced only with ``force``), and must not
        touch ``protected`` folders (see :func:`optimizer.outputs.folders.check_output_folder`). With
        ``verify`` the independent verifier re-checks the complete staging folder first, and a plan
        that fails it raises :class:`PlanFailsVerification` and replaces nothing: a plan is never
        handed out that its own checks reject. ``checks_passed`` then counts the checks. ``say``
        hears of each staging folder an interrupted earlier write left, as it is removed.

        Each table's columns are written in the order the output contract lists them
        (:mod:`optimizer.contract`); a table whose columns differ from it raises
        :class:`optimizer.contract.ContractError` before anything is written.
        """
        ids = {"tech": scenario.tables["power_techs"].index, "storage": scenario.tables["storage_techs"].index}
        tables = {name: conform(f"{name}.csv", self.tables[name], ids) for name in PLAN_TABLES}

        def fill(staging: Path) -> None:
            for name in PLAN_TABLES:
                tables[name].to_csv(staging / f"{name}.csv", index=False)
            sites = tables["sites"]
            geometry = gpd.points_from_xy(sites["lon"], sites["lat"], crs="EPSG:4326")
            gpd.GeoDataFrame(sites, geometry=geometry).to_file(staging / "sites.geojson", driver="GeoJSON")
            scenario.write(staging / "scenario")
            if verify:
                verification = verify_plan(staging)
                if not verification.ok:
                    raise PlanFailsVerification(verification.messages)
                self.checks_passed = len(verification.checks)

        return write_plan_folder(Path(folder), fill, protected, force, say)


def build_plan(fm: FactoryModel, result: SolveResult) -> Plan:
    """The plan of a solved model: each layer's report (:func:`optimizer.model.core.report`, ``chips``,
    ``infrastructure``, ``workloads``, ``applications`` and ``energy``), gathered.

    Each layer turns its own solved families into its tables and its columns of the shared ones; here
    the site columns are joined on ``site_id``, the ratios across layers added (``usd_per_mtok`` of
    costs.csv and sites.csv, ``land_used_acres``, ``cfe_score``), then the full-year re-check's columns
    (:mod:`optimizer.outputs.fullyear`) and the summary.
    """
    scenario, inputs = fm.scenario, fm.inputs
    core_report = core.report(fm.core, fm.shared)
    chips_report = chips.report(fm.chips, scenario)
    infrastructure_report = infrastructure.report(fm.infrastructure, fm.core)
    applications_report = applications.report(fm.applications, scenario, inputs)
    energy_report = energy.report(fm.energy, scenario, inputs, fm.core, infrastructure_report.built_sites)

    costs = core_report.costs
    total_mtok = applications_report.delivered_ptok.sum() * TOKENS_PER_PTOK / TOKENS_PER_MTOK
    costs["usd_per_mtok"] = costs["usd_per_yr"] / total_mtok if total_mtok > 0 else float("nan")
    land_used = infrastructure_report.it_land_acres + energy_report.generation_land_acres
    sites = _sites(
        scenario,
        chips_report.sites,
        infrastructure_report.sites,
        energy_report.sites,
        applications_report.sites,
        core_report.sites,
        land_used.rename("land_used_acres").to_frame(),
    )
    full_year = check_full_year(fm)
    sites = with_site_columns(sites, full_year)
    dispatch = _dispatch(scenario, infrastructure_report.dispatch, energy_report.dispatch)
    _add_carbon_free_score(sites, dispatch)
    tables = {
        "sites": sites,
        "chips": chips_report.chips,
        "allocation": workloads.report(fm.workloads, scenario),
        "power": energy_report.power,
        "dispatch": dispatch,
        "storage_days": energy_report.storage_days,
        "deliveries": applications_report.deliveries,
        "costs": costs,
        "aggregation_error": scenario.aggregation_error,
    }
    unserved = (applications_report.unserved_tokens_per_yr, applications_report.unserved_usd_per_yr)
    tables["summary"] = _summary(fm, result, tables, full_year, core_report.capex_usd, unserved)
    return Plan(tables, scenario.name)


#: the columns of sites.csv the scenario's sites table gives as they are
SCENARIO_SITE_COLUMNS = ("name", "state", "iso", "lat", "lon", "grid_capacity_mw", "grid_online_year", "land_acres")


def _sites(scenario: Scenario, *layer_columns: pd.DataFrame) -> pd.DataFrame:
    """sites.csv without the full-year columns: the scenario's columns of every site, each layer's site
    columns joined on ``site_id``, and the cost per token, in the contract's column order."""
    table = scenario.tables["sites"]
    frame = pd.DataFrame(
        {"site_id": table.index, **{column: table[column] for column in SCENARIO_SITE_COLUMNS}}, index=table.index
    ).reset_index(drop=True)
    frame = frame.join(site_sources(scenario.tables["hourly"]), on="site_id")
    for columns in layer_columns:
        frame = frame.join(columns, on="site_id")
    frame["usd_per_mtok"] = (frame["cost_usd_per_yr"] / (frame["delivered_tokens_per_yr"] / TOKENS_PER_MTOK)).where(
        frame["delivered_tokens_per_yr"] > 0
    )
    order = [column.name for column in contract_columns("sites.csv")]
    return frame[[name for name in order if name in frame]]


def _dispatch(scenario: Scenario, load: pd.DataFrame, supply: pd.DataFrame) -> pd.DataFrame:
    """dispatch.csv: every built site in every slice, with the slice's weather and grid figures, the IT and
    facility ``load`` (the infrastructure's report) and the ``supply`` (the energy layer's), whose rows are
    the same (site, slice) pairs in the same order."""
    slices = scenario.tables["slices"]
    frame = load[["site_id", "slice_id"]].copy()
    frame["period"] = frame["slice_id"].map(slices["period"])
    frame["hour"] = frame["slice_id"].map(slices["hour"])
    frame["weight_h"] = frame["slice_id"].map(slices["weight_h"])
    keys = list(zip(frame["site_id"], frame["slice_id"]))
    # no site built (no demand): an empty index of the same two levels
    index = pd.MultiIndex.from_tuples(keys) if keys else pd.MultiIndex.from_arrays([[], []])
    profiles = scenario.tables["profiles"].reindex(index)
    for column in ("temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh", "grid_cfe_share"):
        frame[column] = profiles[column].to_numpy() if keys else []
    if not supply[["site_id", "slice_id"]].equals(frame[["site_id", "slice_id"]]):
        raise AssertionError("the energy and infrastructure reports list the dispatch rows differently")
    for column in ("it_mw", "facility_mw", "pue"):
        frame[column] = load[column]
    for column in supply.columns.drop(["site_id", "slice_id"]):
        frame[column] = supply[column]
    return frame


def _add_carbon_free_score(sites: pd.DataFrame, dispatch: pd.DataFrame) -> None:
    """Hourly-matched carbon-free share of each site's load over the year (24/7 CFE score)."""
    matched = dispatch["carbon_free_mw"].clip(lower=0).clip(upper=dispatch["facility_mw"]) * dispatch["weight_h"]
    load = dispatch["facility_mw"] * dispatch["weight_h"]
    score = matched.groupby(dispatch["site_id"]).sum() / load.groupby(dispatch["site_id"]).sum()
    sites["cfe_score"] = sites["site_id"].map(score)


def _per(amount: float, delivered: float) -> float:
    """A figure per delivered token (or Mtok); blank when nothing is delivered (zero demand)."""
    return amount / delivered if delivered > 0 else float("nan")


def _aggregation_summary(error: pd.DataFrame) -> dict[str, float]:
    """Mean hour-by-hour RMSE of the representative days over the sites, per weather quantity."""
    rmse = error.groupby("quantity")["rmse"].mean()
    return {f"aggregation_rmse_{q}": float(rmse.get(q, float("nan"))) for q in ("solar_cf", "wind_cf", "temp_c")}


def _summary(
    fm: FactoryModel,
    result: SolveResult,
    tables: dict[str, pd.DataFrame],
    full_year: FullYearCheck,
    capex_usd: float,
    unserved: tuple[float, float],
) -> pd.DataFrame:
    """summary.csv; ``unserved``: demand left unserved (tokens/yr) and its price (USD/yr)."""
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
        "cost_lower_bound_usd_per_yr": float("nan")
        if result.cost_lower_bound_musd_per_yr is None
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
        "unserved_tokens_per_yr": unserved[0],
        "unserved_usd_per_yr": unserved[1],
        "usd_per_mtok": _per(total, mtok),
        **{f"{layer}_usd_per_mtok": _per(by_layer[layer], mtok) for layer in LAYERS},
        "emissions_t_per_yr": sites["emissions_t_per_yr"].sum(),
        "emissions_kg_per_mtok": _per(sites["emissions_t_per_yr"].sum() * 1000.0, mtok),
        "water_ml_per_yr": sites["water_ml_per_yr"].sum(),
        "water_l_per_mtok": _per(sites["water_ml_per_yr"].sum() * LITRES_PER_ML, mtok),
        "facility_energy_mwh_per_yr": facility_mwh,
        "energy_j_per_token": _per(facility_mwh * J_PER_MWH, tokens),
        "representative_days": scenario.time.representative_days,
        "periods": int(scenario.tables["slices"]["period"].nunique()),
        "slices": len(scenario.tables["slices"]),
        **_aggregation_summary(scenario.aggregation_error),
        "sites_built": int(sites["built"].sum()),
        "it_capacity_mw": sites["it_capacity_mw"].sum(),
        "chips": tables["chips"]["chips"].sum(),
        "capex_usd": capex_usd,
        # the design run through all 8,760 hours: its real cost and how far the representative days are
        **summary_columns(full_year, costs, sites.set_index("site_id")["delivered_tokens_per_yr"]),
    }
    return pd.DataFrame([row])
