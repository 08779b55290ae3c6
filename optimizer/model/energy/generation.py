"""Power capacity, whole units and hourly generation."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.inputs.derived import DerivedInputs, max_units
from optimizer.inputs.scenario import Scenario


def add_generation(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs) -> None:
    r"""Capacity of each allowed (site, technology), its whole units, and generation in every slice.

    For every allowed pair :math:`(s, g)` and slice :math:`t`:

    .. math::

        0 \le X_{s,g} \le \bar X_{s,g}, \qquad
        X_{s,g} = u_g\, N_{s,g},\; N_{s,g} \in \{0, 1, \dots, \lfloor \bar X_{s,g} / u_g \rfloor\}
        \quad \text{(capacity_in_units, where } g \text{ has a unit size } u_g)

        0 \le x_{s,g,t} \le a_{s,g,t}\, X_{s,g} \quad \text{(generation_within_available_capacity)}

    :math:`X` is ``capacity_mw``, :math:`N` ``units``, :math:`x` ``generation_mw``; :math:`\bar X` the
    capacity bound and :math:`a` the availability (capacity factor of solar and wind in the slice's
    weather, else the technology's availability), both from
    :class:`~optimizer.inputs.derived.DerivedInputs`.
    """
    techs = scenario.tables["power_techs"]
    pairs = inputs.site_techs
    m.G = pyo.Set(initialize=list(techs.index), ordered=True)
    m.site_techs = pyo.Set(initialize=pairs, dimen=2, ordered=True)

    bound_mw = inputs.capacity_bound_mw.stack().to_dict()
    m.capacity_mw = pyo.Var(m.site_techs, bounds=lambda _, s, g: (0, bound_mw[s, g]))

    # integer units where the technology comes in unit sizes (turbines, engines, reactors); as
    # many as fit whole within the capacity bound (rounding down also tightens the LP relaxation)
    unit_size = techs["unit_size_mw"].dropna().to_dict()
    unit_pairs = [(s, g) for s, g in pairs if g in unit_size]
    m.site_unit_techs = pyo.Set(initialize=unit_pairs, dimen=2, ordered=True)
    m.units = pyo.Var(
        m.site_unit_techs,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda _, s, g: (0, max_units(bound_mw[s, g], unit_size[g])),
    )
    m.capacity_in_units = pyo.Constraint(
        m.site_unit_techs, rule=lambda _, s, g: m.capacity_mw[s, g] == unit_size[g] * m.units[s, g]
    )

    availability = inputs.availability
    m.site_tech_slices = pyo.Set(initialize=[(s, g, t) for s, g in pairs for t in m.T], dimen=3, ordered=True)
    m.generation_mw = pyo.Var(
        m.site_tech_slices,
        bounds=lambda _, s, g, t: (0, bound_mw[s, g] * availability[s, g, t]),
    )
    m.generation_within_available_capacity = pyo.Constraint(
        m.generation_mw.index_set(),
        rule=lambda _, s, g, t: m.generation_mw[s, g, t] <= availability[s, g, t] * m.capacity_mw[s, g],
    )
