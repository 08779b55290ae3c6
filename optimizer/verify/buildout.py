"""Re-check a build-out's plan folder from its CSV tables and scenario copy alone.

Never imports the model: the years' weights, each year's demand, what may be added when (years of
sale, lead times), what stands (vintages in service less retirements), the annuities each vintage
pays at its build year's price, and the present values behind the levelised cost per token are all
derived again here from the scenario's tables (``docs/BUILDOUT.md``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.constants import KW_PER_MW, TOKENS_PER_MTOK
from optimizer.inputs.scenario import Scenario, load_scenario
from optimizer.verify.contract import SCENARIO_YAML
from optimizer.verify.formulas import crf
from optimizer.verify.recorder import Recorder, Verification

#: the tables of a build-out's plan folder
BUILDOUT_TABLES = (
    "summary",
    "years",
    "schedule",
    "vintages",
    "retirements",
    "fleet",
    "power",
    "costs",
    "deliveries",
)
LAYERS = ("energy", "chips", "infrastructure")
#: absolute tolerance of counts and capacities (racks, MW), and of money per year (USD)
ATOL_UNITS = 1e-6
ATOL_USD = 1.0


def _stated(table: pd.DataFrame, key: str, column: str, year: int) -> dict[str, float]:
    """Each key's value in ``year``: linear between the stated years, the nearest stated value outside."""
    out = {}
    for name, rows in table.reset_index().groupby(key):
        rows = rows.sort_values("year")
        out[str(name)] = float(np.interp(year, rows["year"].to_numpy(float), rows[column].to_numpy(float)))
    return out


def _in_year(scenario: Scenario, year: int) -> Scenario:
    """The scenario as it stands in ``year`` (its ``by_year`` changes applied)."""
    return scenario.changed_in(year)


def _weights(scenario: Scenario, years: list[int], end: int) -> dict[int, float]:
    rate, start = scenario.finance.wacc, scenario.finance.start_year
    ends = [*years[1:], end]
    return {y: sum((1 + rate) ** -(t - start) for t in range(y, e)) for y, e in zip(years, ends, strict=True)}


def verify_buildout(folder: str | Path) -> Verification:
    """Every check of a build-out's plan folder (a check that cannot finish is a violation)."""
    folder = Path(folder)
    files = Recorder("files", "Every table of a build-out plan and its scenario copy can be read")
    try:
        scenario = load_scenario(folder / SCENARIO_YAML, trusted_root=folder)
        tables = {name: pd.read_csv(folder / f"{name}.csv", keep_default_na=True) for name in BUILDOUT_TABLES}
    except Exception as error:  # a missing or unreadable file is the files check's violation
        files.failed(error)
        return Verification(folder, [files.result])
    results = [files.result]
    for name, description, check in CHECKS:
        recorder = Recorder(name, description)
        try:
            with np.errstate(all="ignore"):
                check(scenario, tables, recorder)
        except Exception as error:
            recorder.failed(error)
        results.append(recorder.result)
    return Verification(folder, results)


def _check_years(scenario: Scenario, t: dict[str, pd.DataFrame], c: Recorder) -> None:
    years = t["years"]
    planned = list(scenario.buildout.planning_years or [])
    c.rule(list(years["year"]) == planned, f"years.csv has years {list(years['year'])}, the scenario {planned}")
    end = scenario.buildout.end_year or planned[-1] + 1
    weight = _weights(scenario, planned, end)
    c.eq(
        "pv_weight = sum of (1 + wacc)^-(t - start_year)",
        years["pv_weight"],
        [weight[y] for y in years["year"]],
        unit="",
        at=years,
    )
    growth = scenario.tables["demand_growth"]
    expected = []
    for year in years["year"]:
        demand = _in_year(scenario, int(year)).tables["demand"]["tokens_per_yr"]
        workloads = demand.index.get_level_values("workload_id")
        index = _stated(growth, "workload_id", "demand_index", int(year)) if len(growth) else {}
        expected.append(float((demand * workloads.map(lambda w, index=index: index.get(w, 1.0)).to_numpy()).sum()))
    c.eq(
        "demand_tokens_per_yr = demand.csv x demand index",
        years["demand_tokens_per_yr"],
        expected,
        unit="tokens/yr",
        at=years,
    )
    delivered = t["deliveries"].groupby("year")["tokens_per_yr"].sum().reindex(years["year"], fill_value=0.0)
    c.eq(
        "delivered_tokens_per_yr = deliveries.csv",
        years["delivered_tokens_per_yr"],
        delivered.to_numpy(),
        unit="tokens/yr",
        at=years,
    )
    c.eq(
        "delivered + unserved = demand",
        years["delivered_tokens_per_yr"] + years["unserved_tokens_per_yr"],
        years["demand_tokens_per_yr"],
        unit="tokens/yr",
        at=years,
    )
    price = scenario.objective.unserved_usd_per_mtok
    if scenario.objective.mode == "min_cost_per_token":
        # the tokens delivered are a choice: at least the share asked of each year's demand
        share = scenario.objective.min_demand_share
        c.le(
            "min_demand_share x demand <= delivered",
            share * years["demand_tokens_per_yr"],
            years["delivered_tokens_per_yr"],
            unit="tokens/yr",
            at=years,
        )
    elif price is None:
        c.eq("no demand unserved (no unserved price)", years["unserved_tokens_per_yr"], 0.0, unit="tokens/yr", at=years)
    else:
        c.eq(
            "unserved_usd_per_yr = unserved Mtok x price",
            years["unserved_usd_per_yr"],
            years["unserved_tokens_per_yr"] / TOKENS_PER_MTOK * price,
            unit="USD/yr",
            at=years,
            atol=ATOL_USD,
        )


def _on_sale(scenario: Scenario, year: int) -> set[str]:
    chips = scenario.tables["chips"]
    last = chips["last_year"] if "last_year" in chips else pd.Series(np.nan, index=chips.index)
    return {c for c in chips.index if chips.loc[c, "available_year"] <= year and not last[c] < year}


def _check_vintages(scenario: Scenario, t: dict[str, pd.DataFrame], c: Recorder) -> None:
    """Capacity is added only where and when it can be: chips on sale, lead times met, sites once."""
    vintages, start = t["vintages"], scenario.finance.start_year
    hall_ready = start + math.ceil(scenario.facility("hall_lead_time_yr"))
    for row in vintages.itertuples(index=False):
        where = f"vintages.csv: {row.family} {row.build_year} {row.site_id} {row.item_id}"
        techs = _in_year(scenario, int(row.build_year)).tables["power_techs"]
        storage = _in_year(scenario, int(row.build_year)).tables["storage_techs"]
        if row.family == "racks":
            on_sale = _on_sale(_in_year(scenario, int(row.build_year)), row.build_year)
            c.rule(row.item_id in on_sale, f"{where}: chip not on sale that year")
        elif row.family == "halls":
            c.rule(row.build_year >= hall_ready, f"{where}: hall energised before {hall_ready} (hall_lead_time_yr)")
        elif row.family in ("power", "storage_power", "storage_energy"):
            table = techs if row.family == "power" else storage
            ready = start + math.ceil(float(table.loc[row.item_id, "lead_time_yr"]))
            first = int(table.loc[row.item_id, "first_year"]) if "first_year" in table else start
            c.rule(row.build_year >= max(ready, first), f"{where}: online before {max(ready, first)} (lead time)")
        c.le("added >= 0", 0.0, row.added, unit=row.unit, at=where)
    sites = vintages[vintages["family"] == "sites"].groupby("site_id")["added"].sum()
    c.le("a site opens once", sites.to_numpy(), 1.0, unit="site", at="vintages.csv sites", atol=ATOL_UNITS)


def _in_service(build_year: int, year: int, life: float) -> bool:
    return build_year <= year < build_year + life


def _check_standing(scenario: Scenario, t: dict[str, pd.DataFrame], c: Recorder) -> None:
    """What stands each year is the vintages in service less retirements: racks, halls and sites."""
    vintages, retirements, fleet, schedule = t["vintages"], t["retirements"], t["fleet"], t["schedule"]
    chips, f = scenario.tables["chips"], scenario.facility
    years = list(scenario.buildout.planning_years or [])
    racks = vintages[vintages["family"] == "racks"]
    expected: dict[tuple, float] = {}
    for row in racks.itertuples(index=False):
        for year in years:
            if _in_service(row.build_year, year, float(chips.loc[row.item_id, "life_yr"])):
                gone = retirements[
                    (retirements["build_year"] == row.build_year)
                    & (retirements["site_id"] == row.site_id)
                    & (retirements["item_id"] == row.item_id)
                    & (retirements["year"] <= year)
                ]["retired"].sum()
                expected[year, row.site_id, row.item_id, row.build_year] = row.added - gone
    listed = fleet.set_index(["year", "site_id", "chip_id", "build_year"])["racks"].to_dict()
    keys = sorted(set(expected) | set(listed))
    c.eq(
        "fleet.csv racks = added in service - retired",
        [listed.get(k, 0.0) for k in keys],
        [expected.get(k, 0.0) for k in keys],
        unit="racks",
        at="fleet.csv",
        atol=ATOL_UNITS,
    )
    for row in retirements.itertuples(index=False):
        life = float(chips.loc[row.item_id, "life_yr"])
        c.rule(
            row.build_year < row.year and _in_service(row.build_year, row.year, life),
            f"retirements.csv: {row.site_id} {row.item_id} of {row.build_year} retired in {row.year}, outside its life",
        )
    halls = vintages[vintages["family"] == "halls"]
    life = f("facility_life_yr")
    standing = [
        halls[
            (halls["site_id"] == row.site_id) & halls["build_year"].map(lambda v, y=row.year: _in_service(v, y, life))
        ]["added"].sum()
        for row in schedule.itertuples(index=False)
    ]
    c.eq(
        "schedule it_capacity_mw = halls in service",
        schedule["it_capacity_mw"],
        standing,
        unit="MW",
        at=schedule,
        atol=ATOL_UNITS,
    )
    energised = [
        halls[(halls["site_id"] == row.site_id) & (halls["build_year"] == row.year)]["added"].sum()
        for row in schedule.itertuples(index=False)
    ]
    c.eq(
        "schedule it_energised_mw = halls added that year",
        schedule["it_energised_mw"],
        energised,
        unit="MW",
        at=schedule,
        atol=ATOL_UNITS,
    )
    opened = vintages[vintages["family"] == "sites"]
    is_open = [
        float(((opened["site_id"] == row.site_id) & (opened["build_year"] <= row.year)).any())
        for row in schedule.itertuples(index=False)
    ]
    c.eq("schedule open = opened by then", schedule["open"], is_open, unit="site", at=schedule)


def _unit_annuities(scenario: Scenario, family: str, item: str, year: int) -> dict[str, float]:
    """Cost item -> annuity of one unit of ``family`` at ``item`` bought in ``year`` (at that year's
    prices), USD/yr."""
    scenario = _in_year(scenario, year)
    wacc, f = scenario.finance.wacc, scenario.facility
    if family == "racks":
        chips = scenario.tables["chips"]
        price = _stated(scenario.tables["chip_years"], "chip_id", "price_index", year).get(item, 1.0)
        per_rack = chips.loc[item, "chips_per_rack"] * (
            chips.loc[item, "price_usd_per_chip"] * price + chips.loc[item, "system_usd_per_chip"]
        )
        return {"accelerators and systems": per_rack * crf(wacc, chips.loc[item, "life_yr"])}
    if family == "halls":
        cooling = scenario.tables["cooling"].loc[item]
        return {
            "building, power distribution and staff": f("facility_capex_usd_per_kw_it")
            * KW_PER_MW
            * crf(wacc, f("facility_life_yr")),
            "cooling": cooling["capex_usd_per_kw_it"] * KW_PER_MW * crf(wacc, cooling["life_yr"]),
        }
    if family == "sites":
        return {"site development and land": f("site_development_usd") * crf(wacc, f("site_development_life_yr"))}
    if family == "power":
        tech = scenario.tables["power_techs"].loc[item]
        name = "grid connection" if tech["kind"] == "grid" else "generation capacity"
        return {name: tech["capex_usd_per_kw"] * KW_PER_MW * crf(wacc, tech["life_yr"])}
    storage = scenario.tables["storage_techs"].loc[item]
    column = "power_capex_usd_per_kw" if family == "storage_power" else "energy_capex_usd_per_kwh"
    return {"storage": storage[column] * KW_PER_MW * crf(wacc, storage["life_yr"])}


def _life(scenario: Scenario, family: str, item: str) -> float:
    tables, f = scenario.tables, scenario.facility
    return {
        "racks": lambda: float(tables["chips"].loc[item, "life_yr"]),
        "halls": lambda: f("facility_life_yr"),
        "sites": lambda: f("site_development_life_yr"),
        "power": lambda: float(tables["power_techs"].loc[item, "life_yr"]),
    }.get(family, lambda: float(tables["storage_techs"].loc[item, "life_yr"]))()


def _check_annuities(scenario: Scenario, t: dict[str, pd.DataFrame], c: Recorder) -> None:
    """Each year's annuities are those of the vintages in service, each at its build year's price."""
    years = list(scenario.buildout.planning_years or [])
    expected: dict[tuple, float] = {}
    for row in t["vintages"].itertuples(index=False):
        item = "" if pd.isna(row.item_id) else str(row.item_id)
        life = _life(scenario, row.family, item)
        for name, annuity in _unit_annuities(scenario, row.family, item, int(row.build_year)).items():
            for year in years:
                if _in_service(row.build_year, year, life):
                    key = (year, row.site_id, name)
                    expected[key] = expected.get(key, 0.0) + annuity * row.added
    costs = t["costs"]
    listed = costs[costs["kind"] == "annuity"].groupby(["year", "site_id", "item"])["usd_per_yr"].sum().to_dict()
    keys = sorted(set(expected) | set(listed))
    c.eq(
        "costs.csv annuities = vintages in service x annuity at the build year's price",
        [listed.get(k, 0.0) for k in keys],
        [expected.get(k, 0.0) for k in keys],
        unit="USD/yr",
        at="costs.csv",
        atol=ATOL_USD,
    )


def _resale_pv_usd(scenario: Scenario, retirements: pd.DataFrame, end: int) -> float:
    """What selling retired racks recovers, in present value: the resale share of the annuities each
    retired rack still owes from its retirement to the end of its life or of the horizon."""
    rate, start, share = scenario.finance.wacc, scenario.finance.start_year, scenario.buildout.resale_share
    total = 0.0
    for row in retirements.itertuples(index=False):
        annuity = sum(_unit_annuities(scenario, row.family, str(row.item_id), int(row.build_year)).values())
        last = min(int(row.build_year) + math.ceil(_life(scenario, row.family, str(row.item_id))), end)
        owed = sum((1 + rate) ** -(t - start) for t in range(int(row.year), last))
        total += share * annuity * owed * row.retired
    return total


def _check_present_values(scenario: Scenario, t: dict[str, pd.DataFrame], c: Recorder) -> None:
    """Years' costs sum costs.csv; present values and the levelised cost per token follow from them."""
    years, costs, summary = t["years"], t["costs"], t["summary"].iloc[0]
    by_layer = costs.pivot_table(index="year", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_layer = by_layer.reindex(index=years["year"], columns=list(LAYERS)).fillna(0.0)
    for layer in LAYERS:
        c.eq(
            f"{layer}_usd_per_yr = costs.csv",
            years[f"{layer}_usd_per_yr"],
            by_layer[layer].to_numpy(),
            unit="USD/yr",
            at=years,
            atol=ATOL_USD,
        )
    c.eq(
        "cost_usd_per_yr = sum of layers",
        years["cost_usd_per_yr"],
        years[[f"{x}_usd_per_yr" for x in LAYERS]].sum(axis=1),
        unit="USD/yr",
        at=years,
        atol=ATOL_USD,
    )
    weight = years["pv_weight"]
    pv_tokens = float((weight * years["delivered_tokens_per_yr"]).sum())
    pv_cost = float((weight * years["cost_usd_per_yr"]).sum()) - float(summary["pv_resale_usd"])
    c.eq("pv_tokens = sum of weight x delivered", summary["pv_tokens"], pv_tokens, unit="tokens", at="summary")
    c.eq(
        "pv_cost_usd = sum of weight x cost - resale",
        summary["pv_cost_usd"],
        pv_cost,
        unit="USD",
        at="summary",
        atol=ATOL_USD,
    )
    c.eq(
        "levelised_usd_per_mtok = pv_cost / pv Mtok",
        summary["levelised_usd_per_mtok"],
        pv_cost / (pv_tokens / TOKENS_PER_MTOK) if pv_tokens > 0 else math.nan,
        unit="USD/Mtok",
        at="summary",
    )
    layers = sum(float(summary[f"levelised_{x}_usd_per_mtok"]) for x in LAYERS)
    c.eq(
        "layers' levelised $/Mtok sum to the total",
        layers,
        summary["levelised_usd_per_mtok"],
        unit="USD/Mtok",
        at="summary",
    )
    c.eq(
        "pv_resale_usd = resale share x annuities still owed on retired racks",
        summary["pv_resale_usd"],
        _resale_pv_usd(scenario, t["retirements"], int(years["end_year"].iloc[-1])),
        unit="USD",
        at="summary",
        atol=ATOL_USD,
    )
    c.eq(
        "pv_unserved_usd = sum of weight x unserved",
        summary["pv_unserved_usd"],
        float((weight * years["unserved_usd_per_yr"]).sum()),
        unit="USD",
        at="summary",
        atol=ATOL_USD,
    )


#: (name, what it checks, the check) in the order they run
CHECKS = (
    (
        "years",
        "Planning years, their present-value weights, each year's demand, delivery and unserved tokens",
        _check_years,
    ),
    (
        "vintages",
        "Capacity is added only when it can be: chips on sale, halls and plants after their lead times, sites once",
        _check_vintages,
    ),
    (
        "standing",
        "What stands each year (racks by vintage, IT halls, open sites) is the vintages in service less retirements",
        _check_standing,
    ),
    (
        "annuities",
        "Each year's annuities are those of the vintages in service at their build year's price (Type II)",
        _check_annuities,
    ),
    (
        "present values",
        "Years' costs sum costs.csv; present values and the levelised cost per token follow from them",
        _check_present_values,
    ),
)
