"""Every unit constant of the project, and the annualisation of capital costs.

The model counts money in millions of USD (M$), power in MW, energy in MWh and tokens in
petatokens (Ptok, 1e15): that keeps coefficients within about 1e-4..1e4 (a rack makes ~10 Ptok/yr,
an hour of grid energy costs ~1e-4 M$/MWh). Plan tables report USD, tokens and litres. Every
module takes its unit conversions from here, the verifier included (this module is plain numbers).
"""

from __future__ import annotations

# money and tokens
USD_PER_MUSD = 1e6
USD_PER_BN = 1e9
TOKENS_PER_PTOK = 1e15
TOKENS_PER_MTOK = 1e6
TOKENS_PER_TTOK = 1e12
#: deliveries at or below this many tokens a year are solver noise, left out of every plan table; a
#: demand must be 0 or above it (one chat session a year is not a planning question)
MIN_DELIVERY_TOKENS_PER_YR = 1e6

# time: a planning year is a non-leap year of hours (the weather and grid tables hold 8,760 rows)
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365
#: rows of a year of hourly data (a count, for indexing)
HOURS_IN_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY
#: the same as a quantity of time, for yearly energy and cost
HOURS_PER_YEAR = float(HOURS_IN_YEAR)
SECONDS_PER_HOUR = 3600.0

# power, energy, mass, volume, distance
KW_PER_MW = 1000.0
KWH_PER_MWH = 1000.0
J_PER_MWH = 3.6e9
KG_PER_T = 1000.0
LITRES_PER_ML = 1e6
M_PER_KM = 1000.0
#: a heat rate in Btu/kWh is this many MMBtu per MWh for each Btu/kWh
MMBTU_PER_MWH_PER_BTU_PER_KWH = 1e-3
PERCENT = 100.0


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor: the annual payment that repays 1 USD over ``life_yr`` at ``rate``."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def musd(usd: float) -> float:
    """USD as M$ (the model's unit of money)."""
    return usd / USD_PER_MUSD


def usd_per_mtok(musd_per_yr: float, ptok_per_yr: float) -> float:
    """M$ per Ptok expressed as USD per million tokens."""
    return musd_per_yr * USD_PER_MUSD / (ptok_per_yr * TOKENS_PER_PTOK / TOKENS_PER_MTOK)
