"""Models layer: assign racks to workloads and turn running racks into tokens.

Every assigned rack is powered in every slice, so IT load is constant through the year and
tokens per rack follow MLPerf throughput (output tokens/s per accelerator) times the workload's
production utilisation. Batch workloads differ from interactive ones by their throughput scenario
(offline), utilisation and latency budget; letting batch racks follow cheap hours is left for
hourly prices (measured: no change to the optimum with flat state-average prices, 3x the LP time).
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.model.core import Shared, site_it_limit_mw
from optimizer.inputs.scenario import HOURS_PER_YEAR, Scenario
from optimizer.constants import KW_PER_MW, SECONDS_PER_HOUR, TOKENS_PER_PTOK


def tokens_ptok_per_rack_hour(scenario: Scenario) -> dict[tuple[str, str], float]:
    """Tokens a fully busy rack of each chip makes in an hour for each workload, scaled by utilisation."""
    chips, workloads = scenario.tables["chips"], scenario.tables["workloads"]
    out = {}
    for (c, w), row in scenario.tables["chip_throughput"].iterrows():
        per_rack_per_s = row["tokens_per_s_per_chip"] * chips.loc[c, "chips_per_rack"]
        out[c, w] = per_rack_per_s * SECONDS_PER_HOUR * workloads.loc[w, "utilisation"] / TOKENS_PER_PTOK
    return out


def add_workloads(m: pyo.ConcreteModel, scenario: Scenario, shared: Shared, usable_chips: list[str]) -> None:
    chips = scenario.tables["chips"]
    rate = {key: value for key, value in tokens_ptok_per_rack_hour(scenario).items() if key[0] in usable_chips}
    rack_mw = (chips["rack_power_kw"] / KW_PER_MW).to_dict()
    it_limit = site_it_limit_mw(scenario)

    m.site_chip_workloads = pyo.Set(initialize=[(s, c, w) for s in m.S for c, w in rate], dimen=3, ordered=True)
    m.assigned_racks = pyo.Var(
        m.site_chip_workloads,
        bounds=lambda _, s, c, w: (0, it_limit[s] / rack_mw[c]),
    )
    workloads_of = {c: [w for cc, w in rate if cc == c] for c in m.C}
    m.racks_assigned = pyo.Expression(
        m.site_chips, rule=lambda _, s, c: sum(m.assigned_racks[s, c, w] for w in workloads_of[c])
    )
    shared.add_use("racks", m.racks_assigned)

    m.running_it_mw = pyo.Expression(
        m.S, rule=lambda _, s: sum(rack_mw[c] * m.assigned_racks[s, c, w] for c, w in rate)
    )
    shared.add_use("it_power_mw", m.running_it_mw)
    m.tokens_produced_ptok = pyo.Expression(
        m.site_workloads,
        rule=lambda _, s, w: sum(
            rate[c, w] * HOURS_PER_YEAR * m.assigned_racks[s, c, w] for c in m.C if (c, w) in rate
        ),
    )
    shared.add_supply("tokens_ptok", m.tokens_produced_ptok)
