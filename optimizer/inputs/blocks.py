"""The block relaxation of a scenario: each representative day's hours merged into blocks of a few hours.

A relaxation of the hourly model, not an approximation: a block's capacity factors are its hours'
means (the per-hour rows summed), its grid price and CO2 rate the lowest of its hours and its grid
carbon-free share the highest, its temperatures the lowest (so the facility needs no more power than
in its coolest hour; checked against the hourly PUE), storage is kept within its energy at block
ends, and water limits are dropped. Its LP bounds every plan of the scenario from below at a
fraction of the hourly model's size: screening (:mod:`optimizer.analysis.screening`) bounds long site
lists with it, a build-out (:func:`optimizer.solver.buildout.block_lp_bound`) its planning years.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from optimizer.inputs.cooling import hourly_pue_wue
from optimizer.inputs.scenario import Scenario

#: hours merged into one slice of the block relaxation
BLOCK_HOURS = 4


def _blocks(slices: pd.DataFrame, block_h: int) -> pd.Series:
    """Block slice id of each hourly slice: consecutive hours of one representative day."""
    block_of_day = (slices["hour"] // block_h).astype(int)
    blocks_per_day = int(np.ceil(24 / block_h))
    return slices["period"].astype(int) * blocks_per_day + block_of_day


def block_relaxation(scenario: Scenario, block_h: int = BLOCK_HOURS) -> Scenario:
    """The scenario with each day's hours merged into blocks, a relaxation of the hourly model."""
    tables = dict(scenario.tables)
    slices = tables["slices"]
    block = _blocks(slices, block_h)
    grouped = slices.assign(block=block).groupby("block")
    block_slices = pd.DataFrame(
        {
            "period": grouped["period"].first(),
            "hour": grouped["hour"].min(),
            "weight_h": grouped["weight_h"].sum(),
            "duration_h": grouped["hour"].size().astype(float),
        }
    )
    block_slices.index.name = "slice_id"
    profiles = tables["profiles"]
    by_block = profiles.groupby(
        [profiles.index.get_level_values("site_id"), profiles.index.get_level_values("slice_id").map(block)]
    )
    lowest = ["temp_c", "wetbulb_c", "grid_price_usd_per_mwh", "grid_co2_kg_per_mwh"]
    highest = ["grid_cfe_share"]  # a cleaner grid only loosens the 24/7 rule
    block_profiles = pd.concat(
        [by_block[["solar_cf", "wind_cf"]].mean(), by_block[lowest].min(), by_block[highest].max()], axis=1
    )[list(profiles.columns)]
    block_profiles.index.names = ["site_id", "slice_id"]
    _check_block_pue(tables["cooling"], profiles, block_profiles, block)
    sites = tables["sites"].copy()
    if "water_limit_ml_per_yr" in sites:
        sites["water_limit_ml_per_yr"] = np.nan  # dropping a limit only relaxes
    tables.update(slices=block_slices, profiles=block_profiles, sites=sites)
    return dataclasses.replace(scenario, name=f"{scenario.name} (block relaxation)", tables=tables)


def _check_block_pue(cooling: pd.DataFrame, hourly: pd.DataFrame, blocks: pd.DataFrame, block: pd.Series) -> None:
    """A block's PUE must not exceed any of its hours' (else the relaxation would not be one)."""
    hourly_pue, _ = hourly_pue_wue(cooling, hourly)
    block_pue, _ = hourly_pue_wue(cooling, blocks)
    keys = [hourly_pue.index.get_level_values("site_id"), hourly_pue.index.get_level_values("slice_id").map(block)]
    lowest = hourly_pue.groupby(keys).min()
    lowest.index.names = block_pue.index.names
    excess = (block_pue - lowest.reindex(block_pue.index)).to_numpy().max()
    if excess > 1e-9:
        raise ValueError(
            f"block PUE exceeds its hours' lowest by {excess:.3g}: cooling model not monotone in temperature"
        )
