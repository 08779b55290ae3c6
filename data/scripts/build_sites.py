"""Build ``data/sites.geojson`` — the candidate sites of the default dataset.

Inputs (read, never copied into the project):

* ``candidate_sites.csv``  announced AI campuses at town centroids (fallback for blank campus cells)
* ``eia_industrial_price_2023_cents_per_kwh.csv``  EIA Electric Power Annual 2023, by state
* ``egrid2023rev2_subregion_co2.csv``  EPA eGRID2023rev2 CO2 output rate per subregion
* ``egrid2023rev2_subregions_powerprofiler.geojson``  eGRID subregion polygons (spatial join)

from the shared reference folder (default ``../shared/reference`` next to the repository), plus two
hand-written tables beside this script:

* ``campuses.csv``  the site list: facility coordinates, announced MW and acres, grid MW and online
  year, and the announcement each rests on (preferred over ``candidate_sites.csv``, whose town
  centroid, name and MW only fill blank cells)
* ``site_attributes.csv``  market, weather normals, resource classes, land and water rules per site

Every rule and constant below is documented in ``data/SOURCES.md``.

Usage::

    python data/scripts/build_sites.py [--reference DIR] [--out data/sites.geojson]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyproj import Geod

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
ATTRIBUTES = Path(__file__).resolve().parent / "site_attributes.csv"
CAMPUSES = Path(__file__).resolve().parent / "campuses.csv"
DEFAULT_OUT = REPO / "data" / "sites.geojson"
#: cells of campuses.csv that candidate_sites.csv fills where blank
CANDIDATE_FALLBACK_COLUMNS = ("name", "state", "lat", "lon", "announced_mw")

# --- grid ---------------------------------------------------------------------------------------
PLAN_START_YEAR = 2026
#: years from request to operation by market (assumption grounded on LBNL "Queued Up")
QUEUE_YEARS = {
    "ERCOT": 2,
    "SPP": 3,
    "MISO": 4,
    "PJM": 6,
    "TVA": 3,
    "SOCO": 3,
    "SERC": 3,
    "WECC-NW": 4,
    "WECC-SW": 4,
    "WECC-RM": 4,
}
#: first year for sites whose interconnection is already built (assumption)
BUILT_INTERCONNECTION_YEAR = 2027
#: PJM 2026/2027 Base Residual Auction, RTO clearing price (all zones), USD/MW-day of UCAP, July 2025
PJM_BRA_2026_27_USD_PER_MW_DAY = 329.17
DAYS_PER_YR = 365
KW_PER_MW = 1000
#: markets whose sites pay a forward capacity charge on their grid connection
CAPACITY_CHARGE_ISOS = ("PJM",)
#: states missing from the EIA extract -> neighbours whose mean price stands in (assumption)
PRICE_NEIGHBOURS = {"WY": ("CO", "MT", "UT", "NE", "SD", "ID")}

# --- gas ----------------------------------------------------------------------------------------
HENRY_HUB_2025_USD_PER_MMBTU = 3.52  # EIA, 2025 average
DELIVERY_ADDER_DEFAULT = 1.00  # assumption
DELIVERY_ADDER_BY_STATE = {  # assumption: near production 0.50, Pacific Northwest 1.50
    **dict.fromkeys(("TX", "LA", "PA", "OH", "ND", "NM", "WY"), 0.50),
    **dict.fromkeys(("WA", "OR"), 1.50),
}

# --- renewable resource (NREL ATB 2024, 2025 capacity factors by resource class) -------------------
PV_CF_BY_CLASS = {1: 0.320, 2: 0.310, 3: 0.295, 4: 0.282, 6: 0.254, 7: 0.241, 8: 0.232, 9: 0.221, 10: 0.202}
WIND_CF_BY_CLASS = {1: 0.514, 2: 0.482, 3: 0.471, 5: 0.443, 6: 0.420, 7: 0.387, 8: 0.350, 9: 0.338, 10: 0.266}
PV_CF_BY_CLASS[5] = round((PV_CF_BY_CLASS[4] + PV_CF_BY_CLASS[6]) / 2, 3)  # not in the extract: midpoint
WIND_CF_BY_CLASS[4] = round((WIND_CF_BY_CLASS[3] + WIND_CF_BY_CLASS[5]) / 2, 3)  # not in the extract: midpoint

# --- land ---------------------------------------------------------------------------------------
DC_PARCEL_USD_PER_ACRE = 244_000  # Cushman & Wakefield 2025, US data-center parcels
USDA_CROPLAND_2025_USD_PER_ACRE = {
    "IL": 9850,
    "IN": 8250,
    "IA": 10300,
    "OH": 9750,
    "MN": 7000,
    "WI": 7250,
    "NE": 6800,
    "KS": 3440,
    "ND": 2710,
    "SD": 4610,
    "OK": 2470,
    "TX": 2710,
    "LA": 3570,
    "MS": 3960,
}
USDA_FARM_REAL_ESTATE_2025_USD_PER_ACRE = 4350  # national average, for states without a cropland value
RURAL_INDUSTRIAL_PREMIUM = 3.0  # assumption: industrial-zoned rural parcel over farmland
IT_ACRES_PER_MW = 0.85  # AI campus, press (Abilene)
GENERATION_ACRES_PER_MW = 0.15  # assumption: on-site generation, substation, setbacks
DEFAULT_LAND_ACRES = 600.0  # assumption for sites without announced MW or acreage

COLUMNS = [
    "site_id",
    "name",
    "state",
    "iso",
    "egrid_subregion",
    "land_acres",
    "land_price_usd_per_acre",
    "grid_capacity_mw",
    "grid_online_year",
    "grid_price_usd_per_mwh",
    "grid_co2_kg_per_mwh",
    "grid_cfe_share",
    "gas_price_usd_per_mmbtu",
    "water_limit_ml_per_yr",
    "grid_capacity_charge_usd_per_kw_yr",
]
#: eGRID resource-mix columns counted as carbon-free generation
CARBON_FREE_PCT_COLUMNS = ["nuclear_pct", "wind_pct", "solar_pct", "hydro_pct"]


def town_centroids(reference: Path) -> pd.DataFrame:
    """US rows of candidate_sites.csv indexed by site_id (town centroids, names and announced MW)."""
    sites = pd.read_csv(reference / "candidate_sites.csv")
    return sites[sites["country"] == "US"].set_index("site_id")


def campus_table(reference: Path) -> pd.DataFrame:
    """campuses.csv with blank name, state, coordinates and MW filled from candidate_sites.csv."""
    campuses = pd.read_csv(CAMPUSES)
    if campuses["site_id"].duplicated().any():
        raise SystemExit(
            f"{CAMPUSES.name}: duplicate site_id {sorted(campuses[campuses['site_id'].duplicated()]['site_id'])}"
        )
    towns = town_centroids(reference)
    for column in CANDIDATE_FALLBACK_COLUMNS:
        fallback = campuses["site_id"].map(towns[column])
        filled = campuses[column].isna() & fallback.notna()
        campuses.loc[filled, column] = fallback[filled]
    for site_id in sorted(set(towns.index) - set(campuses["site_id"])):
        print(f"candidate_sites.csv row not in {CAMPUSES.name}, left out: {site_id}")
    return campuses


def moved_from_town_km(campuses: pd.DataFrame, reference: Path) -> pd.Series:
    """Geodesic distance from each campus point to its candidate_sites.csv town centroid, km (NaN if none)."""
    towns = town_centroids(reference)
    known = campuses[campuses["site_id"].isin(towns.index)]
    town = towns.loc[known["site_id"]]
    _, _, metres = Geod(ellps="WGS84").inv(town["lon"].to_numpy(), town["lat"].to_numpy(), known["lon"], known["lat"])
    return pd.Series(metres / 1000.0, index=known["site_id"].to_numpy()).reindex(campuses["site_id"])


def egrid_subregions(points: gpd.GeoDataFrame, reference: Path) -> pd.Series:
    """eGRID subregion of each point: polygon containing it, else the nearest polygon."""
    polygons = gpd.read_file(reference / "egrid2023rev2_subregions_powerprofiler.geojson")
    polygons = polygons.loc[polygons["type"] == "subregion", ["name", "geometry"]]
    polygons = polygons.rename(columns={"name": "subregion"})
    polygons["geometry"] = polygons.geometry.make_valid()
    points = points[["site_id", "geometry"]]
    joined = gpd.sjoin(points, polygons, how="left", predicate="within")
    subregion = joined[~joined.index.duplicated(keep="first")]["subregion"]
    outside = subregion.isna()
    if outside.any():
        equal_area = "EPSG:5070"  # CONUS Albers, metres
        nearest = gpd.sjoin_nearest(
            points[outside].to_crs(equal_area), polygons.to_crs(equal_area), how="left", distance_col="distance_m"
        )
        nearest = nearest[~nearest.index.duplicated(keep="first")]
        for row in nearest.itertuples():
            print(f"{row.site_id}: outside every polygon, nearest {row.subregion} ({row.distance_m / 1000:.1f} km)")
        subregion[outside] = nearest["subregion"]
    return subregion


def state_prices_usd_per_mwh(reference: Path) -> dict[str, float]:
    """State industrial price 2023 (nominal) in USD/MWh, gaps filled from neighbouring states."""
    table = pd.read_csv(reference / "eia_industrial_price_2023_cents_per_kwh.csv")
    cents = table.dropna(subset=["industrial_cents_per_kwh_2023"]).set_index("state")["industrial_cents_per_kwh_2023"]
    prices = (cents * 10.0).to_dict()
    for state, neighbours in PRICE_NEIGHBOURS.items():
        if state not in prices:
            prices[state] = sum(prices[n] for n in neighbours) / len(neighbours)
            print(
                f"{state}: no EIA price in the extract, mean of {', '.join(neighbours)} = {prices[state]:.1f} USD/MWh"
            )
    return prices


def land_price(state: str, established_market: bool) -> float:
    if established_market:
        return float(DC_PARCEL_USD_PER_ACRE)
    farmland = USDA_CROPLAND_2025_USD_PER_ACRE.get(state, USDA_FARM_REAL_ESTATE_2025_USD_PER_ACRE)
    return farmland * RURAL_INDUSTRIAL_PREMIUM


def land_acres(announced_acres: float, announced_mw: float) -> float:
    if pd.notna(announced_acres):
        return float(announced_acres)
    if pd.notna(announced_mw):
        return round(announced_mw * (IT_ACRES_PER_MW + GENERATION_ACRES_PER_MW), -1)
    return DEFAULT_LAND_ACRES


def grid_capacity_charge_usd_per_kw_yr(iso: str) -> float:
    """Forward capacity price per kW of grid connection: the PJM BRA clearing price, 0 elsewhere."""
    if iso in CAPACITY_CHARGE_ISOS:
        return round(PJM_BRA_2026_27_USD_PER_MW_DAY * DAYS_PER_YR / KW_PER_MW, 2)
    return 0.0


def grid_online_year(iso: str, built: bool, override: float) -> int:
    if pd.notna(override):
        return int(override)
    if built:
        return BUILT_INTERCONNECTION_YEAR
    return PLAN_START_YEAR + QUEUE_YEARS[iso]


def build(reference: Path) -> gpd.GeoDataFrame:
    campuses = campus_table(reference)
    attributes = pd.read_csv(ATTRIBUTES)
    missing = set(campuses["site_id"]) ^ set(attributes["site_id"])
    if missing:
        raise SystemExit(f"{ATTRIBUTES.name} and {CAMPUSES.name} disagree on: {sorted(missing)}")
    sites = campuses.merge(attributes, on="site_id", validate="one_to_one")
    for site_id, km in moved_from_town_km(campuses, reference).dropna().items():
        print(f"{site_id}: {km:.1f} km from its candidate_sites.csv town centroid")
    points = gpd.GeoDataFrame(sites, geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs="EPSG:4326")

    egrid = pd.read_csv(reference / "egrid2023rev2_subregion_co2.csv").set_index("subregion")
    co2 = egrid["co2_kg_per_mwh"]
    cfe_share = (egrid[CARBON_FREE_PCT_COLUMNS].sum(axis=1) / 100.0).round(3)
    prices = state_prices_usd_per_mwh(reference)

    points["egrid_subregion"] = egrid_subregions(points, reference)
    points["grid_co2_kg_per_mwh"] = points["egrid_subregion"].map(co2)
    points["grid_cfe_share"] = points["egrid_subregion"].map(cfe_share)
    points["grid_price_usd_per_mwh"] = points["state"].map(prices).round(1)
    points["land_acres"] = [land_acres(a, mw) for a, mw in zip(points["land_acres_announced"], points["announced_mw"])]
    points["land_price_usd_per_acre"] = [
        land_price(s, bool(e)) for s, e in zip(points["state"], points["established_dc_market"])
    ]
    points["grid_online_year"] = [
        grid_online_year(i, bool(b), o)
        for i, b, o in zip(points["iso"], points["built_interconnection"], points["grid_online_year_override"])
    ]
    points["grid_capacity_charge_usd_per_kw_yr"] = points["iso"].map(grid_capacity_charge_usd_per_kw_yr)
    points["gas_price_usd_per_mmbtu"] = round(
        HENRY_HUB_2025_USD_PER_MMBTU + points["state"].map(DELIVERY_ADDER_BY_STATE).fillna(DELIVERY_ADDER_DEFAULT), 2
    )

    result = points[[*COLUMNS, "geometry"]].copy()
    numeric_required = [c for c in COLUMNS[5:] if c != "water_limit_ml_per_yr"]
    if result[[*numeric_required, "egrid_subregion", "iso"]].isna().any().any():
        raise SystemExit("a required site attribute is missing:\n" + result[result.isna().any(axis=1)].to_string())
    result["grid_online_year"] = result["grid_online_year"].astype(int)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reference", type=Path, default=DEFAULT_REFERENCE, help="folder with the shared reference tables and polygons"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="GeoJSON file to write")
    args = parser.parse_args()
    sites = build(args.reference)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sites.to_file(args.out, driver="GeoJSON")
    print(f"wrote {len(sites)} sites to {args.out}")


if __name__ == "__main__":
    main()
