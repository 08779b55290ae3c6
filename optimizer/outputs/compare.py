"""What changed between two exported plans: headline figures, sites, capacities and chips.

Reads the plan folders only (``summary.csv``, ``sites.csv``, ``power.csv``, ``chips.csv``; for two
build-outs ``summary.csv``, ``years.csv``, ``schedule.csv`` and ``fleet.csv``), so it compares plans
from different runs, machines or versions of the data. Every table has the value in plan A, in plan
B and the change B - A; rows that did not change are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimizer.inputs.safe_io import UnsafeFileError, read_csv

#: summary figures compared, with the label a planner reads
HEADLINE = {
    "usd_per_mtok": "$/Mtok",
    "energy_usd_per_mtok": "  energy $/Mtok",
    "chips_usd_per_mtok": "  chips $/Mtok",
    "infrastructure_usd_per_mtok": "  infrastructure $/Mtok",
    "total_cost_usd_per_yr": "total cost $/yr",
    "delivered_tokens_per_yr": "delivered tokens/yr",
    "sites_built": "sites built",
    "it_capacity_mw": "IT capacity MW",
    "chips": "accelerators",
    "emissions_kg_per_mtok": "kg CO2/Mtok",
    "water_l_per_mtok": "water L/Mtok",
    "capex_usd": "capex $",
}
#: smallest change reported: differences below it are solver noise
TOLERANCE = 1e-6


class PlanFolderError(ValueError):
    """A folder is not an exported plan (a table is missing or unreadable)."""


@dataclass
class PlanComparison:
    headline: pd.DataFrame  # figure, a, b, change, change_pct
    sites: pd.DataFrame  # site_id, built_a, built_b, it_mw_a, it_mw_b, change_mw, cooling_a, cooling_b
    capacities: pd.DataFrame  # site_id, tech_id, mw_a, mw_b, change_mw
    chips: pd.DataFrame  # chip_id, chips_a, chips_b, change


def _read(folder: Path, table: str) -> pd.DataFrame:
    path = folder / f"{table}.csv"
    if not path.exists():
        raise PlanFolderError(f"{folder}: not a plan folder ({table}.csv is missing)")
    try:
        return read_csv(path, f"plan table '{table}'")
    except UnsafeFileError as error:
        raise PlanFolderError(str(error)) from None


def _changed(frame: pd.DataFrame, a: str, b: str, change: str) -> pd.DataFrame:
    frame[change] = frame[b] - frame[a]
    changed = frame[change].abs() > TOLERANCE * frame[[a, b]].abs().max(axis=1).clip(lower=1.0)
    return frame[changed].reset_index(drop=True)


def _headline(a: pd.Series, b: pd.Series, figures: dict[str, str] = HEADLINE) -> pd.DataFrame:
    rows = [
        {"figure": label, "a": float(a[column]), "b": float(b[column])}
        for column, label in figures.items()
        if column in a.index and column in b.index
    ]
    frame = pd.DataFrame(rows)
    frame["change"] = frame["b"] - frame["a"]
    frame["change_pct"] = 100.0 * frame["change"] / frame["a"].where(frame["a"] != 0)
    return frame


def _sites(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    columns = ["site_id", "built", "it_capacity_mw", "cooling_id"]
    merged = a[columns].merge(b[columns], on="site_id", how="outer", suffixes=("_a", "_b"))
    merged[["built_a", "built_b"]] = merged[["built_a", "built_b"]].fillna(0).astype(int)
    merged[["it_capacity_mw_a", "it_capacity_mw_b"]] = merged[["it_capacity_mw_a", "it_capacity_mw_b"]].fillna(0.0)
    merged[["cooling_id_a", "cooling_id_b"]] = merged[["cooling_id_a", "cooling_id_b"]].fillna("")
    merged = merged.rename(columns={"it_capacity_mw_a": "it_mw_a", "it_capacity_mw_b": "it_mw_b"})
    merged["change_mw"] = merged["it_mw_b"] - merged["it_mw_a"]
    moved = (merged["built_a"] != merged["built_b"]) | (merged["cooling_id_a"] != merged["cooling_id_b"])
    moved |= merged["change_mw"].abs() > TOLERANCE * merged[["it_mw_a", "it_mw_b"]].max(axis=1).clip(lower=1.0)
    ordered = ["site_id", "built_a", "built_b", "it_mw_a", "it_mw_b", "change_mw", "cooling_id_a", "cooling_id_b"]
    return merged.loc[moved, ordered].sort_values("change_mw", key=abs, ascending=False).reset_index(drop=True)


def _capacities(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    def by_key(power: pd.DataFrame) -> pd.Series:
        return power.groupby(["site_id", "tech_id"])["capacity_mw"].sum()

    merged = pd.concat({"mw_a": by_key(a), "mw_b": by_key(b)}, axis=1).fillna(0.0).reset_index()
    return _changed(merged, "mw_a", "mw_b", "change_mw")


def _chips(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    merged = (
        pd.concat(
            {"chips_a": a.groupby("chip_id")["chips"].sum(), "chips_b": b.groupby("chip_id")["chips"].sum()}, axis=1
        )
        .fillna(0.0)
        .reset_index()
    )
    return _changed(merged, "chips_a", "chips_b", "change")


def compare_plans(folder_a: str | Path, folder_b: str | Path) -> PlanComparison:
    """Compare two plan folders written by ``aifactory solve``."""
    a, b = Path(folder_a), Path(folder_b)
    return PlanComparison(
        headline=_headline(_read(a, "summary").iloc[0], _read(b, "summary").iloc[0]),
        sites=_sites(_read(a, "sites"), _read(b, "sites")),
        capacities=_capacities(_read(a, "power"), _read(b, "power")),
        chips=_chips(_read(a, "chips"), _read(b, "chips")),
    )


#: build-out summary figures compared, with the label a planner reads
BUILDOUT_HEADLINE = {
    "levelised_usd_per_mtok": "levelised $/Mtok",
    "levelised_energy_usd_per_mtok": "  energy $/Mtok",
    "levelised_chips_usd_per_mtok": "  chips $/Mtok",
    "levelised_infrastructure_usd_per_mtok": "  infrastructure $/Mtok",
    "pv_cost_usd": "present value of cost $",
    "pv_tokens": "present value of tokens",
    "pv_unserved_usd": "present value of unserved demand $",
}


@dataclass
class BuildoutComparison:
    headline: pd.DataFrame  # figure, a, b, change, change_pct
    years: pd.DataFrame  # year, usd_per_mtok_a, usd_per_mtok_b, it_mw_a, it_mw_b, sites_a, sites_b
    halls: pd.DataFrame  # site_id, year, it_mw_a, it_mw_b, change_mw (IT standing at the site that year)
    fleet: pd.DataFrame  # year, chip_id, racks_a, racks_b, change


def compare_buildouts(folder_a: str | Path, folder_b: str | Path) -> BuildoutComparison:
    """Compare two build-out folders: levelised cost, each year, where and when halls stand, the fleet."""
    a, b = Path(folder_a), Path(folder_b)
    headline = _headline(_read(a, "summary").iloc[0], _read(b, "summary").iloc[0], BUILDOUT_HEADLINE)
    columns = {"usd_per_mtok": "usd_per_mtok", "it_capacity_mw": "it_mw", "sites_open": "sites"}
    years_a = _read(a, "years").set_index("year")[list(columns)].rename(columns=columns)
    years_b = _read(b, "years").set_index("year")[list(columns)].rename(columns=columns)
    years = years_a.join(years_b, lsuffix="_a", rsuffix="_b", how="outer").reset_index()

    def standing(folder: Path) -> pd.Series:
        return _read(folder, "schedule").groupby(["site_id", "year"])["it_capacity_mw"].sum()

    halls = pd.concat({"it_mw_a": standing(a), "it_mw_b": standing(b)}, axis=1).fillna(0.0).reset_index()

    def racks(folder: Path) -> pd.Series:
        return _read(folder, "fleet").groupby(["year", "chip_id"])["racks"].sum()

    fleet = pd.concat({"racks_a": racks(a), "racks_b": racks(b)}, axis=1).fillna(0.0).reset_index()
    return BuildoutComparison(
        headline=headline,
        years=years,
        halls=_changed(halls, "it_mw_a", "it_mw_b", "change_mw"),
        fleet=_changed(fleet, "racks_a", "racks_b", "change"),
    )
