"""Station-based hourly weather profiles: typical meteorological years (TMY3, TMYx) near a site.

Inputs (read from ``../shared/reference/real_data/``, never copied into the project; see its
README): six NREL TMY3 station files (CSV, the TMY3 metadata header line is missing) and three
TMYx EPW files. :func:`station_table` lists the stations with their coordinates and standard-time
UTC offset; :func:`nearest_station` picks the nearest one within :data:`MAX_STATION_DISTANCE_KM`
of a site; :func:`station_hourly` turns its 8,760 hours into the ``hourly`` columns of that site.
``data/scripts/build_weather.py`` calls these for every site of ``data/sites.geojson``; sites
with no station close enough keep the synthetic year of ``synthetic_weather.py``.

Output of :func:`station_hourly`: ``solar_cf``, ``wind_cf``, ``temp_c``, ``wetbulb_c`` (8,760
values each, hour 0 = 1 January 00:00–01:00 local standard time of the site). These are
*typical* years (each month taken from a different calendar year), not one calendar year.

Method (constants and sources in ``data/SOURCES.md``, section "hourly.csv.gz", table "Measured
weather"):

Time
    TMY3 and EPW rows are hour-ending in the station's local standard time (row 1 = 00:00–01:00);
    the rows are used in file order after checking the calendar (month, day, hour of every row).
    TMYx irradiance lags the sun by about half an hour (checked against clear-sky irradiance):
    it is moved 0.5 h earlier (mean of each hour and the next).
    When the station's standard offset differs from the site's, the series is rolled by the
    difference so that hour 0 is the site's local midnight.
Solar PV
    The same single-axis tracker chain as the synthetic sites (``synthetic_weather._PVSite``: sun
    position at mid-hour at the *site*, tracker angles, IAM, PVWatts losses and inverter), fed
    with the file's GHI, DNI and DHI instead of a synthetic clear-sky index: Hay–Davies
    transposition, SAPM cell temperature with the file's dry-bulb and 10 m wind speed, PVWatts
    DC and inverter. The result is *not* rescaled to the site's ATB class capacity factor.
Wind
    10 m wind speed lifted to :data:`synthetic_weather.HUB_HEIGHT_M` with windpowerlib's Hellman
    power law, exponent :data:`synthetic_weather.WIND_SHEAR_EXPONENT` (1/7), then the same
    turbine power curve and losses as the synthetic sites (``synthetic_weather._wind_cf``). Not
    rescaled to the ATB class either.
Temperature and humidity
    Dry-bulb and dew point from the file (dew point capped at the dry-bulb); relative humidity
    (Magnus) and wet-bulb (Stull 2011) from :mod:`optimizer.inputs.psychrometrics`, as for the
    synthetic sites.

Usage (normally through ``build_weather.py``)::

    python data/scripts/measured_weather.py [--real-data DIR]   # prints the station table
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_weather  # noqa: E402  (beside this script, on sys.path above)

from optimizer.inputs.geo import distance_km  # noqa: E402
from optimizer.inputs.psychrometrics import relative_humidity_percent, wetbulb_c  # noqa: E402

#: default location of the public reference files (outside the project, see COMMON rules)
REAL_DATA_DIR = REPO.parent / "shared" / "reference" / "real_data"
#: a site uses the nearest station within this geodesic (WGS84) distance, else its synthetic year
#: (assumption: ~80 km keeps the station in the same climate on flat terrain; 90 km admits
#: Chicago O'Hare for Mount Pleasant WI at 80-82 km, both on the Lake Michigan plain)
MAX_STATION_DISTANCE_KM = 90.0
#: height of the airport anemometer of TMY3 and EPW files, m (WMO standard exposure)
ANEMOMETER_HEIGHT_M = 10.0
HOURS_PER_YEAR = synthetic_weather.HOURS_PER_YEAR

#: TMY3 files: (file, USAF id, display name, state, lat, lon). Coordinates are the approximate
#: ones of real_data/README.md (the CSV lost the TMY3 header line that carried them).
TMY3_STATIONS = (
    ("TMY3_TN_MEMPHIS_INTERNATIONAL_AP.csv.gz", "723340", "Memphis Intl AP", "TN", 35.06, -89.99),
    ("TMY3_IN_SOUTH_BEND_MICHIANA_RGNL_AP.csv.gz", "725350", "South Bend Michiana Rgnl AP", "IN", 41.71, -86.33),
    ("TMY3_OH_YOUNGSTOWN_REGIONAL_AIRPORT.csv.gz", "725250", "Youngstown Rgnl AP", "OH", 41.25, -80.67),
    ("TMY3_OH_COLUMBUS_PORT_COLUMBUS_INTL_A.csv.gz", "724280", "Columbus Port Columbus Intl AP", "OH", 40.00, -82.88),
    ("TMY3_SD_ABERDEEN_REGIONAL_ARPT.csv.gz", "726590", "Aberdeen Rgnl AP", "SD", 45.45, -98.41),
    ("TMY3_WY_CHEYENNE_MUNICIPAL_ARPT.csv.gz", "725640", "Cheyenne Municipal AP", "WY", 41.16, -104.81),
)
#: TMYx EPW files: (file, display name); id, coordinates, offset and period come from the file
TMYX_STATIONS = (
    ("TMYx_USA_VA_Leesburg.Exec.epw.gz", "Leesburg Exec"),
    ("TMYx_USA_TX_Dallas-Fort.Worth.epw.gz", "Dallas-Fort Worth Intl AP"),
    ("TMYx_USA_IL_Chicago.OHare.epw.gz", "Chicago O'Hare Intl AP"),
)
#: TMYx irradiance lags the sun by about half an hour (diurnal centroid of GHI 0.42-0.50 h after
#: that of clear-sky GHI at mid-hour; TMY3 files -0.11..+0.01 h): each hour takes the mean of itself
#: and the next hour, which moves it 0.5 h earlier (D, see SOURCES.md "Measured weather")
TMYX_IRRADIANCE_SHIFT_H = 0.5
IRRADIANCE_COLUMNS = ("ghi", "dni", "dhi")
#: TMY3 CSV column -> pvlib name (as ``pvlib.iotools.read_tmy3`` maps them)
TMY3_COLUMNS = {
    "GHI (W/m^2)": "ghi",
    "DNI (W/m^2)": "dni",
    "DHI (W/m^2)": "dhi",
    "Dry-bulb (C)": "temp_air",
    "Dew-point (C)": "temp_dew",
    "Wspd (m/s)": "wind_speed",
}
WEATHER_COLUMNS = tuple(TMY3_COLUMNS.values())


@dataclass(frozen=True)
class Station:
    """One typical-year weather file and where it was measured."""

    kind: str  # "TMY3" or "TMYx"
    file: str
    station_id: str
    name: str
    state: str
    lat: float
    lon: float
    utc_offset_h: int
    period: str  # "" for TMY3 (months from 1976-2005), "2007-2021" for TMYx

    @property
    def source(self) -> str:
        """Text of the ``weather_source`` column, e.g. ``TMY3 Memphis Intl AP 723340 (typical year)``."""
        period = f" {self.period}" if self.period else ""
        return f"{self.kind} {self.name} {self.station_id}{period} (typical year)"


def _epw_header(path: Path) -> tuple[list[str], str]:
    """The EPW ``LOCATION`` fields and the ``Period of Record`` of its ``COMMENTS 1`` line."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header = [next(handle) for _ in range(8)]
    location = next(line for line in header if line.startswith("LOCATION")).strip().split(",")
    comments = next((line for line in header if line.startswith("COMMENTS 1")), "")
    match = re.search(r"Period of Record=(\d{4}-\d{4})", comments)
    return location, match.group(1) if match else ""


def station_table(real_data_dir: Path = REAL_DATA_DIR) -> list[Station]:
    """Every station whose file is present in ``real_data_dir`` (none if the folder is absent)."""
    stations = []
    for file, station_id, name, state, lat, lon in TMY3_STATIONS:
        if (real_data_dir / file).is_file():
            offset = synthetic_weather.standard_utc_offset_h(state, lon)
            stations.append(Station("TMY3", file, station_id, name, state, lat, lon, offset, ""))
    for file, name in TMYX_STATIONS:
        path = real_data_dir / file
        if path.is_file():
            location, period = _epw_header(path)
            lat, lon, offset = float(location[6]), float(location[7]), float(location[8])
            stations.append(Station("TMYx", file, location[5], name, location[2], lat, lon, round(offset), period))
    return stations


def station_distances_km(sites: pd.DataFrame, stations: list[Station]) -> pd.DataFrame:
    """Geodesic distance (km) of every site (rows, ``site_id`` index) to every station (columns, file)."""
    frame = pd.DataFrame({"lat": [s.lat for s in stations], "lon": [s.lon for s in stations]})
    frame.index = [s.file for s in stations]
    return distance_km(sites[["lat", "lon"]], frame)


def nearest_station(
    distances_km: pd.Series, stations: list[Station], max_km: float = MAX_STATION_DISTANCE_KM
) -> tuple[Station, float] | None:
    """The station nearest to one site (its row of :func:`station_distances_km`) if within ``max_km``."""
    if distances_km.empty:
        return None
    file = distances_km.idxmin()
    distance = float(distances_km[file])
    if distance > max_km:
        return None
    return next(s for s in stations if s.file == file), distance


def _expected_calendar() -> pd.DataFrame:
    """Month, day and hour-ending (1..24) of the 8,760 rows of a non-leap typical year."""
    days = pd.date_range("2025-01-01", periods=365, freq="D")
    return pd.DataFrame(
        {
            "month": np.repeat(days.month.to_numpy(), 24),
            "day": np.repeat(days.day.to_numpy(), 24),
            "hour": np.tile(np.arange(1, 25), 365),
        }
    )


def _check_calendar(found: pd.DataFrame, path: Path) -> None:
    expected = _expected_calendar()
    if len(found) != HOURS_PER_YEAR:
        raise ValueError(f"{path.name}: {len(found)} rows, expected {HOURS_PER_YEAR}")
    bad = (found[["month", "day", "hour"]].to_numpy() != expected.to_numpy()).any(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{path.name}: row {row + 1} is {found.iloc[row].to_dict()}, expected {expected.iloc[row].to_dict()}"
        )


def read_tmy3(path: Path) -> pd.DataFrame:
    """8,760 rows of a TMY3 CSV in file order with pvlib column names (hour-ending, local standard time).

    The file keeps the TMY3 column header but not the station header line; hour 24 is written
    ``00:00`` on the same date, so the calendar is checked from the text, not parsed as stamps.
    """
    raw = pd.read_csv(path, usecols=["Date (MM/DD/YYYY)", "Time (HH:MM)", *TMY3_COLUMNS])
    date = raw["Date (MM/DD/YYYY)"].str.split("/", expand=True).astype(int)
    hour = raw["Time (HH:MM)"].str.slice(0, 2).astype(int).replace(0, 24)
    _check_calendar(pd.DataFrame({"month": date[0], "day": date[1], "hour": hour}), path)
    return raw.rename(columns=TMY3_COLUMNS)[list(WEATHER_COLUMNS)].reset_index(drop=True)


def read_tmyx(path: Path) -> pd.DataFrame:
    """8,760 rows of an EPW file in file order (``pvlib.iotools.read_epw`` names; hour-ending, standard time)."""
    import pvlib

    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data, _ = pvlib.iotools.read_epw(handle)
    _check_calendar(data[["month", "day", "hour"]].reset_index(drop=True), path)
    return data[list(WEATHER_COLUMNS)].reset_index(drop=True).astype(float)


def read_station(station: Station, real_data_dir: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """The station's 8,760 hours (``ghi``, ``dni``, ``dhi`` W/m², ``temp_air``, ``temp_dew`` °C, ``wind_speed`` m/s).

    TMYx irradiance is moved :data:`TMYX_IRRADIANCE_SHIFT_H` earlier to line up with the sun.
    """
    path = real_data_dir / station.file
    frame = read_tmy3(path) if station.kind == "TMY3" else read_tmyx(path)
    if frame.isna().any().any():
        raise ValueError(f"{station.file}: blank values in {list(frame.columns[frame.isna().any()])}")
    if station.kind == "TMYx":
        frame = _shift_earlier(frame, IRRADIANCE_COLUMNS, TMYX_IRRADIANCE_SHIFT_H)
    return frame


def _shift_earlier(frame: pd.DataFrame, columns: tuple[str, ...], hours: float) -> pd.DataFrame:
    """``columns`` moved ``hours`` (0..1) earlier by linear interpolation with the next hour (cyclic)."""
    out = frame.copy()
    for column in columns:
        values = frame[column].to_numpy(dtype=float)
        out[column] = (1.0 - hours) * values + hours * np.roll(values, -1)
    return out


def pv_ac_per_mw(
    pv: synthetic_weather._PVSite,
    ghi: np.ndarray,
    dni: np.ndarray,
    dhi: np.ndarray,
    temp_c: np.ndarray,
    wind_10m: np.ndarray,
) -> np.ndarray:
    """AC output per MW AC of the synthetic sites' tracker chain, driven by given GHI, DNI, DHI (W/m²).

    Same steps and constants as ``synthetic_weather._PVSite.ac_per_mw`` after its Erbs split.
    """
    import pvlib

    poa = pvlib.irradiance.get_total_irradiance(
        pv.tilt,
        pv.surface_azimuth,
        pv.zenith,
        pv.azimuth,
        dni,
        ghi,
        dhi,
        dni_extra=pv.dni_extra,
        albedo=synthetic_weather.ALBEDO,
        model="haydavies",
    )
    poa_direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float))
    poa_diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=float))
    effective = np.clip(poa_direct * pv.iam + poa_diffuse, 0.0, None)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][synthetic_weather.SAPM_MOUNT]
    cell = pvlib.temperature.sapm_cell(effective, temp_c, wind_10m, **params)
    pdc0 = synthetic_weather.DC_AC_RATIO  # MW DC per MW AC
    dc = pvlib.pvsystem.pvwatts_dc(effective, cell, pdc0, synthetic_weather.GAMMA_PDC_PER_C) * (1.0 - pv.losses)
    efficiency = synthetic_weather.INVERTER_EFFICIENCY
    ac = pvlib.inverter.pvwatts(np.clip(dc, 0.0, None), 1.0 / efficiency, eta_inv_nom=efficiency)
    ac = np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0, None)
    return np.where(pv.sun_up, ac, 0.0)


def hub_height_wind_m_per_s(wind_10m: np.ndarray) -> np.ndarray:
    """10 m wind speed lifted to the hub height with the Hellman power law (windpowerlib)."""
    from windpowerlib.wind_speed import hellman

    return hellman(
        np.asarray(wind_10m, dtype=float),
        ANEMOMETER_HEIGHT_M,
        synthetic_weather.HUB_HEIGHT_M,
        hellman_exponent=synthetic_weather.WIND_SHEAR_EXPONENT,
    )


def station_hourly(weather: pd.DataFrame, lat: float, lon: float, utc_offset_h: int, station: Station) -> pd.DataFrame:
    """``solar_cf``, ``wind_cf``, ``temp_c``, ``wetbulb_c`` of a site at (lat, lon) from a station's hours.

    ``weather`` is :func:`read_station` of ``station``; it is rolled by the difference of standard
    offsets when the station sits in another time zone than the site.
    """
    shift_h = int(utc_offset_h) - int(station.utc_offset_h)
    columns = {c: np.roll(weather[c].to_numpy(dtype=float), shift_h) for c in WEATHER_COLUMNS}
    temp = columns["temp_air"]
    dew = np.minimum(columns["temp_dew"], temp)
    wind_10m = np.clip(columns["wind_speed"], 0.0, None)

    pv = synthetic_weather._PVSite(lat, lon, int(utc_offset_h))
    solar_cf = np.clip(pv_ac_per_mw(pv, columns["ghi"], columns["dni"], columns["dhi"], temp, wind_10m), 0.0, 1.0)
    wind_cf = np.clip(synthetic_weather._wind_cf(hub_height_wind_m_per_s(wind_10m)), 0.0, 1.0)

    rh = np.clip(relative_humidity_percent(temp, dew), 0.0, 100.0)
    wetbulb = np.minimum(wetbulb_c(temp, rh), temp)
    return pd.DataFrame({"solar_cf": solar_cf, "wind_cf": wind_cf, "temp_c": temp, "wetbulb_c": wetbulb})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-data", type=Path, default=REAL_DATA_DIR, help="folder of the reference files")
    args = parser.parse_args()
    stations = station_table(args.real_data)
    if not stations:
        raise SystemExit(f"no station files in {args.real_data}")
    table = pd.DataFrame([vars(s) | {"source": s.source} for s in stations])
    print(table.drop(columns="file").to_string(index=False))


if __name__ == "__main__":
    main()
