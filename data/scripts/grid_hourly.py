"""Hourly grid CO2 intensity and carbon-free share per site from EIA-930 balancing-area data, 2022.

Inputs (read from ``../shared/reference/real_data/``, never copied into the project; see its
README): ``EIA930_2022_<BA>_fuel_mix_and_co2.csv.gz``, one row per UTC hour of 2022 with the
generation by fuel (MWh: ``WND``, ``SUN``, ``WAT``, ``OIL``, ``NG``, ``COL``, ``NUC``, ``OTH``) and
``avg_CI`` (gCO2/kWh = kg/MWh), as compiled from EIA Form 930 by github.com/HewlettPackard/dc-rl.
``data/scripts/build_weather.py`` calls :func:`assign_balancing_area` and :func:`site_grid_hours`
for every site and writes the result into ``data/hourly.csv.gz``.

Output of :func:`site_grid_hours`: ``grid_co2_kg_per_mwh`` and ``grid_cfe_share`` for hours
0..8759 of the site's local standard time (hour 0 = 1 January 00:00–01:00). Sites whose balancing
area has no file get nothing here; the loader then uses their annual eGRID values from
``sites.geojson`` (``grid_source`` = ``eGRID2023rev2 annual``).

Method (constants and sources in ``data/SOURCES.md``, section "hourly.csv.gz", table "Grid"):

Balancing area
    By the site's ``iso`` (ERCOT → ERCO, PJM → PJM, MISO → MISO, CAISO → CISO, NYISO → NYIS,
    SOCO → SOCO), with per-site decisions in :data:`SITE_BALANCING_AREA` where the iso alone does
    not tell (WECC-NW utilities, Arizona). TVA, El Paso Electric and WECC Rocky Mountain sites
    have no file here. The ``WAAT`` file is not used: its values are a near copy of ``BPAT`` (Pacific
    Northwest hydro and the 1.2 GW Columbia nuclear unit), not WAPA's Arizona area.
Cleaning
    Negative generation is clipped to 0. An hour is treated as missing when any value is blank,
    its total generation is not positive or below :data:`LOW_TOTAL_FRACTION` of the centred
    7-day median total (partial reports, e.g. PJM on 1-2 Oct 2022), or nuclear output exceeds
    :data:`NUCLEAR_JUMP_FRACTION` × the area's 99th-percentile nuclear hour (a nuclear fleet cannot
    grow for a day; PJM reported ≈ 46 GW instead of ≈ 32 GW from 30 Sep 05:00 to 1 Oct 04:00 UTC).
    Missing hours are filled by linear interpolation in time of every fuel.
Hourly values
    ``grid_co2_kg_per_mwh`` = the hour's fuel mix times *direct* (stack) CO2 rates per MWh of coal,
    gas and oil-and-other generation, the same basis as the eGRID rates of the other sites and
    the on-site gas plants (53.06 kg/MMBtu). The rates are fitted to eGRID2023rev2 itself
    (:func:`direct_rates_kg_per_mwh`: non-negative least squares of the 27 subregions' CO2 output
    rates on their coal, gas and remaining fossil-and-other shares; coal ≈ 1,015, gas ≈ 402,
    oil and other ≈ 743 kg/MWh, RMSE ≈ 38 kg/MWh). The file's ``avg_CI`` is not used: it is a
    *life-cycle* intensity (the mix times IPCC AR5 life-cycle medians: coal 820, gas 490, hydro 24,
    nuclear 12, wind 11 gCO2eq/kWh ...), which would charge the grid ≈ 20 % more per MWh of gas
    than the on-site plants it competes with. ``grid_cfe_share`` = (WND + SUN + WAT + NUC) / total
    generation of the hour (generation inside the area; imports are not traced).
Time
    EIA-930 stamps are UTC at the *end* of the hour. The interval start (stamp − 1 h) is moved to
    the site's standard offset, and the 8,760 hours are wrapped so that hour 0 is 1 January 00:00
    local standard time: the last few hours of the local year (31 December evening) come from the
    first UTC hours of the file (the evening of 31 December 2021 UTC-wise).

Usage (normally through ``build_weather.py``)::

    python data/scripts/grid_hourly.py [--real-data DIR]   # prints the cleaning report per area
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
REAL_DATA_DIR = REPO.parent / "shared" / "reference" / "real_data"

DATA_YEAR = 2022
HOURS_PER_YEAR = 8760
EIA930_FILE = "EIA930_{year}_{area}_fuel_mix_and_co2.csv.gz"
FUEL_COLUMNS = ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH")
CARBON_FREE_FUELS = ("WND", "SUN", "WAT", "NUC")
#: EIA-930 fuel columns -> the eGRID2023rev2 generation-share group whose direct CO2 rate they take
FOSSIL_GROUPS = {"COL": "coal", "NG": "gas", "OIL": "other", "OTH": "other"}
EGRID_RATES_FILE = REPO.parent / "shared" / "reference" / "egrid2023rev2_subregion_co2.csv"
#: eGRID share columns (percent) of the carbon-free sources; "other" is what the listed shares leave
EGRID_CARBON_FREE_PCT = ("nuclear_pct", "wind_pct", "solar_pct", "hydro_pct")
EGRID_NATIONAL_ROW = "National"
#: balancing areas whose file is used (WAAT left out: a near copy of BPAT, see the module docstring)
BALANCING_AREAS = ("ERCO", "PJM", "MISO", "BPAT", "SOCO", "AZPS", "CISO", "NYIS")
EGRID_SOURCE = "eGRID2023rev2 annual"

#: iso of sites.geojson -> EIA-930 balancing area (where the market is one balancing authority)
ISO_TO_BALANCING_AREA = {
    "ERCOT": "ERCO",
    "PJM": "PJM",
    "MISO": "MISO",
    "CAISO": "CISO",
    "NYISO": "NYIS",
    "SOCO": "SOCO",
}
#: site_id -> (balancing area or None, reason): sites whose iso does not settle it
SITE_BALANCING_AREA = {
    "the_dalles": ("BPAT", "Northern Wasco County PUD buys from BPA and sits in BPA's balancing authority area"),
    "quincy_wa": (None, "Grant County PUD is its own balancing authority (GCPD), not BPAT"),
    "prineville": (None, "Pacific Power = PacifiCorp West balancing authority (PACW), not BPAT"),
}
#: iso -> why its sites keep the annual eGRID values (no EIA-930 file here)
NO_FILE_REASON = {
    "TVA": "Tennessee Valley Authority is its own balancing authority (TVA); no file here",
    "WECC-SW": "El Paso Electric is its own balancing authority (EPE); no file here",
    "WECC-RM": "Cheyenne Light / Black Hills in the WAPA Rocky Mountain area (WACM); no file here",
    "WECC-NW": "Pacific Northwest utility not checked; add it to SITE_BALANCING_AREA",
    "SPP": "Southwest Power Pool (SWPP); no file here",
}
#: Arizona has three large balancing authorities (APS = AZPS, SRP, TEP): decided per site
ARIZONA_REASON = "Arizona site: APS (AZPS), SRP and TEP are separate areas; add it to SITE_BALANCING_AREA"

#: an hour whose total generation is below this share of the centred 7-day median total is missing
LOW_TOTAL_FRACTION = 0.5
ROLLING_WINDOW_H = 7 * 24 + 1
ROLLING_MIN_PERIODS_H = 24
#: an hour whose nuclear output exceeds this multiple of the area's 99th-percentile hour is missing
NUCLEAR_JUMP_FRACTION = 1.2
NUCLEAR_REFERENCE_QUANTILE = 0.99


@dataclass(frozen=True)
class GridAssignment:
    """Where a site's hourly grid values come from."""

    site_id: str
    balancing_area: str | None
    reason: str

    @property
    def source(self) -> str:
        """Text of the ``grid_source`` column."""
        if self.balancing_area is None:
            return EGRID_SOURCE
        return f"EIA-930 {DATA_YEAR} {self.balancing_area}"


def available_areas(real_data_dir: Path = REAL_DATA_DIR) -> tuple[str, ...]:
    """The areas of :data:`BALANCING_AREAS` whose file is present."""
    return tuple(a for a in BALANCING_AREAS if (real_data_dir / EIA930_FILE.format(year=DATA_YEAR, area=a)).is_file())


def assign_balancing_area(site_id: str, iso: str, state: str, available: tuple[str, ...]) -> GridAssignment:
    """Balancing area of one site (None: keep eGRID) with the reason, see the module docstring."""
    if site_id in SITE_BALANCING_AREA:
        area, reason = SITE_BALANCING_AREA[site_id]
    elif iso in ISO_TO_BALANCING_AREA:
        area, reason = ISO_TO_BALANCING_AREA[iso], f"iso {iso} is one balancing authority"
    elif state == "AZ":
        area, reason = None, ARIZONA_REASON
    else:
        area, reason = None, NO_FILE_REASON.get(iso, f"iso {iso}: no EIA-930 file here")
    if area is not None and area not in available:
        area, reason = None, f"{area} file not found"
    return GridAssignment(site_id, area, reason)


def read_eia930(area: str, real_data_dir: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """The raw file of one area, indexed by the UTC end-of-hour stamp (8,760 hours of the year)."""
    path = real_data_dir / EIA930_FILE.format(year=DATA_YEAR, area=area)
    frame = pd.read_csv(path)
    frame = frame.rename(columns={frame.columns[0]: "timestamp"})  # the WAAT file has a blank header
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
    expected = pd.date_range(f"{DATA_YEAR}-01-01", periods=HOURS_PER_YEAR, freq="h", tz="UTC")
    if not frame.index.equals(expected):
        raise ValueError(f"{path.name}: stamps are not the {HOURS_PER_YEAR} UTC hours of {DATA_YEAR} in order")
    return frame[list(FUEL_COLUMNS)].astype(float)


def missing_hours(frame: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per cleaning rule (``blank``, ``low_total``, ``nuclear_jump``), see the docstring."""
    fuels = frame[list(FUEL_COLUMNS)].clip(lower=0.0)
    total = fuels.sum(axis=1, min_count=len(FUEL_COLUMNS))
    blank = frame.isna().any(axis=1) | ~(total > 0.0)
    reference = total.where(~blank).rolling(ROLLING_WINDOW_H, center=True, min_periods=ROLLING_MIN_PERIODS_H)
    low_total = ~blank & (total < LOW_TOTAL_FRACTION * reference.median())
    nuclear_cap = NUCLEAR_JUMP_FRACTION * fuels["NUC"].quantile(NUCLEAR_REFERENCE_QUANTILE)
    nuclear_jump = ~blank & ~low_total & (fuels["NUC"] > nuclear_cap)
    return pd.DataFrame({"blank": blank, "low_total": low_total, "nuclear_jump": nuclear_jump})


@functools.cache
def direct_rates_kg_per_mwh(egrid_file: Path = EGRID_RATES_FILE) -> dict[str, float]:
    """Direct CO2 per MWh of coal, gas and other generation that best reproduces eGRID2023rev2's subregion
    output rates from their generation shares (non-negative least squares over the subregions)."""
    from scipy.optimize import nnls  # only the build scripts use scipy here

    egrid = pd.read_csv(egrid_file)
    egrid = egrid[egrid["subregion"] != EGRID_NATIONAL_ROW]
    shares = pd.DataFrame(
        {
            "coal": egrid["coal_pct"],
            "gas": egrid["gas_pct"],
            "other": 100.0 - egrid[["coal_pct", "gas_pct", *EGRID_CARBON_FREE_PCT]].sum(axis=1),
        }
    ).clip(lower=0.0)
    rates, _ = nnls(shares.to_numpy() / 100.0, egrid["co2_kg_per_mwh"].to_numpy())
    return dict(zip(shares.columns, (float(r) for r in rates), strict=True))


@functools.cache
def area_hours(area: str, real_data_dir: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """Cleaned hourly ``grid_co2_kg_per_mwh`` and ``grid_cfe_share`` of an area, UTC end-of-hour index."""
    frame = read_eia930(area, real_data_dir)
    frame[list(FUEL_COLUMNS)] = frame[list(FUEL_COLUMNS)].clip(lower=0.0)
    missing = missing_hours(frame).any(axis=1)
    filled = frame.mask(missing, axis=0).interpolate(method="linear", limit_direction="both")
    total = filled[list(FUEL_COLUMNS)].sum(axis=1)
    carbon_free = filled[list(CARBON_FREE_FUELS)].sum(axis=1)
    rates = direct_rates_kg_per_mwh()
    co2_kg = sum(filled[fuel] * rates[group] for fuel, group in FOSSIL_GROUPS.items())
    return pd.DataFrame(
        {
            "grid_co2_kg_per_mwh": co2_kg / total,
            "grid_cfe_share": (carbon_free / total).clip(0.0, 1.0),
        }
    )


def to_local_standard_year(values: pd.DataFrame, utc_offset_h: int) -> pd.DataFrame:
    """Rows re-indexed to hours 0..8759 of the local standard year (hour-ending UTC stamps in, wrapped)."""
    start_local = values.index - pd.Timedelta(hours=1) + pd.Timedelta(hours=int(utc_offset_h))
    year_start = pd.Timestamp(f"{DATA_YEAR}-01-01", tz="UTC")
    hour = ((start_local - year_start) // pd.Timedelta(hours=1)).to_numpy() % HOURS_PER_YEAR
    if len(np.unique(hour)) != HOURS_PER_YEAR:
        raise ValueError("stamps do not map onto each hour of the year once")
    out = values.set_axis(hour).sort_index()
    out.index.name = "hour"
    return out


def site_grid_hours(area: str, utc_offset_h: int, real_data_dir: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """``grid_co2_kg_per_mwh`` and ``grid_cfe_share`` for hours 0..8759 of a site in ``area``."""
    return to_local_standard_year(area_hours(area, real_data_dir), utc_offset_h)


def cleaning_report(real_data_dir: Path = REAL_DATA_DIR) -> pd.DataFrame:
    """Per area: hours flagged by each rule, and annual means of the cleaned hourly values."""
    rows = {}
    for area in available_areas(real_data_dir):
        flags = missing_hours(read_eia930(area, real_data_dir)).sum()
        hours = area_hours(area, real_data_dir)
        rows[area] = {
            **flags.to_dict(),
            "co2_mean_kg_per_mwh": hours["grid_co2_kg_per_mwh"].mean(),
            "cfe_mean": hours["grid_cfe_share"].mean(),
        }
    return pd.DataFrame(rows).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-data", type=Path, default=REAL_DATA_DIR, help="folder of the reference files")
    args = parser.parse_args()
    report = cleaning_report(args.real_data)
    if report.empty:
        sys.exit(f"no EIA-930 files in {args.real_data}")
    print(report.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
