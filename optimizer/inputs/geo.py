"""Geometry of sites and demand regions: geodesic distances and network latency."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from optimizer.constants import M_PER_KM

WGS84 = Geod(ellps="WGS84")


def distance_km(sites: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Geodesic (WGS84 ellipsoid) distance between every site and region, km."""
    site_lon, region_lon = np.meshgrid(sites["lon"].to_numpy(), regions["lon"].to_numpy(), indexing="ij")
    site_lat, region_lat = np.meshgrid(sites["lat"].to_numpy(), regions["lat"].to_numpy(), indexing="ij")
    _, _, metres = WGS84.inv(site_lon, site_lat, region_lon, region_lat)
    return pd.DataFrame(metres / M_PER_KM, index=sites.index, columns=regions.index)


def round_trip_latency_ms(
    distance: pd.DataFrame, fibre_km_per_ms: float, route_factor: float, overhead_ms: float
) -> pd.DataFrame:
    """Network round trip: there and back along a fibre route longer than the great circle."""
    return 2.0 * distance * route_factor / fibre_km_per_ms + overhead_ms


#: a site may lie this far outside the outline of the state it names (outlines are simplified), degrees
STATE_TOLERANCE_DEG = 0.5
#: a demand region this far from every candidate site is on another continent or has swapped coordinates
MAX_REGION_TO_SITE_KM = 5_000.0


@functools.cache
def us_state_outlines() -> dict[str, shapely.Geometry]:
    """US state code -> outline (lon, lat degrees), from bokeh_sampledata's simplified outlines."""
    from bokeh_sampledata.us_states import data

    outlines = {}
    for code, state in data.items():
        lon, lat = np.asarray(state["lons"], float), np.asarray(state["lats"], float)
        breaks = np.flatnonzero(np.isnan(lon))  # parts of a multi-part state are separated by NaN
        parts = [part for part in np.split(np.column_stack([lon, lat]), breaks) if len(part)]
        rings = [part[~np.isnan(part).any(axis=1)] for part in parts]
        outlines[code] = shapely.union_all([shapely.Polygon(r) for r in rings if len(r) >= 3]).buffer(0)
    return outlines


def sites_outside_their_state(sites: pd.DataFrame) -> list[str]:
    """One line per site whose point lies well outside the US state it names (swapped or mistyped
    coordinates); sites naming a code that is not a US state are left to the caller."""
    outlines = us_state_outlines()
    problems = []
    for site_id, row in sites.iterrows():
        outline = outlines.get(str(row["state"]))
        if outline is None:
            continue
        off_deg = outline.distance(shapely.Point(row["lon"], row["lat"]))
        if off_deg > STATE_TOLERANCE_DEG:
            problems.append(
                f"site '{site_id}' at lat {row['lat']:g}, lon {row['lon']:g} lies {off_deg:.1f} degrees "
                f"outside its state {row['state']} (latitude and longitude swapped, or a sign lost?)"
            )
    return problems


def regions_far_from_sites(sites: pd.DataFrame, regions: pd.DataFrame) -> list[str]:
    """One line per demand region farther than MAX_REGION_TO_SITE_KM from every candidate site."""
    if sites.empty or regions.empty:
        return []
    nearest = distance_km(sites, regions).min(axis=0)
    return [
        f"region '{region}' at lat {regions.loc[region, 'lat']:g}, lon {regions.loc[region, 'lon']:g} is "
        f"{km:,.0f} km from the nearest candidate site, more than {MAX_REGION_TO_SITE_KM:,.0f} km "
        f"(latitude and longitude swapped, or a sign lost?)"
        for region, km in nearest.items()
        if km > MAX_REGION_TO_SITE_KM
    ]
