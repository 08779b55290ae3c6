"""A plan that holds in every hour of the year: peak power sized on the full year, and the full-year
re-check of a plan's design, each against a hand calculation on a tiny scenario.

The scenarios are those of ``tests/tiny.py``: 10 MW of IT (100 racks of 100 kW) on grid power at
50 $/MWh. Air cooling runs at PUE 1.3 up to 18 C and at 1.3 + 1/COP 4 = 1.55 above (no evaporative
stage). Every day is at 10 C but one, whose afternoon (hours 12-23) is at 30 C: one typical day
stands for the year, so that hot afternoon lies outside the representative days.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimizer.constants import TOKENS_PER_MTOK
from optimizer.inputs.profiles import peak_hours
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.fullyear import check_full_year, full_year_warning, summary_columns
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve
from tests.test_model_analytic import GAS_ENGINE
from tests.tiny import CLEAN_FIRM, COOLING, GRID, HOURS_PER_DAY, HOURS_PER_YEAR, SITE, TOKENS_PER_RACK_YR, write_tiny

RACKS, IT_MW = 100, 10.0
COOL_PUE, HOT_PUE = 1.3, 1.55
#: the tiny scenarios' own liquid cooling: free cooling in any weather
LIQUID_PUE = 1.1
HOT_DAY, HOT_HOURS = 200, np.arange(12, 24)
GRID_USD_PER_MWH = 50.0
AIR = {**COOLING, "cooling_id": "air", "power_overhead": 0.3, "free_cooling_max_drybulb_c": 18.0}


def _one_hot_afternoon() -> np.ndarray:
    temps = np.full(HOURS_PER_YEAR, 10.0)
    temps[HOT_DAY * HOURS_PER_DAY + HOT_HOURS] = 30.0
    return temps


def _hot_afternoon_scenario(folder, **tiny):
    temps = _one_hot_afternoon()
    return load_scenario(write_tiny(folder, cooling=[AIR], hourly={"temp_c": temps, "wetbulb_c": temps - 8.0}, **tiny))


def _solved(scenario, with_peak_rows: bool = True):
    fm = build_model(scenario)
    if not with_peak_rows:
        fm.model.balance_peak_power_mw.deactivate()
    return fm, solve(fm, scenario.solver, scenario.objective)


def test_peak_hours_keep_only_hours_no_other_hour_dominates():
    """Hour 0 (hot, sunny) and hour 1 (a little cooler, no sun) both may set the peak; hour 2 needs
    less than hour 0 (cooler, sunnier, windier), hour 4 less than hour 1; hour 3 is calm."""
    index = [("a", h) for h in range(5)]
    pue = pd.DataFrame(
        {"air": [1.5, 1.4, 1.45, 1.2, 1.3]}, index=pd.MultiIndex.from_tuples(index, names=["site_id", "hour"])
    )
    weather = pd.DataFrame(
        {"solar_cf": [0.8, 0.0, 0.9, 0.0, 0.0], "wind_cf": [0.1, 0.1, 0.2, 0.0, 0.1]}, index=pue.index
    )
    kept = peak_hours(pue, weather)
    assert list(kept.index.get_level_values("hour")) == [0, 1, 3]
    assert kept.loc[("a", "air", 1), "pue"] == pytest.approx(1.4)


def test_grid_carries_the_sites_own_hottest_hour_outside_the_representative_days(tmp_path):
    """The representative day never exceeds PUE 1.3, yet the grid is sized for 10 MW x 1.55."""
    scenario = _hot_afternoon_scenario(tmp_path)
    assert scenario.tables["profiles"]["temp_c"].max() == pytest.approx(10.0)
    plan = build_plan(*_solved(scenario))
    grid_mw = plan.tables["power"].set_index("tech_id").loc["grid", "capacity_mw"]
    assert grid_mw == pytest.approx(IT_MW * HOT_PUE)
    site = plan.tables["sites"].iloc[0]
    assert site["peak_facility_mw"] == pytest.approx(IT_MW * COOL_PUE)
    assert (site["representative_peak_pue"], site["full_year_peak_pue"]) == pytest.approx((COOL_PUE, HOT_PUE))
    assert plan.summary["full_year_unserved_mwh_per_yr"] == 0.0


def test_bridge_plants_carry_the_hottest_hour_until_the_grid_arrives(tmp_path):
    """The grid arrives in 2030, online by 2027: the gas engine alone must carry 10 MW x 1.55."""
    late = {**SITE, "grid_online_year": 2030}
    scenario = _hot_afternoon_scenario(
        tmp_path, sites=[late], techs=[GRID, GAS_ENGINE], options={"constraints": {"online_by_year": 2027}}
    )
    plan = build_plan(*_solved(scenario))
    engine_mw = plan.tables["power"].set_index("tech_id").loc["engine", "capacity_mw"]
    assert engine_mw == pytest.approx(IT_MW * HOT_PUE)
    assert plan.summary["full_year_unserved_mwh_per_yr"] == 0.0


def test_full_year_recheck_costs_the_hot_afternoon_by_hand(tmp_path):
    """Grid energy of the year: 50 $/MWh x 10 MW x (8760 h x 1.3 + 12 h x 0.25); the representative
    day costs 8760 h x 1.3. Every other cost item is the design's, the same in both."""
    plan = build_plan(*_solved(_hot_afternoon_scenario(tmp_path)))
    s = plan.summary
    extra_usd = GRID_USD_PER_MWH * IT_MW * len(HOT_HOURS) * (HOT_PUE - COOL_PUE)
    assert s["full_year_total_cost_usd_per_yr"] == pytest.approx(s["total_cost_usd_per_yr"] + extra_usd, rel=1e-9)
    mtok = s["delivered_tokens_per_yr"] / TOKENS_PER_MTOK
    assert s["full_year_delivered_tokens_per_yr"] == pytest.approx(s["delivered_tokens_per_yr"], rel=1e-12)
    assert s["full_year_energy_usd_per_mtok"] == pytest.approx(s["energy_usd_per_mtok"] + extra_usd / mtok, rel=1e-9)
    assert s["full_year_chips_usd_per_mtok"] == pytest.approx(s["chips_usd_per_mtok"], rel=1e-12)
    expected_pct = 100.0 * (s["total_cost_usd_per_yr"] / (s["total_cost_usd_per_yr"] + extra_usd) - 1.0)
    assert s["representative_error_pct"] == pytest.approx(expected_pct, rel=1e-6)
    assert s["representative_energy_error_pct"] < 0 and s["representative_chips_error_pct"] == pytest.approx(0.0)


def test_a_design_sized_on_representative_days_alone_reports_its_unserved_hours(tmp_path):
    """Without the peak rows the grid is 13 MW: the hot afternoon leaves 2.5 MW unserved for 12 h,
    and the IT load shed meanwhile (2.5 / 1.55 MW) loses its tokens."""
    fm, _ = _solved(_hot_afternoon_scenario(tmp_path), with_peak_rows=False)
    assert fm.model.capacity_mw["a", "grid"].value == pytest.approx(IT_MW * COOL_PUE)
    check = check_full_year(fm)
    site = check.sites.iloc[0]
    short_mw = IT_MW * (HOT_PUE - COOL_PUE)
    assert site["unserved_mwh_per_yr"] == pytest.approx(len(HOT_HOURS) * short_mw)
    assert site["unserved_hours_per_yr"] == len(HOT_HOURS)
    it_lost_mwh = len(HOT_HOURS) * short_mw / HOT_PUE
    assert site["it_served_share"] == pytest.approx(1.0 - it_lost_mwh / (IT_MW * HOURS_PER_YEAR))
    # the energy not served is not bought: the year costs less energy but delivers fewer tokens
    assert site["grid_energy_usd_per_yr"] == pytest.approx(GRID_USD_PER_MWH * IT_MW * COOL_PUE * HOURS_PER_YEAR)
    tokens = RACKS * TOKENS_PER_RACK_YR
    # one cost item that follows the design: its $/Mtok rises by the tokens lost
    racks_usd = 1e6
    costs = pd.DataFrame([{"site_id": "a", "layer": "chips", "item": "racks", "usd_per_yr": racks_usd}])
    summary = pd.Series(summary_columns(check, costs, pd.Series({"a": tokens})))
    assert summary["full_year_delivered_tokens_per_yr"] == pytest.approx(tokens * site["it_served_share"])
    assert summary["representative_chips_error_pct"] == pytest.approx(100.0 * (site["it_served_share"] - 1.0))
    summary["usd_per_mtok"] = racks_usd / (tokens / TOKENS_PER_MTOK)
    assert "cannot carry 30 MWh/yr" in full_year_warning(summary)


def test_storage_recheck_reproduces_the_days_it_was_planned_on(tmp_path):
    """The storage case of test_model_analytic (grid at 10 $/MWh on even days, 5000 $/MWh on odd
    days): the two representative days are the year, so the full-year LP buys exactly what the
    model bought: 183 cheap days of 11 MW plus 182 dear days of 11 MW through the battery at 85 %."""
    day = np.arange(HOURS_PER_YEAR) // HOURS_PER_DAY
    price = np.where(day % 2 == 0, 10.0, 5000.0)
    path = write_tiny(tmp_path, hourly={"grid_price_usd_per_mwh": price}, options={"time": {"representative_days": 2}})
    plan = build_plan(*_solved(load_scenario(path)))
    facility_mw = IT_MW * LIQUID_PUE
    bought_mwh = HOURS_PER_DAY * facility_mw * (183 + 182 / 0.85)
    s = plan.summary
    grid_energy = plan.tables["costs"].query("item == 'grid energy'")["usd_per_yr"].sum()
    assert grid_energy == pytest.approx(10.0 * bought_mwh, rel=1e-6)
    assert s["full_year_total_cost_usd_per_yr"] == pytest.approx(s["total_cost_usd_per_yr"], rel=1e-6)
    assert s["full_year_unserved_mwh_per_yr"] == 0.0
    assert math.isclose(s["representative_error_pct"], 0.0, abs_tol=1e-4)
    assert full_year_warning(s) is None


def test_carbon_free_share_and_bridge_years_recheck_reproduces_the_model(tmp_path):
    """The grid arrives in 2030, online by 2027, 70 % carbon-free every hour: a gas engine and a clean
    firm plant carry the bridge years, the grid and the clean plant the grid years. Every day is alike,
    so the full-year LP (carbon-free rows, both regimes weighted) must cost and emit what the model did."""
    late = {**SITE, "grid_online_year": 2030}
    firm = CLEAN_FIRM
    options = {"constraints": {"cfe_share": 0.7, "online_by_year": 2027}}
    plan = build_plan(
        *_solved(load_scenario(write_tiny(tmp_path, sites=[late], techs=[GRID, GAS_ENGINE, firm], options=options)))
    )
    s = plan.summary
    assert plan.tables["sites"].loc[0, "bridge_share"] > 0
    assert s["full_year_total_cost_usd_per_yr"] == pytest.approx(s["total_cost_usd_per_yr"], rel=1e-6)
    assert s["full_year_emissions_t_per_yr"] == pytest.approx(s["emissions_t_per_yr"], rel=1e-6)
    assert (s["full_year_unserved_mwh_per_yr"], s["full_year_cfe_shortfall_mwh_per_yr"]) == (0.0, 0.0)
