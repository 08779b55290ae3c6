"""A plan whenever one exists: at its time limit a solve hands back the best plan it has (HiGHS's,
relax-and-fix's or the greedy's), feasible for the model (``build_plan`` re-verifies every plan,
see conftest.py) and marked with its gap against a proven bound; a solve without any plan says
whether time ran out or the scenario has no plan."""

from __future__ import annotations

import dataclasses
import inspect
import math
import pickle
import time
from functools import partial
from pathlib import Path

import highspy
import pytest

import optimizer.solver.milp as solve_module
from optimizer.analysis.resolve import WhatIf
from optimizer.constants import usd_per_mtok
from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.outputs.plan import build_plan
from optimizer.solver.greedy import evaluate_greedy, greedy_choice
from optimizer.solver.milp import SolveError, solve
from tests.tiny import TOKENS_PER_RACK_YR, write_tiny

BASE = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "base.yaml"
#: the README's quick line: --mip-gap 0.02 --time-limit 30
QUICK_GAP, QUICK_LIMIT_S = 0.02, 30.0
#: how far a solve may run past its limit: HiGHS looks at its clock between steps of its own
#: (measured up to 0.7 s past 30 s on a busy machine)
OVERRUN_S = 3.0
#: more racks than the tiny site's 1,000 acres (1 acre per MW of IT) and 1,000 MW of grid can hold
RACKS_BEYOND_THE_SITE = 11_000


def _with_solver(scenario, **options):
    return dataclasses.replace(scenario, solver=dataclasses.replace(scenario.solver, **options))


def _solved(scenario):
    fm = build_model(scenario)
    result = solve(fm, scenario.solver, scenario.objective)
    return fm, result


def _assert_gap_against_its_bound(result) -> None:
    """Finite, the bound no more than the cost, and the gap measured from it."""
    cost, bound = result.cost_musd_per_yr, result.cost_lower_bound_musd_per_yr
    assert math.isfinite(result.mip_gap) and math.isfinite(bound)
    assert 0 <= bound <= cost
    assert result.mip_gap == pytest.approx((cost - bound) / cost, rel=1e-9, abs=1e-12)


def _assert_ratio_gap_against_its_bound(result) -> None:
    """min_cost_per_token: the ratio's bound in [0, the plan's ratio], the gap measured from it."""
    ratio = usd_per_mtok(result.cost_musd_per_yr, result.delivered_ptok_per_yr)
    bound = result.lambda_lower_bound_usd_per_mtok
    assert result.cost_lower_bound_musd_per_yr is None  # the ratio is bounded, not the cost
    assert 0 <= bound <= ratio
    assert result.mip_gap == pytest.approx(1 - bound / ratio, rel=1e-9, abs=1e-12)


def _at_once(real, *args, **kwargs):
    """``real`` (a solve step with a ``deadline``) called with its deadline now."""
    call = inspect.signature(real).bind(*args, **kwargs)
    call.arguments["deadline"] = time.perf_counter()
    return real(*call.args, **call.kwargs)


def _without_time(monkeypatch, *steps: str) -> None:
    """The solve ``steps`` of optimizer.solver.milp get no time at all: HiGHS stops them at once, without a plan."""
    for name in steps:
        monkeypatch.setattr(solve_module, name, partial(_at_once, getattr(solve_module, name)))


@pytest.fixture
def highs_without_time(monkeypatch):
    """Relax-and-fix (its LP relaxation too) and the full MILP stop at once: no plan and no bound
    of HiGHS's own; the greedy plan's costing keeps its share of the time."""
    _without_time(monkeypatch, "_relax_and_fix", "_full_milp")


@pytest.fixture
def highs_without_a_plan(monkeypatch):
    """The LP relaxation solves (a bound), relax-and-fix's restricted MILPs and the full MILP stop at once."""
    _without_time(monkeypatch, "_restricted_plan", "_full_milp")


# slow lane: a second solve of the default scenario (~25 s); the default lane solves it once per session
# through the CLI (tests/conftest.py) and tests the time limit and fallbacks on tiny scenarios
@pytest.mark.slow
def test_readme_quick_line_returns_a_plan():
    """`aifactory solve data/scenarios/base.yaml --mip-gap 0.02 --time-limit 30` (the solve itself;
    the CLI adds loading and writing): a plan, in time, its gap measured from a proven bound."""
    scenario = _with_solver(load_scenario(BASE), mip_gap=QUICK_GAP, time_limit_s=QUICK_LIMIT_S)
    fm, result = _solved(scenario)
    assert result.solve_s <= QUICK_LIMIT_S + OVERRUN_S
    assert result.status in ("optimal", "time_limit_feasible")
    assert result.plan_source in ("highs", "relax_and_fix", "greedy")
    _assert_gap_against_its_bound(result)
    build_plan(fm, result)


# slow lane: builds the default scenario's model a second time (~12 s); the default lane meets the greedy
# fallback on tiny scenarios below
@pytest.mark.slow
def test_default_scenario_without_time_for_highs_gets_the_greedy_plan(highs_without_time):
    """The quick line on a machine too busy for the LP relaxation: the greedy plan, its gap measured
    from the bound the column bounds alone give (0: no LP bound either)."""
    scenario = _with_solver(load_scenario(BASE), mip_gap=QUICK_GAP, time_limit_s=QUICK_LIMIT_S)
    fm, result = _solved(scenario)
    assert result.solve_s <= QUICK_LIMIT_S + OVERRUN_S
    assert result.plan_source == "greedy" and result.status == "time_limit_feasible"
    _assert_gap_against_its_bound(result)
    build_plan(fm, result)


def test_without_a_plan_of_highs_the_greedy_plan_is_returned_with_its_gap_to_the_lp_bound(
    tmp_path, highs_without_a_plan
):
    scenario = load_scenario(write_tiny(tmp_path))
    fm, result = _solved(scenario)
    assert result.plan_source == "greedy"
    _assert_gap_against_its_bound(result)
    assert result.cost_lower_bound_musd_per_yr > 0  # the LP relaxation's
    # the greedy plan costs what the greedy's own costing says (a tiny plan's power is an LP)
    greedy = evaluate_greedy(scenario, greedy_choice(scenario))
    plan = build_plan(fm, result)
    assert plan.summary["usd_per_mtok"] == pytest.approx(greedy.usd_per_mtok, rel=1e-9)


def test_min_cost_per_token_at_its_deadline_returns_its_best_plan(tmp_path, highs_without_time):
    """Every Dinkelbach step out of time: the first step's greedy plan is the answer, with a ratio
    bound and a gap that agree."""
    scenario = load_scenario(write_tiny(tmp_path, options={"objective": {"mode": "min_cost_per_token"}}))
    fm, result = _solved(scenario)
    assert result.plan_source == "greedy" and result.status == "time_limit_feasible"
    _assert_ratio_gap_against_its_bound(result)
    build_plan(fm, result)


def test_min_cost_per_token_gap_is_the_distance_to_its_ratio_bound(tmp_path):
    scenario = load_scenario(write_tiny(tmp_path, options={"objective": {"mode": "min_cost_per_token"}}))
    fm, result = _solved(scenario)
    assert result.status == "optimal"
    _assert_ratio_gap_against_its_bound(result)
    build_plan(fm, result)


def test_infeasible_and_out_of_time_are_told_apart(tmp_path):
    too_much = [{"region_id": "r", "workload_id": "chat", "tokens_per_yr": RACKS_BEYOND_THE_SITE * TOKENS_PER_RACK_YR}]
    infeasible = load_scenario(write_tiny(tmp_path / "infeasible", demand=too_much))
    with pytest.raises(SolveError) as error:
        _solved(infeasible)
    assert error.value.infeasible and not error.value.timed_out

    no_time = _with_solver(load_scenario(write_tiny(tmp_path / "feasible")), time_limit_s=0.0)
    with pytest.raises(SolveError) as error:
        _solved(no_time)
    assert error.value.timed_out and not error.value.infeasible
    # a sweep worker hands the error back to its parent by pickle: the reason goes with it
    again = pickle.loads(pickle.dumps(error.value))
    assert (again.timed_out, again.infeasible, again.size) == (True, False, error.value.size)
    assert str(again) == str(error.value)


def test_a_solve_leaves_highs_options_and_integrality_as_it_found_them(tmp_path):
    """A re-solve's relax-and-fix relaxes integrality, holds columns, moves the gap and the time
    limit: all of it is back afterwards."""
    what_if = WhatIf(load_scenario(write_tiny(tmp_path)))
    h = what_if.session.highs
    options = ("mip_rel_gap", "mip_abs_gap", "time_limit", "objective_target")
    before = {name: h.getOptionValue(name)[1] for name in options}
    lp = h.getLp()
    columns = (list(lp.integrality_), list(lp.col_lower_), list(lp.col_upper_))
    assert what_if.solve().status == "optimal"
    assert {name: h.getOptionValue(name)[1] for name in options} == before
    lp = h.getLp()
    assert (list(lp.integrality_), list(lp.col_lower_), list(lp.col_upper_)) == columns
    assert highspy.HighsVarType.kInteger in columns[0]
