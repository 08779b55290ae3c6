"""Derived inputs: computed once, and the assumptions they make checked against the data."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.inputs.derived import PEAK_DRAW_PUE_FLOOR, DerivedInputs
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from tests.tiny import BATTERY, CHIP, COOLING, GRID, write_tiny

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


def test_a_rack_no_cooling_carries_is_named_not_dropped_silently(tmp_path) -> None:
    """A 220 kW rack with coolings up to 150 kW: the scenario loads, the chip is named with why."""
    dense = {**CHIP, "chip_id": "dense", "rack_power_kw": 220.0}
    throughput = [
        {"chip_id": c, "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"} for c in ("x", "dense")
    ]
    path = write_tiny(tmp_path / "in", chips=[CHIP, dense], throughput=throughput)
    lines = DerivedInputs(load_scenario(path)).never_used
    assert len(lines) == 1, lines
    assert "chip 'dense'" in lines[0] and "220 kW rack fits no cooling" in lines[0] and "150 kW" in lines[0]
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    assert "never used:" in result.output and "chip 'dense'" in result.output


def test_technologies_that_can_never_be_built_are_named_with_why(tmp_path) -> None:
    late_gas = {**GRID, "tech_id": "gas", "name": "Gas", "kind": "thermal", "lead_time_yr": 4.0}
    options = {"constraints": {"online_by_year": 2028, "allowed_power_techs": ["grid", "gas"]}}
    lines = DerivedInputs(
        load_scenario(write_tiny(tmp_path, techs=[GRID, late_gas], storage=[BATTERY], options=options))
    ).never_used
    assert any("'gas'" in line and "4-year lead time" in line and "ready in 2030" in line for line in lines), lines
    assert any("'battery'" in line and "allowed_power_techs" in line for line in lines), lines
    assert not any("'grid'" in line for line in lines), lines


def test_the_default_scenario_names_the_plants_the_turbine_queue_keeps_past_2030() -> None:
    """Combined cycle (6-year lead), frame turbines (5) and the SMR (6) cannot be online by 2030."""
    lines = DerivedInputs(load_scenario("data/scenarios/base.yaml")).never_used
    expected = {"'ng_cc_1x1'": "ready in 2032", "'ng_ct_frame'": "ready in 2031", "'nuclear_smr'": "ready in 2032"}
    assert len(lines) == len(expected), lines
    for tech, why in expected.items():
        assert any(tech in line and why in line for line in lines), (tech, lines)
