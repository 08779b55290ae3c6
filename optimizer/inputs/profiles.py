"""Representative days: reduce each site's 8760-hour weather (and grid) series to a few days.

The model runs on time slices: the hours of a few representative days, each day weighted by the
number of calendar days it stands for. Days are chosen with tsam (hierarchical clustering of whole
days over every site's series at once, medoid representation; capacity factors, prices, CO2
rates and carbon-free shares rescaled multiplicatively to their annual means) plus extreme
days appended as their own periods (tsam ``ExtremeConfig(method="append")``), picked on the
fleet-average series so that a design also meets the worst day and not only typical ones:

=============  =================================================================================
lowest_wind    the day with the lowest mean wind output over all sites
lowest_solar   the day with the lowest mean solar output over all sites
hottest        the day holding the hottest hour of the fleet-average dry-bulb temperature
=============  =================================================================================

The calendar order is kept (``days``: which period stands for each of the 365 days), so storage can
carry energy from one day to the next. ``representative_days: 365`` skips clustering and keeps
every day: the full chronological year.

The aggregation error is measured against the original hours, per site and quantity, in the
quantity's own unit: error of the annual mean, RMSE of the hour-by-hour reconstruction, and RMSE
of the duration curve (sorted values, which ignores timing).

Representative days need not hold a site's own hottest hours (the ``hottest`` day is the fleet's).
:func:`peak_hours` picks, from all 8,760 hours, the few that can set each site's peak load net of
its solar and wind, for each cooling, so that the model can size the power to every hour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.constants import DAYS_PER_YEAR, HOURS_PER_DAY

#: quantities that vary by hour at each site, in the ``hourly`` table's units
HOURLY_QUANTITIES = (
    "solar_cf",
    "wind_cf",
    "temp_c",
    "wetbulb_c",
    "grid_price_usd_per_mwh",
    "grid_co2_kg_per_mwh",
    "grid_cfe_share",
)
#: hourly columns a user may leave blank: the site's annual value from ``sites`` applies
ANNUAL_FALLBACK = ("grid_price_usd_per_mwh", "grid_co2_kg_per_mwh", "grid_cfe_share")
#: quantities that are shares of something, 0..1: a rescaled representative value is clipped to that
FRACTION_QUANTITIES = ("solar_cf", "wind_cf", "grid_cfe_share")
#: the grid's carbon-free share is kept to 0.1 % in the representative days, as in the hourly data: the
#: 24/7 rows' coefficient of a grid import is (share - target), which rescaling could otherwise leave a
#: noise-sized 1e-5 off zero, outside the model's documented coefficient range
CFE_SHARE_DECIMALS = 3
#: the hourly columns that come from the weather, and from the grid
WEATHER_QUANTITIES = ("solar_cf", "wind_cf", "temp_c", "wetbulb_c")
GRID_QUANTITIES = ("grid_price_usd_per_mwh", "grid_co2_kg_per_mwh", "grid_cfe_share")
#: hourly column naming where each site's weather and grid hours come from
SOURCE_COLUMNS = {"weather": "weather_source", "grid": "grid_source"}
NOT_STATED = "not stated"
#: extreme day -> (tsam ExtremeConfig field, fleet-average quantity)
EXTREME_DAYS = {
    "lowest_wind": ("min_period", "wind_cf"),
    "lowest_solar": ("min_period", "solar_cf"),
    "hottest": ("max_value", "temp_c"),
}
FLEET = "__fleet__"
#: above this many clustered columns the fleet columns weigh 1/columns each instead of ~0
MAX_WEIGHTED_COLUMNS = 600
CALENDAR_YEAR = 2025  # any non-leap year: tsam wants a datetime index
#: index of the hours that can set a site's peak (:func:`peak_hours`)
PEAK_HOUR_INDEX = ["site_id", "cooling_id", "hour"]


@dataclass
class TimeSlices:
    """The model's time: slices (hours of representative days), their profiles and the calendar."""

    slices: pd.DataFrame  # index slice_id: period, hour, weight_h
    profiles: pd.DataFrame  # index (site_id, slice_id): HOURLY_QUANTITIES
    days: pd.DataFrame  # index day (0..364): period
    error: pd.DataFrame  # site_id, quantity, annual_mean, mean_error, rmse, duration_rmse


def complete_hourly(hourly: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Hourly table with every quantity filled: blank grid columns take the site's annual value."""
    frame = hourly.copy()
    for column in ANNUAL_FALLBACK:
        annual = frame.index.get_level_values("site_id").map(sites[column]).to_numpy(dtype=float)
        values = frame[column].to_numpy(dtype=float) if column in frame else np.full(len(frame), np.nan)
        frame[column] = np.where(np.isnan(values), annual, values)
    return frame[list(HOURLY_QUANTITIES)]


def follow_annual_grid(profiles: pd.DataFrame, hourly: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with the grid quantities of every site without hours of its own (its hourly
    column blank: the annual value applies, :func:`complete_hourly`) set to ``sites``' annual value.

    A change of a site's annual grid price, CO2 rate or carbon-free share after the representative
    days were made (a build-out's ``by_year``) reaches the model this way, as an override before
    loading does; a site's own hours stay as they are in both.
    """
    out = profiles
    site_of = profiles.index.get_level_values("site_id")
    for column in ANNUAL_FALLBACK:
        own = hourly[column].notna().groupby(level="site_id").any() if column in hourly else pd.Series(dtype=bool)
        annual = site_of.map(sites[column]).to_numpy(dtype=float)
        follows = ~site_of.map(own).fillna(False).to_numpy(dtype=bool)
        if (follows & (profiles[column].to_numpy(dtype=float) != annual)).any():
            out = out.copy() if out is profiles else out
            out[column] = profiles[column].where(~follows, annual)
    return out


def site_sources(hourly: pd.DataFrame) -> pd.DataFrame:
    """Where each site's weather and grid hours come from (index site_id; columns ``weather_source`` and
    ``grid_source``): the hourly table's own words, "not stated" where it has none."""
    sites = hourly.index.get_level_values("site_id").unique()
    columns = {}
    for column in SOURCE_COLUMNS.values():
        if column in hourly:
            columns[column] = hourly[column].groupby(level="site_id", sort=False).first().reindex(sites)
        else:
            columns[column] = pd.Series(NOT_STATED, index=sites)
    return pd.DataFrame(columns).fillna(NOT_STATED)


def _wide(hourly: pd.DataFrame) -> pd.DataFrame:
    """8760 rows (datetime index) x (site, quantity) columns."""
    wide = hourly.unstack("site_id")
    wide = wide.reorder_levels([1, 0], axis=1).sort_index(axis=1)
    wide.index = pd.date_range(f"{CALENDAR_YEAR}-01-01", periods=len(wide), freq="h")
    return wide


def _error(original: pd.DataFrame, reconstructed: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (site, quantity), series in original.items():
        a, b = series.to_numpy(dtype=float), reconstructed[(site, quantity)].to_numpy(dtype=float)
        rows.append(
            {
                "site_id": site,
                "quantity": quantity,
                "annual_mean": a.mean(),
                "mean_error": b.mean() - a.mean(),
                "rmse": float(np.sqrt(np.mean((a - b) ** 2))),
                "duration_rmse": float(np.sqrt(np.mean((np.sort(a) - np.sort(b)) ** 2))),
            }
        )
    return pd.DataFrame(rows)


def _cluster(wide: pd.DataFrame, n_days: int, extremes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Representative values (periods x 24 x columns), weights in days, period of each calendar day."""
    import tsam  # imported here: clustering is the only user and the import takes a second

    varying = [column for column in wide.columns if wide[column].std() > 0.0]
    data = wide[varying].copy()
    data.columns = ["|".join(column) for column in varying]
    config: dict[str, list[str]] = {field: [] for field, _ in EXTREME_DAYS.values()}
    for name in extremes:
        field, quantity = EXTREME_DAYS[name]
        fleet = wide.xs(quantity, axis=1, level=1).mean(axis=1)
        if fleet.std() > 0.0:
            data[f"{FLEET}|{name}"] = fleet.to_numpy()
            config[field].append(f"{FLEET}|{name}")
    extreme_config = tsam.ExtremeConfig(method="append", **config) if any(config.values()) else None
    # fleet columns only pick the extreme days: they must not steer the clustering itself. tsam
    # applies weights one column at a time (quadratic in columns: minutes at 1,000 sites), and a
    # fleet column among thousands weighs too little to matter, so long site lists go unweighted.
    weights = None
    if len(data.columns) <= MAX_WEIGHTED_COLUMNS:
        weights = {column: (1e-6 if column.startswith(FLEET) else 1.0) for column in data.columns}
    result = tsam.aggregate(
        data,
        n_clusters=n_days,
        period_duration=HOURS_PER_DAY,
        extremes=extreme_config,
        weights=weights,
        cluster=tsam.ClusterConfig(method="hierarchical", representation="medoid"),
        # tsam's own mean correction shifts values additively (night-time sun); see _rescale
        preserve_column_means=False,
    )
    representatives = result.cluster_representatives
    periods = sorted(result.cluster_counts)
    values = np.empty((len(periods), HOURS_PER_DAY, len(wide.columns)))
    for index, period in enumerate(periods):
        block = representatives.xs(period, level=0)
        for position, column in enumerate(wide.columns):
            name = "|".join(column)
            values[index, :, position] = block[name].to_numpy() if name in block else wide[column].iloc[0]
    weights_days = np.array([result.cluster_counts[p] for p in periods], dtype=float)
    assignment = np.searchsorted(periods, np.asarray(result.cluster_assignments))
    _rescale(values, weights_days, wide)
    return values, weights_days, assignment


def _rescale(values: np.ndarray, weights_days: np.ndarray, wide: pd.DataFrame) -> None:
    """Scale capacity factors, prices and CO2 rates so their annual means match the 8760 hours.

    Multiplicative, so zero stays zero (no sun at night) and the shape of each day is kept; a
    capacity factor or carbon-free share is clipped at 1 afterwards. Temperatures are left as they are: the medoids are
    real days, and a shifted temperature would be a day that never happened.
    """
    for position, (_, quantity) in enumerate(wide.columns):
        if quantity in ("temp_c", "wetbulb_c"):
            continue
        represented = np.average(values[:, :, position].mean(axis=1), weights=weights_days)
        target = wide.iloc[:, position].mean()
        if represented > 0:
            values[:, :, position] *= target / represented


def representative_days(hourly: pd.DataFrame, n_days: int, extremes: list[str]) -> TimeSlices:
    """Slices and profiles from a complete hourly table (index site_id, hour; HOURLY_QUANTITIES)."""
    wide = _wide(hourly)
    daily = wide.to_numpy().reshape(DAYS_PER_YEAR, HOURS_PER_DAY, wide.shape[1])
    if n_days >= DAYS_PER_YEAR:
        values, weights_days, assignment = daily, np.ones(DAYS_PER_YEAR), np.arange(DAYS_PER_YEAR)
    elif (daily == daily[0]).all():
        # every day alike: one day stands for the year exactly
        values, weights_days, assignment = daily[:1], np.array([float(DAYS_PER_YEAR)]), np.zeros(DAYS_PER_YEAR, int)
    else:
        values, weights_days, assignment = _cluster(wide, n_days, extremes)
    # a representative value never leaves the physical range of its quantity
    for position, (_, quantity) in enumerate(wide.columns):
        if quantity in FRACTION_QUANTITIES:
            values[:, :, position] = np.clip(values[:, :, position], 0.0, 1.0)
        if quantity == "grid_cfe_share":
            values[:, :, position] = np.round(values[:, :, position], CFE_SHARE_DECIMALS)

    n_periods = len(weights_days)
    slices = pd.DataFrame(
        {
            "slice_id": np.arange(n_periods * HOURS_PER_DAY),
            "period": np.repeat(np.arange(n_periods), HOURS_PER_DAY),
            "hour": np.tile(np.arange(HOURS_PER_DAY), n_periods),
            "weight_h": np.repeat(weights_days, HOURS_PER_DAY),
        }
    ).set_index("slice_id")
    flat = pd.DataFrame(values.reshape(n_periods * HOURS_PER_DAY, -1), columns=wide.columns)
    flat.index.name = "slice_id"
    profiles = flat.stack(level=0, future_stack=True).swaplevel().sort_index()
    profiles.index.names = ["site_id", "slice_id"]
    profiles = profiles[list(HOURLY_QUANTITIES)].reindex(hourly.index.get_level_values("site_id").unique(), level=0)
    reconstructed = pd.DataFrame(values[assignment].reshape(DAYS_PER_YEAR * HOURS_PER_DAY, -1), columns=wide.columns)
    days = pd.DataFrame({"day": np.arange(DAYS_PER_YEAR), "period": assignment}).set_index("day")
    return TimeSlices(slices, profiles, days, _error(wide.reset_index(drop=True), reconstructed))


def peak_hours(pue: pd.DataFrame, hourly: pd.DataFrame) -> pd.DataFrame:
    """The hours of the full year that can set each site's peak load net of solar and wind, per cooling.

    ``pue``: index (site_id, hour), one column of hourly PUE per cooling; ``hourly``: the complete
    hourly table (``solar_cf``, ``wind_cf``) on the same index. With IT load ``I`` on cooling ``k``,
    solar ``S`` and wind ``W`` MW, hour ``h`` leaves ``PUE_k(h) I - cf_solar(h) S - cf_wind(h) W`` to
    the other sources. An hour ``h'`` with ``PUE_k(h') >= PUE_k(h)``, ``cf_solar(h') <= cf_solar(h)``
    and ``cf_wind(h') <= cf_wind(h)`` leaves at least as much whatever ``I, S, W >= 0``, so ``h`` can
    be left out: the hours kept (the non-dominated ones, typically 10 to 50 of 8,760) bound the rest.

    Returns index (site_id, cooling_id, hour) and columns ``pue``, ``solar_cf``, ``wind_cf``.
    """
    pue_values = pue.reindex(hourly.index).to_numpy(dtype=float)  # rows aligned with the hourly table
    solar, wind = hourly["solar_cf"].to_numpy(dtype=float), hourly["wind_cf"].to_numpy(dtype=float)
    row_parts: list[np.ndarray] = []
    cooling_parts: list[np.ndarray] = []
    for positions in hourly.groupby(level="site_id", sort=False).indices.values():
        for cooling in range(pue_values.shape[1]):
            kept = _non_dominated(pue_values[positions, cooling], solar[positions], wind[positions])
            row_parts.append(positions[kept])
            cooling_parts.append(np.full(len(kept), cooling))
    rows = np.concatenate(row_parts) if row_parts else np.empty(0, dtype=int)
    coolings = np.concatenate(cooling_parts) if cooling_parts else np.empty(0, dtype=int)
    frame = pd.DataFrame(
        {
            "site_id": hourly.index.get_level_values("site_id")[rows],
            "cooling_id": pue.columns[coolings],
            "hour": hourly.index.get_level_values("hour")[rows],
            "pue": pue_values[rows, coolings],
            "solar_cf": solar[rows],
            "wind_cf": wind[rows],
        }
    )
    return frame.set_index(PEAK_HOUR_INDEX)


def _non_dominated(highest: np.ndarray, lowest_a: np.ndarray, lowest_b: np.ndarray) -> np.ndarray:
    """Positions of the points no other point beats (``highest`` as high, both others as low).

    Points are taken from the highest first: the first one left is beaten by none before it, and
    every later one it beats is dropped at once, so the loop runs once per point kept.
    """
    remaining = np.lexsort((lowest_b, lowest_a, -highest))
    kept = []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        kept.append(best)
        beaten = (lowest_a[rest] >= lowest_a[best]) & (lowest_b[rest] >= lowest_b[best])
        remaining = rest[~beaten]
    return np.sort(np.asarray(kept, dtype=int))
