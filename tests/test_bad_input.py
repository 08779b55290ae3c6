"""Bad input: every damaged table or scenario must fail with a ScenarioError a planner can act on.

Each test copies ``data/`` to a temporary folder (scenarios refer to their tables with
``data: ..``), damages exactly one thing and checks that the message names the file, the row (or
id), the column and the rule that was broken. The CLI tests check the same errors end to end: exit
code 2, a short "input error" line without a traceback, and no output folder left behind.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from pyproj import Geod
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.inputs.scenario import ScenarioError, load_scenario

DATA = Path(__file__).resolve().parents[1] / "data"


# --------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of the default dataset, scenarios included."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def scenario_path(data_dir: Path) -> Path:
    return data_dir / "scenarios" / "base.yaml"


def load_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return str(caught.value)


def assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} missing from the error message:\n{message}"


def set_cell(path: Path, key_column: str, key, column: str, value) -> int:
    """Set one cell of a CSV; returns the 1-based data row number the error should name."""
    frame = pd.read_csv(path)
    rows = frame.index[frame[key_column] == key]
    assert len(rows) >= 1, f"{key} not in {path}"
    frame[column] = frame[column].astype(object)
    frame.loc[rows[0], column] = value
    frame.to_csv(path, index=False)
    return int(rows[0]) + 1


def edit_yaml(path: Path, edit) -> None:
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def replace_text(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def add_overrides(path: Path, overrides: dict) -> None:
    edit_yaml(path, lambda doc: doc.setdefault("overrides", {}).update(overrides))


# --------------------------------------------------------------------------------------------
# tables


def test_negative_grid_capacity_in_sites_geojson(data_dir: Path) -> None:
    path = data_dir / "sites.geojson"
    sites = gpd.read_file(path)
    row = int(sites.index[sites["site_id"] == "stargate_dona_ana"][0])
    sites.loc[row, "grid_capacity_mw"] = -5.0
    sites.to_file(path, driver="GeoJSON")
    message = load_error(scenario_path(data_dir))
    assert_names(
        message,
        "sites.geojson",
        f"row {row + 1}",
        "stargate_dona_ana",
        "grid_capacity_mw",
        "-5",
        "greater_than_or_equal_to(0)",
    )


def test_missing_column_in_chips_csv(data_dir: Path) -> None:
    path = data_dir / "chips.csv"
    pd.read_csv(path).drop(columns="rack_power_kw").to_csv(path, index=False)
    message = load_error(scenario_path(data_dir))
    assert_names(message, "chips.csv", "missing column", "rack_power_kw")


@pytest.mark.parametrize(
    "file, key_column, key, column, id_text",
    [
        ("chips.csv", "chip_id", "b200", "price_usd_per_chip", "b200"),
        ("demand.csv", "region_id", "chicago", "tokens_per_yr", "chicago/chat_70b"),
        ("cooling.csv", "cooling_id", "air", "max_rack_kw", "air"),
    ],
)
def test_text_in_numeric_column(data_dir: Path, file, key_column, key, column, id_text) -> None:
    row = set_cell(data_dir / file, key_column, key, column, "lots")
    message = load_error(scenario_path(data_dir))
    assert_names(message, file, f"row {row}", id_text, f"'{column}'", "'lots'", "must be a number")
    assert len(message.splitlines()) == 1, message  # one cell, one problem: not pandera's follow-on checks


def test_unknown_chip_in_chip_throughput(data_dir: Path) -> None:
    row = set_cell(data_dir / "chip_throughput.csv", "chip_id", "gb200_nvl72", "chip_id", "gb200_nvl27")
    message = load_error(scenario_path(data_dir))
    assert_names(
        message,
        "chip_throughput.csv",
        f"row {row}",
        "'chip_id'",
        "unknown id 'gb200_nvl27'",
        "not in chips",
        "Did you mean 'gb200_nvl72'?",
    )


def test_unknown_id_without_close_match_lists_valid_ids(data_dir: Path) -> None:
    set_cell(data_dir / "chip_throughput.csv", "chip_id", "b200", "chip_id", "tpu_v9")
    message = load_error(scenario_path(data_dir))
    assert_names(message, "unknown id 'tpu_v9'", "h100_sxm", "gb300_nvl72")


def test_unknown_workload_in_demand(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "demand.csv")
    row = int(frame.index[(frame["region_id"] == "dallas") & (frame["workload_id"] == "chat_70b")][0])
    frame.loc[row, "workload_id"] = "chat_7b"
    frame.to_csv(data_dir / "demand.csv", index=False)
    message = load_error(scenario_path(data_dir))
    assert_names(
        message,
        "demand.csv",
        f"row {row + 1}",
        "'workload_id'",
        "unknown id 'chat_7b'",
        "not in workloads",
        "Did you mean 'chat_70b'?",
    )


def test_site_missing_hours(data_dir: Path) -> None:
    path = data_dir / "hourly.csv.gz"
    frame = pd.read_csv(path)
    frame = frame[~((frame["site_id"] == "quincy_wa") & (frame["hour"] >= 8700))]
    frame.to_csv(path, index=False)
    message = load_error(scenario_path(data_dir))
    assert_names(message, "hourly.csv.gz", "quincy_wa", "8700 hours", "0..8759")


def test_hourly_capacity_factor_out_of_range(data_dir: Path) -> None:
    path = data_dir / "hourly.csv.gz"
    frame = pd.read_csv(path)
    row = int(frame.index[(frame["site_id"] == "the_dalles") & (frame["hour"] == 4000)][0])
    frame.loc[row, "wind_cf"] = 1.7
    frame.to_csv(path, index=False)
    message = load_error(scenario_path(data_dir))
    assert_names(message, "hourly.csv.gz", f"row {row + 1}", "the_dalles/4000", "'wind_cf'", "1.7", "in_range")


def test_time_options_checked(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    document = yaml.safe_load(path.read_text())
    document["time"] = {"representative_days": 0}
    path.write_text(yaml.safe_dump(document))
    assert_names(load_error(path), "base.yaml", "time.representative_days", "between 1 and 365")
    document["time"] = {"extreme_days": ["lowest_wnd"]}
    path.write_text(yaml.safe_dump(document))
    assert_names(load_error(path), "base.yaml", "time.extreme_days", "'lowest_wnd'", "Did you mean 'lowest_wind'?")


def test_fraction_in_integer_column(data_dir: Path) -> None:
    path = data_dir / "chips.csv"
    frame = pd.read_csv(path)
    frame["chips_per_rack"] = frame["chips_per_rack"].astype(float)
    frame.loc[frame["chip_id"] == "b200", "chips_per_rack"] = 7.5
    frame.to_csv(path, index=False)
    message = load_error(scenario_path(data_dir))
    assert_names(message, "chips.csv", "b200", "chips_per_rack", "7.5")


# --------------------------------------------------------------------------------------------
# scenario YAML


def test_typo_in_top_level_key(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    replace_text(path, "objective:", "objectiv:")
    message = load_error(path)
    assert_names(message, "base.yaml", "unknown key 'objectiv'", "Did you mean 'objective'?")


def test_typo_in_section_key(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    edit_yaml(path, lambda doc: doc.update(solver={"time_limt_s": 5}))
    message = load_error(path)
    assert_names(message, "base.yaml", "solver.time_limt_s", "Did you mean 'time_limit_s'?")


def test_override_of_unknown_site(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"sites": {"stargate_abilen": {"grid_capacity_mw": 400}}})
    message = load_error(path)
    assert_names(
        message, "base.yaml", "overrides.sites", "unknown row id 'stargate_abilen'", "Did you mean 'stargate_abilene'?"
    )


def test_override_of_unknown_column(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"sites": {"stargate_abilene": {"grid_capacity": 400}}})
    message = load_error(path)
    assert_names(
        message,
        "base.yaml",
        "overrides.sites.stargate_abilene",
        "unknown column 'grid_capacity'",
        "Did you mean 'grid_capacity_mw'?",
    )


def test_override_with_wrong_type(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"sites": {"stargate_abilene": {"grid_capacity_mw": "lots"}}})
    message = load_error(path)
    assert_names(
        message, "base.yaml", "overrides.sites", "stargate_abilene", "'grid_capacity_mw'", "'lots'", "must be a number"
    )


def test_override_breaking_a_rule(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"demand": {"chicago/chat_70b": {"tokens_per_yr": -1.0}}})
    message = load_error(path)
    assert_names(
        message,
        "base.yaml",
        "overrides.demand",
        "chicago/chat_70b",
        "'tokens_per_yr'",
        "-1",
        "greater_than_or_equal_to(0)",
    )


def test_override_with_text_scale(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"sites": {"*": {"gas_price_usd_per_mmbtu": {"scale": "lots"}}}})
    message = load_error(path)
    assert_names(message, "overrides.sites", "gas_price_usd_per_mmbtu", "lots")


def test_option_with_wrong_type(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    edit_yaml(path, lambda doc: doc["finance"].update(wacc="high"))
    message = load_error(path)
    assert_names(message, "base.yaml", "finance.wacc", "high")


def test_unknown_objective_mode(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    edit_yaml(path, lambda doc: doc["objective"].update(mode="serve_demands"))
    message = load_error(path)
    assert_names(
        message,
        "base.yaml",
        "objective.mode 'serve_demands'",
        "serve_demand",
        "min_cost_per_token",
        "Did you mean 'serve_demand'?",
    )


def test_missing_scenario_file(data_dir: Path) -> None:
    path = data_dir / "scenarios" / "no_such_scenario.yaml"
    message = load_error(path)
    assert_names(message, "no_such_scenario.yaml", "not found")


def test_invalid_yaml(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    path.write_text(path.read_text() + "overrides: {sites: [stargate_abilene\n")
    message = load_error(path)
    assert_names(message, "base.yaml", "not valid YAML", "line")


def test_invalid_yaml_is_one_line_with_its_place(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "{" + lines[2], *lines[3:]]) + "\n")
    message = load_error(path)
    assert_names(message, "base.yaml", "not valid YAML at line")
    assert len(message.splitlines()) == 1, message


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("data", 0, "'data' must be a path"),
        ("extends", 0, "'extends' must be a path"),
        ("tables", ["chips"], "'tables' must be a mapping of table names to file names"),
        ("tables", {"chips": 5}, "'tables' must be a mapping"),
        ("overrides", ["sites"], "'overrides' must be a mapping"),
        (
            "overrides",
            {"sites": {"stargate_abilene": {"land_acres": [1, 2]}}},
            "overrides.sites.stargate_abilene.land_acres: use a single value",
        ),
        ("solver", 3, "'solver' must be a mapping of options"),
    ],
)
def test_yaml_value_of_the_wrong_shape(data_dir: Path, key, value, expected) -> None:
    path = scenario_path(data_dir)
    edit_yaml(path, lambda doc: doc.update({key: value}))
    assert_names(load_error(path), "base.yaml", expected)


@pytest.mark.parametrize("life", [0, 1e12])
def test_economic_life_out_of_range(data_dir: Path, life) -> None:
    row = set_cell(data_dir / "chips.csv", "chip_id", "b200", "life_yr", life)
    assert_names(
        load_error(scenario_path(data_dir)), "chips.csv", f"row {row}", "b200", "'life_yr'", "in_range(1, 100)"
    )


def test_facility_parameter_out_of_range(data_dir: Path) -> None:
    row = set_cell(data_dir / "facility.csv", "parameter", "it_acres_per_mw", "value", 0)
    assert_names(
        load_error(scenario_path(data_dir)),
        "facility.csv",
        f"row {row}",
        "it_acres_per_mw",
        "'value'",
        "acres/MW",
        "outside 0.01 .. 100",
    )


def test_table_with_a_header_and_no_rows(data_dir: Path) -> None:
    path = data_dir / "cooling.csv"
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    assert_names(load_error(scenario_path(data_dir)), "cooling.csv", "no rows")


def test_solver_options_out_of_range(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    edit_yaml(path, lambda doc: doc.update(solver={"mip_gap": 1.5}))
    assert_names(load_error(path), "base.yaml", "solver.mip_gap", "[0, 1)")


def test_allowed_power_techs_may_name_storage(data_dir: Path) -> None:
    path = scenario_path(data_dir)
    edit_yaml(
        path,
        lambda doc: doc["constraints"].update(
            allowed_power_techs=["grid", "solar_pv_tracking", "wind_onshore", "battery_li_ion"]
        ),
    )
    scenario = load_scenario(path)
    assert "battery_li_ion" in scenario.constraints.allowed_power_techs


# --------------------------------------------------------------------------------------------
# latency that no site can meet (raised when the model is built)


def test_unreachable_latency_names_region_workload_and_nearest_site(data_dir: Path) -> None:
    from optimizer.model import build_model

    path = scenario_path(data_dir)
    add_overrides(path, {"workloads": {"chat_70b": {"latency_budget_ms": 1}}})
    scenario = load_scenario(path)  # the tables are valid; only the geography makes the demand impossible

    demand = pd.read_csv(data_dir / "demand.csv")
    region = demand[(demand["workload_id"] == "chat_70b") & (demand["tokens_per_yr"] > 0)]["region_id"].iloc[0]
    sites, regions = scenario.tables["sites"], scenario.tables["regions"]
    n = len(sites)
    _, _, metres = Geod(ellps="WGS84").inv(
        sites["lon"].to_numpy(),
        sites["lat"].to_numpy(),
        [regions.loc[region, "lon"]] * n,
        [regions.loc[region, "lat"]] * n,
    )
    nearest = sites.index[int(pd.Series(metres).idxmin())]

    with pytest.raises(ScenarioError) as caught:
        build_model(scenario)
    assert_names(str(caught.value), f"'{region}'", "'chat_70b'", "1 ms", f"'{nearest}'")


# --------------------------------------------------------------------------------------------
# the CLI


def _solve(args: list[str]):
    return CliRunner().invoke(app, ["solve", *map(str, args)])


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_cli_broken_scenario_exits_2_without_traceback_or_output(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "chips.csv"
    pd.read_csv(path).drop(columns="rack_power_kw").to_csv(path, index=False)
    out = tmp_path / "plans" / "broken"
    result = _solve([scenario_path(data_dir), "--out", out])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    text = _flat(result.output)
    assert text.startswith("input error:"), result.output
    assert text.count("input error") == 1
    assert "chips.csv" in text and "rack_power_kw" in text
    assert "Traceback" not in result.output
    assert not out.exists()
    assert not (tmp_path / "plans").exists() or not any((tmp_path / "plans").iterdir())


def test_cli_unreachable_latency_is_an_input_error(data_dir: Path, tmp_path: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"workloads": {"chat_70b": {"latency_budget_ms": 1}}})
    out = tmp_path / "out"
    result = _solve([path, "--out", out])
    assert result.exit_code == 2, result.output
    # the scenario loaded (naming what it can never use) before the model found the demand unreachable
    before, said, error = _flat(result.output).partition("input error:")
    assert said and "chat_70b" in error, result.output
    assert before == "" or before.startswith("never used:"), result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_cli_input_error_is_one_line(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "chips.csv"
    pd.read_csv(path).drop(columns="rack_power_kw").to_csv(path, index=False)
    result = _solve([scenario_path(data_dir), "--out", tmp_path / "out"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_cli_prints_error_text_verbatim(data_dir: Path, tmp_path: Path) -> None:
    path = scenario_path(data_dir)
    add_overrides(path, {"sites": {"site[/old]": {"grid_capacity_mw": 1}}})
    result = _solve([path, "--out", tmp_path / "out"])
    assert result.exit_code == 2
    assert "site[/old]" in result.output


def test_cli_refuses_existing_folder_without_force(tmp_path: Path) -> None:
    out = tmp_path / "existing"
    out.mkdir()
    (out / ".aifactory").write_text('{"kind": "plan"}\n')  # an earlier plan of ours: needs --force
    keep = out / "summary.csv"
    keep.write_text("an earlier plan\n")
    before = {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in out.iterdir()}
    result = _solve([DATA / "scenarios" / "base.yaml", "--out", out])
    assert result.exit_code == 2, result.output
    assert "exists" in result.output and "--force" in result.output
    assert "Traceback" not in result.output
    assert {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no staging folder left behind


def test_values_in_another_unit_are_warned_about(tmp_path: Path) -> None:
    """A grid price typed in $/kWh and a chip price in thousands of USD pass the schemas but are named."""
    from tests.tiny import CHIP, SITE, write_tiny

    path = write_tiny(
        tmp_path / "in", sites=[{**SITE, "grid_price_usd_per_mwh": 0.06}], chips=[{**CHIP, "price_usd_per_chip": 30.0}]
    )
    warnings = load_scenario(path).warnings
    assert len(warnings) == 2, warnings
    assert any("sites.geojson: row 'a', column 'grid_price_usd_per_mwh': 0.06" in w and "$/kWh" in w for w in warnings)
    assert any("chips.csv: row 'x', column 'price_usd_per_chip': 30" in w and "thousands of USD" in w for w in warnings)
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 0 and "check units:" in result.output and "$/kWh" in result.output


def test_default_data_raises_no_unit_warning() -> None:
    assert load_scenario(Path(__file__).resolve().parents[1] / "data" / "scenarios" / "base.yaml").warnings == []
