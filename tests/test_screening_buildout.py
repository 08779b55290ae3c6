"""Screening over years: each planning year bounded over all candidate sites, the bound a true one.

The cases are the tiny scenario of ``tests/tiny.py`` (one representative day that is the whole year,
flat weather) over two planning years, so the block relaxation of each year is the hourly model with
its integers relaxed and the bounds can be compared with the optimum of every candidate.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.analysis import screening, screening_buildout
from optimizer.analysis.screening import BLOCK_HOURS
from optimizer.analysis.screening_buildout import screened_buildout
from optimizer.cli import app
from optimizer.inputs.scenario import load_scenario
from optimizer.model.buildout import build_buildout
from optimizer.solver import buildout as solver_buildout
from optimizer.solver.milp import solve
from optimizer.verify.buildout import verify_buildout
from tests.test_buildout import growth
from tests.tiny import SITE, write_tiny

#: three candidates: the nearest has the dearest grid, the middle one the cheapest but only 20 MW
SITES = [
    {**SITE, "site_id": "near", "name": "Near", "lat": 32.0, "grid_price_usd_per_mwh": 90.0},
    {**SITE, "site_id": "mid", "name": "Mid", "lat": 32.5, "grid_price_usd_per_mwh": 40.0, "grid_capacity_mw": 20.0},
    {**SITE, "site_id": "far", "name": "Far", "lat": 33.0, "grid_price_usd_per_mwh": 60.0},
]
SOLVER = {"mip_gap": 1e-6, "time_limit_s": 120}


def buildout_case(folder, index_by_year: dict[int, float], **tiny):
    """The three candidates over 2027 and 2028 (horizon to 2029) with demand indexed by year."""
    options = {"buildout": {"planning_years": [2027, 2028], "end_year": 2029}, "solver": SOLVER}
    path = write_tiny(
        folder,
        sites=SITES,
        demand_growth=growth(index_by_year),
        facility={"hall_lead_time_yr": 0.0},
        options={**options, **tiny.pop("options", {})},
        **tiny,
    )
    return load_scenario(path)


def whole_optimum(scenario) -> float:
    """The build-out of every candidate solved as one MILP to the tiny gap."""
    result = solve(build_buildout(scenario), scenario.solver, scenario.objective)
    assert result.status == "optimal"
    return result.cost_musd_per_yr


@pytest.mark.parametrize("index_by_year", [{2027: 1.0, 2028: 1.0}, {2027: 1.0, 2028: 3.0}])
def test_the_bound_over_the_years_holds_for_every_candidate(tmp_path, index_by_year):
    """The years' bounds weighted together lie below the best build-out of all three candidates, and
    the planned sites' build-out above it. Demand tripling in 2028 fills the middle site's 20 MW, so
    the plan must reach past the cheapest site."""
    scenario = buildout_case(tmp_path / "in", index_by_year)
    screened = screened_buildout(scenario)
    optimum = whole_optimum(scenario)
    assert screened.why_no_years_bound == ""
    for bound in (screened.years_bound_musd_per_yr, screened.over_years_bound_musd_per_yr):
        assert bound is not None and bound <= optimum * (1 + 1e-7)
    assert screened.lower_musd_per_yr == max(screened.years_bound_musd_per_yr, screened.over_years_bound_musd_per_yr)
    assert screened.upper_musd_per_yr >= optimum * (1 - 1e-7)
    assert screened.gap == pytest.approx(
        (screened.upper_musd_per_yr - screened.lower_musd_per_yr) / screened.upper_musd_per_yr
    )
    assert set(screened.planned_sites) <= {site["site_id"] for site in SITES}
    assert set(screened.year_bounds_musd_per_yr) == {2027, 2028}
    # every year's demand grows no faster than capacity can be bought at its own price: a tight bound
    assert screened.gap < 0.02


def test_where_an_annuity_rises_only_the_bound_over_the_years_holds(tmp_path):
    """Chips 20 % dearer in 2028 than in 2027: racks bought in 2027 stand in 2028 below 2028's price,
    so a year's own prices no longer bound its share and the years' bound is withheld; the block LP
    over the years keeps each vintage's own price, so its bound holds and proves the plan."""
    prices = [
        {"chip_id": "x", "year": 2027, "price_index": 1.0, "throughput_index": 1.0},
        {"chip_id": "x", "year": 2028, "price_index": 1.2, "throughput_index": 1.0},
    ]
    scenario = buildout_case(tmp_path / "in", {2027: 1.0, 2028: 1.0}, chip_years=prices)
    screened = screened_buildout(scenario)
    assert screened.years_bound_musd_per_yr is None
    assert "annuity rises" in screened.why_no_years_bound
    assert screened.lower_musd_per_yr == screened.over_years_bound_musd_per_yr
    assert screened.lower_musd_per_yr is not None
    assert screened.lower_musd_per_yr <= whole_optimum(scenario) * (1 + 1e-7)
    assert screened.gap < 0.02


def test_perfect_foresight_stops_at_a_plan_within_the_gap_of_the_bound_over_the_years(tmp_path, monkeypatch):
    """Where an annuity rises there is no years' bound; the bound over the years, found before the
    plan, is what lets perfect foresight stop at its myopic start once that is within the 2 % asked:
    the planned sites' own block LP bound is never solved."""
    prices = [
        {"chip_id": "x", "year": 2027, "price_index": 1.0, "throughput_index": 1.0},
        {"chip_id": "x", "year": 2028, "price_index": 1.2, "throughput_index": 1.0},
    ]
    options = {"solver": {**SOLVER, "mip_gap": 0.02}}  # perfect foresight, the default
    scenario = buildout_case(tmp_path / "in", {2027: 1.0, 2028: 1.0}, chip_years=prices, options=options)

    def not_needed(*_):
        raise AssertionError("the block LP bound of the planned sites was solved")

    monkeypatch.setattr(solver_buildout, "block_lp_bound", not_needed)
    screened = screened_buildout(scenario)
    assert screened.years_bound_musd_per_yr is None
    assert [year for year, _ in screened.result.steps] == [2027, 2028]  # the myopic start is the plan
    assert screened.outcome.result.status == "optimal" and screened.gap <= 0.02


def test_the_bound_over_the_years_prices_every_other_candidate(tmp_path):
    """With only the dearest site planned, the block LP of its build-out alone is no bound of the
    best build-out (the cheaper sites would serve for less); the others' reduced costs over the
    years bring it below the optimum of all three candidates, and equal to their block LP."""
    scenario = buildout_case(
        tmp_path / "in", {2027: 1.0, 2028: 3.0}, options={"objective": {"unserved_usd_per_mtok": 50.0}}
    )
    optimum = whole_optimum(scenario)
    near_only = screening_buildout.over_years_master_lp(scenario, ["near"], BLOCK_HOURS, 60).cost_musd_per_yr
    bound = screening_buildout.bound_over_years(scenario, ["near"], ["mid", "far"], BLOCK_HOURS, 60)
    every_site = screening_buildout.bound_over_years(scenario, ["near", "mid", "far"], [], BLOCK_HOURS, 60)
    assert near_only > optimum * (1 + 1e-3)
    assert bound is not None and every_site is not None
    assert bound <= every_site * (1 + 1e-9) and every_site <= optimum * (1 + 1e-7)


def test_the_command_line_screens_a_build_out_and_reports_the_gap_over_all_candidates(tmp_path, monkeypatch):
    """`aifactory solve --screen` on a build-out that prices unserved demand, with one site shortlisted
    at first so the others are priced: the plan is written verified, and its summary carries the
    bound and gap over all three candidates, not the planned sites' own."""
    monkeypatch.setattr(screening, "FIRST_SHORTLIST_SITES", 1)
    monkeypatch.setattr(screening, "FIRST_SITES_PER_DEMAND", 1)
    options = {"objective": {"unserved_usd_per_mtok": 50.0}, "solver": {"mip_gap": 0.05, "time_limit_s": 120}}
    scenario = buildout_case(tmp_path / "in", {2027: 1.0, 2028: 3.0}, options=options)
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario.source), "--out", str(out), "--screen"])
    assert result.exit_code == 0, result.output
    assert "screened 3 candidate sites in 2 planning years" in " ".join(result.output.split())
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    screened = screened_buildout(scenario)
    assert summary["mip_gap"] == pytest.approx(screened.gap, abs=1e-9)
    assert summary["status"] == "optimal" and summary["mip_gap"] <= scenario.solver.mip_gap
    assert verify_buildout(out).ok
