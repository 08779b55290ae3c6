"""Geometry of sites and demand regions: geodesic distances and network latency."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")


def distance_km(sites: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Geodesic (WGS84 ellipsoid) distance between every site and region, km."""
    site_lon, region_lon = np.meshgrid(sites["lon"].to_numpy(), regions["lon"].to_numpy(), indexing="ij")
    site_lat, region_lat = np.meshgrid(sites["lat"].to_numpy(), regions["lat"].to_numpy(), indexing="ij")
    _, _, metres = WGS84.inv(site_lon, site_lat, region_lon, region_lat)
    return pd.DataFrame(metres / 1000.0, index=sites.index, columns=regions.index)


def round_trip_latency_ms(
    distance: pd.DataFrame, fibre_km_per_ms: float, route_factor: float, overhead_ms: float
) -> pd.DataFrame:
    """Network round trip: there and back along a fibre route longer than the great circle."""
    return 2.0 * distance * route_factor / fibre_km_per_ms + overhead_ms


def points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """A table with lat/lon columns as a GeoDataFrame of points (EPSG:4326)."""
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
