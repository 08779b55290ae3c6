"""Peak power: what a site can draw in the full-year hours that can set its peak load."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.inputs.derived import VARIABLE_KINDS
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared
from optimizer.model.energy.sites import SiteEnergy


def add_peak_supply(m: pyo.ConcreteModel, scenario: Scenario, sites: SiteEnergy, shared: Shared) -> None:
    r"""Power a site can draw in the hours of the full year that can set its peak
    (supply of ``balance_peak_power_mw``; the facility load is the infrastructure layer's).

    For every site :math:`s`, cooling :math:`k` and hour :math:`h \in H_{s,k}` of the 8,760:

    .. math::

        \sum_{g \in F_s} a_g X_{s,g} + \sum_{g \in V_s} cf_{s,g}(h) X_{s,g} + \sum_{b} P_{s,b}
        \;\ge\; PUE_{s,k}(h)\, I_{s,k}

    ==================  ==========================================================================
    :math:`X_{s,g}`     capacity of source g, MW (``capacity_mw``)
    :math:`F_s`         sources that run at their availability :math:`a_g` (grid connection, gas,
                        fuel cells, reactors); the grid is left out at a site that waits for a late
                        grid (``bridge``): the same hours must then be carried on site in the bridge
                        years, and that row implies the grid years' one
    :math:`V_s`         solar and wind, at the hour's own capacity factor :math:`cf_{s,g}(h)`
    :math:`P_{s,b}`     storage power, MW (``storage_power_mw``)
    :math:`I_{s,k}`     IT load on cooling k, MW (``cooled_it_mw``; zero but on the chosen cooling)
    :math:`H_{s,k}`     the hours no other hour dominates (higher PUE, less sun and less wind:
                        :func:`optimizer.inputs.profiles.peak_hours`); they bound every hour of the year
    ==================  ==========================================================================

    The rule is *necessary* for a design to carry the full year: in any hourly dispatch, supply is at
    most the left-hand side (generation within availability x capacity, discharge within storage
    power), so it never removes a design that could. Without storage it is also *sufficient*: the
    generation alone can then meet every hour of the year. Solar and wind count only at the hour's own
    weather: counting them at the hottest hour alone would miss a hot, still evening with almost the
    same PUE and no sun. Storage counts at its power, not its energy; whether it holds the energy
    those hours need is what the full-year re-check (:mod:`optimizer.outputs.fullyear`) measures, and it
    reports any energy the design cannot serve.
    """
    grid, bridge, techs_at, storage_at = sites.grid, sites.bridge_share, sites.techs_at, sites.storage_at
    techs = scenario.tables["power_techs"]
    kind, availability = techs["kind"].to_dict(), techs["availability"].astype(float).to_dict()
    weather = {v: m.peak_hours[f"{v}_cf"].to_dict() for v in VARIABLE_KINDS}

    def available(s: str, k: str, h: int, g: str) -> float:
        return weather[kind[g]][s, k, h] if kind[g] in VARIABLE_KINDS else availability[g]

    def rule(_: pyo.ConcreteModel, s: str, k: str, h: int) -> pyo.NumericValue:
        sources = [g for g in techs_at[s] if not (g == grid and s in bridge)]
        return sum(available(s, k, h, g) * m.capacity_mw[s, g] for g in sources) + sum(
            m.storage_power_mw[s, b] for b in storage_at[s]
        )

    m.peak_supply_mw = pyo.Expression(m.site_peak_hours, rule=rule)
    shared.add_supply("peak_power_mw", m.peak_supply_mw)
