"""Property tests: random small scenarios and damaged inputs never end in a traceback.

Whatever hypothesis feeds the planner, it does exactly one of three things:

1. returns a plan that passes the independent verifier (``verify_plan``);
2. reports infeasibility with a reason: ``SolveError(infeasible=True)``, and ``diagnose`` agrees
   there is no plan and says why (a finding or a note);
3. rejects the input with a ``ScenarioError`` that names the file (and, for tables, the row or
   column); through the CLI: exit code 2, one "input error:" line, and no output folder.

Every example is derandomised (fixed seed, no example database) so CI runs the same cases.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optimizer.analysis.diagnose import diagnose
from optimizer.cli import app
from optimizer.inputs.scenario import OPTION_SECTIONS, TOP_LEVEL_KEYS, ScenarioError, load_scenario
from optimizer.inputs.schemas import TABLES
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import SolveError, solve
from optimizer.verify import verify_plan
from tests.tiny import CHIP, COOLING, GRID, REGION, SITE, TOKENS_PER_RACK_YR, write_tiny


def reproducible(examples: int) -> settings:
    """The same examples on every run; a solve may take seconds, so no per-example deadline.

    The explain phase is left out: it re-runs a failing case dozens of times (a minute per test) to
    list the lines only failing cases ran, which the traceback already shows.
    """
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[phase for phase in Phase if phase is not Phase.explain],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def scenario_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def assert_names_a_file(message: str, folder: Path) -> None:
    assert any(name in message for name in scenario_files(folder)), f"no scenario file named in: {message}"


# --------------------------------------------------------------------------------------------
# a) random small scenarios, solved in-process

US_LAT = st.floats(25.0, 49.0)
US_LON = st.floats(-124.0, -67.0)
#: sites keep the tiny site's state (TX), so they are drawn inside it (the loader checks that)
TX_LAT = st.floats(30.0, 33.5)
TX_LON = st.floats(-101.0, -96.0)
SOLAR = {
    **GRID,
    "tech_id": "solar",
    "name": "Solar",
    "kind": "solar",
    "capex_usd_per_kw": 1000.0,
    "life_yr": 30.0,
    "lead_time_yr": 1.0,
    "land_acres_per_mw": 5.0,
}
#: solar output by hour of the day before scaling by the peak: a sine from 06:00 to 18:00
SOLAR_SHAPE = np.clip(np.sin(np.pi * (np.arange(24) - 6) / 12), 0.0, None)


@st.composite
def sites(draw, number: int) -> dict:
    return {
        **SITE,
        "site_id": f"s{number}",
        "name": f"Site {number}",
        "lat": draw(TX_LAT),
        "lon": draw(TX_LON),
        "land_acres": draw(st.floats(1.0, 2000.0)),
        "grid_capacity_mw": draw(st.floats(0.0, 500.0)),
        "grid_price_usd_per_mwh": draw(st.floats(20.0, 150.0)),
    }


@st.composite
def chips(draw, number: int) -> dict:
    # 72 chips at 1000 tokens/s each keep a rack worth TOKENS_PER_RACK_YR, the unit demand is drawn in
    supply = draw(st.none() | st.integers(0, 30_000).map(float))
    return {
        **CHIP,
        "chip_id": f"c{number}",
        "name": f"Chip {number}",
        "rack_power_kw": draw(st.floats(20.0, 150.0)),
        "price_usd_per_chip": draw(st.floats(5_000.0, 60_000.0)),
        "supply_limit_chips": supply,
    }


@st.composite
def coolings(draw, number: int) -> dict:
    return {
        **COOLING,
        "cooling_id": f"k{number}",
        "name": f"Cooling {number}",
        "max_rack_kw": draw(st.floats(30.0, 200.0)),
    }


@st.composite
def constraints(draw) -> dict:
    """Any subset of the limits that can make a scenario infeasible."""
    drawn = {
        "carbon_cap_t_per_yr": draw(st.none() | st.floats(0.0, 2e5)),
        "capex_budget_usd": draw(st.none() | st.floats(0.0, 3e9)),
        "online_by_year": draw(st.none() | st.integers(2026, 2030)),
        "cfe_share": draw(st.none() | st.floats(0.0, 1.0)),
    }
    return {key: value for key, value in drawn.items() if value is not None}


@st.composite
def small_scenarios(draw) -> dict:
    """Keyword arguments of ``write_tiny``: 1-3 sites, 1-2 chips, coolings and regions, random limits."""
    chip_rows = [draw(chips(i)) for i in range(draw(st.integers(1, 2)))]
    region_rows = [
        {**REGION, "region_id": f"r{i}", "name": f"Region {i}", "lat": draw(US_LAT), "lon": draw(US_LON)}
        for i in range(draw(st.integers(1, 2)))
    ]
    kwargs = {
        "sites": [draw(sites(i)) for i in range(draw(st.integers(1, 3)))],
        "chips": chip_rows,
        "throughput": [
            {"chip_id": c["chip_id"], "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"}
            for c in chip_rows
        ],
        "cooling": [draw(coolings(i)) for i in range(draw(st.integers(1, 2)))],
        "regions": region_rows,
        "demand": [
            {
                "region_id": r["region_id"],
                "workload_id": "chat",
                "tokens_per_yr": draw(st.floats(0.0, 300.0)) * TOKENS_PER_RACK_YR,
            }
            for r in region_rows
        ],
        "options": {"solver": {"time_limit_s": 20}, "constraints": draw(constraints())},
    }
    if draw(st.booleans()):
        kwargs["techs"] = [GRID, SOLAR]
        kwargs["hourly"] = {"solar_cf": draw(st.floats(0.2, 1.0)) * SOLAR_SHAPE}
    return kwargs


def solve_in_process(path: Path, out: Path) -> Path | SolveError | ScenarioError:
    """The plan folder, or the error that stopped the pipeline before a plan."""
    try:
        scenario = load_scenario(path)
        fm = build_model(scenario)
        result = solve(fm, scenario.solver, scenario.objective)
    except (ScenarioError, SolveError) as error:
        return error
    return build_plan(fm, result).write(out, scenario)


def assert_plan_keeps_its_books(plan: Path, inputs: Path) -> None:
    """Verified, every demand delivered, and $/Mtok = the cost lines / the delivered tokens."""
    verification = verify_plan(plan)
    assert verification.ok, verification.messages
    demand = pd.read_csv(inputs / "demand.csv").set_index(["region_id", "workload_id"])["tokens_per_yr"]
    deliveries = pd.read_csv(plan / "deliveries.csv")
    delivered = deliveries.groupby(["region_id", "workload_id"])["tokens_per_yr"].sum()
    delivered = delivered.reindex(demand.index, fill_value=0.0).astype(float)  # no delivery: an untyped column
    np.testing.assert_allclose(delivered.to_numpy(), demand.to_numpy(), rtol=1e-6, atol=1e-6)
    total_tokens = deliveries["tokens_per_yr"].sum()
    if total_tokens > 0:  # with no demand, cost per token is undefined
        total_cost = pd.read_csv(plan / "costs.csv")["usd_per_yr"].sum()
        summary = pd.read_csv(plan / "summary.csv").iloc[0]
        assert total_cost / (total_tokens / 1e6) == pytest.approx(summary["usd_per_mtok"], rel=1e-6)


def assert_infeasibility_explained(error: SolveError, path: Path) -> None:
    assert error.infeasible, f"a solve without a plan that is not infeasible: {error}"
    diagnosis = diagnose(load_scenario(path))
    assert not diagnosis.feasible, "the solver found no plan but diagnose finds one"
    assert diagnosis.findings or diagnosis.notes, "an infeasible scenario without a reason"


def plan_explain_or_reject(tmp_path: Path, scenario: dict) -> None:
    """A random small scenario gets a plan that keeps its books, a proof it has none with a reason,
    or an input error naming its file."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        inputs = Path(work) / "in"
        path = write_tiny(inputs, **scenario)
        outcome = solve_in_process(path, Path(work) / "plan")
        # events: --hypothesis-show-statistics shows how often each outcome was reached
        if isinstance(outcome, Path):
            event("plan")
            assert_plan_keeps_its_books(outcome, inputs)
        elif isinstance(outcome, SolveError):
            event("no plan")
            assert_infeasibility_explained(outcome, path)
        else:
            event("input error")
            assert_names_a_file(str(outcome), inputs)


#: examples of the default lane (a solve each); the slow lane runs many more
DEFAULT_LANE_EXAMPLES, SLOW_LANE_EXAMPLES = 10, 60


@reproducible(DEFAULT_LANE_EXAMPLES)
@given(scenario=small_scenarios())
def test_random_small_scenario_plans_explains_or_rejects(tmp_path, scenario):
    plan_explain_or_reject(tmp_path, scenario)


@pytest.mark.slow
@reproducible(SLOW_LANE_EXAMPLES)
@given(scenario=small_scenarios())
def test_many_random_small_scenarios_plan_explain_or_reject(tmp_path, scenario):
    plan_explain_or_reject(tmp_path, scenario)


# --------------------------------------------------------------------------------------------
# CLI helpers (b, c)


def cli_solve(path: Path, out: Path):
    result = CliRunner().invoke(app, ["solve", str(path), "--out", str(out)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught error: its own traceback says where it came from
    return result


def assert_one_input_error_line(result, folder: Path) -> str:
    """Each problem on its own "input error:" line naming its file; the first line is returned."""
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("input error:") for line in lines), result.stderr
    for line in lines:
        assert_names_a_file(line, folder)
    return lines[0]


def assert_clean_exit(result, work: Path, out: Path) -> None:
    """Exit 0 with a verified plan, 2 (input error) or 3 with "no plan"; never a traceback, and
    without a plan no output folder (nor a staging folder) is left behind."""
    assert result.exit_code in (0, 2, 3), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        verification = verify_plan(out)
        assert verification.ok, verification.messages
        return
    assert sorted(p.name for p in work.iterdir()) == ["in"], "output left behind without a plan"
    if result.exit_code == 3:
        assert "no plan" in result.stderr


# --------------------------------------------------------------------------------------------
# b) malformed tables


def read_table(path: Path) -> pd.DataFrame:
    return gpd.read_file(path) if path.suffix == ".geojson" else pd.read_csv(path)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".geojson":
        gpd.GeoDataFrame(frame).to_file(path, driver="GeoJSON")
    else:
        frame.to_csv(path, index=False)


TABLE_FILES = {table: file for table, (_, _, file) in TABLES.items()}
#: small tables: reading and rewriting hourly.csv.gz would cost a second an example
EDITABLE = [table for table in TABLES if table != "hourly"]
CSV_TABLES = [table for table in EDITABLE if TABLE_FILES[table].endswith(".csv")]
FOREIGN_KEYS = [
    ("demand", "region_id"),
    ("demand", "workload_id"),
    ("chip_throughput", "chip_id"),
    ("chip_throughput", "workload_id"),
    ("demand_growth", "workload_id"),
    ("chip_years", "chip_id"),
]
ID = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
#: text, negative, blank, huge and zero (a boundary the schema may let through)
BAD_NUMBERS = st.sampled_from(["lots", "1,5", float("nan"), 1e12, 0.0]) | st.floats(-1e6, -1e-3)


def numeric_columns(table: str, frame: pd.DataFrame) -> list[str]:
    schema = TABLES[table][0]
    return [
        name
        for name, column in schema.columns.items()
        if name in frame.columns and any(kind in str(column.dtype) for kind in ("float", "int"))
    ]


def replace_cell(folder: Path, data) -> None:
    table = data.draw(st.sampled_from(EDITABLE), label="table")
    path = folder / TABLE_FILES[table]
    frame = read_table(path)
    if table == "facility":  # one value per row: the parameter decides what the number means
        column = "value"
    else:
        column = data.draw(st.sampled_from(numeric_columns(table, frame)), label="column")
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = data.draw(BAD_NUMBERS, label="value")
    write_table(frame, path)


def drop_column(folder: Path, data) -> None:
    table = data.draw(st.sampled_from(EDITABLE), label="table")
    path = folder / TABLE_FILES[table]
    frame = read_table(path)
    required = [name for name, column in TABLES[table][0].columns.items() if column.required and name in frame.columns]
    write_table(frame.drop(columns=data.draw(st.sampled_from(required), label="column")), path)


def duplicate_row(folder: Path, data) -> None:
    table = data.draw(st.sampled_from(EDITABLE), label="table")
    path = folder / TABLE_FILES[table]
    frame = read_table(path)
    row = data.draw(st.integers(0, len(frame) - 1), label="row")
    write_table(pd.concat([frame, frame.iloc[[row]]], ignore_index=True), path)


def unknown_foreign_id(folder: Path, data) -> None:
    table, column = data.draw(st.sampled_from(FOREIGN_KEYS), label="foreign key")
    path = folder / TABLE_FILES[table]
    frame = read_table(path)
    value = data.draw(ID.filter(lambda v: v not in set(frame[column])), label="id")
    frame.loc[data.draw(st.integers(0, len(frame) - 1), label="row"), column] = value
    write_table(frame, path)


def empty_csv(folder: Path, data) -> None:
    path = folder / TABLE_FILES[data.draw(st.sampled_from(CSV_TABLES), label="table")]
    header_only = data.draw(st.booleans(), label="keep the header")
    path.write_text(path.read_text().splitlines(keepends=True)[0] if header_only else "")


CORRUPTIONS = [replace_cell, drop_column, duplicate_row, unknown_foreign_id, empty_csv]


@pytest.fixture(scope="module")
def valid_tiny(tmp_path_factory) -> Path:
    """A valid scenario whose region is 110 km from its site, so latency depends on the inputs."""
    folder = tmp_path_factory.mktemp("valid") / "in"
    write_tiny(
        folder,
        regions=[{**REGION, "lat": 33.0}],
        options={"solver": {"time_limit_s": 20}},
        # the build-out's tables by year are read (and so checked) by every scenario
        demand_growth=[{"workload_id": "chat", "year": 2030, "demand_index": 1.0}],
        chip_years=[{"chip_id": "x", "year": 2030, "price_index": 1.0, "throughput_index": 1.0}],
    )
    return folder


@contextlib.contextmanager
def scratch_copy(valid: Path, tmp_path: Path):
    """(work folder, a fresh copy of the valid scenario in work/in) for one example."""
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        folder = Path(work) / "in"
        shutil.copytree(valid, folder)
        yield work, folder


@reproducible(25)
@given(data=st.data())
def test_malformed_table_is_rejected_or_planned_through_the_cli(valid_tiny, tmp_path, data):
    with scratch_copy(valid_tiny, tmp_path) as (work, folder):
        corruption = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
        corruption(folder, data)
        out = Path(work) / "plan"
        result = cli_solve(folder / "scenario.yaml", out)
        assert_clean_exit(result, Path(work), out)
        if result.exit_code == 2:
            line = assert_one_input_error_line(result, folder)
            if corruption is not empty_csv:  # an empty table has no row or column to blame: its file is the place
                assert any(word in line for word in ("row", "column", "missing")), line


# --------------------------------------------------------------------------------------------
# c) malformed scenario YAML

#: a scenario that uses every option section, so each has keys to misspell
DOCUMENT_OPTIONS = {
    "solver": {"time_limit_s": 20, "mip_gap": 1e-6},
    "time": {"representative_days": 1, "extreme_days": None},
    "constraints": {"carbon_cap_t_per_yr": 1e9, "cfe_share": 0.0},
    "finance": {"wacc": 0.08},
    "objective": {"mode": "serve_demand"},
}
NUMERIC_OPTIONS = [
    (section, key)
    for section, values in DOCUMENT_OPTIONS.items()
    for key, value in values.items()
    if isinstance(value, (int, float))
]
MAPPING_KEYS = [*OPTION_SECTIONS, "tables", "overrides", "hourly_files"]
PATH_KEYS = ["data", "extends"]
#: each makes a line unparseable wherever it goes
SYNTAX_BREAKS = ["{", "[", '"', "\t", "key: value: "]


def misspell(word: str, data) -> str:
    position = data.draw(st.integers(0, len(word) - 2), label="position")
    edit = data.draw(st.sampled_from(["drop", "duplicate", "swap"]), label="edit")
    head, tail = word[:position], word[position:]
    if edit == "drop":
        return head + tail[1:]
    if edit == "duplicate":
        return head + tail[0] + tail
    return head + tail[1] + tail[0] + tail[2:]


def misspelt_key(document: dict, data) -> tuple[str, list[str]]:
    """Misspell a top-level or a section key; the message must suggest the intended one."""
    sections = [key for key, value in document.items() if isinstance(value, dict)]
    section = data.draw(st.none() | st.sampled_from(sections), label="section")
    if section is None:
        mapping, valid = document, TOP_LEVEL_KEYS
    else:
        mapping, valid = document[section], {f.name for f in dataclasses.fields(OPTION_SECTIONS[section])}
    key = data.draw(st.sampled_from(sorted(mapping)), label="key")
    typo = misspell(key, data)
    assume(typo not in valid and typo not in TOP_LEVEL_KEYS)  # a swap of equal letters is no typo
    mapping[typo] = mapping.pop(key)
    # a section key is reported with its section ('solver.time_limt_s')
    return yaml.safe_dump(document), [f"{typo}'", f"Did you mean '{key}'?"]


def text_for_number(document: dict, data) -> tuple[str, list[str]]:
    section, key = data.draw(st.sampled_from(NUMERIC_OPTIONS), label="option")
    document[section][key] = data.draw(st.text("abcxyz ", min_size=1, max_size=8), label="text")
    return yaml.safe_dump(document), [f"{section}.{key}"]


def list_for_mapping(document: dict, data) -> tuple[str, list[str]]:
    key = data.draw(st.sampled_from(MAPPING_KEYS), label="key")
    document[key] = data.draw(st.lists(st.integers(0, 9) | ID, min_size=1, max_size=3), label="list")
    return yaml.safe_dump(document), [key]


def number_for_path(document: dict, data) -> tuple[str, list[str]]:
    key = data.draw(st.sampled_from(PATH_KEYS), label="key")
    document[key] = data.draw(st.integers(0, 99), label="number")
    return yaml.safe_dump(document), [key]


def broken_syntax(document: dict, data) -> tuple[str, list[str]]:
    lines = yaml.safe_dump(document).splitlines()
    row = data.draw(st.integers(0, len(lines) - 1), label="line")
    lines[row] = data.draw(st.sampled_from(SYNTAX_BREAKS), label="break") + lines[row]
    text = "\n".join(lines) + "\n"
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return text, ["not valid YAML"]
    assume(False)  # the break happened to leave valid YAML: another mutation covers that


YAML_MUTATIONS = [misspelt_key, text_for_number, list_for_mapping, number_for_path, broken_syntax]


@reproducible(15)
@given(data=st.data())
def test_malformed_yaml_is_one_input_error_naming_the_scenario(valid_tiny, tmp_path, data):
    with scratch_copy(valid_tiny, tmp_path) as (work, folder):
        path = folder / "scenario.yaml"
        document = {**yaml.safe_load(path.read_text()), **copy.deepcopy(DOCUMENT_OPTIONS)}
        text, expected = data.draw(st.sampled_from(YAML_MUTATIONS), label="mutation")(document, data)
        path.write_text(text)
        out = Path(work) / "plan"
        result = cli_solve(path, out)
        assert result.exit_code == 2, result.output
        assert_clean_exit(result, Path(work), out)
        line = assert_one_input_error_line(result, folder)
        assert "scenario.yaml" in line
        for part in expected:
            assert part in line, f"{part!r} missing from: {line}"
