"""Golden LP files: every constraint family of the formulation, written on tiny cases, compared as text.

In the manner of Calliope's ``tests/math/lp_files``: each constraint component (a *family*, by its
full name, e.g. ``bridge.soc_across_days``) and each objective of each case is written alone to
``tests/lp_files/CASE__FAMILY.lp``, so a change to the formulation shows as a diff of the rows it
touches. Nothing is solved. When a change is intended, regenerate the files and commit the diff:

    python -m tests.test_lp_files --regenerate        (or AIFACTORY_REGENERATE_LP=1 pytest tests/test_lp_files.py)

Numbers are written to 12 significant digits, so the files do not depend on the last bits of
floating-point arithmetic (``0.09999999999999998`` becomes ``0.1``) and read easily.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from optimizer.inputs.scenario import load_scenario

# The one place this file names the scenario loader and the model builder: update here if they move.
from optimizer.model import build_model
from optimizer.model.buildout import build_buildout
from tests.tiny import CHIP, COOLING, GRID, SITE, write_tiny

LP_DIR = Path(__file__).parent / "lp_files"
REGENERATE_ENV = "AIFACTORY_REGENERATE_LP"
REGENERATE_HINT = f"python -m tests.test_lp_files --regenerate (or {REGENERATE_ENV}=1 pytest tests/test_lp_files.py)"
SEPARATOR = "__"
DIFF_LINES = 60
#: the constant objective written with each constraint family (an LP file needs one objective)
NO_OBJECTIVE = "no_objective"

# --------------------------------------------------------------------------------------------
# cases: together they build every constraint family with at least one row

#: a gas engine in 5 MW units (integer ``units``), carbon-emitting
ENGINE = {
    **GRID,
    "tech_id": "engine",
    "name": "Gas engine",
    "kind": "thermal",
    "unit_size_mw": 5.0,
    "capex_usd_per_kw": 1000.0,
    "vom_usd_per_mwh": 30.0,
    "heat_rate_btu_per_kwh": 9000.0,
    "fuel": "gas",
    "co2_kg_per_mmbtu": 53.06,
    "life_yr": 25.0,
    "lead_time_yr": 1.0,
    "land_acres_per_mw": 0.1,
}
SOLAR = {
    **GRID,
    "tech_id": "solar",
    "name": "Solar",
    "kind": "solar",
    "capex_usd_per_kw": 600.0,
    "fom_usd_per_kw_yr": 10.0,
    "life_yr": 30.0,
    "lead_time_yr": 1.0,
    "land_acres_per_mw": 5.0,
}
#: a day of sun: zero at night, a half sine from 06:00 to 18:00
SUN = np.clip(np.sin((np.arange(24) - 6) / 12 * np.pi), 0.0, None).round(3)
#: a second cooling that uses water in the hot hours (so the water limit has a coefficient)
EVAPORATIVE = {
    **COOLING,
    "cooling_id": "evaporative",
    "name": "Evaporative",
    "max_rack_kw": 120.0,
    "power_overhead": 0.2,
    "free_cooling_max_drybulb_c": 18.0,
    "evaporative_max_wetbulb_c": 24.0,
    "evaporative_l_per_kwh": 1.5,
    "capex_usd_per_kw_it": 600.0,
}

CASES = {
    # the default tiny scenario: one site, grid and battery, one chip, serve all demand
    "base": {},
    # the grid arrives in 2029, the plant must be online by 2027: bridge power (the ``bridge`` block)
    # on a gas engine in units, solar with an hourly profile and the battery; 24/7 carbon-free share;
    # demand left unserved at a price
    "late_grid": {
        "sites": [{**SITE, "grid_online_year": 2029}],
        "techs": [GRID, ENGINE, SOLAR],
        "hourly": {"solar_cf": SUN},
        "options": {
            "constraints": {"online_by_year": 2027, "cfe_share": 0.5},
            "objective": {"unserved_usd_per_mtok": 5.0},
        },
    },
    # limits: water, chip supply, carbon cap and price, capital budget; cost per token objective
    "limits": {
        "sites": [{**SITE, "water_limit_ml_per_yr": 100.0}],
        "chips": [{**CHIP, "supply_limit_chips": 72 * 200.0}],
        "cooling": [COOLING, EVAPORATIVE],
        "temps": (10.0, 30.0),
        "options": {
            "objective": {"mode": "min_cost_per_token", "min_demand_share": 0.5},
            "constraints": {"carbon_cap_t_per_yr": 1e5, "carbon_price_usd_per_t": 50.0, "capex_budget_usd": 5e9},
        },
    },
    # a build-out of two planning years: vintages of every capital family, racks retired early and
    # resold, a chip supply limit on each year's purchases, demand left unserved at a price; only the
    # build-out's own families are written (each year's block is the one-year model the cases above
    # cover)
    "buildout": {
        "chips": [{**CHIP, "supply_limit_chips": 72 * 200.0}],
        "facility": {"hall_lead_time_yr": 0.0},
        "demand_growth": [
            {"workload_id": "chat", "year": 2027, "demand_index": 1.0},
            {"workload_id": "chat", "year": 2028, "demand_index": 2.0},
        ],
        "chip_years": [{"chip_id": "x", "year": 2028, "price_index": 0.8, "throughput_index": 1.25}],
        "options": {
            "buildout": {"planning_years": [2027, 2028], "end_year": 2030, "resale_share": 0.5},
            "objective": {"unserved_usd_per_mtok": 2.0},
        },
    },
}

# --------------------------------------------------------------------------------------------
# writing


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _normalise_token(token: str) -> str:
    if not _NUMBER.fullmatch(token):
        return token
    sign = token[0] if token[0] in "+-" else ""
    return sign + format(float(token.lstrip("+-")), ".12g")


def normalise(text: str) -> str:
    """The LP text with every number at 12 significant digits and no trailing blanks.

    Pyomo's LP header names only the model (``tiny``): no version, path or time to strip.
    """
    lines = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + " ".join(_normalise_token(token) for token in line.split()))
    return "\n".join(lines) + "\n"


def is_buildout(case: str) -> bool:
    return "buildout" in CASES[case].get("options", {})


def families(model: pyo.ConcreteModel, descend: bool = True) -> dict[str, pyo.Component]:
    """Active constraint components with at least one row, and active objectives, by full name
    (``descend``: also those of the model's blocks)."""
    found = {}
    for kind in (pyo.Constraint, pyo.Objective):
        for component in model.component_objects(kind, active=True, descend_into=descend):
            if component.name != NO_OBJECTIVE and len(component) > 0:
                found[component.name] = component
    return found


def file_name(case: str, family: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.]+", family) or SEPARATOR in family:
        raise ValueError(f"family '{family}' cannot be named safely in a file name")
    return f"{case}{SEPARATOR}{family}.lp"


def build_case(case: str, folder: Path) -> pyo.ConcreteModel:
    scenario = load_scenario(write_tiny(folder / case, **CASES[case]))
    return build_buildout(scenario).model if is_buildout(case) else build_model(scenario).model


def write_families(model: pyo.ConcreteModel, folder: Path, descend: bool = True) -> dict[str, str]:
    """Write each family of ``model`` alone; return family -> normalised LP text.

    Everything else is deactivated; a constraint family is written with a constant objective
    (Pyomo's LP writer needs one active objective once the model has objectives at all).
    """
    found = families(model, descend)
    # everything else is switched off while one family is written, the blocks' families included
    others = [c for kind in (pyo.Constraint, pyo.Objective) for c in model.component_objects(kind, active=True)]
    for component in others:
        component.deactivate()
    if model.component(NO_OBJECTIVE) is None:
        model.add_component(NO_OBJECTIVE, pyo.Objective(expr=0.0))
    no_objective = model.component(NO_OBJECTIVE)
    texts = {}
    try:
        for name, component in found.items():
            component.activate()
            if isinstance(component, pyo.Objective):
                no_objective.deactivate()
            try:
                path = folder / f"{name}.lp"
                model.write(str(path), io_options={"symbolic_solver_labels": True})
                texts[name] = normalise(path.read_text())
                path.unlink()
            finally:
                component.deactivate()
                no_objective.activate()
    finally:
        no_objective.deactivate()
        for component in others:
            component.activate()
    return texts


def case_texts(case: str, folder: Path) -> tuple[dict[str, str], set[str]]:
    """File name -> normalised LP text of every family of ``case``, and the full names of all its
    constraint components (empty ones included)."""
    model = build_case(case, folder)
    out = folder / f"{case}_lp"
    out.mkdir(parents=True, exist_ok=True)
    descend = not is_buildout(case)
    texts = {file_name(case, family): text for family, text in write_families(model, out, descend).items()}
    return texts, {c.name for c in model.component_objects(pyo.Constraint, descend_into=descend)}


def golden_files(case: str | None = None) -> list[str]:
    pattern = f"{case}{SEPARATOR}*.lp" if case else "*.lp"
    return sorted(path.name for path in LP_DIR.glob(pattern))


def regenerate(cases=None) -> list[str]:
    """Rewrite the golden files of ``cases`` (all by default), removing those no longer made."""
    LP_DIR.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases or CASES:
            texts, _ = case_texts(case, Path(tmp))
            for stale in set(golden_files(case)) - set(texts):
                (LP_DIR / stale).unlink()
            for name, text in texts.items():
                (LP_DIR / name).write_text(text, newline="\n")
            written += sorted(texts)
    return written


# --------------------------------------------------------------------------------------------
# tests


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict[str, str], set[str]]:
    """File name -> regenerated LP text over all cases, and the names of every constraint component
    any case builds (each case's model built once)."""
    if os.environ.get(REGENERATE_ENV):
        regenerate()
    folder = tmp_path_factory.mktemp("lp_files")
    texts, constraints = {}, set()
    for case in CASES:
        case_text, names = case_texts(case, folder)
        texts.update(case_text)
        constraints |= names
    return texts, constraints


@pytest.fixture(scope="module")
def texts(built) -> dict[str, str]:
    return built[0]


@pytest.mark.parametrize("name", golden_files())
def test_family_matches_its_golden_lp_file(texts, name):
    golden = (LP_DIR / name).read_text()
    if name not in texts:
        pytest.fail(
            f"{name}: the case no longer builds this family (or builds it empty); "
            f"if that is intended, regenerate with {REGENERATE_HINT}",
            pytrace=False,
        )
    if texts[name] != golden:
        diff = list(
            difflib.unified_diff(
                golden.splitlines(),
                texts[name].splitlines(),
                f"tests/lp_files/{name} (golden)",
                f"{name} (model now)",
                lineterm="",
            )
        )
        shown = diff[:DIFF_LINES] + (
            [f"... {len(diff) - DIFF_LINES} more diff lines"] if len(diff) > DIFF_LINES else []
        )
        pytest.fail(
            "\n".join(
                [
                    f"{name} differs from its golden LP file:",
                    *shown,
                    f"if the change is intended, regenerate with {REGENERATE_HINT}",
                ]
            ),
            pytrace=False,
        )


@pytest.mark.parametrize("case", list(CASES))
def test_every_family_of_each_case_has_a_golden_file(texts, case):
    made = {name for name in texts if name.startswith(case + SEPARATOR)}
    golden = set(golden_files(case))
    if made - golden:
        pytest.fail(
            f"families without a golden LP file: {sorted(made - golden)}; regenerate with {REGENERATE_HINT}",
            pytrace=False,
        )
    if golden - made:
        pytest.fail(
            f"golden LP files the model no longer makes: {sorted(golden - made)}; regenerate with {REGENERATE_HINT}",
            pytrace=False,
        )


def test_no_golden_file_belongs_to_an_unknown_case():
    unknown = [name for name in golden_files() if name.split(SEPARATOR)[0] not in CASES]
    assert not unknown, f"golden LP files of no case: {unknown}"


def declared_constraint_names() -> set[str]:
    """Local names of the constraints assigned in the model package's source (``x.name = pyo.Constraint(``).

    The shared balances (``balance_*``, added by name in a loop) are found in the built models instead.
    """
    package = Path(sys.modules[build_model.__module__].__file__).parent
    pattern = re.compile(r"\.(\w+)\s*=\s*pyo\.Constraint\(")
    return {name for path in package.rglob("*.py") for name in pattern.findall(path.read_text())}


def test_every_constraint_family_has_rows_in_some_case(built):
    """A family built empty in every case (or never built) would have no golden file: add a case."""
    texts, constraints = built
    covered = {name.removesuffix(".lp").split(SEPARATOR, 1)[1] for name in texts}
    if constraints - covered:
        pytest.fail(f"constraint families with no rows in any case: {sorted(constraints - covered)}", pytrace=False)
    local = {name.rsplit(".", 1)[-1] for name in covered}
    declared = declared_constraint_names()
    if not declared:
        pytest.fail("found no constraint declarations in the model package: update declared_constraint_names")
    if declared - local:
        pytest.fail(
            f"constraints declared in the model but built in no case: {sorted(declared - local)}", pytrace=False
        )


def main(argv: list[str]) -> int:
    if argv != ["--regenerate"]:
        print(f"usage: python -m tests.test_lp_files --regenerate   (rewrites {LP_DIR})")
        return 2
    written = regenerate()
    print(f"wrote {len(written)} LP files in {LP_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
