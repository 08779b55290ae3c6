"""Build ``data/hourly.csv.gz`` — synthetic weather-driven 8760-hour profiles for every site.

Reads ``data/sites.geojson`` (site_id, state, lon/lat) and ``data/scripts/site_attributes.csv``
(pv_class, wind_class, temperature and dew-point normals), maps the resource classes to NREL ATB
capacity factors with the tables of ``build_sites.py``, and calls
:func:`synthetic_weather.synthetic_hourly` (the generator beside this script; method in its module
docstring, constants with their sources in ``data/SOURCES.md``, section "hourly.csv.gz"). Each site
runs on its legal standard time zone (:func:`synthetic_weather.standard_utc_offset_h` from state and
longitude). The output is reproducible byte for byte.

Usage::

    python data/scripts/build_weather.py [--sites data/sites.geojson] [--attributes FILE]
                                         [--out data/hourly.csv.gz] [--only SITE_ID ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_weather  # noqa: E402  (beside this script, on sys.path above)
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
ROUNDING = {"solar_cf": 4, "wind_cf": 4, "temp_c": 2, "wetbulb_c": 2}


def site_inputs(sites_path: Path, attributes_path: Path) -> pd.DataFrame:
    """One row per site in sites.geojson order with every input of ``synthetic_hourly``."""
    sites = gpd.read_file(sites_path)
    frame = pd.DataFrame(
        {"site_id": sites["site_id"], "state": sites["state"], "lat": sites.geometry.y, "lon": sites.geometry.x}
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


def summary(hourly: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    stats = hourly.groupby("site_id", sort=False).agg(
        solar_cf=("solar_cf", "mean"),
        wind_cf=("wind_cf", "mean"),
        temp_mean=("temp_c", "mean"),
        temp_min=("temp_c", "min"),
        temp_max=("temp_c", "max"),
        wetbulb_mean=("wetbulb_c", "mean"),
        wetbulb_max=("wetbulb_c", "max"),
    )
    targets = inputs.set_index("site_id")
    stats.insert(0, "utc", targets["utc_offset_h"])
    stats.insert(2, "solar_target", targets["solar_cf"])
    stats.insert(4, "wind_target", targets["wind_cf"])
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=Path, default=REPO / "data" / "sites.geojson", help="sites GeoJSON")
    parser.add_argument(
        "--attributes",
        type=Path,
        default=Path(__file__).resolve().parent / "site_attributes.csv",
        help="per-site attribute table (classes, temperature and dew-point normals)",
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
    parts = []
    try:
        from tqdm import tqdm

        rows = tqdm(range(len(inputs)), desc="sites", unit="site")
    except ImportError:  # progress bar is optional
        rows = range(len(inputs))
    for i in rows:
        parts.append(synthetic_weather.synthetic_hourly(inputs.iloc[[i]]))
    hourly = pd.concat(parts, ignore_index=True)
    elapsed = time.perf_counter() - started

    hourly = hourly.round(ROUNDING)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0 keeps the gzip header, and so the file, identical from one build to the next
    hourly.to_csv(args.out, index=False, compression={"method": "gzip", "mtime": 0})

    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 3):
        print(summary(hourly, inputs).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {len(hourly)} rows for {len(inputs)} sites to {args.out} ({elapsed:.1f} s of modelling)")


if __name__ == "__main__":
    main()
