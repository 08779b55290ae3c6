"""The declared families of the model (optimizer/model/families.csv) and the built models agree both ways.

Every variable, constraint, expression and objective the model builds is declared, with its kind, layer,
module, index, unit, meaning and input tables; every declared family is built by one of the tiny cases of
the golden LP files; every handle a layer returns names a declared family; and docs/MODEL.md is the
reference rendered from the declaration.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyomo.environ as pyo
import pytest

from optimizer.inputs.scenario import load_scenario
from optimizer.model import FactoryModel, build_model
from optimizer.model.applications import ApplicationsHandles
from optimizer.model.buildout import BuildoutCore, BuildoutModel, Vintages, build_buildout
from optimizer.model.chips import ChipsHandles
from optimizer.model.core import BALANCES, CoreHandles
from optimizer.model.energy import EnergyHandles
from optimizer.model.energy.storage import StorageOperation
from optimizer.model.families import (
    BRIDGE_BLOCK,
    COMMAND,
    FAMILIES,
    KINDS,
    LAYERS,
    NO_INPUTS,
    SOURCE,
    input_tables,
    markdown,
)
from optimizer.model.infrastructure import InfrastructureHandles
from optimizer.model.policy import PolicyHandles
from optimizer.model.workloads import WorkloadsHandles
from optimizer.solver.stats import family_tables
from tests.test_lp_files import CASES, is_buildout
from tests.tiny import write_tiny

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "MODEL.md"
#: the Pyomo component types of the model's families, and the kind families.csv gives each
COMPONENT_KINDS = {
    pyo.Var: "variable",
    pyo.Constraint: "constraint",
    pyo.Expression: "expression",
    pyo.Objective: "objective",
}
#: the handle dataclasses of a built model, each the FactoryModel attribute named after its layer
LAYER_HANDLES = {
    CoreHandles: "core",
    EnergyHandles: "energy",
    ChipsHandles: "chips",
    InfrastructureHandles: "infrastructure",
    WorkloadsHandles: "workloads",
    ApplicationsHandles: "applications",
    PolicyHandles: "policy",
}
#: handle dataclasses found inside those (the storage operation of the grid and the bridge years)
NESTED_HANDLES = (StorageOperation,)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, FactoryModel | BuildoutModel]:
    """The models of the golden LP files' cases (tests/test_lp_files.py), which together build every family."""
    folder = tmp_path_factory.mktemp("families")
    models: dict[str, FactoryModel | BuildoutModel] = {}
    for case, options in CASES.items():
        scenario = load_scenario(write_tiny(folder / case, **options))
        models[case] = build_buildout(scenario) if is_buildout(case) else build_model(scenario)
    return models


def components(built_model: FactoryModel | BuildoutModel) -> dict[str, str]:
    """Full name -> kind of every active variable, constraint, expression and objective of a model (of a
    build-out: its own, not those of its years' blocks, which are one-year models)."""
    descend = isinstance(built_model, FactoryModel)
    return {
        component.name: kind
        for component_type, kind in COMPONENT_KINDS.items()
        for component in built_model.model.component_objects(component_type, active=True, descend_into=descend)
    }


def test_reference_is_rendered_from_the_declaration():
    assert REFERENCE.read_text(encoding="utf-8") == markdown(), (
        f"docs/MODEL.md differs from {SOURCE} and the model's docstrings: regenerate it with {COMMAND}"
    )


def test_every_component_the_model_builds_is_declared(built):
    problems = []
    for case, fm in built.items():
        for name, kind in components(fm).items():
            if name not in FAMILIES:
                problems.append(f"case {case}: {kind} '{name}' is not declared in {SOURCE}")
            elif FAMILIES[name].kind != kind:
                problems.append(f"case {case}: '{name}' is a {kind}, declared a {FAMILIES[name].kind}")
    assert not problems, "\n".join(problems)


def test_every_declared_family_is_built_by_some_case(built):
    made = set().union(*(components(fm) for fm in built.values()))
    never = [name for name in FAMILIES if name not in made]
    assert not never, (
        f"declared in {SOURCE} but built by no case of tests/test_lp_files.py: {never} "
        "(remove the row, or add a case that builds it)"
    )


@pytest.mark.parametrize("name", list(FAMILIES))
def test_each_family_is_described_and_lives_in_its_module(name):
    family = FAMILIES[name]
    assert family.kind in KINDS and family.layer in LAYERS
    assert family.unit.strip() and family.meaning.strip() and family.index.strip()
    assert family.input_tables.strip()
    path = ROOT / family.module
    assert path.is_file(), f"{name}: module {family.module} does not exist"
    text = path.read_text(encoding="utf-8")
    if family.module == "optimizer/model/core.py" and name.startswith("balance_"):
        # the shared balances are built by name from BALANCES: balance_<name>
        balance = name.removeprefix("balance_")
        assert balance in BALANCES and f'"{balance}":' in text, f"{name}: no balance '{balance}' in core.BALANCES"
    else:
        assert family.local_name in text, f"{name}: {family.module} never names '{family.local_name}'"
    if name.startswith(BRIDGE_BLOCK):
        assert name.removeprefix(BRIDGE_BLOCK) in FAMILIES, f"{name}: its grid-year twin is not declared"


def _handles(handles) -> list[tuple[str, object]]:
    """(Class.field, value) of every field of a handle dataclass, nested handles (StorageOperation) opened."""
    out = []
    for field in dataclasses.fields(handles):
        value = getattr(handles, field.name)
        if isinstance(value, NESTED_HANDLES):
            out += _handles(value)
        else:
            out.append((f"{type(handles).__name__}.{field.name}", value))
    return out


def test_every_handle_names_a_declared_family(built):
    problems, named = [], 0
    for case, fm in built.items():
        if isinstance(fm, BuildoutModel):
            for handles in (fm.core, fm.vintages):
                assert isinstance(handles, (BuildoutCore, Vintages))
                for field, value in _handles(handles):
                    if isinstance(value, pyo.Component) and not isinstance(value, pyo.Set):
                        named += 1
                        if FAMILIES.get(value.name) is None or FAMILIES[value.name].layer != "buildout":
                            problems.append(f"case {case}: {field} is '{value.name}', not a buildout family")
            continue
        for handle_type, layer in LAYER_HANDLES.items():
            handles = getattr(fm, layer)
            assert isinstance(handles, handle_type)
            for field, value in _handles(handles):
                if not isinstance(value, pyo.Component) or isinstance(value, pyo.Set):
                    continue  # sets, plain data and handles a scenario leaves unset (None)
                named += 1
                if value.name not in FAMILIES:
                    problems.append(f"case {case}: {field} is '{value.name}', not declared in {SOURCE}")
                elif FAMILIES[value.name].layer != layer:
                    problems.append(
                        f"case {case}: {field} is '{value.name}', declared in layer "
                        f"{FAMILIES[value.name].layer}, not {layer}"
                    )
    assert named > 30
    assert not problems, "\n".join(problems)


def test_input_tables_of_bridge_and_unknown_families():
    assert input_tables("bridge.state_of_charge_within_day") == input_tables("state_of_charge_within_day")
    assert "round_trip_efficiency" in input_tables("bridge.state_of_charge_within_day")
    assert input_tables("charge_and_discharge_within_power") == NO_INPUTS
    assert family_tables("generation_within_available_capacity") == input_tables("generation_within_available_capacity")
    assert "hourly.csv.gz" in family_tables("bridge_within_capacity")
