"""``aifactory plot``: the pictures of a solved plan are written, and bad requests are named."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.outputs.plots import plot_map, sensitivity, us_states
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


def test_plot_writes_three_pictures_and_an_interactive_map(plan):
    result = CliRunner().invoke(app, ["plot", str(plan)])
    assert result.exit_code == 0, result.output
    for name in ("map.png", "cost_by_site.png", "dispatch.png"):
        path = plan / "plots" / name
        assert path.read_bytes()[:8] == PNG_SIGNATURE, name
        assert path.stat().st_size > 10_000, f"{name} looks empty"
    page = (plan / "plots" / "map.html").read_text()
    # self-contained: bokeh's scripts are inlined, nothing is fetched when it opens
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*stylesheet", page)
    assert "Bokeh" in page and len(page) > 500_000
    # the hover data carries the site, its IT MW and its power mix
    assert '"site_id"' in page and "it_capacity_mw" in page and "power_mix" in page


#: a one-at-a-time sweep worked by hand: the base case costs 1.0; chip price moves it most
ONE_AT_A_TIME = pd.DataFrame(
    {
        "case_id": ["000_base", "001_power=0.7", "002_power=1.3", "003_chips=0.8", "004_chips=1.2", "005_chips=1.5"],
        "power": [None, 0.7, 1.3, None, None, None],
        "chips": [None, None, None, 0.8, 1.2, 1.5],
        "status": ["optimal"] * 5 + ["no_plan"],
        "reason": [""] * 5 + ["no feasible plan"],
        "usd_per_mtok": [1.0, 0.97, 1.02, 0.85, 1.15, float("nan")],
    }
)


def test_sensitivity_of_a_one_at_a_time_sweep_is_read_off_the_cases():
    table, reference = sensitivity(ONE_AT_A_TIME)
    assert reference == 1.0
    assert list(table["parameter"]) == ["chips", "power"]  # widest swing first
    chips = table.iloc[0]
    # the 1.5 case has no plan: the highest setting charted is 1.2
    assert (chips["low_setting"], chips["high_setting"]) == ("0.8", "1.2")
    assert (chips["usd_per_mtok_at_low"], chips["usd_per_mtok_at_high"]) == (0.85, 1.15)
    assert table.iloc[1]["swing"] == pytest.approx(0.05)


def test_sensitivity_of_a_grid_sweep_is_the_main_effect():
    grid = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "power": [1, 1, 2, 2],
            "chips": [1, 2, 1, 2],
            "status": ["optimal"] * 4,
            "usd_per_mtok": [1.0, 1.4, 1.2, 1.6],
        }
    )
    table, reference = sensitivity(grid)
    assert reference == pytest.approx(1.3)  # no base case: the mean of all cases
    effects = table.set_index("parameter")
    assert effects.loc["chips", "usd_per_mtok_at_low"] == pytest.approx(1.1)  # mean of 1.0 and 1.2
    assert effects.loc["chips", "usd_per_mtok_at_high"] == pytest.approx(1.5)
    assert effects.loc["power", "swing"] == pytest.approx(0.2)


def test_plot_of_a_sweep_folder_draws_the_tornado(tmp_path):
    ONE_AT_A_TIME.to_csv(tmp_path / "sweep.csv", index=False)
    result = CliRunner().invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plots" / "tornado.png").read_bytes()[:8] == PNG_SIGNATURE
    assert list(pd.read_csv(tmp_path / "plots" / "sensitivity.csv")["parameter"]) == ["chips", "power"]
    result = CliRunner().invoke(app, ["plot", str(tmp_path), "--metric", "usd_per_tok"])
    assert result.exit_code == 2 and "no column 'usd_per_tok'" in result.output


def test_plot_names_a_folder_that_is_neither_plan_nor_sweep(tmp_path):
    result = CliRunner().invoke(app, ["plot", str(tmp_path)])
    assert result.exit_code == 2 and "neither a plan folder" in result.output


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
