"""Benchmark scenarios of any number of candidate sites, derived from the default data.

The first candidates are the default sites themselves (a seeded sample when fewer are asked for).
Each further candidate is a parcel near one of them, as a site-selection analyst's long list
would have: 20-150 km away in a random direction (in whichever state that falls), in the same grid
region (price, eGRID CO2 and
carbon-free mix, gas price within a few per cent), with its own land area and price, its own
interconnection queue position (grid capacity and online year) and its own weather: the parent's
hourly year with solar and wind scaled by a few per cent and temperatures shifted by up to 1.5 C.
Every other table (chips and their prices by year, cooling, power technologies, demand and its
growth, regions, facility) is the default one, so a benchmark case asks the default portfolio
question of a longer list of sites.

Usage::

    python benchmarks/generate.py --sites 200 --days 8 --out /tmp/sites_200
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from pyproj import Geod

from optimizer.inputs.geo import distance_km, round_trip_latency_ms, us_state_outlines

DATA = Path(__file__).resolve().parents[1] / "data"
#: tables copied as they are
SHARED_TABLES = (
    "power_techs.csv",
    "storage_techs.csv",
    "chips.csv",
    "chip_throughput.csv",
    "cooling.csv",
    "workloads.csv",
    "regions.csv",
    "demand.csv",
    "demand_growth.csv",
    "chip_years.csv",
    "facility.csv",
)
#: how far a generated parcel lies from the default site it is derived from, km
PARCEL_DISTANCE_KM = (20.0, 150.0)
LATEST_GRID_YEAR = 2032
#: written beside a generated case: the default data it was derived from (see :func:`is_current`)
FINGERPRINT_FILE = "data_fingerprint.txt"
#: draws of a parcel's direction and distance before giving up on finding a point inside the US
MAX_PARCEL_DRAWS = 20


def _parents(default_sites: gpd.GeoDataFrame, n_sites: int, rng: np.random.Generator) -> np.ndarray:
    """Row of the default site each candidate derives from; the default sites come first, once each.

    Fewer candidates than default sites: first a few default sites that together reach every demand
    region within the tightest latency budget (so the case is solvable, as the default data is), then a
    seeded sample of the others."""
    n_default = len(default_sites)
    if n_sites > n_default:
        return np.concatenate([np.arange(n_default), rng.integers(0, n_default, size=n_sites - n_default)])
    covering = _covering_sites(default_sites)
    if len(covering) > n_sites:
        raise ValueError(f"{n_sites} candidates cannot reach every demand region ({len(covering)} needed)")
    others = np.setdiff1d(np.arange(n_default), covering)
    return np.sort(np.concatenate([covering, rng.choice(others, size=n_sites - len(covering), replace=False)]))


def _covering_sites(default_sites: gpd.GeoDataFrame) -> np.ndarray:
    """Rows of default sites that reach every region within the tightest latency budget (greedy set cover:
    each step takes the site reaching most regions not yet reached)."""
    facility = pd.read_csv(DATA / "facility.csv").set_index("parameter")["value"]
    budget_ms = pd.read_csv(DATA / "workloads.csv")["latency_budget_ms"].min()
    points = pd.DataFrame({"lat": default_sites.geometry.y, "lon": default_sites.geometry.x})
    latency = round_trip_latency_ms(
        distance_km(points, pd.read_csv(DATA / "regions.csv")),
        facility["fibre_km_per_ms"],
        facility["route_factor"],
        facility["latency_overhead_ms"],
    ).to_numpy()
    reaches = latency <= budget_ms
    unreached, chosen = reaches.any(axis=0), []
    while unreached.any():
        best = int((reaches & unreached).sum(axis=1).argmax())
        chosen.append(best)
        unreached &= ~reaches[best]
    return np.array(sorted(chosen), dtype=int)


def _parcels(default_sites: gpd.GeoDataFrame, parents: np.ndarray, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The default sites, then parcels near them with their own land, queue position and prices."""
    n_default = min(len(default_sites), len(parents))
    sites = default_sites.iloc[parents].reset_index(drop=True).copy()
    sites = sites.astype(
        {"land_acres": float, "land_price_usd_per_acre": float, "grid_capacity_mw": float, "grid_online_year": "int64"}
    )
    new = np.arange(len(sites)) >= n_default
    n_new = int(new.sum())
    if not n_new:
        return sites
    lon, lat = sites.geometry.x.to_numpy().copy(), sites.geometry.y.to_numpy().copy()
    moved_lon, moved_lat = _moved_inside_the_us(lon[new], lat[new], rng)
    numbers = np.arange(n_new)
    sites.loc[new, "site_id"] = [f"{s}_p{i:04d}" for s, i in zip(sites.loc[new, "site_id"], numbers)]
    sites.loc[new, "name"] = [f"Parcel {i} near {n}" for n, i in zip(sites.loc[new, "name"], numbers)]
    sites.loc[new, "land_acres"] = np.clip(
        np.round(sites.loc[new, "land_acres"] * rng.lognormal(0, 0.5, n_new)), 100, 5000
    )
    sites.loc[new, "land_price_usd_per_acre"] = np.round(
        sites.loc[new, "land_price_usd_per_acre"] * rng.uniform(0.5, 2.0, n_new)
    )
    sites.loc[new, "grid_capacity_mw"] = np.round(sites.loc[new, "grid_capacity_mw"] * rng.uniform(0.1, 1.5, n_new), -1)
    sites.loc[new, "grid_online_year"] = np.minimum(
        sites.loc[new, "grid_online_year"] + rng.integers(0, 4, n_new), LATEST_GRID_YEAR
    )
    for column, spread in (("grid_price_usd_per_mwh", 0.1), ("gas_price_usd_per_mmbtu", 0.05)):
        sites.loc[new, column] = np.round(sites.loc[new, column] * rng.uniform(1 - spread, 1 + spread, n_new), 2)
    lon[new], lat[new] = moved_lon, moved_lat
    sites.loc[new, "state"] = [_state_at(x, y) for x, y in zip(moved_lon, moved_lat, strict=True)]
    sites.geometry = gpd.points_from_xy(lon, lat, crs=default_sites.crs)
    return sites


def _moved_inside_the_us(lon: np.ndarray, lat: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points 20-150 km from each given one in a random direction, redrawn while one falls outside the US
    (off a coast or across the Mexican or Canadian border)."""
    moved_lon, moved_lat = np.empty_like(lon), np.empty_like(lat)
    todo = np.arange(len(lon))
    for _ in range(MAX_PARCEL_DRAWS):
        x, y, _ = Geod(ellps="WGS84").fwd(
            lon[todo], lat[todo], rng.uniform(0, 360, len(todo)), rng.uniform(*PARCEL_DISTANCE_KM, len(todo)) * 1000.0
        )
        moved_lon[todo], moved_lat[todo] = x, y
        todo = todo[[not _inside_the_us(px, py) for px, py in zip(x, y, strict=True)]]
        if not len(todo):
            return moved_lon, moved_lat
    raise ValueError(f"{len(todo)} parcels found no point inside the US in {MAX_PARCEL_DRAWS} draws")


def _inside_the_us(lon: float, lat: float) -> bool:
    point = shapely.Point(lon, lat)
    return any(outline.contains(point) for outline in us_state_outlines().values())


def _state_at(lon: float, lat: float) -> str:
    """The US state whose outline holds the point, or the nearest one (a parcel moved across a border)."""
    point = shapely.Point(lon, lat)
    return min(us_state_outlines().items(), key=lambda item: item[1].distance(point))[0]


def _weather(
    hourly: pd.DataFrame, sites: gpd.GeoDataFrame, parents_ids: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Each candidate's hourly year: its parent's, with resource and temperature shifted a little."""
    by_site = {site: frame.drop(columns="site_id").reset_index(drop=True) for site, frame in hourly.groupby("site_id")}
    n_default = len(set(hourly["site_id"]))
    frames = []
    for position, (site, parent) in enumerate(zip(sites["site_id"], parents_ids)):
        frame = by_site[parent].copy()
        if position >= n_default:
            frame["solar_cf"] = np.clip(frame["solar_cf"] * rng.uniform(0.92, 1.08), 0.0, 1.0).round(4)
            frame["wind_cf"] = np.clip(frame["wind_cf"] * rng.uniform(0.92, 1.08), 0.0, 1.0).round(4)
            shift = rng.uniform(-1.5, 1.5)
            frame["temp_c"] = (frame["temp_c"] + shift).round(2)
            frame["wetbulb_c"] = np.minimum(frame["wetbulb_c"] + shift, frame["temp_c"]).round(2)
        frame.insert(0, "site_id", site)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def generate_scenario(
    n_sites: int,
    representative_days: int,
    folder: Path,
    seed: int = 2026,
    time_limit_s: float = 600.0,
    mip_gap: float = 0.01,
) -> Path:
    """Write a data folder and its scenario.yaml for ``n_sites`` candidates; returns the YAML's path."""
    rng = np.random.default_rng([seed, n_sites])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    default_sites = gpd.read_file(DATA / "sites.geojson")
    parents = _parents(default_sites, n_sites, rng)
    sites = _parcels(default_sites, parents, rng)
    sites.to_file(folder / "sites.geojson", driver="GeoJSON")
    hourly = pd.read_csv(DATA / "hourly.csv.gz")
    parent_ids = list(default_sites["site_id"].iloc[parents])
    _weather(hourly, sites, parent_ids, rng).to_csv(
        folder / "hourly.csv.gz", index=False, compression={"method": "gzip", "compresslevel": 1}
    )
    for table in SHARED_TABLES:
        shutil.copy(DATA / table, folder / table)
    base = yaml.safe_load((DATA / "scenarios" / "base.yaml").read_text())
    document = {
        "name": f"sites_{n_sites}_days_{representative_days}",
        "description": f"{n_sites} candidate sites derived from the default data (seed {seed}), "
        f"{representative_days} representative days",
        "data": ".",
        **{key: base[key] for key in ("finance", "objective", "constraints")},
        "time": {"representative_days": representative_days},
        "solver": {"time_limit_s": time_limit_s, "mip_gap": mip_gap, "threads": 2},
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    (folder / FINGERPRINT_FILE).write_text(f"{seed} {data_fingerprint()}\n")
    return path


def data_fingerprint() -> str:
    """SHA-256 of every default file a generated case is derived from."""
    digest = hashlib.sha256()
    for name in ("sites.geojson", "hourly.csv.gz", *SHARED_TABLES, "scenarios/base.yaml"):
        digest.update((DATA / name).read_bytes())
    return digest.hexdigest()


def is_current(folder: Path, seed: int = 2026) -> bool:
    """Whether ``folder`` holds a case generated with ``seed`` from today's default data (not stale)."""
    marker = Path(folder) / FINGERPRINT_FILE
    return marker.is_file() and marker.read_text().split() == [str(seed), data_fingerprint()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(generate_scenario(args.sites, args.days, args.out, args.seed))


if __name__ == "__main__":
    main()
