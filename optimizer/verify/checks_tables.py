"""Checks of the tables themselves: the data contract's values, structure, sites and their map layer,
the representative days and their aggregation error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.constants import DAYS_PER_YEAR, HOURS_PER_DAY, HOURS_PER_YEAR
from optimizer.inputs.profiles import site_sources
from optimizer.inputs.safe_io import UnsafeFileError, read_text
from optimizer.verify.contract import (
    ANNUAL_FALLBACK,
    BLANK_ALLOWED,
    BLANK_IDS,
    HOURLY_QUANTITIES,
    MAX_PLAN_TABLE_BYTES,
    NUMBER,
    PLAN_COLUMNS,
    REGIMES,
    ROW_KEYS,
    STORAGE_FLOWS,
    SUMMARY_RMSE,
)
from optimizer.verify.folder import Plan
from optimizer.verify.recorder import Recorder, cell_place, largest_magnitude, row_place
from optimizer.verify.registry import register_check


def _dispatch_flow_columns(p: Plan) -> list[str]:
    """Dispatch columns named after the scenario's technologies: output, bridge output, storage flows."""
    techs = p.s["power_techs"].index
    names = [f"{g}_mw" for g in techs] + [f"bridge_{g}_mw" for g in techs if g != p.grid_tech]
    flows = [f"{prefix}{b}_{flow}" for prefix in REGIMES.values() for b in p.storage_ids for flow in STORAGE_FLOWS]
    return names + flows


def _contract(p: Plan, name: str) -> dict[str, str]:
    """Columns a table may hold: those it must hold, and in dispatch.csv those of the scenario's technologies
    (which of them it must hold the structure check says: every source's output, the flows of storage built)."""
    if name == "dispatch.csv":
        return {**PLAN_COLUMNS[name], **dict.fromkeys(_dispatch_flow_columns(p), NUMBER)}
    return PLAN_COLUMNS[name]


def _bad_cells(name: str, table: pd.DataFrame, contract: dict[str, str]) -> list[tuple[int, str, str]]:
    """(row, column, what is wrong) of every cell that does not hold what its column promises."""
    numbers = [column for column in contract if contract[column] == NUMBER and column in table.columns]
    words = [column for column in contract if contract[column] != NUMBER and column in table.columns]
    values = table[numbers].to_numpy(dtype=float)
    blank_ok = np.array([(name, column) in BLANK_ALLOWED for column in numbers], dtype=bool)
    bad_numbers = ~np.isfinite(values) & ~(np.isnan(values) & blank_ok)
    found = [
        (int(i), numbers[j], f"{'blank' if np.isnan(values[i, j]) else values[i, j]} where a finite number is needed")
        for i, j in zip(*np.nonzero(bad_numbers))
    ]
    for column in words:
        if (name, column) not in BLANK_IDS:
            blank = table[column].isna() | (table[column].astype(str).str.strip() == "")
            found += [(int(i), column, "blank where an id or word is needed") for i in np.flatnonzero(blank.to_numpy())]
    return found


@register_check(
    "values",
    "Every table holds exactly the columns of the data contract, and every cell what its column "
    "promises: a finite number (blank only where the contract allows it), a non-blank id or word",
)
def _check_values(p: Plan, c: Recorder) -> None:
    for problem in p.non_numbers:
        c.rule(False, problem)
    for name, table in p.files.items():
        contract = _contract(p, name)
        missing = [column for column in PLAN_COLUMNS[name] if column not in table.columns]
        unknown = [column for column in table.columns if column not in contract]
        c.rule(not missing, f"{name}: no column {', '.join(map(repr, missing))}")
        c.rule(
            not unknown,
            f"{name}: column {', '.join(map(repr, unknown))} is not in the data contract "
            f"(PLAN_COLUMNS): nothing checks what it says",
        )
        cells = table.size - len(missing) * len(table)
        bad = _bad_cells(name, table, contract)
        c.rule(True, "", items=cells - len(bad))
        for i, column, wrong in bad:
            c.rule(False, f"{cell_place(name, table, i, column)}: {wrong}")


@register_check(
    "structure",
    "Sites, cooling and ids agree with the scenario; only built sites appear in the tables; "
    "dispatch holds every slice of every built site once, with every column",
)
def _check_structure(p: Plan, c: Recorder) -> None:
    for name, key in ROW_KEYS.items():
        table = p.t[name]
        twice = table[table.duplicated(list(key), keep=False)]
        c.rule(
            twice.empty,
            f"{name}.csv: {len(twice)} rows share their {'/'.join(key)} (e.g. "
            f"{row_place(twice, 0) if len(twice) else ''}); each may appear once",
            items=len(table),
        )
    scenario_sites = set(p.s["sites"].index)
    c.rule(
        set(p.sites.index) == scenario_sites,
        f"sites.csv lists {sorted(set(p.sites.index) ^ scenario_sites)} differently from the scenario",
    )
    cooling = p.s["cooling"].index
    for site, built, k in zip(p.sites.index, p.sites["built"], p.sites["cooling_id"]):
        c.rule(built in (0, 1), f"site {site}: built = {built} is not 0/1")
        c.rule(built != 1 or k in cooling, f"site {site}: built but cooling_id '{k}' is not a cooling technology")
        c.rule(built != 0 or not k, f"site {site}: not built but has cooling '{k}'")
    allowed = p.scenario.constraints.allowed_sites
    if allowed is not None:
        for site in p.built:
            c.rule(site in allowed, f"site {site}: built but not in constraints.allowed_sites")

    built = set(p.built)
    for table in ("chips", "allocation", "power", "deliveries", "storage_days"):
        stray = sorted(set(p.t[table]["site_id"].astype(str)) - built)
        c.rule(not stray, f"{table}.csv uses sites that are not built: {stray}")
    costs = p.t["costs"]
    unknown = sorted(set(costs["site_id"].astype(str)) - scenario_sites)
    c.rule(not unknown, f"costs.csv costs sites that are not candidates of the scenario: {unknown}")
    unbuilt = costs[~costs["site_id"].isin(built)]
    c.eq(
        "no cost at a site not built",
        unbuilt["usd_per_yr"],
        0.0,
        unit="USD/yr",
        at=unbuilt,
        describe=lambda x: f"costs.csv: site {x.site_id} is not built but costs {x.usd_per_yr:.6g} USD/yr ({x.item})",
    )

    # dispatch covers every slice of every built site exactly once
    slices, d = p.s["slices"], p.dispatch
    expected = {(s, t) for s in built for t in slices.index}
    got = list(zip(d["site_id"].astype(str), d["slice_id"].astype(int)))
    c.rule(len(got) == len(set(got)), "dispatch.csv has duplicate (site, slice) rows")
    missing, extra = expected - set(got), set(got) - expected
    c.rule(
        not missing and not extra,
        f"dispatch.csv: {len(missing)} (site, slice) rows missing, {len(extra)} "
        f"unexpected (e.g. {sorted(missing or extra)[:3]})",
    )
    for tech in p.s["power_techs"].index:
        c.rule(f"{tech}_mw" in d.columns, f"dispatch.csv has no column '{tech}_mw'")
    for column in (
        "carbon_free_mw",
        "pue",
        "wetbulb_c",
        "grid_price_usd_per_mwh",
        "grid_co2_kg_per_mwh",
        "grid_cfe_share",
    ):
        c.rule(column in d.columns, f"dispatch.csv has no column '{column}'")
    for b in p.storage_ids:
        if (p.storage_power["tech_id"] == b).any():
            for column in (f"{b}_charge_mw", f"{b}_discharge_mw", f"{b}_soc_within_day_mwh"):
                c.rule(column in d.columns, f"dispatch.csv has no column '{column}' though {b} is built")
    for column, unit in (("weight_h", "h"), ("period", ""), ("hour", "")):
        frame = d.assign(v_expected=d["slice_id"].map(slices[column]))
        c.eq(
            f"dispatch {column} = slices.csv",
            d[column],
            frame["v_expected"],
            unit=unit,
            at=frame,
            describe=lambda x, col=column: (
                f"dispatch {x.site_id}/{x.slice_id}: {col} {getattr(x, col)} differs from slices.csv ({x.v_expected})"
            ),
        )


#: sites.csv columns copied from the scenario's sites table as they are
SITE_WORDS = ("name", "state", "iso", "weather_source", "grid_source")
SITE_COORDINATES = ("lat", "lon")


@register_check(
    "sites",
    "sites.csv describes the scenario's candidate sites: name, state, ISO, coordinates and the sources of "
    "their hours as in the scenario copy; a site not built has no IT capacity",
)
def _check_sites(p: Plan, c: Recorder) -> None:
    scenario = p.s["sites"].join(site_sources(p.s["hourly"])).reindex(p.sites.index)
    for column in SITE_WORDS:
        for site, got, expected in zip(p.sites.index, p.sites[column], scenario[column]):
            c.rule(
                str(got) == str(expected),
                f"sites.csv site {site}: {column} {got!r} differs from the scenario copy's {expected!r}",
            )
    for column in SITE_COORDINATES:
        c.eq(
            f"{column} (sites.csv) = the scenario copy",
            p.per_site(column),
            scenario[column].astype(float),
            unit="deg",
            at=p.site_rows,
        )
    idle = p.sites["built"] != 1
    c.eq(
        "it_capacity_mw = 0 at a site not built",
        p.per_site("it_capacity_mw")[idle],
        0.0,
        unit="MW",
        at=p.site_rows[idle.to_numpy()],
    )


def _geojson_sites(path: Path) -> pd.DataFrame:
    """The features of the plan's sites.geojson: their properties, and ``v_lon``/``v_lat`` from their geometry."""
    document = json.loads(read_text(path, MAX_PLAN_TABLE_BYTES, "sites.geojson"))
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise ValueError("not a GeoJSON FeatureCollection with a 'features' list")
    rows = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        point = geometry.get("coordinates") if isinstance(geometry, dict) and geometry.get("type") == "Point" else None
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not (isinstance(point, list) and len(point) >= 2 and isinstance(properties, dict)):
            raise ValueError(f"feature {number} is not a Point with properties")
        rows.append({**properties, "v_lon": point[0], "v_lat": point[1]})
    return pd.DataFrame(rows)


def _json_numbers(values: pd.Series) -> pd.Series:
    """JSON numbers as floats, null as blank; anything else (text, a list) as inf, which agrees with nothing."""

    def number(value: object) -> float:
        if value is None:
            return math.nan
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.inf

    return values.map(number).astype(float)


def _word(value: object) -> str:
    """A JSON or CSV value as text; a blank reads the same whether written as null, "" or NaN."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


@register_check(
    "sites.geojson",
    "The plan's map layer says what sites.csv says: the same sites, each a point at its "
    "coordinates, with the same value in every column",
)
def _check_geojson(p: Plan, c: Recorder) -> None:
    try:
        layer = _geojson_sites(p.folder / "sites.geojson")
    except (UnsafeFileError, ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        c.rule(False, f"sites.geojson: cannot be read: {' '.join(str(error).split())}")
        return
    columns = list(p.t["sites"].columns)
    missing = [column for column in columns if column not in layer.columns]
    unknown = [column for column in layer.columns if column not in columns and not column.startswith("v_")]
    c.rule(
        not missing and not unknown,
        f"sites.geojson: properties differ from the columns of sites.csv (missing {missing}, unknown {unknown})",
    )
    ids = layer["site_id"].astype(str) if "site_id" in layer else pd.Series(dtype=str)
    c.rule(
        sorted(ids) == sorted(p.sites.index),
        f"sites.geojson lists sites {sorted(set(ids) ^ set(p.sites.index))} differently from sites.csv (or twice)",
    )
    if missing or ids.duplicated().any():
        return
    layer = layer.assign(site_id=ids).set_index("site_id").reindex(p.sites.index)
    for column, point in (("lon", "v_lon"), ("lat", "v_lat")):
        c.eq(
            f"sites.geojson point {column} = sites.csv",
            _json_numbers(layer[point]),
            p.per_site(column),
            unit="deg",
            at=p.site_rows,
        )
    table = p.t["sites"].set_index("site_id")
    for column in [column for column in columns if column != "site_id"]:
        if PLAN_COLUMNS["sites.csv"].get(column) == NUMBER:
            c.eq(
                f"sites.geojson {column} = sites.csv",
                _json_numbers(layer[column]),
                table[column],
                unit="",
                at=p.site_rows,
            )
        else:
            for site, got, expected in zip(table.index, layer[column], table[column]):
                c.rule(
                    _word(got) == _word(expected),
                    f"sites.geojson site {site}: {column} {got!r} differs from sites.csv {expected!r}",
                )


@register_check(
    "time",
    "The representative days: their weights add up to the year in whole days, the calendar maps "
    "every day to one of them, and profiles.csv holds every site and hour",
)
def _check_time(p: Plan, c: Recorder) -> None:
    slices, days, profiles = p.s["slices"], p.s["days"], p.s["profiles"]
    c.eq("sum of slice weights = hours per year", slices["weight_h"].sum(), HOURS_PER_YEAR, unit="h", at="slices.csv")
    c.rule(not slices.index.duplicated().any(), "slices.csv: duplicate slice ids")
    for period, group in slices.groupby("period"):
        c.rule(
            sorted(group["hour"].tolist()) == list(range(HOURS_PER_DAY)),
            f"slices.csv: period {period} does not hold hours 0..23 once each ({len(group)} slices)",
        )
        c.rule(group["weight_h"].nunique() == 1, f"slices.csv: period {period} has different weights within the day")
    c.rule(
        sorted(days.index.tolist()) == list(range(DAYS_PER_YEAR)),
        f"days.csv: {len(days)} rows; needs every day 0..{DAYS_PER_YEAR - 1} once",
    )
    stray = sorted(set(days["period"]) - set(slices["period"]))
    c.rule(not stray, f"days.csv: days mapped to periods {stray} that slices.csv does not have")
    # a slice of period p stands for one hour on each calendar day p represents
    counts = days["period"].value_counts()
    frame = slices.reset_index().assign(v_days=lambda x: x["period"].map(counts).fillna(0.0))
    c.eq(
        "slice weight = calendar days of its period",
        frame["weight_h"],
        frame["v_days"],
        unit="h",
        at=frame,
        describe=lambda x: (
            f"slice {x.slice_id} (period {x.period}): weight_h {x.weight_h:g} != {x.v_days:g} "
            f"calendar days mapped to its period in days.csv"
        ),
    )

    expected = {(s, t) for s in p.s["sites"].index for t in slices.index}
    got = set(profiles.index)
    c.rule(
        got == expected and not profiles.index.duplicated().any(),
        f"profiles.csv: {len(expected - got)} (site, "
        f"slice) rows missing, {len(got - expected)} unexpected, or duplicates",
    )
    rows = profiles.reset_index()
    for quantity in HOURLY_QUANTITIES:
        c.rule(quantity in profiles.columns, f"profiles.csv has no column '{quantity}'")
        if quantity not in profiles.columns:
            continue
        values = rows[quantity].astype(float)
        c.rule(not values.isna().any(), f"profiles.csv: blank {quantity} values")
        if quantity.endswith("_cf"):
            known = rows[values.notna()]
            bounds = (("capacity factor >= 0", 0.0, known[quantity]), ("capacity factor <= 1", known[quantity], 1.0))
            for rule, lhs, rhs in bounds:
                c.le(
                    rule,
                    lhs,
                    rhs,
                    unit="CF",
                    at=known,
                    describe=lambda x, q=quantity: (
                        f"profiles.csv {x.site_id}/{x.slice_id}: {q} {getattr(x, q):.6g} outside [0, 1]"
                    ),
                )

    summary = p.summary
    c.eq(
        "summary periods = periods of slices.csv", summary["periods"], slices["period"].nunique(), unit="", at="summary"
    )
    c.eq("summary slices = rows of slices.csv", summary["slices"], len(slices), unit="", at="summary")
    c.eq(
        "summary representative_days = time.representative_days",
        summary["representative_days"],
        p.scenario.time.representative_days,
        unit="",
        at="summary",
    )


def input_hours(p: Plan, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """8760-hour input series of one quantity (sites x hours, blank grid values at the site's annual value) and
    the same sorted within each site; worked out once per scenario copy."""
    memo = p.inputs.hours
    if quantity not in memo:
        hourly, sites = p.s["hourly"], p.s["sites"]
        hours = range(int(HOURS_PER_YEAR))
        if quantity in hourly.columns:
            wide = hourly[quantity].astype(float).unstack("hour").reindex(index=sites.index, columns=hours).to_numpy()
        else:
            wide = np.full((len(sites), len(hours)), np.nan)
        if quantity in ANNUAL_FALLBACK:
            wide = np.where(np.isnan(wide), sites[quantity].to_numpy(dtype=float)[:, None], wide)
        memo[quantity] = wide, np.sort(wide, axis=1)
    return memo[quantity]


def _slice_of_each_hour(p: Plan) -> np.ndarray:
    """Position in slices.csv of the slice that stands for each of the 8760 hours (day by day); -1 where none does."""
    slices, days = p.s["slices"], p.s["days"]["period"].sort_index()
    positions = pd.Series(np.arange(len(slices)), index=pd.MultiIndex.from_arrays([slices["period"], slices["hour"]]))
    positions = positions[~positions.index.duplicated()]  # duplicates: the time check
    wanted = pd.MultiIndex.from_arrays(
        [np.repeat(days.to_numpy(), HOURS_PER_DAY), np.tile(np.arange(HOURS_PER_DAY), len(days))]
    )
    return positions.reindex(wanted).fillna(-1).to_numpy(dtype=int)


def _aggregation_measured(p: Plan, hour_slices: np.ndarray) -> pd.DataFrame:
    """Each site and quantity's annual mean, mean error, RMSE and duration-curve RMSE of the representative days."""
    sites, slices = list(p.s["sites"].index), p.s["slices"].index
    quantities = [q for q in HOURLY_QUANTITIES if q in p.s["profiles"].columns]  # others: the time check
    wide = p.s["profiles"][quantities].unstack("slice_id")
    frames = []
    for quantity in quantities:
        original, ordered = input_hours(p, quantity)
        rebuilt = wide[quantity].reindex(index=sites, columns=slices).to_numpy(dtype=float)[:, hour_slices]
        frames.append(
            pd.DataFrame(
                {
                    "site_id": sites,
                    "quantity": quantity,
                    "annual_mean": original.mean(axis=1),
                    "mean_error": rebuilt.mean(axis=1) - original.mean(axis=1),
                    "rmse": np.sqrt(((original - rebuilt) ** 2).mean(axis=1)),
                    "duration_rmse": np.sqrt(((ordered - np.sort(rebuilt, axis=1)) ** 2).mean(axis=1)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@register_check(
    "aggregation error",
    "How far the representative days are from the 8760 input hours, re-measured from "
    "hourly inputs, days.csv and profiles.csv, matches aggregation_error.csv and its copy",
)
def _check_aggregation_error(p: Plan, c: Recorder) -> None:
    reported = p.t["aggregation_error"].set_index(["site_id", "quantity"]).sort_index()
    copied = p.copied_error.set_index(["site_id", "quantity"]).sort_index()
    c.rule(
        reported.index.equals(copied.index),
        "aggregation_error.csv lists other (site, quantity) rows than scenario/aggregation_error.csv",
    )
    expected = {(s, q) for s in p.s["sites"].index for q in HOURLY_QUANTITIES}
    c.rule(
        set(reported.index) == expected and not reported.index.duplicated().any(),
        f"aggregation_error.csv: {len(expected - set(reported.index))} (site, quantity) rows missing, "
        f"{len(set(reported.index) - expected)} unexpected, or duplicates",
    )
    hour_slices = _slice_of_each_hour(p)
    if (hour_slices < 0).any():
        c.rule(False, "days.csv / slices.csv: some calendar hours have no slice of their period and hour")
        return
    measured = _aggregation_measured(p, hour_slices)
    # duplicates are named above; the first of them is compared
    keys = pd.MultiIndex.from_frame(measured[["site_id", "quantity"]])
    aligned = [table[~table.index.duplicated()].reindex(keys) for table in (reported, copied)]
    for quantity, rows in measured.groupby("quantity", sort=False):
        for column in ("annual_mean", "mean_error", "rmse", "duration_rmse"):
            got, copy = (
                table[column].to_numpy(dtype=float)[rows.index] if column in table else np.full(len(rows), np.nan)
                for table in aligned
            )
            frame = rows.assign(v_got=got, v_copy=copy)
            c.eq(
                f"{column} = re-measured",
                got,
                rows[column],
                unit=HOURLY_QUANTITIES[quantity],
                scale=largest_magnitude(got, rows[column], 1.0),
                at=frame,
                describe=lambda x, col=column: (
                    f"aggregation_error.csv {x.site_id}/{x.quantity}: {col} {x.v_got:.9g} "
                    f"!= {getattr(x, col):.9g} re-measured from hourly.csv.gz, days.csv and profiles.csv"
                ),
            )
            c.eq(
                f"{column} = scenario/aggregation_error.csv",
                got,
                copy,
                unit=HOURLY_QUANTITIES[quantity],
                at=frame,
                describe=lambda x, col=column: (
                    f"aggregation_error.csv {x.site_id}/{x.quantity}: {col} {x.v_got:.9g} "
                    f"differs from scenario/aggregation_error.csv ({x.v_copy:.9g})"
                ),
            )
    for quantity in SUMMARY_RMSE:
        listed = quantity in reported.index.get_level_values("quantity")
        mean = reported.xs(quantity, level="quantity")["rmse"].mean() if listed else np.nan
        c.eq(
            f"summary aggregation_rmse_{quantity} = mean rmse over sites",
            p.summary[f"aggregation_rmse_{quantity}"],
            mean,
            unit=HOURLY_QUANTITIES[quantity],
            at="summary",
        )


def power_columns(p: Plan) -> list[str]:
    """Dispatch columns that are powers and can never be negative."""
    d = p.dispatch
    names = ["it_mw", "facility_mw", *(f"{g}_mw" for g in p.s["power_techs"].index)]
    names += [f"{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")]
    names += [c for c in d.columns if c.startswith("bridge_") and c.endswith("_mw")]
    return [c for c in names if c in d.columns]
