"""Bridge power: on-site supply that carries the facility load alone until a late grid arrives."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared
from optimizer.model.energy.sites import SiteEnergy
from optimizer.model.energy.storage import StorageOperation, add_storage_operation


def add_bridge_power(
    m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, sites: SiteEnergy, shared: Shared
) -> StorageOperation:
    r"""On-site generation and storage that carry the facility load alone until a late grid arrives.

    For every site :math:`s` that waits for its grid (``bridge_share``), on-site technology
    :math:`g \ne \text{grid}` and slice :math:`t`:

    .. math::

        0 \le y_{s,g,t} \le a_{s,g,t}\, X_{s,g} \quad \text{(bridge_within_capacity)}

        \text{bridge power}_{s,t}:\quad \sum_{g \ne \text{grid}} y_{s,g,t} + \sum_b d^{br}_{s,b,t}
        \;=\; \text{facility load}_{s,t} + \sum_b c^{br}_{s,b,t}

    :math:`y` is ``bridge_generation_mw`` on the same capacity :math:`X` as the grid years; the storage
    operates in its own regime (the block ``bridge``, :func:`~.storage.add_storage_operation`). The
    bridge years run their own dispatch on the same plants and batteries. A site that never uses its
    grid can run the bridge years exactly like the others, so the rule only costs something where the
    plan really waits for a grid.
    """
    grid, bridge, techs_at, storage_at = sites.grid, sites.bridge_share, sites.techs_at, sites.storage_at
    availability = inputs.availability
    m.bridge_share = bridge
    m.bridge_site_slices = pyo.Set(initialize=[(s, t) for s in bridge for t in m.T], dimen=2, ordered=True)
    keys = [(s, g, t) for s in bridge for g in techs_at[s] if g != grid for t in m.T]
    m.bridge_generation_mw = pyo.Var(keys, bounds=(0, None))
    m.bridge_within_capacity = pyo.Constraint(
        keys, rule=lambda _, s, g, t: m.bridge_generation_mw[s, g, t] <= availability[s, g, t] * m.capacity_mw[s, g]
    )
    m.bridge = pyo.Block()
    operation = add_storage_operation(m.bridge, m, [(s, k) for s in bridge for k in storage_at[s]], scenario, inputs)
    m.bridge_supply_mw = pyo.Expression(
        m.bridge_site_slices,
        rule=lambda _, s, t: (
            sum(m.bridge_generation_mw[s, g, t] for g in techs_at[s] if g != grid)
            + sum(m.bridge.discharge_mw[s, k, t] for k in storage_at[s])
        ),
    )
    m.bridge_charging_mw = pyo.Expression(
        m.bridge_site_slices, rule=lambda _, s, t: sum(m.bridge.charge_mw[s, k, t] for k in storage_at[s])
    )
    shared.add_supply("bridge_power_mw", m.bridge_supply_mw)
    shared.add_use("bridge_power_mw", m.bridge_charging_mw)
    return operation
