"""Checks of storage: hourly charge and discharge within power, the state of charge within each
representative day and across the calendar days, in the grid years and the bridge years.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.constants import DAYS_PER_YEAR, HOURS_PER_YEAR
from optimizer.verify.contract import ATOL, REGIMES
from optimizer.verify.folder import Plan
from optimizer.verify.recorder import Recorder, Row, largest_magnitude
from optimizer.verify.registry import register_check


def _within_day_table(p: Plan, site: str, b: str, prefix: str = "") -> pd.DataFrame:
    """State of charge since the start of the day, periods x hours, at one site (from dispatch)."""
    d = p.dispatch[p.dispatch["site_id"] == site]
    column = f"{prefix}{b}_soc_within_day_mwh"
    values = d[column] if column in d.columns else pd.Series(0.0, index=d.index)
    slices = p.s["slices"]
    frame = pd.DataFrame(
        {
            "period": d["slice_id"].map(slices["period"]),
            "hour": d["slice_id"].map(slices["hour"]),
            "soc": values.astype(float),
        }
    )
    return frame.pivot(index="period", columns="hour", values="soc").sort_index(axis=1)


def _check_storage_flows(p: Plan, c: Recorder, b: str, prefix: str) -> None:
    """One storage tech in one regime: power rating shared by both directions, the level within each day."""
    d, slices = p.dispatch, p.s["slices"]
    name = f"{prefix}{b}"
    frame = d.assign(
        v_c=p.dispatch_column(f"{name}_charge_mw"),
        v_d=p.dispatch_column(f"{name}_discharge_mw"),
        v_soc=p.dispatch_column(f"{name}_soc_within_day_mwh"),
        v_p=p.capacities_at(d["site_id"], b),
        v_e=p.capacities_at(d["site_id"], b, "energy_capacity_mwh"),
        v_period=d["slice_id"].map(slices["period"]),
        v_hour=d["slice_id"].map(slices["hour"]),
    ).sort_values(["site_id", "v_period", "v_hour"])
    # one power rating for both directions: charge + discharge in an hour stay within it
    c.le(
        f"{name} charge + discharge <= power",
        frame["v_c"] + frame["v_d"],
        frame["v_p"],
        unit="MW",
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: {name} charge {x.v_c:.9g} + discharge "
            f"{x.v_d:.9g} MW exceed its power {x.v_p:.9g} MW"
        ),
    )
    # within a representative day the level starts from 0 and moves by the (lossy) flows
    eta = math.sqrt(float(p.s["storage_techs"].loc[b, "round_trip_efficiency"]))
    previous = frame.groupby(["site_id", "v_period"])["v_soc"].shift(fill_value=0.0)
    frame = frame.assign(v_exp=previous + eta * frame["v_c"] - frame["v_d"] / eta)
    c.eq(
        f"{name} soc_within_day = previous hour + sqrt(eta) x charge - discharge / sqrt(eta)",
        frame["v_soc"],
        frame["v_exp"],
        unit="MWh",
        scale=largest_magnitude(frame["v_soc"], previous, frame["v_c"], frame["v_d"], frame["v_e"]),
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: {name} soc_within_day {x.v_soc:.9g} MWh "
            f"!= previous hour (0 before the first) + sqrt(eta) charge - discharge / sqrt(eta) = {x.v_exp:.9g}"
        ),
    )


@register_check(
    "storage",
    "Charge + discharge within the rated power; the level within each representative day "
    "follows the lossy flows, carries from day to day over the 365 days and stays within [0, energy]; durations; "
    "only allowed storage ready in time; power.csv figures",
)
def _check_storage(p: Plan, c: Recorder) -> None:
    storage = p.s["storage_techs"]
    for b in storage.index:
        for prefix in REGIMES.values():
            _check_storage_flows(p, c, b, prefix)

    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.storage_power.itertuples(index=False):
        where = f"site {row.site_id}, {row.tech_id}"
        c.rule(row.tech_id in storage.index, f"power.csv: unknown storage '{row.tech_id}' at {row.site_id}")
        if row.tech_id not in storage.index:
            continue
        b = storage.loc[row.tech_id]
        for rule, lhs, rhs in (
            ("min_duration_h x power <= energy", b["min_duration_h"] * row.capacity_mw, row.energy_capacity_mwh),
            ("energy <= max_duration_h x power", row.energy_capacity_mwh, b["max_duration_h"] * row.capacity_mw),
        ):
            c.le(rule, lhs, rhs, unit="MWh", at=where)
        if limits.allowed_power_techs is not None:
            c.rule(
                row.tech_id in limits.allowed_power_techs or row.capacity_mw <= ATOL,
                f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs",
            )
        if p.online_by is not None:
            c.rule(
                start + math.ceil(b["lead_time_yr"]) <= p.online_by or row.capacity_mw <= ATOL,
                f"site {row.site_id}: {row.tech_id} built but cannot operate by {p.online_by}",
            )
        discharged = float(p.annual(f"{row.tech_id}_discharge_mw").get(row.site_id, 0.0))
        c.eq(
            "generation_mwh_per_yr (power.csv) vs annual discharge",
            row.generation_mwh_per_yr,
            discharged,
            unit="MWh/yr",
            at=where,
        )
        c.eq(
            "capacity_factor vs discharge / (power x 8760 h)",
            row.capacity_factor,
            discharged / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan,
            unit="",
            at=where,
        )
    _check_storage_days(p, c)


def _check_storage_days(p: Plan, c: Recorder) -> None:
    """The level across the calendar: each day starts where the day before ended, within [0, energy].

    storage_days.csv gives the level at the start of every calendar day; within the day it moves as
    the representative day of that date does (soc_within_day in dispatch.csv). Every one of the
    365 x 24 hours is checked, plus the start of each day.
    """
    table = p.t["storage_days"]
    built = {(row.site_id, row.tech_id): row.energy_capacity_mwh for row in p.storage_power.itertuples(index=False)}
    bridge_sites = set(p.bridge_sites)
    expected = {("grid_years", s, b) for s, b in built} | {
        ("bridge_years", s, b) for s, b in built if s in bridge_sites
    }
    listed = set(zip(table["regime"], table["site_id"], table["storage_id"]))
    c.rule(
        not listed - expected,
        f"storage_days.csv lists storage that is not built there: {sorted(listed - expected)[:3]}",
    )
    for regime, site, b in sorted(expected):
        chosen = (table["regime"] == regime) & (table["site_id"] == site) & (table["storage_id"] == b)
        rows = table[chosen].sort_values("day")
        whole_year = rows["day"].tolist() == list(range(DAYS_PER_YEAR))
        c.rule(
            whole_year,
            f"site {site}: {b} ({regime}): storage_days.csv holds {len(rows)} rows, not one per day "
            f"0..{DAYS_PER_YEAR - 1}",
        )
        if whole_year and site in set(p.dispatch["site_id"]) and b in p.storage_ids:  # else: the structure check
            _check_storage_year(p, c, rows, regime, site, b, built[site, b])


def _check_storage_year(
    p: Plan, c: Recorder, rows: pd.DataFrame, regime: str, site: str, b: str, energy: float
) -> None:
    """One storage at one site in one regime over the 365 days of storage_days.csv (``rows``, by day)."""
    where = f"site {site}: {b} ({regime})"
    periods = p.s["days"]["period"].sort_index().to_numpy()
    c.eq(
        "period = days.csv",
        rows["period"],
        periods,
        unit="",
        scale=0.0,
        at=rows,
        describe=lambda x: f"{where} day {x.day}: period {x.period} differs from days.csv",
    )
    c.eq(
        "energy_capacity_mwh = power.csv",
        rows["energy_capacity_mwh"],
        energy,
        unit="MWh",
        at=rows,
        describe=lambda x: (
            f"{where} day {x.day}: energy_capacity_mwh {x.energy_capacity_mwh:.9g} != power.csv {energy:.9g}"
        ),
    )

    within = _within_day_table(p, site, b, REGIMES[regime])
    level = rows["soc_start_mwh"].to_numpy(dtype=float)
    change = within.iloc[:, -1].reindex(periods).to_numpy(dtype=float)  # change over the whole day
    following = np.roll(level, -1)  # day 364 is followed by day 0: the year wraps
    frame = rows.assign(v_next=following, v_expected=level + change)
    c.eq(
        "next day's start = this day's start + its representative day's change",
        following,
        level + change,
        unit="MWh",
        scale=largest_magnitude(level, following, change, energy),
        at=frame,
        describe=lambda x: (
            f"{where}: day {(x.day + 1) % DAYS_PER_YEAR} starts at {x.v_next:.9g} MWh, but day "
            f"{x.day} ends at {x.v_expected:.9g} (start {x.soc_start_mwh:.9g} + its representative day's change)"
        ),
    )

    hourly = level[:, None] + within.reindex(periods).to_numpy(dtype=float)  # 365 x 24
    levels = np.concatenate([level[:, None], hourly], axis=1)  # the start of the day, then each hour
    moments = ["at its start", *(f"after hour {h}" for h in within.columns)]
    frame = pd.DataFrame(
        {
            "site_id": site,
            "storage_id": b,
            "regime": regime,
            "day": np.repeat(np.arange(DAYS_PER_YEAR), len(moments)),
            "when": np.tile(moments, DAYS_PER_YEAR),
            "v_level": levels.ravel(),
            "v_start": np.repeat(level, len(moments)),
        }
    )

    def outside(x: Row) -> str:
        return (
            f"{where} day {x.day} {x.when}: level {x.v_level:.9g} MWh outside [0, {energy:.9g}] (day start "
            f"{x.v_start:.9g} + the change within its representative day)"
        )

    c.le("level >= 0", 0.0, frame["v_level"], unit="MWh", scale=energy, at=frame, describe=outside)
    c.le("level <= energy capacity", frame["v_level"], energy, unit="MWh", scale=energy, at=frame, describe=outside)
