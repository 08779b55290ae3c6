"""The one owner of HiGHS: a compiled model in a ``highspy.Highs`` instance and every change to it.

A :class:`SolverSession` is built once per model (:meth:`SolverSession.compile`): Pyomo's
``LinearStandardFormCompiler`` turns the model into sparse matrices and ``passModel`` hands them
to a new HiGHS instance. Everything after that goes through the session: a run within a
wall-clock deadline (:meth:`~SolverSession.run`), options for one block that are put back when it
ends (:meth:`~SolverSession.options`), the LP relaxation for one block
(:meth:`~SolverSession.relaxed`), columns held for one block (:meth:`~SolverSession.held`), the
column of a Pyomo variable (:meth:`~SolverSession.column`) and the row of a constraint
(:meth:`~SolverSession.row`), and the plan written back into the Pyomo variables
(:meth:`~SolverSession.write_back`). ``optimizer.solver.milp`` (solve, Dinkelbach, relax-and-fix,
the greedy plan's costing), ``optimizer.analysis`` (re-solve, screening, diagnosis) and the
benchmarks use it; none of them touches HiGHS itself.

Every HiGHS option the project sets
-----------------------------------

Set by :meth:`SolverSession.compile`, for the life of the session (the scenario's ``solver``):

- ``output_flag``: ``solver.log``, HiGHS's own log on the console.
- ``threads``: ``solver.threads``.
- ``mip_rel_gap``: ``solver.mip_gap``, the relative gap a MIP run stops at.
- ``simplex_scale_strategy``: a build-out model's scaled by max value (``MAX_VALUE_SCALING``):
  with HiGHS's own choice its dual simplex cycled at the optimum.

Set for one block by :meth:`SolverSession.options`, the previous value put back when it ends:

- ``time_limit``: by :meth:`SolverSession.run` for every run, from the wall-clock time the caller
  has left, so that no run goes past its caller's deadline. HiGHS 1.x measures a MIP's limit from
  the start of its run but an LP's on its run clock, which counts every earlier run of the
  instance (ERGO-Code/HiGHS#1477): an LP's limit is that clock's reading plus the time left.
- ``mip_rel_gap``: ``optimizer.solver.milp``: a Dinkelbach step's (``FIRST_STEP_GAP`` for the
  first, 0 for the later ones, which use ``mip_abs_gap``); relax-and-fix's restricted MILP
  (``RESTRICTED_GAP_SHARE`` of the gap); the greedy plan's costing (at least ``FALLBACK_GAP``).
  ``benchmarks/exact.py``: each site set's MILP at the set gap.
- ``mip_abs_gap``: a later Dinkelbach step: cost - lambda x tokens tends to 0, so its gap is the
  objective gap times the last step's cost.
- ``objective_target``: relax-and-fix's restricted MILPs and the full MILP stop at the first plan
  at or below the caller's target (screening's "good enough" cost).
- ``objective_bound``: ``benchmarks/exact.py``: a site set's MILP is cut off at the incumbent.
- ``solver``: ``"simplex"`` for every LP of :meth:`SolverSession.solve_lp` (relax-and-fix's LP
  relaxation, the build-out's block LP, screening's LPs: dual simplex from the last basis, 5.7 s
  on a 100-site pricing LP, against 62 s for interior point and 733 s for PDLP); ``"ipm"`` for the
  diagnosis's LP relaxation (about twice as fast as simplex on its all-slack objective).
- ``simplex_iteration_limit`` and ``simplex_strategy``: :meth:`SolverSession.solve_lp` stops a
  dual simplex that has stalled (``STALLED_ITERATIONS_PER_ROW``) and solves the LP again by
  primal simplex.

Outside the session, ``optimizer.outputs.fullyear`` solves its full-year dispatch LP (not a
Pyomo model) on an instance of its own with ``output_flag`` off, one thread and no presolve.

Statuses
--------

A run's :attr:`Run.status` is HiGHS's model status; these names are the ones the project tests:
``OPTIMAL`` (within the gap), ``OBJECTIVE_TARGET`` (a plan at the caller's target),
``OBJECTIVE_BOUND`` (no plan below the cutoff), ``TIME_LIMIT``, ``INFEASIBLE``; and the groups
``INFEASIBLE_STATUSES`` (HiGHS proved that no plan exists), ``OUT_OF_TIME`` (stopped at a limit of
its effort) and ``DONE`` (a plan that needs no more work). Whether the run left a plan that meets
every row and bound is :attr:`Run.x` (None without one), not a status; :func:`status_name` is the
name the plan's summary shows (``kOptimal``, ``kTimeLimit``, ...).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.core.base.constraint import ConstraintData
from pyomo.core.base.var import VarData
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.inputs.scenario import SolverOptions
from optimizer.model import FactoryModel
from optimizer.model.buildout import BuildoutModel

INF = highspy.kHighsInf
Status = highspy.HighsModelStatus
OPTIMAL = Status.kOptimal
OBJECTIVE_TARGET = Status.kObjectiveTarget
OBJECTIVE_BOUND = Status.kObjectiveBound
TIME_LIMIT = Status.kTimeLimit
ITERATION_LIMIT = Status.kIterationLimit
INFEASIBLE = Status.kInfeasible
#: HiGHS proved that no plan exists
INFEASIBLE_STATUSES = (Status.kInfeasible, Status.kUnboundedOrInfeasible)
#: HiGHS stopped at a limit of its effort
OUT_OF_TIME = (Status.kTimeLimit, Status.kIterationLimit)
#: the plan is within the asked gap (kOptimal) or at the caller's target (kObjectiveTarget)
DONE = (Status.kOptimal, Status.kObjectiveTarget)
#: the last run left a plan that meets every row and bound (HiGHS's primal solution status)
_FEASIBLE = highspy.SolutionStatus.kSolutionStatusFeasible

#: after Ctrl-C, how long HiGHS may take to notice its interrupt before the caller moves on anyway
INTERRUPT_GRACE_S = 2.0
#: a MIP run still going this long after its deadline is interrupted (HiGHS's own time limit
#: should have stopped it already; this is the wall clock's word when HiGHS's clock is late)
DEADLINE_GRACE_S = 1.0

#: a dual simplex run past this many iterations per row of the model has stalled: the project's
#: LPs end within 0.5 to 1 per row (the default scenario's LP relaxation 0.55, the default build-out's
#: block LP 0.99), while on the myopic 2035 step of 50 sites x 10 years dual simplex cycled at the
#: optimum's objective for 1.7 M iterations (41 per row, 232 s), which primal simplex solved in 5.6 s
STALLED_ITERATIONS_PER_ROW = 5
#: HiGHS's simplex_strategy for primal simplex
PRIMAL_SIMPLEX = 4
#: HiGHS's simplex_scale_strategy "max value 0", for every run of a build-out model: its costs
#: span the years' discount weights and its rows every year's scale, and with HiGHS's own choice of
#: scaling dual simplex cycled at the optimum on 50 sites x 10 years (the planned sites' block LP:
#: 768 k iterations in 400 s unsolved; the 2035 myopic step: 448 k in 60 s), both solved with this
#: in 62 s and 4.6 s; the default build-out's block LP 100 s -> 40 s, its LP relaxation > 600 s
#: -> 359 s. One-year models keep HiGHS's choice: with this the default LP took 17 s, not 14.
MAX_VALUE_SCALING = 4

#: the value of a HiGHS option
OptionValue = bool | int | float | str


def status_name(status: highspy.HighsModelStatus) -> str:
    """HiGHS's name of a status, as a plan's summary shows it: ``kOptimal``, ``kTimeLimit``, ..."""
    return str(status).split(".")[-1]


@dataclass
class ModelSize:
    variables: int
    integers: int
    constraints: int
    nonzeros: int


@dataclass
class Run:
    """What one HiGHS run left: its status, HiGHS's info and the plan (None if it has none)."""

    status: highspy.HighsModelStatus
    info: highspy.HighsInfo
    x: np.ndarray | None
    """column values of a plan that meets every row and bound; None if the run left none"""
    time_limit: float
    """the ``time_limit`` HiGHS had for this run (on its run clock for an LP, see the module docstring)"""

    @property
    def name(self) -> str:
        return status_name(self.status)

    @property
    def objective_value(self) -> float:
        return float(self.info.objective_function_value)

    @property
    def dual_bound(self) -> float:
        """Proven lower bound on the objective (without offsets): a MIP's dual bound; an LP (no
        integers) at its optimum bounds itself; otherwise none (-inf)."""
        if np.isfinite(self.info.mip_dual_bound):
            return float(self.info.mip_dual_bound)
        return self.objective_value if self.status == OPTIMAL else -INF


@contextmanager
def _restored(undo: Callable[[], object]) -> Iterator[None]:
    """Run ``undo`` when the block ends, so a sub-solve leaves HiGHS as it found it. Not after
    Ctrl-C: HiGHS may then still be stopping on its own thread, and the caller stops anyway."""
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not interrupted:
            undo()


class SolverSession:
    """A compiled model in its own HiGHS instance; the only code that changes that instance."""

    def __init__(
        self,
        model: pyo.ConcreteModel,
        highs: highspy.Highs,
        columns: list[VarData],
        objective_rows: dict[str, tuple[np.ndarray, float]],
        row_index: dict[ConstraintData, int],
        size: ModelSize,
        handoff_s: float,
        cost: str,
        tokens: str,
        column_bounds: tuple[np.ndarray, np.ndarray],
        row_bounds: tuple[np.ndarray, np.ndarray],
        integer: np.ndarray,
    ) -> None:
        """Use :meth:`compile`; the arrays are the ones passed to ``highs``."""
        self._model = model
        self._highs = highs
        self.columns = columns
        """the Pyomo variable of each column, in column order"""
        self._column = {id(var): j for j, var in enumerate(columns)}
        self.objective_rows = objective_rows
        """every compiled objective by name -> (coefficients, offset): lets a re-solve reprice columns"""
        self.row_index = row_index
        """constraint data -> its row in the matrix"""
        self.size = size
        self.handoff_s = handoff_s
        self.cost, self.cost_offset = objective_rows[cost]
        self.tokens, self.tokens_offset = objective_rows.get(tokens, (np.zeros(len(columns)), 0.0))
        self._every = np.arange(len(columns), dtype=np.int32)
        self.integer = np.asarray(integer, dtype=bool)
        """the columns the model makes integer (whether or not they are relaxed just now)"""
        self._integrality = self.integer.astype(np.uint8)
        self._lower, self._upper = (np.array(bounds, dtype=float) for bounds in column_bounds)
        self._row_lower, self._row_upper = (np.array(bounds, dtype=float) for bounds in row_bounds)
        self._relaxed = False

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def compile(cls, fm: FactoryModel | BuildoutModel, options: SolverOptions, relaxed: bool = False) -> SolverSession:
        """Compile the Pyomo model to matrices and pass them to a new HiGHS instance; ``relaxed``:
        an LP session, its integrality dropped for good (screening's block relaxation)."""
        started = time.perf_counter()
        repn = LinearStandardFormCompiler().write(fm.model, mixed_form=True, set_sense=None)
        columns = repn.columns
        c = repn.c.toarray()
        offsets = np.asarray(repn.c_offset, dtype=float).ravel()
        objective_rows = {obj.name: (c[i], float(offsets[i])) for i, obj in enumerate(repn.objectives)}

        rhs = np.asarray(repn.rhs, dtype=float)
        kind = np.fromiter((row[1] for row in repn.rows), dtype=np.int8, count=len(repn.rows))
        row_lower = np.where(kind == 1, -INF, rhs)  # 1: body <= rhs, -1: body >= rhs, 0: equality
        row_upper = np.where(kind == -1, INF, rhs)
        col_lower = np.fromiter((-INF if v.lb is None else v.lb for v in columns), dtype=float, count=len(columns))
        col_upper = np.fromiter((INF if v.ub is None else v.ub for v in columns), dtype=float, count=len(columns))
        integer = np.fromiter((v.is_integer() for v in columns), dtype=bool, count=len(columns))

        A = repn.A.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_ = len(columns)
        lp.num_row_ = len(rhs)
        lp.col_cost_ = objective_rows[fm.core.objective_cost.name][0]
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]

        h = highspy.Highs()
        session_options: dict[str, OptionValue] = {
            "output_flag": bool(options.log),
            "threads": int(options.threads),
            "mip_rel_gap": float(options.mip_gap),
        }
        if isinstance(fm, BuildoutModel):
            session_options["simplex_scale_strategy"] = MAX_VALUE_SCALING
        _set_options(h, session_options)
        h.passModel(lp)
        size = ModelSize(len(columns), int(integer.sum()), len(rhs), int(A.nnz))
        row_index = {row[0]: i for i, row in enumerate(repn.rows)}
        session = cls(
            fm.model,
            h,
            columns,
            objective_rows,
            row_index,
            size,
            time.perf_counter() - started,
            fm.core.objective_cost.name,
            fm.core.objective_tokens.name,
            (col_lower, col_upper),
            (row_lower, row_upper),
            integer,
        )
        if relaxed:
            session._set_integrality(np.zeros(len(columns), dtype=np.uint8))
            session._relaxed = True
        return session

    @property
    def highs(self) -> highspy.Highs:
        """The HiGHS instance, to read (its matrix, its counts); every change goes through the session."""
        return self._highs

    # -- columns and rows ----------------------------------------------------------------------

    def column(self, var: VarData) -> int | None:
        """The column of a Pyomo variable; None if the compiler left it out (fixed, or in no row
        or objective)."""
        return self._column.get(id(var))

    def columns_of(self, component: pyo.Var) -> dict[Hashable, int]:
        """Index -> column of each variable of an indexed Pyomo variable that has a column."""
        found: dict[Hashable, int] = {}
        for index, var in component.items():
            j = self._column.get(id(var))
            if j is not None:
                found[index] = j
        return found

    def value(self, x: np.ndarray, var: VarData) -> float:
        """A variable's value in the column values ``x``: 0 if it has no column (as
        :meth:`write_back` sets it), its fixed value if it is fixed."""
        j = self._column.get(id(var))
        if j is not None:
            return float(x[j])
        return float(var.value) if var.fixed and var.value is not None else 0.0

    def vector(self, pairs: Iterable[tuple[VarData, float]]) -> np.ndarray:
        """Column values from (variable, value) pairs, every other column at 0 (variables without
        a column are skipped)."""
        x = np.zeros(len(self.columns))
        for var, value in pairs:
            j = self._column.get(id(var))
            if j is not None:
                x[j] = value
        return x

    def row(self, constraint: ConstraintData) -> int:
        """The row of a constraint's data (KeyError if it has none: deactivated, or trivial)."""
        return self.row_index[constraint]

    def rows_of(self, component: pyo.Constraint) -> np.ndarray:
        """The rows of every member of an indexed constraint, in its order."""
        return np.array([self.row_index[data] for data in component.values()], dtype=np.int32)

    def nonzero_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every nonzero of the matrix HiGHS holds."""
        matrix = self._highs.getLp().a_matrix_
        if matrix.format_ != highspy.MatrixFormat.kColwise:
            raise AssertionError("the session passes its matrix column-wise")
        start = np.asarray(matrix.start_)
        return np.asarray(matrix.index_), np.repeat(np.arange(len(start) - 1), np.diff(start))

    def row_names(self, rows: Iterable[int]) -> list[str]:
        """The name of the constraint of each row."""
        by_row = {i: data for data, i in self.row_index.items()}
        return [by_row[int(r)].name for r in rows]

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Every column's (lower, upper) bound as it stands (copies)."""
        return self._lower.copy(), self._upper.copy()

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Every row's (lower, upper) bound as it stands (copies)."""
        return self._row_lower.copy(), self._row_upper.copy()

    @property
    def is_mip(self) -> bool:
        """HiGHS solves the model as it stands as a MIP (it has integer columns, not relaxed)."""
        return bool(self.integer.any()) and not self._relaxed

    def bound_from_columns(self, objective: np.ndarray) -> float:
        """The least ``objective`` the column bounds alone allow: a bound on every plan, weak but
        known before any solve (0 on the cost, whose coefficients and columns are all >= 0)."""
        rising, falling = objective > 0, objective < 0
        return float(objective[rising] @ self._lower[rising] + objective[falling] @ self._upper[falling])

    # -- changes that last ---------------------------------------------------------------------

    def set_objective(self, objective: np.ndarray) -> None:
        """Every column's cost (the objective of the next runs)."""
        self._highs.changeColsCost(len(self._every), self._every, np.asarray(objective, dtype=float))

    def set_column_bounds(self, columns: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        columns = np.asarray(columns, dtype=np.int32)
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        self._highs.changeColsBounds(len(columns), columns, lower, upper)
        self._lower[columns], self._upper[columns] = lower, upper

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        # changeRowsBounds is in highspy but missing from its stubs (changeColsBounds is there)
        self._highs.changeRowsBounds(len(rows), rows, lower, upper)  # type: ignore[attr-defined]
        self._row_lower[rows], self._row_upper[rows] = lower, upper

    def set_coefficient(self, row: int, column: int, value: float) -> None:
        self._highs.changeCoeff(int(row), int(column), float(value))

    def forget_start(self) -> None:
        """Drop the last solution and basis: the next run starts as a fresh one would."""
        self._highs.clearSolver()

    # -- changes for one block -----------------------------------------------------------------

    def option(self, name: str) -> OptionValue:
        """The value of a HiGHS option as it stands."""
        return self._highs.getOptionValue(name)[1]

    @contextmanager
    def options(self, **values: OptionValue) -> Iterator[None]:
        """HiGHS options for the block; the previous values are put back when it ends (also after
        an exception, not after Ctrl-C). A value HiGHS refuses is a ValueError."""
        saved: dict[str, OptionValue] = {}
        for name in values:
            status, value = self._highs.getOptionValue(name)
            if status != highspy.HighsStatus.kOk:
                raise ValueError(f"HiGHS has no option {name}")
            saved[name] = value
        try:
            _set_options(self._highs, values)
        except ValueError:
            _set_options(self._highs, saved)
            raise
        with _restored(lambda: _set_options(self._highs, saved)):
            yield

    @contextmanager
    def relaxed(self) -> Iterator[None]:
        """The LP relaxation for the block: integrality dropped, put back when it ends."""
        if self._relaxed:
            yield
            return
        self._set_integrality(np.zeros(len(self._every), dtype=np.uint8))
        self._relaxed = True

        def undo() -> None:
            self._set_integrality(self._integrality)
            self._relaxed = False

        with _restored(undo):
            yield

    @contextmanager
    def held(self, columns: np.ndarray, values: np.ndarray) -> Iterator[None]:
        """Columns held at ``values`` (clipped to their own bounds) for the block."""
        columns = np.asarray(columns, dtype=np.int32)
        lower, upper = self._lower[columns], self._upper[columns]
        values = np.clip(values, lower, upper)
        self._highs.changeColsBounds(len(columns), columns, values, values)
        with _restored(lambda: self._highs.changeColsBounds(len(columns), columns, lower, upper)):
            yield

    def _set_integrality(self, integrality: np.ndarray) -> None:
        self._highs.changeColsIntegrality(len(self._every), self._every, integrality)

    # -- running -------------------------------------------------------------------------------

    def time_limit(self, time_left_s: float) -> float:
        """HiGHS's time_limit for a run that has ``time_left_s`` (none once it is past): from the
        run's start for a MIP, on the instance's run clock for an LP (ERGO-Code/HiGHS#1477: after
        a 2 s run, an LP given 2 s stopped at once)."""
        left = max(time_left_s, 0.0)
        return left if self.is_mip else self._highs.getRunTime() + left

    def run(self, time_left_s: float, objective: np.ndarray | None = None, start: np.ndarray | None = None) -> Run:
        """One HiGHS run of the model as it stands, done within ``time_left_s`` of wall-clock time.

        ``objective``: every column's cost, set first (and kept for later runs). ``start``: column
        values HiGHS tries as its first plan (a hint it checks, not a plan known to be feasible).
        HiGHS's ``time_limit`` is set from the time left (see :meth:`time_limit`) for the run only;
        a MIP still running ``DEADLINE_GRACE_S`` after the deadline is interrupted and reported
        as ``TIME_LIMIT``. Ctrl-C stops the run at once and goes on to the caller.
        """
        deadline = time.perf_counter() + time_left_s
        if objective is not None:
            self.set_objective(objective)
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value = list(start)
            self._highs.setSolution(solution)
        limit = float(self.time_limit(time_left_s))
        with self.options(time_limit=limit):
            overran = self._run_highs(deadline)
            # read before any option or column is put back
            status, info = self._highs.getModelStatus(), self._highs.getInfo()
            x = np.asarray(self._highs.getSolution().col_value) if info.primal_solution_status == _FEASIBLE else None
        if overran and status == Status.kInterrupt:
            status = TIME_LIMIT
        return Run(status, info, x, limit)

    def solve_lp(self, time_left_s: float, objective: np.ndarray | None = None) -> Run:
        """The model as it stands, an LP (integrality relaxed, or none), by dual simplex from the
        last basis; if that stalls (``STALLED_ITERATIONS_PER_ROW``), by primal simplex in the time
        left. The run's status is HiGHS's: ``OPTIMAL`` with its solution and duals, or where it stopped."""
        deadline = time.perf_counter() + time_left_s
        stalled_after = STALLED_ITERATIONS_PER_ROW * max(self.size.constraints, 1)
        with self.options(solver="simplex", simplex_iteration_limit=stalled_after):
            run = self.run(time_left_s, objective)
        if run.status != ITERATION_LIMIT:
            return run
        with self.options(solver="simplex", simplex_strategy=PRIMAL_SIMPLEX):
            return self.run(deadline - time.perf_counter())

    def row_duals(self) -> np.ndarray:
        """The last run's dual value of every row."""
        return np.asarray(self._highs.getSolution().row_dual)

    def _run_highs(self, deadline: float) -> bool:
        """``run()`` on a worker thread, so that Ctrl-C reaches Python at once and stops the solve;
        True if the run was interrupted for going past ``deadline``.

        HiGHS holds the thread for minutes; the main thread only waits, so a KeyboardInterrupt is
        raised there immediately. HiGHS is then asked to stop at its next MIP node (a cheap
        callback, unlike the simplex one) and the interrupt goes on to the caller: no plan is
        built, nothing written. The same callback stops a MIP that outlives its deadline.
        """
        h = self._highs
        stop = threading.Event()
        overran = False

        def interrupt(event: highspy.HighsCallbackEvent) -> None:
            if stop.is_set():
                event.interrupt()

        h.cbMipInterrupt += interrupt
        worker = threading.Thread(target=h.run, name="highs", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
                if not overran and time.perf_counter() > deadline + DEADLINE_GRACE_S:
                    overran = True
                    stop.set()
        except KeyboardInterrupt:
            stop.set()
            worker.join(INTERRUPT_GRACE_S)
            raise
        finally:
            if not worker.is_alive():  # a solve that ignored the interrupt keeps its callback
                h.cbMipInterrupt -= interrupt
        return overran

    # -- the plan ------------------------------------------------------------------------------

    def write_back(self, x: np.ndarray) -> None:
        """Put column values into the Pyomo variables (rounded integers; unused variables at zero)."""
        for var in self._model.component_data_objects(pyo.Var, descend_into=True):
            if not var.fixed:
                var.set_value(0, skip_validation=True)
        for var, value in zip(self.columns, x):
            var.set_value(round(value) if var.is_integer() else value, skip_validation=True)


def _set_options(h: highspy.Highs, values: Mapping[str, OptionValue]) -> None:
    for name, value in values.items():
        if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS refused option {name} = {value!r}")
