"""Unit scaling of the model and annualisation of capital costs.

The model counts money in millions of USD (M$), power in MW, energy in MWh and tokens in
petatokens (Ptok, 1e15): that keeps coefficients within about 1e-4..1e4 (a rack makes ~10 Ptok/yr,
an hour of grid energy costs ~1e-4 M$/MWh).
"""

from __future__ import annotations

USD_PER_MUSD = 1e6
TOKENS_PER_PTOK = 1e15
TOKENS_PER_MTOK = 1e6
SECONDS_PER_HOUR = 3600.0
KW_PER_MW = 1000.0


def crf(rate: float, life_yr: float) -> float:
    """Capital recovery factor: the annual payment that repays 1 USD over ``life_yr`` at ``rate``."""
    if rate == 0:
        return 1.0 / life_yr
    growth = (1.0 + rate) ** life_yr
    return rate * growth / (growth - 1.0)


def musd(usd: float) -> float:
    return usd / USD_PER_MUSD


def usd_per_mtok(musd_per_yr: float, ptok_per_yr: float) -> float:
    """M$ per Ptok expressed as USD per million tokens."""
    return musd_per_yr * USD_PER_MUSD / (ptok_per_yr * TOKENS_PER_PTOK / TOKENS_PER_MTOK)
