"""Synthetic 8760-hour weather-driven profiles per site: the generator behind ``data/hourly.csv.gz``.

The default dataset has no measured weather, so :func:`synthetic_hourly` builds a documented
**synthetic** year for each site from its annual figures: a physical PV model (pvlib) and a real
turbine power curve (windpowerlib) driven by seeded synthetic cloudiness and wind speed, scaled to
the site's NREL ATB capacity factors, plus dry-bulb and wet-bulb temperatures from climate normals.
``data/scripts/build_weather.py`` runs it for every site. Users with real data (NSRDB, ERA5,
renewables.ninja, ...) do not need it: they load their series with
:func:`optimizer.inputs.weather.read_site_hourly_csv`. Every constant below is listed with its
source or marked **assumption** in ``data/SOURCES.md``, section "hourly.csv.gz (24 sites × 8,760 h)
— synthetic, weather-driven" (tables Time, Solar PV, Onshore wind, Temperature and humidity).

This is a data script, not part of the ``optimizer`` package (which never imports it): it imports
``optimizer.inputs.psychrometrics``, so the repository root must be importable (the build script
puts it on ``sys.path``).

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
    Stull (2011), capped at the dry-bulb (formulas in :mod:`optimizer.inputs.psychrometrics`).

Seeds are stable per site (``zlib.crc32(site_id)``), so the build is reproducible byte for byte.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd

from optimizer.inputs.psychrometrics import relative_humidity_percent, wetbulb_c

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
GAMMA_PDC_PER_C = -0.0037  # assumption: between PVWatts v5 "premium" (-0.0035) and "standard" (-0.0047)
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

SITE_COLUMNS = (
    "site_id",
    "lat",
    "lon",
    "solar_cf",
    "wind_cf",
    "temp_jan_c",
    "temp_jul_c",
    "temp_diurnal_range_c",
    "dewpoint_jan_c",
    "dewpoint_jul_c",
)
HOURLY_COLUMNS = ("site_id", "hour", "solar_cf", "wind_cf", "temp_c", "wetbulb_c")

#: standard-time UTC offset (hours) by state; split states are refined by longitude below.
#: Source: US standard time zone boundaries, 49 CFR Part 71 (boundaries approximated).
STANDARD_UTC_OFFSET_BY_STATE = {
    **dict.fromkeys(
        (
            "CT",
            "DC",
            "DE",
            "FL",
            "GA",
            "IN",
            "KY",
            "MA",
            "MD",
            "ME",
            "MI",
            "NC",
            "NH",
            "NJ",
            "NY",
            "OH",
            "PA",
            "RI",
            "SC",
            "VA",
            "VT",
            "WV",
        ),
        -5,
    ),
    **dict.fromkeys(
        ("AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK", "SD", "TN", "TX", "WI"), -6
    ),
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
        return round(lon / 15.0)
    offset = STANDARD_UTC_OFFSET_BY_STATE[state]
    for split_state, threshold, west_offset in STANDARD_UTC_OFFSET_SPLITS:
        if state == split_state and lon < threshold:
            offset = west_offset
    return offset


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
        raise ValueError(
            f"{what}: annual mean {target:g} is not reachable; output is positive in only {attainable:.3f} of the hours"
        )
    factor = _bisect(lambda k: float(np.mean(np.minimum(1.0, k * shape))), target, 0.0, 1.0 / shape[shape > 0].min())
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
        tracker = pvlib.tracking.singleaxis(
            position["apparent_zenith"],
            position["azimuth"],
            axis_tilt=0.0,
            axis_azimuth=TRACKER_AXIS_AZIMUTH_DEG,
            max_angle=TRACKER_MAX_ANGLE_DEG,
            backtrack=True,
            gcr=TRACKER_GCR,
        )
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
            self.tilt,
            self.surface_azimuth,
            self.zenith,
            self.azimuth,
            split["dni"],
            ghi,
            split["dhi"],
            dni_extra=self.dni_extra,
            albedo=ALBEDO,
            model="haydavies",
        )
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
        _TURBINE_CURVE = (
            curve["wind_speed"].to_numpy(dtype=float),
            curve["value"].to_numpy(dtype=float),
            float(turbine.nominal_power),
        )
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
        raise ValueError(
            f"{site_id}: wind capacity factor {target:g} is not reachable "
            f"(maximum {reachable:.3f} with {TURBINE_TYPE} and {WIND_LOSSES:.0%} losses)"
        )
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
        diurnal = (
            _daily_to_hourly(ratio)
            * site.temp_diurnal_range_c
            / 2.0
            * np.cos(2.0 * np.pi * (hour - WARMEST_HOUR) / HOURS_PER_DAY)
        )
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
    return {
        "solar_cf": solar_cf,
        "wind_cf": wind_cf,
        "temp_c": temp,
        "wetbulb_c": wetbulb,
        "clearness_mean": site_mean,
        "solar_scale": scale,
    }


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
        parts.append(
            pd.DataFrame(
                {
                    "site_id": site.site_id,
                    "hour": np.arange(HOURS_PER_YEAR),
                    **{column: values[column] for column in HOURLY_COLUMNS[2:]},
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
