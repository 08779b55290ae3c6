"""Tests of the synthetic 8760-hour profiles (data/scripts/synthetic_weather.py), the humidity formulas
(optimizer.inputs.psychrometrics) and the loader of users' hourly CSVs (optimizer.inputs.weather)."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.inputs import psychrometrics
from optimizer.inputs.weather import WeatherFileError, read_site_hourly_csv

REPO = Path(__file__).resolve().parents[1]
HOURLY = REPO / "data" / "hourly.csv.gz"
SCRIPTS = REPO / "data" / "scripts"

# the generator is a data script beside build_weather.py, not part of the optimizer package
sys.path.insert(0, str(SCRIPTS))
try:
    import synthetic_weather
finally:
    sys.path.remove(str(SCRIPTS))

#: three contrasting sites: south-west Texas, northern plains, Pacific north-west (standard time)
SITES = pd.DataFrame(
    [
        dict(
            site_id="south",
            lat=32.449,
            lon=-99.733,
            utc_offset_h=-6,
            solar_cf=0.295,
            wind_cf=0.471,
            temp_jan_c=7.7,
            temp_jul_c=29.2,
            temp_diurnal_range_c=12.8,
            dewpoint_jan_c=-2.2,
            dewpoint_jul_c=16.7,
        ),
        dict(
            site_id="north",
            lat=46.003,
            lon=-98.527,
            utc_offset_h=-6,
            solar_cf=0.241,
            wind_cf=0.482,
            temp_jan_c=-10.9,
            temp_jul_c=22.4,
            temp_diurnal_range_c=12.0,
            dewpoint_jan_c=-15.0,
            dewpoint_jul_c=15.6,
        ),
        dict(
            site_id="west",
            lat=47.234,
            lon=-119.853,
            utc_offset_h=-8,
            solar_cf=0.241,
            wind_cf=0.338,
            temp_jan_c=-1.6,
            temp_jul_c=24.3,
            temp_diurnal_range_c=14.5,
            dewpoint_jan_c=-5.0,
            dewpoint_jul_c=7.2,
        ),
    ]
)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return synthetic_weather.synthetic_hourly(SITES)


def site_frame(hourly: pd.DataFrame, site_id: str) -> pd.DataFrame:
    frame = hourly[hourly["site_id"] == site_id].reset_index(drop=True)
    frame["day"] = frame["hour"] // 24
    frame["hod"] = frame["hour"] % 24
    frame["month"] = (pd.Timestamp("2025-01-01") + pd.to_timedelta(frame["day"], unit="D")).dt.month
    return frame


def solar_noon_standard_time(lon: float, utc_offset_h: int) -> float:
    """Mean local solar noon (h, local standard time): 12 h minus the longitude east of the zone meridian."""
    return 12.0 - (lon - 15.0 * utc_offset_h) / 15.0


# --- shape of the table ---------------------------------------------------------------------------


def test_table_layout(hourly):
    assert list(hourly.columns) == list(synthetic_weather.HOURLY_COLUMNS)
    assert len(hourly) == len(SITES) * 8760
    assert list(hourly["site_id"].unique()) == list(SITES["site_id"])
    for _, frame in hourly.groupby("site_id"):
        assert frame["hour"].tolist() == list(range(8760))
    assert not hourly.isna().any().any()


def test_reproducible_per_site():
    first = synthetic_weather.synthetic_hourly(SITES.iloc[[0]])
    again = synthetic_weather.synthetic_hourly(SITES.iloc[[0]])
    pd.testing.assert_frame_equal(first, again)


# --- solar ------------------------------------------------------------------------------------------


def test_solar_zero_at_night_and_positive_by_day(hourly):
    import pvlib

    for site in SITES.itertuples():
        frame = site_frame(hourly, site.site_id)
        times = pd.date_range("2025-01-01 00:30", periods=8760, freq="h", tz=f"Etc/GMT{-site.utc_offset_h:+d}")
        elevation = pvlib.solarposition.get_solarposition(times, site.lat, site.lon)["apparent_elevation"].to_numpy()
        night = elevation <= 0.0
        assert (frame["solar_cf"].to_numpy()[night] == 0.0).all(), site.site_id
        high_sun = elevation > 15.0
        assert (frame["solar_cf"].to_numpy()[high_sun] > 0.0).all(), site.site_id
        assert (frame.loc[frame["hod"].isin([0, 1, 2, 23]), "solar_cf"] == 0.0).all()


def test_solar_peaks_at_local_solar_noon(hourly):
    for site in SITES.itertuples():
        profile = site_frame(hourly, site.site_id).groupby("hod")["solar_cf"].mean().to_numpy()
        noon = solar_noon_standard_time(site.lon, site.utc_offset_h)
        centroid = float(((np.arange(24) + 0.5) * profile).sum() / profile.sum())
        assert abs(centroid - noon) < 0.25, (site.site_id, centroid, noon)
        # a tracker's output is a plateau (its argmax is ill-defined: hotter afternoons tilt it a little
        # toward the morning): the hour containing solar noon is on it, and its middle is within 1 h
        assert profile[int(noon)] >= 0.95 * profile.max(), site.site_id
        plateau = np.flatnonzero(profile >= 0.9 * profile.max())
        assert abs((plateau[0] + plateau[-1] + 1) / 2.0 - noon) <= 1.0, (site.site_id, plateau, noon)
        # morning and afternoon roughly mirror each other about solar noon
        assert abs(profile[: int(noon)].sum() - profile[int(noon) + 1 :].sum()) < 0.1 * profile.sum()


def test_solar_annual_cf_equals_target(hourly):
    for site in SITES.itertuples():
        frame = site_frame(hourly, site.site_id)
        assert frame["solar_cf"].mean() == pytest.approx(site.solar_cf, abs=1e-3)
        assert frame["solar_cf"].between(0.0, 1.0).all()


def test_solar_winter_summer_ratio_follows_latitude(hourly):
    ratios = {}
    for site in SITES.itertuples():
        frame = site_frame(hourly, site.site_id)
        monthly = frame.groupby("month")["solar_cf"].mean()
        ratios[site.site_id] = monthly[12] / monthly[6]
    assert 0.3 < ratios["south"] < 0.7
    assert 0.08 < ratios["north"] < 0.4 and 0.08 < ratios["west"] < 0.4
    assert ratios["north"] < ratios["south"] and ratios["west"] < ratios["south"]


def test_solar_days_differ(hourly):
    """Synthetic clouds: June days must not all be the same (storage and clustering need it)."""
    frame = site_frame(hourly, "north")
    june = frame[frame["month"] == 6].groupby("day")["solar_cf"].sum()
    assert june.std() / june.mean() > 0.1
    assert june.min() < 0.6 * june.max()


# --- wind -------------------------------------------------------------------------------------------


def test_wind_annual_cf_range_and_night_peak(hourly):
    for site in SITES.itertuples():
        frame = site_frame(hourly, site.site_id)
        assert frame["wind_cf"].mean() == pytest.approx(site.wind_cf, abs=1e-3)
        assert frame["wind_cf"].between(0.0, 1.0).all()
        night = frame.loc[frame["hod"].between(0, 5), "wind_cf"].mean()
        afternoon = frame.loc[frame["hod"].between(12, 17), "wind_cf"].mean()
        assert night > afternoon, site.site_id
        daily = frame.groupby("day")["wind_cf"].mean()
        assert daily.std() > 0.1  # calm and windy days


def test_wind_seasons(hourly):
    """Winter and spring windier than summer, averaged over the sites (single sites are noisy)."""
    frames = pd.concat(site_frame(hourly, s) for s in SITES["site_id"])
    by_month = frames.groupby("month")["wind_cf"].mean()
    assert by_month[[1, 2, 3, 4]].mean() > by_month[[7, 8]].mean()


def test_wind_reaches_target_or_says_why():
    impossible = SITES.iloc[[0]].assign(wind_cf=0.95)
    with pytest.raises(ValueError, match="not reachable"):
        synthetic_weather.synthetic_hourly(impossible)


# --- temperature and humidity ------------------------------------------------------------------------


def test_temperature_seasons_and_diurnal_cycle(hourly):
    for site in SITES.itertuples():
        frame = site_frame(hourly, site.site_id)
        monthly = frame.groupby("month")["temp_c"].mean()
        assert monthly[7] - monthly[1] == pytest.approx(site.temp_jul_c - site.temp_jan_c, abs=4.0)
        assert frame["temp_c"].mean() == pytest.approx((site.temp_jan_c + site.temp_jul_c) / 2, abs=2.0)
        assert frame.groupby("hod")["temp_c"].mean().idxmax() in (14, 15, 16)
        diurnal = frame.groupby("day")["temp_c"].agg(lambda t: t.max() - t.min()).mean()
        assert diurnal == pytest.approx(site.temp_diurnal_range_c, rel=0.3)


def test_wetbulb_not_above_drybulb(hourly):
    assert (hourly["wetbulb_c"] <= hourly["temp_c"]).all()
    assert (hourly["wetbulb_c"] < hourly["temp_c"] - 0.5).mean() > 0.8  # not saturated all the time
    humid = site_frame(hourly, "south")
    dry = site_frame(hourly, "west")
    july = humid["month"] == 7
    # humid Texas July: wet-bulb depression smaller than in the dry north-west relative to temperature
    assert humid.loc[july, "wetbulb_c"].mean() > dry.loc[dry["month"] == 7, "wetbulb_c"].mean()


def test_wetbulb_capped_where_stull_extrapolates():
    """Below about −25 °C Stull's fit can exceed the dry-bulb; the output is capped."""
    assert float(psychrometrics.wetbulb_c(-35.0, 60.0)) > -35.0
    arctic = SITES.iloc[[1]].assign(
        site_id="arctic", temp_jan_c=-35.0, temp_jul_c=5.0, dewpoint_jan_c=-40.0, dewpoint_jul_c=0.0
    )
    table = synthetic_weather.synthetic_hourly(arctic)
    assert (table["wetbulb_c"] <= table["temp_c"]).all()


def test_stull_and_magnus_values():
    assert float(psychrometrics.wetbulb_c(20.0, 50.0)) == pytest.approx(13.7, abs=0.1)
    assert float(psychrometrics.relative_humidity_percent(20.0, 20.0)) == pytest.approx(100.0)
    assert float(psychrometrics.relative_humidity_percent(25.0, 15.0)) == pytest.approx(53.8, abs=0.3)
    values = psychrometrics.wetbulb_c(np.array([20.0, 30.0]), np.array([50.0, 100.0]))
    assert values.shape == (2,) and values[1] == pytest.approx(30.0, abs=0.7)


def test_standard_time_zones():
    assert synthetic_weather.standard_utc_offset_h("TX", -99.7) == -6  # Abilene: Central, not round(lon/15) = -7
    assert synthetic_weather.standard_utc_offset_h("TX", -106.5) == -7  # El Paso: Mountain
    assert synthetic_weather.standard_utc_offset_h("OH", -82.8) == -5
    assert synthetic_weather.standard_utc_offset_h("ND", -98.5) == -6
    assert synthetic_weather.standard_utc_offset_h(None, -90.0) == -6


# --- loader ---------------------------------------------------------------------------------------------


def write(path: Path, frame: pd.DataFrame, comments: tuple[str, ...] = ()) -> Path:
    with path.open("w") as handle:
        for line in comments:
            handle.write(line + "\n")
        frame.to_csv(handle, index=False)
    return path


@pytest.fixture()
def good(hourly) -> pd.DataFrame:
    frame = hourly[hourly["site_id"] == "south"].drop(columns="site_id").reset_index(drop=True)
    return frame.round({"solar_cf": 4, "wind_cf": 4, "temp_c": 2, "wetbulb_c": 2})


def test_loader_round_trip(tmp_path, good):
    path = write(tmp_path / "site.csv", good.sample(frac=1.0, random_state=1))  # any row order
    loaded = read_site_hourly_csv(path, "south")
    assert list(loaded.columns) == ["site_id", "hour", "solar_cf", "wind_cf", "temp_c", "wetbulb_c"]
    assert (loaded["site_id"] == "south").all()
    pd.testing.assert_frame_equal(loaded.drop(columns="site_id"), good, check_dtype=False)


def test_loader_renewables_ninja_style(tmp_path, good):
    stamps = pd.date_range("2019-01-01 00:00", periods=8760, freq="h")
    frame = pd.DataFrame(
        {
            "time": (stamps + pd.Timedelta(hours=6)).strftime("%Y-%m-%d %H:%M"),
            "local_time": stamps.strftime("%Y-%m-%d %H:%M"),
            "solar_cf": good["solar_cf"],
            "t2m": good["temp_c"],
        }
    )
    comments = (
        "# Renewables.ninja PV (hourly data, 2019) - https://www.renewables.ninja",
        "# Units: time in UTC, local_time in local time, electricity in kW",
        '# {"params": {"lat": 32.4, "lon": -99.7, "capacity": 1.0}}',
    )
    path = write(tmp_path / "ninja.csv", frame, comments)
    with pytest.warns(UserWarning, match="t2m"):
        loaded = read_site_hourly_csv(path, "south")
    assert list(loaded.columns) == ["site_id", "hour", "solar_cf"]
    np.testing.assert_allclose(loaded["solar_cf"], good["solar_cf"])


def test_loader_leap_year_timestamps_and_dewpoint(tmp_path):
    # local clock time with daylight saving, written with its UTC offset (-06:00 in winter, -05:00 in summer)
    stamps = pd.date_range("2020-01-01 06:00", periods=8784, freq="h", tz="UTC").tz_convert("America/Chicago")
    temp = 15.0 + 10.0 * np.sin(np.arange(8784) / 500.0)
    frame = pd.DataFrame(
        {"local_time": stamps.astype(str), "temp_c": temp, "dewpoint_c": temp - 8.0, "grid_price_usd_per_mwh": 40.0}
    )
    path = write(tmp_path / "leap.csv", frame)
    with pytest.warns(UserWarning, match="29 February"):
        loaded = read_site_hourly_csv(path, "x")
    assert len(loaded) == 8760 and loaded["hour"].tolist() == list(range(8760))
    assert list(loaded.columns) == ["site_id", "hour", "temp_c", "wetbulb_c", "grid_price_usd_per_mwh"]
    assert (loaded["wetbulb_c"] < loaded["temp_c"]).all()
    # daylight saving is undone: 1 March 00:00 CST is the first hour after the dropped leap day
    assert loaded.loc[loaded["hour"] == 59 * 24, "temp_c"].item() == pytest.approx(temp[60 * 24])
    assert loaded.loc[loaded["hour"] == 200 * 24, "temp_c"].item() == pytest.approx(temp[201 * 24])


def expect_error(path: Path, line: int, column: str | None, *fragments: str) -> str:
    with pytest.raises(WeatherFileError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_site_hourly_csv(path, "s")
    message = str(caught.value)
    assert str(path) in message
    assert f"line {line}" in message, message
    if column is not None:
        assert f"'{column}'" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_loader_short_file(tmp_path, good):
    path = write(tmp_path / "short.csv", good.iloc[:-1])
    expect_error(path, 8760, "hour", "8759 hourly rows", "8760")


def test_loader_duplicate_hour(tmp_path, good):
    frame = good.copy()
    frame.loc[101, "hour"] = 100  # row index 101 is on file line 103 (header is line 1)
    path = write(tmp_path / "dup.csv", frame)
    expect_error(path, 103, "hour", "duplicate hour 100")


def test_loader_hour_out_of_range(tmp_path, good):
    frame = good.copy()
    frame.loc[5, "hour"] = 8760
    expect_error(write(tmp_path / "range.csv", frame), 7, "hour", "0..8759")


def test_loader_percent_cf(tmp_path, good):
    frame = good.copy()
    frame["wind_cf"] = frame["wind_cf"] * 100.0
    first = int(np.flatnonzero(frame["wind_cf"] > 1.001)[0])
    expect_error(write(tmp_path / "percent.csv", frame), first + 2, "wind_cf", "percent")


def test_loader_kw_cf(tmp_path, good):
    frame = good.copy()
    frame["solar_cf"] = frame["solar_cf"] * 1000.0
    first = int(np.flatnonzero(frame["solar_cf"] > 1.001)[0])
    expect_error(write(tmp_path / "kw.csv", frame), first + 2, "solar_cf", "1000 kW")


def test_loader_kelvin_and_fahrenheit(tmp_path, good):
    frame = good.copy()
    frame["temp_c"] = frame["temp_c"] + 273.15
    frame["wetbulb_c"] = frame["wetbulb_c"] + 273.15
    expect_error(write(tmp_path / "kelvin.csv", frame, ("# exported",)), 3, "temp_c", "kelvin")
    frame = good.copy()
    frame["temp_c"] = frame["temp_c"] * 1.8 + 32.0
    frame = frame.drop(columns="wetbulb_c")
    first = int(np.flatnonzero(frame["temp_c"] > 60.0)[0])
    expect_error(write(tmp_path / "fahrenheit.csv", frame), first + 2, "temp_c", "°F")


def test_loader_wetbulb_above_drybulb(tmp_path, good):
    frame = good.copy()
    frame.loc[300, "wetbulb_c"] = frame.loc[300, "temp_c"] + 2.0
    expect_error(write(tmp_path / "wb.csv", frame), 302, "wetbulb_c", "above the dry-bulb")


def test_loader_text_in_number(tmp_path, good):
    frame = good.astype({"temp_c": object})
    frame.loc[42, "temp_c"] = "n/a"
    message = expect_error(write(tmp_path / "text.csv", frame, ("# a", "# b")), 46, "temp_c", "'n/a'")
    assert "number" in message
    frame.loc[42, "temp_c"] = ""
    expect_error(write(tmp_path / "empty.csv", frame), 44, "temp_c", "empty")


def test_loader_unknown_column_near_miss(tmp_path, good):
    frame = good.rename(columns={"wind_cf": "wnd_cf"})
    expect_error(write(tmp_path / "typo.csv", frame, ("# comment",)), 2, "wnd_cf", "did you mean 'wind_cf'")


def test_loader_no_recognised_column(tmp_path, good):
    frame = pd.DataFrame({"hour": good["hour"], "electricity": good["solar_cf"]})
    message = expect_error(write(tmp_path / "none.csv", frame), 1, None, "accepted columns", "solar_cf")
    assert "electricity" in message


def test_loader_price_and_co2_rules(tmp_path, good):
    base = pd.DataFrame({"hour": good["hour"], "grid_price_usd_per_mwh": 0.05, "grid_co2_kg_per_mwh": 400.0})
    expect_error(write(tmp_path / "kwh.csv", base), 2, "grid_price_usd_per_mwh", "USD/kWh")
    frame = base.assign(grid_price_usd_per_mwh=50.0)
    frame.loc[10, "grid_price_usd_per_mwh"] = -5.0  # negative wholesale prices are real data
    assert read_site_hourly_csv(write(tmp_path / "neg.csv", frame), "s")["grid_price_usd_per_mwh"].min() == -5.0
    frame.loc[10, "grid_price_usd_per_mwh"] = -5000.0
    expect_error(write(tmp_path / "neg.csv", frame), 12, "grid_price_usd_per_mwh", "implausible")
    frame = base.assign(grid_price_usd_per_mwh=50.0, grid_co2_kg_per_mwh=2500.0)
    expect_error(write(tmp_path / "co2.csv", frame), 2, "grid_co2_kg_per_mwh", "implausible")


def test_loader_rh_rules(tmp_path, good):
    frame = good[["hour", "temp_c"]].assign(rh_percent=0.5)
    expect_error(write(tmp_path / "fraction.csv", frame), 2, "rh_percent", "fraction")
    frame = frame.assign(rh_percent=50.0)
    frame.loc[7, "rh_percent"] = 150.0
    expect_error(write(tmp_path / "rh.csv", frame), 9, "rh_percent", "0..100")
    frame.loc[7, "rh_percent"] = 50.0
    loaded = read_site_hourly_csv(write(tmp_path / "rh_ok.csv", frame), "s")
    assert (loaded["wetbulb_c"] <= loaded["temp_c"]).all()


# --- the committed dataset ---------------------------------------------------------------------------


def test_committed_hourly_table():
    assert HOURLY.exists(), "run python data/scripts/build_weather.py"
    table = pd.read_csv(HOURLY)
    features = json.loads((REPO / "data" / "sites.geojson").read_text())["features"]
    site_ids = [feature["properties"]["site_id"] for feature in features]
    assert list(table.columns) == [
        *synthetic_weather.HOURLY_COLUMNS,
        "grid_co2_kg_per_mwh",
        "grid_cfe_share",
        "weather_source",
        "grid_source",
    ]
    assert len(table) == len(site_ids) * 8760
    assert not table[list(synthetic_weather.HOURLY_COLUMNS)].isna().any().any()
    assert list(table["site_id"].drop_duplicates()) == site_ids
    assert (table["hour"].to_numpy() == np.tile(np.arange(8760), len(site_ids))).all()
    assert table["solar_cf"].between(0, 1).all() and table["wind_cf"].between(0, 1).all()
    assert (table["wetbulb_c"] <= table["temp_c"]).all()

    # one weather and one grid source per site; grid columns blank exactly where eGRID applies
    per_site = table.groupby("site_id")[["weather_source", "grid_source"]].nunique()
    assert (per_site == 1).all().all()
    egrid = table["grid_source"] == "eGRID2023rev2 annual"
    assert table.loc[egrid, ["grid_co2_kg_per_mwh", "grid_cfe_share"]].isna().all().all()
    assert table.loc[~egrid, ["grid_co2_kg_per_mwh", "grid_cfe_share"]].notna().all().all()
    assert table.loc[~egrid, "grid_cfe_share"].between(0, 1).all()
    assert table.loc[~egrid, "grid_co2_kg_per_mwh"].between(0, 2000).all()

    sys.path.insert(0, str(REPO / "data" / "scripts"))
    try:
        from build_sites import PV_CF_BY_CLASS, WIND_CF_BY_CLASS
    finally:
        sys.path.pop(0)
    classes = pd.read_csv(REPO / "data" / "scripts" / "site_attributes.csv").set_index("site_id")
    means = table.groupby("site_id")[["solar_cf", "wind_cf"]].mean()
    targets = pd.DataFrame(
        {"solar_cf": classes["pv_class"].map(PV_CF_BY_CLASS), "wind_cf": classes["wind_class"].map(WIND_CF_BY_CLASS)}
    ).loc[means.index]
    synthetic = table.groupby("site_id")["weather_source"].first() == "synthetic"
    # synthetic sites hit their ATB class values; measured typical years are not rescaled
    assert np.abs(means[synthetic] - targets[synthetic]).to_numpy().max() < 1e-3
    assert (means[~synthetic]["solar_cf"] > 0.15).all() and (means[~synthetic]["wind_cf"] > 0.1).all()


REAL_DATA = REPO.parent / "shared" / "reference" / "real_data"


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="the shared measured-weather files are not beside the project")
def test_measured_sites_rebuild_from_the_shared_files(tmp_path):
    """Every site whose committed hours are measured (and one with hourly EIA-930 grid values) comes out of
    data/scripts/build_weather.py again, value for value, from ../shared/reference/real_data."""
    import subprocess

    committed = pd.read_csv(HOURLY)
    sources = committed.groupby("site_id", sort=False)[["weather_source", "grid_source"]].first()
    measured = list(sources.index[sources["weather_source"] != "synthetic"])
    assert len(measured) >= 10, measured
    out = tmp_path / "rebuilt.csv.gz"
    subprocess.run(
        [sys.executable, str(REPO / "data" / "scripts" / "build_weather.py"), "--only", *measured, "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    rebuilt = pd.read_csv(out)
    expected = committed[committed["site_id"].isin(measured)].reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt, expected)
    assert rebuilt["grid_source"].str.startswith("EIA-930").any()
