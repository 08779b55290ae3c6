"""Build ``data/hourly.csv.gz`` — 8760-hour weather and grid profiles for every site.

Reads ``data/sites.geojson`` (site_id, state, iso, lon/lat, annual eGRID values) and
``data/scripts/site_attributes.csv`` (pv_class, wind_class, temperature and dew-point normals).
For each site:

weather
    If a typical-meteorological-year station of ``../shared/reference/real_data/`` lies within
    ``measured_weather.MAX_STATION_DISTANCE_KM``, the site's solar, wind, dry- and wet-bulb hours
    come from that station (:func:`measured_weather.station_hourly`, *not* rescaled to the ATB
    class capacity factors). Otherwise the synthetic year of
    :func:`synthetic_weather.synthetic_hourly` (unchanged method: ATB class capacity factors and
    climate normals) is used. Column ``weather_source`` names the station or says ``synthetic``.
grid
    If the site's balancing area has an EIA-930 2022 file there (:mod:`grid_hourly`), hourly
    ``grid_co2_kg_per_mwh`` and ``grid_cfe_share``; otherwise both are blank and the loader uses
    the site's annual eGRID values. Column ``grid_source`` says which.

Each site runs on its legal standard time zone (:func:`synthetic_weather.standard_utc_offset_h`
from state and longitude); hour 0 = 1 January 00:00–01:00 local standard time. Sources and
constants: ``data/SOURCES.md``, section "hourly.csv.gz". The output is reproducible byte for
byte (gzip header time 0). Without the reference folder every site falls back to synthetic
weather and eGRID (a warning says so).

Usage::

    python data/scripts/build_weather.py [--sites data/sites.geojson] [--attributes FILE]
                                         [--real-data DIR] [--out data/hourly.csv.gz]
                                         [--only SITE_ID ...]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import grid_hourly  # noqa: E402  (beside this script, on sys.path above)
import measured_weather  # noqa: E402
import synthetic_weather  # noqa: E402
from build_sites import PV_CF_BY_CLASS, WIND_CF_BY_CLASS  # noqa: E402

ATTRIBUTE_COLUMNS = [
    "site_id",
    "pv_class",
    "wind_class",
    "temp_jan_c",
    "temp_jul_c",
    "temp_diurnal_range_c",
    "dewpoint_jan_c",
    "dewpoint_jul_c",
]
WEATHER_COLUMNS = ["solar_cf", "wind_cf", "temp_c", "wetbulb_c"]
GRID_COLUMNS = ["grid_co2_kg_per_mwh", "grid_cfe_share"]
OUTPUT_COLUMNS = ["site_id", "hour", *WEATHER_COLUMNS, *GRID_COLUMNS, "weather_source", "grid_source"]
ROUNDING = {"solar_cf": 4, "wind_cf": 4, "temp_c": 2, "wetbulb_c": 2, "grid_co2_kg_per_mwh": 1, "grid_cfe_share": 4}
SYNTHETIC_SOURCE = "synthetic"
#: thresholds of the per-site summary (hours above them)
HOT_DRY_BULB_C = 30.0
HUMID_WET_BULB_C = 24.0


def site_inputs(sites_path: Path, attributes_path: Path) -> pd.DataFrame:
    """One row per site in sites.geojson order with every input of ``synthetic_hourly`` and the grid."""
    sites = gpd.read_file(sites_path)
    frame = pd.DataFrame(
        {
            "site_id": sites["site_id"],
            "state": sites["state"],
            "iso": sites["iso"],
            "lat": sites.geometry.y,
            "lon": sites.geometry.x,
            "egrid_co2_kg_per_mwh": sites["grid_co2_kg_per_mwh"],
            "egrid_cfe_share": sites["grid_cfe_share"],
        }
    )
    attributes = pd.read_csv(attributes_path)
    missing = [c for c in ATTRIBUTE_COLUMNS if c not in attributes.columns]
    if missing:
        raise SystemExit(f"{attributes_path} lacks columns {missing}")
    unmatched = set(frame["site_id"]) - set(attributes["site_id"])
    if unmatched:
        raise SystemExit(f"{attributes_path} has no row for {sorted(unmatched)}")
    frame = frame.merge(attributes[ATTRIBUTE_COLUMNS], on="site_id", how="left", validate="one_to_one")
    frame["solar_cf"] = frame["pv_class"].map(PV_CF_BY_CLASS)
    frame["wind_cf"] = frame["wind_class"].map(WIND_CF_BY_CLASS)
    frame["utc_offset_h"] = [
        synthetic_weather.standard_utc_offset_h(state, lon)
        for state, lon in zip(frame["state"], frame["lon"], strict=True)
    ]
    blank = frame.isna().any(axis=1)
    if blank.any():
        raise SystemExit("blank or unknown class in:\n" + frame[blank].to_string())
    return frame


@functools.cache
def _station_weather(station: measured_weather.Station, real_data_dir: Path) -> pd.DataFrame:
    return measured_weather.read_station(station, real_data_dir)


def site_weather(site: pd.DataFrame, station: measured_weather.Station | None, real_data_dir: Path) -> pd.DataFrame:
    """The four weather columns of one site (a one-row frame of ``site_inputs``): from ``station``, else synthetic."""
    if station is None:
        return synthetic_weather.synthetic_hourly(site)[WEATHER_COLUMNS].reset_index(drop=True)
    site = site.iloc[0]
    weather = _station_weather(station, real_data_dir)
    return measured_weather.station_hourly(weather, float(site.lat), float(site.lon), int(site.utc_offset_h), station)


def site_grid(site: pd.Series, assignment: grid_hourly.GridAssignment, real_data_dir: Path) -> pd.DataFrame:
    """The two grid columns of one site: hourly EIA-930 values, or blank (the loader uses eGRID)."""
    if assignment.balancing_area is None:
        return pd.DataFrame(np.nan, index=range(synthetic_weather.HOURS_PER_YEAR), columns=GRID_COLUMNS)
    hours = grid_hourly.site_grid_hours(assignment.balancing_area, int(site.utc_offset_h), real_data_dir)
    return hours[GRID_COLUMNS].reset_index(drop=True)


def choose_sources(inputs: pd.DataFrame, real_data_dir: Path) -> pd.DataFrame:
    """Per site: nearest station and its distance, weather station used (or None) and grid assignment."""
    stations = measured_weather.station_table(real_data_dir)
    areas = grid_hourly.available_areas(real_data_dir)
    if not stations or not areas:
        print(f"warning: no station or EIA-930 files in {real_data_dir}: synthetic weather / eGRID only")
    rows = []
    indexed = inputs.set_index("site_id")
    distances = measured_weather.station_distances_km(indexed, stations) if stations else None
    for site_id, site in indexed.iterrows():
        nearest_name, nearest_km, station = "", np.nan, None
        if distances is not None:
            row = distances.loc[site_id]
            nearest = next(s for s in stations if s.file == row.idxmin())
            nearest_name, nearest_km = f"{nearest.kind} {nearest.name}", float(row.min())
            found = measured_weather.nearest_station(row, stations)
            station = found[0] if found else None
        assignment = grid_hourly.assign_balancing_area(site_id, site.iso, site.state, areas)
        rows.append(
            {
                "site_id": site_id,
                "nearest_station": nearest_name,
                "nearest_km": nearest_km,
                "station": station,
                "grid": assignment,
            }
        )
    return pd.DataFrame(rows).set_index("site_id")


def build_hourly(inputs: pd.DataFrame, sources: pd.DataFrame, real_data_dir: Path) -> pd.DataFrame:
    """The ``hourly`` table (unrounded) for every site of ``inputs``, in its order."""
    try:
        from tqdm import tqdm

        rows = tqdm(range(len(inputs)), desc="sites", unit="site")
    except ImportError:  # progress bar is optional
        rows = range(len(inputs))
    parts = []
    for i in rows:
        site = inputs.iloc[i]
        station, assignment = sources.loc[site.site_id, "station"], sources.loc[site.site_id, "grid"]
        weather = site_weather(inputs.iloc[[i]], station, real_data_dir)
        part = pd.concat([weather, site_grid(site, assignment, real_data_dir)], axis=1)
        part.insert(0, "hour", np.arange(synthetic_weather.HOURS_PER_YEAR))
        part.insert(0, "site_id", site.site_id)
        part["weather_source"] = station.source if station is not None else SYNTHETIC_SOURCE
        part["grid_source"] = assignment.source
        parts.append(part[OUTPUT_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def summary(hourly: pd.DataFrame, inputs: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Per site: sources, annual CFs against the ATB class values, temperatures, grid against eGRID."""
    grouped = hourly.groupby("site_id", sort=False)
    stats = grouped.agg(
        solar_cf=("solar_cf", "mean"),
        wind_cf=("wind_cf", "mean"),
        temp_min=("temp_c", "min"),
        temp_max=("temp_c", "max"),
        wetbulb_max=("wetbulb_c", "max"),
        co2_mean=("grid_co2_kg_per_mwh", "mean"),
        cfe_mean=("grid_cfe_share", "mean"),
    )
    stats["h_above_30c"] = grouped["temp_c"].apply(lambda t: int((t > HOT_DRY_BULB_C).sum()))
    stats["h_wb_above_24c"] = grouped["wetbulb_c"].apply(lambda t: int((t > HUMID_WET_BULB_C).sum()))
    targets = inputs.set_index("site_id")
    station = sources["station"].map(lambda s: f"{s.kind} {s.name}" if s is not None else SYNTHETIC_SOURCE)
    stats.insert(0, "weather", station)
    stats.insert(1, "km", sources["nearest_km"].where(sources["station"].notna()))
    stats.insert(2, "utc", targets["utc_offset_h"])
    stats.insert(4, "solar_class", targets["solar_cf"])
    stats.insert(6, "wind_class", targets["wind_cf"])
    stats["grid"] = sources["grid"].map(lambda a: a.balancing_area or "eGRID")
    stats["co2_egrid"] = targets["egrid_co2_kg_per_mwh"]
    stats["cfe_egrid"] = targets["egrid_cfe_share"]
    return stats


def assignments_table(sources: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    """Per site: iso, nearest station and distance, balancing area and the reason (for SOURCES.md)."""
    targets = inputs.set_index("site_id")
    return pd.DataFrame(
        {
            "iso": targets["iso"],
            "nearest_station": sources["nearest_station"],
            "km": sources["nearest_km"].round(1),
            "weather": sources["station"].map(lambda s: "measured" if s is not None else SYNTHETIC_SOURCE),
            "grid": sources["grid"].map(lambda a: a.source),
            "why": sources["grid"].map(lambda a: a.reason),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=Path, default=REPO / "data" / "sites.geojson", help="sites GeoJSON")
    parser.add_argument(
        "--attributes",
        type=Path,
        default=Path(__file__).resolve().parent / "site_attributes.csv",
        help="per-site attribute table (classes, temperature and dew-point normals)",
    )
    parser.add_argument(
        "--real-data", type=Path, default=measured_weather.REAL_DATA_DIR, help="folder of TMY and EIA-930 files"
    )
    parser.add_argument("--out", type=Path, default=REPO / "data" / "hourly.csv.gz", help="gzip CSV to write")
    parser.add_argument("--only", nargs="+", metavar="SITE_ID", help="build only these sites (for a quick look)")
    args = parser.parse_args()

    inputs = site_inputs(args.sites, args.attributes)
    if args.only:
        unknown = set(args.only) - set(inputs["site_id"])
        if unknown:
            raise SystemExit(f"unknown site ids: {sorted(unknown)}")
        inputs = inputs[inputs["site_id"].isin(args.only)]

    started = time.perf_counter()
    sources = choose_sources(inputs, args.real_data)
    hourly = build_hourly(inputs, sources, args.real_data)
    elapsed = time.perf_counter() - started

    hourly = hourly.round(ROUNDING)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0 keeps the gzip header, and so the file, identical from one build to the next
    hourly.to_csv(args.out, index=False, compression={"method": "gzip", "mtime": 0})

    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 120):
        print(assignments_table(sources, inputs).to_string())
        print(summary(hourly, inputs, sources).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {len(hourly)} rows for {len(inputs)} sites to {args.out} ({elapsed:.1f} s of modelling)")


if __name__ == "__main__":
    main()
