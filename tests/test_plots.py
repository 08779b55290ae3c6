"""``aifactory plot``: the pictures of a solved plan are written, and bad requests are named."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.plots import plot_map, us_states
from tests.tiny import BATTERY, GRID, write_tiny

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """A tiny plan with solar and a battery, so the dispatch chart has several sources."""
    root = tmp_path_factory.mktemp("plots")
    solar = {**GRID, "tech_id": "solar", "name": "Solar", "kind": "solar", "capex_usd_per_kw": 300.0, "life_yr": 30.0}
    sun = [0.0] * 6 + [0.5, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.5] + [0.0] * 7
    scenario = write_tiny(root / "in", techs=[GRID, solar], storage=[BATTERY], hourly={"solar_cf": sun})
    out = root / "plan"
    result = CliRunner().invoke(app, ["solve", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_plot_writes_three_pictures(plan):
    result = CliRunner().invoke(app, ["plot", str(plan)])
    assert result.exit_code == 0, result.output
    for name in ("map.png", "cost_by_site.png", "dispatch.png"):
        path = plan / "plots" / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE, name
        assert path.stat().st_size > 10_000, f"{name} looks empty"


def test_map_draws_with_a_boundary_file_of_the_users(plan, tmp_path):
    boundary = tmp_path / "region.geojson"
    gpd.GeoDataFrame({"name": ["box"]}, geometry=[box(-100, 30, -90, 36)], crs=4326).to_file(boundary)
    assert len(us_states(boundary)) == 1
    out = plot_map(plan, tmp_path / "map.png", boundary)
    assert out.read_bytes()[:8] == PNG_SIGNATURE


def test_default_boundaries_are_the_contiguous_us_states():
    states = us_states()
    assert len(states) == 49  # 48 states and DC
    assert {"TX", "WA", "DC"} <= set(states["code"])


def test_plot_names_a_site_that_was_not_built(plan):
    result = CliRunner().invoke(app, ["plot", str(plan), "--site", "nowhere"])
    assert result.exit_code == 2
    assert "'nowhere' is not built" in result.output and "built: ['a']" in result.output
