"""``aifactory compare``: two tiny plans whose differences are known by hand."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.outputs.compare import compare_plans
from tests.tiny import SITE, TOKENS_PER_RACK_YR, write_tiny


@pytest.fixture(scope="module")
def two_plans(tmp_path_factory):
    """Plan A: 100 racks at site a. Plan B: demand doubled, so 200 racks and twice the grid."""
    root = tmp_path_factory.mktemp("compare")
    folders = []
    for name, tokens in (("a", 100 * TOKENS_PER_RACK_YR), ("b", 200 * TOKENS_PER_RACK_YR)):
        scenario = write_tiny(
            root / f"in_{name}", demand=[{"region_id": "r", "workload_id": "chat", "tokens_per_yr": tokens}]
        )
        out = root / f"plan_{name}"
        result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)])
        assert result.exit_code == 0, result.output
        folders.append(out)
    return folders


def test_compare_reports_what_changed_by_hand(two_plans):
    a, b = two_plans
    comparison = compare_plans(a, b)
    headline = comparison.headline.set_index("figure")
    assert headline.loc["IT capacity MW", "a"] == pytest.approx(10.0)
    assert headline.loc["IT capacity MW", "change"] == pytest.approx(10.0)
    assert headline.loc["accelerators", "change_pct"] == pytest.approx(100.0)
    # the site's fixed development cost is spread over twice the tokens: $/Mtok falls
    assert headline.loc["$/Mtok", "change"] < 0
    sites = comparison.sites.set_index("site_id")
    assert sites.loc[SITE["site_id"], "change_mw"] == pytest.approx(10.0)
    capacities = comparison.capacities.set_index("tech_id")
    assert capacities.loc["grid", "change_mw"] == pytest.approx(11.0)  # 10 MW more IT x PUE 1.1
    assert comparison.chips.loc[0, "change"] == pytest.approx(100 * 72)


def test_compare_of_a_plan_with_itself_lists_no_changes(two_plans):
    a, _ = two_plans
    comparison = compare_plans(a, a)
    assert comparison.sites.empty and comparison.capacities.empty and comparison.chips.empty
    assert (comparison.headline["change"] == 0).all()


def test_compare_cli_prints_tables_and_rejects_a_non_plan(two_plans, tmp_path):
    a, b = two_plans
    result = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "$/Mtok" in result.output and "Power capacity that changed" in result.output and "grid" in result.output
    result = CliRunner().invoke(app, ["compare", str(a), str(tmp_path)])
    assert result.exit_code == 2
    assert "not a plan folder" in result.output and "summary.csv is missing" in result.output
