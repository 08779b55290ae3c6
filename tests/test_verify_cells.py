"""One-cell edits of a solved plan: every edit that changes what the plan says fails ``verify_plan``.

A small scenario is solved once (two candidate sites, one built on grid, solar, a unit-sized turbine
and a battery; two chips, two workloads, two regions; a carbon price). Then each cell of every table
in the plan folder (the plan's CSVs, ``sites.geojson`` and the time tables of the scenario copy) is
changed on its own, the folder written and verified:

- a number is scaled by EDIT_FACTOR, shifted by EDIT_SHIFT, made blank and made infinite (a blank
  number is filled in instead);
- an id or word is replaced by another valid one of its column and by a garbage string.

An edit that leaves the value within MATERIAL of what it was (a shift of one token in 1e14) does not
change what the plan says and is not counted. Every other edit must fail verification, except that
a column of ``DESCRIPTIVE_COLUMNS`` (timing, model size, the full-year figures of an LP dispatch)
need only keep its form: its blank, infinite or garbage edits must fail, its scaled, shifted or
replaced-by-another-valid-word ones may pass.

The default lane verifies a seeded sample of the edits; the slow lane all of them (tables with more
than LONG_TABLE_ROWS rows, the 365 calendar days, at LONG_TABLE_ROWS rows spread over the year:
their rows are checked alike). Both print the catch rate.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve
from optimizer.verify import DESCRIPTIVE_COLUMNS, LAYERS, PLAN_COLUMNS, STATUSES, verify_plan
from tests.tiny import BATTERY, CHIP, COOLING, GRID, REGION, SITE, TOKENS_PER_RACK_YR, WORKLOAD, write_tiny

EDIT_FACTOR = 1.5
EDIT_SHIFT = 1.0
GARBAGE = "zz-garbage"
#: a number that moves by less than this share of itself (or of 1, for small numbers) says the same
MATERIAL = 1e-4
#: edits the default lane verifies (about 0.2 s each on 2 shared cores), drawn with SEED; the slow
#: lane verifies every edit (test_every_cell_edit_is_rejected)
DEFAULT_SAMPLE = 60
SEED = 17
LONG_TABLE_ROWS = 24
#: the tables of the folder that are edited cell by cell (besides sites.geojson)
EDITED_CSVS = (
    "summary.csv",
    "sites.csv",
    "chips.csv",
    "allocation.csv",
    "power.csv",
    "dispatch.csv",
    "storage_days.csv",
    "deliveries.csv",
    "costs.csv",
    "aggregation_error.csv",
    "scenario/slices.csv",
    "scenario/profiles.csv",
    "scenario/days.csv",
    "scenario/aggregation_error.csv",
)
#: edits that give a column another amount or another valid word: a descriptive column may take them
DESCRIPTIVE_EDITS = ("scaled", "shifted", "other id")

SOLAR = {
    **GRID,
    "tech_id": "solar",
    "name": "Solar",
    "kind": "solar",
    "capex_usd_per_kw": 600.0,
    "fom_usd_per_kw_yr": 10.0,
    "life_yr": 30.0,
    "land_acres_per_mw": 5.0,
}
TURBINE = {
    **GRID,
    "tech_id": "turbine",
    "name": "Turbine",
    "kind": "thermal",
    "unit_size_mw": 2.0,
    "capex_usd_per_kw": 1000.0,
    "vom_usd_per_mwh": 3.0,
    "heat_rate_btu_per_kwh": 9000.0,
    "fuel": "gas",
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "lead_time_yr": 2.0,
    "land_acres_per_mw": 0.1,
}
#: a built site with a small grid and a water limit, and a candidate too dear to build
SITE_A = {**SITE, "grid_capacity_mw": 15.0, "water_limit_ml_per_yr": 500.0}
SITE_B = {
    **SITE,
    "site_id": "b",
    "name": "Site B",
    "state": "OK",
    "iso": "SPP",
    "lat": 35.5,
    "lon": -97.5,
    "land_price_usd_per_acre": 2e6,
    "water_limit_ml_per_yr": None,
}
CHIP_X = {**CHIP, "system_usd_per_chip": 5_000.0}
CHIP_Y = {
    **CHIP,
    "chip_id": "y",
    "name": "Chip Y",
    "chips_per_rack": 36,
    "rack_power_kw": 60.0,
    "price_usd_per_chip": 20_000.0,
    "system_usd_per_chip": 2_000.0,
    "fom_pct_per_yr": 2.0,
}
EVAPORATIVE = {
    **COOLING,
    "cooling_id": "evap",
    "name": "Evaporative",
    "free_cooling_max_drybulb_c": 15.0,
    "evaporative_max_wetbulb_c": 25.0,
    "evaporative_l_per_kwh": 1.5,
    "evaporative_kw_per_kw_it": 0.02,
    "chiller_l_per_kwh": 0.3,
    "transition_band_c": 3.0,
    "capex_usd_per_kw_it": 700.0,
}
BATCH = {
    **WORKLOAD,
    "workload_id": "batch",
    "name": "Batch",
    "interactive": False,
    "latency_budget_ms": 1000.0,
    "utilisation": 0.8,
}
REGION_2 = {**REGION, "region_id": "r2", "name": "Region 2", "lat": 30.3, "lon": -97.7}
THROUGHPUT = [
    {"chip_id": "x", "workload_id": "chat", "tokens_per_s_per_chip": 1000.0, "basis": "S"},
    {"chip_id": "x", "workload_id": "batch", "tokens_per_s_per_chip": 1500.0, "basis": "D"},
    {"chip_id": "y", "workload_id": "batch", "tokens_per_s_per_chip": 1400.0, "basis": "D"},
]
DEMAND = [
    {"region_id": "r", "workload_id": "chat", "tokens_per_yr": 60.3 * TOKENS_PER_RACK_YR},
    {"region_id": "r2", "workload_id": "batch", "tokens_per_yr": 50.0 * TOKENS_PER_RACK_YR},
]
HOURS = np.arange(24)
#: sun by day; dear grid power in the evening, which the battery shifts
SOLAR_CF = np.clip(np.sin((HOURS - 6) / 12 * np.pi), 0.0, None) * 0.8
EVENING_PRICE = np.where((HOURS >= 17) & (HOURS <= 21), 600.0, 30.0)


def write_small_plan(root: Path) -> Path:
    """Solve the small scenario (well under a second) and write its plan to ``root/plan``."""
    path = write_tiny(
        root / "inputs",
        sites=[SITE_A, SITE_B],
        techs=[GRID, SOLAR, TURBINE],
        storage=[BATTERY],
        chips=[CHIP_X, CHIP_Y],
        throughput=THROUGHPUT,
        cooling=[COOLING, EVAPORATIVE],
        workloads=[WORKLOAD, BATCH],
        regions=[REGION, REGION_2],
        demand=DEMAND,
        temps=(12.0, 30.0),
        hourly={"solar_cf": SOLAR_CF, "grid_price_usd_per_mwh": EVENING_PRICE},
        options={"constraints": {"carbon_price_usd_per_t": 20.0}},
    )
    scenario = load_scenario(path)
    fm = build_model(scenario)
    return build_plan(fm, solve(fm, scenario.solver, scenario.objective)).write(root / "plan", scenario)


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> Path:
    """The small scenario's plan, which verifies and builds what the edits are to meet."""
    folder = write_small_plan(tmp_path_factory.mktemp("cells"))
    verification = verify_plan(folder)
    assert verification.ok, verification.messages
    tables = {name: _read_csv(folder / name) for name in ("power.csv", "sites.csv", "storage_days.csv")}
    kinds = {row["kind"] for row in tables["power.csv"]}
    assert {"grid", "solar", "thermal", "storage"} <= kinds, f"the plan no longer builds every kind of source: {kinds}"
    assert {row["built"] for row in tables["sites.csv"]} == {"0", "1"}, "one site built, one not"
    assert tables["storage_days.csv"], "the battery is no longer built"
    return folder


# ---- the edits


@dataclass(frozen=True)
class Edit:
    file: str
    #: row of a CSV (0: the first below the header) or feature of the GeoJSON
    row: int
    column: str
    kind: str
    value: str | float

    def __str__(self) -> str:
        return f"{self.file} row {self.row + 1} column {self.column}: {self.kind} -> {self.value!r}"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _material(old: float, new: float) -> bool:
    """Whether a number edit changes what the cell says (blanks and infinities always do, unless unchanged)."""
    if math.isnan(old) and math.isnan(new):
        return False
    if not (math.isfinite(old) and math.isfinite(new)):
        return True
    return abs(new - old) > MATERIAL * max(abs(old), 1.0)


def _number_edits(old: float) -> list[tuple[str, float]]:
    if math.isnan(old):
        return [("filled", 0.0), ("filled", EDIT_SHIFT)]
    edits = [("scaled", old * EDIT_FACTOR), ("shifted", old + EDIT_SHIFT), ("blank", math.nan), ("inf", math.inf)]
    return [(kind, new) for kind, new in edits if _material(old, new)]


def _word_edits(old: str, others: list[str]) -> list[tuple[str, str]]:
    valid = [("other id", other) for other in others if other != old][:1]
    return [*valid, ("garbage", GARBAGE)]


#: input tables of the scenario copy whose ids are valid values of the plan's id columns
ID_TABLES = (
    "scenario/power_techs.csv",
    "scenario/storage_techs.csv",
    "scenario/chips.csv",
    "scenario/cooling.csv",
    "scenario/workloads.csv",
    "scenario/regions.csv",
)


def _domains(folder: Path) -> dict[str, list[str]]:
    """Valid values of each id or word column: those the folder itself uses anywhere, and the known words."""
    values: dict[str, set[str]] = {}
    for name in (*EDITED_CSVS, *ID_TABLES):
        for row in _read_csv(folder / name):
            for column, value in row.items():
                values.setdefault(column, set()).add(value)
    values["tech_id"] = values["tech_id"] | values["storage_id"]
    values["regime"] = {"grid_years", "bridge_years"}
    values["layer"] = set(LAYERS)
    values["status"] = set(STATUSES)
    values["objective"] = {"serve_demand", "min_cost_per_token"}
    values["highs_status"] = {"kOptimal", "kTimeLimit"}
    values["plan_source"] = {"greedy", "relax_and_fix", "highs"}
    values["scenario"] = values["scenario"] | {"another_scenario"}
    return {column: sorted(v for v in found if v) for column, found in values.items()}


def _rows_edited(count: int) -> list[int]:
    """All rows of a short table; of a long one LONG_TABLE_ROWS spread from the first to the last."""
    if count <= LONG_TABLE_ROWS:
        return list(range(count))
    return sorted(set(np.linspace(0, count - 1, LONG_TABLE_ROWS).round().astype(int).tolist()))


def _csv_edits(folder: Path, name: str, domains: dict[str, list[str]]) -> list[Edit]:
    rows = _read_csv(folder / name)
    contract = PLAN_COLUMNS[name]
    edits = []
    for i in _rows_edited(len(rows)):
        for column, text in rows[i].items():
            old = _number(text) if text else math.nan
            if contract.get(column, "number") == "number" and old is not None:
                edits += [Edit(name, i, column, kind, new) for kind, new in _number_edits(old)]
            else:
                edits += [Edit(name, i, column, kind, new) for kind, new in _word_edits(text, domains.get(column, []))]
    return edits


def _geojson_edits(folder: Path, domains: dict[str, list[str]]) -> list[Edit]:
    document = json.loads((folder / "sites.geojson").read_text())
    edits = []
    for i, feature in enumerate(document["features"]):
        for column, value in [
            *feature["properties"].items(),
            *zip(("point lon", "point lat"), feature["geometry"]["coordinates"]),
        ]:
            if isinstance(value, (int, float)) or (value is None and PLAN_COLUMNS["sites.csv"].get(column) == "number"):
                old = math.nan if value is None else float(value)
                edits += [Edit("sites.geojson", i, column, kind, new) for kind, new in _number_edits(old)]
            else:
                edits += [
                    Edit("sites.geojson", i, column, kind, new)
                    for kind, new in _word_edits(value or "", domains.get(column, []))
                ]
    return edits


def all_edits(folder: Path) -> list[Edit]:
    domains = _domains(folder)
    edits = [edit for name in EDITED_CSVS for edit in _csv_edits(folder, name, domains)]
    return edits + _geojson_edits(folder, domains)


# ---- applying an edit and verifying


def _cell_text(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def _apply_csv(path: Path, edit: Edit) -> None:
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    rows[edit.row + 1][rows[0].index(edit.column)] = _cell_text(edit.value)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())


def _json_value(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _apply_geojson(path: Path, edit: Edit) -> None:
    document = json.loads(path.read_text())
    feature = document["features"][edit.row]
    if edit.column.startswith("point "):
        feature["geometry"]["coordinates"][("point lon", "point lat").index(edit.column)] = _json_value(edit.value)
    else:
        feature["properties"][edit.column] = _json_value(edit.value)
    path.write_text(json.dumps(document))


def rejected(folder: Path, edit: Edit) -> bool:
    """Apply one edit to the folder, verify it, put the file back: whether verification failed."""
    path = folder / edit.file
    original = path.read_bytes()
    try:
        (_apply_geojson if edit.file == "sites.geojson" else _apply_csv)(path, edit)
        return not verify_plan(folder).ok
    finally:
        path.write_bytes(original)


def _may_pass(edit: Edit) -> bool:
    """A descriptive column keeps only its form: another amount or word there is no new claim."""
    file = "sites.csv" if edit.file == "sites.geojson" else edit.file
    return (file, edit.column) in DESCRIPTIVE_COLUMNS and edit.kind in DESCRIPTIVE_EDITS


def _run(plan: Path, tmp_path: Path, edits: list[Edit]) -> tuple[int, list[Edit]]:
    """Verify every edit on a copy of the plan: how many had to fail, and those that passed."""
    folder = tmp_path / "plan"
    shutil.copytree(plan, folder)
    counted = [edit for edit in edits if not _may_pass(edit)]
    return len(counted), [edit for edit in counted if not rejected(folder, edit)]


def _report(counted: int, missed: list[Edit]) -> str:
    rate = 1.0 - len(missed) / counted if counted else 1.0
    return f"{counted - len(missed)} of {counted} one-cell edits caught ({rate:.2%}); missed: " + "; ".join(
        map(str, missed[:20])
    )


def test_sampled_cell_edits_are_all_rejected(plan: Path, tmp_path: Path) -> None:
    edits = all_edits(plan)
    sample = random.Random(SEED).sample(edits, min(DEFAULT_SAMPLE, len(edits)))
    counted, missed = _run(plan, tmp_path, sample)
    print(_report(counted, missed))
    assert not missed, _report(counted, missed)


@pytest.mark.slow
def test_every_cell_edit_is_rejected(plan: Path, tmp_path: Path) -> None:
    counted, missed = _run(plan, tmp_path, all_edits(plan))
    print(_report(counted, missed))
    assert not missed, _report(counted, missed)


#: the declared list of columns the verifier does not recompute may not grow unnoticed
MOST_DESCRIPTIVE_COLUMNS = 14


def test_descriptive_columns_are_few_and_each_has_a_reason() -> None:
    assert len(DESCRIPTIVE_COLUMNS) <= MOST_DESCRIPTIVE_COLUMNS
    for (file, column), reason in DESCRIPTIVE_COLUMNS.items():
        assert column in PLAN_COLUMNS[file], (file, column)
        assert reason.strip(), (file, column)
