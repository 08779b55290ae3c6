"""Screening a long list of sites: the block relaxation is a relaxation, and the proven gap is true.

The hand cases use tests/tiny.py: one representative day, so every number is checkable. A solar
day makes the blocks matter: within a 4-hour block the relaxation may spread the sun's average
over hours it did not shine, so it can only be cheaper than the hourly model, never dearer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.analysis import screening
from optimizer.analysis.screening import (
    BLOCK_HOURS,
    block_relaxation,
    bound_all_sites,
    covering_shortlist,
    master_lp,
    price_sites,
    screened_solve,
)
from optimizer.constants import TOKENS_PER_PTOK
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.solver.milp import solve
from optimizer.solver.session import SolverSession
from tests.tiny import GRID, REGION, SITE, TOKENS_PER_RACK_YR, WORKLOAD, write_tiny

SOLAR = {
    **GRID,
    "tech_id": "solar",
    "name": "Solar",
    "kind": "solar",
    "capex_usd_per_kw": 700.0,
    "life_yr": 30.0,
    "lead_time_yr": 1.0,
    "land_acres_per_mw": 0.0,
}
SOLAR_DAY = np.clip(np.sin(np.pi * (np.arange(24) - 6) / 12), 0.0, None)
#: three sites in a row from the region: the nearest has the dearest grid
SITES = [
    {**SITE, "site_id": "near", "name": "Near", "lat": 32.0, "grid_price_usd_per_mwh": 90.0},
    {**SITE, "site_id": "mid", "name": "Mid", "lat": 32.5, "grid_price_usd_per_mwh": 40.0, "grid_capacity_mw": 20.0},
    {**SITE, "site_id": "far", "name": "Far", "lat": 33.0, "grid_price_usd_per_mwh": 60.0},
]


def cost(scenario) -> float:
    return solve(build_model(scenario), scenario.solver, scenario.objective).cost_musd_per_yr


def tiny(tmp_path: Path, **kwargs):
    options = {"solver": {"mip_gap": 1e-6, "time_limit_s": 60}}
    demand = [{"region_id": REGION["region_id"], "workload_id": "chat", "tokens_per_yr": 300 * TOKENS_PER_RACK_YR}]
    return load_scenario(write_tiny(tmp_path / "in", demand=demand, options=options, **kwargs))


def test_block_relaxation_of_flat_hours_is_the_hourly_model(tmp_path):
    """Hours alike within each block (flat weather, flat prices): nothing to relax, same optimum."""
    scenario = tiny(tmp_path)
    relaxed = block_relaxation(scenario)
    assert len(relaxed.tables["slices"]) == 6 and relaxed.tables["slices"]["weight_h"].sum() == pytest.approx(8760)
    assert cost(relaxed) == pytest.approx(cost(scenario), rel=1e-9)


def test_block_relaxation_is_never_dearer_than_the_hours(tmp_path):
    """Sun and storage: the blocks may only make energy cheaper, and by less than the solar share."""
    scenario = tiny(tmp_path, techs=[GRID, SOLAR], hourly={"solar_cf": SOLAR_DAY}, temps=(10.0, 30.0))
    hourly, relaxed = cost(scenario), cost(block_relaxation(scenario))
    assert relaxed <= hourly * (1 + 1e-9)
    assert relaxed >= 0.95 * hourly  # energy is a small share of the cost; chips are the same in both


def test_block_profiles_average_resources_and_take_the_coolest_hour(tmp_path):
    scenario = tiny(tmp_path, techs=[GRID, SOLAR], hourly={"solar_cf": SOLAR_DAY}, temps=(10.0, 30.0))
    profiles = block_relaxation(scenario).tables["profiles"]
    midday = profiles.xs(3, level="slice_id").iloc[0]  # hours 12-15 of the one day
    assert midday["solar_cf"] == pytest.approx(SOLAR_DAY[12:16].mean())
    assert midday["temp_c"] == pytest.approx(30.0)  # the second half of the day is at 30 C
    morning = profiles.xs(1, level="slice_id").iloc[0]  # hours 4-7
    assert morning["temp_c"] == pytest.approx(10.0)


def test_restricted_sites_keep_the_full_scenarios_representative_days(tmp_path):
    scenario = tiny(tmp_path, sites=SITES, regions=[{**REGION, "lat": 32.0}])
    restricted = scenario.with_sites(["mid"])
    assert list(restricted.tables["sites"].index) == ["mid"]
    pd.testing.assert_frame_equal(restricted.tables["slices"], scenario.tables["slices"])
    pd.testing.assert_frame_equal(restricted.tables["profiles"], scenario.tables["profiles"].loc[["mid"]])
    # the scenario copy a screened plan writes must describe only its sites, or its own check fails
    assert set(restricted.aggregation_error["site_id"]) == {"mid"}
    assert set(scenario.aggregation_error["site_id"]) == {site["site_id"] for site in SITES}


def test_screened_gap_brackets_the_full_optimum(tmp_path, monkeypatch):
    """Lower bound <= the full MILP's optimum <= the screened plan, and the gap says how far apart.

    The first shortlist is the greedy ranking's best site alone, so the other two are priced.
    """
    monkeypatch.setattr(screening, "FIRST_SHORTLIST_SITES", 1)
    monkeypatch.setattr(screening, "FIRST_SITES_PER_DEMAND", 1)
    scenario = tiny(tmp_path, sites=SITES, regions=[{**REGION, "lat": 32.0}])
    full = cost(scenario)
    screened = screened_solve(scenario)
    assert screened.lower_musd_per_yr <= full * (1 + 1e-9)
    assert screened.upper_musd_per_yr >= full * (1 - 1e-9)
    assert screened.gap == pytest.approx(
        (screened.upper_musd_per_yr - screened.lower_musd_per_yr) / screened.upper_musd_per_yr
    )
    assert screened.candidate_sites == 3 and set(screened.planned_sites) <= {"near", "mid", "far"}


def test_pricing_rounds_reach_the_relaxation_of_all_sites(tmp_path, monkeypatch):
    """Starting from one site, column generation ends at the block relaxation of all three sites;
    at every round the Lagrangian bound is below it, since it bounds that relaxation too."""
    monkeypatch.setattr(screening, "FIRST_SHORTLIST_SITES", 1)
    monkeypatch.setattr(screening, "FIRST_SITES_PER_DEMAND", 1)
    monkeypatch.setattr(screening, "PRICING_TOLERANCE", 1e-9)
    scenario = tiny(
        tmp_path,
        sites=SITES,
        regions=[{**REGION, "lat": 32.0}],
        techs=[GRID, SOLAR],
        hourly={"solar_cf": SOLAR_DAY},
        temps=(10.0, 30.0),
    )
    all_sites = master_lp(scenario, ["near", "mid", "far"], BLOCK_HOURS, 60).cost_musd_per_yr
    first = master_lp(scenario, ["mid"], BLOCK_HOURS, 60)
    priced = price_sites(scenario, ["near", "far"], first.prices_musd_per_ptok, BLOCK_HOURS, 60)
    assert first.cost_musd_per_yr + priced.reduced_cost_musd_per_yr.sum() <= all_sites * (1 + 1e-9)
    assert (priced.reduced_cost_musd_per_yr <= 0).all()
    master, pricing, chosen, rounds = bound_all_sites(scenario, BLOCK_HOURS, 60)
    assert master.cost_musd_per_yr + pricing.reduced_cost_musd_per_yr.sum() == pytest.approx(all_sites, rel=1e-6)
    assert rounds >= 1 and set(chosen) <= {"near", "mid", "far"}


def test_a_round_out_of_time_falls_back_on_the_round_before_it(tmp_path, monkeypatch):
    """Every round's bound holds, so a second round whose pricing runs out of time returns the first
    round's bound; a first round out of time has nothing to fall back on and says so."""
    monkeypatch.setattr(screening, "FIRST_SHORTLIST_SITES", 1)
    monkeypatch.setattr(screening, "FIRST_SITES_PER_DEMAND", 1)
    monkeypatch.setattr(screening, "PRICING_TOLERANCE", 1e-9)
    scenario = tiny(tmp_path, sites=SITES, regions=[{**REGION, "lat": 32.0}])
    first = master_lp(scenario, ["mid"], BLOCK_HOURS, 60)
    first_bound = (
        first.cost_musd_per_yr
        + price_sites(
            scenario, ["near", "far"], first.prices_musd_per_ptok, BLOCK_HOURS, 60
        ).reduced_cost_musd_per_yr.sum()
    )
    real_price = screening.SitePricer.price
    calls = []

    def price_then_run_out(self, prices, time_limit_s, progress=None):
        calls.append(len(self.sites))
        if len(calls) > allowed_rounds:
            raise screening.LPOutOfTime("the site pricing LP did not solve to optimality in 1 s")
        return real_price(self, prices, time_limit_s, progress)

    monkeypatch.setattr(screening.SitePricer, "price", price_then_run_out)
    allowed_rounds = 1
    master, pricing, chosen, rounds = bound_all_sites(scenario, BLOCK_HOURS, 60)
    assert rounds == 1 and chosen == ["mid"] and len(calls) == 2
    assert master.cost_musd_per_yr + pricing.reduced_cost_musd_per_yr.sum() == pytest.approx(first_bound, rel=1e-9)
    allowed_rounds, calls[:] = 0, []
    with pytest.raises(screening.LPOutOfTime, match="did not solve to optimality"):
        bound_all_sites(scenario, BLOCK_HOURS, 60)


def test_a_site_serving_its_regions_whole_demand_pays_its_fixed_costs_in_the_relaxation(tmp_path):
    """One site, 300 racks' demand on land for far more: without the route-to-build link the LP
    would build 300 racks' share of the site; with it, the site is built whole, as in the MILP."""
    scenario = tiny(tmp_path)
    relaxed = master_lp(scenario, [SITE["site_id"]], BLOCK_HOURS, 60)
    assert relaxed.build[SITE["site_id"]] == pytest.approx(1.0)


def test_the_first_shortlist_covers_each_demand_with_as_many_sites_as_asked(tmp_path):
    """All three sites reach the region: asking for two per demand adds the next-ranked one; a
    far region only one site reaches gets that one, however many are asked for."""
    regions = [{**REGION, "lat": 32.0}, {**REGION, "region_id": "north", "name": "North", "lat": 45.0}]
    demand = [
        {"region_id": r["region_id"], "workload_id": "chat", "tokens_per_yr": 10 * TOKENS_PER_RACK_YR} for r in regions
    ]
    sites = [*SITES, {**SITE, "site_id": "north_site", "name": "North site", "state": "SD", "lat": 45.0}]
    # 20 ms round trip: about 1,200 km at 200 km/ms over routes 1.5x the great circle
    workloads = [{**WORKLOAD, "latency_budget_ms": 20.0}]
    scenario = load_scenario(
        write_tiny(tmp_path / "in", sites=sites, regions=regions, demand=demand, workloads=workloads)
    )
    ranked = ["mid", "far", "near", "north_site"]
    reach = DerivedInputs(scenario).reach
    assert reach.loc["north_site"].tolist() == [False, True]
    assert reach.loc[["mid", "far", "near"]].to_numpy().tolist() == [[True, False]] * 3
    assert covering_shortlist(scenario, ranked, 1, per_demand=1) == ["mid", "north_site"]
    assert covering_shortlist(scenario, ranked, 1, per_demand=2) == ["mid", "far", "north_site"]
    assert covering_shortlist(scenario, ranked, 1, per_demand=5) == ["mid", "far", "near", "north_site"]


def test_the_planning_milp_stops_at_a_good_enough_plan_and_only_there(tmp_path):
    """A target above every plan stops HiGHS at its first plan (a plan all the same); a target
    below the optimum is never reached, so the solve runs to the optimum as without one."""
    scenario = tiny(tmp_path, sites=SITES, regions=[{**REGION, "lat": 32.0}])
    best = solve(build_model(scenario), scenario.solver, scenario.objective)
    first = solve(
        build_model(scenario), scenario.solver, scenario.objective, good_enough_musd_per_yr=10 * best.cost_musd_per_yr
    )
    assert first.highs_status == "kObjectiveTarget" and first.status == "optimal"
    assert first.cost_musd_per_yr >= best.cost_musd_per_yr * (1 - 1e-9)
    unreachable = solve(
        build_model(scenario), scenario.solver, scenario.objective, good_enough_musd_per_yr=0.5 * best.cost_musd_per_yr
    )
    assert unreachable.highs_status == "kOptimal"
    assert unreachable.cost_musd_per_yr == pytest.approx(best.cost_musd_per_yr, rel=1e-6)


def test_cli_solve_screen_writes_a_plan_with_its_gap_over_all_candidates(tmp_path, monkeypatch):
    """`aifactory solve --screen` on three candidates, one shortlisted at first: the summary's
    lower bound is the bound over all three, its gap is the plan's distance from it, and the
    folder re-verifies."""
    from typer.testing import CliRunner

    from optimizer.cli import app

    monkeypatch.setattr(screening, "FIRST_SHORTLIST_SITES", 1)
    monkeypatch.setattr(screening, "FIRST_SITES_PER_DEMAND", 1)
    path = write_tiny(
        tmp_path / "in",
        sites=SITES,
        regions=[{**REGION, "lat": 32.0}],
        options={"solver": {"mip_gap": 1e-6, "time_limit_s": 60}},
    )
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(out), "--screen"])
    assert result.exit_code == 0, result.output
    assert "screened 3 candidate sites" in result.output
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    full = cost(load_scenario(path)) * 1e6
    assert summary["cost_lower_bound_usd_per_yr"] <= full * (1 + 1e-9) <= summary["total_cost_usd_per_yr"] * (1 + 2e-9)
    assert summary["mip_gap"] == pytest.approx(
        (summary["total_cost_usd_per_yr"] - summary["cost_lower_bound_usd_per_yr"]) / summary["total_cost_usd_per_yr"],
        rel=1e-6,
        abs=1e-9,
    )
    assert CliRunner().invoke(app, ["verify", str(out)]).exit_code == 0


def test_screening_keeps_the_scenario_s_own_price_of_unserved_demand(tmp_path):
    """One year, grids too small for the demand, unserved demand bought at 2 USD/Mtok: the bound over
    all candidates must price the shortfall at 2 USD/Mtok too, not at screening's own penalty for a
    shortlist short of capacity (10 USD/Mtok), or it would lie above the optimum."""
    small = [{**site, "grid_capacity_mw": 2.0} for site in SITES]
    options = {"objective": {"unserved_usd_per_mtok": 2.0}, "solver": {"mip_gap": 1e-6, "time_limit_s": 60}}
    scenario = load_scenario(write_tiny(tmp_path / "in", sites=small, options=options))
    result = solve(build_model(scenario), scenario.solver, scenario.objective)
    optimum = result.cost_musd_per_yr
    assert 0 < result.delivered_ptok_per_yr < scenario.tables["demand"]["tokens_per_yr"].sum() / TOKENS_PER_PTOK
    plan = screened_solve(scenario)
    assert plan.lower_musd_per_yr <= optimum * (1 + 1e-7)
    assert plan.upper_musd_per_yr == pytest.approx(optimum, rel=1e-4)


def test_a_pricing_lp_whose_rows_join_sites_is_refused(tmp_path):
    """A carbon cap is one row over every site: left in a pricing LP, the sites' reduced costs would
    no longer add up, so the batch is refused and says which row joins them; left out (as pricing
    does), the batch falls apart by site."""
    options = {"constraints": {"carbon_cap_t_per_yr": 1000.0}, "solver": {"mip_gap": 1e-6, "time_limit_s": 60}}
    scenario = load_scenario(write_tiny(tmp_path / "in", sites=SITES, options=options))
    fm = build_model(block_relaxation(scenario, BLOCK_HOURS))
    fm.applications.demand_rows.deactivate()
    session = SolverSession.compile(fm, scenario.solver, relaxed=True)
    with pytest.raises(RuntimeError, match=r"site pricing: 1 rows join sites \(the first: .*carbon"):
        screening.batch_of(session, list(scenario.tables["sites"].index), [], "site pricing")
    batch = screening.pricing_batch(scenario, list(scenario.tables["sites"].index), BLOCK_HOURS, None)
    assert set(batch.site_of) == {0, 1, 2}
