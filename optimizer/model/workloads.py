"""Models layer: assign racks to workloads and turn running racks into tokens.

Every assigned rack is powered in every slice, so IT load is constant through the year and
tokens per rack follow MLPerf throughput (output tokens/s per accelerator) times the workload's
production utilisation. Batch workloads differ from interactive ones by their throughput scenario
(offline), utilisation and latency budget; letting batch racks follow cheap hours is left for
hourly prices (measured: no change to the optimum with flat state-average prices, 3x the LP time).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from optimizer.constants import HOURS_PER_YEAR, TOKENS_PER_PTOK
from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario
from optimizer.model.core import Shared, solved_values


@dataclass(frozen=True)
class WorkloadsHandles:
    """The models layer's families that readers of a built or solved model use."""

    assigned_racks: pyo.Var
    """(site, chip, workload) racks running each workload, all year"""
    tokens_produced_ptok: pyo.Expression
    """(site, workload) tokens the assigned racks make in a year, Ptok"""
    running_it_mw: pyo.Expression
    """(site) IT load of the assigned racks, MW"""


def add_workloads(m: pyo.ConcreteModel, inputs: DerivedInputs, shared: Shared) -> WorkloadsHandles:
    r"""Racks assigned to workloads, and the tokens and IT load they make.

    For every site :math:`s`, chip :math:`c` and workload :math:`w` with a throughput figure:

    .. math::

        0 \le Q_{s,c,w} \le \bar I_s / p_c, \qquad
        \text{racks}_{s,c}:\; \sum_w Q_{s,c,w} \le R_{s,c}, \qquad
        \text{IT power}_s:\; \sum_{c,w} p_c Q_{s,c,w} = \text{cooled IT}_s

        \text{tokens}_{s,w}:\; 8760 \sum_c \rho_{c,w} Q_{s,c,w} \ge \text{delivered from } s \text{ of } w

    :math:`Q` is ``assigned_racks``, :math:`\rho_{c,w}` the Ptok a busy rack makes per hour at the
    workload's utilisation (MLPerf throughput x chips per rack), :math:`p_c` a rack's IT MW.
    """
    usable_chips = set(inputs.chips_available)
    rate = {key: value for key, value in inputs.tokens_ptok_per_rack_hour.items() if key[0] in usable_chips}
    rack_mw = inputs.rack_mw
    it_limit = inputs.it_limit_mw

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
    return WorkloadsHandles(
        assigned_racks=m.assigned_racks, tokens_produced_ptok=m.tokens_produced_ptok, running_it_mw=m.running_it_mw
    )


def report(workloads: WorkloadsHandles, scenario: Scenario) -> pd.DataFrame:
    """The solved assignment: allocation.csv (``site_id``, ``chip_id``, ``workload_id``, ``racks_assigned``,
    ``tokens_per_s_per_chip``, ``site_workload_tokens_per_yr``), one row per (site, chip, workload) with
    racks assigned."""
    assigned = solved_values(workloads.assigned_racks)
    produced = solved_values(workloads.tokens_produced_ptok)
    frame = assigned.rename("racks_assigned").rename_axis(["site_id", "chip_id", "workload_id"]).reset_index()
    frame = frame[frame["racks_assigned"] > 1e-6]
    throughput = scenario.tables["chip_throughput"]["tokens_per_s_per_chip"]
    frame["tokens_per_s_per_chip"] = [throughput[c, w] for c, w in zip(frame["chip_id"], frame["workload_id"])]
    site_tokens = produced[produced > 0] * TOKENS_PER_PTOK
    frame["site_workload_tokens_per_yr"] = [
        site_tokens.get((s, w), 0.0) for s, w in zip(frame["site_id"], frame["workload_id"])
    ]
    return frame.reset_index(drop=True)
