"""24/7 carbon-free matching: carbon-free supply covers a share of every hour's load."""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.core.expr import RelationalExpression

from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.energy.sites import SiteEnergy


def add_carbon_free_share(
    m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, sites: SiteEnergy
) -> tuple[pyo.Constraint, pyo.Constraint]:
    r"""24/7 matching: in every hour, carbon-free supply covers ``cfe_share`` of the site's load,
    in the grid years and in the bridge years alike.

    For every site :math:`s` and slice :math:`t` (grid years; the bridge years alike with
    :math:`y`, on-site sources only):

    .. math::

        \phi_{s,t} x_{s,\text{grid},t} + \sum_{g \in C} x_{s,g,t} + n_{s,t}
        \;\ge\; \alpha \Big(\sum_{g \in G_s} x_{s,g,t} + n_{s,t}\Big),
        \qquad n_{s,t} = \sum_b (d_{s,b,t} - c_{s,b,t})
        \quad \text{(carbon_free_share, bridge_carbon_free_share)}

    :math:`\alpha` is ``cfe_share``, :math:`\phi_{s,t}` the grid's carbon-free share at the site in the
    slice (hourly where ``hourly.csv.gz`` has ``grid_cfe_share``, else the site's annual share) and
    :math:`C` the on-site technologies without direct CO2. Storage counts by its net discharge
    :math:`n`, so energy stored from carbon-free hours moves with it and its losses count against
    the share.
    """
    grid, techs_at, storage_at = sites.grid, sites.techs_at, sites.storage_at
    share = scenario.constraints.cfe_share
    grid_cfe = scenario.tables["profiles"]["grid_cfe_share"].to_dict()  # (site, slice) -> share
    clean = set(inputs.carbon_free_techs)

    def net_storage(b: pyo.Block, s: str, t: int) -> pyo.NumericValue | float:
        return sum(b.discharge_mw[s, k, t] - b.charge_mw[s, k, t] for k in storage_at[s])

    def rule(_: pyo.ConcreteModel, s: str, t: int) -> RelationalExpression:
        carbon_free = sum(
            (grid_cfe[s, t] if g == grid else 1.0) * m.generation_mw[s, g, t]
            for g in techs_at[s]
            if g == grid or g in clean
        )
        load = sum(m.generation_mw[s, g, t] for g in techs_at[s]) + net_storage(m, s, t)
        return carbon_free + net_storage(m, s, t) >= share * load

    m.carbon_free_share = pyo.Constraint(m.site_slices, rule=rule)

    def bridge_rule(_: pyo.ConcreteModel, s: str, t: int) -> RelationalExpression:
        on_site = [g for g in techs_at[s] if g != grid]
        carbon_free = sum(m.bridge_generation_mw[s, g, t] for g in on_site if g in clean)
        load = sum(m.bridge_generation_mw[s, g, t] for g in on_site) + net_storage(m.bridge, s, t)
        return carbon_free + net_storage(m.bridge, s, t) >= share * load

    m.bridge_carbon_free_share = pyo.Constraint(m.bridge_site_slices, rule=bridge_rule)
    return m.carbon_free_share, m.bridge_carbon_free_share
