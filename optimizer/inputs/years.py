"""Planning years of a build-out and each year's one-year scenario (see ``docs/BUILDOUT.md``).

A planning year y stands for the calendar years from y to the next planning year (the last one: to
``buildout.end_year``). :func:`year_scenario` gives the one-year scenario of y: what may stand in y
(``online_by_year = y``), over the years y stands for (``horizon_yr``, so a grid arriving inside the
period is bridged for that part of it), with y's demand and chip prices and throughput.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from optimizer.inputs.errors import ScenarioError
from optimizer.inputs.scenario import BuildoutOptions, Scenario


@dataclass(frozen=True)
class PlanningYear:
    """One planning year and the calendar years it stands for."""

    year: int
    end: int
    """the first calendar year after those it stands for"""
    pv_weight: float
    """sum over its calendar years t of (1 + WACC)^-(t - start_year): its weight in present value"""

    @property
    def years(self) -> int:
        """How many calendar years it stands for."""
        return self.end - self.year


def pv_weight(scenario: Scenario, first: int, end: int) -> float:
    """Present value of 1 M$ a year paid in each calendar year from ``first`` to before ``end``:
    the sum of (1 + WACC)^-(t - start_year)."""
    rate, start = scenario.finance.wacc, scenario.finance.start_year
    return float(sum((1.0 + rate) ** -(t - start) for t in range(first, end)))


def planning_years(scenario: Scenario) -> list[PlanningYear]:
    """The scenario's planning years with their periods and present-value weights (none: one-year model)."""
    options = scenario.buildout
    if options.planning_years is None:
        return []
    years = list(options.planning_years)
    ends = [*years[1:], options.end_year if options.end_year is not None else years[-1] + 1]
    return [PlanningYear(year, end, pv_weight(scenario, year, end)) for year, end in zip(years, ends, strict=True)]


def _indexed(table: pd.DataFrame, key: str, column: str, year: int) -> dict[str, float]:
    """Each key's index in ``year``: linear between the stated years, the nearest stated value outside."""
    out = {}
    for name, rows in table.groupby(level=key):
        stated = rows[column].droplevel(key).sort_index()
        out[str(name)] = float(np.interp(year, stated.index.to_numpy(dtype=float), stated.to_numpy(dtype=float)))
    return out


def demand_index(scenario: Scenario, year: int) -> dict[str, float]:
    """Each workload's demand in ``year`` as a multiple of demand.csv (demand_growth.csv).

    Without demand_growth.csv (no rows) demand stays at demand.csv in every year. Otherwise demand
    drives the whole plan, so it is never extrapolated: a workload with demand needs stated indices
    on both sides of every planning year (or at the year itself).
    """
    growth = scenario.tables["demand_growth"]
    if growth.empty:
        return {}
    demand = scenario.tables["demand"]["tokens_per_yr"]
    needed = sorted(set(demand[demand > 0].index.get_level_values("workload_id")))
    where = scenario.table_files.get("demand_growth", "demand_growth.csv")
    stated = growth.groupby(level="workload_id")
    years_of = {str(w): rows.index.get_level_values("year") for w, rows in stated}
    for workload in needed:
        years = years_of.get(workload)
        if years is None:
            raise ScenarioError(
                f"{where}: workload '{workload}' has demand (demand.csv) but no demand_index row; a build-out "
                f"needs its demand in every planning year"
            )
        if not years.min() <= year <= years.max():
            raise ScenarioError(
                f"{where}: workload '{workload}': demand_index is stated for {years.min()}..{years.max()}, "
                f"not for the planning year {year} (demand is not extrapolated)"
            )
    return _indexed(growth, "workload_id", "demand_index", year)


def chip_indices(scenario: Scenario, year: int) -> tuple[dict[str, float], dict[str, float]]:
    """Each SKU's price and throughput index in ``year`` (chip_years.csv; 1 for an SKU without rows,
    the nearest stated value outside its stated years)."""
    table = scenario.tables["chip_years"]
    return _indexed(table, "chip_id", "price_index", year), _indexed(table, "chip_id", "throughput_index", year)


def year_scenario(scenario: Scenario, period: PlanningYear) -> Scenario:
    """The one-year scenario of a planning year: what may stand in it, its demand, chip prices and
    throughput, and the ``by_year`` changes made by then, over the calendar years it stands for."""
    scenario = scenario.changed_in(period.year)
    tables = dict(scenario.tables)
    demand = tables["demand"].copy()
    workload_index = demand_index(scenario, period.year)
    workloads = demand.index.get_level_values("workload_id")
    demand["tokens_per_yr"] = demand["tokens_per_yr"] * workloads.map(lambda w: workload_index.get(w, 1.0)).to_numpy()
    tables["demand"] = demand
    price, throughput = chip_indices(scenario, period.year)
    chips = tables["chips"].copy()
    chips["price_usd_per_chip"] = chips["price_usd_per_chip"] * chips.index.map(lambda c: price.get(c, 1.0)).to_numpy()
    tables["chips"] = chips
    rates = tables["chip_throughput"].copy()
    skus = rates.index.get_level_values("chip_id")
    rates["tokens_per_s_per_chip"] = (
        rates["tokens_per_s_per_chip"] * skus.map(lambda c: throughput.get(c, 1.0)).to_numpy()
    )
    tables["chip_throughput"] = rates
    return replace(
        scenario,
        name=f"{scenario.name} {period.year}",
        tables=tables,
        finance=replace(scenario.finance, horizon_yr=float(period.years)),
        constraints=replace(scenario.constraints, online_by_year=period.year),
        buildout=BuildoutOptions(),
        by_year=[],
    )
