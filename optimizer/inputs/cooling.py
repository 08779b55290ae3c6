"""Hourly PUE and water use of each cooling technology from the ambient dry- and wet-bulb temperature.

Every cooling in ``cooling.csv`` is described by three stages that take over from one another as
the weather gets warmer, each with a documented parameter (sources in ``data/SOURCES.md``):

free cooling
    Air-side economiser (air) or dry coolers (liquid): only fans and pumps run. Full free cooling
    at a dry-bulb temperature up to ``free_cooling_max_drybulb_c``, none from that plus
    ``transition_band_c``, a linear share in between (partial economiser hours).
evaporative assist (optional)
    Direct evaporative air cooling or adiabatic dry coolers/cooling towers carry what free cooling
    cannot, as long as the wet-bulb temperature is low enough (same linear band above
    ``evaporative_max_wetbulb_c``). Evaporating water costs ``evaporative_l_per_kwh`` litres per
    kWh of IT heat and, instead of compressors, only pumps and faster fans
    (``evaporative_kw_per_kw_it``).
mechanical
    Chillers carry the rest with a coefficient of performance that falls as it gets hotter:
    ``COP = chiller_cop_at_35c + chiller_cop_gain_per_c * (35 - dry-bulb)`` (floored at
    ``MIN_CHILLER_COP``); water-cooled chillers also evaporate ``chiller_l_per_kwh`` in their towers.

So, per hour, with shares ``free``, ``evaporative`` of what remains and ``mechanical`` the rest::

    PUE = 1 + power_overhead + fan_pump_kw_per_kw_it
            + evaporative * evaporative_kw_per_kw_it + mechanical / COP(dry-bulb)
    WUE = (1 - free) * evaporative * evaporative_l_per_kwh + mechanical * chiller_l_per_kwh

``power_overhead`` is the electrical loss of UPS, transformers and distribution plus lighting and
offices per kW of IT. WUE is on-site water per kWh of IT energy, as The Green Grid defines it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHILLER_RATING_TEMP_C = 35.0
#: a chiller never does worse than this, however hot (protects the curve at extreme temperatures)
MIN_CHILLER_COP = 1.5


def _share_below(value: np.ndarray, limit: float, band_c: float) -> np.ndarray:
    """1 up to ``limit``, 0 from ``limit + band_c``, linear in between."""
    return np.clip((limit + band_c - value) / band_c, 0.0, 1.0)


def stage_shares(
    cooling: pd.Series, drybulb_c: np.ndarray, wetbulb_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares of the heat carried by free cooling, evaporative assist and chillers (sum to 1)."""
    band = float(cooling["transition_band_c"])
    free = _share_below(drybulb_c, float(cooling["free_cooling_max_drybulb_c"]), band)
    if pd.isna(cooling["evaporative_max_wetbulb_c"]):
        evaporative_of_rest = np.zeros_like(free)
    else:
        evaporative_of_rest = _share_below(wetbulb_c, float(cooling["evaporative_max_wetbulb_c"]), band)
    evaporative = (1.0 - free) * evaporative_of_rest
    return free, evaporative, 1.0 - free - evaporative


def chiller_cop(cooling: pd.Series, drybulb_c: np.ndarray) -> np.ndarray:
    gain = float(cooling["chiller_cop_gain_per_c"])
    return np.maximum(
        MIN_CHILLER_COP, float(cooling["chiller_cop_at_35c"]) + gain * (CHILLER_RATING_TEMP_C - drybulb_c)
    )


def pue(cooling: pd.Series, drybulb_c: np.ndarray, wetbulb_c: np.ndarray) -> np.ndarray:
    """Facility power per unit of IT power in each hour."""
    _, evaporative, mechanical = stage_shares(cooling, drybulb_c, wetbulb_c)
    fixed = 1.0 + float(cooling["power_overhead"]) + float(cooling["fan_pump_kw_per_kw_it"])
    evaporating = evaporative * float(cooling["evaporative_kw_per_kw_it"])
    return fixed + evaporating + mechanical / chiller_cop(cooling, drybulb_c)


def wue_l_per_kwh(cooling: pd.Series, drybulb_c: np.ndarray, wetbulb_c: np.ndarray) -> np.ndarray:
    """On-site water evaporated per kWh of IT energy in each hour."""
    _, evaporative, mechanical = stage_shares(cooling, drybulb_c, wetbulb_c)
    return evaporative * float(cooling["evaporative_l_per_kwh"]) + mechanical * float(cooling["chiller_l_per_kwh"])


def hourly_pue_wue(cooling_table: pd.DataFrame, weather: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PUE and WUE (columns: cooling ids) for every row of ``weather`` (needs ``temp_c``, ``wetbulb_c``)."""
    drybulb = weather["temp_c"].to_numpy(dtype=float)
    wetbulb = weather["wetbulb_c"].to_numpy(dtype=float)
    pue_table = pd.DataFrame(
        {k: pue(row, drybulb, wetbulb) for k, row in cooling_table.iterrows()}, index=weather.index
    )
    wue_table = pd.DataFrame(
        {k: wue_l_per_kwh(row, drybulb, wetbulb) for k, row in cooling_table.iterrows()}, index=weather.index
    )
    return pue_table, wue_table
