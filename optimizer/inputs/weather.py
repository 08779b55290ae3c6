"""Hourly weather-driven profiles (8760 h) per site, and a validated loader for users' hourly CSVs.

The default dataset has no measured weather, so :func:`synthetic_hourly` builds a documented
**synthetic** year for each site from its annual figures: a physical PV model (pvlib) and a real
turbine power curve (windpowerlib) driven by seeded synthetic cloudiness and wind speed, scaled to
the site's NREL ATB capacity factors, plus dry-bulb and wet-bulb temperatures from climate normals.
Users with real data (NSRDB, ERA5, renewables.ninja, ...) load it with
:func:`read_site_hourly_csv`, which checks it row by row. Every constant below is listed with its
source or marked *assumption* in ``docs/weather_sources.md``.

Output: the ``hourly`` table
    One row per site and hour: ``site_id``, ``hour`` (0..8759, hour of a non-leap year in local
    **standard** time; hour 0 = 1 January 00:00–01:00), ``solar_cf`` (AC output per MW of AC
    capacity, 0..1), ``wind_cf`` (0..1), ``temp_c`` (dry-bulb °C) and ``wetbulb_c`` (°C, ≤ temp_c).

Time
    Each site runs on a fixed UTC offset (``Etc/GMT+6`` style, no daylight saving): the column
    ``utc_offset_h`` of ``sites`` if present, else ``round(lon / 15)`` (the zone meridian nearest
    the site; wrong by an hour near zone boundaries, so the build script passes the legal standard
    zone of each site, see :func:`standard_utc_offset_h`). Sun positions are taken at mid-hour
    (hh:30) of the reference year :data:`REFERENCE_YEAR` (any non-leap year would do).

Solar PV (single-axis tracker, per MW AC)
    1. Solar position (pvlib NREL SPA), extraterrestrial irradiance and clear-sky GHI/DNI/DHI from
       the Ineichen–Perez model with pvlib's monthly Linke-turbidity climatology and site altitude
       (both read from files shipped inside pvlib, so this works offline).
    2. Cloudiness: a **synthetic** daily clear-sky index ``kc`` (GHI / clear-sky GHI), constant
       within a day: a seeded Gaussian AR(1) series day to day (lag-1 correlation
       :data:`CLEARNESS_AR1`) mapped through its normal CDF onto a Beta distribution with a
       seasonal mean ``m(d) = m_site · (1 + CLEARNESS_SEASONAL_AMPLITUDE · cos(2π (d − 196) / 365))``
       (clearer in summer) and concentration :data:`CLEARNESS_BETA_CONCENTRATION`. ``m_site`` is
       solved so that the modelled annual output is close to the target capacity factor, i.e.
       sunny classes get clear skies and cloudy classes cloudy skies.
    3. GHI = kc · clear-sky GHI, split into DNI and DHI with the Erbs (1982) correlation.
    4. Tracker angles from ``pvlib.tracking.singleaxis`` (north–south axis, ±60°, backtracking,
       ground-coverage ratio 0.35); plane-of-array irradiance with the Hay–Davies sky model and
       ground albedo 0.2; beam incidence-angle loss with the physical (Fresnel) IAM.
    5. Cell temperature from the SAPM model (open rack, glass/polymer) with the site's hourly
       dry-bulb temperature and a 10 m wind speed scaled from the synthetic hub-height wind.
    6. PVWatts DC power (temperature coefficient −0.37 %/°C) at DC/AC ratio 1.3, PVWatts default
       system losses (14.08 %), PVWatts inverter (nominal efficiency 0.96) clipping at 1 MW AC.
    7. ``solar_cf = min(1, k · P_ac)`` with ``k`` found by bisection so the annual mean equals the
       site's ``solar_cf`` (NREL ATB class value) within 1e-6; exactly 0 while the sun is below
       the horizon at mid-hour.

Onshore wind
    A **synthetic** hourly hub-height wind speed ``v = c · s(d) · g(h) · W(z)``: ``z`` a seeded
    Gaussian AR(1) series (lag-1 correlation :data:`WIND_AR1` per hour), ``W`` its transform to a
    Weibull distribution of shape :data:`WEIBULL_SHAPE` and unit scale, ``s`` a seasonal factor
    ``1 + 0.12 cos(2π (d − 60) / 365)`` (windiest about 1 March, calmest about 31 August) and ``g``
    a diurnal factor ``1 + 0.08 cos(2π (h − 2) / 24)`` (night-peaking, as in the Great Plains at
    hub height). The speed goes through the GE 3.2-130 power curve of windpowerlib's bundled turbine
    library (``GE130/3200``, 241 W/m² specific power, no density correction) per nameplate power,
    times ``1 − WIND_LOSSES``; the scale ``c`` is found by bisection so the annual mean equals the
    site's ``wind_cf`` within 1e-6.

Temperature and humidity
    Dry-bulb = seasonal cosine between ``temp_jan_c`` (coldest on 15 January) and ``temp_jul_c``
    (warmest on 15 July) + a **synthetic** day-to-day anomaly (seeded AR(1), lag-1 correlation
    :data:`TEMP_ANOMALY_AR1`, standard deviation :data:`TEMP_ANOMALY_STD_C`, interpolated between
    day centres) + ``r_d · temp_diurnal_range_c / 2 · cos(2π (h − 15) / 24)`` (warmest in the hour
    15:00–16:00), where ``r_d = 0.5 + 0.5 kc_d / mean(kc)`` (clipped to 0.4..1.4) shrinks the
    diurnal range on cloudy days (cooler afternoons, milder nights). Dew point = seasonal cosine
    between ``dewpoint_jan_c`` and ``dewpoint_jul_c`` + half the temperature anomaly, capped at the
    dry-bulb. Relative humidity from the Magnus formula (Alduchov & Eskridge 1996), wet-bulb from
    Stull (2011), capped at the dry-bulb.

Seeds are stable per site (``zlib.crc32(site_id)``), so the build is reproducible byte for byte.
"""

from __future__ import annotations

import csv
import difflib
import math
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.inputs.safe_io import UnsafeFileError, read_text

HOURS_PER_YEAR = 8760
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365
#: non-leap year whose sun positions are used (any non-leap year gives the same hours ±1 min)
REFERENCE_YEAR = 2025
WARMEST_DAY_OF_YEAR = 196  # 15 July; the coldest day is half a year earlier (15 January)
WARMEST_HOUR = 15  # the hour 15:00–16:00

# --- solar -----------------------------------------------------------------------------------------
TRACKER_GCR = 0.35
TRACKER_MAX_ANGLE_DEG = 60.0
TRACKER_AXIS_AZIMUTH_DEG = 180.0  # north–south axis
ALBEDO = 0.2
DC_AC_RATIO = 1.3
GAMMA_PDC_PER_C = -0.0037  # PVWatts v5 "standard" module
INVERTER_EFFICIENCY = 0.96  # PVWatts v5 nominal inverter efficiency
SAPM_MOUNT = "open_rack_glass_polymer"
#: daily clear-sky index: day-to-day lag-1 correlation, seasonal amplitude, Beta concentration
CLEARNESS_AR1 = 0.5
CLEARNESS_SEASONAL_AMPLITUDE = 0.08
CLEARNESS_BETA_CONCENTRATION = 5.0
CLEARNESS_MEAN_BOUNDS = (0.30, 0.95)
WIND_REFERENCE_HEIGHT_M = 10.0
WIND_SHEAR_EXPONENT = 1.0 / 7.0

# --- wind ------------------------------------------------------------------------------------------
TURBINE_TYPE = "GE130/3200"
HUB_HEIGHT_M = 110.0
WIND_LOSSES = 0.15
WEIBULL_SHAPE = 2.0
WIND_AR1 = 0.96
WIND_SEASONAL_AMPLITUDE = 0.12
WIND_WINDIEST_DAY_OF_YEAR = 60  # 1 March
WIND_DIURNAL_AMPLITUDE = 0.08
WIND_PEAK_HOUR = 2

# --- temperature -----------------------------------------------------------------------------------
TEMP_ANOMALY_STD_C = 2.5
TEMP_ANOMALY_AR1 = 0.7
DEWPOINT_ANOMALY_SHARE = 0.5
DIURNAL_CLOUD_FACTOR_BOUNDS = (0.4, 1.4)
MAGNUS_A = 17.625
MAGNUS_B_C = 243.04

SITE_COLUMNS = ("site_id", "lat", "lon", "solar_cf", "wind_cf", "temp_jan_c", "temp_jul_c",
                "temp_diurnal_range_c", "dewpoint_jan_c", "dewpoint_jul_c")
HOURLY_COLUMNS = ("site_id", "hour", "solar_cf", "wind_cf", "temp_c", "wetbulb_c")

#: standard-time UTC offset (hours) by state; split states are refined by longitude below.
#: Source: US standard time zone boundaries, 49 CFR Part 71 (boundaries approximated).
STANDARD_UTC_OFFSET_BY_STATE = {
    **dict.fromkeys(("CT", "DC", "DE", "FL", "GA", "IN", "KY", "MA", "MD", "ME", "MI", "NC", "NH",
                     "NJ", "NY", "OH", "PA", "RI", "SC", "VA", "VT", "WV"), -5),
    **dict.fromkeys(("AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK", "SD",
                     "TN", "TX", "WI"), -6),
    **dict.fromkeys(("AZ", "CO", "ID", "MT", "NM", "UT", "WY"), -7),
    **dict.fromkeys(("CA", "NV", "OR", "WA"), -8),
}
#: (state, longitude threshold, offset west of it): parts of states in the next zone west
#: (approximate meridians of the 49 CFR Part 71 boundaries; assumption for sites near them)
STANDARD_UTC_OFFSET_SPLITS = (
    ("TX", -104.9, -7),  # El Paso and Hudspeth counties: Mountain
    ("ND", -101.0, -7),  # south-west North Dakota: Mountain
    ("SD", -100.6, -7),  # west of the Missouri river: Mountain
    ("NE", -101.3, -7),  # panhandle: Mountain
    ("KS", -101.5, -7),  # four western counties: Mountain
    ("FL", -85.0, -6),  # western panhandle: Central
    ("KY", -86.0, -6),  # western Kentucky: Central
    ("TN", -85.0, -6),  # Middle and West Tennessee: Central (east of -85.0 is Eastern)
    ("IN", -87.0, -6),  # north-west (Chicago area) and south-west corners: Central
    ("MI", -87.6, -6),  # four Upper Peninsula counties on Wisconsin: Central
)


def standard_utc_offset_h(state: str | None, lon: float) -> int:
    """Legal standard-time UTC offset (h) of a US location; ``round(lon / 15)`` for unknown states.

    Tennessee is Eastern east of −85.0° and Central west of it; the table covers the contiguous
    states with the split states refined by an approximate boundary meridian.
    """
    if state not in STANDARD_UTC_OFFSET_BY_STATE:
        return int(round(lon / 15.0))
    offset = STANDARD_UTC_OFFSET_BY_STATE[state]
    for split_state, threshold, west_offset in STANDARD_UTC_OFFSET_SPLITS:
        if state == split_state and lon < threshold:
            offset = west_offset
    return offset


# ================================================================================================
# humidity
# ================================================================================================

def relative_humidity_percent(temp_c, dewpoint_c):
    """Relative humidity (%) from dry-bulb and dew point with the Magnus formula.

    ``RH = 100 · exp(a Td / (b + Td)) / exp(a T / (b + T))`` with a = 17.625, b = 243.04 °C
    (Alduchov & Eskridge 1996). Dew points above the dry-bulb give more than 100 %; callers cap.
    """
    temp = np.asarray(temp_c, dtype=float)
    dew = np.asarray(dewpoint_c, dtype=float)
    return 100.0 * np.exp(MAGNUS_A * dew / (MAGNUS_B_C + dew) - MAGNUS_A * temp / (MAGNUS_B_C + temp))


def wetbulb_c(temp_c, rh_percent):
    """Wet-bulb temperature (°C) from dry-bulb (°C) and relative humidity (%), Stull (2011).

    ``Tw = T atan(0.151977 (RH + 8.313659)^½) + atan(T + RH) − atan(RH − 1.676331)
    + 0.00391838 RH^{3/2} atan(0.023101 RH) − 4.686035``. Stull gives it for RH 5–99 % and
    T −20..50 °C at sea-level pressure (error mostly within −1..+0.65 °C); outside that range it is
    an extrapolation. Not capped here (:func:`synthetic_hourly` and the loader cap at the dry-bulb).
    """
    t = np.asarray(temp_c, dtype=float)
    rh = np.asarray(rh_percent, dtype=float)
    return (t * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t + rh)
            - np.arctan(rh - 1.676331) + 0.00391838 * rh ** 1.5 * np.arctan(0.023101 * rh) - 4.686035)


# ================================================================================================
# synthetic weather
# ================================================================================================

def _rng(site_id: str, stream: int) -> np.random.Generator:
    """Reproducible generator per site and component (cloudiness, temperature, wind)."""
    return np.random.default_rng([zlib.crc32(str(site_id).encode("utf-8")), stream])


def _ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary Gaussian AR(1) series with unit variance."""
    shocks = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = shocks[0]
    scale = math.sqrt(1.0 - phi * phi)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + scale * shocks[i]
    return out


def _bisect(function, target: float, low: float, high: float, iterations: int = 60) -> float:
    """Root of the increasing ``function(x) = target`` in [low, high]."""
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if function(middle) < target else (low, middle)
    return 0.5 * (low + high)


def _scale_to_mean(shape: np.ndarray, target: float, what: str) -> np.ndarray:
    """``min(1, k · shape)`` with ``k`` found by bisection so the mean equals ``target``."""
    if target <= 0.0:
        return np.zeros_like(shape)
    attainable = float(np.mean(shape > 0.0))
    if target >= attainable:
        raise ValueError(f"{what}: annual mean {target:g} is not reachable; output is positive in only "
                         f"{attainable:.3f} of the hours")
    factor = _bisect(lambda k: float(np.mean(np.minimum(1.0, k * shape))), target, 0.0,
                     1.0 / shape[shape > 0].min())
    return np.minimum(1.0, factor * shape)


def _day_index() -> np.ndarray:
    return np.repeat(np.arange(DAYS_PER_YEAR), HOURS_PER_DAY)


def _daily_to_hourly(daily: np.ndarray) -> np.ndarray:
    """Linear interpolation of one value per day (taken at 12:00) to every mid-hour."""
    hours = np.arange(HOURS_PER_YEAR) + 0.5
    centres = np.arange(DAYS_PER_YEAR) * HOURS_PER_DAY + 12.0
    return np.interp(hours, centres, daily)


def _seasonal_cosine(day_of_year: np.ndarray, peak_day: float) -> np.ndarray:
    return np.cos(2.0 * np.pi * (day_of_year - peak_day) / DAYS_PER_YEAR)


def _clearness_index(z_daily: np.ndarray, site_mean: float) -> np.ndarray:
    """Daily clear-sky index in (0, 1): Gaussian-copula Beta marginal with a seasonal mean."""
    from scipy import stats

    day_of_year = np.arange(1, DAYS_PER_YEAR + 1)
    mean = site_mean * (1.0 + CLEARNESS_SEASONAL_AMPLITUDE * _seasonal_cosine(day_of_year, WARMEST_DAY_OF_YEAR))
    mean = np.clip(mean, 0.05, 0.97)
    nu = CLEARNESS_BETA_CONCENTRATION
    return stats.beta.ppf(stats.norm.cdf(z_daily), mean * nu, (1.0 - mean) * nu)


class _PVSite:
    """Everything of the PV chain that does not depend on cloudiness, computed once per site."""

    def __init__(self, lat: float, lon: float, utc_offset_h: int):
        import pvlib

        tz = "UTC" if utc_offset_h == 0 else f"Etc/GMT{-utc_offset_h:+d}"
        self.times = pd.date_range(f"{REFERENCE_YEAR}-01-01 00:30", periods=HOURS_PER_YEAR, freq="h", tz=tz)
        altitude = float(pvlib.location.lookup_altitude(lat, lon))
        location = pvlib.location.Location(lat, lon, tz=tz, altitude=altitude)
        position = location.get_solarposition(self.times)
        clear = location.get_clearsky(self.times, model="ineichen", solar_position=position)
        self.zenith = position["zenith"].to_numpy()
        self.azimuth = position["azimuth"].to_numpy()
        self.sun_up = position["apparent_elevation"].to_numpy() > 0.0
        self.clear_ghi = clear["ghi"].to_numpy()
        self.dni_extra = pvlib.irradiance.get_extra_radiation(self.times).to_numpy()
        tracker = pvlib.tracking.singleaxis(position["apparent_zenith"], position["azimuth"], axis_tilt=0.0,
                                            axis_azimuth=TRACKER_AXIS_AZIMUTH_DEG,
                                            max_angle=TRACKER_MAX_ANGLE_DEG, backtrack=True, gcr=TRACKER_GCR)
        self.tilt = tracker["surface_tilt"].fillna(0.0).to_numpy()
        self.surface_azimuth = tracker["surface_azimuth"].fillna(TRACKER_AXIS_AZIMUTH_DEG + 90.0).to_numpy()
        aoi = tracker["aoi"].fillna(90.0).to_numpy()
        self.iam = np.nan_to_num(pvlib.iam.physical(aoi), nan=0.0)
        self.day_of_year = self.times.dayofyear.to_numpy()
        self.losses = pvlib.pvsystem.pvwatts_losses() / 100.0

    def ac_per_mw(self, clearness_hourly: np.ndarray, temp_c: np.ndarray, wind_10m: np.ndarray) -> np.ndarray:
        """AC output per MW AC for an hourly clear-sky index (0 at night)."""
        import pvlib

        ghi = clearness_hourly * self.clear_ghi
        split = pvlib.irradiance.erbs(ghi, self.zenith, self.day_of_year)
        poa = pvlib.irradiance.get_total_irradiance(
            self.tilt, self.surface_azimuth, self.zenith, self.azimuth, split["dni"], ghi, split["dhi"],
            dni_extra=self.dni_extra, albedo=ALBEDO, model="haydavies")
        poa_direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float))
        poa_diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=float))
        effective = np.clip(poa_direct * self.iam + poa_diffuse, 0.0, None)
        params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][SAPM_MOUNT]
        cell = pvlib.temperature.sapm_cell(effective, temp_c, wind_10m, **params)
        pdc0 = DC_AC_RATIO  # MW DC per MW AC
        dc = pvlib.pvsystem.pvwatts_dc(effective, cell, pdc0, GAMMA_PDC_PER_C) * (1.0 - self.losses)
        ac = pvlib.inverter.pvwatts(np.clip(dc, 0.0, None), 1.0 / INVERTER_EFFICIENCY, eta_inv_nom=INVERTER_EFFICIENCY)
        ac = np.clip(np.nan_to_num(np.asarray(ac, dtype=float)), 0.0, None)
        return np.where(self.sun_up, ac, 0.0)


_TURBINE_CURVE: tuple[np.ndarray, np.ndarray, float] | None = None


def turbine_power_curve() -> tuple[np.ndarray, np.ndarray, float]:
    """``(wind speeds m/s, power W, nominal power W)`` of :data:`TURBINE_TYPE` (windpowerlib, offline)."""
    global _TURBINE_CURVE
    if _TURBINE_CURVE is None:
        from windpowerlib import WindTurbine

        turbine = WindTurbine(hub_height=HUB_HEIGHT_M, turbine_type=TURBINE_TYPE)
        curve = turbine.power_curve
        _TURBINE_CURVE = (curve["wind_speed"].to_numpy(dtype=float), curve["value"].to_numpy(dtype=float),
                          float(turbine.nominal_power))
    return _TURBINE_CURVE


def _wind_cf(speed: np.ndarray) -> np.ndarray:
    from windpowerlib.power_output import power_curve

    speeds, power, nominal = turbine_power_curve()
    return (1.0 - WIND_LOSSES) * np.asarray(power_curve(speed, speeds, power), dtype=float) / nominal


def _wind_speed_shape(site_id: str) -> np.ndarray:
    """Hub-height wind speed for a unit Weibull scale: Weibull(AR(1)) × season × diurnal."""
    from scipy import stats

    z = _ar1(_rng(site_id, 3), HOURS_PER_YEAR, WIND_AR1)
    weibull = (-np.log(stats.norm.sf(z))) ** (1.0 / WEIBULL_SHAPE)
    hour = np.tile(np.arange(HOURS_PER_DAY), DAYS_PER_YEAR)
    day_of_year = _day_index() + 1
    season = 1.0 + WIND_SEASONAL_AMPLITUDE * _seasonal_cosine(day_of_year, WIND_WINDIEST_DAY_OF_YEAR)
    diurnal = 1.0 + WIND_DIURNAL_AMPLITUDE * np.cos(2.0 * np.pi * (hour - WIND_PEAK_HOUR) / HOURS_PER_DAY)
    return weibull * season * diurnal


def _wind_speed_for_cf(shape: np.ndarray, target: float, site_id: str) -> np.ndarray:
    """Scale ``c`` (m/s) so the mean of ``_wind_cf(c · shape)`` equals ``target``."""
    def mean_cf(scale: float) -> float:
        return float(np.mean(_wind_cf(scale * shape)))

    low, high = 0.5, 20.0
    reachable = max(mean_cf(s) for s in np.linspace(low, high, 40))
    if not 0.0 < target < reachable:
        raise ValueError(f"{site_id}: wind capacity factor {target:g} is not reachable "
                         f"(maximum {reachable:.3f} with {TURBINE_TYPE} and {WIND_LOSSES:.0%} losses)")
    return _bisect(mean_cf, target, low, high) * shape


def _site_hourly(site) -> dict[str, np.ndarray]:
    site_id = str(site.site_id)
    day_of_year = _day_index() + 1
    hour = np.tile(np.arange(HOURS_PER_DAY), DAYS_PER_YEAR)

    # wind first: its speed also cools the PV cells
    wind_speed = _wind_speed_for_cf(_wind_speed_shape(site_id), float(site.wind_cf), site_id)
    wind_cf = np.clip(_wind_cf(wind_speed), 0.0, 1.0)
    wind_10m = wind_speed * (WIND_REFERENCE_HEIGHT_M / HUB_HEIGHT_M) ** WIND_SHEAR_EXPONENT

    # cloudiness (daily) and temperature, which depends on it through the diurnal range
    z_clear = _ar1(_rng(site_id, 1), DAYS_PER_YEAR, CLEARNESS_AR1)
    z_temp = _ar1(_rng(site_id, 2), DAYS_PER_YEAR, TEMP_ANOMALY_AR1)

    def temperatures(clearness_daily: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mid = (site.temp_jan_c + site.temp_jul_c) / 2.0
        amplitude = (site.temp_jul_c - site.temp_jan_c) / 2.0
        seasonal = _seasonal_cosine(day_of_year, WARMEST_DAY_OF_YEAR)
        anomaly = _daily_to_hourly(TEMP_ANOMALY_STD_C * z_temp)
        ratio = np.clip(0.5 + 0.5 * clearness_daily / clearness_daily.mean(), *DIURNAL_CLOUD_FACTOR_BOUNDS)
        diurnal = _daily_to_hourly(ratio) * site.temp_diurnal_range_c / 2.0 * np.cos(
            2.0 * np.pi * (hour - WARMEST_HOUR) / HOURS_PER_DAY)
        temp = mid + amplitude * seasonal + anomaly + diurnal
        dew_mid = (site.dewpoint_jan_c + site.dewpoint_jul_c) / 2.0
        dew_amplitude = (site.dewpoint_jul_c - site.dewpoint_jan_c) / 2.0
        dew = np.minimum(temp, dew_mid + dew_amplitude * seasonal + DEWPOINT_ANOMALY_SHARE * anomaly)
        return temp, dew

    pv = _PVSite(float(site.lat), float(site.lon), int(site.utc_offset_h))
    target = float(site.solar_cf)

    def pv_output(site_mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        clearness = _clearness_index(z_clear, site_mean)
        temp, dew = temperatures(clearness)
        return pv.ac_per_mw(np.repeat(clearness, HOURS_PER_DAY), temp, wind_10m), temp, dew

    # sky clearness so the unscaled output is near the target (two fixed-point steps), then scale
    site_mean = CLEARNESS_MEAN_BOUNDS[1]
    for _ in range(3):
        ac, temp, dew = pv_output(site_mean)
        site_mean = float(np.clip(site_mean * target / max(ac.mean(), 1e-9), *CLEARNESS_MEAN_BOUNDS))
    ac, temp, dew = pv_output(site_mean)
    solar_cf = _scale_to_mean(ac, target, f"{site_id} solar")
    unclipped = (solar_cf > 0) & (solar_cf < 1)
    scale = float(np.median(solar_cf[unclipped] / ac[unclipped])) if unclipped.any() else float("nan")

    rh = np.clip(relative_humidity_percent(temp, dew), 0.0, 100.0)
    wetbulb = np.minimum(wetbulb_c(temp, rh), temp)
    return {"solar_cf": solar_cf, "wind_cf": wind_cf, "temp_c": temp, "wetbulb_c": wetbulb,
            "clearness_mean": site_mean, "solar_scale": scale}


def synthetic_hourly(sites: pd.DataFrame) -> pd.DataFrame:
    """Synthetic 8760-hour table (``hourly``) for every site, in the order of ``sites``.

    ``sites`` needs the columns :data:`SITE_COLUMNS` (``site_id`` may be the index) and may have
    ``utc_offset_h`` (standard-time offset, h; default ``round(lon / 15)``). See the module
    docstring for the method. Values are not rounded.
    """
    frame = sites if "site_id" in sites.columns else sites.reset_index()
    missing = [column for column in SITE_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"sites table lacks columns {missing}")
    frame = frame.copy()
    if "utc_offset_h" not in frame.columns:
        frame["utc_offset_h"] = (frame["lon"] / 15.0).round().astype(int)
    blank = frame[list(SITE_COLUMNS)].isna().any(axis=1)
    if blank.any():
        raise ValueError(f"sites with blank inputs: {list(frame.loc[blank, 'site_id'])}")

    parts = []
    for site in frame.itertuples(index=False):
        values = _site_hourly(site)
        parts.append(pd.DataFrame({
            "site_id": site.site_id,
            "hour": np.arange(HOURS_PER_YEAR),
            **{column: values[column] for column in HOURLY_COLUMNS[2:]},
        }))
    return pd.concat(parts, ignore_index=True)


# ================================================================================================
# loader for users' hourly CSVs
# ================================================================================================

class WeatherFileError(ValueError):
    """A user's hourly CSV breaks a rule; the message names file, line, column, value and rule."""


CF_COLUMNS = ("solar_cf", "wind_cf")
TEMP_COLUMNS = ("temp_c", "wetbulb_c", "dewpoint_c")
DATA_COLUMNS = ("solar_cf", "wind_cf", "temp_c", "wetbulb_c", "dewpoint_c", "rh_percent",
                "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh")
TIME_COLUMNS = ("hour", "local_time", "time")
ACCEPTED_COLUMNS = TIME_COLUMNS + DATA_COLUMNS
#: columns of the returned frame after ``site_id`` and ``hour`` (dew point and RH only feed wetbulb_c)
RETURNED_COLUMNS = ("solar_cf", "wind_cf", "temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh")
#: column names of common exports -> hint (ERA5 t2m/d2m are in kelvin, NSRDB "Temperature" in °C)
COMMON_NAMES = {
    "temperature": "temp_c (dry-bulb, °C)", "t2m": "temp_c (ERA5 2 m temperature, in K: subtract 273.15)",
    "temp_air": "temp_c (dry-bulb, °C)", "air_temperature": "temp_c (dry-bulb, °C)",
    "dew point": "dewpoint_c", "dew_point": "dewpoint_c", "d2m": "dewpoint_c (ERA5, in K: subtract 273.15)",
    "relative humidity": "rh_percent", "relative_humidity": "rh_percent", "rh": "rh_percent",
    "wet_bulb": "wetbulb_c", "wetbulb": "wetbulb_c", "price": "grid_price_usd_per_mwh (USD/MWh)",
    "lmp": "grid_price_usd_per_mwh (USD/MWh)",
}
TEMP_RANGE_C = (-60.0, 60.0)
WETBULB_TOLERANCE_C = 0.5
CF_TOLERANCE = 1e-3
RH_TOLERANCE = 1.0
PRICE_MIN_USD_PER_MWH = -1_000.0  # negative wholesale prices are real; same bounds as schemas.HOURLY
PRICE_MAX_USD_PER_MWH = 10_000.0
CO2_MAX_KG_PER_MWH = 2_000.0


class _Table:
    """Data lines of a CSV with their 1-based line numbers in the file."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = read_text(path, what="hourly file")
        except UnsafeFileError as exc:
            raise WeatherFileError(str(exc)) from None
        rows: list[tuple[int, list[str]]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            rows.append((number, next(csv.reader([line]))))
        if not rows:
            raise WeatherFileError(f"{path}: no header line (the file is empty or only comments)")
        self.header_line, header = rows[0]
        self.header = [name.strip() for name in header]
        self.lines = np.array([number for number, _ in rows[1:]], dtype=int)
        self.cells = [cells for _, cells in rows[1:]]
        for number, cells in rows[1:]:
            if len(cells) != len(self.header):
                self.fail(number, None, None, f"has {len(cells)} fields but the header has {len(self.header)}")

    def fail(self, line: int, column: str | None, value, rule: str):
        where = f"{self.path}, line {line}"
        if column is not None:
            where += f", column '{column}'"
        if value is not None:
            where += f", value {value!r}"
        raise WeatherFileError(f"{where}: {rule}")

    def text(self, column: str) -> np.ndarray:
        index = self.header.index(column)
        return np.array([cells[index].strip() for cells in self.cells], dtype=object)

    def numbers(self, column: str) -> np.ndarray:
        raw = self.text(column)
        values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = bad[0]
            rule = "empty value; every hour needs a number" if raw[i] == "" else "not a finite number"
            self.fail(self.lines[i], column, raw[i], rule)
        return values

    def first(self, mask: np.ndarray) -> int:
        return int(np.flatnonzero(mask)[0])


def _check_columns(table: _Table) -> list[str]:
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            table.fail(table.header_line, name, None, "column appears twice in the header")
        seen.add(name)
    unknown = [name for name in table.header if name not in ACCEPTED_COLUMNS]
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), ACCEPTED_COLUMNS, n=1, cutoff=0.75)
        if close and close[0] not in table.header:
            table.fail(table.header_line, name, None,
                       f"unknown column; did you mean '{close[0]}'? Accepted columns: {', '.join(ACCEPTED_COLUMNS)}")
        if name.lower() == "electricity":
            hints.append(" renewables.ninja's 'electricity' column of a 1 kW system is a capacity factor: "
                         "rename it to solar_cf or wind_cf.")
        elif name.lower() in COMMON_NAMES:
            hints.append(f" '{name}' is usually {COMMON_NAMES[name.lower()]}.")
    found = [name for name in table.header if name in DATA_COLUMNS]
    if not found:
        table.fail(table.header_line, None, None,
                   f"no recognised data column (found {', '.join(table.header) or 'none'}); accepted columns: "
                   f"{', '.join(ACCEPTED_COLUMNS)}" + "".join(hints))
    if not any(name in table.header for name in TIME_COLUMNS):
        table.fail(table.header_line, None, None,
                   "needs an 'hour' column (0..8759) or a 'time' / 'local_time' timestamp column")
    if unknown:
        warnings.warn(f"{table.path}: ignoring unrecognised columns {unknown}" + "".join(hints), stacklevel=3)
    return found


def _hours_from_column(table: _Table) -> np.ndarray:
    raw = table.text("hour")
    values = table.numbers("hour")
    not_int = values != np.round(values)
    if not_int.any():
        i = table.first(not_int)
        table.fail(table.lines[i], "hour", raw[i], "hours must be whole numbers 0..8759")
    out = (values < 0) | (values >= HOURS_PER_YEAR)
    if out.any():
        i = table.first(out)
        table.fail(table.lines[i], "hour", raw[i], "outside 0..8759 (hour of a non-leap year, local standard time)")
    return values.astype(int)


def _hours_from_timestamps(table: _Table, column: str, utc_offset_h: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Hour of year (leap day dropped) per row and the mask of kept rows."""
    raw = table.text(column)
    stamps = []
    for i, value in enumerate(raw):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            stamp = pd.NaT
        if value == "" or pd.isna(stamp):
            table.fail(table.lines[i], column, value, "not a timestamp (e.g. 2019-01-01 00:00)")
        stamps.append(stamp)
    aware = [stamp.tzinfo is not None for stamp in stamps]
    if any(aware) and not all(aware):
        i = aware.index(not aware[0])
        table.fail(table.lines[i], column, raw[i], "mixes timestamps with and without a UTC offset")
    index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True) if all(aware) else stamps)
    if all(aware):
        offset_h = utc_offset_h if utc_offset_h is not None else stamps[0].utcoffset().total_seconds() / 3600.0
        index = (index + pd.Timedelta(hours=offset_h)).tz_localize(None)  # fixed local standard time
    elif utc_offset_h is not None:
        index = index + pd.Timedelta(hours=utc_offset_h)  # naive stamps given in UTC
    if (index.minute != 0).any() and index.minute.nunique() > 1:
        i = table.first(np.asarray(index.minute != index.minute[0]))
        table.fail(table.lines[i], column, raw[i], "timestamps must be hourly (same minute every hour)")
    leap_day = np.asarray((index.month == 2) & (index.day == 29))
    if leap_day.any():
        warnings.warn(f"{table.path}: dropped {int(leap_day.sum())} rows of 29 February (leap year) "
                      f"to keep a {HOURS_PER_YEAR}-hour year", stacklevel=3)
    hours = np.asarray((index.dayofyear - 1) * HOURS_PER_DAY + index.hour, dtype=int)
    after_leap = np.asarray(index.is_leap_year & (index.month > 2))
    hours = np.where(after_leap, hours - HOURS_PER_DAY, hours)
    return hours, ~leap_day


def _check_hours(table: _Table, hours: np.ndarray, column: str) -> None:
    if len(hours) != HOURS_PER_YEAR:
        last = table.lines[-1] if len(table.lines) else table.header_line
        table.fail(last, column, None, f"the file has {len(hours)} hourly rows; a year needs {HOURS_PER_YEAR} "
                   f"(8784 with timestamps of a leap year, whose 29 February is dropped)")
    order = np.argsort(hours, kind="stable")
    sorted_hours = hours[order]
    duplicate = np.flatnonzero(np.diff(sorted_hours) == 0)
    if duplicate.size:
        i = order[duplicate[0] + 1]
        hint = ("" if column == "hour" else "; local clock time with daylight saving repeats an hour in autumn: "
                "give standard time, or stamps with their UTC offset")
        table.fail(table.lines[i], column, table.text(column)[i],
                   f"duplicate hour {sorted_hours[duplicate[0]]} (every hour 0..8759 must appear once){hint}")


def _check_cf(table: _Table, column: str, values: np.ndarray) -> np.ndarray:
    bad = (values < -CF_TOLERANCE) | (values > 1.0 + CF_TOLERANCE)
    if bad.any():
        i = table.first(bad)
        top = values.max()
        if values.min() >= 0 and 1.0 < top <= 100.0:
            rule = f"outside 0..1; the maximum {top:g} looks like percent: divide by 100"
        elif values.min() >= 0 and 100.0 < top <= 1000.0 * 1.1:
            rule = (f"outside 0..1; the maximum {top:g} looks like kW of a 1000 kW system "
                    "(e.g. renewables.ninja with capacity 1000): divide by 1000")
        else:
            rule = "capacity factor outside 0..1"
        table.fail(table.lines[i], column, table.text(column)[i], rule)
    return np.clip(values, 0.0, 1.0)


def _check_temperature(table: _Table, column: str, values: np.ndarray) -> np.ndarray:
    low, high = TEMP_RANGE_C
    bad = (values < low) | (values > high)
    if bad.any():
        i = table.first(bad)
        if values.mean() > 200.0:
            rule = f"outside {low:g}..{high:g} °C; mean {values.mean():.1f} looks like kelvin: subtract 273.15"
        elif values.max() <= 140.0 and ((values - 32.0) / 1.8).min() >= low:
            rule = f"outside {low:g}..{high:g} °C; values up to {values.max():g} look like °F: (F − 32) / 1.8"
        else:
            rule = f"temperature outside {low:g}..{high:g} °C"
        table.fail(table.lines[i], column, table.text(column)[i], rule)
    return values


def _check_not_above(table: _Table, column: str, values: np.ndarray, temp: np.ndarray) -> np.ndarray:
    above = values > temp + WETBULB_TOLERANCE_C
    if above.any():
        i = table.first(above)
        table.fail(table.lines[i], column, table.text(column)[i],
                   f"{column} is above the dry-bulb temp_c {temp[i]:g} by more than {WETBULB_TOLERANCE_C:g} °C")
    return np.minimum(values, temp)


def _check_rh(table: _Table, values: np.ndarray) -> np.ndarray:
    bad = (values < 0.0) | (values > 100.0 + RH_TOLERANCE)
    if bad.any():
        i = table.first(bad)
        table.fail(table.lines[i], "rh_percent", table.text("rh_percent")[i], "relative humidity outside 0..100 %")
    if values.max() <= 1.0:
        i = int(np.argmax(values))
        table.fail(table.lines[i], "rh_percent", table.text("rh_percent")[i],
                   "every value is at most 1: looks like a fraction, give percent (× 100)")
    return np.clip(values, 0.0, 100.0)


def _check_price(table: _Table, values: np.ndarray) -> np.ndarray:
    column = "grid_price_usd_per_mwh"
    if (values < PRICE_MIN_USD_PER_MWH).any():
        i = table.first(values < PRICE_MIN_USD_PER_MWH)
        table.fail(table.lines[i], column, table.text(column)[i],
                   f"price below {PRICE_MIN_USD_PER_MWH:,.0f} USD/MWh is implausible (wholesale offer floors "
                   "are -250 to -1,000 USD/MWh)")
    if (values > PRICE_MAX_USD_PER_MWH).any():
        i = table.first(values > PRICE_MAX_USD_PER_MWH)
        table.fail(table.lines[i], column, table.text(column)[i],
                   f"price above {PRICE_MAX_USD_PER_MWH:,.0f} USD/MWh is implausible")
    if values.max() < 1.0:
        i = int(np.argmax(values))
        table.fail(table.lines[i], column, table.text(column)[i],
                   "every price is below 1: looks like USD/kWh, give USD/MWh (× 1000)")
    return values


def _check_co2(table: _Table, values: np.ndarray) -> np.ndarray:
    column = "grid_co2_kg_per_mwh"
    if (values < 0).any():
        i = table.first(values < 0)
        table.fail(table.lines[i], column, table.text(column)[i], "negative emission rate")
    if (values > CO2_MAX_KG_PER_MWH).any():
        i = table.first(values > CO2_MAX_KG_PER_MWH)
        hint = " (lb/MWh? multiply by 0.4536)" if values.max() <= CO2_MAX_KG_PER_MWH / 0.4536 else ""
        table.fail(table.lines[i], column, table.text(column)[i],
                   f"emission rate above {CO2_MAX_KG_PER_MWH:,.0f} kg/MWh is implausible{hint}")
    return values


def read_site_hourly_csv(path, site_id: str, *, utc_offset_h: float | None = None) -> pd.DataFrame:
    """Load and check a user's hourly CSV for one site; return ``site_id``, ``hour`` and its columns.

    Format: a header line, one line per hour; blank lines and lines starting with ``#`` are skipped
    (renewables.ninja puts its metadata there). Time comes from an ``hour`` column (0..8759, local
    standard time) or else from a ``local_time`` or ``time`` timestamp column: 8760 hourly stamps,
    or 8784 for a leap year (29 February is dropped with a warning). Naive stamps are read as local
    standard time, or as UTC shifted by ``utc_offset_h`` if that is given; stamps with an offset
    are converted to ``utc_offset_h`` if given, else to the offset of the first stamp (so daylight
    saving time is undone). Data columns (any subset, at least one): ``solar_cf``, ``wind_cf``
    (0..1), ``temp_c``, ``wetbulb_c``, ``dewpoint_c`` (°C, −60..60), ``rh_percent`` (0..100),
    ``grid_price_usd_per_mwh`` (−1,000..10,000), ``grid_co2_kg_per_mwh`` (0..2,000). Without
    ``wetbulb_c``, it is derived from ``temp_c`` with ``dewpoint_c`` (Magnus → RH) or
    ``rh_percent`` (Stull 2011) and capped at ``temp_c``; ``dewpoint_c`` and ``rh_percent`` are
    not returned. Tolerances: capacity factors within 0.001 of 0..1 and RH up to 101 % are
    clipped; wet-bulb or dew point up to 0.5 °C above the dry-bulb is capped at the dry-bulb.

    Raises :class:`WeatherFileError` naming the file, the 1-based line in the file (header and
    comments counted), the column, the value and the rule broken. Unrecognised columns without a
    near-miss spelling are ignored with a warning. Rows are returned sorted by hour.
    """
    table = _Table(Path(path))
    found = _check_columns(table)

    if "hour" in table.header:
        time_column = "hour"
        hours = _hours_from_column(table)
        keep = np.ones(len(hours), dtype=bool)
    else:
        time_column = "local_time" if "local_time" in table.header else "time"
        hours, keep = _hours_from_timestamps(table, time_column, utc_offset_h)
    # parse every column on all rows first, so line numbers stay those of the file
    values = {column: table.numbers(column) for column in found}
    table.lines, table.cells = table.lines[keep], [c for c, k in zip(table.cells, keep, strict=True) if k]
    hours = hours[keep]
    values = {column: v[keep] for column, v in values.items()}
    _check_hours(table, hours, time_column)

    for column in CF_COLUMNS:
        if column in values:
            values[column] = _check_cf(table, column, values[column])
    for column in TEMP_COLUMNS:
        if column in values:
            values[column] = _check_temperature(table, column, values[column])
    if "rh_percent" in values:
        values["rh_percent"] = _check_rh(table, values["rh_percent"])
    if "grid_price_usd_per_mwh" in values:
        values["grid_price_usd_per_mwh"] = _check_price(table, values["grid_price_usd_per_mwh"])
    if "grid_co2_kg_per_mwh" in values:
        values["grid_co2_kg_per_mwh"] = _check_co2(table, values["grid_co2_kg_per_mwh"])

    humidity = [c for c in ("wetbulb_c", "dewpoint_c", "rh_percent") if c in values]
    if humidity and "temp_c" not in values:
        ignored = [name for name in table.header if name not in ACCEPTED_COLUMNS]
        table.fail(table.header_line, humidity[0], None, "needs a temp_c column (dry-bulb) in the same file"
                   + (f" (unrecognised columns: {', '.join(ignored)})" if ignored else ""))
    for column in ("wetbulb_c", "dewpoint_c"):
        if column in values:
            values[column] = _check_not_above(table, column, values[column], values["temp_c"])
    if "wetbulb_c" not in values and humidity:
        temp = values["temp_c"]
        if "dewpoint_c" in values:
            rh = np.clip(relative_humidity_percent(temp, values["dewpoint_c"]), 0.0, 100.0)
        else:
            rh = values["rh_percent"]
        values["wetbulb_c"] = np.minimum(wetbulb_c(temp, rh), temp)

    order = np.argsort(hours, kind="stable")
    frame = pd.DataFrame({"site_id": site_id, "hour": hours[order].astype(int)})
    for column in RETURNED_COLUMNS:
        if column in values:
            frame[column] = values[column][order]
    return frame
