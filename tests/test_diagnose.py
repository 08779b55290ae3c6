"""Infeasible scenarios are explained in the planner's words, with the culprit and the amount.

Each case is the tiny scenario (one site, grid power, one chip, 100 racks of 100 kW = 10 MW of IT
at PUE 1.1) with one limit set too tight, so the move that restores feasibility is known by hand.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optimizer.analysis.diagnose import diagnose
from optimizer.cli import app
from optimizer.inputs.scenario import load_scenario
from tests.tiny import CHIP, COOLING, REGION, SITE, TOKENS_PER_RACK_YR, write_tiny

IT_MW = 10.0
FACILITY_MW = IT_MW * 1.1
DEMAND = 100 * TOKENS_PER_RACK_YR


def _diagnosis(tmp_path, **tiny):
    return diagnose(load_scenario(write_tiny(tmp_path, **tiny)))


def _only(findings, limit):
    chosen = [f for f in findings if f.limit == limit]
    assert len(chosen) == 1, [f.message for f in findings]
    return chosen[0]


def test_a_feasible_scenario_needs_no_move(tmp_path):
    diagnosis = _diagnosis(tmp_path)
    assert diagnosis.feasible and not diagnosis.findings
    assert "feasible plan" in diagnosis.text()


def test_too_little_land_names_the_site_and_the_acres(tmp_path):
    """5 acres at 1 acre per MW hold 5 MW of IT: half the demand; the plan needs 10 acres."""
    diagnosis = _diagnosis(tmp_path, sites=[{**SITE, "land_acres": 5.0}])
    short = _only(diagnosis.unserved, "demand")
    assert short.where == "r/chat" and short.amount == pytest.approx(DEMAND / 2, rel=1e-6)
    land = _only(diagnosis.to_move, "land")
    assert land.where == "a" and land.amount == pytest.approx(5.0, rel=1e-6)
    assert "site 'a' has 5 acres; the plan needs 10 (+100%)" in diagnosis.text()


def test_too_small_a_grid_connection_names_the_megawatts(tmp_path):
    diagnosis = _diagnosis(tmp_path, sites=[{**SITE, "grid_capacity_mw": 6.0}])
    grid = _only(diagnosis.to_move, "grid")
    assert grid.amount == pytest.approx(FACILITY_MW - 6.0, rel=1e-6)
    assert "would need to be 11 MW" in grid.message


def test_carbon_cap_below_the_grid_emissions(tmp_path):
    """Grid only at 400 kg/MWh: 11 MW all year emit 38,544 t."""
    diagnosis = _diagnosis(tmp_path, options={"constraints": {"carbon_cap_t_per_yr": 1000.0}})
    cap = _only(diagnosis.to_move, "carbon_cap")
    assert 1000.0 + cap.amount == pytest.approx(FACILITY_MW * 8760 * 0.4, rel=1e-6)


def test_capital_budget_and_chip_supply(tmp_path):
    budget = _diagnosis(tmp_path / "budget", options={"constraints": {"capex_budget_usd": 1e6}})
    assert "the capital budget of $1.0 M must rise to" in _only(budget.to_move, "capex_budget").message
    limited = _diagnosis(tmp_path / "supply", chips=[{**CHIP, "supply_limit_chips": 3600}])
    supply = _only(limited.to_move, "chip_supply")
    assert supply.where == "x" and 3600 + supply.amount == pytest.approx(7200, rel=1e-6)
    assert _only(limited.unserved, "demand").relative == pytest.approx(0.5, rel=1e-6)


def test_water_limit_and_carbon_free_share(tmp_path):
    """Evaporative cooling every hour needs water; a 40 % clean grid cannot meet a 90 % hourly share."""
    wet = {
        **COOLING,
        "free_cooling_max_drybulb_c": 0.0,
        "evaporative_max_wetbulb_c": 40.0,
        "evaporative_l_per_kwh": 1.0,
    }
    dry_site = {**SITE, "water_limit_ml_per_yr": 1.0}
    water = _diagnosis(tmp_path / "water", sites=[dry_site], cooling=[wet])
    assert _only(water.to_move, "water").where == "a"
    clean = _diagnosis(tmp_path / "cfe", options={"constraints": {"cfe_share": 0.9}})
    finding = _only(clean.to_move, "carbon_free")
    # 90 % of 11 MW must be carbon-free; the grid gives 40 %: 50 % of 11 MW short all year
    assert finding.amount == pytest.approx(0.5 * FACILITY_MW * 8760, rel=1e-6)
    assert "lower constraints.cfe_share" in finding.message


def test_a_cooling_that_fits_no_chip_is_named_before_any_solve(tmp_path):
    diagnosis = _diagnosis(tmp_path, cooling=[{**COOLING, "max_rack_kw": 40.0}])
    finding = _only(diagnosis.consistency, "consistency")
    assert "x's 100 kW rack fits no cooling (densest: liquid at 40 kW)" in finding.message


def test_chips_that_ship_too_late_and_power_that_comes_too_late(tmp_path):
    late_chip = _diagnosis(
        tmp_path / "chip", chips=[{**CHIP, "available_year": 2029}], options={"constraints": {"online_by_year": 2027}}
    )
    assert "x ships in 2029, after online_by_year 2027" in late_chip.text()
    late_grid = _diagnosis(
        tmp_path / "grid",
        sites=[{**SITE, "grid_online_year": 2031}],
        options={"constraints": {"online_by_year": 2028, "bridge_power": False}},
    )
    assert "no power source can be online by 2028 at any site" in late_grid.text()


def test_short_demand_lists_the_sites_within_the_latency_budget(tmp_path):
    """Two regions; the far one reaches only site b, whose land holds 3 of its 10 MW."""
    near_a = {**SITE, "site_id": "a", "lat": 32.0, "lon": -97.0}
    near_b = {**SITE, "site_id": "b", "state": "NY", "lat": 41.0, "lon": -74.0, "land_acres": 3.0}
    regions = [REGION, {**REGION, "region_id": "east", "lat": 40.7, "lon": -74.0}]
    demand = [
        {"region_id": "r", "workload_id": "chat", "tokens_per_yr": DEMAND},
        {"region_id": "east", "workload_id": "chat", "tokens_per_yr": DEMAND},
    ]
    workload = {
        "workload_id": "chat",
        "name": "Chat",
        "model": "M",
        "interactive": True,
        "latency_budget_ms": 10.0,
        "utilisation": 1.0,
    }
    diagnosis = _diagnosis(tmp_path, sites=[near_a, near_b], regions=regions, demand=demand, workloads=[workload])
    short = _only(diagnosis.unserved, "demand")
    assert short.where == "east/chat" and short.relative == pytest.approx(0.7, rel=1e-6)
    assert "the 1 site(s) within its 10 ms latency budget (b) can deliver at most" in short.message
    assert _only(diagnosis.to_move, "land").where == "b"


def test_cli_solve_explains_an_infeasible_scenario_and_writes_nothing(tmp_path):
    path = write_tiny(tmp_path / "in", sites=[{**SITE, "land_acres": 5.0}])
    out = tmp_path / "plan"
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(out)])
    assert result.exit_code == 3
    assert "no feasible plan" in result.output and "site 'a' has 5 acres; the plan needs 10" in result.output
    assert not out.exists()
    result = CliRunner().invoke(app, ["diagnose", str(path)])
    assert result.exit_code == 3 and "(+100%)" in result.output
    feasible = CliRunner().invoke(app, ["diagnose", str(write_tiny(tmp_path / "ok"))])
    assert feasible.exit_code == 0 and "feasible plan" in feasible.output
