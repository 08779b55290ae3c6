"""The model's numbers stay within the documented range, and a scenario that leaves it is named."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.solver.session import SolverSession
from optimizer.solver.stats import model_stats
from tests.tiny import GRID, write_tiny

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def _stats(path):
    scenario = load_scenario(path)
    return model_stats(SolverSession.compile(build_model(scenario), scenario.solver))


def test_default_scenario_is_within_the_documented_range():
    stats = _stats(SCENARIOS / "carbon_free_24_7.yaml")  # the base model plus the carbon-free rows
    assert stats.overall["within"].all(), stats.overall
    assert stats.outside_range() == []
    # every row and column of the matrix belongs to a family
    assert stats.rows["count"].sum() > 60_000 and "demand_served" in stats.rows.index
    assert stats.rows.loc["demand_served", "rhs_max"] < 1e3  # demand in Ptok, not tokens


def test_tiny_scenario_ranges_by_hand(tmp_path):
    """One site: the demand row's right-hand side is 100 racks' tokens in Ptok; land 1000 acres."""
    stats = _stats(write_tiny(tmp_path))
    tokens_ptok = 100 * 72 * 1000.0 * 3600 * 8760 / 1e15
    assert stats.rows.loc["demand_served", "rhs_min"] == tokens_ptok
    assert stats.rows.loc["balance_land_acres", "matrix_max"] == 1000.0


def test_a_table_that_leaves_the_range_is_named(tmp_path):
    """Solar output of 1e-7 at dawn (noise in a weather file) puts 1e-7 into the capacity rows."""
    solar = {**GRID, "tech_id": "solar", "name": "Solar", "kind": "solar", "capex_usd_per_kw": 300.0}
    dawn = [0.0] * 6 + [1e-7] + [0.5] * 10 + [0.0] * 7
    path = write_tiny(tmp_path / "in", techs=[GRID, solar], hourly={"solar_cf": dawn})
    warnings = _stats(path).outside_range()
    assert any(
        "'generation_within_available_capacity': matrix values 1e-07" in w and "hourly.csv.gz" in w for w in warnings
    ), warnings
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0, result.output
    assert "numerics:" in result.output and "hourly.csv.gz" in result.output


def test_cli_stats_prints_ranges_and_writes_csv(tmp_path):
    out = tmp_path / "stats.csv"
    result = CliRunner().invoke(app, ["stats", str(write_tiny(tmp_path / "in")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Magnitudes of non-zero values" in result.output and "demand_served" in out.read_text()
