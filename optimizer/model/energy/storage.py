"""Storage: power and energy sizes, and the hourly operation of one regime (grid or bridge years)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.core.expr import RelationalExpression

from optimizer.inputs.derived import DerivedInputs
from optimizer.inputs.scenario import Scenario


@dataclass(frozen=True)
class StorageOperation:
    """The hourly operation of storage in one regime (grid years or bridge years)."""

    charge_mw: pyo.Var
    """(site, storage, slice) charging power, MW"""
    discharge_mw: pyo.Var
    """(site, storage, slice) discharging power, MW"""
    soc_within_day_mwh: pyo.Var
    """(site, storage, slice) change of the state of charge since the start of the day, MWh"""
    soc_run_start_mwh: pyo.Var
    """(site, storage, run) state of charge at the start of each run of equal calendar days, MWh"""


def add_storage(m: pyo.ConcreteModel, scenario: Scenario, inputs: DerivedInputs) -> StorageOperation:
    r"""Storage power and energy sized within a duration range, and its operation in the grid years.

    For every allowed (site, storage) :math:`(s, b)`:

    .. math::

        h^{min}_b P_{s,b} \;\le\; E_{s,b} \;\le\; h^{max}_b P_{s,b}
        \quad \text{(storage_duration_min, storage_duration_max)}

    :math:`P` is ``storage_power_mw`` (at most the site's peak draw), :math:`E` ``storage_energy_mwh``.
    The operation is :func:`add_storage_operation` on the model itself.
    """
    storage = scenario.tables["storage_techs"]
    storage_ids = inputs.storage_allowed
    m.site_storage = pyo.Set(initialize=[(s, b) for s in m.S for b in storage_ids], dimen=2, ordered=True)
    power_bound = inputs.peak_draw_mw
    m.storage_power_mw = pyo.Var(m.site_storage, bounds=lambda _, s, b: (0, power_bound[s]))
    m.storage_energy_mwh = pyo.Var(
        m.site_storage, bounds=lambda _, s, b: (0, power_bound[s] * storage.loc[b, "max_duration_h"])
    )
    m.storage_duration_min = pyo.Constraint(
        m.site_storage,
        rule=lambda _, s, b: m.storage_energy_mwh[s, b] >= storage.loc[b, "min_duration_h"] * m.storage_power_mw[s, b],
    )
    m.storage_duration_max = pyo.Constraint(
        m.site_storage,
        rule=lambda _, s, b: m.storage_energy_mwh[s, b] <= storage.loc[b, "max_duration_h"] * m.storage_power_mw[s, b],
    )
    # runs of consecutive calendar days that share a representative day (storage levels)
    m.storage_runs = inputs.storage_runs
    m.last_slice_of_period = inputs.last_slice_of_period
    m.R = pyo.Set(initialize=range(len(m.storage_runs)), ordered=True)
    return add_storage_operation(m, m, list(m.site_storage), scenario, inputs)


def add_storage_operation(
    b: pyo.Block, m: pyo.ConcreteModel, site_storage: list[tuple[str, str]], scenario: Scenario, inputs: DerivedInputs
) -> StorageOperation:
    r"""Hourly charge and discharge, state of charge within each representative day, and its level
    across the calendar days, for one operating regime: the grid years (``b`` is the model) or the
    bridge years (``b`` is ``m.bridge``). Sizes (power, energy) are the model's, shared by both.

    For every (site, storage) :math:`(s, k)`, slice :math:`t` of representative day :math:`p(t)`
    (previous slice :math:`t^-`, none at the day's first hour), and run :math:`r` of :math:`n_r`
    consecutive calendar days sharing representative day :math:`p_r`:

    .. math::

        c_{s,k,t} + d_{s,k,t} \le P_{s,k}
        \quad \text{(charge_and_discharge_within_power)}

        \sigma_{s,k,t} = \sigma_{s,k,t^-} + \Delta_t \big(\eta_k c_{s,k,t} - d_{s,k,t} / \eta_k\big),
        \; \eta_k = \sqrt{\text{round trip}_k}
        \quad \text{(state_of_charge_within_day)}

        \sigma^{low}_{s,k,p(t)} \le \sigma_{s,k,t} \le \sigma^{high}_{s,k,p(t)}
        \quad \text{(soc_day_low_covers, soc_day_high_covers)}

        L_{s,k,r+1} = L_{s,k,r} + n_r\, \sigma_{s,k,\text{last}(p_r)} \;\; \text{(the year wraps)}
        \quad \text{(soc_across_days)}

        0 \le L_{s,k,r} + j\, \sigma_{s,k,\text{last}(p_r)} + \sigma^{low}_{s,k,p_r},\quad
        L_{s,k,r} + j\, \sigma_{s,k,\text{last}(p_r)} + \sigma^{high}_{s,k,p_r} \le E_{s,k}
        \quad j \in \{0, n_r - 1\} \quad \text{(soc_above_empty, soc_within_energy)}

    :math:`c, d` are ``charge_mw`` and ``discharge_mw``, :math:`\sigma` ``soc_within_day_mwh`` (the
    change since the day's start), :math:`L` ``soc_run_start_mwh``, :math:`\Delta_t` the slice's hours.
    The level moves linearly across a run, so bounding its first and last day bounds every day.
    """
    storage = scenario.tables["storage_techs"]
    power_bound = inputs.peak_draw_mw
    slices = scenario.tables["slices"]
    starts_day = (slices["hour"] == slices.groupby("period")["hour"].transform("min")).to_dict()
    previous = {}
    for _, group in slices.groupby("period"):
        ordered = list(group.sort_values("hour").index)
        previous.update(dict(zip(ordered[1:], ordered[:-1])))
    last_slice = m.last_slice_of_period
    periods = sorted(last_slice)
    runs = m.storage_runs
    one_way = {k: math.sqrt(storage.loc[k, "round_trip_efficiency"]) for k in storage.index}
    energy_bound = {(s, k): power_bound[s] * storage.loc[k, "max_duration_h"] for s, k in site_storage}

    b.storage_slices = pyo.Set(initialize=[(s, k, t) for s, k in site_storage for t in m.T], dimen=3, ordered=True)
    storage_slices = b.storage_slices
    b.charge_mw = pyo.Var(storage_slices, bounds=lambda _, s, k, t: (0, power_bound[s]))
    b.discharge_mw = pyo.Var(storage_slices, bounds=lambda _, s, k, t: (0, power_bound[s]))
    # one row for both directions: charging and discharging in the same hour only burns energy in
    # losses, which curtailing generation does for free, so no plan gains from both at once (except
    # by dumping grid energy at a negative hourly price, which this row deliberately limits)
    b.charge_and_discharge_within_power = pyo.Constraint(
        storage_slices,
        rule=lambda _, s, k, t: b.charge_mw[s, k, t] + b.discharge_mw[s, k, t] <= m.storage_power_mw[s, k],
    )
    b.soc_within_day_mwh = pyo.Var(storage_slices, bounds=lambda _, s, k, t: (-energy_bound[s, k], energy_bound[s, k]))

    # a slice is an hour, or a block of hours in the screening relaxation (optimizer.analysis.screening)
    duration_h = slices["duration_h"].to_dict() if "duration_h" in slices else dict.fromkeys(slices.index, 1.0)

    def within_day(_: pyo.Block, s: str, k: str, t: int) -> RelationalExpression:
        # change of the state of charge since the start of the day; the day starts at 0
        before = 0.0 if starts_day[t] else b.soc_within_day_mwh[s, k, previous[t]]
        flow = one_way[k] * b.charge_mw[s, k, t] - b.discharge_mw[s, k, t] / one_way[k]
        return b.soc_within_day_mwh[s, k, t] == before + duration_h[t] * flow

    b.state_of_charge_within_day = pyo.Constraint(storage_slices, rule=within_day)
    site_storage_periods = [(s, k, p) for s, k in site_storage for p in periods]
    b.soc_day_high_mwh = pyo.Var(site_storage_periods, bounds=lambda _, s, k, p: (0, energy_bound[s, k]))
    b.soc_day_low_mwh = pyo.Var(site_storage_periods, bounds=lambda _, s, k, p: (-energy_bound[s, k], 0))
    period_of = slices["period"].to_dict()
    b.soc_day_high_covers = pyo.Constraint(
        storage_slices, rule=lambda _, s, k, t: b.soc_day_high_mwh[s, k, period_of[t]] >= b.soc_within_day_mwh[s, k, t]
    )
    b.soc_day_low_covers = pyo.Constraint(
        storage_slices, rule=lambda _, s, k, t: b.soc_day_low_mwh[s, k, period_of[t]] <= b.soc_within_day_mwh[s, k, t]
    )

    def day_change(s: str, k: str, p: int) -> pyo.NumericValue:
        return b.soc_within_day_mwh[s, k, last_slice[p]]

    b.soc_run_start_mwh = pyo.Var(
        [(s, k, r) for s, k in site_storage for r in m.R], bounds=lambda _, s, k, r: (0, energy_bound[s, k])
    )

    def run_chain(_: pyo.Block, s: str, k: str, r: int) -> RelationalExpression:
        # the level after a run of n equal days is its start plus n day-changes; the year wraps
        _, length, period = runs[r]
        following = (r + 1) % len(runs)
        return b.soc_run_start_mwh[s, k, following] == b.soc_run_start_mwh[s, k, r] + length * day_change(s, k, period)

    b.soc_across_days = pyo.Constraint(b.soc_run_start_mwh.index_set(), rule=run_chain)
    ends = [
        (s, k, r, last) for s, k in site_storage for r, (_, length, _) in enumerate(runs) for last in {0, length - 1}
    ]
    b.soc_run_ends = pyo.Set(initialize=ends, dimen=4, ordered=True)

    def level_at(s: str, k: str, r: int, day_in_run: int) -> pyo.NumericValue:
        return b.soc_run_start_mwh[s, k, r] + day_in_run * day_change(s, k, runs[r][2])

    b.soc_within_energy = pyo.Constraint(
        b.soc_run_ends,
        rule=lambda _, s, k, r, j: (
            level_at(s, k, r, j) + b.soc_day_high_mwh[s, k, runs[r][2]] <= m.storage_energy_mwh[s, k]
        ),
    )
    b.soc_above_empty = pyo.Constraint(
        b.soc_run_ends, rule=lambda _, s, k, r, j: level_at(s, k, r, j) + b.soc_day_low_mwh[s, k, runs[r][2]] >= 0
    )
    return StorageOperation(b.charge_mw, b.discharge_mw, b.soc_within_day_mwh, b.soc_run_start_mwh)
