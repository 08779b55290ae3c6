"""Energy layer: grid import, on-site generation, storage, bridge power, fuel and carbon.

Supplies the site's power balance in every slice, uses land for its footprint, and contributes
its annualised capital, fixed and variable costs (all tagged ``energy``), emissions and capex.
One module per concern:

=================  ===========================================================================
module             constraint families
=================  ===========================================================================
``generation``     capacity, whole units, generation within the hour's available capacity
``storage``        power and energy sizes within a duration range; hourly charge, discharge and
                   state of charge within each representative day and across calendar days
``bridge``         on-site supply that carries the load alone until a late grid arrives
``peak``           power a site can draw in the full-year hours that can set its peak
``carbon_free``    24/7 matching: carbon-free supply covers a share of every hour's load
``costs``          annualised capital and fixed O&M, energy, fuel, emissions and capex
=================  ===========================================================================

Storage carries energy within a representative day *and* from one calendar day to the next: the
state of charge is split into a level at the start of each run of consecutive calendar days that
share a representative day, plus the change within the day (Kotzur et al. 2018, "Time series
aggregation for energy system design: modeling seasonal storage", Applied Energy 213). Since the
level moves linearly across a run, bounding it on the first and last day of each run bounds it on
every day.

Time to power: where a site's grid connection arrives after ``online_by_year``, the grid may still
be used once it arrives, if on-site generation carries the whole facility load until then (the
*bridge years*). The operating costs and emissions of the bridge years and of the grid years are
weighted by their present-value shares of the planning horizon.

Peak power: the representative days need not hold a site's own hottest hours, so the power a site
can draw is also checked against its facility load in every hour of the full year that can set its
peak (:mod:`optimizer.model.energy.peak`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared
from optimizer.model.energy.bridge import add_bridge_power
from optimizer.model.energy.carbon_free import add_carbon_free_share
from optimizer.model.energy.costs import add_energy_costs
from optimizer.model.energy.generation import add_generation
from optimizer.model.energy.peak import add_peak_supply
from optimizer.model.energy.report import EnergyReport, report
from optimizer.model.energy.sites import SiteEnergy
from optimizer.model.energy.storage import StorageOperation, add_storage

__all__ = ["EnergyHandles", "EnergyReport", "SiteEnergy", "StorageOperation", "add_energy", "report"]


@dataclass(frozen=True)
class EnergyHandles:
    """The energy layer's families that readers of a built or solved model use."""

    sites: SiteEnergy
    """the technologies each site may build, the grid's id and the bridge sites' shares"""
    capacity_mw: pyo.Var
    """(site, tech) power capacity built, MW (the grid's: its connection)"""
    units: pyo.Var
    """(site, tech with a unit size) whole units built"""
    generation_mw: pyo.Var
    """(site, tech, slice) generation (grid: import) in the grid years, MW"""
    site_storage: pyo.Set
    """(site, storage) storage that may be built"""
    storage_power_mw: pyo.Var
    """(site, storage) storage power, MW"""
    storage_energy_mwh: pyo.Var
    """(site, storage) storage energy, MWh"""
    grid_years: StorageOperation
    """storage operation in the grid years"""
    bridge_years: StorageOperation
    """storage operation in the bridge years (sites waiting for a late grid)"""
    bridge_generation_mw: pyo.Var
    """(bridge site, on-site tech, slice) generation in the bridge years, MW"""
    bridge_annual_generation_mwh: pyo.Expression
    """(bridge site, on-site tech) generation in a bridge year, MWh"""
    generation_land_acres: pyo.Expression
    """(site) land of the power plants and storage, acres"""
    emissions_t: pyo.Expression
    """(site) CO2 of an average year of the horizon, t"""
    storage_runs: list[tuple[int, int, int]]
    """(first day, days, period) of each run of equal calendar days"""
    last_slice_of_period: dict[int, int]
    """the last slice of each representative day"""
    techs: pyo.Set
    """power technologies, in the order of the power_techs table (the grid among them)"""
    carbon_free_share: pyo.Constraint | None
    """(site, slice) 24/7 carbon-free matching in the grid years (None without ``constraints.cfe_share``)"""
    bridge_carbon_free_share: pyo.Constraint | None
    """(bridge site, slice) 24/7 carbon-free matching in the bridge years (None without ``constraints.cfe_share``)"""


def add_energy(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, shared: Shared) -> EnergyHandles:
    r"""Add the energy layer and contribute its supply, land use, costs, emissions and capex.

    Its contributions to the shared balances, for every site :math:`s` and slice :math:`t`:

    .. math::

        \text{power}_{s,t}:\quad \sum_{g \in G_s} x_{s,g,t} + \sum_{b \in B_s} d_{s,b,t}
        \;=\; \text{facility load}_{s,t} + \sum_{b \in B_s} c_{s,b,t}

        \text{land}_{s}:\quad \sum_{g \in G_s} \ell_g X_{s,g} + \sum_{b \in B_s} \ell_b P_{s,b}
        \;\le\; \text{land of the built site}_s - \text{IT land}_s

    with :math:`x` generation (``generation_mw``), :math:`d, c` storage discharge and charge
    (``discharge_mw``, ``charge_mw``), :math:`X` capacity (``capacity_mw``), :math:`P` storage power
    (``storage_power_mw``), :math:`\ell` land per MW, :math:`G_s` and :math:`B_s` the power and storage
    technologies allowed at the site (:class:`~optimizer.inputs.derived.DerivedInputs`).
    """
    techs = scenario.tables["power_techs"]
    storage = scenario.tables["storage_techs"]
    m.grid_tech = inputs.grid_tech

    add_generation(m, scenario, inputs)
    grid_years = add_storage(m, scenario, inputs)
    sites = SiteEnergy.of(m, inputs)
    techs_at, storage_at = sites.techs_at, sites.storage_at
    m.energy_supply_mw = pyo.Expression(
        m.site_slices,
        rule=lambda _, s, t: (
            sum(m.generation_mw[s, g, t] for g in techs_at[s]) + sum(m.discharge_mw[s, b, t] for b in storage_at[s])
        ),
    )
    m.storage_charging_mw = pyo.Expression(
        m.site_slices, rule=lambda _, s, t: sum(m.charge_mw[s, b, t] for b in storage_at[s])
    )
    shared.add_supply("power_mw", m.energy_supply_mw)
    shared.add_use("power_mw", m.storage_charging_mw)

    m.generation_land_acres = pyo.Expression(
        m.S,
        rule=lambda _, s: (
            sum(techs.loc[g, "land_acres_per_mw"] * m.capacity_mw[s, g] for g in techs_at[s])
            + sum(storage.loc[b, "land_acres_per_mw"] * m.storage_power_mw[s, b] for b in storage_at[s])
        ),
    )
    shared.add_use("land_acres", m.generation_land_acres)

    bridge_years = add_bridge_power(m, scenario, inputs, sites, shared)
    add_peak_supply(m, scenario, sites, shared)
    carbon_free = bridge_carbon_free = None
    if scenario.constraints.cfe_share > 0:
        carbon_free, bridge_carbon_free = add_carbon_free_share(m, scenario, inputs, sites)
    add_energy_costs(m, scenario, inputs, sites, shared)
    return EnergyHandles(
        sites=sites,
        capacity_mw=m.capacity_mw,
        units=m.units,
        generation_mw=m.generation_mw,
        site_storage=m.site_storage,
        storage_power_mw=m.storage_power_mw,
        storage_energy_mwh=m.storage_energy_mwh,
        grid_years=grid_years,
        bridge_years=bridge_years,
        bridge_generation_mw=m.bridge_generation_mw,
        bridge_annual_generation_mwh=m.bridge_annual_generation_mwh,
        generation_land_acres=m.generation_land_acres,
        emissions_t=m.emissions_t,
        storage_runs=inputs.storage_runs,
        last_slice_of_period=inputs.last_slice_of_period,
        techs=m.G,
        carbon_free_share=carbon_free,
        bridge_carbon_free_share=bridge_carbon_free,
    )
