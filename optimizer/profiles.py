"""Synthetic hourly profiles on representative days: solar, wind and temperature per site.

The default dataset has no measured weather, so each site gets documented *synthetic* profiles
built from its annual figures (``solar_cf``, ``wind_cf``, ``temp_jan_c``, ``temp_jul_c``,
``temp_diurnal_range_c``). Real 8760-hour or clustered profiles can replace them: they only have
to follow the same ``slices`` / ``profiles`` tables.

Time slices
    One representative day per season, 24 hourly slices each. By default the days are 15 January,
    15 April, 15 July and 15 October, standing for the meteorological seasons Dec–Feb (90 days),
    Mar–May (92), Jun–Aug (92) and Sep–Nov (91), so the slice weights sum to 8760 h. Hours are
    local solar time, used as a stand-in for local standard time (they differ by less than about
    an hour inside a time zone).

Solar (single-axis tracking PV)
    Solar elevation from the declination (Cooper 1969) and the hour angle at the site latitude;
    the tracker output shape is ``sin(elevation) ** 0.5`` while the sun is up, 0 at night. One
    factor per site scales the shape so that the weighted annual mean equals ``solar_cf``; values
    are clipped at 1 and the factor accounts for the clipping.

Wind (onshore)
    ``wind_cf`` × seasonal factor (winter and spring 1.15, summer 0.80, autumn 1.05) × diurnal
    factor ``1 + 0.15 cos(2π (h − 2) / 24)`` (night-peaking), rescaled in the same way so that the
    weighted annual mean equals ``wind_cf`` and clipped to [0, 1].

Temperature
    A seasonal cosine between ``temp_jan_c`` (coldest on 15 January) and ``temp_jul_c``
    (warmest on 15 July) plus ``temp_diurnal_range_c / 2 · cos(2π (h − 15) / 24)`` (warmest at
    15:00).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365
WARMEST_DAY_OF_YEAR = 196  # 15 July; the coldest day is half a year earlier (15 January)
WARMEST_HOUR = 15
WIND_PEAK_HOUR = 2
WIND_DIURNAL_AMPLITUDE = 0.15
#: wind output relative to the annual mean by meteorological season (renormalised by the scaling)
WIND_SEASON_FACTOR = {"winter": 1.15, "spring": 1.15, "summer": 0.80, "autumn": 1.05}
SITE_COLUMNS = ("lat", "solar_cf", "wind_cf", "temp_jan_c", "temp_jul_c", "temp_diurnal_range_c")


@dataclass(frozen=True)
class RepresentativeDay:
    """A day whose 24 hours stand for ``weight_days`` days of the year."""

    name: str
    day_of_year: int
    weight_days: float


SEASONAL_DAYS: tuple[RepresentativeDay, ...] = (
    RepresentativeDay("winter", 15, 90),
    RepresentativeDay("spring", 105, 92),
    RepresentativeDay("summer", 196, 92),
    RepresentativeDay("autumn", 288, 91),
)


def season(day_of_year: int) -> str:
    """Meteorological season (northern hemisphere) of a day of a non-leap year."""
    month = (pd.Timestamp(2025, 1, 1) + pd.Timedelta(days=day_of_year - 1)).month
    return ("winter", "spring", "summer", "autumn")[(month % 12) // 3]


def solar_shape(lat_deg: float, day_of_year: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Single-axis-tracker output shape ``sin(elevation) ** 0.5`` (0 at night), solar time."""
    declination = np.radians(23.45) * np.sin(2.0 * np.pi * (284 + day_of_year) / DAYS_PER_YEAR)
    hour_angle = np.radians(15.0 * (hour - 12.0))
    lat = np.radians(lat_deg)
    sin_elevation = np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)
    return np.sqrt(np.clip(sin_elevation, 0.0, None))


def scale_to_mean(shape: np.ndarray, weights: np.ndarray, target: float) -> np.ndarray:
    """``min(1, k · shape)`` with the factor ``k`` chosen so the weighted mean equals ``target``.

    Raises ``ValueError`` if the target cannot be reached (it must be below the weighted share
    of slices where the shape is positive).
    """
    if target <= 0.0:
        return np.zeros_like(shape)
    positive = shape > 0.0
    attainable = weights[positive].sum() / weights.sum()
    if target >= attainable:
        raise ValueError(f"annual mean {target:g} is not reachable: the shape is positive in only "
                         f"{attainable:.3f} of the year")

    def mean(factor: float) -> float:
        return float(np.average(np.minimum(1.0, factor * shape), weights=weights))

    low, high = 0.0, 1.0 / shape[positive].min()
    for _ in range(100):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if mean(middle) < target else (low, middle)
    return np.minimum(1.0, 0.5 * (low + high) * shape)


def slices_table(days: Sequence[RepresentativeDay] = SEASONAL_DAYS) -> pd.DataFrame:
    """``slices`` table: one slice per hour of each representative day; weights sum to 8760 h."""
    total_days = sum(day.weight_days for day in days)
    if not np.isclose(total_days, DAYS_PER_YEAR):
        raise ValueError(f"representative days stand for {total_days:g} days; they must stand for {DAYS_PER_YEAR}")
    rows = [
        {"slice_id": period * HOURS_PER_DAY + hour, "period": period, "hour": hour, "weight_h": day.weight_days}
        for period, day in enumerate(days)
        for hour in range(HOURS_PER_DAY)
    ]
    return pd.DataFrame(rows)


def synthetic_slices(
    sites: pd.DataFrame, days: Sequence[RepresentativeDay] = SEASONAL_DAYS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time slices and synthetic per-site profiles (see the module docstring for the method).

    ``sites`` needs ``site_id`` (column or index) and the columns ``lat``, ``solar_cf``,
    ``wind_cf``, ``temp_jan_c``, ``temp_jul_c`` and ``temp_diurnal_range_c``. Returns
    ``(slices, profiles)`` laid out as ``slices.csv`` and ``profiles.csv`` of the data contract.
    """
    frame = sites if "site_id" in sites.columns else sites.reset_index()
    missing = [column for column in ("site_id", *SITE_COLUMNS) if column not in frame.columns]
    if missing:
        raise ValueError(f"sites table lacks columns {missing}")

    slices = slices_table(days)
    day_of_year = np.array([days[p].day_of_year for p in slices["period"]], dtype=float)
    hour = slices["hour"].to_numpy(dtype=float)
    weights = slices["weight_h"].to_numpy(dtype=float)

    wind_season = np.array([WIND_SEASON_FACTOR[season(days[p].day_of_year)] for p in slices["period"]])
    wind_diurnal = 1.0 + WIND_DIURNAL_AMPLITUDE * np.cos(2.0 * np.pi * (hour - WIND_PEAK_HOUR) / HOURS_PER_DAY)
    wind_shape = wind_season * wind_diurnal
    seasonal_cosine = np.cos(2.0 * np.pi * (day_of_year - WARMEST_DAY_OF_YEAR) / DAYS_PER_YEAR)
    diurnal_cosine = np.cos(2.0 * np.pi * (hour - WARMEST_HOUR) / HOURS_PER_DAY)

    profiles = []
    for site in frame.itertuples(index=False):
        mid = (site.temp_jan_c + site.temp_jul_c) / 2.0
        amplitude = (site.temp_jul_c - site.temp_jan_c) / 2.0
        profiles.append(pd.DataFrame({
            "site_id": site.site_id,
            "slice_id": slices["slice_id"],
            "solar_cf": scale_to_mean(solar_shape(site.lat, day_of_year, hour), weights, site.solar_cf),
            "wind_cf": scale_to_mean(wind_shape, weights, site.wind_cf),
            "temp_c": mid + amplitude * seasonal_cosine + site.temp_diurnal_range_c / 2.0 * diurnal_cosine,
        }))
    return slices, pd.concat(profiles, ignore_index=True)
