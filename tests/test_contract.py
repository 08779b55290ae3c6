"""The output contract (optimizer/contract/*.csv) against what the code really writes and checks.

One declaration of every plan table, column and cost item is read by the plan writer, the verifier and
the generated docs/PLAN_COLUMNS.md; these tests hold the declaration to a real written plan (a tiny
scenario that builds a grid connection, a gas engine that bridges a late grid, and prices carbon, so
every cost item and every dispatch pattern appears), to the model's cost terms and to the docs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from optimizer import contract
from optimizer.contract import COLUMNS, COST_ITEMS, FILES, KINDS, PLACEHOLDERS, ContractError, ordered_columns
from optimizer.contract.reference import COMMAND, markdown
from optimizer.inputs import profiles
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve
from tests.tiny import GRID, SITE, write_tiny

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "PLAN_COLUMNS.md"
#: a gas engine the late-grid site bridges on (as in test_model_analytic)
GAS_ENGINE = {
    **GRID,
    "tech_id": "engine",
    "name": "Gas engine",
    "kind": "thermal",
    "capex_usd_per_kw": 1000.0,
    "vom_usd_per_mwh": 30.0,
    "heat_rate_btu_per_kwh": 9000.0,
    "fuel": "gas",
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "lead_time_yr": 1.0,
}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A tiny scenario whose grid arrives in 2030, online by 2027 (bridge years on the engine), with a carbon price:
    the built model and its plan written to a folder."""
    root = tmp_path_factory.mktemp("contract")
    late = {**SITE, "grid_online_year": 2030}
    path = write_tiny(
        root / "inputs",
        sites=[late],
        techs=[GRID, GAS_ENGINE],
        options={"constraints": {"online_by_year": 2027, "carbon_price_usd_per_t": 10.0}},
    )
    scenario = load_scenario(path)
    fm = build_model(scenario)
    plan = build_plan(fm, solve(fm, scenario.solver, scenario.objective))
    return fm, plan.write(root / "plan", scenario)


def test_the_committed_reference_is_the_generated_one() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == markdown(), (
        f"docs/PLAN_COLUMNS.md is not what the output contract renders: run `{COMMAND}`"
    )


def _ids(fm) -> dict[str, list[str]]:
    tables = fm.scenario.tables
    return {"tech": list(tables["power_techs"].index), "storage": list(tables["storage_techs"].index)}


def test_every_column_of_a_written_plan_is_declared_and_every_declared_column_written(solved) -> None:
    fm, folder = solved
    ids = _ids(fm)
    assert sorted(str(p.relative_to(folder)) for p in folder.glob("*.csv")) == sorted(
        file for file in FILES if "/" not in file
    ), "the plan writes other tables than plan_files.csv declares"
    matched: set[tuple[str, str]] = set()
    for file in FILES:
        written = list(pd.read_csv(folder / file, nrows=0).columns)
        # in the declared order, nothing missing, nothing undeclared (patterns: the scenario's technologies)
        assert ordered_columns(file, written, ids) == written, f"{file}: not in the contract's order"
        for name in written:
            declared = [
                c for c in contract.columns(file) if c.name == name or (c.is_pattern and c.regex(ids).fullmatch(name))
            ]
            matched.update((c.file, c.name) for c in declared)
    unmatched = [(c.file, c.name) for c in COLUMNS if (c.file, c.name) not in matched]
    assert not unmatched, f"declared but not in the written plan: {unmatched}"


def test_the_writer_refuses_a_table_that_differs_from_the_contract(solved, tmp_path: Path) -> None:
    fm, folder = solved
    costs = pd.read_csv(folder / "costs.csv")
    expected = r"costs.csv: .*missing \['usd_per_mtok'\], not in the contract \['extra'\]"
    with pytest.raises(ContractError, match=expected):
        contract.conform("costs.csv", costs.drop(columns="usd_per_mtok").assign(extra=1.0))
    shuffled = costs[list(reversed(costs.columns))]
    assert list(contract.conform("costs.csv", shuffled).columns) == list(costs.columns)
    # a dispatch column of a technology the scenario does not have
    dispatch = pd.read_csv(folder / "dispatch.csv", nrows=1)
    ids = _ids(fm)
    contract.conform("dispatch.csv", dispatch, ids)
    with pytest.raises(ContractError, match="nuclear_mw"):
        contract.conform("dispatch.csv", dispatch.assign(nuclear_mw=0.0), ids)


def test_every_column_is_declared_in_full() -> None:
    from optimizer.verify import CHECKS

    checks = {check.name for check in CHECKS}
    for c in COLUMNS:
        where = f"{c.file} {c.name}"
        assert c.kind in KINDS, where
        assert c.unit.strip(), f"{where}: no unit"
        assert c.description.strip() and c.description.strip()[-1] in ".)", f"{where}: no description (one sentence)"
        assert set(c.checked_by) <= checks, f"{where}: checked_by names no check of the verifier: {c.checked_by}"
        assert c.checked_by or c.descriptive_reason, f"{where}: neither checked by a check nor descriptive (with why)"
        assert not (c.key and c.blank_when), f"{where}: a row key may not be blank"
        assert set(c.placeholders) <= set(PLACEHOLDERS), where
        assert not re.search(r"\s", c.name), where
    for item in COST_ITEMS:
        assert item.layer in contract.LAYERS and item.item.strip() and item.description.strip(), item


def test_cost_items_are_those_the_model_contributes(solved) -> None:
    fm, folder = solved
    contributed = {(term.layer, term.item) for term in fm.shared.costs}
    assert contributed == {(item.layer, item.item) for item in COST_ITEMS}
    written = pd.read_csv(folder / "costs.csv")
    assert set(zip(written["layer"], written["item"])) == contributed


def test_the_verifier_reads_the_contract() -> None:
    """The verifier's views are the contract's: tables, columns by kind, blanks, descriptive columns, row keys."""
    from optimizer.model.core import LAYERS as MODEL_LAYERS
    from optimizer.verify import contract as verify

    assert verify.PLAN_TABLES == contract.PLAN_TABLES and verify.DERIVED_TABLES == contract.SCENARIO_TABLES
    assert MODEL_LAYERS == contract.LAYERS == verify.LAYERS
    assert set(verify.PLAN_COLUMNS) == set(FILES)
    for file, kinds in verify.PLAN_COLUMNS.items():
        assert kinds == {c.name: c.kind for c in contract.columns(file) if not c.is_pattern}
    assert verify.STORAGE_FLOWS == ("charge_mw", "discharge_mw", "soc_within_day_mwh")
    assert verify.HOURLY_QUANTITIES == {
        "solar_cf": "CF",
        "wind_cf": "CF",
        "temp_c": "C",
        "wetbulb_c": "C",
        "grid_price_usd_per_mwh": "USD/MWh",
        "grid_co2_kg_per_mwh": "kg/MWh",
        "grid_cfe_share": "-",
    }
    assert tuple(verify.HOURLY_QUANTITIES) == profiles.HOURLY_QUANTITIES
    assert verify.ANNUAL_FALLBACK == profiles.ANNUAL_FALLBACK
    assert verify.SUMMARY_RMSE == ("solar_cf", "wind_cf", "temp_c")
    assert verify.FULL_YEAR_SITE_COLUMNS == (
        "representative_peak_pue",
        "full_year_peak_pue",
        "full_year_peak_facility_mw",
        "full_year_unserved_mwh_per_yr",
    )
    assert set(verify.FULL_YEAR_ITEMS) == {
        contract.GRID_ENERGY_ITEM,
        contract.FUEL_AND_VOM_ITEM,
        contract.CARBON_PRICE_ITEM,
    }
    assert verify.BLANK_IDS == {("sites.csv", "cooling_id")}
    for (file, name), reason in {**verify.BLANK_ALLOWED, **verify.DESCRIPTIVE_COLUMNS}.items():
        assert name in verify.PLAN_COLUMNS[file] and reason.strip(), (file, name)
    for name, key in verify.ROW_KEYS.items():
        assert set(key) <= set(verify.PLAN_COLUMNS[f"{name}.csv"]), name
