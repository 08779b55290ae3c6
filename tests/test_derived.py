"""Derived inputs: computed once, and the assumptions they make checked against the data."""

from __future__ import annotations

import pytest

from optimizer.inputs.derived import PEAK_DRAW_PUE_FLOOR, DerivedInputs
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from tests.tiny import COOLING, write_tiny

#: a legal cooling row (every value within its schema range) that needs 2.67 W per W of IT all year:
#: 1 + 0.5 overhead + 0.5 fans + chillers at their floor COP of 1.5 (no free cooling at 20 C)
POWER_HUNGRY = {
    **COOLING,
    "cooling_id": "hungry",
    "power_overhead": 0.5,
    "fan_pump_kw_per_kw_it": 0.5,
    "free_cooling_max_drybulb_c": -40.0,
    "chiller_cop_at_35c": 1.0,
}


def test_default_tiny_scenario_keeps_the_documented_pue_bound(tmp_path) -> None:
    inputs = DerivedInputs(load_scenario(write_tiny(tmp_path)))
    assert inputs.peak_draw_pue == PEAK_DRAW_PUE_FLOOR
    assert inputs.peak_draw_mw == {s: limit * PEAK_DRAW_PUE_FLOOR for s, limit in inputs.it_limit_mw.items()}


def test_a_cooling_that_needs_more_raises_the_power_bounds(tmp_path) -> None:
    """The storage and on-site plant bounds assume a worst PUE; a legal cooling beyond it raises them
    instead of silently cutting off the plans that need it."""
    scenario = load_scenario(write_tiny(tmp_path, cooling=[POWER_HUNGRY]))
    inputs = DerivedInputs(scenario)
    worst = 1 + 0.5 + 0.5 + 1 / 1.5
    assert inputs.peak_draw_pue == pytest.approx(worst)
    fm = build_model(scenario, inputs)
    limit = inputs.it_limit_mw["a"]
    assert fm.energy.storage_power_mw["a", "battery"].ub == pytest.approx(limit * worst)
    assert fm.inputs is inputs  # the model reads the derived inputs it was given, not a copy


def test_each_figure_is_computed_once(tmp_path) -> None:
    inputs = DerivedInputs(load_scenario(write_tiny(tmp_path)))
    assert inputs.routes is inputs.routes
    assert inputs.peak_hours is inputs.peak_hours
    assert inputs.allowed_techs is inputs.allowed_techs
