"""Why a build-out has no plan: the planning year, the demand and the limit that stops it.

The build-out is solved again year by year (myopic, about one year's solve a step) with demand
allowed to go unserved at ``PROBE_USD_PER_MTOK``, a price no plan would rather pay than build
anything that can serve it. The demand left unserved then is what no plan can serve by that year,
and each (year, region, workload) is named with what stops it: no hall can stand yet (the halls'
lead time from the start year), no chip is on sale, or the sites within the workload's latency
budget cannot hold or power more IT.
"""

from __future__ import annotations

import math
from dataclasses import replace

from optimizer.constants import TOKENS_PER_TTOK
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.buildout import build_buildout
from optimizer.model.core import solved_values
from optimizer.solver.buildout import solve_buildout

#: the price of unserved demand in the probe, USD/Mtok: far above any plan's cost per token (the
#: default plans cost about 0.11), so demand goes unserved only where nothing can serve it in time
PROBE_USD_PER_MTOK = 1000.0
#: unserved demand below this (Ttok/yr) is solver noise
NOISE_TTOK = 1e-6


def diagnose_buildout(scenario: Scenario) -> list[str]:
    """One line per (planning year, region, workload) whose demand no plan can serve, with the limit."""
    probe = replace(
        scenario,
        objective=replace(scenario.objective, unserved_usd_per_mtok=PROBE_USD_PER_MTOK),
        buildout=replace(scenario.buildout, foresight="myopic"),
    )
    model = build_buildout(probe)
    solve_buildout(model, probe.solver, probe.objective)
    lines = []
    start, lead = scenario.finance.start_year, scenario.facility("hall_lead_time_yr")
    for period in model.years:
        fm = model.blocks[period.year]
        if fm.applications.unserved_ttok is None:
            continue
        unserved = solved_values(fm.applications.unserved_ttok)
        unserved = unserved[unserved > NOISE_TTOK]
        if unserved.empty:
            continue
        tokens = float(unserved.sum()) * TOKENS_PER_TTOK
        if not fm.inputs.halls_ready:
            first = start + math.ceil(lead)
            lines.append(
                f"{period.year}: {tokens:.3g} tokens/yr of demand cannot be served: no IT hall can be energised "
                f"before {first} (facility.csv hall_lead_time_yr {lead:g} from finance.start_year {start})"
            )
            continue
        if not fm.inputs.chips_sold and not fm.inputs.chips_available:
            lines.append(f"{period.year}: {tokens:.3g} tokens/yr of demand cannot be served: no chip ships by then")
            continue
        lines += [_limit_line(period.year, fm.scenario, fm.inputs, r, w, value) for (r, w), value in unserved.items()]
    return lines


def _limit_line(year: int, scenario: Scenario, inputs: DerivedInputs, region: str, workload: str, ttok: float) -> str:
    """What the sites within the workload's latency budget of the region can hold and draw."""
    sites = scenario.tables["sites"]
    reachable = sorted({s for s, r, w in inputs.routes if r == region and w == workload})
    budget = scenario.tables["workloads"].loc[workload, "latency_budget_ms"]
    it_mw = sum(inputs.it_limit_mw[s] for s in reachable)
    grid_mw = float(sites.loc[reachable, "grid_capacity_mw"].sum())
    nearest = min(reachable, key=lambda s: inputs.latency_ms.loc[s, region]) if reachable else None
    count = f"{len(reachable)} site{'s' if len(reachable) != 1 else ''}"
    where = (
        f"the {count} within its {budget:g} ms latency budget hold at most {_mw(it_mw)} MW of IT on their "
        f"land and have {_mw(grid_mw)} MW of grid (nearest: '{nearest}', "
        f"{_mw(float(sites.loc[nearest, 'grid_capacity_mw']))} MW of grid)"
        if nearest is not None
        else f"no site is within its {budget:g} ms latency budget"
    )
    return f"{year}: {ttok * TOKENS_PER_TTOK:.3g} tokens/yr of '{workload}' for '{region}' cannot be served: {where}"


def _mw(value: float) -> str:
    """MW as a planner reads them: whole above 100, three significant digits below."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
