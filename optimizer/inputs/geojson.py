"""A GeoJSON file of point features as a table (properties plus ``lon`` and ``lat``).

Read with the standard library's JSON parser rather than GDAL, so that a truncated file, a
polygon where a point belongs or 20,000 nested brackets is named, line by line, in a planner's
words instead of failing inside a driver.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from optimizer.inputs.safe_io import read_text

#: names of WGS84 longitude/latitude that GeoJSON files carry in their (pre-RFC 7946) "crs" member
WGS84_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326")


class GeoJSONError(ValueError):
    """A GeoJSON file that is not a collection of point features."""


def _parse(path: Path) -> dict:
    text = read_text(path, what="GeoJSON file")
    if not text.strip():
        raise GeoJSONError(f"{path}: the GeoJSON file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise GeoJSONError(
            f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise GeoJSONError(f"{path}: nested too deeply to be a GeoJSON feature collection") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise GeoJSONError(f"{path}: must be a GeoJSON FeatureCollection (a 'type': 'FeatureCollection' object)")
    if not isinstance(document.get("features"), list):
        raise GeoJSONError(f"{path}: the FeatureCollection has no 'features' list")
    return document


def _point(feature: object, number: int, path: Path) -> tuple[float, float]:
    """(lon, lat) of one feature, which must be a Point with two finite coordinates."""
    where = f"{path}: feature {number}"
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geometry, dict):
        raise GeoJSONError(f"{where} has no geometry; every site is a Point")
    if geometry.get("type") != "Point":
        raise GeoJSONError(
            f"{where} is a {geometry.get('type')!s}, not a Point; give each site as a point (its facility)"
        )
    coordinates = geometry.get("coordinates")
    if not (
        isinstance(coordinates, list)
        and len(coordinates) in (2, 3)
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coordinates)
    ):
        raise GeoJSONError(f"{where}: coordinates must be [longitude, latitude], not {coordinates!r}")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise GeoJSONError(f"{where}: coordinates must be finite numbers, not {coordinates!r}")
    return lon, lat


def _to_wgs84(frame: pd.DataFrame, document: dict, path: Path) -> pd.DataFrame:
    """Re-project coordinates given in another CRS (an old-style 'crs' member) to WGS84."""
    crs = document.get("crs")
    name = (crs or {}).get("properties", {}).get("name") if isinstance(crs, dict) else None
    if name is None or name in WGS84_NAMES:
        return frame
    try:
        transformer = Transformer.from_crs(CRS.from_user_input(name), CRS.from_epsg(4326), always_xy=True)
    except CRSError as error:
        raise GeoJSONError(f"{path}: unknown coordinate reference system '{name}' ({error})") from None
    frame["lon"], frame["lat"] = transformer.transform(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    return frame


def read_points(path: str | Path) -> pd.DataFrame:
    """One row per feature: its properties, then ``lon`` and ``lat`` in WGS84 degrees."""
    path = Path(path)
    document = _parse(path)
    rows = []
    for number, feature in enumerate(document["features"], start=1):
        lon, lat = _point(feature, number, path)
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise GeoJSONError(f"{path}: feature {number}: 'properties' must be an object of column values")
        rows.append({**properties, "lon": lon, "lat": lat})
    return _to_wgs84(pd.DataFrame(rows), document, path)
