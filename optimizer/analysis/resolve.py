"""Fast what-if re-solves: change prices, demand, the carbon price or cap without rebuilding.

The model is built and compiled once. Every tagged cost item and the emissions are compiled as
their own objective rows, so a price change only reprices columns (cost = sum of factor x item
row + carbon price x emissions row); the carbon cap is the right-hand side of a known row. HiGHS
then re-solves from the previous plan. What changes is limited to what these rows carry: scaling a
cost item scales every coefficient of it (e.g. ``grid energy`` at every site). Demand is not
offered: variable bounds are derived from it when the model is built, so it needs a rebuild.

    what_if = WhatIf(load_scenario("data/scenarios/base.yaml"))
    base = what_if.solve()
    dearer = what_if.solve(cost_scale={"grid energy": 1.3}, carbon_price_usd_per_t=100)
    busier = what_if.solve(demand_scale={"chat_70b": 1.5})
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import numpy as np
import pyomo.environ as pyo

from optimizer.constants import TOKENS_PER_MTOK, TOKENS_PER_PTOK, USD_PER_MUSD, musd
from optimizer.inputs.scenario import Scenario
from optimizer.model import build_model
from optimizer.solver.milp import plan_within
from optimizer.solver.session import OPTIMAL, TIME_LIMIT, SolverSession, status_name

OK = (OPTIMAL, TIME_LIMIT)


@dataclass
class WhatIfResult:
    status: str
    usd_per_mtok: float
    layer_usd_per_mtok: dict[str, float]
    emissions_t_per_yr: float
    delivered_tokens_per_yr: float
    solve_s: float


class WhatIf:
    """A compiled serve-demand model that re-solves parameter changes in place."""

    def __init__(self, scenario: Scenario) -> None:
        if scenario.objective.mode != "serve_demand":
            raise ValueError("fast re-solves cover serve_demand scenarios; rebuild for min_cost_per_token")
        started = time.perf_counter()
        self.scenario = scenario
        self.fm = fm = build_model(scenario)
        self.items = [(term.layer, term.item) for term in fm.shared.costs]
        # what-if's own objective rows, added to the model to be compiled: one per cost item, and the emissions
        items = []
        for number, term in enumerate(fm.shared.costs):
            item = pyo.Objective(
                expr=sum(term.by_site[s] for s in fm.core.sites),
                doc=f"added by what-if: the cost item {term.item!r} of the {term.layer} layer, M$/yr",
            )
            fm.model.add_component(f"whatif_item_{number}", item)
            items.append(item)
        emissions = pyo.Objective(expr=fm.core.emissions_total_t, doc="added by what-if: emissions of the plan, t/yr")
        fm.model.add_component("whatif_emissions", emissions)
        self.session = SolverSession.compile(fm, scenario.solver)
        rows = self.session.objective_rows
        self.item_rows = [rows[item.name] for item in items]
        self.emissions_row = rows[emissions.name]
        self.tokens_row = rows[fm.core.objective_tokens.name]
        self.base_carbon_price = scenario.constraints.carbon_price_usd_per_t
        self.cap_rows = self._rows_of(fm.policy.carbon_cap)
        self.row_lower, self.row_upper = self.session.row_bounds()
        _, self.col_upper = self.session.column_bounds()
        self._index_demand()
        self.previous: np.ndarray | None = None
        self.previous_demand: np.ndarray = np.ones(len(self.demand_rows))
        self.build_s = time.perf_counter() - started

    def _index_demand(self) -> None:
        """Rows of the demand balances and columns of the deliveries, with each one's workload."""
        applications = self.fm.applications
        session = self.session
        demand_served = applications.demand_rows  # serve_demand: each demand met exactly
        self.demand_rows = session.rows_of(demand_served)
        self.demand_row_workloads = [w for _, w in demand_served.keys()]
        # deliveries are indexed by route: (site, region, workload)
        routes = cast("dict[tuple[str, str, str], int]", session.columns_of(applications.delivered_ptok))
        delivered = [(column, w) for (_, _, w), column in routes.items()]
        self.delivery_columns = np.array([number for number, _ in delivered], dtype=np.int32)
        self.delivery_workloads = [w for _, w in delivered]
        self.workloads = sorted(set(self.demand_row_workloads))
        # delivered <= demand x build: the build column's coefficient is -demand, scaled with it
        build = session.columns_of(self.fm.infrastructure.build)
        built_only = applications.routes_need_a_built_site
        links = [
            (session.row(row), build[s], -applications.delivered_ptok[s, r, w].ub, w)
            for (s, r, w), row in (built_only.items() if built_only is not None else ())
            if row in session.row_index and s in build
        ]
        self.link_rows = [row for row, _, _, _ in links]
        self.link_build_columns = [col for _, col, _, _ in links]
        self.link_coefficients = np.array([coefficient for _, _, coefficient, _ in links])
        self.link_workloads = [w for _, _, _, w in links]

    def _demand_factors(self, demand_scale: float | dict[str, float] | None, workloads: list[str]) -> np.ndarray:
        if demand_scale is None or isinstance(demand_scale, (int, float)):
            return np.full(len(workloads), 1.0 if demand_scale is None else float(demand_scale))
        unknown = set(demand_scale) - set(self.workloads)
        if unknown:
            raise ValueError(f"unknown workloads {sorted(unknown)} in demand_scale; known: {self.workloads}")
        return np.array([demand_scale.get(w, 1.0) for w in workloads])

    def _move_demand(self, demand_scale: float | dict[str, float] | None) -> None:
        """Set demand; a plan for other demand is no start for this one (it cannot be feasible)."""
        rows, columns = self.demand_rows, self.delivery_columns
        factors = self._demand_factors(demand_scale, self.demand_row_workloads)
        if not np.array_equal(factors, self.previous_demand):
            # neither the last plan nor the last basis fits other demand: start as a fresh solve would
            self.previous = None
            self.session.forget_start()
        self.previous_demand = factors
        demand = self.row_lower[rows] * factors
        self.session.set_row_bounds(rows, demand, demand)
        upper = self.col_upper[columns] * self._demand_factors(demand_scale, self.delivery_workloads)
        self.session.set_column_bounds(columns, np.zeros(len(columns)), upper)
        link_coefficients = self.link_coefficients * self._demand_factors(demand_scale, self.link_workloads)
        for row, column, coefficient in zip(self.link_rows, self.link_build_columns, link_coefficients):
            self.session.set_coefficient(row, column, coefficient)

    def _rows_of(self, component: pyo.Constraint | None) -> np.ndarray:
        """The rows of a family (through its handle), none if the scenario does not build it."""
        if component is None:
            return np.array([], dtype=np.int32)
        return self.session.rows_of(component)

    def solve(
        self,
        cost_scale: dict[str, float] | None = None,
        carbon_price_usd_per_t: float | None = None,
        carbon_cap_t_per_yr: float | None = None,
        demand_scale: float | dict[str, float] | None = None,
    ) -> WhatIfResult:
        """Re-solve with cost items scaled (by item name, see costs.csv), another carbon price, a
        new carbon cap (only if the scenario has one) or demand scaled (all of it, or by workload
        id); nothing is rebuilt. Whatever is not given is back at the scenario's value."""
        cost_scale = cost_scale or {}
        self._move_demand(demand_scale)
        unknown = set(cost_scale) - {item for _, item in self.items}
        if unknown:
            raise ValueError(f"unknown cost items {sorted(unknown)}; known: {sorted({i for _, i in self.items})}")
        # the carbon-price item already in the model is replaced, not added to
        factors = [0.0 if item == "carbon price" else cost_scale.get(item, 1.0) for _, item in self.items]
        price = self.base_carbon_price if carbon_price_usd_per_t is None else carbon_price_usd_per_t
        cost = sum(f * row for f, (row, _) in zip(factors, self.item_rows)) + musd(price) * self.emissions_row[0]
        if carbon_cap_t_per_yr is not None and not len(self.cap_rows):
            raise ValueError("the scenario has no carbon cap to move; set constraints.carbon_cap_t_per_yr")
        if len(self.cap_rows):
            cap = (
                self.row_upper[self.cap_rows]
                if carbon_cap_t_per_yr is None
                else np.full(len(self.cap_rows), carbon_cap_t_per_yr)
            )
            self.session.set_row_bounds(self.cap_rows, self.row_lower[self.cap_rows], cap)
        started = time.perf_counter()
        outcome = plan_within(self.session, cost, self.scenario.solver.time_limit_s, self.previous)
        status, x = outcome.status, outcome.x
        seconds = time.perf_counter() - started
        if x is None or status not in OK:
            return WhatIfResult(status_name(status), float("nan"), {}, float("nan"), float("nan"), seconds)
        self.previous = x
        tokens = float(self.tokens_row[0] @ x + self.tokens_row[1]) * TOKENS_PER_PTOK
        mtok = tokens / TOKENS_PER_MTOK
        layers: dict[str, float] = {}
        for f, (layer, _), (row, offset) in zip(factors, self.items, self.item_rows):
            layers[layer] = layers.get(layer, 0.0) + f * float(row @ x + offset) * USD_PER_MUSD / mtok
        emissions = float(self.emissions_row[0] @ x + self.emissions_row[1])
        layers["energy"] = layers.get("energy", 0.0) + price * emissions / mtok
        return WhatIfResult(
            status="optimal" if status == OPTIMAL else "time_limit_feasible",
            usd_per_mtok=sum(layers.values()),
            layer_usd_per_mtok=layers,
            emissions_t_per_yr=emissions,
            delivered_tokens_per_yr=tokens,
            solve_s=seconds,
        )
