"""Validated loader for users' hourly CSVs: :func:`read_site_hourly_csv` replaces a site's synthetic hours.

The default ``data/hourly.csv.gz`` is a synthetic year built by ``data/scripts/build_weather.py``
(generator and method in ``data/scripts/synthetic_weather.py``). Users with measured series (NSRDB,
ERA5, renewables.ninja, ...) load them per site with :func:`read_site_hourly_csv`, which checks the
file row by row and raises :class:`WeatherFileError` naming the file, line, column, value and rule
broken. The rules and tolerances are listed with their source or marked **assumption** in
``data/SOURCES.md``, section "hourly.csv.gz", table "Users' hourly CSVs (read_site_hourly_csv)".
A missing wet-bulb temperature is derived from the dew point or relative humidity with
:mod:`optimizer.inputs.psychrometrics`.
"""

from __future__ import annotations

import csv
import difflib
import warnings
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from optimizer.constants import HOURS_IN_YEAR, HOURS_PER_DAY
from optimizer.inputs.psychrometrics import relative_humidity_percent, wetbulb_c
from optimizer.inputs.safe_io import UnsafeFileError, read_text


class WeatherFileError(ValueError):
    """A user's hourly CSV breaks a rule; the message names file, line, column, value and rule."""


CF_COLUMNS = ("solar_cf", "wind_cf")
TEMP_COLUMNS = ("temp_c", "wetbulb_c", "dewpoint_c")
DATA_COLUMNS = (
    "solar_cf",
    "wind_cf",
    "temp_c",
    "wetbulb_c",
    "dewpoint_c",
    "rh_percent",
    "grid_price_usd_per_mwh",
    "grid_co2_kg_per_mwh",
)
TIME_COLUMNS = ("hour", "local_time", "time")
ACCEPTED_COLUMNS = TIME_COLUMNS + DATA_COLUMNS
#: columns of the returned frame after ``site_id`` and ``hour`` (dew point and RH only feed wetbulb_c)
RETURNED_COLUMNS = ("solar_cf", "wind_cf", "temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh")
#: column names of common exports -> hint (ERA5 t2m/d2m are in kelvin, NSRDB "Temperature" in °C)
COMMON_NAMES = {
    "temperature": "temp_c (dry-bulb, °C)",
    "t2m": "temp_c (ERA5 2 m temperature, in K: subtract 273.15)",
    "temp_air": "temp_c (dry-bulb, °C)",
    "air_temperature": "temp_c (dry-bulb, °C)",
    "dew point": "dewpoint_c",
    "dew_point": "dewpoint_c",
    "d2m": "dewpoint_c (ERA5, in K: subtract 273.15)",
    "relative humidity": "rh_percent",
    "relative_humidity": "rh_percent",
    "rh": "rh_percent",
    "wet_bulb": "wetbulb_c",
    "wetbulb": "wetbulb_c",
    "price": "grid_price_usd_per_mwh (USD/MWh)",
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

    def fail(self, line: int, column: str | None, value: object, rule: str) -> NoReturn:
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
            table.fail(
                table.header_line,
                name,
                None,
                f"unknown column; did you mean '{close[0]}'? Accepted columns: {', '.join(ACCEPTED_COLUMNS)}",
            )
        if name.lower() == "electricity":
            hints.append(
                " renewables.ninja's 'electricity' column of a 1 kW system is a capacity factor: "
                "rename it to solar_cf or wind_cf."
            )
        elif name.lower() in COMMON_NAMES:
            hints.append(f" '{name}' is usually {COMMON_NAMES[name.lower()]}.")
    found = [name for name in table.header if name in DATA_COLUMNS]
    if not found:
        table.fail(
            table.header_line,
            None,
            None,
            f"no recognised data column (found {', '.join(table.header) or 'none'}); accepted columns: "
            f"{', '.join(ACCEPTED_COLUMNS)}" + "".join(hints),
        )
    if not any(name in table.header for name in TIME_COLUMNS):
        table.fail(
            table.header_line,
            None,
            None,
            "needs an 'hour' column (0..8759) or a 'time' / 'local_time' timestamp column",
        )
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
    out = (values < 0) | (values >= HOURS_IN_YEAR)
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
        warnings.warn(
            f"{table.path}: dropped {int(leap_day.sum())} rows of 29 February (leap year) "
            f"to keep a {HOURS_IN_YEAR}-hour year",
            stacklevel=3,
        )
    hours = np.asarray((index.dayofyear - 1) * HOURS_PER_DAY + index.hour, dtype=int)
    after_leap = np.asarray(index.is_leap_year & (index.month > 2))
    hours = np.where(after_leap, hours - HOURS_PER_DAY, hours)
    return hours, ~leap_day


def _check_hours(table: _Table, hours: np.ndarray, column: str) -> None:
    if len(hours) != HOURS_IN_YEAR:
        last = table.lines[-1] if len(table.lines) else table.header_line
        table.fail(
            last,
            column,
            None,
            f"the file has {len(hours)} hourly rows; a year needs {HOURS_IN_YEAR} "
            f"(8784 with timestamps of a leap year, whose 29 February is dropped)",
        )
    order = np.argsort(hours, kind="stable")
    sorted_hours = hours[order]
    duplicate = np.flatnonzero(np.diff(sorted_hours) == 0)
    if duplicate.size:
        i = order[duplicate[0] + 1]
        hint = (
            ""
            if column == "hour"
            else "; local clock time with daylight saving repeats an hour in autumn: "
            "give standard time, or stamps with their UTC offset"
        )
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            f"duplicate hour {sorted_hours[duplicate[0]]} (every hour 0..8759 must appear once){hint}",
        )


def _check_cf(table: _Table, column: str, values: np.ndarray) -> np.ndarray:
    bad = (values < -CF_TOLERANCE) | (values > 1.0 + CF_TOLERANCE)
    if bad.any():
        i = table.first(bad)
        top = values.max()
        if values.min() >= 0 and 1.0 < top <= 100.0:
            rule = f"outside 0..1; the maximum {top:g} looks like percent: divide by 100"
        elif values.min() >= 0 and 100.0 < top <= 1000.0 * 1.1:
            rule = (
                f"outside 0..1; the maximum {top:g} looks like kW of a 1000 kW system "
                "(e.g. renewables.ninja with capacity 1000): divide by 1000"
            )
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
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            f"{column} is above the dry-bulb temp_c {temp[i]:g} by more than {WETBULB_TOLERANCE_C:g} °C",
        )
    return np.minimum(values, temp)


def _check_rh(table: _Table, values: np.ndarray) -> np.ndarray:
    bad = (values < 0.0) | (values > 100.0 + RH_TOLERANCE)
    if bad.any():
        i = table.first(bad)
        table.fail(table.lines[i], "rh_percent", table.text("rh_percent")[i], "relative humidity outside 0..100 %")
    if values.max() <= 1.0:
        i = int(np.argmax(values))
        table.fail(
            table.lines[i],
            "rh_percent",
            table.text("rh_percent")[i],
            "every value is at most 1: looks like a fraction, give percent (× 100)",
        )
    return np.clip(values, 0.0, 100.0)


def _check_price(table: _Table, values: np.ndarray) -> np.ndarray:
    column = "grid_price_usd_per_mwh"
    if (values < PRICE_MIN_USD_PER_MWH).any():
        i = table.first(values < PRICE_MIN_USD_PER_MWH)
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            f"price below {PRICE_MIN_USD_PER_MWH:,.0f} USD/MWh is implausible (wholesale offer floors "
            "are -250 to -1,000 USD/MWh)",
        )
    if (values > PRICE_MAX_USD_PER_MWH).any():
        i = table.first(values > PRICE_MAX_USD_PER_MWH)
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            f"price above {PRICE_MAX_USD_PER_MWH:,.0f} USD/MWh is implausible",
        )
    if values.max() < 1.0:
        i = int(np.argmax(values))
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            "every price is below 1: looks like USD/kWh, give USD/MWh (× 1000)",
        )
    return values


def _check_co2(table: _Table, values: np.ndarray) -> np.ndarray:
    column = "grid_co2_kg_per_mwh"
    if (values < 0).any():
        i = table.first(values < 0)
        table.fail(table.lines[i], column, table.text(column)[i], "negative emission rate")
    if (values > CO2_MAX_KG_PER_MWH).any():
        i = table.first(values > CO2_MAX_KG_PER_MWH)
        hint = " (lb/MWh? multiply by 0.4536)" if values.max() <= CO2_MAX_KG_PER_MWH / 0.4536 else ""
        table.fail(
            table.lines[i],
            column,
            table.text(column)[i],
            f"emission rate above {CO2_MAX_KG_PER_MWH:,.0f} kg/MWh is implausible{hint}",
        )
    return values


def read_site_hourly_csv(path: str | Path, site_id: str, *, utc_offset_h: float | None = None) -> pd.DataFrame:
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
        table.fail(
            table.header_line,
            humidity[0],
            None,
            "needs a temp_c column (dry-bulb) in the same file"
            + (f" (unrecognised columns: {', '.join(ignored)})" if ignored else ""),
        )
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
