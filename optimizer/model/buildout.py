r"""The build-out over planning years: one block per year, tied together by vintages.

Each planning year :math:`y` is a block holding the one-year model of that year (every layer, built by
:func:`~optimizer.model.build_layers` from :func:`~optimizer.inputs.years.year_scenario`): its
capacity families (:class:`~optimizer.model.core.CapitalFamily`: sites opened, IT halls, racks, power,
storage) are *what stands in* :math:`y`. This module adds, for every family :math:`F`, the capacity
added in each planning year (a vintage) and, for a retirable family, the vintages retired early, and
ties them to what stands (``docs/BUILDOUT.md``):

.. math::

    \text{standing}^F_{y,k} = \sum_{v \le y < v + L_k} \Big( A^F_{v,k} - \sum_{v < u \le y} Q^F_{v,u,k} \Big)
    \quad \text{(vintages_standing)}, \qquad
    \sum_{u} Q^F_{v,u,k} \le A^F_{v,k} \quad \text{(retired_within_added)}

with :math:`A` ``added`` (only at keys the year's block lets be built: lead times, years of sale),
:math:`Q` ``retired`` (at the start of year :math:`u`), :math:`L_k` the life. Costs follow PyPSA's
"Type II": each vintage pays the annuity its build year states in every planning year it is in
service, retired early or not (its capital is sunk), less what selling it early recovers:

.. math::

    \text{PV cost} = \sum_y W_y \Big( \text{operating}_y + \sum_F \sum_{v \le y < v + L}
    a^F_{v,k} A^F_{v,k} + \text{penalty}_y \Big)
    - \sum_{v,u,k} \rho\, a^F_{v,k} \Big( \sum_{u \le t < \min(v + L, T)} d_t \Big) Q^F_{v,u,k}

    \min \; \text{PV cost} / \sum_y W_y \quad \text{(objective_pv_cost; M\$/yr)}

:math:`W_y` the present-value weight of the calendar years :math:`y` stands for, :math:`d_t` the
discount factor of calendar year :math:`t`, :math:`T` the end of the horizon (so the bracket is the
present value of the annuities still owed within it) and :math:`\rho` ``buildout.resale_share``. The
operating costs are the block's cost terms that are not capital, the penalties those of demand left
unserved; tokens are weighted the same way (``objective_pv_tokens``), so the ratio of the two rows, less
the penalties, is the levelised cost per token. Dividing both by :math:`\sum_y W_y` keeps the one-year
scale: a build-out of one planning year is the one-year model.

A few one-year rules give way in a block: a site's halls may each have their own cooling
(``one_cooling_per_built_site`` gives way to ``cooling_needs_open_site``), the chip supply limits apply
to each year's purchases (``purchases_within_limit``) instead of to what stands, and the blocks'
objectives are replaced by the build-out's.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from optimizer.constants import TOKENS_PER_PTOK
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario, ScenarioError
from optimizer.inputs.years import PlanningYear, planning_years, pv_weight, year_scenario
from optimizer.model import FactoryModel, build_layers
from optimizer.model.core import CapitalFamily

#: planning year -> family name -> the family as that year's block declares it
Families = dict[int, dict[str, CapitalFamily]]


def _families(fm: FactoryModel) -> dict[str, CapitalFamily]:
    return {family.name: family for family in fm.shared.capital}


@dataclass(frozen=True)
class Vintages:
    """Every capital family's vintages: what each planning year adds, and what leaves early.

    Indices start with the family's name and the build year, then the family's key (a site, or a
    site and a cooling, chip, technology or storage)."""

    added: pyo.Var
    """(family, build year, *key) capacity added in the build year"""
    retired: pyo.Var
    """(family, build year, year, *key) capacity of the build year's vintage retired at the start of the
    year (retirable families only)"""
    standing: pyo.Constraint
    """(family, year, *key) the block's capacity equals the vintages in service"""
    families: Families
    """planning year -> family name -> the family as the year's block declares it"""


@dataclass(frozen=True)
class BuildoutCore:
    """The build-out's own rows and sums."""

    objective_cost: pyo.Objective
    """present value of cost over the sum of the years' weights, M$/yr (the solver minimises it)"""
    objective_tokens: pyo.Objective
    """present value of tokens delivered over the same weights, Ptok/yr"""
    operating_musd: pyo.Expression
    """(year) the year's block's cost that is not capital, M$/yr"""
    annuities_musd: pyo.Expression
    """(year, family, cost item, site) annuities of the vintages in service in the year, M$/yr"""
    resale_pv_musd: pyo.Expression
    """present value of what selling vintages early recovers, M$"""
    delivered_ptok: pyo.Expression
    """(year) tokens delivered in the year, Ptok/yr"""
    penalty_musd: pyo.Expression
    """(year) penalties of the year besides its cost (demand left unserved), M$/yr"""


@dataclass
class BuildoutModel:
    """A built build-out: the Pyomo model, one one-year model per planning year, the vintages."""

    model: pyo.ConcreteModel
    scenario: Scenario
    years: list[PlanningYear]
    blocks: dict[int, FactoryModel]
    """planning year -> the one-year model of the year (its ``model`` is a block of ``model``)"""
    vintages: Vintages
    core: BuildoutCore
    build_s: float
    inputs: DerivedInputs
    """the scenario's derived inputs, whose year-independent figures every year's block shares"""

    def levelised_demand_ptok(self) -> float:
        """Demand of the planning years weighted like tokens in ``objective_pv_tokens``, Ptok/yr."""
        weighted = sum(
            period.pv_weight * self.blocks[period.year].scenario.tables["demand"]["tokens_per_yr"].sum()
            for period in self.years
        )
        return weighted / sum(period.pv_weight for period in self.years) / TOKENS_PER_PTOK


def _index(*parts: Hashable) -> tuple[Any, ...]:
    """A flat index: each part, a tuple key spread out."""
    flat: list[Any] = []
    for part in parts:
        flat.extend(part if isinstance(part, tuple) else (part,))
    return tuple(flat)


def _key(parts: tuple[Any, ...]) -> Hashable:
    """A family's key from the tail of a flat index (a site alone, or a tuple)."""
    return parts[0] if len(parts) == 1 else tuple(parts)


def build_buildout(scenario: Scenario, inputs: DerivedInputs | None = None) -> BuildoutModel:
    """Build the build-out of ``scenario`` (which names ``buildout.planning_years``); ``inputs``: its
    derived inputs when a caller holds them already (a myopic step: the same sites and weather)."""
    started = time.perf_counter()
    years = planning_years(scenario)
    if not years:
        raise ScenarioError(f"{scenario.source}: a build-out needs buildout.planning_years")
    if scenario.constraints.capex_budget_usd is not None:
        raise ScenarioError(
            f"{scenario.source}: constraints.capex_budget_usd is not yet available in a build-out "
            "(it caps the capital of one year's plan); leave it out of a scenario with buildout.planning_years"
        )
    m = pyo.ConcreteModel(name=scenario.name)
    m.Y = pyo.Set(initialize=[period.year for period in years], ordered=True)
    m.year = pyo.Block(m.Y)
    shared_inputs = inputs if inputs is not None else DerivedInputs(scenario)
    blocks = {}
    for period in years:
        one_year = year_scenario(scenario, period)
        blocks[period.year] = build_layers(m.year[period.year], one_year, shared_inputs.for_year(one_year), started)
    _relax_one_year_rules(m, blocks)
    vintages = _add_vintages(m, years, blocks)
    _add_purchase_limits(m, vintages)
    core = _add_objective(m, scenario, years, blocks, vintages)
    return BuildoutModel(m, scenario, years, blocks, vintages, core, time.perf_counter() - started, shared_inputs)


def one_year_relaxation(scenario: Scenario, period: PlanningYear, inputs: DerivedInputs) -> FactoryModel:
    """The one-year model of a planning year with the rules a build-out's block drops also dropped:
    halls may each have their own cooling, and no chip supply limit on what stands. It lets capacity
    of any vintage stand in the year at the year's own prices, so its least cost (weighted by the
    year's present-value weight) bounds that year's share of the build-out's from below wherever
    no annuity rises from one build year to the next (:func:`annuities_never_rise`). ``inputs``: the
    scenario's derived inputs (their year-independent figures are shared)."""
    one_year = year_scenario(scenario, period)
    fm = build_layers(pyo.ConcreteModel(name=one_year.name), one_year, inputs.for_year(one_year), time.perf_counter())
    drop_one_year_rules(fm)
    return fm


def drop_one_year_rules(fm: FactoryModel) -> None:
    """Drop from a one-year model the rules a build-out's block drops: halls may each have their own
    cooling (``cooling_needs_open_site`` in place of ``one_cooling_per_built_site``) and no chip supply
    limit on what stands. A relaxation of the one-year model (screening uses it for build-out years)."""
    fm.chips.chip_supply_limit.deactivate()
    infrastructure = fm.infrastructure
    infrastructure.one_cooling_per_built_site.deactivate()
    fm.model.cooling_needs_open_site = pyo.Constraint(
        infrastructure.site_cooling,
        rule=lambda _, s, k: infrastructure.cooling[s, k] <= infrastructure.build[s],
    )


def annuities_never_rise(model: BuildoutModel) -> bool:
    """Whether every unit's annuity is the same or lower in each later planning year, and whatever may
    be added in one year may stand in a later one (a SKU no longer sold still may: it is charged the
    later year's annuity there): then a year's standing capacity costs at least what the year's own
    prices charge for it."""
    families = model.vintages.families
    years = [period.year for period in model.years]
    for earlier, later in itertools.pairwise(years):
        for name, family in families[earlier].items():
            successor = families[later][name]
            if not all(_may_stand(successor, key) for key in family.buildable):
                return False
            for item, annuity in family.annuity_musd.items():
                later_annuity = successor.annuity_musd[item]
                if any(later_annuity.get(key, math.inf) > value * (1 + 1e-12) for key, value in annuity.items()):
                    return False
    return True


def _may_stand(family: CapitalFamily, key: Hashable) -> bool:
    """Whether the family's year may have capacity at ``key`` (its variable is not held at or bounded to 0)."""
    var = family.capacity[key]
    if var.fixed:
        return bool(var.value)
    return var.ub is None or var.ub > 0


def _relax_one_year_rules(m: pyo.ConcreteModel, blocks: dict[int, FactoryModel]) -> None:
    """Swap the one-year rules a build-out replaces: the blocks' objectives, one cooling per site
    (each hall may have its own: ``cooling_needs_open_site``), and chip supply limits on what stands
    (a build-out limits each year's purchases instead)."""
    for fm in blocks.values():
        fm.core.objective_cost.deactivate()
        fm.core.objective_tokens.deactivate()
        fm.chips.chip_supply_limit.deactivate()
        fm.infrastructure.one_cooling_per_built_site.deactivate()
    m.cooling_needs_open_site = pyo.Constraint(
        [(y, s, k) for y, fm in blocks.items() for s, k in fm.infrastructure.site_cooling],
        rule=lambda _, y, s, k: blocks[y].infrastructure.cooling[s, k] <= blocks[y].infrastructure.build[s],
    )


def _in_service(families: Families, name: str, build_year: int, year: int, key: Hashable) -> bool:
    """Whether the family's vintage of ``build_year`` at ``key`` is (still) in service in ``year``."""
    return build_year <= year < build_year + families[build_year][name].life_yr[key]


def _add_vintages(m: pyo.ConcreteModel, years: list[PlanningYear], blocks: dict[int, FactoryModel]) -> Vintages:
    """The vintages of every capital family, and what they leave standing in every planning year."""
    families: Families = {year: _families(fm) for year, fm in blocks.items()}
    added_ub: dict[tuple[Any, ...], float] = {}
    integer: dict[tuple[Any, ...], bool] = {}
    for year, declared in families.items():
        for name, family in declared.items():
            for key in family.buildable:
                index = _index(name, year, key)
                added_ub[index] = family.capacity[key].ub
                integer[index] = family.capacity[key].is_integer()
    m.vintages = pyo.Set(initialize=list(added_ub), dimen=None, ordered=True)
    m.vintage_added = pyo.Var(
        m.vintages,
        domain=lambda _, *i: pyo.NonNegativeIntegers if integer[i] else pyo.NonNegativeReals,
        bounds=lambda _, *i: (0, added_ub[i]),
    )
    # racks (a retirable family) may leave at the start of any later planning year of their life
    retired_of: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for index in added_ub:
        name, build_year, key = index[0], index[1], _key(index[2:])
        if families[build_year][name].retirable:
            retired_of[index] = [
                _index(name, build_year, period.year, key)
                for period in years
                if build_year < period.year and _in_service(families, name, build_year, period.year, key)
            ]
    m.retirements = pyo.Set(
        initialize=[i for indices in retired_of.values() for i in indices], dimen=None, ordered=True
    )
    m.vintage_retired = pyo.Var(m.retirements, domain=pyo.NonNegativeReals)
    m.retirable_vintages = pyo.Set(
        initialize=[index for index, indices in retired_of.items() if indices], dimen=None, ordered=True
    )
    m.retired_within_added = pyo.Constraint(
        m.retirable_vintages,
        rule=lambda _, *i: sum(m.vintage_retired[r] for r in retired_of[i]) <= m.vintage_added[i],
    )
    standing: dict[tuple[Any, ...], Any] = {}
    for index in added_ub:
        name, build_year, key = index[0], index[1], _key(index[2:])
        for period in years:
            if not _in_service(families, name, build_year, period.year, key):
                continue
            gone = sum(m.vintage_retired[r] for r in retired_of.get(index, []) if r[2] <= period.year)
            at = _index(name, period.year, key)
            standing[at] = standing.get(at, 0) + m.vintage_added[index] - gone

    def capacity(name: str, year: int, key: Hashable) -> Any:
        declared = families[year][name].capacity
        return declared[key] if key in declared else 0  # a key the year no longer allows stands empty

    m.standing_capacity = pyo.Set(initialize=list(standing), dimen=None, ordered=True)
    m.vintages_standing = pyo.Constraint(
        m.standing_capacity,
        rule=lambda _, name, year, *key: capacity(name, year, _key(tuple(key))) == standing[name, year, *key],
    )
    for year, declared in families.items():
        for name, family in declared.items():
            for key, var in family.capacity.items():
                if _index(name, year, key) not in standing and not var.fixed:
                    var.fix(0)  # nothing can have been added here by this year
    return Vintages(m.vintage_added, m.vintage_retired, m.vintages_standing, families)


def _add_purchase_limits(m: pyo.ConcreteModel, vintages: Vintages) -> None:
    r"""What a family may add in a year stays within each of its yearly limits (chips: the SKU's supply).

    .. math::

        \sum_k n_{\ell,k} A^F_{v,k} \le \bar N_\ell \quad \text{(purchases_within_limit)}
    """
    rows = {}
    for year, declared in vintages.families.items():
        for name, family in declared.items():
            for limit, (coefficients, most) in family.purchase_limits.items():
                terms = [
                    coefficient * vintages.added[_index(name, year, key)]
                    for key, coefficient in coefficients.items()
                    if _index(name, year, key) in vintages.added
                ]
                if terms:
                    rows[name, year, limit] = (sum(terms), most)
    m.purchase_limits = pyo.Set(initialize=list(rows), dimen=3, ordered=True)
    m.purchases_within_limit = pyo.Constraint(m.purchase_limits, rule=lambda _, *i: rows[i][0] <= rows[i][1])


def _add_objective(
    m: pyo.ConcreteModel,
    scenario: Scenario,
    years: list[PlanningYear],
    blocks: dict[int, FactoryModel],
    vintages: Vintages,
) -> BuildoutCore:
    """Operating costs of each year, annuities of the vintages in service, resale, and the two rows."""
    families = vintages.families
    weight = {period.year: period.pv_weight for period in years}
    total_weight = sum(weight.values())
    end = years[-1].end

    m.operating_musd = pyo.Expression(
        m.Y,
        rule=lambda _, y: sum(
            term.by_site[s] for term in blocks[y].shared.costs if not term.capital for s in blocks[y].core.sites
        ),
    )
    annuities: dict[tuple[Any, ...], Any] = {}
    resale: list[Any] = []
    for index, var in vintages.added.items():
        name, build_year, key = index[0], index[1], _key(index[2:])
        family = families[build_year][name]
        per_unit = {item: annuity[key] for item, annuity in family.annuity_musd.items() if key in annuity}
        for period in years:
            if _in_service(families, name, build_year, period.year, key):
                for item, value in per_unit.items():
                    at = (period.year, name, item, family.site_of(key))
                    annuities[at] = annuities.get(at, 0) + value * var
        resale_share = scenario.buildout.resale_share
        for period in years:
            retired = _index(name, build_year, period.year, key)
            if resale_share > 0 and retired in vintages.retired:
                # selling recovers a share of the annuities still owed within the horizon
                last = min(build_year + math.ceil(family.life_yr[key]), end)
                owed_pv = pv_weight(scenario, period.year, last) * sum(per_unit.values())
                resale.append(resale_share * owed_pv * vintages.retired[retired])
    m.annuity_terms = pyo.Set(initialize=list(annuities), dimen=4, ordered=True)
    m.annuities_musd = pyo.Expression(m.annuity_terms, rule=lambda _, *i: annuities[i])
    m.resale_pv_musd = pyo.Expression(expr=sum(resale))
    m.delivered_by_year_ptok = pyo.Expression(m.Y, rule=lambda _, y: blocks[y].core.delivered_total_ptok)
    m.penalty_by_year_musd = pyo.Expression(m.Y, rule=lambda _, y: blocks[y].core.penalty_musd)
    annual_of = {y: [i for i in annuities if i[0] == y] for y in m.Y}
    m.objective_pv_cost = pyo.Objective(
        expr=(
            sum(
                weight[y]
                * (m.operating_musd[y] + sum(m.annuities_musd[i] for i in annual_of[y]) + m.penalty_by_year_musd[y])
                for y in m.Y
            )
            - m.resale_pv_musd
        )
        / total_weight,
        sense=pyo.minimize,
    )
    m.objective_pv_tokens = pyo.Objective(
        expr=sum(weight[y] * m.delivered_by_year_ptok[y] for y in m.Y) / total_weight, sense=pyo.minimize
    )
    return BuildoutCore(
        objective_cost=m.objective_pv_cost,
        objective_tokens=m.objective_pv_tokens,
        operating_musd=m.operating_musd,
        annuities_musd=m.annuities_musd,
        resale_pv_musd=m.resale_pv_musd,
        delivered_ptok=m.delivered_by_year_ptok,
        penalty_musd=m.penalty_by_year_musd,
    )
