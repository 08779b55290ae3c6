"""A solved build-out as a plan a planner reads: what stands and what is added, year by year.

Tables (one CSV each; every money figure in constant USD of ``finance.dollar_year``):

==================  ==============================================================================
table               one row per
==================  ==============================================================================
summary             the build-out: status, gap, times, sizes, present values and the levelised
                    cost per token overall and by layer
years               planning year: the years it stands for, its present-value weight, demand,
                    delivered and unserved tokens, cost by layer (operating + annuities), $/Mtok
schedule            (site, planning year) for every site ever opened: open, IT MW standing,
                    energised that year and under construction, coolings, racks and chips
vintages            capacity added: family, build year, site, item (cooling, chip, technology,
                    storage), amount and unit
retirements         racks of a vintage retired early at the start of a planning year
fleet               (planning year, site, chip, build year): racks standing
power               (planning year, site, technology): capacity standing and added, MW
costs               (planning year, site, layer, item, kind): operating cost or annuity, USD/yr
deliveries          (planning year, site, region, workload): tokens delivered
==================  ==============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo

from optimizer.constants import TOKENS_PER_MTOK, TOKENS_PER_PTOK, USD_PER_MUSD
from optimizer.inputs.scenario import Scenario
from optimizer.model import applications
from optimizer.model.buildout import BuildoutModel
from optimizer.model.core import LAYERS, solved_values
from optimizer.outputs.folders import write_plan_folder
from optimizer.outputs.plan import PlanFailsVerification
from optimizer.solver.buildout import BuildoutResult
from optimizer.verify.buildout import BUILDOUT_TABLES, verify_buildout

#: capacity added or standing at or below this is solver noise, left out of the tables
NOISE = 1e-6
#: the unit of each capital family's capacity
FAMILY_UNITS = {
    "sites": "site",
    "halls": "MW IT",
    "racks": "racks",
    "power": "MW",
    "storage_power": "MW",
    "storage_energy": "MWh",
}


@dataclass
class BuildoutPlan:
    """The tables of a solved build-out (see the module docstring)."""

    tables: dict[str, pd.DataFrame]
    checks_passed: int = 0
    """independent checks the written plan passed"""

    @property
    def summary(self) -> pd.Series:
        return self.tables["summary"].iloc[0]

    def write(
        self,
        folder: str | Path,
        scenario: Scenario,
        force: bool = False,
        protected: Iterable[Path] = (),
        say: Callable[[str], None] = lambda _: None,
    ) -> Path:
        """Write every table and the resolved scenario, all or nothing, after the independent verifier
        (:func:`optimizer.verify.buildout.verify_buildout`) has passed the complete staging folder; a
        plan that fails raises :class:`PlanFailsVerification` and replaces nothing. ``folder`` must be
        new or a build-out this tool wrote (replaced only with ``force``)."""

        def fill(staging: Path) -> None:
            for name in BUILDOUT_TABLES:
                self.tables[name].to_csv(staging / f"{name}.csv", index=False)
            scenario.write(staging / "scenario")
            verification = verify_buildout(staging)
            if not verification.ok:
                raise PlanFailsVerification(verification.messages)
            self.checks_passed = len(verification.checks)

        return write_plan_folder(Path(folder), fill, protected, force, say)


def _item(key: Hashable) -> str:
    """The item of a family's key: its second element (cooling, chip, technology, storage), or none."""
    return str(key[1]) if isinstance(key, tuple) else ""


def _site(key: Hashable) -> str:
    return str(key[0]) if isinstance(key, tuple) else str(key)


def build_buildout_plan(model: BuildoutModel, outcome: BuildoutResult) -> BuildoutPlan:
    """The tables of a solved build-out (its values are in ``model``'s variables)."""
    vintages = _vintages(model)
    costs = _costs(model)
    years = _years(model, costs)
    tables = {
        "years": years,
        "vintages": vintages,
        "retirements": _retirements(model),
        "schedule": _schedule(model, vintages),
        "fleet": _fleet(model),
        "power": _power(model, vintages),
        "costs": costs,
        "deliveries": _deliveries(model),
    }
    tables["summary"] = _summary(model, outcome, years)
    return BuildoutPlan(tables)


def _vintages(model: BuildoutModel) -> pd.DataFrame:
    rows = []
    for index, var in model.vintages.added.items():
        value = pyo.value(var)
        if value > NOISE:
            name, year, key = index[0], index[1], index[2:] if len(index) > 3 else index[2]
            rows.append(
                {
                    "family": name,
                    "build_year": year,
                    "site_id": _site(key),
                    "item_id": _item(key),
                    "added": value,
                    "unit": FAMILY_UNITS[name],
                }
            )
    return pd.DataFrame(rows, columns=["family", "build_year", "site_id", "item_id", "added", "unit"])


def _retirements(model: BuildoutModel) -> pd.DataFrame:
    rows = [
        {"family": i[0], "build_year": i[1], "year": i[2], "site_id": i[3], "item_id": i[4], "retired": pyo.value(v)}
        for i, v in model.vintages.retired.items()
        if pyo.value(v) > NOISE
    ]
    return pd.DataFrame(rows, columns=["family", "build_year", "year", "site_id", "item_id", "retired"])


def _fleet(model: BuildoutModel) -> pd.DataFrame:
    """Racks standing by planning year, site, chip and the year they were bought."""
    retired = {i: pyo.value(v) for i, v in model.vintages.retired.items()}
    rows = []
    for index, var in model.vintages.added.items():
        if index[0] != "racks" or pyo.value(var) <= NOISE:
            continue
        _, build_year, site, chip = index
        life = model.vintages.families[build_year]["racks"].life_yr[site, chip]
        for period in model.years:
            if build_year <= period.year < build_year + life:
                gone = sum(
                    value
                    for i, value in retired.items()
                    if i[:2] == ("racks", build_year) and i[3:] == (site, chip) and i[2] <= period.year
                )
                standing = pyo.value(var) - gone
                if standing > NOISE:
                    rows.append(
                        {
                            "year": period.year,
                            "site_id": site,
                            "chip_id": chip,
                            "build_year": build_year,
                            "racks": standing,
                        }
                    )
    return pd.DataFrame(rows, columns=["year", "site_id", "chip_id", "build_year", "racks"])


def _power(model: BuildoutModel, vintages: pd.DataFrame) -> pd.DataFrame:
    """Power and storage capacity standing in each planning year at each site, and what was added."""
    rows = []
    for year, fm in model.blocks.items():
        for (site, tech), value in solved_values(fm.energy.capacity_mw).items():
            rows.append({"year": year, "site_id": site, "tech_id": tech, "kind": "power", "capacity_mw": value})
        for (site, storage), value in solved_values(fm.energy.storage_power_mw).items():
            rows.append({"year": year, "site_id": site, "tech_id": storage, "kind": "storage", "capacity_mw": value})
    frame = pd.DataFrame(rows, columns=["year", "site_id", "tech_id", "kind", "capacity_mw"])
    frame = frame[frame["capacity_mw"] > NOISE]
    added = vintages[vintages["family"].isin(["power", "storage_power"])]
    added = added.rename(columns={"build_year": "year", "item_id": "tech_id", "added": "added_mw"})
    frame = frame.merge(
        added[["year", "site_id", "tech_id", "added_mw"]], how="left", on=["year", "site_id", "tech_id"]
    )
    return frame.fillna({"added_mw": 0.0}).reset_index(drop=True)


def _costs(model: BuildoutModel) -> pd.DataFrame:
    """Each planning year's operating cost terms (by site and item) and the annuities of its vintages."""
    rows = []
    for year, fm in model.blocks.items():
        for term in fm.shared.costs:
            if term.capital:
                continue
            for site, value in solved_values(term.by_site).items():
                rows.append((year, site, term.layer, term.item, "operating", value * USD_PER_MUSD))
    for (year, family, item, site), expression in model.core.annuities_musd.items():
        layer = model.vintages.families[year][family].layer
        rows.append((year, site, layer, item, "annuity", pyo.value(expression) * USD_PER_MUSD))
    frame = pd.DataFrame(rows, columns=["year", "site_id", "layer", "item", "kind", "usd_per_yr"])
    grouped = frame.groupby(["year", "site_id", "layer", "item", "kind"], sort=False, as_index=False)[
        "usd_per_yr"
    ].sum()
    return grouped[grouped["usd_per_yr"].abs() > NOISE].reset_index(drop=True)


def _years(model: BuildoutModel, costs: pd.DataFrame) -> pd.DataFrame:
    """One row per planning year: demand, delivery, cost by layer and per token, what stands."""
    by_layer = costs.pivot_table(index="year", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_layer = by_layer.reindex(index=[p.year for p in model.years], columns=list(LAYERS)).fillna(0.0)
    rows = []
    for period in model.years:
        fm = model.blocks[period.year]
        demand = float(fm.scenario.tables["demand"]["tokens_per_yr"].sum())
        delivered = pyo.value(model.core.delivered_ptok[period.year]) * TOKENS_PER_PTOK
        mtok = delivered / TOKENS_PER_MTOK
        layer_usd = {layer: float(by_layer.loc[period.year, layer]) for layer in LAYERS}
        cost = sum(layer_usd.values())
        racks = solved_values(fm.chips.racks)
        chips_per_rack = fm.scenario.tables["chips"]["chips_per_rack"]
        rows.append(
            {
                "year": period.year,
                "end_year": period.end,
                "years": period.years,
                "pv_weight": period.pv_weight,
                "demand_tokens_per_yr": demand,
                "delivered_tokens_per_yr": delivered,
                "unserved_tokens_per_yr": max(demand - delivered, 0.0),
                "unserved_usd_per_yr": pyo.value(model.core.penalty_musd[period.year]) * USD_PER_MUSD,
                "cost_usd_per_yr": cost,
                **{f"{layer}_usd_per_yr": value for layer, value in layer_usd.items()},
                "usd_per_mtok": cost / mtok if mtok > 0 else math.nan,
                **{
                    f"{layer}_usd_per_mtok": value / mtok if mtok > 0 else math.nan
                    for layer, value in layer_usd.items()
                },
                "sites_open": round(sum(pyo.value(v) for v in fm.infrastructure.build.values())),
                "it_capacity_mw": float(solved_values(fm.infrastructure.it_capacity_mw).sum()),
                "racks": float(racks.sum()),
                "chips": float((racks * racks.index.get_level_values(1).map(chips_per_rack).to_numpy()).sum()),
                "emissions_t_per_yr": pyo.value(fm.core.emissions_total_t),
            }
        )
    return pd.DataFrame(rows)


def _schedule(model: BuildoutModel, vintages: pd.DataFrame) -> pd.DataFrame:
    """(site, planning year) for every site ever opened: open, IT standing, energised, under construction."""
    lead = model.scenario.facility("hall_lead_time_yr")
    halls = vintages[vintages["family"] == "halls"]
    opened = set()
    for fm in model.blocks.values():
        opened |= {s for s, v in fm.infrastructure.build.items() if (v.value or 0) > 0.5}
    rows = []
    for site in [s for s in model.scenario.tables["sites"].index if s in opened]:
        at_site = halls[halls["site_id"] == site]
        for period in model.years:
            fm = model.blocks[period.year]
            it = solved_values(fm.infrastructure.it_capacity_mw)
            it = it[it.index.get_level_values(0) == site]
            racks = solved_values(fm.chips.racks)
            racks = racks[(racks.index.get_level_values(0) == site) & (racks > NOISE)]
            capacity = solved_values(fm.energy.capacity_mw)
            capacity = capacity[capacity.index.get_level_values(0) == site]
            grid = fm.energy.sites.grid
            # a hall energised in year v was begun lead years before: under construction in the years between
            building = at_site[(at_site["build_year"] > period.year) & (at_site["build_year"] - lead - 1 < period.year)]
            rows.append(
                {
                    "site_id": site,
                    "year": period.year,
                    "open": round(fm.infrastructure.build[site].value or 0),
                    "it_capacity_mw": float(it.sum()),
                    "it_energised_mw": float(at_site.loc[at_site["build_year"] == period.year, "added"].sum()),
                    "it_under_construction_mw": float(building["added"].sum()),
                    "coolings": "; ".join(f"{k} {v:.1f} MW" for (_, k), v in it.items() if v > NOISE),
                    "racks": float(racks.sum()),
                    "racks_by_sku": "; ".join(f"{c} {v:.0f}" for (_, c), v in racks.items()),
                    "grid_mw": float(capacity[capacity.index.get_level_values(1) == grid].sum()),
                    "onsite_power_mw": float(capacity[capacity.index.get_level_values(1) != grid].sum()),
                }
            )
    return pd.DataFrame(rows)


def _deliveries(model: BuildoutModel) -> pd.DataFrame:
    frames = []
    for year, fm in model.blocks.items():
        frame = applications.report(fm.applications, fm.scenario, fm.inputs).deliveries
        frames.append(frame.assign(year=year)[["year", *frame.columns]])
    return pd.concat(frames, ignore_index=True)


def _summary(model: BuildoutModel, outcome: BuildoutResult, years: pd.DataFrame) -> pd.DataFrame:
    """One row: how the build-out was solved and its present values and levelised cost per token."""
    result, scenario = outcome.result, model.scenario
    weight = years["pv_weight"]
    resale_usd = pyo.value(model.core.resale_pv_musd) * USD_PER_MUSD
    pv_tokens = float((weight * years["delivered_tokens_per_yr"]).sum())
    pv_layer = {layer: float((weight * years[f"{layer}_usd_per_yr"]).sum()) for layer in LAYERS}
    pv_layer["chips"] -= resale_usd  # what selling racks early recovers lowers the chips' cost
    pv_cost = sum(pv_layer.values())
    pv_mtok = pv_tokens / TOKENS_PER_MTOK
    row = {
        "scenario": scenario.name,
        "objective": scenario.objective.mode,
        "foresight": outcome.foresight,
        "planning_years": " ".join(str(p.year) for p in model.years),
        "end_year": model.years[-1].end,
        "status": result.status,
        "highs_status": result.highs_status,
        "mip_gap": result.mip_gap,
        "build_s": model.build_s,
        "handoff_s": result.handoff_s,
        "solve_s": result.solve_s,
        "variables": result.size.variables,
        "integer_variables": result.size.integers,
        "constraints": result.size.constraints,
        "nonzeros": result.size.nonzeros,
        "pv_cost_usd": pv_cost,
        "pv_tokens": pv_tokens,
        "pv_resale_usd": resale_usd,
        "pv_unserved_usd": float((weight * years["unserved_usd_per_yr"]).sum()),
        "levelised_usd_per_mtok": pv_cost / pv_mtok if pv_mtok > 0 else math.nan,
        **{
            f"levelised_{layer}_usd_per_mtok": v / pv_mtok if pv_mtok > 0 else math.nan for layer, v in pv_layer.items()
        },
        "myopic_steps": len(outcome.steps),
    }
    return pd.DataFrame([row])
