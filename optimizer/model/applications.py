"""Applications layer: deliver each region's token demand from sites within its latency budget."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo
from pyomo.core.base.var import VarData

from optimizer.constants import (
    MIN_DELIVERY_TOKENS_PER_YR,
    TOKENS_PER_MTOK,
    TOKENS_PER_PTOK,
    TOKENS_PER_TTOK,
    USD_PER_MUSD,
)
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared, solved_values

#: deliveries at or below this are solver noise; every table leaves them out alike (demand is 0 or above it)
DELIVERY_NOISE_PTOK = MIN_DELIVERY_TOKENS_PER_YR / TOKENS_PER_PTOK


@dataclass(frozen=True)
class ApplicationsHandles:
    """The applications layer's families that readers of a built or solved model use."""

    routes: pyo.Set
    """(site, region, workload) routes within the workload's latency budget"""
    delivered_ptok: pyo.Var
    """(site, region, workload) tokens delivered along each route in a year, Ptok"""
    demand_rows: pyo.Constraint
    """(region, workload) demand met (``demand_served``), or at most met (``demand_ceiling``) under a
    ratio objective"""
    minimum_delivery: pyo.Constraint | None
    """the share of all demand a ratio objective must deliver (None when all demand is served)"""
    routes_need_a_built_site: pyo.Constraint | None
    """(site, region, workload) a route delivers only from a built site (None without build binaries)"""
    unserved_ttok: pyo.Var | None
    """(region, workload) demand left unserved in a year, Ttok (None unless ``objective.unserved_usd_per_mtok``)"""


def add_applications(
    m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs, shared: Shared
) -> ApplicationsHandles:
    r"""Deliver each region's token demand along routes within the workload's latency budget.

    For every route :math:`(s, r, w)` and demand :math:`D_{r,w} > 0` (Ptok/yr):

    .. math::

        0 \le z_{s,r,w} \le D_{r,w}, \qquad
        \sum_s z_{s,r,w} \,(+\, \kappa u_{r,w}) = D_{r,w} \quad \text{(demand_served)}

        \text{or, for min_cost_per_token:}\quad \sum_s z_{s,r,w} \le D_{r,w} \;\text{(demand_ceiling)},\quad
        \sum_{s,r,w} z_{s,r,w} \ge \mu \sum_{r,w} D_{r,w} \;\text{(minimum_delivery)}

        \text{tokens}_{s,w}:\; \text{produced}_{s,w} \ge \sum_r z_{s,r,w}, \qquad
        z_{s,r,w} \le D_{r,w}\, B_s \quad \text{(routes_need_a_built_site)}

    :math:`z` is ``delivered_ptok``, :math:`\mu` ``min_demand_share`` and :math:`B_s` the site's build
    binary (infrastructure layer, through the shared ``site_built``). Where the scenario prices unserved
    demand (``objective.unserved_usd_per_mtok`` :math:`p`), :math:`0 \le \kappa u_{r,w} \le D_{r,w}` is
    ``unserved_ttok`` (in Ttok, :math:`\kappa` = 0.001 Ptok/Ttok, so that its price in M$ per Ttok is the
    price in USD per Mtok) and the objective pays :math:`p \sum_{r,w} u_{r,w}` (``unserved_cost_musd``, a
    penalty outside the plan's cost per token).
    """
    demand_ptok = (scenario.tables["demand"]["tokens_per_yr"] / TOKENS_PER_PTOK).to_dict()
    routes = inputs.routes
    m.routes = pyo.Set(initialize=routes, dimen=3, ordered=True)
    m.delivered_ptok = pyo.Var(m.routes, bounds=lambda _, s, r, w: (0, demand_ptok[r, w]))

    sources: dict[tuple[str, str], list[str]] = {}
    for s, r, w in routes:
        sources.setdefault((r, w), []).append(s)
    served = [key for key in demand_ptok if demand_ptok[key] > 0]
    delivered = {key: sum(m.delivered_ptok[s, key[0], key[1]] for s in sources[key]) for key in served}

    minimum_delivery = unserved = None
    if scenario.objective.mode == "serve_demand":
        price = scenario.objective.unserved_usd_per_mtok
        if price is not None:
            # demand a plan cannot serve is bought at the scenario's price, and reported, never dropped
            ptok_per_ttok = TOKENS_PER_TTOK / TOKENS_PER_PTOK
            m.unserved_ttok = unserved = pyo.Var(served, bounds=lambda _, r, w: (0, demand_ptok[r, w] / ptok_per_ttok))
            musd_per_ttok = price * (TOKENS_PER_TTOK / TOKENS_PER_MTOK) / USD_PER_MUSD
            m.unserved_cost_musd = pyo.Expression(expr=musd_per_ttok * sum(unserved[key] for key in served))
            shared.penalties_musd.append(m.unserved_cost_musd)
        m.demand_served = demand_rows = pyo.Constraint(
            served,
            rule=lambda _, r, w: (
                delivered[r, w] + (ptok_per_ttok * unserved[r, w] if unserved is not None else 0) == demand_ptok[r, w]
            ),
        )
    else:
        share = scenario.objective.min_demand_share
        m.demand_ceiling = demand_rows = pyo.Constraint(
            served, rule=lambda _, r, w: delivered[r, w] <= demand_ptok[r, w]
        )
        m.minimum_delivery = minimum_delivery = pyo.Constraint(
            expr=sum(delivered.values()) >= share * sum(demand_ptok[key] for key in served)
        )

    outgoing: dict[tuple[str, str], list[VarData]] = {}
    for s, r, w in routes:
        outgoing.setdefault((s, w), []).append(m.delivered_ptok[s, r, w])
    m.delivered_from_site_ptok = pyo.Expression(m.site_workloads, rule=lambda _, s, w: sum(outgoing.get((s, w), [])))
    shared.add_use("tokens_ptok", m.delivered_from_site_ptok)
    built_only = None
    if shared.site_built is not None:
        built_only = _deliver_only_from_built_sites(m, shared.site_built, demand_ptok)
    shared.delivered_ptok = sum(delivered.values())
    return ApplicationsHandles(m.routes, m.delivered_ptok, demand_rows, minimum_delivery, built_only, unserved)


def _deliver_only_from_built_sites(
    m: pyo.ConcreteModel, built: pyo.Var, demand_ptok: dict[tuple[str, str], float]
) -> pyo.Constraint:
    """A route delivers at most its region's demand, and only from a built site.

    Implied by the integer model (an unbuilt site has no racks), so no plan is lost; but without
    it the LP relaxation pays a site's fixed costs only in proportion to its IT load over its
    land's IT limit. A site that serves a region's whole demand now pays all of them: measured on
    the default data, this closes a share of the LP-to-MILP gap (see screening).
    """
    m.routes_need_a_built_site = pyo.Constraint(
        m.routes, rule=lambda _, s, r, w: m.delivered_ptok[s, r, w] <= demand_ptok[r, w] * built[s]
    )
    return m.routes_need_a_built_site


@dataclass(frozen=True)
class ApplicationsReport:
    """What the applications layer of a solved model reports."""

    deliveries: pd.DataFrame
    """deliveries.csv: one row per route that delivers"""
    delivered_ptok: pd.Series
    """Ptok delivered by (site, region, workload), without solver noise (:data:`DELIVERY_NOISE_PTOK`)"""
    sites: pd.DataFrame
    """by site id: ``delivered_tokens_per_yr`` (sites.csv)"""
    unserved_tokens_per_yr: float
    """demand left unserved at the scenario's price (0 without one), tokens/yr (summary.csv)"""
    unserved_usd_per_yr: float
    """what the unserved demand costs at that price, USD/yr (summary.csv; not a cost of the plan)"""


def report(applications: ApplicationsHandles, scenario: Scenario, inputs: DerivedInputs) -> ApplicationsReport:
    """The solved deliveries: deliveries.csv (``site_id``, ``region_id``, ``workload_id``, ``tokens_per_yr``,
    ``distance_km``, ``latency_ms``, ``latency_budget_ms``) and the ``delivered_tokens_per_yr`` column of
    sites.csv; deliveries at or below :data:`DELIVERY_NOISE_PTOK` are left out of both. The demand left
    unserved is the demand less what is delivered (summary.csv ``unserved_tokens_per_yr``), so the two
    add up exactly; its price gives ``unserved_usd_per_yr``."""
    delivered = solved_values(applications.delivered_ptok)
    if delivered.empty:  # no demand, no route: keep the three levels the tables are read by
        delivered = pd.Series(dtype=float, index=pd.MultiIndex.from_arrays([[], [], []]))
    else:
        delivered = delivered[delivered > DELIVERY_NOISE_PTOK]
    sites = scenario.tables["sites"].index
    by_site = delivered.groupby(level=0).sum().reindex(sites, fill_value=0.0)
    site_columns = pd.DataFrame({"delivered_tokens_per_yr": by_site * TOKENS_PER_PTOK})
    site_columns.index.name = "site_id"

    tokens = delivered * TOKENS_PER_PTOK
    frame = tokens.rename("tokens_per_yr").rename_axis(["site_id", "region_id", "workload_id"]).reset_index()
    distance, latency = inputs.distance_km, inputs.latency_ms
    frame["distance_km"] = [distance.loc[s, r] for s, r in zip(frame["site_id"], frame["region_id"])]
    frame["latency_ms"] = [latency.loc[s, r] for s, r in zip(frame["site_id"], frame["region_id"])]
    frame["latency_budget_ms"] = frame["workload_id"].map(scenario.tables["workloads"]["latency_budget_ms"])
    price = scenario.objective.unserved_usd_per_mtok
    unserved = 0.0
    if applications.unserved_ttok is not None and price is not None:
        unserved = max(scenario.tables["demand"]["tokens_per_yr"].sum() - float(tokens.sum()), 0.0)
    unserved_usd = unserved / TOKENS_PER_MTOK * price if price is not None else 0.0
    return ApplicationsReport(frame, delivered, site_columns, unserved, unserved_usd)
