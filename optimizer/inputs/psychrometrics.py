"""Relative humidity and wet-bulb temperature from dry-bulb and dew point: the two formulas used by the
loader of users' hourly CSVs (:mod:`optimizer.inputs.weather`) and by the synthetic-weather generator
(``data/scripts/synthetic_weather.py``).

Sources (listed in ``data/SOURCES.md``, section "hourly.csv.gz", table "Temperature and humidity"):
Magnus formula with the coefficients of Alduchov & Eskridge (1996, *J. Appl. Meteor.* 35, 601–609);
wet-bulb fit of Stull (2011, *J. Appl. Meteor. Climatol.* 50, 2267–2269).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Magnus coefficients (Alduchov & Eskridge 1996)
MAGNUS_A = 17.625
MAGNUS_B_C = 243.04


def relative_humidity_percent(temp_c: npt.ArrayLike, dewpoint_c: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Relative humidity (%) from dry-bulb and dew point with the Magnus formula.

    ``RH = 100 · exp(a Td / (b + Td)) / exp(a T / (b + T))`` with a = 17.625, b = 243.04 °C
    (Alduchov & Eskridge 1996). Dew points above the dry-bulb give more than 100 %; callers cap.
    """
    temp = np.asarray(temp_c, dtype=float)
    dew = np.asarray(dewpoint_c, dtype=float)
    return 100.0 * np.exp(MAGNUS_A * dew / (MAGNUS_B_C + dew) - MAGNUS_A * temp / (MAGNUS_B_C + temp))


def wetbulb_c(temp_c: npt.ArrayLike, rh_percent: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Wet-bulb temperature (°C) from dry-bulb (°C) and relative humidity (%), Stull (2011).

    ``Tw = T atan(0.151977 (RH + 8.313659)^½) + atan(T + RH) − atan(RH − 1.676331)
    + 0.00391838 RH^{3/2} atan(0.023101 RH) − 4.686035``. Stull gives it for RH 5–99 % and
    T −20..50 °C at sea-level pressure (error mostly within −1..+0.65 °C); outside that range it is
    an extrapolation. Not capped here (the loader and the synthetic-weather generator cap it at the
    dry-bulb).
    """
    t = np.asarray(temp_c, dtype=float)
    rh = np.asarray(rh_percent, dtype=float)
    return (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )
