"""Fast re-solves give the same answer as rebuilding the changed scenario from scratch."""

from __future__ import annotations

import pytest
import yaml

from optimizer.analysis.resolve import WhatIf
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.milp import solve
from tests.tiny import write_tiny


def _rebuilt(path, tmp_path, name, **document):
    changed = tmp_path / f"{name}.yaml"
    changed.write_text(yaml.safe_dump({"extends": str(path), **document}))
    scenario = load_scenario(changed)
    fm = build_model(scenario)
    return build_plan(fm, solve(fm, scenario.solver, scenario.objective)).summary


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("resolve")
    path = write_tiny(root / "in")
    return path, WhatIf(load_scenario(path)), root


def test_resolve_matches_a_rebuild_for_prices_and_carbon(tiny):
    path, what_if, root = tiny
    base = what_if.solve()
    assert base.usd_per_mtok == pytest.approx(_rebuilt(path, root, "same")["usd_per_mtok"], rel=1e-9)

    dearer = what_if.solve(cost_scale={"grid energy": 2.0})
    expected = _rebuilt(path, root, "dearer", overrides={"sites": {"*": {"grid_price_usd_per_mwh": {"scale": 2.0}}}})
    assert dearer.usd_per_mtok == pytest.approx(expected["usd_per_mtok"], rel=1e-9)
    assert dearer.layer_usd_per_mtok["energy"] == pytest.approx(expected["energy_usd_per_mtok"], rel=1e-9)

    carbon = what_if.solve(carbon_price_usd_per_t=100.0)
    expected = _rebuilt(path, root, "carbon", constraints={"carbon_price_usd_per_t": 100.0})
    assert carbon.usd_per_mtok == pytest.approx(expected["usd_per_mtok"], rel=1e-9)
    assert carbon.emissions_t_per_yr == pytest.approx(expected["emissions_t_per_yr"], rel=1e-9)

    # back to the base case: the earlier changes leave nothing behind
    assert what_if.solve().usd_per_mtok == pytest.approx(base.usd_per_mtok, rel=1e-9)


def test_resolve_names_unknown_items_and_missing_caps(tiny):
    _, what_if, _ = tiny
    with pytest.raises(ValueError, match=r"unknown cost items.*grid energy"):
        what_if.solve(cost_scale={"grid enrgy": 2.0})
    with pytest.raises(ValueError, match="no carbon cap"):
        what_if.solve(carbon_cap_t_per_yr=1.0)


def test_resolve_moves_a_carbon_cap_like_a_rebuild(tmp_path):
    """Grid at 400 kg/MWh or a dearer carbon-free plant: halving the cap halves grid energy."""
    from tests.tiny import CLEAN_FIRM, GRID

    firm = CLEAN_FIRM
    uncapped_t = 11.0 * 8760 * 0.4
    path = write_tiny(tmp_path / "in", techs=[GRID, firm], options={"constraints": {"carbon_cap_t_per_yr": uncapped_t}})
    what_if = WhatIf(load_scenario(path))
    assert what_if.solve().emissions_t_per_yr == pytest.approx(uncapped_t, rel=1e-9)
    halved = what_if.solve(carbon_cap_t_per_yr=uncapped_t / 2)
    expected = _rebuilt(path, tmp_path, "halved", constraints={"carbon_cap_t_per_yr": uncapped_t / 2})
    assert halved.emissions_t_per_yr == pytest.approx(uncapped_t / 2, rel=1e-9)
    assert halved.usd_per_mtok == pytest.approx(expected["usd_per_mtok"], rel=1e-9)


def test_resolve_scales_demand_like_a_rebuild(tiny):
    """Half again as many tokens: more racks, the same answer as rebuilding with demand x1.5."""
    path, what_if, root = tiny
    base = what_if.solve()
    busier = what_if.solve(demand_scale={"chat": 1.5})
    expected = _rebuilt(path, root, "busier", overrides={"demand": {"*": {"tokens_per_yr": {"scale": 1.5}}}})
    assert busier.delivered_tokens_per_yr == pytest.approx(1.5 * base.delivered_tokens_per_yr, rel=1e-9)
    assert busier.delivered_tokens_per_yr == pytest.approx(expected["delivered_tokens_per_yr"], rel=1e-9)
    assert busier.usd_per_mtok == pytest.approx(expected["usd_per_mtok"], rel=1e-9)
    with pytest.raises(ValueError, match=r"unknown workloads.*'chat'"):
        what_if.solve(demand_scale={"chit": 2.0})
    # demand back as the scenario has it once the scale is not given
    assert what_if.solve().delivered_tokens_per_yr == pytest.approx(base.delivered_tokens_per_yr, rel=1e-9)
