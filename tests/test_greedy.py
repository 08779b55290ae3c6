"""The planner's spreadsheet (greedy baseline) on tiny cases worked out by hand, and against the MILP."""

from __future__ import annotations

import math

import pytest

from optimizer.constants import usd_per_mtok
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.greedy import GreedyError, evaluate_greedy, greedy_choice
from optimizer.solver.milp import solve
from optimizer.verify import verify_plan
from tests.tiny import CHIP, GRID, SITE, TOKENS_PER_RACK_YR, write_tiny

WACC = 0.08
#: site b: same place, land and costs as a, dearer grid power
SITE_B = {**SITE, "site_id": "b", "name": "Site B", "grid_price_usd_per_mwh": 80.0}
#: gas engines that can bridge a late grid
ENGINE = {
    "tech_id": "engine",
    "name": "Engine",
    "kind": "thermal",
    "unit_size_mw": 1.0,
    "capex_usd_per_kw": 1000.0,
    "fom_usd_per_kw_yr": 0.0,
    "vom_usd_per_mwh": 5.0,
    "heat_rate_btu_per_kwh": 8000.0,
    "fuel": "gas",
    "fuel_price_usd_per_mmbtu": None,
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "lead_time_yr": 1.0,
    "first_year": 2026,
    "land_acres_per_mw": 0.0,
    "availability": 1.0,
}


def _crf(r: float, n: float) -> float:
    return r * (1 + r) ** n / ((1 + r) ** n - 1)


def _milp_usd_per_mtok(scenario) -> float:
    fm = build_model(scenario)
    result = solve(fm, scenario.solver, scenario.objective)
    return usd_per_mtok(result.cost_musd_per_yr, result.delivered_ptok_per_yr)


def _greedy_and_milp(path):
    scenario = load_scenario(path)
    choice = greedy_choice(scenario)
    greedy = evaluate_greedy(scenario, choice)
    milp = _milp_usd_per_mtok(scenario)
    assert milp <= greedy.usd_per_mtok * (1 + 1e-7), "the MILP may never cost more than the greedy"
    return choice, greedy, milp


def test_sites_ranked_by_levelised_usd_per_mwh_and_the_cheaper_built(tmp_path):
    """Grid at 50 vs 80 $/MWh, plus the 100 $/kW connection and the fixed costs over 1000 MW x PUE 1.2."""
    choice, greedy, milp = _greedy_and_milp(write_tiny(tmp_path, sites=[SITE_B, SITE]))
    connection = 100 * _crf(WACC, 40) * 1000 / 8760
    fixed_usd = 50e6 * _crf(WACC, 30) + 1000 * 10_000 * WACC
    spread = fixed_usd / (1000 * 8760 * 1.2)
    ranking = choice.site_ranking["usd_per_mwh"]
    assert list(ranking.index) == ["a", "b"]
    assert ranking["a"] == pytest.approx(50 + connection + spread, rel=1e-9)
    assert ranking["b"] == pytest.approx(80 + connection + spread, rel=1e-9)
    assert choice.built == ["a"] and choice.cooling == {"a": "liquid"}
    assert choice.racks.to_dict() == {("a", "x"): 100}
    assert greedy.sites_built == ["a"] and greedy.it_mw == pytest.approx(10.0)
    assert greedy.usd_per_mtok == pytest.approx(milp, rel=1e-6)


def test_cheapest_chip_per_token_in_whole_racks_and_what_rounding_up_costs(tmp_path):
    """Chip y costs twice as much per rack as x but makes three times the tokens. The greedy rounds
    100/3 racks of y up to 34; the MILP serves the last third with one rack of x, which saves the
    price of one x rack per year less the energy of the 2/3 of a rack more that runs."""
    fast = {**CHIP, "chip_id": "y", "name": "Chip Y", "price_usd_per_chip": 60_000.0}
    throughput = [
        {"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
        {"chip_id": "y", "workload_id": "chat", "tokens_per_s_per_chip": 3000.0, "basis": "S"},
    ]
    choice, greedy, milp = _greedy_and_milp(write_tiny(tmp_path, chips=[CHIP, fast], throughput=throughput))
    assert list(choice.chip_ranking.loc["chat"].index) == ["y", "x"]
    assert choice.racks.to_dict() == {("a", "y"): 34}
    assert choice.assigned_racks[("a", "y", "chat")] == pytest.approx(100 / 3)
    assert choice.delivered_ptok.sum() == pytest.approx(100 * TOKENS_PER_RACK_YR / 1e15)
    more_running_mw = (1 - 1 / 3) * 0.1 * 1.1
    energy_usd = more_running_mw * (8760 * 50.0 + 1000 * 100 * _crf(WACC, 40))
    saving_usd = 72 * 30_000 * _crf(WACC, 5) - energy_usd
    assert greedy.usd_per_mtok - milp == pytest.approx(saving_usd / (100 * TOKENS_PER_RACK_YR / 1e6), rel=1e-6)


def test_chip_supply_runs_out_then_the_next_cheapest_chip(tmp_path):
    """Only 10 racks of the cheaper chip y exist: the greedy takes them all, then serves the rest
    (100 - 30 x-rack equivalents) with chip x."""
    fast = {**CHIP, "chip_id": "y", "name": "Chip Y", "price_usd_per_chip": 60_000.0, "supply_limit_chips": 720}
    throughput = [
        {"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
        {"chip_id": "y", "workload_id": "chat", "tokens_per_s_per_chip": 3000.0, "basis": "S"},
    ]
    choice = greedy_choice(load_scenario(write_tiny(tmp_path, chips=[CHIP, fast], throughput=throughput)))
    assert choice.racks.to_dict() == {("a", "y"): 10, ("a", "x"): 70}


def test_best_site_filled_to_its_land_then_the_next(tmp_path):
    """Site a holds 5 MW of IT (5 acres at 1 acre/MW): 50 racks there, the other 50 at b, whose
    grid at 150 $/MWh ranks it after a even with a's fixed costs spread over only 5 MW."""
    small = {**SITE, "land_acres": 5.0}
    dear = {**SITE_B, "grid_price_usd_per_mwh": 150.0}
    choice, greedy, _ = _greedy_and_milp(write_tiny(tmp_path, sites=[small, dear]))
    assert choice.racks.to_dict() == {("a", "x"): 50, ("b", "x"): 50}
    assert choice.built == ["a", "b"]
    assert greedy.it_mw == pytest.approx(10.0)


def test_greedy_pays_for_land_it_spreads_over_a_campus_it_does_not_fill(tmp_path):
    """Site a has cheaper grid power but dear land: spread over the 1000 MW its land could hold, the
    land adds 1.5 $/MWh and a still ranks first; for the 10 MW actually built it costs 16 M$/yr
    against 0.8 M$/yr at b, so the MILP builds b and the greedy is strictly worse."""
    dear = {**SITE, "land_price_usd_per_acre": 200_000.0}
    near = {**SITE_B, "grid_price_usd_per_mwh": 53.0}
    choice, greedy, milp = _greedy_and_milp(write_tiny(tmp_path, sites=[dear, near]))
    assert choice.built == ["a"]
    extra_usd = 1000 * (200_000 - 10_000) * WACC - 10.0 * 1.1 * 8760 * 3.0  # land minus grid savings
    tokens_mtok = 100 * TOKENS_PER_RACK_YR / 1e6
    assert greedy.usd_per_mtok - milp == pytest.approx(extra_usd / tokens_mtok, rel=1e-6)
    assert greedy.usd_per_mtok > milp * 1.05


def test_greedy_plan_passes_independent_verification(tmp_path):
    sites = [{**SITE, "land_acres": 5.0}, {**SITE_B, "grid_price_usd_per_mwh": 150.0}]
    scenario = load_scenario(write_tiny(tmp_path / "case", sites=sites))
    greedy = evaluate_greedy(scenario, greedy_choice(scenario))
    plan = build_plan(greedy.fm, greedy.result)
    assert verify_plan(plan.write(tmp_path / "plan", scenario)).ok
    assert plan.summary["usd_per_mtok"] == pytest.approx(greedy.usd_per_mtok)
    assert plan.summary["sites_built"] == 2


def test_late_grid_is_bridged_by_the_cheapest_firm_plant(tmp_path):
    """Site b's grid arrives in 2030, the plan must run by 2027. Without a firm plant to bridge the
    wait (none in the data, or gas engines not allowed) b is no candidate; with engines it ranks on
    their capital, their fuel for the bridge years' present-value share and the grid afterwards,
    which puts it first, and the model operates the greedy's bridge."""
    late = {**SITE_B, "grid_price_usd_per_mwh": 40.0, "grid_online_year": 2030}
    by_2027 = {"online_by_year": 2027}
    grid_only = {**by_2027, "allowed_power_techs": ["grid"]}
    for case, techs, limits in [("none", [GRID], by_2027), ("banned", [GRID, ENGINE], grid_only)]:
        path = write_tiny(tmp_path / case, sites=[SITE, late], techs=techs, options={"constraints": limits})
        scenario = load_scenario(path)
        assert list(greedy_choice(scenario).site_ranking.index) == ["a"]

    path = write_tiny(tmp_path / "engines", sites=[SITE, late], techs=[GRID, ENGINE], options={"constraints": by_2027})
    choice, greedy, _ = _greedy_and_milp(path)
    share = (1 - 1.08**-3) / (1 - 1.08**-20)
    connection = 100 * _crf(WACC, 40) * 1000 / 8760
    engine_capital = 1000 * _crf(WACC, 25) * 1000 / 8760
    bridged = engine_capital + share * (8 * 3.0 + 5.0) + (1 - share) * (40.0 + connection)
    ranking = choice.site_ranking
    assert list(ranking.index) == ["b", "a"] and ranking.loc["b", "firm_tech_id"] == "engine"
    assert ranking.loc["b", "energy_usd_per_mwh"] == pytest.approx(bridged, rel=1e-9)
    assert greedy.sites_built == ["b"]


def test_infeasible_greedy_plan_says_what_the_greedy_did(tmp_path):
    """A carbon cap the greedy ignores: it builds the cheap coal-heavy grid site, the MILP the clean one."""
    dirty = {**SITE, "grid_co2_kg_per_mwh": 800.0}
    clean = {**SITE_B, "grid_price_usd_per_mwh": 53.0, "grid_co2_kg_per_mwh": 0.0}
    scenario = load_scenario(
        write_tiny(tmp_path, sites=[dirty, clean], options={"constraints": {"carbon_cap_t_per_yr": 1000.0}})
    )
    choice = greedy_choice(scenario)
    assert choice.built == ["a"]
    with pytest.raises(GreedyError, match=r"greedy placed 10 MW of IT \(a: 10 MW IT.*carbon cap"):
        evaluate_greedy(scenario, choice)
    assert math.isfinite(_milp_usd_per_mtok(scenario))
