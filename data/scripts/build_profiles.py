"""Build ``data/slices.csv`` and ``data/profiles.csv`` from ``data/sites.geojson``.

The profiles are synthetic (method in :mod:`optimizer.profiles` and ``data/SOURCES.md``).

Usage::

    python data/scripts/build_profiles.py [--sites data/sites.geojson] [--out-dir data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from optimizer.profiles import synthetic_slices  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=Path, default=REPO / "data" / "sites.geojson", help="sites GeoJSON")
    parser.add_argument("--out-dir", type=Path, default=REPO / "data", help="folder for slices.csv and profiles.csv")
    args = parser.parse_args()

    sites = gpd.read_file(args.sites)
    sites["lat"] = sites.geometry.y
    slices, profiles = synthetic_slices(sites)
    profiles = profiles.round({"solar_cf": 4, "wind_cf": 4, "temp_c": 2})

    args.out_dir.mkdir(parents=True, exist_ok=True)
    slices.to_csv(args.out_dir / "slices.csv", index=False)
    profiles.to_csv(args.out_dir / "profiles.csv", index=False)
    print(f"wrote {len(slices)} slices and {len(profiles)} profile rows for {len(sites)} sites to {args.out_dir}")


if __name__ == "__main__":
    main()
