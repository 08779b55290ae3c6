"""Tiny cases whose optimum is worked out by hand, solved through the whole pipeline."""

from __future__ import annotations

import math

import pytest

from optimizer.model import build_model
from optimizer.plan import build_plan
from optimizer.scenario import ScenarioError, load_scenario
from optimizer.solve import SolveError, solve
from tests.tiny import CHIP, COOLING, GRID, REGION, SITE, TOKENS_PER_RACK_YR, WORKLOAD, write_tiny


def _crf(r: float, n: float) -> float:
    return r * (1 + r) ** n / ((1 + r) ** n - 1)


def _solve(path):
    scenario = load_scenario(path)
    fm = build_model(scenario)
    return build_plan(fm, solve(fm, scenario.solver, scenario.objective))


def test_one_site_one_chip_grid_only_cost_per_token_to_the_cent(tmp_path):
    """100 racks of 72 chips at 100 kW, PUE 1.1 on grid power: every cost line by hand."""
    plan = _solve(write_tiny(tmp_path))
    wacc, racks, it_mw = 0.08, 100, 10.0
    facility_mw = it_mw * 1.1
    chips = racks * 72 * 30_000 * _crf(wacc, 5)
    building = it_mw * 1000 * (8000 * _crf(wacc, 20) + 100)
    cooling = it_mw * 1000 * 1000 * _crf(wacc, 15)
    site = 50e6 * _crf(wacc, 30) + 1000 * 10_000 * wacc
    grid = facility_mw * 1000 * 100 * _crf(wacc, 40) + facility_mw * 8760 * 50
    total = chips + building + cooling + site + grid
    tokens = racks * TOKENS_PER_RACK_YR
    expected_usd_per_mtok = total / (tokens / 1e6)

    s = plan.summary
    assert s["status"] == "optimal"
    assert s["usd_per_mtok"] == pytest.approx(expected_usd_per_mtok, rel=1e-7)
    assert round(s["usd_per_mtok"], 2) == round(expected_usd_per_mtok, 2)
    assert s["chips_usd_per_mtok"] == pytest.approx(chips / (tokens / 1e6), rel=1e-7)
    assert s["energy_usd_per_mtok"] == pytest.approx(grid / (tokens / 1e6), rel=1e-7)
    assert s["infrastructure_usd_per_mtok"] == pytest.approx((building + cooling + site) / (tokens / 1e6), rel=1e-7)
    assert plan.tables["chips"]["racks"].tolist() == [racks]
    assert s["energy_j_per_token"] == pytest.approx(facility_mw * 8760 * 3.6e9 / tokens, rel=1e-7)
    assert s["emissions_kg_per_mtok"] == pytest.approx(facility_mw * 8760 * 400 / (tokens / 1e6), rel=1e-7)


def test_pue_follows_ambient_temperature(tmp_path):
    """Air cooling at 10 C and 30 C: PUE 1.3 and 1.3 + 0.02*(30-18); grid sized for the hot slice."""
    air = {**COOLING, "cooling_id": "air", "max_rack_kw": 150.0, "pue_design": 1.3, "pue_slope_per_c": 0.02, "pue_threshold_c": 18.0}
    plan = _solve(write_tiny(tmp_path, cooling=[air], temps=(10.0, 30.0)))
    dispatch = plan.tables["dispatch"].set_index("slice_id")
    assert dispatch.loc[0, "pue"] == pytest.approx(1.3)
    assert dispatch.loc[1, "pue"] == pytest.approx(1.3 + 0.02 * 12)
    grid = plan.tables["power"].set_index("tech_id").loc["grid", "capacity_mw"]
    assert grid == pytest.approx(10.0 * (1.3 + 0.02 * 12))
    assert plan.tables["sites"].loc[0, "annual_pue"] == pytest.approx((1.3 + 1.54) / 2)


def test_land_limit_binds_and_pushes_the_rest_to_a_second_site(tmp_path):
    """Site A has cheaper power but holds only 5 MW of IT on its 5 acres; the other 5 MW go to site B.

    Opening a site costs nothing here, so A is always worth filling up to its land limit.
    """
    a = {**SITE, "land_acres": 5.0}
    b = {**SITE, "site_id": "b", "name": "Site B", "grid_price_usd_per_mwh": 80.0, "lat": 32.5}
    plan = _solve(write_tiny(tmp_path, sites=[a, b], facility={"site_development_usd": 0.0}))
    sites = plan.tables["sites"].set_index("site_id")
    assert sites.loc["a", "land_used_acres"] == pytest.approx(5.0)
    assert sites.loc["a", "it_capacity_mw"] == pytest.approx(5.0)
    assert sites.loc["b", "it_capacity_mw"] == pytest.approx(5.0)
    assert sites["built"].tolist() == [1, 1]


def test_chip_excluded_when_no_cooling_carries_its_rack_density(tmp_path):
    """Dense chip D is cheaper per token but its 150 kW racks exceed air's 40 kW: the plan uses X."""
    dense = {**CHIP, "chip_id": "d", "rack_power_kw": 150.0, "price_usd_per_chip": 20_000.0}
    sparse = {**CHIP, "chips_per_rack": 24, "rack_power_kw": 30.0}
    air = {**COOLING, "cooling_id": "air", "max_rack_kw": 40.0}
    throughput = [
        {"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
        {"chip_id": "d", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
    ]
    plan = _solve(write_tiny(tmp_path / "air", chips=[sparse, dense], cooling=[air], throughput=throughput))
    assert set(plan.tables["chips"]["chip_id"]) == {"x"}
    assert plan.tables["sites"].loc[0, "cooling_id"] == "air"
    # the same case with liquid cooling on offer takes the cheaper dense chip
    plan = _solve(write_tiny(tmp_path / "liquid", chips=[sparse, dense], cooling=[air, COOLING], throughput=throughput))
    assert set(plan.tables["chips"]["chip_id"]) == {"d"}
    assert plan.tables["sites"].loc[0, "cooling_id"] == "liquid"


def test_latency_budget_reroutes_demand_to_the_near_site(tmp_path):
    """Far site F (about 1,100 km, cheap power) serves with a 100 ms budget; a 10 ms budget forces near site N."""
    near = {**SITE, "site_id": "n", "name": "Near", "grid_price_usd_per_mwh": 90.0}
    far = {**SITE, "site_id": "f", "name": "Far", "lat": 42.0, "grid_price_usd_per_mwh": 20.0}
    relaxed = _solve(write_tiny(tmp_path / "relaxed", sites=[near, far]))
    assert set(relaxed.tables["deliveries"]["site_id"]) == {"f"}
    tight = {**WORKLOAD, "latency_budget_ms": 10.0}
    rerouted = _solve(write_tiny(tmp_path / "tight", sites=[near, far], workloads=[tight]))
    deliveries = rerouted.tables["deliveries"]
    assert set(deliveries["site_id"]) == {"n"}
    assert (deliveries["latency_ms"] <= 10.0).all()
    assert rerouted.summary["usd_per_mtok"] > relaxed.summary["usd_per_mtok"]


def test_unit_sized_generation_is_built_in_whole_units(tmp_path):
    """Off-grid site: an 11 MW facility load needs one 50 MW turbine, not 11 MW of it."""
    turbine = {
        **GRID,
        "tech_id": "turbine",
        "name": "Turbine",
        "kind": "thermal",
        "unit_size_mw": 50.0,
        "capex_usd_per_kw": 1000.0,
        "heat_rate_btu_per_kwh": 9000.0,
        "fuel": "gas",
        "co2_kg_per_mmbtu": 53.06,
        "life_yr": 25.0,
        "lead_time_yr": 2.0,
    }
    off_grid = {**SITE, "grid_capacity_mw": 0.0}
    plan = _solve(write_tiny(tmp_path, sites=[off_grid], techs=[GRID, turbine]))
    power = plan.tables["power"].set_index("tech_id")
    assert power.loc["turbine", "capacity_mw"] == pytest.approx(50.0)
    assert power.loc["turbine", "units"] == 1
    expected_t = 11.0 * 8760 * 9.0 * 53.06 / 1000
    assert plan.summary["emissions_t_per_yr"] == pytest.approx(expected_t, rel=1e-7)


def test_min_cost_per_token_serves_everything_when_scale_lowers_the_ratio(tmp_path):
    """Cost = fixed + variable x tokens, so cost/token falls with volume: Dinkelbach must serve all demand."""
    path = write_tiny(tmp_path, options={"objective": {"mode": "min_cost_per_token", "min_demand_share": 0.3}})
    plan = _solve(path)
    s = plan.summary
    assert s["status"] == "optimal"
    assert s["delivered_tokens_per_yr"] == pytest.approx(100 * TOKENS_PER_RACK_YR, rel=1e-9)
    assert s["dinkelbach_iterations"] >= 2
    assert s["lambda_usd_per_mtok"] == pytest.approx(s["usd_per_mtok"], rel=1e-6)
    assert s["lambda_lower_bound_usd_per_mtok"] <= s["usd_per_mtok"] + 1e-9


def test_chip_supply_limit_splits_the_fleet(tmp_path):
    """Only 3,600 of the cheaper chip X exist (50 racks); the other 50 racks must be chip Y."""
    limited = {**CHIP, "supply_limit_chips": 3600.0}
    other = {**CHIP, "chip_id": "y", "price_usd_per_chip": 40_000.0}
    throughput = [
        {"chip_id": c, "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"} for c in ("x", "y")
    ]
    plan = _solve(write_tiny(tmp_path, chips=[limited, other], throughput=throughput))
    racks = plan.tables["chips"].set_index("chip_id")["racks"]
    assert racks.to_dict() == {"x": 50, "y": 50}


def test_capex_budget_too_small_has_no_plan(tmp_path):
    path = write_tiny(tmp_path, options={"constraints": {"capex_budget_usd": 1e8}})
    scenario = load_scenario(path)
    fm = build_model(scenario)
    with pytest.raises(SolveError, match="no feasible plan"):
        solve(fm, scenario.solver, scenario.objective)


def test_online_by_year_excludes_a_late_grid(tmp_path):
    """The only site's grid arrives in 2031; with online-by 2028 and no other source there is no plan."""
    late = {**SITE, "grid_online_year": 2031}
    path = write_tiny(tmp_path, sites=[late], options={"constraints": {"online_by_year": 2028}})
    scenario = load_scenario(path)
    fm = build_model(scenario)
    with pytest.raises(SolveError):
        solve(fm, scenario.solver, scenario.objective)


def test_region_beyond_every_latency_budget_is_named(tmp_path):
    far_region = {**REGION, "lat": 48.0}
    path = write_tiny(tmp_path, regions=[far_region], workloads=[{**WORKLOAD, "latency_budget_ms": 5.0}])
    with pytest.raises(ScenarioError, match=r"region 'r'.*'chat'.*5 ms.*nearest: 'a'"):
        build_model(load_scenario(path))


def test_crf_matches_the_textbook_annuity():
    from optimizer.units import crf

    assert crf(0.08, 5) == pytest.approx(0.2504564545)
    assert crf(0.0, 4) == pytest.approx(0.25)
    assert math.isclose(crf(0.07, 30) * 30, 2.4176, rel_tol=1e-4)
