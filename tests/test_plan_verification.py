"""Tests of the independent plan verifier (``optimizer.verify``) on solved plans and corrupted copies.

Four scenarios are solved once each through the CLI (the default one, solved once per session by
tests/conftest.py, and on two typical days an islanded plan that cycles a battery, a time-to-power
plan that bridges on engines, a 24/7 carbon-free plan); each must
pass every check, and each corruption of a copy must be named by the check it breaks. Other tests
may reuse the verifier::

    from optimizer.verify import verify_plan_folder
    assert verify_plan_folder(plan_dir) == []
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from optimizer.verify import (
    CHECKS,
    DAYS_PER_YEAR,
    RTOL,
    Recorder,
    cooling_pue_wue,
    present_value_share,
    verification_table,
    verify_plan,
    verify_plan_folder,
)

ROOT = Path(__file__).resolve().parents[1]


def _solve(folder: Path, document: dict | None = None) -> Path:
    """Solve a scenario through the CLI into ``folder/plan``: base.yaml itself, or a document extending it."""
    import yaml
    from typer.testing import CliRunner

    from optimizer.cli import app

    scenario = ROOT / "data" / "scenarios" / "base.yaml"
    if document is not None:  # beside the plan, not above it: a plan may not lie inside its inputs' folder
        (folder / "inputs").mkdir(parents=True, exist_ok=True)
        scenario = folder / "inputs" / f"{document['name']}.yaml"
        scenario.write_text(
            yaml.safe_dump({"extends": str(ROOT / "data" / "scenarios" / "base.yaml"), **document}, sort_keys=False)
        )
    out = folder / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def base_plan(base_plan_folder: Path) -> Path:
    """The default scenario solved once per session through the CLI (tests/conftest.py); tests copy it."""
    return base_plan_folder


#: the small scenarios below are solved on two typical days without extreme days (the base plan
#: has 4 + 3): their checks need the behaviour, not the time resolution, and each solves in ~3 s
TWO_DAYS = {"representative_days": 2, "extreme_days": []}

#: a small islanded scenario (no grid, dear gas, three sites, little demand) whose cheapest plan
#: cycles a battery, so the state-of-charge checks meet real storage dispatch; solves in seconds
STORAGE_SCENARIO = {
    "name": "verification_storage",
    "constraints": {"allowed_sites": ["the_dalles", "quincy_wa", "prineville"], "carbon_cap_t_per_yr": 20000},
    "time": TWO_DAYS,
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "seattle/chat_70b": {"tokens_per_yr": 2.0e14},
            "seattle/batch_70b": {"tokens_per_yr": 2.0e14},
            "san_francisco/reasoning_r1": {"tokens_per_yr": 1.0e14},
        },
        "sites": {"*": {"grid_capacity_mw": 0, "gas_price_usd_per_mmbtu": {"scale": 15}}},
    },
}

#: time to power: three PJM sites whose grid arrives in 2032 (set here: the data's announced years differ),
#: everything online by 2027. The grid is cheaper than dear gas, so a site bridges on on-site plants for five
#: years, then imports: solves in seconds
BRIDGE_SCENARIO = {
    "name": "verification_bridge",
    "constraints": {
        "allowed_sites": ["stargate_lordstown", "aws_n_indiana", "coreweave_lancaster"],
        "online_by_year": 2027,
    },
    "time": TWO_DAYS,
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "philadelphia/chat_70b": {"tokens_per_yr": 1.0e14},
            "new_york_city/batch_70b": {"tokens_per_yr": 2.0e14},
            "chicago/reasoning_r1": {"tokens_per_yr": 0.5e14},
        },
        "sites": {"*": {"gas_price_usd_per_mmbtu": {"scale": 6}, "grid_online_year": 2032}},
    },
}

#: 24/7 carbon-free supply: 80 % of every hour's load at three north-west sites; solves in seconds
CFE_SCENARIO = {
    "name": "verification_cfe",
    "constraints": {"allowed_sites": ["quincy_wa", "the_dalles", "prineville"], "cfe_share": 0.8},
    "time": TWO_DAYS,
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {
            "*": {"tokens_per_yr": 0},
            "seattle/chat_70b": {"tokens_per_yr": 2.0e14},
            "seattle/batch_70b": {"tokens_per_yr": 2.0e14},
            "san_francisco/reasoning_r1": {"tokens_per_yr": 1.0e14},
        },
    },
}

#: evaporative cooling in use: the racks above 150 kW (dry-cooled dense liquid) are sold too late, so the
#: plan cools GB300-class racks with direct liquid and its adiabatic assist at two dry inland sites
WATER_SCENARIO = {
    "name": "verification_water",
    "constraints": {"allowed_sites": ["stargate_abilene", "coreweave_denton"]},
    "time": TWO_DAYS,
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {"*": {"tokens_per_yr": 0}, "dallas/batch_70b": {"tokens_per_yr": 2.0e14}},
        "chips": {"vera_rubin_nvl144": {"available_year": 2035}, "mi355x": {"available_year": 2035}},
    },
}


@pytest.fixture(scope="module")
def storage_plan(tmp_path_factory) -> Path:
    return _solve(tmp_path_factory.mktemp("verification_storage"), STORAGE_SCENARIO)


@pytest.fixture(scope="module")
def bridge_plan(tmp_path_factory) -> Path:
    plan = _solve(tmp_path_factory.mktemp("verification_bridge"), BRIDGE_SCENARIO)
    sites = pd.read_csv(plan / "sites.csv")
    power = pd.read_csv(plan / "power.csv")
    dispatch = pd.read_csv(plan / "dispatch.csv")
    bridged = sites[(sites["built"] == 1) & (sites["bridge_share"] > 0)]
    assert len(bridged), "no built site waits for its grid: the bridge scenario no longer tests bridge power"
    site = bridged["site_id"].iloc[0]
    assert power.loc[power["site_id"] == site, "bridge_generation_mwh_per_yr"].sum() > 1.0, "no bridge generation"
    assert dispatch.filter(like="bridge_").to_numpy().max() > 0.1, "no bridge generation in dispatch.csv"
    assert dispatch.loc[dispatch["site_id"] == site, "grid_mw"].max() > 0.1, (
        "the late grid is never used after the bridge"
    )
    return plan


@pytest.fixture(scope="module")
def water_plan(tmp_path_factory) -> Path:
    return _solve(tmp_path_factory.mktemp("verification_water"), WATER_SCENARIO)


@pytest.fixture(scope="module")
def cfe_plan(tmp_path_factory) -> Path:
    return _solve(tmp_path_factory.mktemp("verification_cfe"), CFE_SCENARIO)


def test_base_plan_passes_independent_verification(base_plan: Path) -> None:
    summary = pd.read_csv(base_plan / "summary.csv").iloc[0]
    assert summary["status"] in ("optimal", "time_limit_feasible")
    assert verify_plan_folder(base_plan) == []


def test_storage_plan_passes_independent_verification(storage_plan: Path) -> None:
    power = pd.read_csv(storage_plan / "power.csv")
    dispatch = pd.read_csv(storage_plan / "dispatch.csv")
    days = pd.read_csv(storage_plan / "storage_days.csv")
    assert (power["kind"] == "storage").any(), "the storage scenario no longer builds storage"
    assert dispatch.filter(like="_discharge_mw").to_numpy().max() > 0.1, "the battery is built but never used"
    assert len(days) == DAYS_PER_YEAR * (power["kind"] == "storage").sum()
    assert not (dispatch["grid_mw"] > 0).any()
    assert verify_plan_folder(storage_plan) == []


def test_bridge_plan_passes_independent_verification(bridge_plan: Path) -> None:
    assert verify_plan_folder(bridge_plan) == []


def test_cfe_plan_passes_independent_verification(cfe_plan: Path) -> None:
    sites = pd.read_csv(cfe_plan / "sites.csv")
    built = sites[sites["built"] == 1]
    assert (built["cfe_score"] >= 0.8 - 1e-6).all(), built[["site_id", "cfe_score"]]
    assert verify_plan_folder(cfe_plan) == []


def test_cooling_formula_by_hand() -> None:
    """The verifier's own PUE/WUE against values worked out by hand from the stage shares."""
    air = pd.Series(
        {
            "power_overhead": 0.06,
            "fan_pump_kw_per_kw_it": 0.06,
            "free_cooling_max_drybulb_c": 18.0,
            "evaporative_max_wetbulb_c": 19.0,
            "evaporative_l_per_kwh": 1.0,
            "evaporative_kw_per_kw_it": 0.03,
            "chiller_cop_at_35c": 2.96,
            "chiller_cop_gain_per_c": 0.10,
            "chiller_l_per_kwh": 0.5,
            "transition_band_c": 3.0,
        }
    )
    drybulb = np.array([10.0, 19.5, 35.0, 50.0])
    wetbulb = np.array([5.0, 20.5, 25.0, 25.0])
    pue, wue = cooling_pue_wue(air, drybulb, wetbulb)
    # 10 C: free cooling only. 19.5/20.5 C: half free, a quarter evaporative (pumps 0.03 kW/kW), a
    # quarter by chillers at COP 2.96 + 0.1 x 15.5. 35 C: chillers only at their rated COP. 50 C: COP
    # floored at 1.5.
    assert pue == pytest.approx([1.12, 1.12 + 0.25 * 0.03 + 0.25 / 4.51, 1.12 + 1 / 2.96, 1.12 + 1 / 1.5])
    assert wue == pytest.approx([0.0, 0.25 * 1.0 + 0.25 * 0.5, 0.5, 0.5])
    dry_only = air.copy()
    dry_only["evaporative_max_wetbulb_c"] = np.nan  # no evaporative stage: chillers carry the rest
    pue, wue = cooling_pue_wue(dry_only, drybulb[1:2], wetbulb[1:2])
    assert pue == pytest.approx([1.12 + 0.5 / 4.51])
    assert wue == pytest.approx([0.25])


def test_bridge_share_by_hand() -> None:
    assert present_value_share(5, 20, 0.08) == pytest.approx((1 - 1.08**-5) / (1 - 1.08**-20))
    assert present_value_share(5, 20, 0.08) == pytest.approx(0.4066663, rel=1e-6)
    assert present_value_share(5, 20, 0.0) == pytest.approx(0.25)
    assert present_value_share(30, 20, 0.08) == pytest.approx(1.0)
    assert present_value_share(0, 20, 0.08) == 0.0


#: a renewable-and-battery site whose grid arrives two years after online_by_year (Lordstown: 2032)
ISLANDED_LATE_GRID = {
    "constraints": {
        "allowed_sites": ["stargate_lordstown"],
        "allowed_power_techs": ["grid", "solar_pv_tracking", "wind_onshore", "battery_li_ion"],
        "online_by_year": 2030,
    },
    "time": TWO_DAYS,
    "solver": {"time_limit_s": 30},
    "overrides": {
        "demand": {"*": {"tokens_per_yr": 0}, "new_york_city/batch_70b": {"tokens_per_yr": 2.0e14}},
        "sites": {"*": {"grid_online_year": 2032}},  # the grid arrives after online_by_year
    },
}


def test_bridge_power_only_adds_options(tmp_path: Path) -> None:
    """Allowing a late grid after bridge years must not forbid a plan that never uses that grid."""
    without = _solve(
        tmp_path / "off",
        {
            "name": "late_grid_no_bridge",
            **ISLANDED_LATE_GRID,
            "constraints": {**ISLANDED_LATE_GRID["constraints"], "bridge_power": False},
        },
    )
    assert verify_plan_folder(without) == []
    cost = pd.read_csv(without / "summary.csv").iloc[0]["total_cost_usd_per_yr"]
    with_bridge = _solve(tmp_path / "on", {"name": "late_grid_bridge", **ISLANDED_LATE_GRID})
    assert verify_plan_folder(with_bridge) == []
    assert pd.read_csv(with_bridge / "summary.csv").iloc[0]["total_cost_usd_per_yr"] <= cost * (1 + 0.01)


# ---- corruptions: each breaks one rule of a solved plan, the verifier must name that rule


def _first_grid_row(dispatch: pd.DataFrame) -> int:
    return int(dispatch.index[dispatch["grid_mw"] > 1.0][0])


def _raise_grid_import(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    dispatch.loc[_first_grid_row(dispatch), "grid_mw"] += 5.0
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _grid_beyond_connection(folder: Path) -> None:
    """Shift load from another source onto the grid: the balance and the reported peak import hold, the
    grid limits do not."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    sites = pd.read_csv(folder / "sites.csv")
    row = _first_grid_row(dispatch)
    site = dispatch.loc[row, "site_id"]
    at_site = sites["site_id"] == site
    extra = float(sites.loc[at_site, "grid_capacity_mw"].iloc[0]) + 1.0
    dispatch.loc[row, "grid_mw"] += extra
    dispatch.loc[row, "facility_mw"] += extra  # keep the energy balance, break the limits
    dispatch.to_csv(folder / "dispatch.csv", index=False)
    peak = dispatch.loc[dispatch["site_id"] == site, "grid_mw"].max()
    sites.loc[at_site, "peak_grid_import_mw"] = max(float(sites.loc[at_site, "peak_grid_import_mw"].iloc[0]), peak)
    sites.to_csv(folder / "sites.csv", index=False)


def _delete_delivery(folder: Path) -> None:
    deliveries = pd.read_csv(folder / "deliveries.csv")
    deliveries.drop(index=deliveries["tokens_per_yr"].idxmax()).to_csv(folder / "deliveries.csv", index=False)


def _add_rack(folder: Path) -> None:
    chips = pd.read_csv(folder / "chips.csv")
    chips.loc[0, "racks"] += 1
    chips.to_csv(folder / "chips.csv", index=False)


def _fractional_rack(folder: Path) -> None:
    chips = pd.read_csv(folder / "chips.csv")
    chips.loc[0, "racks"] -= 0.5
    chips.to_csv(folder / "chips.csv", index=False)


def _air_cooling(folder: Path) -> None:
    sites = pd.read_csv(folder / "sites.csv", keep_default_na=False)
    built = sites.index[sites["built"] == 1][0]
    sites.loc[built, "cooling_id"] = "air"
    sites.to_csv(folder / "sites.csv", index=False)


def _cheaper_chips(folder: Path) -> None:
    costs = pd.read_csv(folder / "costs.csv")
    row = costs.index[(costs["layer"] == "chips") & (costs["usd_per_yr"] > 0)][0]
    moved = costs.loc[row, "usd_per_yr"] * 0.1
    costs.loc[row, "usd_per_yr"] -= moved  # move cost between layers: the total still adds up
    infra = costs.index[(costs["layer"] == "infrastructure") & (costs["site_id"] == costs.loc[row, "site_id"])][0]
    costs.loc[infra, "usd_per_yr"] += moved
    costs.to_csv(folder / "costs.csv", index=False)


def _far_delivery(folder: Path) -> None:
    """Re-route a chat delivery from the farthest built site, claiming the original latency."""
    deliveries = pd.read_csv(folder / "deliveries.csv")
    sites = pd.read_csv(folder / "sites.csv")
    built = sites[sites["built"] == 1]
    row = deliveries.index[deliveries["workload_id"] == "chat_70b"][0]
    region = deliveries.loc[row, "region_id"]
    regions = pd.read_csv(folder / "scenario" / "regions.csv").set_index("region_id")
    lon, lat = regions.loc[region, ["lon", "lat"]]
    far = built.loc[((built["lon"] - lon) ** 2 + (built["lat"] - lat) ** 2).idxmax(), "site_id"]
    deliveries.loc[row, "site_id"] = far
    deliveries.to_csv(folder / "deliveries.csv", index=False)


def _edit_scenario_sites(folder: Path, site: str, column: str, value) -> None:
    """Change one value of the copied scenario's sites table."""
    import geopandas as gpd

    path = folder / "scenario" / "sites.geojson"
    sites = gpd.read_file(path)
    sites.loc[sites["site_id"] == site, column] = value
    sites.to_file(path, driver="GeoJSON")


def _edit_scenario_options(folder: Path, section: str, **values) -> None:
    import yaml

    path = folder / "scenario" / "scenario.yaml"
    document = yaml.safe_load(path.read_text())
    document.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _grid_online_late(folder: Path) -> None:
    """Move the grid of a site that imports power past the online-by year (in the copied scenario).

    With bridge power (the default) the site may keep its grid only if on-site generation carries its
    whole load until then, which this plan never arranged.
    """
    dispatch = pd.read_csv(folder / "dispatch.csv")
    _edit_scenario_sites(folder, dispatch.loc[_first_grid_row(dispatch), "site_id"], "grid_online_year", 2040)


def _grid_online_late_without_bridge(folder: Path) -> None:
    """As above with bridge power switched off: a late grid is simply forbidden."""
    _grid_online_late(folder)
    _edit_scenario_options(folder, "constraints", bridge_power=False)


def _tamper_pue(folder: Path) -> None:
    """Claim a 3 % higher facility load in one slice, supplied by the grid: only the PUE rule breaks."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    row = _first_grid_row(dispatch)
    extra = 0.03 * dispatch.loc[row, "facility_mw"]
    dispatch.loc[row, ["facility_mw", "grid_mw"]] += extra
    dispatch.loc[row, "pue"] = dispatch.loc[row, "facility_mw"] / dispatch.loc[row, "it_mw"]
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _water_over_limit(folder: Path) -> None:
    """Give the thirstiest built site a water limit half its use (in the copied scenario)."""
    sites = pd.read_csv(folder / "sites.csv")
    row = sites.loc[sites["water_ml_per_yr"].idxmax()]
    assert row["water_ml_per_yr"] > 0.01, "no built site uses water"
    _edit_scenario_sites(folder, row["site_id"], "water_limit_ml_per_yr", 0.5 * row["water_ml_per_yr"])


def _move_calendar_day(folder: Path) -> None:
    """Map the first day of the year to another representative day: weights no longer count days."""
    days = pd.read_csv(folder / "scenario" / "days.csv")
    periods = sorted(days["period"].unique())
    days.loc[0, "period"] = next(p for p in periods if p != days.loc[0, "period"])
    days.to_csv(folder / "scenario" / "days.csv", index=False)


def _warmer_profile(folder: Path) -> None:
    """Warm one hour of a built site's representative weather (and its dispatch copy) by 4 C."""
    profiles = pd.read_csv(folder / "scenario" / "profiles.csv")
    dispatch = pd.read_csv(folder / "dispatch.csv")
    site, slice_id = dispatch.loc[0, ["site_id", "slice_id"]]
    profiles.loc[(profiles["site_id"] == site) & (profiles["slice_id"] == slice_id), "temp_c"] += 4.0
    dispatch.loc[0, "temp_c"] += 4.0
    profiles.to_csv(folder / "scenario" / "profiles.csv", index=False)
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _unit_fraction(folder: Path) -> None:
    power = pd.read_csv(folder / "power.csv")
    row = power.index[power["units"].notna()][0]
    power.loc[row, "capacity_mw"] += 1.0
    power.to_csv(folder / "power.csv", index=False)


def _break_state_of_charge(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    column = next(c for c in dispatch.columns if c.endswith("_soc_within_day_mwh"))
    row = int(dispatch[column].abs().idxmax())
    dispatch.loc[row, column] *= 0.5
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _shift_storage_day(folder: Path) -> None:
    """Start one calendar day with a tenth of the battery more than the day before left in it."""
    days = pd.read_csv(folder / "storage_days.csv")
    row = DAYS_PER_YEAR // 2
    days.loc[row, "soc_start_mwh"] += 0.1 * days.loc[row, "energy_capacity_mwh"]
    days.to_csv(folder / "storage_days.csv", index=False)


def _overfill_battery(folder: Path) -> None:
    """Start every day fuller by the battery's whole capacity: the chain holds, the bounds do not."""
    days = pd.read_csv(folder / "storage_days.csv")
    days["soc_start_mwh"] += days["energy_capacity_mwh"]
    days.to_csv(folder / "storage_days.csv", index=False)


def _drop_bridge_slice(folder: Path) -> None:
    """Remove the bridge generation of one slice at a bridge site."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    columns = [c for c in dispatch.columns if c.startswith("bridge_")]
    row = int(dispatch.index[dispatch[columns].sum(axis=1) > 1.0][0])
    dispatch.loc[row, columns] = 0.0
    dispatch.to_csv(folder / "dispatch.csv", index=False)


def _grid_energy_all_years(folder: Path) -> None:
    """Cost the grid's energy over the whole horizon, ignoring the bridge years (total kept)."""
    costs = pd.read_csv(folder / "costs.csv")
    sites = pd.read_csv(folder / "sites.csv").set_index("site_id")
    bridged = costs["site_id"].map(sites["bridge_share"]) > 0
    row = costs.index[(costs["item"] == "grid energy") & (costs["usd_per_yr"] > 0) & bridged][0]
    share = sites.loc[costs.loc[row, "site_id"], "bridge_share"]
    extra = costs.loc[row, "usd_per_yr"] * share / (1.0 - share)
    costs.loc[row, "usd_per_yr"] += extra
    fuel = costs.index[(costs["item"] == "fuel and variable O&M") & (costs["site_id"] == costs.loc[row, "site_id"])][0]
    costs.loc[fuel, "usd_per_yr"] -= extra
    costs.to_csv(folder / "costs.csv", index=False)


def _demand_more_carbon_free(folder: Path) -> None:
    """Ask, in the copied scenario, for a carbon-free share above what the plan reaches in its worst hour."""
    dispatch = pd.read_csv(folder / "dispatch.csv")
    worst = (dispatch["carbon_free_mw"] / dispatch["facility_mw"]).min()
    _edit_scenario_options(folder, "constraints", cfe_share=min(1.0, float(worst) + 0.05))


def _overstate_carbon_free(folder: Path) -> None:
    dispatch = pd.read_csv(folder / "dispatch.csv")
    dispatch.loc[0, "carbon_free_mw"] += 0.1 * dispatch.loc[0, "facility_mw"]
    dispatch.to_csv(folder / "dispatch.csv", index=False)


CORRUPTIONS = {
    "grid_mw raised": ("base_plan", _raise_grid_import, "[energy balance]"),
    "grid import beyond interconnection": ("base_plan", _grid_beyond_connection, "[grid]"),
    "delivery row deleted": ("base_plan", _delete_delivery, "[demand]"),
    "one rack added": ("base_plan", _add_rack, "[racks]"),
    "fractional rack": ("base_plan", _fractional_rack, "[racks]"),
    "air cooling under liquid racks": ("base_plan", _air_cooling, "[cooling]"),
    "chips cost moved to infrastructure": ("base_plan", _cheaper_chips, "[costs]"),
    "chat served from a distant site": ("base_plan", _far_delivery, "[latency]"),
    "grid online late, no bridge generation": ("base_plan", _grid_online_late, "[bridge]"),
    "grid online late, bridge power off": ("base_plan", _grid_online_late_without_bridge, "[grid]"),
    "unit-sized plant off its unit size": ("bridge_plan", _unit_fraction, "[unit sizes]"),
    "PUE of one slice tampered": ("base_plan", _tamper_pue, "[pue]"),
    "water over the site limit": ("water_plan", _water_over_limit, "[water]"),
    "calendar day moved to another period": ("base_plan", _move_calendar_day, "[time]"),
    "representative weather changed": ("base_plan", _warmer_profile, "[aggregation error]"),
    "state of charge within a day broken": ("storage_plan", _break_state_of_charge, "[storage]"),
    "storage day start shifted": ("storage_plan", _shift_storage_day, "[storage]"),
    "battery above its energy capacity": ("storage_plan", _overfill_battery, "[storage]"),
    "bridge generation dropped in one slice": ("bridge_plan", _drop_bridge_slice, "[bridge]"),
    "grid energy costed through the bridge years": ("bridge_plan", _grid_energy_all_years, "[costs]"),
    "cfe_share above what the plan reaches": ("cfe_plan", _demand_more_carbon_free, "[cfe]"),
    "carbon_free_mw overstated": ("cfe_plan", _overstate_carbon_free, "[cfe]"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_verifier_catches_corrupted_plan(request, tmp_path: Path, name: str) -> None:
    plan, corrupt, expected = CORRUPTIONS[name]
    folder = tmp_path / "plan"
    shutil.copytree(request.getfixturevalue(plan), folder)
    corrupt(folder)
    verification = verify_plan(folder)
    violations = verification.messages
    assert any(v.startswith(expected) for v in violations), f"{name}: expected a {expected} violation, got {violations}"
    assert not [check.error for check in verification.checks if check.error], violations


def test_verifier_stays_independent_of_the_model(cfe_plan: Path) -> None:
    """The verifier re-derives the formulation: it must not load the model, the solver, the plan exporter or the
    product's cooling (nor pytest: it is a product module)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from optimizer.verify import verify_plan_folder\n"
        f"assert verify_plan_folder({str(cfe_plan)!r}) == []\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyomo', 'highspy', 'pytest') or m.startswith(("
        "'optimizer.model', 'optimizer.inputs.cooling', 'optimizer.inputs.derived', 'optimizer.outputs', "
        "'optimizer.solver', 'optimizer.analysis'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"the verifier imported {result.stdout.strip()}"


def test_verifier_reports_missing_table(base_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    (folder / "power.csv").unlink()
    assert verify_plan_folder(folder) == [f"[files] {folder}: missing power.csv"]
    shutil.copy(base_plan / "power.csv", folder / "power.csv")
    (folder / "scenario" / "days.csv").unlink()
    assert verify_plan_folder(folder) == [f"[files] {folder}: missing scenario/days.csv"]


def test_verifier_reports_unreadable_table(base_plan: Path, tmp_path: Path) -> None:
    """An empty or malformed table is named in a "files" violation, never a traceback."""
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    (folder / "power.csv").write_text("")
    verification = verify_plan(folder)
    assert [check.name for check in verification.checks] == ["files"]
    [message] = verification.messages
    assert message.startswith(f"[files] {folder}: cannot read power.csv: EmptyDataError"), message
    assert verification_table(verification).row_count == 1

    shutil.copy(base_plan / "power.csv", folder / "power.csv")
    pd.read_csv(folder / "sites.csv").drop(columns="built").to_csv(folder / "sites.csv", index=False)
    assert verify_plan_folder(folder) == [f"[files] {folder}: sites.csv has no column 'built'"]


def test_a_failing_check_does_not_stop_the_others(base_plan: Path, tmp_path: Path) -> None:
    """A column only the latency check reads is gone: "values" names the column, the latency check fails naming
    the exception, the others pass."""
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    pd.read_csv(folder / "deliveries.csv").drop(columns="latency_ms").to_csv(folder / "deliveries.csv", index=False)
    verification = verify_plan(folder)
    latency = verification.check("latency")
    assert latency.error == "KeyError: 'latency_ms'"
    assert latency.messages == ["[latency] the check could not finish: KeyError: 'latency_ms'"]
    assert verification.check("values").messages == ["[values] deliveries.csv: no column 'latency_ms'"]
    assert len(verification.checks) == 1 + len(CHECKS)
    assert all(check.ok for check in verification.checks if check.name not in ("latency", "values")), (
        verification.messages
    )


def test_margins_by_hand() -> None:
    """Margins, relative margins, locations and blanks of the verifier's comparisons, worked out by hand."""
    check = Recorder("demo", "a made-up check")
    sites = pd.DataFrame({"site_id": ["a", "b", "c"]})
    check.le("load <= limit", [1.0, 5.0, 2.0], [4.0, 4.0, 2.0], unit="MW", at=sites)
    result = check.result
    # b is 1 MW over its limit; relative to the larger side (5) plus ATOL / RTOL (1)
    assert (result.checked, result.worst_margin, result.unit) == (3, -1.0, "MW")
    assert result.worst_relative == pytest.approx(-1.0 / 6.0)
    assert (result.worst_where, result.worst_rule) == ("site b", "load <= limit")
    assert result.violations == ["site b: load <= limit: 5 exceeds 4"]

    check.eq("cost = recomputed", 10.0, 10.0 + 5e-6, unit="USD", at="summary")  # within RTOL x 10 + ATOL
    assert (result.checked, result.violation_count, result.worst_where) == (4, 1, "site b")
    check.eq("blank = blank", np.nan, np.nan, unit="", at="summary")
    assert result.violation_count == 1
    check.le("load <= blank limit", 1.0, np.nan, unit="MW", at="summary")
    assert (result.worst_margin, result.worst_where, result.violation_count) == (-math.inf, "summary", 2)
    check.rule(False, "a yes/no rule broken")
    assert (result.checked, result.violation_count, result.ok) == (7, 3, False)


#: checks with no item unless the scenario sets their option or the plan builds what they check
OPTIONAL_CHECKS = {"carbon cap", "capex budget", "unit sizes"}
#: checks of yes/no rules only (files readable, cells of the right form): no margin to report
YES_NO_CHECKS = {"files", "values"}


@pytest.mark.parametrize("plan", ["base_plan", "storage_plan", "bridge_plan", "cfe_plan"])
def test_every_check_reports_a_margin_on_a_clean_plan(request, plan: str) -> None:
    verification = verify_plan(request.getfixturevalue(plan))
    assert [check.name for check in verification.checks] == ["files", *(spec.name for spec in CHECKS)]
    for check in verification.checks:
        assert check.ok and not check.error, check.messages
        if check.name in OPTIONAL_CHECKS and check.checked == 0:
            continue
        assert check.checked > 0, check.name
        if check.name in YES_NO_CHECKS:
            continue
        assert check.worst_relative >= -RTOL, (check.name, check.worst_margin, check.worst_where, check.worst_rule)
        assert check.worst_where and check.worst_rule, check.name
    if plan == "storage_plan":  # the only fixture with a carbon cap
        assert verification.check("carbon cap").checked == 2


def test_grid_margin_names_the_import_beyond_the_connection(base_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    dispatch = pd.read_csv(folder / "dispatch.csv")
    row = _first_grid_row(dispatch)
    site, slice_id = dispatch.loc[row, "site_id"], dispatch.loc[row, "slice_id"]
    _grid_beyond_connection(folder)
    imported = pd.read_csv(folder / "dispatch.csv").loc[row, "grid_mw"]
    power = pd.read_csv(folder / "power.csv")
    connection = power.loc[(power["site_id"] == site) & (power["tech_id"] == "grid"), "capacity_mw"].sum()

    grid = verify_plan(folder).check("grid")
    assert not grid.ok
    assert grid.worst_where == f"site {site}, slice {slice_id}"
    assert grid.unit == "MW"
    # the connection built is within the site's grid capacity, so it is the tighter of the two limits
    assert grid.worst_margin == pytest.approx(connection - imported)
    assert grid.worst_margin < 0 and grid.worst_relative < -RTOL


def test_verification_table_has_one_row_per_check(base_plan: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    shutil.copytree(base_plan, folder)
    _raise_grid_import(folder)
    verification = verify_plan(folder)
    table = verification_table(verification)
    assert table.row_count == len(verification.checks) == 1 + len(CHECKS)
    console = Console(record=True, width=300)
    console.print(table)
    text = console.export_text()
    balance = verification.check("energy balance")
    assert f"{balance.violation_count} violations" in text
    for check in verification.checks:
        assert check.name in text


def test_cli_verify_prints_every_check_and_fails_on_a_violation(bridge_plan: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from optimizer.cli import app

    result = CliRunner().invoke(app, ["verify", str(bridge_plan)])
    assert result.exit_code == 0, result.output
    for check in ("energy balance", "grid", "land", "cooling", "latency", "demand", "costs", "usd per mtok"):
        assert f"│ {check} " in result.output, check
    corrupted = tmp_path / "corrupted"
    shutil.copytree(bridge_plan, corrupted)
    _raise_grid_import(corrupted)
    result = CliRunner().invoke(app, ["verify", str(corrupted)])
    assert result.exit_code == 4
    assert "NOT consistent" in result.output and "violation: [grid]" in result.output


# ---- the checks that read what the plan claims beyond its constraints, on a small plan solved in a second


@pytest.fixture(scope="module")
def small_plan(tmp_path_factory) -> Path:
    """Two candidate sites (one built on grid, solar, a unit-sized turbine and a battery), two chips, two workloads."""
    from tests.test_verify_cells import write_small_plan

    return write_small_plan(tmp_path_factory.mktemp("verification_small"))


def _copy(plan: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "plan"
    shutil.copytree(plan, folder)
    return folder


def _set_cell(folder: Path, file: str, column: str, value, row: int = 0) -> None:
    """Write ``value`` into one cell of a plan table, every other cell as it was."""
    table = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    table.loc[row, column] = value if isinstance(value, str) else repr(value)
    table.to_csv(folder / file, index=False)


def _summary(folder: Path) -> pd.Series:
    return pd.read_csv(folder / "summary.csv").iloc[0]


def _bound_above_cost(folder: Path) -> None:
    _set_cell(folder, "summary.csv", "cost_lower_bound_usd_per_yr", 1.01 * _summary(folder)["total_cost_usd_per_yr"])


def _gap_below_bound(folder: Path) -> None:
    """Claim a gap of zero while the bound lies 1 % below the cost (the plan must still say 'optimal')."""
    _set_cell(folder, "summary.csv", "cost_lower_bound_usd_per_yr", 0.99 * _summary(folder)["total_cost_usd_per_yr"])


def _infinite_bound(folder: Path) -> None:
    _set_cell(folder, "summary.csv", "cost_lower_bound_usd_per_yr", "-inf")


def _chip_capex(folder: Path) -> None:
    _set_cell(folder, "chips.csv", "capex_usd", 0.9 * pd.read_csv(folder / "chips.csv").loc[0, "capex_usd"])


def _chip_it_mw(folder: Path) -> None:
    _set_cell(folder, "chips.csv", "it_mw", 2.0 * pd.read_csv(folder / "chips.csv").loc[0, "it_mw"])


def _site_name(folder: Path) -> None:
    _set_cell(folder, "sites.csv", "name", "Somewhere Else")


def _site_moved(folder: Path) -> None:
    _set_cell(folder, "sites.csv", "lat", pd.read_csv(folder / "sites.csv").loc[0, "lat"] + 1.0)


def _map_point_moved(folder: Path) -> None:
    import json

    document = json.loads((folder / "sites.geojson").read_text())
    document["features"][0]["geometry"]["coordinates"][1] += 1.0
    (folder / "sites.geojson").write_text(json.dumps(document))


def _map_cost_changed(folder: Path) -> None:
    import json

    document = json.loads((folder / "sites.geojson").read_text())
    document["features"][0]["properties"]["cost_usd_per_yr"] *= 0.5
    (folder / "sites.geojson").write_text(json.dumps(document))


def _last_allocation_row(folder: Path) -> None:
    """Halve the site's tokens in the last row of a (site, workload) pair that has two rows."""
    allocation = pd.read_csv(folder / "allocation.csv")
    repeated = allocation[allocation.duplicated(["site_id", "workload_id"], keep="first")]
    row = int(repeated.index[-1])
    _set_cell(
        folder,
        "allocation.csv",
        "site_workload_tokens_per_yr",
        0.5 * allocation.loc[row, "site_workload_tokens_per_yr"],
        row,
    )


def _blank_cost(folder: Path) -> None:
    _set_cell(folder, "costs.csv", "usd_per_yr", "")


def _infinite_dispatch(folder: Path) -> None:
    _set_cell(folder, "dispatch.csv", "grid_mw", "inf", row=3)


def _unknown_summary_column(folder: Path) -> None:
    summary = pd.read_csv(folder / "summary.csv")
    summary["made_up_usd"] = 1.0
    summary.to_csv(folder / "summary.csv", index=False)


def _duplicate_chip_row(folder: Path) -> None:
    chips = pd.read_csv(folder / "chips.csv")
    first = chips.iloc[[0]].assign(racks=0.0, chips=0.0, it_mw=0.0, capex_usd=0.0)
    pd.concat([chips, first]).to_csv(folder / "chips.csv", index=False)


def _full_year_peak(folder: Path) -> None:
    _set_cell(folder, "sites.csv", "full_year_peak_pue", 1.5)


def _full_year_ratio(folder: Path) -> None:
    _set_cell(folder, "summary.csv", "full_year_usd_per_mtok", 1.1 * _summary(folder)["full_year_usd_per_mtok"])


def _other_scenario(folder: Path) -> None:
    _set_cell(folder, "summary.csv", "scenario", "not_this_one")


#: each breaks one claim of the small plan; the verifier must name the check and what changed
CLAIM_CORRUPTIONS = {
    "lower bound above the cost": (
        _bound_above_cost,
        "[optimality] summary: cost_lower_bound_usd_per_yr <= total_cost",
    ),
    "gap narrower than cost minus bound": (
        _gap_below_bound,
        "[optimality] summary: total cost - lower bound <= mip_gap",
    ),
    "infinite lower bound": (
        _infinite_bound,
        "[values] summary.csv row 1, column 'cost_lower_bound_usd_per_yr': -inf where a finite number is needed",
    ),
    "plan of another scenario": (_other_scenario, "[optimality] summary.csv: scenario 'not_this_one'"),
    "chip capex understated": (_chip_capex, "[chips table] site a, chip x: capex_usd"),
    "chip IT MW doubled": (_chip_it_mw, "[chips table] site a, chip x: it_mw = racks x rack_power_kw"),
    "site renamed": (_site_name, "[sites] sites.csv site a: name 'Somewhere Else' differs"),
    "site moved": (_site_moved, "[sites] site a: lat (sites.csv) = the scenario copy"),
    "map point moved": (_map_point_moved, "[sites.geojson] site a: sites.geojson point lat = sites.csv"),
    "map cost halved": (_map_cost_changed, "[sites.geojson] site a: sites.geojson cost_usd_per_yr = sites.csv"),
    "tokens of a second allocation row": (
        _last_allocation_row,
        "[tokens] site a, chip y, workload batch: site_workload_tokens_per_yr = recomputed",
    ),
    "blank cost": (
        _blank_cost,
        "[values] costs.csv row 1 (site a, generation capacity), column 'usd_per_yr': blank "
        "where a finite number is needed",
    ),
    "infinite grid import": (
        _infinite_dispatch,
        "[values] dispatch.csv row 4 (site a, slice 3), column 'grid_mw': inf where a finite number is needed",
    ),
    "column outside the data contract": (
        _unknown_summary_column,
        "[values] summary.csv: column 'made_up_usd' is not in the data contract",
    ),
    "a chip row twice": (_duplicate_chip_row, "[structure] chips.csv: 2 rows share their site_id/chip_id"),
    "full-year peak PUE": (_full_year_peak, "[full year] site a: full_year_peak_pue (sites.csv) vs recomputed"),
    "full-year cost per token": (
        _full_year_ratio,
        "[full year] summary: full_year_usd_per_mtok = full_year_total_cost",
    ),
}


@pytest.mark.parametrize("name", list(CLAIM_CORRUPTIONS))
def test_verifier_catches_a_false_claim(small_plan: Path, tmp_path: Path, name: str) -> None:
    corrupt, expected = CLAIM_CORRUPTIONS[name]
    folder = _copy(small_plan, tmp_path)
    corrupt(folder)
    verification = verify_plan(folder)
    assert any(message.startswith(expected) for message in verification.messages), (name, verification.messages)
    assert not [check.error for check in verification.checks if check.error], verification.messages


@pytest.fixture(scope="module")
def ratio_plan(tmp_path_factory) -> Path:
    """One tiny site solved for the least cost per token (the Dinkelbach ratio search), in a second."""
    from optimizer.inputs.scenario import load_scenario
    from optimizer.model import build_model
    from optimizer.outputs.plan import build_plan
    from optimizer.solver.milp import solve
    from tests.tiny import TOKENS_PER_RACK_YR, write_tiny

    root = tmp_path_factory.mktemp("verification_ratio")
    scenario = load_scenario(
        write_tiny(
            root / "inputs",
            options={"objective": {"mode": "min_cost_per_token", "min_demand_share": 0.5}},
            demand=[{"region_id": "r", "workload_id": "chat", "tokens_per_yr": 150.5 * TOKENS_PER_RACK_YR}],
        )
    )
    fm = build_model(scenario)
    return build_plan(fm, solve(fm, scenario.solver, scenario.objective)).write(root / "plan", scenario)


#: each claims a better ratio search than the plan's own; the optimality check must name it
RATIO_CORRUPTIONS = {
    "lambda_lower_bound_usd_per_mtok": (1.1, "[optimality] summary: lambda_lower_bound_usd_per_mtok <= usd_per_mtok"),
    "lambda_usd_per_mtok": (0.9, "[optimality] summary: usd_per_mtok <= lambda_usd_per_mtok of the last step"),
}


@pytest.mark.parametrize("column", list(RATIO_CORRUPTIONS))
def test_verifier_catches_a_false_ratio_claim(ratio_plan: Path, tmp_path: Path, column: str) -> None:
    factor, expected = RATIO_CORRUPTIONS[column]
    assert verify_plan_folder(ratio_plan) == []
    folder = _copy(ratio_plan, tmp_path)
    _set_cell(folder, "summary.csv", column, factor * _summary(folder)["usd_per_mtok"])
    messages = verify_plan_folder(folder)
    assert any(message.startswith(expected) for message in messages), messages


def test_infinite_values_never_agree() -> None:
    """inf - inf is NaN: a comparison of two infinities (or of a huge value with its negative) must fail, not pass."""
    check = Recorder("demo", "infinities")
    check.eq("a = b", math.inf, math.inf, unit="", at="summary")
    check.le("a <= b", math.inf, math.inf, unit="", at="summary")
    check.le("a <= b", -math.inf, 1.0, unit="", at="summary")
    check.eq("a = b", 1e308, -1e308, unit="", at="summary")
    assert check.result.violation_count == 4
    assert check.result.worst_margin == -math.inf


def test_small_plan_passes_every_check(small_plan: Path) -> None:
    verification = verify_plan(small_plan)
    assert verification.ok, verification.messages
    for name in ("values", "sites", "sites.geojson", "chips table", "full year", "optimality"):
        assert verification.check(name).checked > 0, name


# ---- an untrusted folder: read nothing outside it, nothing unbounded, and say why in one line


def _only_files_fail(verification, expected: str) -> None:
    assert [check.name for check in verification.checks] == ["files"], verification.messages
    assert any(expected in message for message in verification.messages), verification.messages
    assert all("\n" not in message for message in verification.messages)


def test_link_out_of_the_folder_is_refused(small_plan: Path, tmp_path: Path) -> None:
    folder = _copy(small_plan, tmp_path)
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(folder / "scenario" / "chips.csv", outside)
    (folder / "scenario" / "chips.csv").unlink()
    (folder / "scenario" / "chips.csv").symlink_to(outside)
    _only_files_fail(verify_plan(folder), f"scenario/chips.csv: a link to {outside}, outside the plan folder")


def test_link_to_a_device_is_refused(small_plan: Path, tmp_path: Path) -> None:
    folder = _copy(small_plan, tmp_path)
    (folder / "summary.csv").unlink()
    (folder / "summary.csv").symlink_to("/dev/zero")
    _only_files_fail(verify_plan(folder), "summary.csv: a link to /dev/zero, outside the plan folder")


def test_fifo_is_refused(small_plan: Path, tmp_path: Path) -> None:
    import os

    folder = _copy(small_plan, tmp_path)
    (folder / "dispatch.csv").unlink()
    os.mkfifo(folder / "dispatch.csv")
    _only_files_fail(verify_plan(folder), "dispatch.csv: plan file is not a regular file")


def test_file_above_the_size_limit_is_refused(small_plan: Path, tmp_path: Path) -> None:
    from optimizer.verify import MAX_PLAN_TABLE_BYTES, MAX_PLAN_YAML_BYTES

    folder = _copy(small_plan, tmp_path)
    with (folder / "dispatch.csv").open("r+b") as file:
        file.truncate(MAX_PLAN_TABLE_BYTES + 1)  # sparse: no disk space is used
    with (folder / "scenario" / "scenario.yaml").open("a") as file:
        file.write("#" * MAX_PLAN_YAML_BYTES)
    verification = verify_plan(folder)
    _only_files_fail(verification, f"dispatch.csv: plan file is {MAX_PLAN_TABLE_BYTES + 1:,} bytes, above the limit")
    _only_files_fail(verification, "scenario.yaml: plan file is")


@pytest.mark.parametrize(
    "key, value",
    [
        ("data", "/etc"),
        ("data", "../.."),
        ("hourly_files", {"a": "/etc/passwd"}),
        ("hourly_files", {"a": "../../../hourly.csv"}),
        ("tables", {"chips": "../../chips.csv"}),
        ("extends", "/work/main/data/scenarios/base.yaml"),
    ],
)
def test_scenario_copy_naming_files_outside_is_refused(small_plan: Path, tmp_path: Path, key: str, value) -> None:
    import yaml

    folder = _copy(small_plan, tmp_path)
    path = folder / "scenario" / "scenario.yaml"
    document = yaml.safe_load(path.read_text())
    document[key] = value
    path.write_text(yaml.safe_dump(document))
    _only_files_fail(verify_plan(folder), "is absolute or leads outside the plan folder")


def test_yaml_bomb_in_the_scenario_copy_is_refused(small_plan: Path, tmp_path: Path) -> None:
    folder = _copy(small_plan, tmp_path)
    laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    laughs += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]" for i in range(8)]
    (folder / "scenario" / "scenario.yaml").write_text("\n".join(laughs) + "\n")
    _only_files_fail(verify_plan(folder), "scenario/scenario.yaml: cannot be read")


def test_folder_with_too_many_entries_is_refused(small_plan: Path, tmp_path: Path) -> None:
    from optimizer.verify import MAX_PLAN_FOLDER_ENTRIES

    folder = _copy(small_plan, tmp_path)
    crowd = folder / "crowd"
    crowd.mkdir()
    for i in range(MAX_PLAN_FOLDER_ENTRIES):
        (crowd / f"{i}.txt").touch()
    _only_files_fail(verify_plan(folder), f"more than {MAX_PLAN_FOLDER_ENTRIES} files and folders: not a plan folder")
