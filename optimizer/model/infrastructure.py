"""Infrastructure layer: which sites to build, one cooling per site, land, building, water, labour.

The product of the cooling binary and the IT load is disaggregated: each cooling has its own
IT capacity and IT load at a site, bounded by the site's land-derived IT limit times the binary.
Facility power in a slice is then the sum of per-cooling IT load times that cooling's PUE in the
slice's dry- and wet-bulb temperature (:mod:`optimizer.inputs.cooling`), which stays linear; water use
likewise sums the hourly WUE over the year. The same product at the full-year hours that can set a
site's peak (``m.peak_hours``) is the load its power must carry then (``peak_power_mw``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from optimizer.constants import KW_PER_MW, KWH_PER_MWH, LITRES_PER_ML, USD_PER_MUSD, crf, musd
from optimizer.contract import COOLING_ITEM, FACILITY_ITEM, SITE_AND_LAND_ITEM
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import CapitalFamily, CoreHandles, Shared, solved_values


@dataclass(frozen=True)
class InfrastructureHandles:
    """The infrastructure layer's families that readers of a built or solved model use."""

    build: pyo.Var
    """(site) 1 if the site is built"""
    site_cooling: pyo.Set
    """(site, cooling) every cooling at every site"""
    cooling: pyo.Var
    """(site, cooling) 1 for the one cooling a built site uses"""
    one_cooling_per_built_site: pyo.Constraint
    """(site) a built site uses exactly one cooling (a build-out's halls may each have their own)"""
    it_capacity_mw: pyo.Var
    """(site, cooling) IT capacity built and cooled, MW"""
    cooled_it_mw: pyo.Var
    """(site, cooling) IT load running on the cooling, MW (constant through the year)"""
    cooled_it_total_mw: pyo.Expression
    """(site) IT load of the site, MW"""
    facility_load_mw: pyo.Expression
    """(site, slice) facility load: IT load times the slice's PUE, MW"""
    it_land_acres: pyo.Expression
    """(site) land the IT capacity takes, acres"""
    water_ml: pyo.Expression
    """(site) water the cooling evaporates in a year, ML"""
    water_limit: pyo.Constraint
    """(site with a limit) water within the site's yearly limit"""


def add_infrastructure(
    m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, shared: Shared
) -> InfrastructureHandles:
    r"""Which sites to build, one cooling per built site, IT capacity, facility load, land and water.

    For every site :math:`s`, cooling :math:`k`, slice :math:`t` and full-year peak hour :math:`h`:

    .. math::

        \sum_k Y_{s,k} = B_s \quad \text{(one_cooling_per_built_site)}, \qquad
        C_{s,k} \le \bar I_s Y_{s,k} \quad \text{(it_capacity_needs_cooling)}, \qquad
        I_{s,k} \le C_{s,k} \quad \text{(cooled_it_within_capacity)}

        \text{facility load}_{s,t} = \sum_k PUE_{s,k}(t)\, I_{s,k}, \qquad
        \text{peak load}_{s,k,h} = PUE_{s,k}(h)\, I_{s,k}

        \text{land}_s:\; A_s B_s \ge a \sum_k C_{s,k} + \text{generation land}_s, \qquad
        \sum_k \text{WUE}^{yr}_{s,k} I_{s,k} \le W_s \quad \text{(water_limit)}

    :math:`B` is ``build``, :math:`Y` ``cooling``, :math:`C` ``it_capacity_mw``, :math:`I` ``cooled_it_mw``,
    :math:`\bar I_s` the land-derived IT limit, :math:`A_s` the site's land and :math:`a` acres per IT MW.
    The product of the cooling binary and the IT load is disaggregated per cooling, so the facility load
    stays linear in every slice's weather.
    """
    sites, cooling = scenario.tables["sites"], scenario.tables["cooling"]
    it_limit = inputs.it_limit_mw
    allowed_sites = scenario.constraints.allowed_sites
    pue, wue = inputs.pue_wue

    m.build = pyo.Var(m.S, domain=pyo.Binary)
    shared.site_built = m.build
    for s in m.S:
        if allowed_sites is not None and s not in allowed_sites:
            m.build[s].fix(0)
    m.site_cooling = pyo.Set(initialize=m.S * m.K, ordered=True)
    m.cooling = pyo.Var(m.site_cooling, domain=pyo.Binary)
    m.one_cooling_per_built_site = pyo.Constraint(
        m.S, rule=lambda _, s: sum(m.cooling[s, k] for k in m.K) == m.build[s]
    )

    m.it_capacity_mw = pyo.Var(m.site_cooling, bounds=lambda _, s, k: (0, it_limit[s]))
    m.it_capacity_needs_cooling = pyo.Constraint(
        m.site_cooling, rule=lambda _, s, k: m.it_capacity_mw[s, k] <= it_limit[s] * m.cooling[s, k]
    )
    m.cooled_it_mw = pyo.Var(m.site_cooling, bounds=lambda _, s, k: (0, it_limit[s]))
    m.cooled_it_within_capacity = pyo.Constraint(
        m.site_cooling, rule=lambda _, s, k: m.cooled_it_mw[s, k] <= m.it_capacity_mw[s, k]
    )
    m.cooled_it_total_mw = pyo.Expression(m.S, rule=lambda _, s: sum(m.cooled_it_mw[s, k] for k in m.K))
    shared.add_supply("it_power_mw", m.cooled_it_total_mw)
    # IT load is constant; the facility load still varies with each slice's ambient temperature
    pue_at = pue.stack().to_dict()  # (site, slice, cooling) -> PUE
    m.facility_load_mw = pyo.Expression(
        m.site_slices, rule=lambda _, s, t: sum(pue_at[s, t, k] * m.cooled_it_mw[s, k] for k in m.K)
    )
    shared.add_use("power_mw", m.facility_load_mw)
    shared.add_use("bridge_power_mw", m.facility_load_mw)
    # the same load in the hours of the full year that can set the site's peak, one cooling at a time
    peak_pue = m.peak_hours["pue"].to_dict()  # (site, cooling, hour) -> PUE
    m.peak_facility_load_mw = pyo.Expression(
        m.site_peak_hours, rule=lambda _, s, k, h: peak_pue[s, k, h] * m.cooled_it_mw[s, k]
    )
    shared.add_use("peak_power_mw", m.peak_facility_load_mw)
    max_rack_kw = cooling["max_rack_kw"].to_dict()
    m.cooled_capacity_at_level_mw = pyo.Expression(
        m.site_levels,
        rule=lambda _, s, level: sum(m.it_capacity_mw[s, k] for k in m.K if max_rack_kw[k] >= level),
    )
    shared.add_supply("it_capacity_mw", m.cooled_capacity_at_level_mw)

    it_acres_per_mw = scenario.facility("it_acres_per_mw")
    m.land_of_built_site_acres = pyo.Expression(m.S, rule=lambda _, s: sites.loc[s, "land_acres"] * m.build[s])
    m.it_land_acres = pyo.Expression(m.S, rule=lambda _, s: it_acres_per_mw * sum(m.it_capacity_mw[s, k] for k in m.K))
    shared.add_supply("land_acres", m.land_of_built_site_acres)
    shared.add_use("land_acres", m.it_land_acres)

    limits = sites["water_limit_ml_per_yr"].dropna() if "water_limit_ml_per_yr" in sites else pd.Series(dtype=float)
    # litres per MWh of IT energy over the year, per cooling: weights x hourly WUE
    weights = wue.index.get_level_values("slice_id").map(scenario.tables["slices"]["weight_h"]).to_numpy()
    annual_l_per_mw = (wue.mul(weights * KW_PER_MW, axis=0).groupby(level="site_id").sum().stack()).to_dict()
    m.water_ml = pyo.Expression(
        m.S, rule=lambda _, s: sum(annual_l_per_mw[s, k] / LITRES_PER_ML * m.cooled_it_mw[s, k] for k in m.K)
    )
    m.water_limit = pyo.Constraint(list(limits.index), rule=lambda _, s: m.water_ml[s] <= limits[s])

    _add_costs(m, scenario, inputs, shared)
    return InfrastructureHandles(
        build=m.build,
        site_cooling=m.site_cooling,
        cooling=m.cooling,
        one_cooling_per_built_site=m.one_cooling_per_built_site,
        it_capacity_mw=m.it_capacity_mw,
        cooled_it_mw=m.cooled_it_mw,
        cooled_it_total_mw=m.cooled_it_total_mw,
        facility_load_mw=m.facility_load_mw,
        it_land_acres=m.it_land_acres,
        water_ml=m.water_ml,
        water_limit=m.water_limit,
    )


def _add_costs(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, shared: Shared) -> None:
    r"""Yearly costs (M$/yr, tagged ``infrastructure``) and overnight capex (M$) of each site.

    .. math::

        \text{site and land}_s = (D\, \text{CRF}_D + L_s\, r) B_s, \qquad
        \text{facility}_s = (F\, \text{CRF}_F + O_F + n\, w) \sum_k C_{s,k}, \qquad
        \text{cooling}_s = \sum_k (K_k \text{CRF}_k + O_k) C_{s,k}

    :math:`D` site development, :math:`L_s` the land's price (land does not wear out: its yearly cost is
    the return :math:`r` (WACC) forgone), :math:`F, O` capex and fixed O&M per IT MW, :math:`n w` staff
    per MW times their cost. The annuities are capital families: ``sites`` (:math:`B`; development) and
    ``halls`` (:math:`C`; facility and cooling capital); the rest are fixed costs of what stands.
    """
    sites, cooling = scenario.tables["sites"], scenario.tables["cooling"]
    wacc = scenario.finance.wacc
    f = scenario.facility
    site_development = musd(f("site_development_usd"))
    development_life_yr = f("site_development_life_yr")
    land_musd = (sites["land_acres"] * sites["land_price_usd_per_acre"] / USD_PER_MUSD).to_dict()  # musd() by site
    facility_per_mw = musd(f("facility_capex_usd_per_kw_it") * KW_PER_MW)
    facility_fixed_per_mw = musd(f("facility_fom_usd_per_kw_it_yr") * KW_PER_MW) + musd(
        f("staff_per_mw_it") * f("staff_cost_usd_per_yr")
    )
    cooling_per_mw = {k: musd(cooling.loc[k, "capex_usd_per_kw_it"] * KW_PER_MW) for k in m.K}
    cooling_fom_per_mw = {k: musd(cooling.loc[k, "fom_usd_per_kw_it_yr"] * KW_PER_MW) for k in m.K}

    opened = CapitalFamily(
        name="sites",
        layer="infrastructure",
        capacity=m.build,
        life_yr=dict.fromkeys(m.S, development_life_yr),
        buildable=[s for s in m.S if not m.build[s].fixed],
        annuity_musd={SITE_AND_LAND_ITEM: dict.fromkeys(m.S, site_development * crf(wacc, development_life_yr))},
    )
    halls = CapitalFamily(
        name="halls",
        layer="infrastructure",
        capacity=m.it_capacity_mw,
        life_yr={key: f("facility_life_yr") for key in m.site_cooling},
        buildable=[key for key in m.site_cooling if inputs.halls_ready and not m.build[key[0]].fixed],
        annuity_musd={
            FACILITY_ITEM: {key: facility_per_mw * crf(wacc, f("facility_life_yr")) for key in m.site_cooling},
            COOLING_ITEM: {(s, k): cooling_per_mw[k] * crf(wacc, cooling.loc[k, "life_yr"]) for s, k in m.site_cooling},
        },
    )
    m.site_development_annuity_musd = opened.cost_by_site(m.S, SITE_AND_LAND_ITEM)
    shared.add_capital(opened, SITE_AND_LAND_ITEM, m.site_development_annuity_musd)
    # land does not wear out: its yearly cost is the return forgone on its price
    m.land_cost_musd = pyo.Expression(m.S, rule=lambda _, s: land_musd[s] * wacc * m.build[s])
    shared.add_cost("infrastructure", SITE_AND_LAND_ITEM, m.land_cost_musd)
    m.facility_annuity_musd = halls.cost_by_site(m.S, FACILITY_ITEM)
    shared.add_capital(halls, FACILITY_ITEM, m.facility_annuity_musd)
    m.facility_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: facility_fixed_per_mw * sum(m.it_capacity_mw[s, k] for k in m.K)
    )
    shared.add_cost("infrastructure", FACILITY_ITEM, m.facility_cost_musd)
    m.cooling_annuity_musd = halls.cost_by_site(m.S, COOLING_ITEM)
    shared.add_capital(halls, COOLING_ITEM, m.cooling_annuity_musd)
    m.cooling_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(cooling_fom_per_mw[k] * m.it_capacity_mw[s, k] for k in m.K)
    )
    shared.add_cost("infrastructure", COOLING_ITEM, m.cooling_cost_musd)
    m.infrastructure_capex_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: (
            (site_development + land_musd[s]) * m.build[s]
            + sum((facility_per_mw + cooling_per_mw[k]) * m.it_capacity_mw[s, k] for k in m.K)
        ),
    )
    shared.capex_musd.append(m.infrastructure_capex_musd)


@dataclass(frozen=True)
class InfrastructureReport:
    """What the infrastructure layer of a solved model reports."""

    sites: pd.DataFrame
    """by site id: ``built``, ``cooling_id``, ``it_capacity_mw``, ``it_energy_mwh_per_yr``,
    ``facility_energy_mwh_per_yr``, ``annual_pue``, ``annual_wue_l_per_kwh``, ``peak_facility_mw`` and
    ``water_ml_per_yr`` (sites.csv)"""
    it_land_acres: pd.Series
    """by site id: land the IT capacity takes, acres (the IT share of sites.csv ``land_used_acres``)"""
    built_sites: list[str]
    """the sites built, in the order of the sites table (the rows of dispatch.csv)"""
    dispatch: pd.DataFrame
    """``site_id``, ``slice_id``, ``it_mw``, ``facility_mw``, ``pue`` of every built site in every slice
    (dispatch.csv), site by site"""


def report(infrastructure: InfrastructureHandles, core: CoreHandles) -> InfrastructureReport:
    """The solved sites: which are built and with which cooling, their IT capacity, IT and facility energy,
    annual PUE and WUE, peak facility load and water (columns of sites.csv), the IT share of their land,
    and the ``it_mw``, ``facility_mw`` and ``pue`` columns of dispatch.csv for the built sites."""
    built = solved_values(infrastructure.build).round().astype(int)
    cooling = solved_values(infrastructure.cooling).unstack()
    weights = pd.Series(core.weight_h)
    facility_mw = solved_values(infrastructure.facility_load_mw).unstack()
    it_mw = solved_values(infrastructure.cooled_it_total_mw)
    it_mwh = it_mw * weights.sum()
    facility_mwh = facility_mw.mul(weights, axis=1).sum(axis=1)
    water = solved_values(infrastructure.water_ml)
    sites = pd.DataFrame(
        {
            "built": built,
            "cooling_id": cooling.idxmax(axis=1).where(built == 1, ""),
            "it_capacity_mw": solved_values(infrastructure.it_capacity_mw).groupby(level=0).sum(),
            "it_energy_mwh_per_yr": it_mwh,
            "facility_energy_mwh_per_yr": facility_mwh,
            "annual_pue": (facility_mwh / it_mwh).where(it_mwh > 0),
            "annual_wue_l_per_kwh": (water * LITRES_PER_ML / (it_mwh * KWH_PER_MWH)).where(it_mwh > 0),
            "peak_facility_mw": facility_mw.max(axis=1),
            "water_ml_per_yr": water,
        }
    )
    sites.index.name = "site_id"

    build = infrastructure.build
    built_sites = [s for s in core.sites if (build[s].value or 0) > 0.5]
    dispatch = pd.DataFrame([(s, t) for s in built_sites for t in core.slices], columns=["site_id", "slice_id"])
    facility = solved_values(infrastructure.facility_load_mw)
    dispatch["it_mw"] = dispatch["site_id"].map(it_mw)
    dispatch["facility_mw"] = [facility[s, t] for s, t in zip(dispatch["site_id"], dispatch["slice_id"])]
    dispatch["pue"] = (dispatch["facility_mw"] / dispatch["it_mw"]).where(dispatch["it_mw"] > 0)
    return InfrastructureReport(sites, solved_values(infrastructure.it_land_acres), built_sites, dispatch)
