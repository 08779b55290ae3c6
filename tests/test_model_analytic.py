"""Tiny cases whose optimum is worked out by hand, solved through the whole pipeline."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from optimizer.inputs.scenario import ScenarioError, load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import SolveError, solve
from tests.tiny import CHIP, CLEAN_FIRM, COOLING, GRID, REGION, SITE, TOKENS_PER_RACK_YR, WORKLOAD, write_tiny


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
    """Air cooling: free below 18 C (PUE 1.3), chillers of COP 4 at 30 C (PUE 1.3 + 1/4).

    Half of each day is at 10 C and half at 30 C; the grid is sized for the hot hours.
    """
    air = {**COOLING, "cooling_id": "air", "power_overhead": 0.3, "free_cooling_max_drybulb_c": 18.0}
    plan = _solve(write_tiny(tmp_path, cooling=[air], temps=(10.0, 30.0)))
    dispatch = plan.tables["dispatch"].set_index("hour")
    assert dispatch.loc[0, "pue"] == pytest.approx(1.3)
    assert dispatch.loc[12, "pue"] == pytest.approx(1.55)
    grid = plan.tables["power"].set_index("tech_id").loc["grid", "capacity_mw"]
    assert grid == pytest.approx(10.0 * 1.55)
    assert plan.tables["sites"].loc[0, "annual_pue"] == pytest.approx((1.3 + 1.55) / 2)


def test_evaporative_hours_use_water_and_save_chiller_power(tmp_path):
    """At 30 C dry-bulb and 22 C wet-bulb an evaporative stage (limit 24 C) replaces the chiller.

    10 MW of IT for 4380 evaporative hours at 1.5 L/kWh use 10e3 kW x 4380 h x 1.5 L = 65.7 ML.
    """
    evaporative = {
        **COOLING,
        "free_cooling_max_drybulb_c": 18.0,
        "evaporative_max_wetbulb_c": 24.0,
        "evaporative_l_per_kwh": 1.5,
    }
    plan = _solve(write_tiny(tmp_path, cooling=[evaporative], temps=(10.0, 30.0)))
    site = plan.tables["sites"].iloc[0]
    assert site["annual_pue"] == pytest.approx(1.1)
    assert site["water_ml_per_yr"] == pytest.approx(10e3 * 4380 * 1.5 / 1e6)
    assert site["annual_wue_l_per_kwh"] == pytest.approx(0.75)


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
    far = {**SITE, "site_id": "f", "name": "Far", "state": "NE", "lat": 42.0, "grid_price_usd_per_mwh": 20.0}
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
    with pytest.raises(SolveError, match="no feasible plan") as failed:
        solve(fm, scenario.solver, scenario.objective)
    # the error still says how big the model was (the scale benchmark reports it)
    assert failed.value.size.variables == fm.model.nvariables() and failed.value.size.integers > 0
    # and keeps it, with the reason, when a worker process hands it back
    handed_back = pickle.loads(pickle.dumps(failed.value))
    assert (handed_back.size, handed_back.infeasible, str(handed_back)) == (failed.value.size, True, str(failed.value))


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
    from optimizer.constants import crf

    assert crf(0.08, 5) == pytest.approx(0.2504564545)
    assert crf(0.0, 4) == pytest.approx(0.25)
    assert math.isclose(crf(0.07, 30) * 30, 2.4176, rel_tol=1e-4)


# --------------------------------------------------------------------------------------------
# energy realism: storage across days, bridge power, 24/7 carbon-free share

GAS_ENGINE = {
    **GRID,
    "tech_id": "engine",
    "name": "Gas engine",
    "kind": "thermal",
    "capex_usd_per_kw": 1000.0,
    "vom_usd_per_mwh": 30.0,  # with fuel, 57 $/MWh: dearer than the 50 $/MWh grid once it arrives
    "heat_rate_btu_per_kwh": 9000.0,
    "fuel": "gas",
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "lead_time_yr": 1.0,
}


def test_storage_carries_energy_from_cheap_days_to_dear_days(tmp_path):
    """Grid power costs 10 $/MWh on even days and 5000 $/MWh on odd days, flat within each day,
    so only a battery that links consecutive days can help: no grid at all on dear days.

    Each dear day needs d = 24 h x 11 MW / sqrt(0.85) out of the battery. All 183 cheap days share
    one representative day, so each stores the same c, and over the year 183 c = 182 d. The level
    then drifts down by d - c per pair of days from full at the start of day 1 to empty at the end
    of day 363: energy = 182 (d - c) + c = 364/183 d (the price of clustering the extra cheap day).
    """
    day = np.arange(8760) // 24
    price = np.where(day % 2 == 0, 10.0, 5000.0)
    path = write_tiny(tmp_path, hourly={"grid_price_usd_per_mwh": price}, options={"time": {"representative_days": 2}})
    plan = _solve(path)
    dear_day_mwh = 24 * 11.0 / math.sqrt(0.85)
    battery = plan.tables["power"].set_index("tech_id").loc["battery"]
    assert battery["energy_capacity_mwh"] == pytest.approx(364 / 183 * dear_day_mwh, rel=1e-6)
    dispatch = plan.tables["dispatch"]
    dear = dispatch["grid_price_usd_per_mwh"] > 1000.0
    assert dispatch.loc[dear, "grid_mw"].max() == pytest.approx(0.0, abs=1e-6)
    days = plan.tables["storage_days"].set_index("day")["soc_start_mwh"]
    assert days[1] == pytest.approx(battery["energy_capacity_mwh"], rel=1e-6)
    assert days[363] == pytest.approx(dear_day_mwh, rel=1e-6)
    assert days[0] - days[2] == pytest.approx(dear_day_mwh / 183, rel=1e-6)


def _bridge_share(wait_yr: float, horizon_yr: float, r: float) -> float:
    return (1 - (1 + r) ** -wait_yr) / (1 - (1 + r) ** -horizon_yr)


def test_bridge_power_carries_a_late_grid_site_until_the_grid_arrives(tmp_path):
    """Grid arrives in 2030, online by 2027: a gas engine carries the 11 MW load for 3 of 20 years.

    Energy cost per year = grid connection + engine capacity, each annualised, plus grid energy in
    the grid years and fuel and O&M in the bridge years, weighted by their present-value shares.
    """
    late = {**SITE, "grid_online_year": 2030}
    options = {"constraints": {"online_by_year": 2027}, "finance": {"horizon_yr": 20.0}}
    plan = _solve(write_tiny(tmp_path, sites=[late], techs=[GRID, GAS_ENGINE], options=options))
    wacc, load = 0.08, 11.0
    share = _bridge_share(3.0, 20.0, wacc)
    power = plan.tables["power"].set_index("tech_id")
    assert power.loc["engine", "capacity_mw"] == pytest.approx(load)
    assert power.loc["engine", "bridge_generation_mwh_per_yr"] == pytest.approx(load * 8760)
    assert power.loc["engine", "generation_mwh_per_yr"] == pytest.approx(0.0, abs=1e-6)
    assert plan.tables["sites"].loc[0, "bridge_share"] == pytest.approx(share)
    energy = (
        load * 100e3 * _crf(wacc, 40)  # grid connection, 100 $/kW
        + load * 1000e3 * _crf(wacc, 25)  # engine, 1000 $/kW
        + (1 - share) * load * 8760 * 50.0  # grid energy at 50 $/MWh
        + share * load * 8760 * (30.0 + 9.0 * 3.0)  # engine VOM + 9 MMBtu/MWh x 3 $/MMBtu
    )
    tokens = 100 * TOKENS_PER_RACK_YR
    assert plan.summary["energy_usd_per_mtok"] == pytest.approx(energy / (tokens / 1e6), rel=1e-7)
    expected_t = (1 - share) * load * 8760 * 0.4 + share * load * 8760 * 9.0 * 53.06 / 1000
    assert plan.summary["emissions_t_per_yr"] == pytest.approx(expected_t, rel=1e-7)

    # without bridge power the late grid is out: the engine runs all year
    options["constraints"]["bridge_power"] = False
    plan = _solve(write_tiny(tmp_path / "no_bridge", sites=[late], techs=[GRID, GAS_ENGINE], options=options))
    power = plan.tables["power"].set_index("tech_id")
    assert "grid" not in power.index
    assert power.loc["engine", "generation_mwh_per_yr"] == pytest.approx(load * 8760)


def test_carbon_free_share_is_met_every_hour(tmp_path):
    """A 40 % carbon-free grid plus a dearer carbon-free firm plant, 70 % required every hour:
    clean + 0.4 grid >= 0.7 (clean + grid) with clean + grid = 11 MW gives clean = 5.5 MW.
    """
    firm = CLEAN_FIRM
    plan = _solve(write_tiny(tmp_path, techs=[GRID, firm], options={"constraints": {"cfe_share": 0.7}}))
    power = plan.tables["power"].set_index("tech_id")
    assert power.loc["firm", "capacity_mw"] == pytest.approx(5.5)
    assert power.loc["grid", "capacity_mw"] == pytest.approx(5.5)
    assert plan.tables["sites"].loc[0, "cfe_score"] == pytest.approx(0.7)


def test_carbon_free_share_uses_the_grids_share_of_each_hour(tmp_path):
    """The grid is 90 % carbon-free for half of each day and 10 % for the other half (50 % on average).
    70 % carbon-free every hour: in the clean hours the grid alone suffices; in the dirty ones
    clean + 0.1 (11 - clean) >= 0.7 x 11 needs 7.33 MW of clean firm power, where the annual
    average share would have asked for only 4.4 MW (clean + 0.5 (11 - clean) >= 7.7)."""
    firm = CLEAN_FIRM
    hourly_share = np.repeat([0.9, 0.1], 12)
    folder = write_tiny(
        tmp_path,
        techs=[GRID, firm],
        hourly={"grid_cfe_share": hourly_share},
        options={"constraints": {"cfe_share": 0.7}},
    )
    plan = _solve(folder)
    power = plan.tables["power"].set_index("tech_id")
    assert power.loc["firm", "capacity_mw"] == pytest.approx(6.6 / 0.9)
    dispatch = plan.tables["dispatch"]
    share = np.resize(hourly_share, len(dispatch))
    carbon_free = dispatch["firm_mw"] + share * dispatch["grid_mw"]
    assert (carbon_free >= 0.7 * (dispatch["firm_mw"] + dispatch["grid_mw"]) - 1e-6).all()
    assert dispatch["grid_cfe_share"].to_numpy() == pytest.approx(share)


def test_grid_capacity_charge_is_paid_on_the_connection(tmp_path):
    """A PJM-style capacity charge of 120 USD/kW-yr on the 11 MW connection adds 11 x 1000 x 120 USD/yr
    to the grid connection line and nothing else; the plan re-checks it from its folder."""
    charged = {**SITE, "grid_capacity_charge_usd_per_kw_yr": 120.0}
    base = _solve(write_tiny(tmp_path / "base"))
    path = write_tiny(tmp_path / "charged", sites=[charged])
    plan = _solve(path)
    facility_mw = 10.0 * 1.1
    costs = plan.tables["costs"].set_index("item")["usd_per_yr"]
    base_costs = base.tables["costs"].set_index("item")["usd_per_yr"]
    assert costs["grid connection"] - base_costs["grid connection"] == pytest.approx(facility_mw * 1000 * 120.0)
    assert costs.drop("grid connection").to_dict() == pytest.approx(base_costs.drop("grid connection").to_dict())
    # writing verifies the plan from its folder (the verifier's own cost formulas) and refuses a failure
    plan.write(tmp_path / "plan", load_scenario(path))
