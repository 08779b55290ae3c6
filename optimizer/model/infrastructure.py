"""Infrastructure layer: which sites to build, one cooling per site, land, building, water, labour.

The product of the cooling binary and the IT load is disaggregated: each cooling has its own
IT capacity and IT load at a site, bounded by the site's land-derived IT limit times the binary.
Facility power in a slice is then the sum of per-cooling IT load times that cooling's PUE in the
slice's dry- and wet-bulb temperature (:mod:`optimizer.inputs.cooling`), which stays linear; water use
likewise sums the hourly WUE over the year. The same product at the full-year hours that can set a
site's peak (``m.peak_hours``) is the load its power must carry then (``peak_power_mw``).
"""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from optimizer.inputs.cooling import hourly_pue_wue
from optimizer.model.core import Shared, site_it_limit_mw
from optimizer.inputs.scenario import Scenario
from optimizer.constants import KW_PER_MW, crf, musd

LITRES_PER_ML = 1e6


def add_infrastructure(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    sites, cooling = scenario.tables["sites"], scenario.tables["cooling"]
    it_limit = site_it_limit_mw(scenario)
    allowed_sites = scenario.constraints.allowed_sites
    pue, wue = hourly_pue_wue(cooling, scenario.tables["profiles"])

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
    m.it_land_acres = pyo.Expression(
        m.S, rule=lambda _, s: it_acres_per_mw * sum(m.it_capacity_mw[s, k] for k in m.K)
    )
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

    _add_costs(m, scenario, shared)


def _add_costs(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared) -> None:
    sites, cooling = scenario.tables["sites"], scenario.tables["cooling"]
    wacc = scenario.finance.wacc
    f = scenario.facility
    site_development = musd(f("site_development_usd"))
    land_musd = (sites["land_acres"] * sites["land_price_usd_per_acre"] / 1e6).to_dict()
    facility_per_mw = musd(f("facility_capex_usd_per_kw_it") * KW_PER_MW)
    facility_annual_per_mw = (
        facility_per_mw * crf(wacc, f("facility_life_yr"))
        + musd(f("facility_fom_usd_per_kw_it_yr") * KW_PER_MW)
        + musd(f("staff_per_mw_it") * f("staff_cost_usd_per_yr"))
    )
    cooling_per_mw = {k: musd(cooling.loc[k, "capex_usd_per_kw_it"] * KW_PER_MW) for k in m.K}
    cooling_annual_per_mw = {
        k: cooling_per_mw[k] * crf(wacc, cooling.loc[k, "life_yr"]) + musd(cooling.loc[k, "fom_usd_per_kw_it_yr"] * KW_PER_MW)
        for k in m.K
    }

    # land does not wear out: its yearly cost is the return forgone on its price
    m.site_and_land_cost_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: (site_development * crf(wacc, f("site_development_life_yr")) + land_musd[s] * wacc) * m.build[s],
    )
    m.facility_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: facility_annual_per_mw * sum(m.it_capacity_mw[s, k] for k in m.K)
    )
    m.cooling_cost_musd = pyo.Expression(
        m.S, rule=lambda _, s: sum(cooling_annual_per_mw[k] * m.it_capacity_mw[s, k] for k in m.K)
    )
    shared.add_cost("infrastructure", "site development and land", m.site_and_land_cost_musd)
    shared.add_cost("infrastructure", "building, power distribution and staff", m.facility_cost_musd)
    shared.add_cost("infrastructure", "cooling", m.cooling_cost_musd)
    m.infrastructure_capex_musd = pyo.Expression(
        m.S,
        rule=lambda _, s: (site_development + land_musd[s]) * m.build[s]
        + sum((facility_per_mw + cooling_per_mw[k]) * m.it_capacity_mw[s, k] for k in m.K),
    )
    shared.capex_musd.append(m.infrastructure_capex_musd)
