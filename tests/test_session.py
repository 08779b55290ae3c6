"""The solver session, the one owner of HiGHS: options and integrality put back after a block,
columns found by their Pyomo variable, every run within its caller's time, statuses by name."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from optimizer.inputs.scenario import load_scenario
from optimizer.model import build_model
from optimizer.model.buildout import build_buildout
from optimizer.solver.session import (
    DONE,
    INFEASIBLE,
    INFEASIBLE_STATUSES,
    ITERATION_LIMIT,
    MAX_VALUE_SCALING,
    OBJECTIVE_TARGET,
    OPTIMAL,
    OUT_OF_TIME,
    TIME_LIMIT,
    SolverSession,
    status_name,
)
from tests.tiny import TOKENS_PER_RACK_YR, write_tiny

#: more racks than the tiny site's land and grid can hold
RACKS_BEYOND_THE_SITE = 11_000


def _session(tmp_path, **tiny):
    scenario = load_scenario(write_tiny(tmp_path, **tiny))
    fm = build_model(scenario)
    return fm, SolverSession.compile(fm, scenario.solver)


@pytest.fixture
def tiny(tmp_path):
    return _session(tmp_path)


def _integrality(session: SolverSession) -> list:
    return list(session.highs.getLp().integrality_)


def test_options_are_put_back_when_the_block_ends(tiny):
    _, session = tiny
    before = {name: session.option(name) for name in ("mip_rel_gap", "time_limit", "solver")}
    with session.options(mip_rel_gap=0.25, time_limit=7.0, solver="ipm"):
        assert session.option("mip_rel_gap") == 0.25
        assert session.option("time_limit") == 7.0
        assert session.option("solver") == "ipm"
    assert {name: session.option(name) for name in before} == before


def test_options_are_put_back_after_an_error_in_the_block(tiny):
    _, session = tiny
    gap = session.option("mip_rel_gap")
    with pytest.raises(RuntimeError, match="inside"):
        with session.options(mip_rel_gap=0.25):
            raise RuntimeError("inside the block")
    assert session.option("mip_rel_gap") == gap


def test_an_unknown_option_changes_nothing(tiny):
    _, session = tiny
    gap = session.option("mip_rel_gap")
    with pytest.raises(ValueError, match="no_such_option"):
        with session.options(mip_rel_gap=0.25, no_such_option=1):
            pass
    assert session.option("mip_rel_gap") == gap


def test_relaxed_view_drops_integrality_and_puts_it_back(tiny):
    _, session = tiny
    before = _integrality(session)
    assert highspy.HighsVarType.kInteger in before and session.is_mip
    with session.relaxed():
        assert highspy.HighsVarType.kInteger not in _integrality(session)
        assert not session.is_mip
        lp = session.run(60.0)
    assert _integrality(session) == before and session.is_mip
    mip = session.run(60.0)
    assert lp.status == mip.status == OPTIMAL
    assert lp.objective_value <= mip.objective_value + 1e-9  # the relaxation bounds the MIP


def test_relaxed_view_is_put_back_after_an_error(tiny):
    _, session = tiny
    before = _integrality(session)
    with pytest.raises(RuntimeError):
        with session.relaxed():
            raise RuntimeError("inside the block")
    assert _integrality(session) == before


def test_held_columns_get_their_bounds_back(tiny):
    fm, session = tiny
    lower, upper = session.column_bounds()
    build = session.column(fm.model.build["a"])
    with session.held(np.array([build]), np.array([0.0])):
        run = session.run(60.0)
    assert run.status in INFEASIBLE_STATUSES  # unbuilt, the site cannot serve the demand
    assert run.x is None
    after = session.highs.getLp()
    assert np.array_equal(after.col_lower_, lower) and np.array_equal(after.col_upper_, upper)
    assert session.run(60.0).status == OPTIMAL


def test_column_lookup_follows_the_compiled_variable_order(tiny):
    fm, session = tiny
    m = fm.model
    assert [session.column(var) for var in session.columns] == list(range(len(session.columns)))
    assert session.columns_of(m.build) == {"a": session.column(m.build["a"])}
    x = np.arange(len(session.columns), dtype=float)
    assert session.value(x, m.build["a"]) == session.column(m.build["a"])
    pairs = [(m.build["a"], 1.0)]
    assert session.vector(pairs)[session.column(m.build["a"])] == 1.0
    assert session.vector(pairs).sum() == 1.0


def test_a_plan_is_written_back_into_the_pyomo_variables(tiny):
    fm, session = tiny
    run = session.run(60.0)
    session.write_back(run.x)
    build = fm.model.build["a"]
    assert build.value == round(run.x[session.column(build)]) == 1
    cost = sum(coefficient * var.value for coefficient, var in zip(session.cost, session.columns))
    assert cost + session.cost_offset == pytest.approx(run.objective_value + session.cost_offset, rel=1e-9)


def test_a_run_has_no_more_time_than_its_caller_left(tiny):
    """HiGHS's time_limit for a run is the caller's time left (not a timing assertion: the limit
    HiGHS was given), and the option is put back afterwards."""
    _, session = tiny
    before = session.option("time_limit")
    # past its deadline a run stops at once, without a plan (of its own: a later run may keep one
    # an earlier run found)
    late = session.run(-1.0)
    assert late.time_limit == 0.0 and late.status in OUT_OF_TIME and late.x is None
    run = session.run(0.5)
    assert 0 < run.time_limit <= 0.5
    assert run.status in DONE + OUT_OF_TIME
    assert session.option("time_limit") == before


def test_an_lp_run_is_limited_on_the_instance_clock(tiny):
    """HiGHS measures an LP's limit on a clock that counts earlier runs (ERGO-Code/HiGHS#1477):
    the session adds that clock's reading, so the LP still has the time it was given."""
    _, session = tiny
    session.run(60.0)
    with session.relaxed():
        clock = session.highs.getRunTime()
        assert clock > 0
        run = session.run(0.5)
    assert clock < run.time_limit <= clock + 0.5 + 1e-9
    assert run.status == OPTIMAL


def test_a_stalled_dual_simplex_is_finished_by_primal_simplex(tiny, monkeypatch):
    """solve_lp stops a dual simplex past its iteration budget and solves the LP by primal simplex:
    with no budget at all (every dual simplex "stalls" at once) the LP is still solved, to the
    optimum dual simplex finds, and the options are put back."""
    import optimizer.solver.session as session_module

    _, session = tiny
    with session.relaxed():
        optimum = session.solve_lp(60.0)
        session.forget_start()
        with session.options(presolve="off", simplex_iteration_limit=0):
            assert session.run(60.0).status == ITERATION_LIMIT  # what a stalled dual simplex leaves
        monkeypatch.setattr(session_module, "STALLED_ITERATIONS_PER_ROW", 0)
        session.forget_start()
        before = {name: session.option(name) for name in ("simplex_strategy", "simplex_iteration_limit", "solver")}
        with session.options(presolve="off"):
            run = session.solve_lp(60.0)
    assert optimum.status == run.status == OPTIMAL
    assert run.objective_value == pytest.approx(optimum.objective_value, rel=1e-9)
    assert run.info.simplex_iteration_count > 0  # primal simplex did the work
    assert {name: session.option(name) for name in before} == before


def test_a_build_out_is_scaled_by_max_value_and_a_one_year_model_as_highs_chooses(tmp_path, tiny):
    """Build-out sessions scale by max value (their dual simplex cycled with HiGHS's own scaling);
    one-year sessions keep HiGHS's choice, which is faster for them. Both LPs still solve."""
    options = {"buildout": {"planning_years": [2030], "end_year": 2050}, "constraints": {"online_by_year": 2030}}
    scenario = load_scenario(write_tiny(tmp_path / "buildout", options=options, facility={"hall_lead_time_yr": 0.0}))
    buildout = SolverSession.compile(build_buildout(scenario), scenario.solver)
    _, one_year = tiny
    assert buildout.option("simplex_scale_strategy") == MAX_VALUE_SCALING
    assert one_year.option("simplex_scale_strategy") == highspy.Highs().getOptionValue("simplex_scale_strategy")[1]
    with buildout.relaxed(), one_year.relaxed():
        assert buildout.solve_lp(60.0).status == one_year.solve_lp(60.0).status == OPTIMAL


def test_statuses_have_names(tmp_path):
    assert status_name(OPTIMAL) == "kOptimal"
    assert status_name(TIME_LIMIT) == "kTimeLimit"
    assert status_name(OBJECTIVE_TARGET) == "kObjectiveTarget"
    assert INFEASIBLE in INFEASIBLE_STATUSES and TIME_LIMIT in OUT_OF_TIME and OPTIMAL in DONE
    too_much = [{"region_id": "r", "workload_id": "chat", "tokens_per_yr": RACKS_BEYOND_THE_SITE * TOKENS_PER_RACK_YR}]
    _, session = _session(tmp_path, demand=too_much)
    run = session.run(60.0)
    assert run.status in INFEASIBLE_STATUSES and run.x is None
    assert run.name == status_name(run.status)
