"""The default data behaves like weather and the plan uses it: what a planner checks first.

Solar output of every default site peaks at local solar noon and is zero at night, on the
representative days the model sees; air cooling's PUE is higher in summer than in winter at every
site; a plan that needs storage carries energy from one calendar day to the next; a site's real
8760-hour CSV replaces its synthetic hours.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from optimizer.inputs.cooling import hourly_pue_wue
from optimizer.inputs.profiles import site_sources
from optimizer.inputs.scenario import ScenarioError, load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve

# the time-zone table belongs to the synthetic-weather generator, a data script beside build_weather.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data" / "scripts"))
try:
    from synthetic_weather import standard_utc_offset_h
finally:
    sys.path.pop(0)

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "data" / "scenarios" / "base.yaml"


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASE)


def test_solar_peaks_at_local_noon_and_is_zero_at_night(base):
    """Over the year, each site's solar output is centred on its solar noon in local standard time (a
    clock error of an hour would show); measured years keep their cloud, so the representative days,
    a few days of weather, are only checked for darkness at night."""
    slices, profiles, sites, hourly = (base.tables[t] for t in ("slices", "profiles", "sites", "hourly"))
    for site, row in sites.iterrows():
        solar_year = hourly.loc[site, "solar_cf"]
        by_hour = solar_year.groupby(solar_year.index % 24).sum()
        # local standard time: the sun crosses the meridian 4 minutes later per degree west of the zone's
        noon = 12.0 + (15.0 * standard_utc_offset_h(row["state"], row["lon"]) - row["lon"]) / 15.0
        centre = float(np.average(by_hour.index + 0.5, weights=by_hour))
        assert abs(centre - noon) < 0.3, f"{site}: solar output centred at {centre:.2f} h, solar noon {noon:.2f} h"
        night = profiles.loc[site, "solar_cf"][slices["hour"].isin([0, 1, 2, 3, 22, 23]).to_numpy()]
        assert night.max() == 0.0, f"{site}: solar output at night"


def test_air_cooling_pue_is_higher_in_summer_than_in_winter(base):
    cooling = base.tables["cooling"].loc[["air"]]
    hourly = base.tables["hourly"]
    pue, _ = hourly_pue_wue(cooling, hourly)
    month = pd.to_datetime(hourly.index.get_level_values("hour"), unit="h", origin="2025-01-01").month
    july = pue["air"][month == 7].groupby(level="site_id").mean()
    january = pue["air"][month == 1].groupby(level="site_id").mean()
    assert (july > january).all(), (july - january)[july <= january]


def test_storage_carries_energy_between_days(tmp_path):
    """80 % hourly carbon-free supply at two Northwest sites (their grids about 60 % carbon-free; The Dalles'
    BPA grid, 92 % hour by hour, would need no storage): batteries shift energy across days."""
    document = {
        "extends": str(BASE),
        "time": {"representative_days": 4},
        "constraints": {"allowed_sites": ["quincy_wa", "prineville"], "cfe_share": 0.8},
        "overrides": {"demand": {"*": {"tokens_per_yr": 0}, "seattle/batch_70b": {"tokens_per_yr": 2.0e15}}},
    }
    path = tmp_path / "cfe.yaml"
    path.write_text(yaml.safe_dump(document))
    scenario = load_scenario(path)
    fm = build_model(scenario)
    plan = build_plan(fm, solve(fm, scenario.solver, scenario.objective))
    days = plan.tables["storage_days"]
    assert len(days) > 0, "no storage was built"
    level = days.groupby(["site_id", "storage_id"])["soc_start_mwh"]
    # the level at the start of a day differs between days: energy moves from one day to another
    assert (level.max() - level.min()).max() > 1.0
    assert (plan.tables["sites"].query("built == 1")["cfe_score"] >= 0.8 - 1e-6).all()


def test_a_real_hourly_csv_replaces_a_sites_synthetic_hours(tmp_path):
    hours = np.arange(8760)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2023-01-01", periods=8760, freq="h").strftime("%Y-%m-%d %H:%M"),
            "solar_cf": np.where((hours % 24 >= 8) & (hours % 24 < 16), 0.5, 0.0),
            "temp_c": 25.0,
            "dewpoint_c": 15.0,
        }
    )
    csv = tmp_path / "quincy.csv"
    csv.write_text("# exported from a weather service\n" + frame.to_csv(index=False))
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({"extends": str(BASE), "hourly_files": {"quincy_wa": "quincy.csv"}}))
    hourly = load_scenario(path).tables["hourly"].loc["quincy_wa"]
    assert hourly["solar_cf"].mean() == pytest.approx(0.5 / 3)
    assert (hourly["temp_c"] == 25.0).all()
    assert (hourly["wetbulb_c"] < 25.0).all() and (hourly["wetbulb_c"] > 15.0).all()
    # the site's weather source names the file and what it left of the shipped hours
    sources = site_sources(load_scenario(path).tables["hourly"]).loc["quincy_wa"]
    base_sources = site_sources(load_scenario(BASE).tables["hourly"]).loc["quincy_wa"]
    assert sources["weather_source"] == (
        f"user file quincy.csv (solar_cf, temp_c, wetbulb_c); other columns: {base_sources['weather_source']}"
    )
    assert sources["grid_source"] == base_sources["grid_source"]

    frame.drop(columns="dewpoint_c").to_csv(csv, index=False)
    with pytest.raises(ScenarioError, match=r"quincy\.csv.*temp_c but no humidity"):
        load_scenario(path)
